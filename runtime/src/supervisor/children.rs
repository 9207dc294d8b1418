//! The children a supervisor has: in start order, and found by id and by
//! address in O(1), so that a supervisor of a million children starts
//! them, handles an exit and restarts one without scanning the others.
//!
//! Children live in a `Vec` of slots in start order. Removing one (a
//! temporary child that ended, a `simple_one_for_one` child that is not
//! restarted, one the decider stopped) leaves a hole; once holes outnumber
//! the children (and there are more than [`MIN_HOLES`]), the slots are
//! compacted in order and the indexes of the moved children updated. Each
//! removal thus costs O(1) amortized, and the slots never take more than
//! about twice the room of the children.
//!
//! The two maps are for lookup only (never iterated), so their order does
//! not matter; everything iterated (start order, shutdown order, stats)
//! comes from the slots.

use rustc_hash::FxHashMap;

use crate::id::{ActorId, Nanos, TimerId};

/// Holes tolerated whatever the number of children, so that a small
/// supervisor whose children come and go does not compact at every removal.
pub(super) const MIN_HOLES: usize = 32;

#[derive(Debug)]
pub(super) struct Child {
    pub(super) id: u64,
    /// Index of its spec in `SupervisorSpec::children`.
    pub(super) spec: u32,
    /// Its current address while it runs; changed only through
    /// [`Children::set_actor`], which keeps the index by address.
    actor: Option<ActorId>,
    pub(super) incarnation: u32,
    /// Restarts of this child (Ray `max_restarts` counts these).
    pub(super) restarts: u32,
    /// A cap was reached: never restarted again.
    pub(super) gave_up: bool,
    pub(super) started_at: Nanos,
    pub(super) down_since: Option<Nanos>,
    pub(super) downtime: Nanos,
    /// Consecutive restarts, for the backoff delay.
    pub(super) backoff_count: u32,
    pub(super) backoff_timer: Option<TimerId>,
}

impl Child {
    /// Child `id` of spec `spec`, not started yet.
    pub(super) fn new(id: u64, spec: usize) -> Self {
        Child {
            id,
            spec: u32::try_from(spec).expect("at most u32::MAX child specs"),
            actor: None,
            incarnation: 0,
            restarts: 0,
            gave_up: false,
            started_at: 0,
            down_since: None,
            downtime: 0,
            backoff_count: 0,
            backoff_timer: None,
        }
    }

    /// Its address, if it is running.
    pub(super) fn actor(&self) -> Option<ActorId> {
        self.actor
    }
}

/// The children, in start order (see the module documentation).
#[derive(Debug, Default)]
pub(super) struct Children {
    /// Start order; `None`: a removed child, until the next compaction.
    slots: Vec<Option<Child>>,
    /// Children in `slots` (slots that are not holes).
    live: usize,
    /// Child id -> slot.
    by_id: FxHashMap<u64, u32>,
    /// Address of a running child -> slot.
    by_actor: FxHashMap<ActorId, u32>,
}

impl Children {
    /// Make room for `n` more children.
    pub(super) fn reserve(&mut self, n: usize) {
        self.slots.reserve(n);
        self.by_id.reserve(n);
    }

    /// How many children there are.
    pub(super) fn len(&self) -> usize {
        self.live
    }

    /// Add `child` after the others (it starts last). Its id must be new.
    pub(super) fn push(&mut self, child: Child) {
        let slot = u32::try_from(self.slots.len()).expect("at most u32::MAX children");
        let previous = self.by_id.insert(child.id, slot);
        debug_assert!(previous.is_none(), "child {} added twice", child.id);
        if let Some(actor) = child.actor {
            self.by_actor.insert(actor, slot);
        }
        self.slots.push(Some(child));
        self.live += 1;
    }

    /// The slot of child `id`.
    pub(super) fn index_of(&self, id: u64) -> Option<usize> {
        self.by_id.get(&id).map(|&slot| slot as usize)
    }

    /// The slot of the child running at `actor` (not one of its earlier
    /// incarnations).
    pub(super) fn index_of_actor(&self, actor: ActorId) -> Option<usize> {
        self.by_actor.get(&actor).map(|&slot| slot as usize)
    }

    /// Whether there is a child `id`.
    pub(super) fn contains(&self, id: u64) -> bool {
        self.by_id.contains_key(&id)
    }

    /// Child `id`.
    pub(super) fn get(&self, id: u64) -> Option<&Child> {
        self.index_of(id).map(|slot| self.at(slot))
    }

    /// The child in slot `slot` (from [`Children::index_of`] or
    /// [`Children::index_of_actor`], with no removal since).
    pub(super) fn at(&self, slot: usize) -> &Child {
        self.slots[slot].as_ref().expect("a child's slot")
    }

    /// The child in slot `slot`, to change (but its address: see
    /// [`Children::set_actor`]).
    pub(super) fn at_mut(&mut self, slot: usize) -> &mut Child {
        self.slots[slot].as_mut().expect("a child's slot")
    }

    /// The child in slot `slot` now runs at `actor` (`None`: it ended).
    pub(super) fn set_actor(&mut self, slot: usize, actor: Option<ActorId>) {
        let child = self.slots[slot].as_mut().expect("a child's slot");
        if let Some(old) = std::mem::replace(&mut child.actor, actor) {
            self.by_actor.remove(&old);
        }
        if let Some(new) = actor {
            self.by_actor.insert(new, slot as u32);
        }
    }

