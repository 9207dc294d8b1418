//! Retries with backoff, jitter, Retry-After, a cap on total time and a
//! budget: the decision after each failed attempt, as a pure function of
//! the call's [`RetryState`], the time and one random `u64`.
//!
//! Backoff for the `n`-th retry (`n >= 1`, so the first retry has `n = 1`),
//! before jitter, each capped at `max_delay`:
//! - [`Backoff::Constant`] waits `base`;
//! - [`Backoff::Linear`] waits `base * n`;
//! - [`Backoff::Exponential`] waits `base * 2^(n-1)`: the first retry `base`
//!   (exponent 0), the second `2 * base`, the third `4 * base`.
//!
//! Jitter on that delay `d` (Brooker, "Exponential Backoff and Jitter", 2015):
//! - [`Jitter::None`] waits `d` itself;
//! - [`Jitter::Full`] waits a uniform draw from `[0, d]`;
//! - [`Jitter::Equal`] waits `d/2 + uniform[0, d - d/2]`, so within `[d/2, d]`;
//! - [`Jitter::Decorrelated`] waits `min(max_delay, uniform[base, 3 * prev])`,
//!   where `prev` is this call's previous sleep (starting at `base`; the
//!   jittered sleep, before any Retry-After floor): it ignores [`Backoff`],
//!   as Brooker's formula does.
//!
//! Retry-After: a server's Retry-After is a floor on the delay. One longer
//! than `retry_after_cap` makes the call give up ([`GiveUp::RetryAfterTooLong`])
//! rather than wait the cap: a server that asks for more than the caller
//! will wait is likely to refuse an earlier retry too, and the retry would
//! only spend budget and load.

use crate::id::Nanos;

use super::budget::RetryBudget;
use super::failure::{Failure, FailureSet};
use super::uniform;

/// How the delay grows with the retry number.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Backoff {
    /// `base` every time.
    Constant,
    /// `base * n` for the `n`-th retry.
    Linear,
    /// `base * 2^(n-1)` for the `n`-th retry.
    Exponential,
}

/// How a delay is randomised.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Jitter {
    /// The backoff delay itself.
    None,
    /// Uniform on `[0, d]`.
    Full,
    /// `d/2` plus uniform on `[0, d/2]`.
    Equal,
    /// `min(max_delay, uniform[base, 3 * previous sleep])`.
    Decorrelated,
}

/// The retry policy of a call site.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct RetryConfig {
    /// Attempts in all, the first one included (1: never retry).
    pub max_attempts: u32,
    /// Delay growth.
    pub backoff: Backoff,
    /// Delay randomisation.
    pub jitter: Jitter,
    /// The first delay (and the decorrelated jitter's floor).
    pub base_delay: Nanos,
    /// The longest delay backoff or jitter produce.
    pub max_delay: Nanos,
    /// The longest Retry-After honoured; a longer one gives up.
    pub retry_after_cap: Nanos,
    /// Give up when the next attempt would start after `started + max_total`
    /// (`None`: no cap).
    pub max_total: Option<Nanos>,
    /// The failures worth retrying.
    pub retryable: FailureSet,
}

impl Default for RetryConfig {
    /// 3 attempts, exponential from 100 ms to 10 s with full jitter,
    /// Retry-After up to 60 s, no total cap, transient failures.
    fn default() -> RetryConfig {
        RetryConfig {
            max_attempts: 3,
            backoff: Backoff::Exponential,
            jitter: Jitter::Full,
            base_delay: 100_000_000,
            max_delay: 10_000_000_000,
            retry_after_cap: 60_000_000_000,
            max_total: None,
            retryable: FailureSet::TRANSIENT,
        }
    }
}

impl RetryConfig {
    /// The delay before the `n`-th retry (`n >= 1`) before jitter, capped
    /// at `max_delay`.
    pub fn backoff_delay(&self, n: u32) -> Nanos {
        let n = n.max(1);
        let d = match self.backoff {
            Backoff::Constant => self.base_delay,
            Backoff::Linear => self.base_delay.saturating_mul(n as u64),
            Backoff::Exponential => {
                let shift = (n - 1).min(63);
                self.base_delay.checked_mul(1u64 << shift).unwrap_or(Nanos::MAX)
            }
        };
        d.min(self.max_delay)
    }

    /// A fresh state for a call whose first attempt starts at `now`.
    pub fn start(&self, now: Nanos) -> RetryState {
        RetryState { attempts: 1, prev_sleep: self.base_delay, started: now }
    }
}

/// Why a call stops retrying.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum GiveUp {
    /// The failure is not in [`RetryConfig::retryable`].
    NotRetryable,
    /// `max_attempts` attempts were made.
    MaxAttempts,
    /// The server's Retry-After exceeds `retry_after_cap`.
    RetryAfterTooLong,
    /// The next attempt would start after `started + max_total`.
    MaxTotal,
    /// The retry budget refused.
    Budget,
}

