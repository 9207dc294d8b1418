//! What a closed breaker records: counts of calls, failures and slow calls,
//! and the window they are kept in.

use std::ops::{Add, Sub};

use crate::resilience::ring::Ring;
use crate::resilience::window::Slices;

use super::{BreakerConfig, SECOND, Trip};

/// Calls, failures and slow calls in a window.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CallCounts {
    /// Calls recorded.
    pub calls: u64,
    /// Of which failed.
    pub failures: u64,
    /// Of which slow (failed or not).
    pub slow: u64,
}

impl CallCounts {
    pub(super) fn one(failed: bool, slow: bool) -> CallCounts {
        CallCounts { calls: 1, failures: failed as u64, slow: slow as u64 }
    }

    /// Whether there are at least `minimum` calls and a rate reaches its
    /// threshold (integer percent, compared without division).
    pub(super) fn exceeds(self, minimum: u64, config: &BreakerConfig) -> bool {
        self.calls > 0
            && self.calls >= minimum
            && (self.failures * 100 >= config.failure_rate_threshold as u64 * self.calls
                || self.slow * 100 >= config.slow_call_rate_threshold as u64 * self.calls)
    }
}

impl Add for CallCounts {
    type Output = CallCounts;
    fn add(self, o: CallCounts) -> CallCounts {
        CallCounts { calls: self.calls + o.calls, failures: self.failures + o.failures, slow: self.slow + o.slow }
    }
}

impl Sub for CallCounts {
    type Output = CallCounts;
    fn sub(self, o: CallCounts) -> CallCounts {
        CallCounts { calls: self.calls - o.calls, failures: self.failures - o.failures, slow: self.slow - o.slow }
    }
}

/// The closed state's record of outcomes.
#[derive(Clone, Debug)]
pub(super) enum Window {
    Consecutive { failures: u32, threshold: u32 },
    Count { calls: Ring<CallCounts>, total: CallCounts },
    Time(Slices<CallCounts>),
}

impl Window {
    pub(super) fn new(trip: Trip) -> Window {
        match trip {
            Trip::ConsecutiveFailures { threshold } => Window::Consecutive { failures: 0, threshold },
            Trip::CountBased { size } => {
                Window::Count { calls: Ring::with_capacity(size as usize), total: CallCounts::default() }
            }
            Trip::TimeBased { seconds } => Window::Time(Slices::new(seconds as usize, SECOND)),
        }
    }
}
