//! A client-side rate limiter: a token bucket (one per service), refilled
//! continuously in exact integer arithmetic. One token is `period` units
//! and the bucket gains `rate` units per nanosecond, so `rate` tokens per
//! `period` accrue with no rounding however long the run.

use crate::id::Nanos;

const SECOND: Nanos = 1_000_000_000;

/// A token bucket of `burst` tokens refilled at `rate` per `period`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenBucket {
    rate: u64,
    period: Nanos,
    burst: u64,
    /// Tokens times `period`, within `[0, burst * period]`.
    level: u128,
    /// The time the level was last brought up to date.
    last: Nanos,
}

impl TokenBucket {
    /// A full bucket at `now` of `burst` tokens, gaining `rate` tokens each
    /// `period` (at least 1 ns).
    pub fn new(rate: u64, period: Nanos, burst: u64, now: Nanos) -> TokenBucket {
        let period = period.max(1);
        TokenBucket { rate, period, burst, level: burst as u128 * period as u128, last: now }
    }

    /// `rate` tokens a second, `burst` at most.
    pub fn per_second(rate: u64, burst: u64, now: Nanos) -> TokenBucket {
        TokenBucket::new(rate, SECOND, burst, now)
    }

    /// `rate` tokens a minute (an RPM or TPM limit), `burst` at most.
    pub fn per_minute(rate: u64, burst: u64, now: Nanos) -> TokenBucket {
        TokenBucket::new(rate, 60 * SECOND, burst, now)
    }

    fn capacity(&self) -> u128 {
        self.burst as u128 * self.period as u128
    }

    /// The level at `now` (time going back adds nothing).
    fn level_at(&self, now: Nanos) -> u128 {
        let elapsed = now.saturating_sub(self.last) as u128;
        (self.level + elapsed * self.rate as u128).min(self.capacity())
    }

    /// Takes `tokens` at `now`, or says how long until they are there
    /// (`Nanos::MAX`: never, as `tokens > burst` or the rate is 0).
    pub fn try_acquire(&mut self, now: Nanos, tokens: u64) -> Result<(), Nanos> {
        self.level = self.level_at(now);
        self.last = self.last.max(now);
        let need = tokens as u128 * self.period as u128;
        if need <= self.level {
            self.level -= need;
            return Ok(());
        }
        if tokens > self.burst || self.rate == 0 {
            return Err(Nanos::MAX);
        }
        let wait = (need - self.level).div_ceil(self.rate as u128);
        Err(wait.min(Nanos::MAX as u128) as Nanos)
    }

    /// Whole tokens available at `now`.
    pub fn available(&self, now: Nanos) -> u64 {
        (self.level_at(now) / self.period as u128) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Nanos = 1_000_000;

    #[test]
    fn burst_then_refill_by_hand() {
        // 10 a second, burst 5: 100 ms a token.
        let mut b = TokenBucket::per_second(10, 5, 0);
        assert_eq!(b.try_acquire(0, 5), Ok(()));
        assert_eq!(b.try_acquire(0, 1), Err(100 * MS));
        assert_eq!(b.try_acquire(30 * MS, 1), Err(70 * MS));
        assert_eq!(b.try_acquire(100 * MS, 1), Ok(()));
        assert_eq!(b.available(100 * MS), 0);
        assert_eq!(b.available(10_000 * MS), 5, "capped at the burst");
        assert_eq!(b.try_acquire(100 * MS, 6), Err(Nanos::MAX));
        assert_eq!(b.try_acquire(250 * MS, 2), Err(50 * MS));
    }

    #[test]
    fn fractional_rates_are_exact_over_long_runs() {
        // 1 token every 3 s (rate 1 per 3 s): after 3 000 000 s exactly 1 000 000
        // tokens accrued, one at a time.
        let mut b = TokenBucket::new(1, 3 * SECOND, 1, 0);
        let mut granted = 0u64;
        let mut t = 0;
        while t <= 3_000_000 * SECOND {
            if b.try_acquire(t, 1).is_ok() {
                granted += 1;
            }
            t += SECOND;
        }
        assert_eq!(granted, 1_000_001);
        let mut rpm = TokenBucket::per_minute(60, 60, 0);
        assert_eq!(rpm.try_acquire(0, 60), Ok(()));
        assert_eq!(rpm.try_acquire(0, 1), Err(SECOND));
        assert_eq!(TokenBucket::per_second(0, 1, 0).try_acquire(0, 2), Err(Nanos::MAX));
    }
}