/// What to do after a failed attempt.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RetryDecision {
    /// Start the next attempt after `delay`, at `at = now + delay`.
    Retry {
        /// The wait.
        delay: Nanos,
        /// When the next attempt starts.
        at: Nanos,
    },
    /// Stop: the last failure is the call's outcome.
    GiveUp(GiveUp),
}

/// One call's retry state: attempts made, the previous sleep (decorrelated
/// jitter), when the first attempt started.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct RetryState {
    attempts: u32,
    prev_sleep: Nanos,
    started: Nanos,
}

impl RetryState {
    /// Attempts started so far, the first one included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// When the first attempt started.
    pub fn started(&self) -> Nanos {
        self.started
    }

    /// The previous sleep (`base_delay` before the first retry).
    pub fn prev_sleep(&self) -> Nanos {
        self.prev_sleep
    }

    /// The latest attempt failed with `failure` at `now` (with the server's
    /// `retry_after`, if any): retry after a delay, or give up. `random` is
    /// one uniform `u64`, used by jitter. A `Retry` counts the next attempt
    /// as started.
    pub fn on_failure(
        &mut self,
        config: &RetryConfig,
        now: Nanos,
        failure: Failure,
        retry_after: Option<Nanos>,
        random: u64,
    ) -> RetryDecision {
        self.decide(config, now, failure, retry_after, random, None::<&mut NoBudget>)
    }

    /// As [`on_failure`](Self::on_failure), and the retry must also be
    /// allowed by `budget` (asked last, so a refused retry for another
    /// reason spends nothing).
    pub fn on_failure_with_budget(
        &mut self,
        config: &RetryConfig,
        budget: &mut impl RetryBudget,
        now: Nanos,
        failure: Failure,
        retry_after: Option<Nanos>,
        random: u64,
    ) -> RetryDecision {
        self.decide(config, now, failure, retry_after, random, Some(budget))
    }

    fn decide<B: RetryBudget>(
        &mut self,
        config: &RetryConfig,
        now: Nanos,
        failure: Failure,
        retry_after: Option<Nanos>,
        random: u64,
        budget: Option<&mut B>,
    ) -> RetryDecision {
        if !config.retryable.contains(failure) {
            return RetryDecision::GiveUp(GiveUp::NotRetryable);
        }
        if self.attempts >= config.max_attempts {
            return RetryDecision::GiveUp(GiveUp::MaxAttempts);
        }
        let floor = retry_after.unwrap_or(0);
        if floor > config.retry_after_cap {
            return RetryDecision::GiveUp(GiveUp::RetryAfterTooLong);
        }
        let sleep = self.sleep(config, random);
        let delay = sleep.max(floor);
        let at = now.saturating_add(delay);
        if config.max_total.is_some_and(|total| at > self.started.saturating_add(total)) {
            return RetryDecision::GiveUp(GiveUp::MaxTotal);
        }
        if budget.is_some_and(|b| !b.try_retry(now)) {
            return RetryDecision::GiveUp(GiveUp::Budget);
        }
        self.attempts += 1;
        self.prev_sleep = sleep;
        RetryDecision::Retry { delay, at }
    }

    /// The jittered sleep before the next retry (Retry-After not applied).
    fn sleep(&self, config: &RetryConfig, random: u64) -> Nanos {
        let d = config.backoff_delay(self.attempts);
        match config.jitter {
            Jitter::None => d,
            Jitter::Full => uniform(random, 0, d),
            Jitter::Equal => d / 2 + uniform(random, 0, d - d / 2),
            Jitter::Decorrelated => {
                let base = config.base_delay;
                let hi = self.prev_sleep.saturating_mul(3).max(base);
                uniform(random, base, hi).min(config.max_delay)
            }
        }
    }
}

/// The absence of a budget.
#[derive(Debug)]
struct NoBudget;

impl RetryBudget for NoBudget {
    fn try_retry(&mut self, _: Nanos) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resilience::GrpcThrottle;

    const MS: Nanos = 1_000_000;

    fn config(backoff: Backoff, jitter: Jitter) -> RetryConfig {
        RetryConfig {
            max_attempts: 5,
            backoff,
            jitter,
            base_delay: 100 * MS,
            max_delay: 1_000 * MS,
            retry_after_cap: 5_000 * MS,
            max_total: None,
            retryable: FailureSet::TRANSIENT,
        }
    }

    /// The delays of retries 1..=4 with no jitter, then the fifth failure.
    fn delays(c: &RetryConfig) -> Vec<RetryDecision> {
        let mut s = c.start(0);
        (0..5).map(|_| s.on_failure(c, 0, Failure::ServerError, None, 0)).collect()
    }

    fn retry(d: Nanos) -> RetryDecision {
        RetryDecision::Retry { delay: d * MS, at: d * MS }
    }

