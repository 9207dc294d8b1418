//! A circuit breaker with resilience4j's semantics, as a state machine
//! driven by the caller's time.
//!
//! - `Closed`: calls pass; outcomes go into a window. The breaker opens
//!   after `threshold` consecutive failures ([`Trip::ConsecutiveFailures`],
//!   Dapr's style), or, with a sliding window ([`Trip::CountBased`]: the
//!   last `size` calls; [`Trip::TimeBased`]: the calls of the last
//!   `seconds` seconds, in one-second slices), once it holds at least
//!   `minimum_number_of_calls` (for a count window, at most `size`) and
//!   the failure rate or the slow-call rate is >= its threshold. A call is
//!   slow when its duration is > `slow_call_duration`, failed or not.
//! - `Open`: every call is rejected until `wait_duration_in_open` has
//!   passed; the first [`try_acquire`](CircuitBreaker::try_acquire) after
//!   that moves to `HalfOpen` (resilience4j's automatic transition is
//!   optional; here it is lazy) and is the first trial.
//! - `HalfOpen` (`"half_open"`): admits `permitted_calls_in_half_open`
//!   trial calls and rejects the rest; once all have completed, it opens
//!   again if their failure or slow rate is >= the threshold, else closes
//!   (with a fresh window). The rates decide in every mode: with
//!   [`Trip::ConsecutiveFailures`] and one trial, a failed trial reopens and
//!   a successful one closes.
//!
//! A [`Permit`] remembers the state it was issued in: the outcome of a call
//! admitted before the last transition is ignored (resilience4j records it
//! in the new state; here a call admitted while `Closed` that ends after the
//! breaker opened cannot pass for a half-open trial).

mod counts;
#[cfg(test)]
mod tests;

use crate::id::Nanos;

use super::ring::Ring;
pub use counts::CallCounts;
use counts::Window;

pub(super) const SECOND: Nanos = 1_000_000_000;
/// Transitions kept for [`CircuitBreaker::take_transitions`].
const LOG: usize = 32;

/// When a closed breaker opens.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Trip {
    /// After `threshold` failures in a row (rates and the minimum ignored).
    ConsecutiveFailures {
        /// Failures in a row that open the breaker.
        threshold: u32,
    },
    /// On the rates over the last `size` calls.
    CountBased {
        /// Calls in the window.
        size: u32,
    },
    /// On the rates over the calls of the last `seconds` seconds.
    TimeBased {
        /// Seconds in the window.
        seconds: u32,
    },
}

/// A breaker's configuration (resilience4j's names).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct BreakerConfig {
    /// What opens a closed breaker.
    pub trip: Trip,
    /// Percent (1..=100) of failed calls that opens the breaker.
    pub failure_rate_threshold: u32,
    /// Percent (1..=100) of slow calls that opens the breaker.
    pub slow_call_rate_threshold: u32,
    /// A call longer than this is slow.
    pub slow_call_duration: Nanos,
    /// Calls the window must hold before its rates count.
    pub minimum_number_of_calls: u32,
    /// How long the breaker stays open.
    pub wait_duration_in_open: Nanos,
    /// Trial calls admitted while half open (>= 1).
    pub permitted_calls_in_half_open: u32,
}

impl Default for BreakerConfig {
    /// resilience4j's defaults: count window of 100, 50 % failures, 100 %
    /// slow calls over 60 s, 100 calls minimum, 60 s open, 10 trials.
    fn default() -> BreakerConfig {
        BreakerConfig {
            trip: Trip::CountBased { size: 100 },
            failure_rate_threshold: 50,
            slow_call_rate_threshold: 100,
            slow_call_duration: 60 * SECOND,
            minimum_number_of_calls: 100,
            wait_duration_in_open: 60 * SECOND,
            permitted_calls_in_half_open: 10,
        }
    }
}

/// A breaker's state.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Calls pass and are counted.
    Closed,
    /// Calls are rejected.
    Open,
    /// A few trial calls pass.
    HalfOpen,
}

