//! Fallback routing in the style of LiteLLM's router: an ordered list of
//! deployments (models, endpoints); a call goes to the first one not
//! cooling down, and when that one fails (an error, a 429, its breaker
//! open) to the next.
//!
//! Cooldown: a deployment cools down for `cooldown_time` once it has had
//! more than `allowed_fails` counted failures in the current minute (LiteLLM
//! counts failures per calendar minute; here per `window`, default 60 s,
//! starting at time 0), or at once on a failure in `cool_down_at_once`
//! (LiteLLM: 429; it also cools down on 401, 404 and 408, which a caller can
//! add as [`Failure::ClientError`] and [`Failure::Timeout`]). As in LiteLLM,
//! the minute's count is not reset by a cooldown: another failure in the
//! same minute after the cooldown cools the deployment down again.

use crate::id::Nanos;

use super::failure::{Failure, FailureSet};

/// How deployments cool down.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FallbackConfig {
    /// Failures allowed per window before a cooldown (LiteLLM's default 3).
    pub allowed_fails: u32,
    /// How long a cooldown lasts (LiteLLM's default 5 s).
    pub cooldown_time: Nanos,
    /// The counting window (60 s).
    pub window: Nanos,
    /// Failures that count towards `allowed_fails`.
    pub counted: FailureSet,
    /// Failures that cool a deployment down at once.
    pub cool_down_at_once: FailureSet,
}

impl Default for FallbackConfig {
    /// LiteLLM's: 3 fails a minute, 5 s cooldown, 429 at once; every
    /// transient failure counts.
    fn default() -> FallbackConfig {
        FallbackConfig {
            allowed_fails: 3,
            cooldown_time: 5_000_000_000,
            window: 60_000_000_000,
            counted: FailureSet::TRANSIENT,
            cool_down_at_once: FailureSet::NONE.with(Failure::RateLimited),
        }
    }
}

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Deployment {
    /// The window number of `fails`.
    window: u64,
    fails: u32,
    /// Cooling down while `now < cooldown_until`.
    cooldown_until: Nanos,
    cooldowns: u64,
}

/// The routing state over an ordered list of deployments, by index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fallback {
    config: FallbackConfig,
    deployments: Box<[Deployment]>,
}

impl Fallback {
    /// `n` deployments, in order of preference, none cooling down.
    pub fn new(n: usize, config: FallbackConfig) -> Fallback {
        Fallback { config, deployments: vec![Deployment::default(); n].into_boxed_slice() }
    }

    /// How many deployments.
    pub fn len(&self) -> usize {
        self.deployments.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.deployments.is_empty()
    }

    /// The first deployment not cooling down at `now` (`None`: all are).
    pub fn pick(&self, now: Nanos) -> Option<usize> {
        self.first_from(now, 0)
    }

    /// The next deployment after `after` not cooling down at `now`: where a
    /// call goes when `after` failed or refused (its breaker open).
    pub fn next(&self, now: Nanos, after: usize) -> Option<usize> {
        self.first_from(now, after.saturating_add(1))
    }

    fn first_from(&self, now: Nanos, from: usize) -> Option<usize> {
        (from..self.deployments.len()).find(|&i| !self.is_cooling_down(now, i))
    }

    /// Whether deployment `i` is cooling down at `now`.
    pub fn is_cooling_down(&self, now: Nanos, i: usize) -> bool {
        self.deployments.get(i).is_some_and(|d| now < d.cooldown_until)
    }

    /// When deployment `i`'s latest cooldown ends (`None` if it never cooled down).
    pub fn cooldown_until(&self, i: usize) -> Option<Nanos> {
        self.deployments.get(i).filter(|d| d.cooldowns > 0).map(|d| d.cooldown_until)
    }

    /// How many times deployment `i` cooled down.
    pub fn cooldowns(&self, i: usize) -> u64 {
        self.deployments.get(i).map_or(0, |d| d.cooldowns)
    }

    /// Deployment `i` failed at `now` with `failure`; true if it starts
    /// cooling down (a deployment already cooling down is not extended).
    pub fn on_failure(&mut self, now: Nanos, i: usize, failure: Failure) -> bool {
        let config = self.config;
        let Some(d) = self.deployments.get_mut(i) else { return false };
        let window = now / config.window.max(1);
        if d.window != window {
            d.window = window;
            d.fails = 0;
        }
        if config.counted.contains(failure) {
            d.fails = d.fails.saturating_add(1);
        }
        let cool = config.cool_down_at_once.contains(failure) || d.fails > config.allowed_fails;
        if !cool || now < d.cooldown_until {
            return false;
        }
        d.cooldown_until = now.saturating_add(config.cooldown_time);
        d.cooldowns += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Nanos = 1_000_000_000;

    #[test]
    fn more_than_allowed_fails_in_a_minute_cools_down() {
        let mut f = Fallback::new(3, FallbackConfig::default());
        assert_eq!((f.pick(0), f.len(), f.is_empty()), (Some(0), 3, false));
        for t in 0..3 {
            assert!(!f.on_failure(t * S, 0, Failure::ServerError), "3 fails are allowed");
        }
        assert!(f.on_failure(10 * S, 0, Failure::Timeout), "the 4th cools down");
        assert_eq!((f.pick(10 * S), f.cooldown_until(0)), (Some(1), Some(15 * S)));
        assert_eq!(f.pick(15 * S), Some(0), "cooldown over");
        // Same minute: the count still exceeds, so one more failure cools down again.
        assert!(f.on_failure(20 * S, 0, Failure::ServerError));
        // A new minute starts a new count.
        assert!(!f.on_failure(61 * S, 0, Failure::ServerError));
        assert_eq!(f.cooldowns(0), 2);
    }

    #[test]
    fn a_429_cools_down_at_once_and_client_errors_do_not_count() {
        let mut f = Fallback::new(2, FallbackConfig::default());
        for _ in 0..10 {
            assert!(!f.on_failure(0, 1, Failure::ClientError));
        }
        assert!(f.on_failure(0, 0, Failure::RateLimited));
        assert!(!f.on_failure(S, 0, Failure::RateLimited), "already cooling down");
        assert_eq!((f.pick(S), f.next(S, 0), f.next(S, 1)), (Some(1), Some(1), None));
        assert!(f.on_failure(S, 1, Failure::RateLimited));
        assert_eq!(f.pick(S), None, "every deployment is cooling down");
        assert_eq!(f.pick(6 * S), Some(0));
        assert_eq!((f.cooldown_until(7), f.cooldowns(7), f.on_failure(0, 7, Failure::Timeout)), (None, 0, false));
    }
}
