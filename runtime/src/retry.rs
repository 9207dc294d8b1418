//! Retry strategies as pure functions of (attempt, randomness): the same
//! code decides in simulation and in production.
//!
//! Backoff formulas follow the AWS Architecture Blog's "Exponential Backoff
//! and Jitter" (Brooker, 2015): `exponential` sleeps `min(cap, base * 2^n)`,
//! `exponential_full_jitter` sleeps a uniform draw from `[0, that]`.

use crate::id::Nanos;

/// How a failed attempt is retried.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RetryStrategy {
    /// Never retry: the first failure is final.
    None,
    /// Retry after `base` every time.
    Fixed,
    /// Retry after `min(max_delay, base * 2^(attempt-1))`.
    Exponential,
    /// Retry after a uniform draw from `[0, min(max_delay, base * 2^(attempt-1))]`.
    ExponentialFullJitter,
    /// Half the exponential delay plus a uniform draw from the other half:
    /// `d/2 + uniform[0, d/2]` with `d = min(max_delay, base * 2^(attempt-1))`.
    ExponentialEqualJitter,
    /// Brooker's decorrelated jitter: `min(max_delay, uniform[base, 3 *
    /// previous delay])`, the previous delay starting at `base`; needs the
    /// caller's previous delay ([`RetryPolicy::next_delay_after`]).
    DecorrelatedJitter,
}

/// A retry strategy with its parameters.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct RetryPolicy {
    pub strategy: RetryStrategy,
    /// Attempts in all, the first one included (>= 1).
    pub max_attempts: u32,
    pub base_delay: Nanos,
    pub max_delay: Nanos,
}

/// Uniform on `[low, high]` from one random `u64`, by multiply-shift: no
/// modulo bias worth noticing at 64 bits, and no rejection loop.
fn uniform(random: u64, low: Nanos, high: Nanos) -> Nanos {
    let span = high.saturating_sub(low) as u128 + 1;
    low + ((random as u128 * span) >> 64) as u64
}

impl RetryPolicy {
    /// After `failed_attempts` failures (>= 1), the delay before the next
    /// attempt, or `None` to give up. `random` is one uniform `u64`, used only
    /// by jittered strategies. `not_before` is a server's Retry-After (0 if
    /// none): the delay is never shorter.
    pub fn next_delay(&self, failed_attempts: u32, random: u64, not_before: Nanos) -> Option<Nanos> {
        self.next_delay_after(failed_attempts, random, not_before, self.base_delay)
    }

    /// [`RetryPolicy::next_delay`] for a caller that keeps its previous
    /// delay (`previous`: the last delay it waited, or `base_delay` before
    /// its first retry), as decorrelated jitter needs; the other
    /// strategies ignore it.
    pub fn next_delay_after(
        &self,
        failed_attempts: u32,
        random: u64,
        not_before: Nanos,
        previous: Nanos,
    ) -> Option<Nanos> {
        if failed_attempts >= self.max_attempts {
            return None;
        }
        let ceiling = || {
            let shift = failed_attempts.saturating_sub(1).min(63);
            self.base_delay.saturating_mul(1u64 << shift).min(self.max_delay)
        };
        let delay = match self.strategy {
            RetryStrategy::None => return None,
            RetryStrategy::Fixed => self.base_delay,
            RetryStrategy::Exponential => ceiling(),
            RetryStrategy::ExponentialFullJitter => uniform(random, 0, ceiling()),
            RetryStrategy::ExponentialEqualJitter => {
                let c = ceiling();
                c / 2 + uniform(random, 0, c - c / 2)
            }
            RetryStrategy::DecorrelatedJitter => {
                let high = previous.max(self.base_delay).saturating_mul(3);
                uniform(random, self.base_delay, high).min(self.max_delay)
            }
        };
        Some(delay.max(not_before))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy(strategy: RetryStrategy) -> RetryPolicy {
        RetryPolicy { strategy, max_attempts: 5, base_delay: 100, max_delay: 1_000 }
    }

    #[test]
    fn none_never_retries() {
        assert_eq!(policy(RetryStrategy::None).next_delay(1, 0, 0), None);
    }

    #[test]
    fn exponential_doubles_up_to_the_cap_then_gives_up() {
        let p = policy(RetryStrategy::Exponential);
        let delays: Vec<_> = (1..=5).map(|n| p.next_delay(n, 0, 0)).collect();
        assert_eq!(delays, vec![Some(100), Some(200), Some(400), Some(800), None]);
        let capped = RetryPolicy { max_attempts: 10, ..p };
        assert_eq!(capped.next_delay(6, 0, 0), Some(1_000));
    }

    #[test]
    fn retry_after_is_a_floor() {
        assert_eq!(policy(RetryStrategy::Fixed).next_delay(1, 0, 5_000), Some(5_000));
    }

    proptest! {
        #[test]
        fn full_jitter_stays_within_the_exponential_ceiling(n in 1u32..5, r: u64) {
            let jittered = policy(RetryStrategy::ExponentialFullJitter).next_delay(n, r, 0).unwrap();
            let ceiling = policy(RetryStrategy::Exponential).next_delay(n, r, 0).unwrap();
            prop_assert!(jittered <= ceiling);
        }

        #[test]
        fn equal_jitter_stays_in_the_upper_half(n in 1u32..5, r: u64) {
            let d = policy(RetryStrategy::Exponential).next_delay(n, r, 0).unwrap();
            let e = policy(RetryStrategy::ExponentialEqualJitter).next_delay(n, r, 0).unwrap();
            prop_assert!(e >= d / 2 && e <= d, "{} not in [{}, {}]", e, d / 2, d);
        }

        #[test]
        fn decorrelated_jitter_stays_within_base_three_times_previous_and_the_cap(prev in 0u64..2_000, r: u64) {
            let p = policy(RetryStrategy::DecorrelatedJitter);
            let d = p.next_delay_after(1, r, 0, prev).unwrap();
            prop_assert!(d >= 100.min(p.max_delay) && d <= p.max_delay);
            prop_assert!(d <= prev.max(100) * 3);
        }
    }

    #[test]
    fn uniform_hits_both_ends() {
        assert_eq!(uniform(0, 5, 15), 5);
        assert_eq!(uniform(u64::MAX, 5, 15), 15);
    }
}