impl State {
    /// `"closed"`, `"open"` or `"half_open"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
        }
    }
}

/// A change of state, for tracing.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Transition {
    /// When it happened.
    pub at: Nanos,
    /// The state left.
    pub from: State,
    /// The state entered.
    pub to: State,
}

/// Leave to make one call; hand it back with the call's outcome.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[must_use = "report the call's outcome with the permit"]
pub struct Permit {
    epoch: u32,
}

/// A call the breaker refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rejected {
    /// `Open`, or `HalfOpen` with all its trials taken.
    pub state: State,
    /// When `Open` ends (`None` while half open: when the trials end).
    pub retry_at: Option<Nanos>,
}

/// A circuit breaker (see the module's documentation).
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    state: State,
    /// Bumped at every transition; permits carry it.
    epoch: u32,
    window: Window,
    opened_at: Nanos,
    /// Half open: trials admitted, and the outcomes of those completed.
    trials: u32,
    trial_counts: CallCounts,
    log: Ring<Transition>,
    log_dropped: u64,
    rejected: u64,
    /// Time spent open in finished open periods.
    open_time: Nanos,
}

impl CircuitBreaker {
    /// A closed breaker.
    ///
    /// # Panics
    /// If a threshold is outside 1..=100, or a window size, the consecutive
    /// threshold or `permitted_calls_in_half_open` is 0.
    pub fn new(config: BreakerConfig) -> CircuitBreaker {
        let valid = |p: u32| (1..=100).contains(&p);
        assert!(
            valid(config.failure_rate_threshold) && valid(config.slow_call_rate_threshold),
            "rate thresholds are 1..=100 percent"
        );
        let size = match config.trip {
            Trip::ConsecutiveFailures { threshold } => threshold,
            Trip::CountBased { size } => size,
            Trip::TimeBased { seconds } => seconds,
        };
        assert!(size > 0 && config.permitted_calls_in_half_open > 0, "window sizes and permitted calls are >= 1");
        CircuitBreaker {
            config,
            state: State::Closed,
            epoch: 0,
            window: Window::new(config.trip),
            opened_at: 0,
            trials: 0,
            trial_counts: CallCounts::default(),
            log: Ring::with_capacity(LOG),
            log_dropped: 0,
            rejected: 0,
            open_time: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// The state (an open breaker past its wait still says `Open` until the
    /// next [`try_acquire`](Self::try_acquire)).
    pub fn state(&self) -> State {
        self.state
    }

    /// Asks to make a call at `now`.
    pub fn try_acquire(&mut self, now: Nanos) -> Result<Permit, Rejected> {
        match self.state {
            State::Closed => Ok(Permit { epoch: self.epoch }),
            State::Open => {
                let until = self.opened_at.saturating_add(self.config.wait_duration_in_open);
                if now >= until {
                    self.transition(now, State::HalfOpen);
                    self.trials = 1;
                    Ok(Permit { epoch: self.epoch })
                } else {
                    self.rejected += 1;
                    Err(Rejected { state: State::Open, retry_at: Some(until) })
                }
            }
            State::HalfOpen if self.trials < self.config.permitted_calls_in_half_open => {
                self.trials += 1;
                Ok(Permit { epoch: self.epoch })
            }
            State::HalfOpen => {
                self.rejected += 1;
                Err(Rejected { state: State::HalfOpen, retry_at: None })
            }
        }
    }

    /// The call of `permit` succeeded at `now` after `duration`.
    pub fn on_success(&mut self, permit: Permit, now: Nanos, duration: Nanos) {
        self.record(permit, now, duration, false);
    }

    /// The call of `permit` failed at `now` after `duration`.
    pub fn on_failure(&mut self, permit: Permit, now: Nanos, duration: Nanos) {
        self.record(permit, now, duration, true);
    }

    /// The call of `permit` ended without an outcome that counts (cancelled,
    /// or a failure the breaker ignores): a half-open trial slot is freed.
    pub fn release(&mut self, permit: Permit) {
        if permit.epoch == self.epoch && self.state == State::HalfOpen {
            self.trials = self.trials.saturating_sub(1);
        }
    }

    fn record(&mut self, permit: Permit, now: Nanos, duration: Nanos, failed: bool) {
        if permit.epoch != self.epoch {
            return; // admitted before the last transition
        }
        let call = CallCounts::one(failed, duration > self.config.slow_call_duration);
        let config = self.config;
        match (self.state, &mut self.window) {
            (State::Closed, Window::Consecutive { failures, threshold }) => {
                *failures = if failed { *failures + 1 } else { 0 };
                if *failures >= *threshold {
                    self.transition(now, State::Open);
                }
            }
            (State::Closed, Window::Count { calls, total }) => {
                if let Some(evicted) = calls.push_overwrite(call) {
                    *total = *total - evicted;
                }
                *total = *total + call;
                let minimum = config.minimum_number_of_calls.min(calls.capacity() as u32);
                if total.exceeds(minimum as u64, &config) {
                    self.transition(now, State::Open);
                }
            }
            (State::Closed, Window::Time(slices)) => {
                slices.add(now, call);
                if slices.total(now).exceeds(config.minimum_number_of_calls as u64, &config) {
                    self.transition(now, State::Open);
                }
            }
            (State::HalfOpen, _) => {
                self.trial_counts = self.trial_counts + call;
                let permitted = config.permitted_calls_in_half_open as u64;
                if self.trial_counts.calls >= permitted {
                    let to = if self.trial_counts.exceeds(permitted, &config) { State::Open } else { State::Closed };
                    self.transition(now, to);
                }
            }
            (State::Open, _) => {}
        }
    }

    fn transition(&mut self, now: Nanos, to: State) {
        let from = self.state;
        if from == State::Open {
            self.open_time = self.open_time.saturating_add(now.saturating_sub(self.opened_at));
        }
        match to {
            State::Open => self.opened_at = now,
            State::HalfOpen => {
                self.trials = 0;
                self.trial_counts = CallCounts::default();
            }
            State::Closed => self.window = Window::new(self.config.trip),
        }
        self.state = to;
        self.epoch = self.epoch.wrapping_add(1);
        if self.log.push_overwrite(Transition { at: now, from, to }).is_some() {
            self.log_dropped += 1;
        }
    }

    /// The transitions since the last call, oldest first (the newest 32 are
    /// kept; see [`transitions_dropped`](Self::transitions_dropped)).
    pub fn take_transitions(&mut self) -> impl Iterator<Item = Transition> + '_ {
        std::iter::from_fn(move || self.log.pop_front())
    }

    /// Transitions lost because nobody took them in time.
    pub fn transitions_dropped(&self) -> u64 {
        self.log_dropped
    }

    /// Calls rejected (open, or half open with its trials taken).
    pub fn calls_rejected(&self) -> u64 {
        self.rejected
    }

    /// Time spent `Open` up to `now` (half-open time not included).
    pub fn time_open(&self, now: Nanos) -> Nanos {
        let current = if self.state == State::Open { now.saturating_sub(self.opened_at) } else { 0 };
        self.open_time.saturating_add(current)
    }

    /// Failures in a row, for [`Trip::ConsecutiveFailures`] while closed (else 0).
    pub fn consecutive_failures(&self) -> u32 {
        match (self.state, &self.window) {
            (State::Closed, Window::Consecutive { failures, .. }) => *failures,
            _ => 0,
        }
    }

    /// What the current state counts at `now`: the sliding window while
    /// closed (empty for [`Trip::ConsecutiveFailures`]), the completed
    /// trials while half open, nothing while open.
    pub fn counts(&self, now: Nanos) -> CallCounts {
        match (self.state, &self.window) {
            (State::Closed, Window::Count { total, .. }) => *total,
            (State::Closed, Window::Time(slices)) => slices.peek(now),
            (State::HalfOpen, _) => self.trial_counts,
            _ => CallCounts::default(),
        }
    }
}
