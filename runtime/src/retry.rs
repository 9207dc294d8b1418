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

impl RetryPolicy {
    /// After `failed_attempts` failures (>= 1), the delay before the next
    /// attempt, or `None` to give up. `random` is one uniform `u64`, used only
    /// by jittered strategies. `not_before` is a server's Retry-After (0 if
    /// none): the delay is never shorter.
    pub fn next_delay(&self, failed_attempts: u32, random: u64, not_before: Nanos) -> Option<Nanos> {
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
            RetryStrategy::ExponentialFullJitter => {
                let c = ceiling();
                // Uniform on [0, c] by multiply-shift: no modulo bias worth
                // noticing at 64 bits, and no rejection loop.
                ((random as u128 * (c as u128 + 1)) >> 64) as u64
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
    }
}
