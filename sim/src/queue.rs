//! The event queue, ordered by `(time, sequence number)`. The sequence
//! number is assigned at push, so events due at the same time run in the
//! order they were scheduled: a total order, the same on every run.
//!
//! Layout, for speed (this is the kernel's hottest structure): a 4-ary
//! min-heap of 16-byte keys, `time << 64 | seq << 24 | slot`, where `slot`
//! indexes a slab that holds the events themselves. Four children of a
//! node fill one 64-byte cache line, the heap is half as deep as a binary
//! one, and sifting moves 16-byte keys (into a hole, not by swaps) however
//! large the messages are. Freed slab slots are reused last-in first-out,
//! so a run in steady state allocates nothing and touches few lines.
//! The slot bits never decide an order: sequence numbers are unique.

use rehearsal_runtime::Nanos;

const SLOT_BITS: u32 = 24;
const SEQ_BITS: u32 = 64 - SLOT_BITS;
/// Events that may wait in the queue at once (the slab's address space).
pub const MAX_QUEUED: usize = 1 << SLOT_BITS;
/// Events that may be scheduled in one run.
pub const MAX_SCHEDULED: u64 = 1 << SEQ_BITS;
const ARITY: usize = 4;

/// Pending events, earliest first.
pub struct EventQueue<E> {
    /// The 4-ary min-heap of keys.
    heap: Vec<u128>,
    /// The events, at the slot their key names; `None` in a free slot.
    slab: Vec<Option<E>>,
    /// Free slots of `slab`, reused last-in first-out (the hottest first).
    free: Vec<u32>,
    next_seq: u64,
}

impl<E> std::fmt::Debug for EventQueue<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue").field("len", &self.heap.len()).field("next_seq", &self.next_seq).finish()
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<E> EventQueue<E> {
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue {
            heap: Vec::with_capacity(capacity),
            slab: Vec::with_capacity(capacity),
            free: Vec::new(),
            next_seq: 0,
        }
    }

    /// Whether the queue ran out of sequence numbers or slots; the kernel
    /// turns this into a named limit error. Ordering is exact until then.
    #[inline]
    pub fn is_exhausted(&self) -> bool {
        self.next_seq >= MAX_SCHEDULED || self.heap.len() >= MAX_QUEUED
    }

    #[inline(always)]
    pub fn push(&mut self, time: Nanos, event: E) {
        let seq = self.next_seq & (MAX_SCHEDULED - 1);
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slab[slot as usize] = Some(event);
                slot
            }
            None => {
                let slot = self.slab.len() as u32;
                self.slab.push(Some(event));
                slot
            }
        };
        let key = ((time as u128) << 64) | ((seq as u128) << SLOT_BITS) | (slot as u128 & ((1 << SLOT_BITS) - 1));
        self.heap.push(key);
        self.sift_up(self.heap.len() - 1, key);
    }

    /// Time of the earliest event.
    #[inline]
    pub fn peek_time(&self) -> Option<Nanos> {
        self.heap.first().map(|&k| (k >> 64) as Nanos)
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(Nanos, E)> {
        self.pop_with_seq().map(|(time, _, event)| (time, event))
    }

    /// The earliest event with its time and sequence number.
    #[inline]
    pub fn pop_with_seq(&mut self) -> Option<(Nanos, u64, E)> {
        let last = self.heap.pop()?;
        let top = if self.heap.is_empty() { last } else { self.sift_down_from_root(last) };
        let slot = (top as u32) & ((1 << SLOT_BITS) - 1);
        let event = self.slab[slot as usize].take().expect("a queued key names a full slot");
        self.free.push(slot);
        let seq = ((top >> SLOT_BITS) as u64) & (MAX_SCHEDULED - 1);
        Some(((top >> 64) as Nanos, seq, event))
    }

    /// The sequence number the next push gets (what [`EventQueue::pop_with_seq`]
    /// returns with that event).
    #[inline]
    pub fn next_seq(&self) -> u64 {
        self.next_seq & (MAX_SCHEDULED - 1)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Bytes the queue holds (its buffers' capacities).
    pub fn memory_bytes(&self) -> usize {
        size_of::<Self>()
            + self.heap.capacity() * size_of::<u128>()
            + self.slab.capacity() * size_of::<Option<E>>()
            + self.free.capacity() * size_of::<u32>()
    }

    /// Move `key`, just placed at `i`, up to its place.
    #[inline]
    fn sift_up(&mut self, mut i: usize, key: u128) {
        while i > 0 {
            let parent = (i - 1) / ARITY;
            let p = self.heap[parent];
            if p <= key {
                break;
            }
            self.heap[i] = p;
            i = parent;
        }
        self.heap[i] = key;
    }

    /// Put `key` at the root, move it to its place, and return the old
    /// root. Keys are unique, so the order of pops does not depend on how
    /// the heap arranges them.
    #[inline]
    fn sift_down_from_root(&mut self, key: u128) -> u128 {
        let top = self.heap[0];
        let n = self.heap.len();
        let mut i = 0;
        loop {
            let first = i * ARITY + 1;
            if first >= n {
                break;
            }
            let end = (first + ARITY).min(n);
            let mut best = first;
            let mut best_key = self.heap[first];
            for c in first + 1..end {
                let k = self.heap[c];
                if k < best_key {
                    best = c;
                    best_key = k;
                }
            }
            // Bottom-up (as std's `BinaryHeap::pop`): the last key is
            // usually among the latest, so move the hole all the way down
            // without comparing against it, then sift it up.
            self.heap[i] = best_key;
            i = best;
        }
        self.sift_up(i, key);
        top
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pops_in_time_then_insertion_order(ops in proptest::collection::vec((0u64..20, any::<bool>()), 0..300)) {
            // Interleave pushes and pops; compare with a sorted model.
            let mut q = EventQueue::default();
            let mut model: Vec<(u64, usize)> = Vec::new();
            for (i, &(t, pop)) in ops.iter().enumerate() {
                if pop {
                    model.sort();
                    let want = if model.is_empty() { None } else { Some(model.remove(0)) };
                    prop_assert_eq!(q.pop(), want);
                } else {
                    q.push(t, i);
                    model.push((t, i));
                }
            }
            model.sort();
            let rest: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
            prop_assert_eq!(rest, model);
        }
    }

    #[test]
    fn an_event_pops_with_the_sequence_number_it_was_pushed_with() {
        let mut q = EventQueue::default();
        let mut pushed = Vec::new();
        for (i, t) in [30u64, 10, 20, 10].into_iter().enumerate() {
            pushed.push((t, q.next_seq(), i));
            q.push(t, i);
        }
        pushed.sort();
        let popped: Vec<_> = std::iter::from_fn(|| q.pop_with_seq()).collect();
        assert_eq!(popped, pushed);
    }
}
