//! Terminating children one at a time, in reverse start order (OTP
//! `shutdown`: a [`Signal::Shutdown`], then a [`Signal::Kill`] after the
//! child's timeout), and what follows: a group restart, the supervisor's
//! shutdown or its escalation.

use rustc_hash::FxHashSet;

use super::{Supervisor, TAG_SHUTDOWN};
use crate::actor::Actor;
use crate::ctx::Ctx;
use crate::id::{ActorId, TimerId};
#[cfg(doc)]
use crate::lifecycle::Signal;
use crate::lifecycle::{ExitReason, FailureKind};

/// What to do once the children being terminated are all gone.
#[derive(Debug)]
pub(super) enum Then {
    /// Restart these children (ids, start order).
    Restart(Vec<u64>),
    /// Exit with `Shutdown`.
    Shutdown,
    /// Exit with `Failed(Escalated)`.
    Escalate,
}

#[derive(Debug)]
struct Current {
    id: u64,
    actor: ActorId,
    timer: Option<TimerId>,
}

/// Ids of children still to terminate, in start order: the last is next.
/// Whether an id is queued, and taking it out, cost O(1): a taken-out id
/// stays in `order` and is skipped when its turn comes.
#[derive(Debug)]
struct Queue {
    order: Vec<u64>,
    /// The ids in `order` still to terminate (lookup only).
    queued: FxHashSet<u64>,
}

impl Queue {
    fn new(order: Vec<u64>) -> Self {
        let queued = order.iter().copied().collect();
        Queue { order, queued }
    }

    fn contains(&self, id: u64) -> bool {
        self.queued.contains(&id)
    }

    /// Take `id` out: it is not terminated.
    fn remove(&mut self, id: u64) {
        self.queued.remove(&id);
    }

    /// The next id to terminate.
    fn pop(&mut self) -> Option<u64> {
        while let Some(id) = self.order.pop() {
            if self.queued.remove(&id) {
                return Some(id);
            }
        }
        None
    }
}

/// Children being terminated one at a time.
#[derive(Debug)]
pub(super) struct Op {
    queue: Queue,
    current: Option<Current>,
    then: Then,
    /// Exits of children outside this operation, handled once it is done
    /// (OTP handles them after the restart, from its mailbox).
    deferred: Vec<(u64, ExitReason)>,
}

#[derive(Debug)]
pub(super) enum Phase {
    Running,
    Terminating(Op),
    /// It asked to exit; nothing more happens.
    Exited,
}

impl Op {
    /// Whether a group restart follows (not an exit).
    pub(super) fn restarts(&self) -> bool {
        matches!(self.then, Then::Restart(_))
    }
}

impl<A: Actor> Supervisor<A> {
    /// Child `id` ended with `reason` while children are being terminated.
    pub(super) fn exited_while_terminating(
        &mut self,
        id: u64,
        reason: ExitReason,
        temporary: bool,
        ctx: &mut Ctx<'_, A>,
    ) {
        let Phase::Terminating(op) = &mut self.phase else { return };
        let ours = op.current.as_ref().is_some_and(|cur| cur.id == id);
        let queued = op.queue.contains(id);
        if ours {
            // Expected: we asked it to end (or it ended meanwhile).
            if let Some(timer) = op.current.take().and_then(|cur| cur.timer) {
                ctx.cancel_timer(timer);
            }
        } else if queued {
            // It ended by itself before its turn: nothing to terminate.
            op.queue.remove(id);
        } else if op.restarts() {
            op.deferred.push((id, reason));
            return;
        }
        if (ours || queued) && temporary {
            self.remove(id);
        }
        self.pump(ctx);
    }

    /// The shutdown timeout `timer` fired: OTP `exit(Pid, kill)`, if the
    /// child it was for is still the one being terminated.
    pub(super) fn shutdown_timeout(&mut self, timer: TimerId, ctx: &mut Ctx<'_, A>) {
        if let Phase::Terminating(op) = &mut self.phase
            && let Some(current) = &mut op.current
            && current.timer == Some(timer)
        {
            current.timer = None;
            ctx.kill(current.actor);
        }
    }

