//! Activations of virtual agents (see [`crate::fleet::directory`]): a role
//! agent with a key and a directory, that loads its state before its first
//! work and passivates when idle.

use std::rc::Rc;

use rehearsal_runtime::{ActorId, Ctx, Nanos};

use super::{RoleAgent, RolePlan};
use crate::fleet::{FleetActor, Msg};
use crate::scenario::workflow::RoleIndex;

/// What an activation of a virtual agent adds to a role agent: its key,
/// its directory, loading its state, and passivation when idle.
#[derive(Clone, Copy, Debug)]
pub(super) struct Activation {
    pub(super) key: u32,
    pub(super) directory: ActorId,
    /// Passivate after this long without work (`None`: never).
    pub(super) idle_ns: Option<Nanos>,
    /// Loading its state: messages wait in the mailbox until loaded.
    pub(super) loading: bool,
    /// The idle timer in flight (a stale one is ignored).
    pub(super) idle_tag: u64,
    /// A directory found it a duplicate: it stops once its work is done.
    pub(super) deactivating: bool,
    /// Its durable state (a role with `state`).
    pub(super) state: super::state::StateMem,
}

/// Timer tags of an activation: above every backoff tag.
pub(super) const LOAD_TAG: u64 = u64::MAX;
pub(super) const IDLE_TAGS: u64 = 1 << 62;

impl RoleAgent {
    /// An activation of virtual agent `key` of role `role`, placed by
    /// `directory`: it loads its state before its first work (its store's
    /// calls filed under `first_request`, the message that activated it),
    /// and passivates after `idle_ns` without work.
    pub fn activation(
        key: u32,
        role: RoleIndex,
        plan: Rc<RolePlan>,
        directory: ActorId,
        idle_ns: Option<Nanos>,
        first_request: u64,
    ) -> Self {
        let mut agent = RoleAgent::new(u32::MAX, role, plan);
        let mut state = super::state::StateMem::default();
        state.request = first_request;
        agent.activation = Some(Box::new(Activation {
            key,
            directory,
            idle_ns,
            loading: true,
            idle_tag: 0,
            deactivating: false,
            state,
        }));
        agent
    }

    /// An activation's own timers: its state loaded, or idle long enough.
    pub(super) fn activation_timer(&mut self, tag: u64, ctx: &mut Ctx<'_, FleetActor>) -> bool {
        let Some(a) = self.activation.as_mut() else { return false };
        if tag == LOAD_TAG {
            a.loading = false;
            ctx.set_accepting(true);
            self.idle(ctx);
            return true;
        }
        if tag == super::state::PERSIST_TAG {
            self.persist_timer(ctx);
            return true;
        }
        if tag >= IDLE_TAGS {
            if tag == a.idle_tag && self.works.is_empty() {
                self.passivate(ctx);
            }
            return true;
        }
        false
    }

    /// Passivate: write what is left of its state, tell the directory,
    /// and stop (the next message activates it again).
    fn passivate(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        if !self.flush_before_stop(ctx) {
            self.stop_passivated(true, ctx);
        }
    }

    /// Tell the directory and stop; `deactivation`: it counts as one (not
    /// for an activation that could not load its state).
    pub(super) fn stop_passivated(&mut self, deactivation: bool, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(a) = self.activation.as_deref().copied() else { return };
        let me = ctx.me();
        ctx.tell(a.directory, Msg::Passivated { key: a.key, actor: me });
        let mut t = self.plan.telemetry.borrow_mut();
        if deactivation {
            t.deactivations += 1;
        }
        t.activation_stopped(a.key, me.to_bits());
        drop(t);
        ctx.stop();
    }

    /// A directory found this activation a duplicate of another: finish
    /// the work in hand, take no more, and stop (Orleans deactivates the
    /// activation the directory did not keep).
    pub(super) fn deactivate(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(a) = self.activation.as_mut() else { return };
        a.deactivating = true;
        ctx.set_accepting(false);
        self.idle(ctx);
    }

    /// An activation with nothing to do starts its idle timer.
    pub(super) fn idle(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(a) = self.activation.as_mut() else { return };
        if a.loading || a.state.flushing || !self.works.is_empty() {
            return;
        }
        if a.deactivating {
            return self.passivate(ctx);
        }
        if let Some(idle) = a.idle_ns {
            a.idle_tag = a.idle_tag.max(IDLE_TAGS) + 1;
            ctx.set_timer(idle, a.idle_tag);
        }
    }
}
