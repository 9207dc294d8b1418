//! Calls to actors that may die mid-call, with Ray's `max_task_retries`
//! semantics: when the callee dies while calls to it are in flight, each
//! of those calls is either retried elsewhere (at-least-once: the callee
//! may have done the work before it died) or given up (at-most-once, with
//! `max_task_retries = 0`).
//!
//! [`Tasks`] keeps the calls in flight and watches every callee it sends
//! to; the owner feeds it [`crate::Signal::Down`] and its responses, and re-sends
//! the calls it says to retry (the owner holds the payload, keyed by `K`).

use std::collections::{BTreeMap, BTreeSet};

use crate::actor::Actor;
use crate::ctx::Ctx;
use crate::id::{ActorId, Nanos, RequestId};
use crate::lifecycle::ExitReason;

/// One call in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task<K> {
    /// The owner's key for the work (e.g. a request id).
    pub key: K,
    pub callee: ActorId,
    /// Attempts so far, this one included (1 for the first).
    pub attempt: u32,
}

/// What to do with a call whose callee died.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Orphaned<K> {
    /// Send it again (to a live callee): attempts left.
    Retry(Task<K>),
    /// `max_task_retries` used up: fail it.
    GiveUp(Task<K>),
}

/// Calls in flight to actors that may die.
#[derive(Clone, Debug)]
pub struct Tasks<K> {
    /// Ray's `max_task_retries`: re-sends after the callee died (0 =
    /// at-most-once; above 0 = at-least-once).
    pub max_task_retries: u32,
    in_flight: BTreeMap<RequestId, Task<K>>,
    watched: BTreeSet<ActorId>,
    /// Calls that were in flight when their callee died.
    pub orphaned: u64,
    /// Of those, re-sent.
    pub retried: u64,
}

impl<K: Clone> Tasks<K> {
    pub fn new(max_task_retries: u32) -> Self {
        Tasks { max_task_retries, in_flight: BTreeMap::new(), watched: BTreeSet::new(), orphaned: 0, retried: 0 }
    }

    /// Ask `callee` (watching it, so its death is noticed) and remember the call.
    pub fn ask<A: Actor>(
        &mut self,
        ctx: &mut Ctx<'_, A>,
        callee: ActorId,
        msg: A::Msg,
        timeout: Nanos,
        key: K,
        attempt: u32,
    ) -> RequestId {
        if self.watched.insert(callee) {
            ctx.watch(callee);
        }
        let request = ctx.ask(callee, msg, timeout);
        self.in_flight.insert(request, Task { key, callee, attempt });
        request
    }

    /// A response (reply or timeout) to `request` arrived: the call is over.
    /// `None` if it was not in flight any more (already orphaned).
    pub fn settle(&mut self, request: RequestId) -> Option<Task<K>> {
        self.in_flight.remove(&request)
    }

    /// `actor` died: every call in flight to it, in the order they were
    /// made, with what to do about it.
    pub fn on_down(&mut self, actor: ActorId, _reason: ExitReason) -> Vec<Orphaned<K>> {
        self.watched.remove(&actor);
        let dead: Vec<RequestId> = self.in_flight.iter().filter(|(_, t)| t.callee == actor).map(|(&r, _)| r).collect();
        dead.into_iter()
            .filter_map(|r| self.in_flight.remove(&r))
            .map(|task| {
                self.orphaned += 1;
                if task.attempt <= self.max_task_retries {
                    self.retried += 1;
                    Orphaned::Retry(Task { attempt: task.attempt + 1, ..task })
                } else {
                    Orphaned::GiveUp(task)
                }
            })
            .collect()
    }

    /// Calls in flight now.
    pub fn len(&self) -> usize {
        self.in_flight.len()
    }

    pub fn is_empty(&self) -> bool {
        self.in_flight.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(key: u32, attempt: u32) -> Task<u32> {
        Task { key, callee: ActorId::EXTERNAL, attempt }
    }

    #[test]
    fn zero_retries_is_at_most_once_and_more_is_at_least_once() {
        let mut t: Tasks<u32> = Tasks::new(0);
        t.in_flight.insert(RequestId(1), task(7, 1));
        assert_eq!(t.on_down(ActorId::EXTERNAL, ExitReason::NodeDown), vec![Orphaned::GiveUp(task(7, 1))]);
        let mut t: Tasks<u32> = Tasks::new(2);
        t.in_flight.insert(RequestId(1), task(7, 1));
        t.in_flight.insert(RequestId(2), task(8, 3));
        let got = t.on_down(ActorId::EXTERNAL, ExitReason::NodeDown);
        assert_eq!(got, vec![Orphaned::Retry(task(7, 2)), Orphaned::GiveUp(task(8, 3))]);
        assert_eq!((t.orphaned, t.retried), (2, 1));
        assert!(t.is_empty());
    }

    #[test]
    fn a_settled_call_is_not_orphaned() {
        let mut t: Tasks<u32> = Tasks::new(1);
        t.in_flight.insert(RequestId(1), task(7, 1));
        assert_eq!(t.settle(RequestId(1)), Some(task(7, 1)));
        assert!(t.on_down(ActorId::EXTERNAL, ExitReason::Killed).is_empty());
        assert_eq!(t.settle(RequestId(1)), None);
    }
}