    /// Terminate every running child (reverse start order), then `then`
    /// (`Shutdown` or `Escalate`). A second request while one is under way
    /// is ignored: the supervisor exits once.
    pub(super) fn terminate_all(&mut self, then: Then, ctx: &mut Ctx<'_, A>) {
        if self.is_shutting_down() {
            return;
        }
        if matches!(then, Then::Escalate) {
            self.stats.escalations = 1;
        }
        for c in self.children.iter_mut() {
            if let Some(timer) = c.backoff_timer.take() {
                ctx.cancel_timer(timer);
            }
        }
        self.stash.clear();
        let queue: Vec<u64> = self.children.iter().filter(|c| c.actor().is_some()).map(|c| c.id).collect();
        match &mut self.phase {
            Phase::Terminating(op) => {
                // A group restart was under way: keep the child being
                // terminated, then terminate all the others.
                let current = op.current.as_ref().map(|c| c.id);
                op.queue = Queue::new(queue.into_iter().filter(|&q| Some(q) != current).collect());
                op.then = then;
                op.deferred.clear();
            }
            _ => {
                let queue = Queue::new(queue);
                self.phase = Phase::Terminating(Op { queue, current: None, then, deferred: Vec::new() });
            }
        }
        self.pump(ctx);
    }

    /// Start terminating the running children from slot `from` on, except
    /// the one that just ended, and then `then`.
    pub(super) fn start_op(&mut self, then: Then, from: usize, ctx: &mut Ctx<'_, A>) {
        let queue = Queue::new(self.children.iter_from(from).filter(|c| c.actor().is_some()).map(|c| c.id).collect());
        self.phase = Phase::Terminating(Op { queue, current: None, then, deferred: Vec::new() });
        self.pump(ctx);
    }

    /// Terminate the next child, or finish the operation.
    fn pump(&mut self, ctx: &mut Ctx<'_, A>) {
        let Phase::Terminating(op) = &mut self.phase else { return };
        if op.current.is_some() {
            return;
        }
        while let Some(id) = op.queue.pop() {
            let Some(c) = self.children.get(id) else { continue };
            let Some(actor) = c.actor() else { continue };
            let shutdown = self.spec.children[c.spec as usize].shutdown;
            let timer = if shutdown == 0 {
                // OTP `brutal_kill`.
                ctx.kill(actor);
                None
            } else {
                ctx.shutdown(actor);
                Some(ctx.set_timer(shutdown, TAG_SHUTDOWN))
            };
            op.current = Some(Current { id, actor, timer });
            return;
        }
        let Phase::Terminating(op) = std::mem::replace(&mut self.phase, Phase::Running) else { return };
        match op.then {
            Then::Shutdown => {
                self.phase = Phase::Exited;
                ctx.exit(ExitReason::Shutdown);
            }
            Then::Escalate => {
                self.phase = Phase::Exited;
                ctx.exit(ExitReason::Failed(FailureKind::Escalated));
            }
            Then::Restart(set) => {
                for id in set {
                    self.restart_child(id, ctx);
                }
                let mut deferred = op.deferred.into_iter();
                while let Some((id, reason)) = deferred.next() {
                    if self.child(id).is_some() {
                        // Restarted meanwhile by a group restart: its old
                        // exit is consumed (OTP ignores an `'EXIT'` from
                        // a pid it no longer has).
                        continue;
                    }
                    match &mut self.phase {
                        Phase::Running => self.handle_exit(id, reason, ctx),
                        Phase::Terminating(next) if matches!(next.then, Then::Restart(_)) => {
                            next.queue.remove(id);
                            next.deferred.push((id, reason));
                            next.deferred.extend(deferred);
                            return;
                        }
                        _ => return,
                    }
                }
            }
        }
    }
}
