//! Retry budgets: caps on retries across all the calls of a client, so
//! retries cannot multiply the load of a struggling service. A retry that
//! [`RetryState`](super::RetryState) would make still needs its budget's
//! leave ([`RetryBudget::try_retry`]).
//!
//! - [`GrpcThrottle`]: gRPC's retry throttling (gRFC A6): a token bucket of
//!   `max_tokens`, each failure takes 1, each success gives back
//!   `token_ratio`; retries only while tokens > `max_tokens / 2`.
//! - [`FinagleBudget`]: Finagle's `RetryBudget`: every request deposits,
//!   every retry withdraws, over a window of `ttl`; retries up to
//!   `percent_can_retry` of the requests plus a reserve of
//!   `min_retries_per_sec * ttl`.
//! - [`EnvoyBudget`]: Envoy's `retry_budget`: concurrent retries below
//!   `budget_percent` of the active requests, or below `min_retry_concurrency`.
//!
//! All integer arithmetic: no float drift, the same decision on every run.

use crate::id::Nanos;

use super::window::Slices;

/// A budget asked before each retry.
pub trait RetryBudget {
    /// Whether one retry may start at `now`; if so, it is counted against
    /// the budget.
    fn try_retry(&mut self, now: Nanos) -> bool;
}

/// gRPC retry throttling: tokens in thousandths (gRPC allows `token_ratio`
/// three decimal places), so the bucket is exact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrpcThrottle {
    /// `max_tokens * 1000`.
    max_milli: u64,
    /// `token_ratio * 1000`.
    ratio_milli: u64,
    /// Tokens in thousandths, within `[0, max_milli]`.
    milli: u64,
}

impl GrpcThrottle {
    /// A full bucket of `max_tokens` (gRPC allows 1..=1000), refilled by
    /// `token_ratio_milli / 1000` per success (e.g. 100 for 0.1).
    pub fn new(max_tokens: u32, token_ratio_milli: u32) -> GrpcThrottle {
        let max_milli = max_tokens as u64 * 1000;
        GrpcThrottle { max_milli, ratio_milli: token_ratio_milli as u64, milli: max_milli }
    }

    /// A call failed in a way that counts (a retryable status or pushback):
    /// one token less, not below 0.
    pub fn on_failure(&mut self) {
        self.milli = self.milli.saturating_sub(1000);
    }

    /// A call succeeded: `token_ratio` more, up to `max_tokens`.
    pub fn on_success(&mut self) {
        self.milli = (self.milli + self.ratio_milli).min(self.max_milli);
    }

    /// Whether retries are allowed: tokens > `max_tokens / 2`.
    pub fn allows_retry(&self) -> bool {
        // tokens > max / 2  <=>  milli > max_milli / 2, exactly: 2 * milli > max_milli.
        2 * self.milli > self.max_milli
    }

    /// The tokens, in thousandths.
    pub fn tokens_milli(&self) -> u64 {
        self.milli
    }
}

impl RetryBudget for GrpcThrottle {
    /// Asks only: in gRPC the failure that led to the retry already took its
    /// token (report it with [`on_failure`](GrpcThrottle::on_failure)).
    fn try_retry(&mut self, _: Nanos) -> bool {
        self.allows_retry()
    }
}

/// Slices of Finagle's window (its `WindowedAdder` uses 10).
const FINAGLE_SLICES: usize = 10;

/// Finagle's `RetryBudget` (`TokenRetryBudget` over a leaky bucket): in
/// units of 1/100 of a retry, a request deposits `percent_can_retry`, a
/// retry withdraws 100, and a retry is allowed while the window's balance
/// plus the reserve (`min_retries_per_sec * ttl`) covers 100. Deposits and
/// withdrawals leave the window after `ttl` (in 10 slices of `ttl / 10`).
/// So at each retry, the retries in the window are at most
/// `percent_can_retry% * requests + min_retries_per_sec * ttl`.
#[derive(Clone, Debug)]
pub struct FinagleBudget {
    window: Slices<i64>,
    percent_can_retry: i64,
    /// `min_retries_per_sec * ttl` in hundredths of a retry.
    reserve: i64,
}

impl FinagleBudget {
    /// A budget over `ttl` (Finagle: 1 s to 60 s; default 10 s) with
    /// `min_retries_per_sec` (default 10) and `percent_can_retry` (percent
    /// of requests, default 20).
    pub fn new(ttl: Nanos, min_retries_per_sec: u32, percent_can_retry: u32) -> FinagleBudget {
        let ttl = ttl.max(FINAGLE_SLICES as Nanos);
        let reserve = (min_retries_per_sec as u128 * 100 * ttl as u128 / 1_000_000_000) as i64;
        FinagleBudget {
            window: Slices::new(FINAGLE_SLICES, ttl / FINAGLE_SLICES as Nanos),
            percent_can_retry: percent_can_retry as i64,
            reserve,
        }
    }

    /// Finagle's defaults: 10 s, 10 retries a second, 20 %.
    pub fn finagle_default() -> FinagleBudget {
        FinagleBudget::new(10_000_000_000, 10, 20)
    }

    /// A request was made at `now` (retries are not requests).
    pub fn deposit(&mut self, now: Nanos) {
        self.window.add(now, self.percent_can_retry);
    }

    /// Takes one retry from the budget if it has one at `now`.
    pub fn try_withdraw(&mut self, now: Nanos) -> bool {
        if self.window.total(now) + self.reserve >= 100 {
            self.window.add(now, -100);
            true
        } else {
            false
        }
    }

