//! Deadlines: a request's absolute end time, propagated downstream as the
//! time remaining (as gRPC sends `grpc-timeout`), so a service does not
//! work on a request its caller has given up on. Each hop's timeout is its
//! own timeout cut to what remains.

use crate::id::Nanos;

/// The time by which a request must be answered.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Deadline {
    at: Nanos,
}

impl Deadline {
    /// No deadline.
    pub const NONE: Deadline = Deadline { at: Nanos::MAX };

    /// A deadline at the absolute time `at`.
    pub const fn at(at: Nanos) -> Deadline {
        Deadline { at }
    }

    /// A deadline `timeout` after `now` (also how a service turns the
    /// remaining time it received into its own deadline).
    pub const fn after(now: Nanos, timeout: Nanos) -> Deadline {
        Deadline { at: now.saturating_add(timeout) }
    }

    /// The absolute time.
    pub const fn instant(self) -> Nanos {
        self.at
    }

    /// Time left at `now` (0 once expired): what to send downstream.
    pub const fn remaining(self, now: Nanos) -> Nanos {
        self.at.saturating_sub(now)
    }

    /// Whether the deadline has passed at `now` (at `at` it has).
    pub const fn expired(self, now: Nanos) -> bool {
        now >= self.at
    }

    /// The timeout of a call made at `now` with its own `own_timeout`:
    /// `min(own_timeout, remaining)`.
    pub const fn child_timeout(self, now: Nanos, own_timeout: Nanos) -> Nanos {
        let remaining = self.remaining(now);
        if own_timeout < remaining { own_timeout } else { remaining }
    }

    /// The deadline of that call: the earlier of this one and `now + own_timeout`.
    pub const fn child(self, now: Nanos, own_timeout: Nanos) -> Deadline {
        Deadline::after(now, self.child_timeout(now, own_timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_time_cuts_each_hop() {
        // A client allows 1 000 ns; the gateway calls at 300 with its own 500.
        let d = Deadline::after(0, 1_000);
        assert_eq!((d.remaining(300), d.child_timeout(300, 500)), (700, 500));
        // At 800 only 200 remain, and a downstream service rebuilds the deadline.
        assert_eq!(d.child_timeout(800, 500), 200);
        let downstream = Deadline::after(800, d.remaining(800));
        assert_eq!(downstream, d);
        assert_eq!(d.child(800, 500), d);
        assert_eq!(d.child(100, 50).instant(), 150);
        assert!(!d.expired(999) && d.expired(1_000));
        assert_eq!(d.remaining(5_000), 0);
        assert_eq!(Deadline::NONE.child_timeout(7, 42), 42);
        assert!(!Deadline::NONE.expired(Nanos::MAX - 1));
        assert_eq!(Deadline::at(5).instant(), 5);
    }
}
