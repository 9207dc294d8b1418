//! Bounded mailboxes with an explicit overflow policy.

use std::collections::VecDeque;

use crate::envelope::Envelope;

/// What a full mailbox does with one more message.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum OverflowPolicy {
    /// Refuse the new message and bounce it to its sender (an ask fails
    /// with [`crate::Response::Undeliverable`]; a tell comes back to
    /// [`crate::Actor::on_undelivered`]).
    Reject,
    /// Drop the new message (counted).
    DropNewest,
    /// Drop the oldest queued message (counted) and queue the new one.
    DropOldest,
}

/// The outcome of offering a message to a mailbox.
#[derive(Debug)]
pub(crate) enum Offer<M> {
    Queued,
    /// Not queued: the message comes back to the caller.
    Refused(Envelope<M>),
    /// Queued, and the oldest message was evicted to make room.
    Evicted(Envelope<M>),
}

/// A FIFO of at most `capacity` envelopes. A mailbox that never held a
/// message allocates nothing and is one pointer wide, so idle actors cost
/// little and the actor table stays dense (a delivery touches fewer cache
/// lines).
#[derive(Debug)]
pub(crate) struct Mailbox<M> {
    // Boxed on purpose: one pointer in the slot instead of a 32-byte deque.
    #[allow(clippy::box_collection)]
    queue: Option<Box<VecDeque<Envelope<M>>>>,
}

impl<M> Mailbox<M> {
    pub(crate) fn new() -> Self {
        Mailbox { queue: None }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.queue.as_ref().map_or(0, |q| q.len())
    }

    pub(crate) fn offer(&mut self, envelope: Envelope<M>, capacity: u32, policy: OverflowPolicy) -> Offer<M> {
        let queue = self.queue.get_or_insert_default();
        if queue.len() < capacity as usize {
            queue.push_back(envelope);
            return Offer::Queued;
        }
        match policy {
            OverflowPolicy::Reject | OverflowPolicy::DropNewest => Offer::Refused(envelope),
            OverflowPolicy::DropOldest => match queue.pop_front() {
                Some(oldest) => {
                    queue.push_back(envelope);
                    Offer::Evicted(oldest)
                }
                // Capacity 0: nothing to evict, the new message goes.
                None => Offer::Refused(envelope),
            },
        }
    }

    /// Bytes this mailbox holds on the heap (its buffer's capacity).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.queue.as_ref().map_or(0, |q| size_of::<VecDeque<Envelope<M>>>() + q.capacity() * size_of::<Envelope<M>>())
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Envelope<M>> {
        self.queue.as_mut()?.pop_front()
    }

    /// Empty the mailbox, giving back its memory.
    pub(crate) fn take_all(&mut self) -> VecDeque<Envelope<M>> {
        self.queue.take().map(|q| *q).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Route;
    use crate::id::ActorId;

    fn env(n: u32) -> Envelope<u32> {
        Envelope { from: ActorId::EXTERNAL, route: Route::Tell, msg: n }
    }

    fn drain(m: &mut Mailbox<u32>) -> Vec<u32> {
        std::iter::from_fn(|| m.pop()).map(|e| e.msg).collect()
    }

    #[test]
    fn reject_and_drop_newest_keep_the_first_messages() {
        for policy in [OverflowPolicy::Reject, OverflowPolicy::DropNewest] {
            let mut m = Mailbox::new();
            for i in 0..5 {
                let offer = m.offer(env(i), 3, policy);
                assert_eq!(matches!(offer, Offer::Refused(_)), i >= 3);
            }
            assert_eq!(drain(&mut m), vec![0, 1, 2]);
        }
    }

    #[test]
    fn drop_oldest_keeps_the_last_messages() {
        let mut m = Mailbox::new();
        let mut evicted = vec![];
        for i in 0..5 {
            if let Offer::Evicted(e) = m.offer(env(i), 3, OverflowPolicy::DropOldest) {
                evicted.push(e.msg);
            }
        }
        assert_eq!(evicted, vec![0, 1]);
        assert_eq!(drain(&mut m), vec![2, 3, 4]);
    }

    #[test]
    fn capacity_zero_refuses_everything() {
        let mut m = Mailbox::new();
        assert!(matches!(m.offer(env(1), 0, OverflowPolicy::DropOldest), Offer::Refused(_)));
        assert_eq!(m.len(), 0);
    }
}
