//! Provider rate limits as token buckets refilled continuously.
//!
//! A bucket holds up to `capacity` units (one minute's worth: providers state
//! limits per minute and allow that much in a burst) and refills at
//! `capacity / 60 s`. It starts full. Time is the caller's `now`; the bucket
//! reads no clock. Arithmetic is plain IEEE `f64` (add, multiply, divide), so
//! it is the same on every machine.

use rehearsal_runtime::Nanos;

const NANOS_PER_MINUTE: f64 = 60e9;

/// One token bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenBucket {
    capacity: f64,
    per_nano: f64,
    level: f64,
    last: Nanos,
}

impl TokenBucket {
    /// A full bucket allowing `per_minute` units per minute (> 0).
    pub fn per_minute(per_minute: f64) -> Self {
        assert!(per_minute > 0.0, "a rate limit must be positive, got {per_minute}");
        TokenBucket { capacity: per_minute, per_nano: per_minute / NANOS_PER_MINUTE, level: per_minute, last: 0 }
    }

    /// The most the bucket holds.
    pub fn capacity(&self) -> f64 {
        self.capacity
    }

    /// The level at `now` (refilled up to then).
    pub fn level(&mut self, now: Nanos) -> f64 {
        self.refill(now);
        self.level
    }

    fn refill(&mut self, now: Nanos) {
        if now > self.last {
            let added = (now - self.last) as f64 * self.per_nano;
            self.level = (self.level + added).min(self.capacity);
            self.last = now;
        }
    }

    /// How long from `now` until `amount` units are available; 0 if they are.
    /// An amount above the capacity is treated as the capacity (a full bucket
    /// admits it), so every call is admitted eventually.
    pub fn wait(&mut self, now: Nanos, amount: f64) -> Nanos {
        self.refill(now);
        let amount = amount.min(self.capacity);
        if self.level >= amount {
            0
        } else {
            let ns = libm::ceil((amount - self.level) / self.per_nano);
            (ns as Nanos).max(1)
        }
    }

    /// Take `amount` (clamped to the capacity) now, if available.
    pub fn try_take(&mut self, now: Nanos, amount: f64) -> Result<(), Nanos> {
        match self.wait(now, amount) {
            0 => {
                self.level -= amount.min(self.capacity);
                Ok(())
            }
            wait => Err(wait),
        }
    }
}

/// Requests-per-minute and tokens-per-minute limits of one provider account.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RateLimits {
    /// Requests per minute (RPM); `None` = unlimited.
    pub requests_per_minute: Option<f64>,
    /// Tokens per minute (TPM); `None` = unlimited. What a call counts is
    /// decided by the service (see [`crate::llm`]: input + output tokens).
    pub tokens_per_minute: Option<f64>,
}

/// The state of [`RateLimits`]: both buckets, checked together.
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimiter {
    requests: Option<TokenBucket>,
    tokens: Option<TokenBucket>,
}

impl RateLimiter {
    pub fn new(limits: &RateLimits) -> Self {
        RateLimiter {
            requests: limits.requests_per_minute.map(TokenBucket::per_minute),
            tokens: limits.tokens_per_minute.map(TokenBucket::per_minute),
        }
    }

    /// Admit one request counting `tokens` at `now`, taking from both buckets;
    /// or, if either bucket is short, take nothing and return how long until
    /// both have enough (the `retry_after` of a 429).
    pub fn admit(&mut self, now: Nanos, tokens: u64) -> Result<(), Nanos> {
        let tokens = tokens as f64;
        let wait_r = self.requests.as_mut().map_or(0, |b| b.wait(now, 1.0));
        let wait_t = self.tokens.as_mut().map_or(0, |b| b.wait(now, tokens));
        let wait = wait_r.max(wait_t);
        if wait > 0 {
            return Err(wait);
        }
        if let Some(b) = &mut self.requests {
            b.level -= 1.0;
        }
        if let Some(b) = &mut self.tokens {
            b.level -= tokens.min(b.capacity);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_continuously_and_reports_the_wait() {
        let mut b = TokenBucket::per_minute(60.0); // one per second
        for _ in 0..60 {
            assert_eq!(b.try_take(0, 1.0), Ok(()));
        }
        assert_eq!(b.try_take(0, 1.0), Err(1_000_000_000));
        assert_eq!(b.try_take(500_000_000, 1.0), Err(500_000_000));
        assert_eq!(b.try_take(1_000_000_000, 1.0), Ok(()));
        // Never above capacity.
        assert_eq!(b.level(10 * 60_000_000_000), 60.0);
    }

    #[test]
    fn oversized_amount_needs_a_full_bucket() {
        let mut b = TokenBucket::per_minute(100.0);
        assert_eq!(b.try_take(0, 1000.0), Ok(()));
        assert_eq!(b.level(0), 0.0);
        assert_eq!(b.wait(0, 1000.0), 60_000_000_000);
    }

    #[test]
    fn limiter_takes_from_both_or_neither() {
        let mut l = RateLimiter::new(&RateLimits { requests_per_minute: Some(10.0), tokens_per_minute: Some(100.0) });
        assert_eq!(l.admit(0, 90), Ok(()));
        // Token bucket short (10 left, 20 wanted): 10 tokens at 100/min = 6 s.
        assert_eq!(l.admit(0, 20), Err(6_000_000_000));
        // The request bucket was not charged by the refused call.
        assert_eq!(l.requests.as_mut().unwrap().level(0), 9.0);
        assert_eq!(l.admit(0, 10), Ok(()));
    }
}