    /// Remove child `id` (nothing if there is none). Slots taken from
    /// [`Children::index_of`] before are no longer valid.
    pub(super) fn remove(&mut self, id: u64) {
        let Some(slot) = self.by_id.remove(&id) else { return };
        let child = self.slots[slot as usize].take().expect("a child's slot");
        if let Some(actor) = child.actor {
            self.by_actor.remove(&actor);
        }
        self.live -= 1;
        let holes = self.slots.len() - self.live;
        if holes > self.live.max(MIN_HOLES) {
            self.compact();
        }
    }

    /// Close the holes, keeping start order, and re-index the children.
    fn compact(&mut self) {
        self.slots.retain(Option::is_some);
        for (slot, child) in self.slots.iter().enumerate() {
            let child = child.as_ref().expect("no holes after retain");
            let slot = slot as u32;
            *self.by_id.get_mut(&child.id).expect("every child is indexed by id") = slot;
            if let Some(actor) = child.actor {
                *self.by_actor.get_mut(&actor).expect("every running child is indexed by address") = slot;
            }
        }
    }

    /// The children in start order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Child> + '_ {
        self.slots.iter().flatten()
    }

    /// The children in start order from slot `slot` on (the child there
    /// and those started after it).
    pub(super) fn iter_from(&self, slot: usize) -> impl Iterator<Item = &Child> + '_ {
        self.slots[slot..].iter().flatten()
    }

    /// The children in start order, to change (but their addresses).
    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Child> + '_ {
        self.slots.iter_mut().flatten()
    }

    /// The child, when there is exactly one.
    pub(super) fn only(&self) -> Option<&Child> {
        // With one child there are at most `MIN_HOLES` holes to skip.
        if self.live == 1 { self.iter().next() } else { None }
    }

    /// Slots in use, holes included (for tests of the compaction).
    #[cfg(test)]
    fn slots(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(n: u32) -> ActorId {
        ActorId::new(n, 0)
    }

    /// Children `ids`, child `i` running at `actor(i)`.
    fn table(ids: impl IntoIterator<Item = u64>) -> Children {
        let mut t = Children::default();
        for (i, id) in ids.into_iter().enumerate() {
            t.push(Child::new(id, i));
            let slot = t.index_of(id).unwrap();
            t.set_actor(slot, Some(actor(i as u32)));
        }
        t
    }

    fn ids(t: &Children) -> Vec<u64> {
        t.iter().map(|c| c.id).collect()
    }

    /// Every child is found by id and, if running, by address, at the
    /// slot it has in start order.
    fn check(t: &Children) {
        let mut n = 0;
        for (slot, c) in t.slots.iter().enumerate() {
            let Some(c) = c else { continue };
            n += 1;
            assert_eq!(t.index_of(c.id), Some(slot));
            if let Some(a) = c.actor() {
                assert_eq!(t.index_of_actor(a), Some(slot));
            }
        }
        assert_eq!(n, t.len());
        assert_eq!(t.by_id.len(), n);
        assert_eq!(t.by_actor.len(), t.iter().filter(|c| c.actor().is_some()).count());
    }

    #[test]
    fn lookups_by_id_and_by_address_follow_restarts() {
        let mut t = table([7, 3, 9]);
        check(&t);
        assert_eq!(ids(&t), vec![7, 3, 9]);
        let slot = t.index_of_actor(actor(1)).unwrap();
        assert_eq!(t.at(slot).id, 3);
        // It ends: its old address no longer finds it; it restarts elsewhere.
        t.set_actor(slot, None);
        assert_eq!(t.index_of_actor(actor(1)), None);
        t.set_actor(slot, Some(actor(42)));
        assert_eq!(t.index_of_actor(actor(42)), Some(slot));
        assert_eq!(t.get(3).and_then(Child::actor), Some(actor(42)));
        assert!(t.contains(9) && !t.contains(4));
        check(&t);
    }

    #[test]
    fn removals_keep_start_order_and_compaction_keeps_every_lookup() {
        let n = 1_000u64;
        let mut t = table(0..n);
        // Remove two children in three: holes pile up, compactions happen.
        let mut expected: Vec<u64> = (0..n).collect();
        for id in (0..n).filter(|id| id % 3 != 1) {
            let slot = t.index_of(id).unwrap();
            t.set_actor(slot, None);
            t.remove(id);
            expected.retain(|&e| e != id);
            assert_eq!(t.get(id).map(|c| c.id), None);
            check(&t);
        }
        assert_eq!(ids(&t), expected);
        assert!(t.slots() <= 2 * t.len() + MIN_HOLES, "{} slots for {} children", t.slots(), t.len());
        // `iter_from` starts at a slot found after the compactions.
        let from = t.index_of(301).unwrap();
        let later: Vec<u64> = t.iter_from(from).map(|c| c.id).collect();
        assert_eq!(later, expected.iter().copied().filter(|&id| id >= 301).collect::<Vec<_>>());
        // A removed id may come back (simple_one_for_one), last.
        t.push(Child::new(0, 0));
        assert_eq!(ids(&t).last(), Some(&0));
        check(&t);
    }

    #[test]
    fn a_child_removed_while_running_leaves_no_address_behind() {
        let mut t = table([1, 2]);
        t.remove(1);
        assert_eq!(t.index_of_actor(actor(0)), None);
        assert_eq!(t.only().map(|c| c.id), Some(2));
        t.remove(2);
        t.remove(2);
        assert!(t.only().is_none());
        assert_eq!(t.len(), 0);
        check(&t);
    }

    #[test]
    fn only_is_the_single_child_whatever_the_holes_before_it() {
        let mut t = table(0..MIN_HOLES as u64 + 1);
        for id in 0..MIN_HOLES as u64 {
            t.remove(id);
            check(&t);
        }
        assert_eq!(t.only().map(|c| c.id), Some(MIN_HOLES as u64));
        t.push(Child::new(100, 0));
        assert!(t.only().is_none());
    }
}
