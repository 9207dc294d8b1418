//! Allocation of actor slots, timer ids and request ids.
//!
//! Kept apart from the actor table so that a handler holding `&mut` to its
//! own actor can still reserve a child's id.

use crate::id::{ActorId, RequestId, TimerId};

#[derive(Debug, Default)]
pub(crate) struct Ids {
    /// Generation of every slot; a slot's generation is bumped when its
    /// actor stops, so old addresses never match a new occupant.
    pub(crate) generations: Vec<u32>,
    /// Free slot indices, reused last-in first-out (deterministic).
    pub(crate) free: Vec<u32>,
    next_timer: u64,
    next_request: u64,
}

impl Ids {
    pub(crate) fn reserve_actor(&mut self) -> ActorId {
        match self.free.pop() {
            Some(index) => ActorId::new(index, self.generations[index as usize]),
            None => {
                let index = self.generations.len() as u32;
                self.generations.push(0);
                ActorId::new(index, 0)
            }
        }
    }

    pub(crate) fn release_actor(&mut self, id: ActorId) {
        let g = &mut self.generations[id.index() as usize];
        *g = g.wrapping_add(1);
        self.free.push(id.index());
    }

    #[inline]
    pub(crate) fn next_timer(&mut self) -> TimerId {
        self.next_timer += 1;
        TimerId(self.next_timer)
    }

    #[inline]
    pub(crate) fn next_request(&mut self) -> RequestId {
        self.next_request += 1;
        RequestId(self.next_request)
    }
}
