//! Resilience policies as pure state machines: timeouts (deadlines),
//! retries with backoff and jitter, retry budgets, circuit breakers,
//! hedging, bulkheads, client-side rate limiting and fallback routing.
//!
//! The same code decides in simulation and in production: every policy is
//! a plain struct whose methods take the current time ([`Nanos`], from the
//! driver) and, where randomness is needed, one uniform `u64` drawn by the
//! caller (e.g. from [`Entropy`](crate::Entropy)). No policy reads a clock,
//! draws randomness, allocates after construction on its hot path (sliding
//! windows and queues are fixed-capacity rings) or iterates a hash map, so
//! the same inputs give the same decisions on every run. Arithmetic is in
//! integers: no float drift over long runs.
//!
//! # Composition at a call site
//!
//! Outermost first; each layer sees what the layers inside it report:
//!
//! 1. **timeout** ([`Deadline`]): the call's deadline bounds everything
//!    below it. Each attempt's timeout is
//!    [`child_timeout`](Deadline::child_timeout)`(now, per_attempt)`, and
//!    what a downstream receives is the [`remaining`](Deadline::remaining)
//!    time. A retry or hedge due after the deadline is not made.
//! 2. **retry, with a budget** ([`RetryConfig`], [`RetryState`],
//!    [`RetryBudget`]: [`GrpcThrottle`], [`FinagleBudget`],
//!    [`EnvoyBudget`]): after a failed attempt, whether and when to try
//!    again ([`RetryState::on_failure_with_budget`]); the budget, shared by
//!    all the calls of a client, is asked last. Report every attempt's
//!    outcome to the budget (gRPC), every request (Finagle), every start
//!    and end (Envoy).
//! 3. **circuit breaker** ([`CircuitBreaker`], one per downstream or
//!    deployment): every attempt, and every hedged copy, needs a
//!    [`Permit`] and reports its outcome with it. A [`Rejected`] call costs
//!    the downstream nothing; it is a failure to route around (7), not to
//!    retry against the same deployment before its `retry_at`.
//! 4. **hedging** ([`Hedging`]): within one attempt, extra copies after a
//!    delay; the first success wins and the others are cancelled. Each copy
//!    passes 3, 5 and 6 on its own.
//! 5. **bulkhead** ([`Bulkhead`]): bounds the calls in flight to a
//!    downstream; a queued call waits for [`Bulkhead::leave`] to hand it a
//!    slot, a rejected one fails locally.
//! 6. **rate limiter** ([`TokenBucket`], one per service): client-side
//!    tokens; a refusal says how long until the tokens are there: wait if
//!    that is within the deadline, else fail locally as a 429 would.
//! 7. **fallback** ([`Fallback`]): when the chosen deployment fails or
//!    refuses (breaker open, 429, cooling down), the next one in order;
//!    report its failures so it cools down.
//!
//! ```
//! use rehearsal_runtime::resilience::*;
//!
//! const MS: u64 = 1_000_000;
//! let now = 0;
//! let deadline = Deadline::after(now, 2_000 * MS);
//! let retry = RetryConfig { max_attempts: 3, jitter: Jitter::None, ..RetryConfig::default() };
//! let mut attempt = retry.start(now);
//! let mut budget = GrpcThrottle::new(10, 100);
//! let mut breakers = [CircuitBreaker::new(BreakerConfig::default()), CircuitBreaker::new(BreakerConfig::default())];
//! let mut limiter = TokenBucket::per_second(50, 10, now);
//! let mut fallback = Fallback::new(2, FallbackConfig::default());
//!
//! // One attempt: pick a deployment, get a permit and a token, bound the timeout.
//! let target = fallback.pick(now).unwrap();
//! let permit = breakers[target].try_acquire(now).unwrap();
//! limiter.try_acquire(now, 1).unwrap();
//! assert_eq!(deadline.child_timeout(now, 500 * MS), 500 * MS);
//!
//! // It answers 429 after 100 ms, asking for 300 ms.
//! let t = 100 * MS;
//! breakers[target].on_failure(permit, t, t - now);
//! budget.on_failure();
//! fallback.on_failure(t, target, Failure::RateLimited); // cools down at once
//! match attempt.on_failure_with_budget(&retry, &mut budget, t, Failure::RateLimited, Some(300 * MS), 0) {
//!     RetryDecision::Retry { at, .. } => {
//!         assert_eq!(at, 400 * MS);
//!         assert_eq!(fallback.pick(at), Some(1)); // the retry goes to the next deployment
//!     }
//!     RetryDecision::GiveUp(why) => panic!("{why:?}"),
//! }
//! ```

mod breaker;
mod budget;
mod bulkhead;
mod deadline;
mod failure;
mod fallback;
mod hedging;
#[cfg(test)]
mod props;
mod rate_limit;
mod retry;
mod ring;
mod window;

pub use breaker::{BreakerConfig, CallCounts, CircuitBreaker, Permit, Rejected, State, Transition, Trip};
pub use budget::{EnvoyBudget, FinagleBudget, GrpcThrottle, RetryBudget};
pub use bulkhead::{Bulkhead, Enter};
pub use deadline::Deadline;
pub use failure::{Failure, FailureSet};
pub use fallback::{Fallback, FallbackConfig};
pub use hedging::{AfterFailure, Attempt, Attempts, Hedging, HedgingConfig, Won};
pub use rate_limit::TokenBucket;
pub use retry::{Backoff, GiveUp, Jitter, RetryConfig, RetryDecision, RetryState};

use crate::id::Nanos;

/// A uniform draw from `[lo, hi]` (inclusive; `lo` if `hi < lo`) from one
/// uniform `u64`, by multiply-shift: no modulo bias worth noticing at 64
/// bits, no rejection loop, and monotone in `random`.
pub(crate) fn uniform(random: u64, lo: Nanos, hi: Nanos) -> Nanos {
    if hi <= lo {
        return lo;
    }
    let span = (hi - lo) as u128 + 1;
    lo + ((random as u128 * span) >> 64) as Nanos
}