    /// Whole retries available at `now`.
    pub fn balance(&self, now: Nanos) -> i64 {
        (self.window.peek(now) + self.reserve).div_euclid(100)
    }
}

impl RetryBudget for FinagleBudget {
    fn try_retry(&mut self, now: Nanos) -> bool {
        self.try_withdraw(now)
    }
}

/// Envoy's retry budget: retries may be in flight while
/// `active_retries < max(min_retry_concurrency, budget_percent% * active_requests)`
/// (rounded down). `active_requests` counts every request in flight, retries
/// included, as Envoy's `rq_active` does: report first attempts with
/// [`request_started`](Self::request_started)/[`request_ended`](Self::request_ended)
/// and retries with [`try_retry`](RetryBudget::try_retry)/[`retry_ended`](Self::retry_ended).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvoyBudget {
    budget_percent: u32,
    min_retry_concurrency: u32,
    active_requests: u32,
    active_retries: u32,
}

impl EnvoyBudget {
    /// A budget of `budget_percent` (Envoy's default 20) with
    /// `min_retry_concurrency` (default 3).
    pub fn new(budget_percent: u32, min_retry_concurrency: u32) -> EnvoyBudget {
        EnvoyBudget { budget_percent, min_retry_concurrency, active_requests: 0, active_retries: 0 }
    }

    /// A first attempt started.
    pub fn request_started(&mut self) {
        self.active_requests += 1;
    }

    /// A first attempt ended.
    pub fn request_ended(&mut self) {
        self.active_requests = self.active_requests.saturating_sub(1);
    }

    /// A retry allowed by `try_retry` ended.
    pub fn retry_ended(&mut self) {
        self.active_retries = self.active_retries.saturating_sub(1);
        self.active_requests = self.active_requests.saturating_sub(1);
    }

    /// Concurrent retries allowed now.
    pub fn max_retries(&self) -> u32 {
        let share = (self.budget_percent as u64 * self.active_requests as u64 / 100) as u32;
        share.max(self.min_retry_concurrency)
    }

    /// Whether a retry may start now.
    pub fn allows_retry(&self) -> bool {
        self.active_retries < self.max_retries()
    }

    /// Requests in flight, retries included.
    pub fn active_requests(&self) -> u32 {
        self.active_requests
    }

    /// Retries in flight.
    pub fn active_retries(&self) -> u32 {
        self.active_retries
    }
}

impl RetryBudget for EnvoyBudget {
    /// If allowed, the retry counts as active (a request and a retry) until
    /// [`retry_ended`](EnvoyBudget::retry_ended).
    fn try_retry(&mut self, _: Nanos) -> bool {
        let ok = self.allows_retry();
        if ok {
            self.active_retries += 1;
            self.active_requests += 1;
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Nanos = 1_000_000_000;

    #[test]
    fn grpc_throttle_by_hand() {
        // gRFC A6's example: max 10, ratio 0.1, threshold 5.
        let mut t = GrpcThrottle::new(10, 100);
        assert!(t.allows_retry());
        for _ in 0..5 {
            t.on_failure();
        }
        assert_eq!(t.tokens_milli(), 5_000);
        assert!(!t.allows_retry(), "5 is not > 5");
        t.on_success();
        assert_eq!(t.tokens_milli(), 5_100);
        assert!(t.try_retry(0));
        for _ in 0..20 {
            t.on_failure();
        }
        assert_eq!(t.tokens_milli(), 0);
        for _ in 0..200 {
            t.on_success();
        }
        assert_eq!(t.tokens_milli(), 10_000);
    }

    #[test]
    fn finagle_reserve_then_percent_then_expiry() {
        // 10 s, 1 retry/s, 20 %: a reserve of 10 retries.
        let mut b = FinagleBudget::new(10 * S, 1, 20);
        assert_eq!(b.balance(0), 10);
        assert_eq!((0..12).filter(|_| b.try_withdraw(0)).count(), 10);
        // 10 requests deposit 2 retries' worth.
        (0..10).for_each(|_| b.deposit(S));
        assert_eq!(b.balance(S), 2);
        assert!(b.try_withdraw(S) && b.try_retry(S) && !b.try_withdraw(S));
        // The first withdrawals (slice 0) leave the window at 10 s; the
        // deposits and the last two withdrawals (slice 1) at 11 s.
        assert_eq!(b.balance(10 * S), 10);
        assert_eq!(b.balance(11 * S), 10);
        assert_eq!(FinagleBudget::finagle_default().balance(0), 100);
    }

    #[test]
    fn envoy_budget_by_hand() {
        let mut e = EnvoyBudget::new(20, 3);
        (0..20).for_each(|_| e.request_started());
        // max(3, 20% of 20 = 4) = 4.
        assert_eq!(e.max_retries(), 4);
        // Each retry is a request too, but 20% of 24 is still 4 (rounded down).
        assert_eq!((0..6).filter(|_| e.try_retry(0)).count(), 4);
        assert_eq!((e.active_requests(), e.active_retries()), (24, 4));
        e.retry_ended();
        (0..20).for_each(|_| e.request_ended());
        // 3 retries among 3 requests: max(3, 0) = 3.
        assert!(!e.allows_retry());
        (0..2).for_each(|_| e.retry_ended());
        assert!(e.allows_retry());
    }
}