    #[test]
    fn backoffs_by_hand() {
        let give_up = RetryDecision::GiveUp(GiveUp::MaxAttempts);
        let e = delays(&config(Backoff::Exponential, Jitter::None));
        assert_eq!(e, vec![retry(100), retry(200), retry(400), retry(800), give_up]);
        let l = delays(&config(Backoff::Linear, Jitter::None));
        assert_eq!(l, vec![retry(100), retry(200), retry(300), retry(400), give_up]);
        let k = delays(&config(Backoff::Constant, Jitter::None));
        assert_eq!(k, vec![retry(100), retry(100), retry(100), retry(100), give_up]);
        let c = config(Backoff::Exponential, Jitter::None);
        assert_eq!(
            (c.backoff_delay(5), c.backoff_delay(64), c.backoff_delay(200)),
            (1_000 * MS, 1_000 * MS, 1_000 * MS)
        );
    }

    #[test]
    fn jitters_at_the_extremes_of_the_random_value() {
        let full = config(Backoff::Exponential, Jitter::Full);
        let equal = config(Backoff::Exponential, Jitter::Equal);
        let first = |c: &RetryConfig, r| match c.start(0).on_failure(c, 0, Failure::Timeout, None, r) {
            RetryDecision::Retry { delay, .. } => delay,
            other => panic!("{other:?}"),
        };
        assert_eq!((first(&full, 0), first(&full, u64::MAX)), (0, 100 * MS));
        assert_eq!((first(&equal, 0), first(&equal, u64::MAX)), (50 * MS, 100 * MS));
        // Decorrelated: uniform[base, 3 * prev]; prev starts at base, so the
        // first sleep is within [100, 300] ms, the second within [100, 3 * first].
        let dec = config(Backoff::Exponential, Jitter::Decorrelated);
        let mut s = dec.start(0);
        assert_eq!(s.on_failure(&dec, 0, Failure::Timeout, None, u64::MAX), retry(300));
        assert_eq!(s.prev_sleep(), 300 * MS);
        assert_eq!(s.on_failure(&dec, 0, Failure::Timeout, None, u64::MAX), retry(900));
        assert_eq!(s.on_failure(&dec, 0, Failure::Timeout, None, u64::MAX), retry(1_000)); // capped
        assert_eq!(s.on_failure(&dec, 0, Failure::Timeout, None, 0), retry(100));
    }

    #[test]
    fn retry_after_is_a_floor_up_to_the_cap() {
        let c = config(Backoff::Constant, Jitter::None);
        let mut s = c.start(0);
        assert_eq!(s.on_failure(&c, 0, Failure::RateLimited, Some(2_000 * MS), 0), retry(2_000));
        assert_eq!(s.on_failure(&c, 0, Failure::RateLimited, Some(50 * MS), 0), retry(100));
        let too_long = s.on_failure(&c, 0, Failure::RateLimited, Some(5_001 * MS), 0);
        assert_eq!(too_long, RetryDecision::GiveUp(GiveUp::RetryAfterTooLong));
        assert_eq!(s.attempts(), 3);
    }

    #[test]
    fn only_retryable_failures_are_retried() {
        let c = RetryConfig {
            retryable: FailureSet::NONE.with(Failure::Timeout),
            ..config(Backoff::Constant, Jitter::None)
        };
        let mut s = c.start(0);
        assert_eq!(s.on_failure(&c, 0, Failure::ServerError, None, 0), RetryDecision::GiveUp(GiveUp::NotRetryable));
        assert_eq!(s.on_failure(&c, 0, Failure::Timeout, None, 0), retry(100));
    }

    #[test]
    fn total_time_cap() {
        // Started at 1 s, 1 s in all: a retry at 1.9 s after 100 ms starts
        // exactly at the cap (allowed); one more at 1.95 s would start at 2.05 s.
        let c = RetryConfig { max_total: Some(1_000 * MS), ..config(Backoff::Constant, Jitter::None) };
        let mut s = c.start(1_000 * MS);
        assert_eq!(s.started(), 1_000 * MS);
        assert_eq!(
            s.on_failure(&c, 1_900 * MS, Failure::Timeout, None, 0),
            RetryDecision::Retry { delay: 100 * MS, at: 2_000 * MS }
        );
        assert_eq!(s.on_failure(&c, 1_950 * MS, Failure::Timeout, None, 0), RetryDecision::GiveUp(GiveUp::MaxTotal));
    }

    #[test]
    fn the_budget_is_asked_last() {
        let c = config(Backoff::Constant, Jitter::None);
        let mut budget = GrpcThrottle::new(2, 100);
        let mut s = c.start(0);
        // 2 tokens, threshold 1: retries while tokens > 1.
        assert_eq!(s.on_failure_with_budget(&c, &mut budget, 0, Failure::Timeout, None, 0), retry(100));
        budget.on_failure();
        assert_eq!(
            s.on_failure_with_budget(&c, &mut budget, 0, Failure::Timeout, None, 0),
            RetryDecision::GiveUp(GiveUp::Budget)
        );
        assert_eq!(s.attempts(), 2);
    }
}
