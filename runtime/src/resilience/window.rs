//! Sliding windows over time passed in: a fixed number of slices, each
//! holding a partial sum, reused in a ring as time moves on (resilience4j's
//! `SlidingTimeWindowMetrics`, Finagle's `WindowedAdder`). A value recorded
//! at `t` is counted while `t`'s slice is one of the `n` newest: the window
//! spans between `(n - 1) * slice` and `n * slice` of history.

use std::ops::{Add, Sub};

use crate::id::Nanos;

/// Partial sums over `n` slices of `slice` nanoseconds each.
#[derive(Clone, Debug)]
pub(crate) struct Slices<C> {
    slice: Nanos,
    /// Slot `e % n` holds the sum of slice number `e`.
    sums: Box<[C]>,
    /// The newest slice number seen.
    latest: u64,
    /// The sum over the window, kept as slices are added and expire.
    total: C,
}

impl<C: Copy + Default + Add<Output = C> + Sub<Output = C>> Slices<C> {
    /// A window of `n` slices (at least 1) of `slice` nanoseconds (at least 1).
    pub(crate) fn new(n: usize, slice: Nanos) -> Slices<C> {
        Slices {
            slice: slice.max(1),
            sums: vec![C::default(); n.max(1)].into_boxed_slice(),
            latest: 0,
            total: C::default(),
        }
    }

    /// The slice number of time `now`.
    pub(crate) fn slice_of(&self, now: Nanos) -> u64 {
        now / self.slice
    }

    /// Expires the slices that left the window by `now`. Time that goes
    /// backwards is taken as the newest time seen.
    fn advance(&mut self, now: Nanos) {
        let epoch = self.slice_of(now);
        if epoch <= self.latest {
            return;
        }
        let n = self.sums.len() as u64;
        if epoch - self.latest >= n {
            self.sums.iter_mut().for_each(|s| *s = C::default());
            self.total = C::default();
        } else {
            for e in self.latest + 1..=epoch {
                let slot = &mut self.sums[(e % n) as usize];
                self.total = self.total - *slot;
                *slot = C::default();
            }
        }
        self.latest = epoch;
    }

    /// Adds `value` at `now`.
    pub(crate) fn add(&mut self, now: Nanos, value: C) {
        self.advance(now);
        let slot = (self.latest % self.sums.len() as u64) as usize;
        self.sums[slot] = self.sums[slot] + value;
        self.total = self.total + value;
    }

    /// The sum over the window at `now`.
    pub(crate) fn total(&mut self, now: Nanos) -> C {
        self.advance(now);
        self.total
    }

    /// The sum over the window at `now`, without moving the window (O(n)).
    pub(crate) fn peek(&self, now: Nanos) -> C {
        let epoch = self.slice_of(now).max(self.latest);
        let n = self.sums.len() as u64;
        // Slices still in the window at `epoch`: latest - k for k < n - (epoch - latest).
        let keep = n.saturating_sub(epoch - self.latest);
        (0..keep.min(self.latest + 1))
            .map(|k| self.sums[((self.latest - k) % n) as usize])
            .fold(C::default(), |acc, s| acc + s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expire_slice_by_slice() {
        // 3 slices of 10 ns: a value at t counts until t's slice is 3 old.
        let mut w: Slices<i64> = Slices::new(3, 10);
        w.add(0, 1);
        w.add(15, 10);
        w.add(29, 100);
        assert_eq!(w.total(29), 111);
        assert_eq!(w.peek(30), 110); // slice 0 left at t = 30
        assert_eq!(w.total(30), 110);
        assert_eq!(w.total(49), 100);
        assert_eq!(w.peek(50), 0);
        w.add(200, 5); // a jump past the whole window clears it
        assert_eq!(w.total(200), 5);
        w.add(150, 1); // time going back counts in the newest slice
        assert_eq!(w.total(209), 6);
        assert_eq!(w.slice_of(209), 20);
    }
}
