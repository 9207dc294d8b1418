//! A bulkhead: at most `max_concurrent` calls in flight, and at most
//! `max_queue` waiting for a slot, first come first served; more are
//! rejected. The queue is a ring allocated once.

use super::ring::Ring;

/// What [`Bulkhead::try_enter`] decided.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Enter {
    /// A slot is taken: go.
    Now,
    /// Queued: [`Bulkhead::leave`] hands the slot over later.
    Queued,
    /// Slots and queue are full.
    Rejected,
}

/// A bulkhead over callers of type `T` (a request id, an actor id).
#[derive(Clone, Debug)]
pub struct Bulkhead<T> {
    max_concurrent: u32,
    active: u32,
    queue: Ring<T>,
    rejected: u64,
}

impl<T: Copy + PartialEq> Bulkhead<T> {
    /// A bulkhead of `max_concurrent` slots and a queue of `max_queue`.
    pub fn new(max_concurrent: u32, max_queue: u32) -> Bulkhead<T> {
        Bulkhead { max_concurrent, active: 0, queue: Ring::with_capacity(max_queue as usize), rejected: 0 }
    }

    /// `who` asks for a slot. Nobody jumps the queue: while callers wait, a
    /// newcomer queues even if a slot looks free.
    pub fn try_enter(&mut self, who: T) -> Enter {
        if self.active < self.max_concurrent && self.queue.is_empty() {
            self.active += 1;
            Enter::Now
        } else if self.queue.push_back(who).is_ok() {
            Enter::Queued
        } else {
            self.rejected += 1;
            Enter::Rejected
        }
    }

    /// A call ended: its slot goes to the oldest waiter (returned: it may
    /// go now), or is freed.
    pub fn leave(&mut self) -> Option<T> {
        let next = self.queue.pop_front();
        if next.is_none() {
            self.active = self.active.saturating_sub(1);
        }
        next
    }

    /// A waiter gave up: it leaves the queue (false if it was not queued).
    pub fn cancel(&mut self, who: T) -> bool {
        self.queue.remove_first(|w| *w == who).is_some()
    }

    /// Calls in flight.
    pub fn active(&self) -> u32 {
        self.active
    }

    /// Callers waiting.
    pub fn queued(&self) -> u32 {
        self.queue.len() as u32
    }

    /// Callers rejected so far.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_then_fifo_queue_then_rejection() {
        let mut b = Bulkhead::new(2, 2);
        assert_eq!(
            [1, 2, 3, 4, 5].map(|w| b.try_enter(w)),
            [Enter::Now, Enter::Now, Enter::Queued, Enter::Queued, Enter::Rejected]
        );
        assert_eq!((b.active(), b.queued(), b.rejected()), (2, 2, 1));
        assert_eq!(b.leave(), Some(3));
        assert!(b.cancel(4) && !b.cancel(4));
        assert_eq!(b.leave(), None);
        assert_eq!((b.active(), b.queued()), (1, 0));
        assert_eq!(b.try_enter(6), Enter::Now);
        assert_eq!((b.leave(), b.leave(), b.leave(), b.active()), (None, None, None, 0));
    }

    #[test]
    fn no_queue_means_reject_when_full() {
        let mut b = Bulkhead::new(1, 0);
        assert_eq!((b.try_enter('a'), b.try_enter('b')), (Enter::Now, Enter::Rejected));
    }
}
