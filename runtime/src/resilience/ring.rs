//! A fixed-capacity ring buffer: allocated once, never grown, so sliding
//! windows, wait queues and logs cost no allocation after construction.

/// A FIFO of at most `capacity` values in a buffer allocated once.
#[derive(Clone, Debug)]
pub(crate) struct Ring<T> {
    slots: Box<[Option<T>]>,
    /// Index of the oldest value.
    head: usize,
    len: usize,
}

impl<T: Copy> Ring<T> {
    /// An empty ring holding at most `capacity` values.
    pub(crate) fn with_capacity(capacity: usize) -> Ring<T> {
        Ring { slots: vec![None; capacity].into_boxed_slice(), head: 0, len: 0 }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == self.slots.len()
    }

    fn slot(&self, i: usize) -> usize {
        (self.head + i) % self.slots.len()
    }

    /// Appends `value`, or hands it back when the ring is full.
    pub(crate) fn push_back(&mut self, value: T) -> Result<(), T> {
        if self.is_full() {
            return Err(value);
        }
        let i = self.slot(self.len);
        self.slots[i] = Some(value);
        self.len += 1;
        Ok(())
    }

    /// Appends `value`, evicting (and returning) the oldest when full. A
    /// ring of capacity 0 returns `value` itself.
    pub(crate) fn push_overwrite(&mut self, value: T) -> Option<T> {
        if self.slots.is_empty() {
            return Some(value);
        }
        let evicted = if self.is_full() { self.pop_front() } else { None };
        let _ = self.push_back(value);
        evicted
    }

    /// Removes and returns the oldest value.
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let value = self.slots[self.head].take();
        self.head = (self.head + 1) % self.slots.len();
        self.len -= 1;
        value
    }

    /// The `i`-th oldest value.
    pub(crate) fn get(&self, i: usize) -> Option<T> {
        if i < self.len { self.slots[self.slot(i)] } else { None }
    }

    /// Removes the oldest value matching `pred`, keeping the others in order
    /// (O(len)).
    pub(crate) fn remove_first(&mut self, mut pred: impl FnMut(&T) -> bool) -> Option<T> {
        let found = (0..self.len).find(|&i| self.get(i).is_some_and(|v| pred(&v)))?;
        let removed = self.get(found);
        for i in found..self.len - 1 {
            let (to, from) = (self.slot(i), self.slot(i + 1));
            self.slots[to] = self.slots[from];
        }
        let last = self.slot(self.len - 1);
        self.slots[last] = None;
        self.len -= 1;
        removed
    }

    /// The values, oldest first.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = T> + '_ {
        (0..self.len).filter_map(|i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_bounded_overwrite_and_removal() {
        let mut r = Ring::with_capacity(3);
        assert_eq!(r.capacity(), 3);
        assert!(r.is_empty());
        for v in 1..=3 {
            r.push_back(v).unwrap();
        }
        assert!(r.is_full());
        assert_eq!(r.push_back(4), Err(4));
        assert_eq!(r.push_overwrite(4), Some(1));
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![2, 3, 4]);
        assert_eq!(r.remove_first(|&v| v == 3), Some(3));
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![2, 4]);
        assert_eq!(r.remove_first(|&v| v == 9), None);
        r.push_back(5).unwrap();
        assert_eq!((r.pop_front(), r.pop_front(), r.pop_front(), r.pop_front()), (Some(2), Some(4), Some(5), None));
        let mut empty: Ring<u8> = Ring::with_capacity(0);
        assert_eq!(empty.push_overwrite(7), Some(7));
        assert_eq!(r.len(), 0);
    }
}
