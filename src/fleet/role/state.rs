//! Durable state of virtual agents (`state = { store, kind, persist }`):
//! an activation loads its state from the store service before its first
//! work (and, event sourced, replays the events since the last snapshot),
//! counts each piece of work it finishes as one change (an event), and
//! writes the changes back by `persist`. What was not written yet when its
//! node died is lost; the report says how much.
//!
//! The store's content ([`StateStore`]) is what the store holds per key.
//! An activation reads it when its load call answers and changes it when
//! the store acknowledges a write: it learns only what the store told it,
//! when it told it. (A write is applied at its acknowledgement, not on its
//! arrival at the store: a simplification that only matters to a reader
//! racing a writer, which turns that are not re-entrant do not do.)

use std::collections::BTreeMap;

use rehearsal_runtime::{Ctx, Nanos, RequestId, Response, ServiceCall, ServiceOutcome};

use super::{RoleAgent, mix};
use crate::fleet::{FleetActor, Msg, idempotency_key};
use crate::scenario::workflow::{Persist, StateKind, StateSpec};
use crate::system::step_service;

/// What the store holds for one key.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Persisted {
    /// Changes written (the journal's length, or the state's version).
    pub events: u32,
    /// Event sourced: the events the last snapshot covers.
    pub snapshot_at: u32,
}

/// Every key's persisted state, by (role, key): a passivated agent costs
/// only this.
#[derive(Debug, Default)]
pub struct StateStore {
    rows: BTreeMap<(u16, u32), Persisted>,
}

impl StateStore {
    fn get(&self, role: u16, key: u32) -> Persisted {
        self.rows.get(&(role, key)).copied().unwrap_or_default()
    }

    fn put(&mut self, role: u16, key: u32, p: Persisted) {
        self.rows.insert((role, key), p);
    }
}

/// An activation's view of its state.
#[derive(Copy, Clone, Debug, Default)]
pub(super) struct StateMem {
    /// Changes made so far (over every activation of the key).
    events: u32,
    /// What the store has acknowledged.
    stored: Persisted,
    /// The load in flight, and when it started.
    load: Option<RequestId>,
    load_started: Nanos,
    /// The write in flight: its call, the events it carries, a snapshot?
    write: Option<(RequestId, u32, bool)>,
    /// Passivating: stop once nothing is left to write.
    pub(super) flushing: bool,
    /// The request the store's calls are filed under (the last served).
    pub(super) request: u64,
}

/// The periodic persist timer's tag.
pub(super) const PERSIST_TAG: u64 = u64::MAX - 1;

impl RoleAgent {
    fn state_spec(&self) -> Option<&StateSpec> {
        self.spec().state.as_ref()
    }

    /// Start loading the state (an activation with `state`).
    pub(super) fn begin_load(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(spec) = self.state_spec().copied() else { return };
        let Some(a) = self.activation.as_mut() else { return };
        let m = &mut a.state;
        let request = m.request;
        m.load_started = ctx.now();
        let trace = idempotency_key(request, 0, u32::from(spec.load_step));
        m.load = Some(ctx.call_traced(ServiceCall {
            service: step_service(spec.store),
            input_tokens: 0,
            idempotency_key: mix(u64::from(a.key), 0x4c4f_4144),
            timeout: spec.timeout_ns,
            trace,
        }));
        if let Persist::Every { period_ns } = spec.persist {
            ctx.set_timer(period_ns, PERSIST_TAG);
        }
    }

    /// An answer from the state store; false if `request` is not one.
    pub(super) fn on_state_answer(
        &mut self,
        request: RequestId,
        response: &Response<Msg>,
        ctx: &mut Ctx<'_, FleetActor>,
    ) -> bool {
        let role = self.role;
        let Some(spec) = self.state_spec().copied() else { return false };
        let Some(a) = self.activation.as_mut() else { return false };
        let ok = matches!(response, Response::Service(ServiceOutcome::Ok { .. }));
        let m = &mut a.state;
        if m.load == Some(request) {
            m.load = None;
            let mut t = self.plan.telemetry.borrow_mut();
            if !ok {
                // Unloadable: give up this activation; the messages waiting
                // for it go back to the directory, which activates it again.
                t.state.load_failures += 1;
                drop(t);
                self.stop_passivated(false, ctx);
                return true;
            }
            m.stored = self.plan.state_store.borrow().get(role, a.key);
            m.events = m.stored.events;
            let replay = match spec.kind {
                StateKind::EventSourced { replay_per_event_ns, .. } => {
                    let n = m.stored.events - m.stored.snapshot_at;
                    t.state.events_replayed += u64::from(n);
                    replay_per_event_ns.saturating_mul(u64::from(n))
                }
                StateKind::Durable => 0,
            };
            t.state.loads += 1;
            t.state_load_ns += u128::from(ctx.now().saturating_sub(m.load_started).saturating_add(replay));
            drop(t);
            ctx.set_timer(replay, super::activation::LOAD_TAG);
            return true;
        }
        let Some((call, events, snapshot)) = m.write else { return false };
        if call != request {
            return false;
        }
        m.write = None;
        let mut t = self.plan.telemetry.borrow_mut();
        if ok {
            if snapshot {
                m.stored.snapshot_at = events;
                t.state.snapshots += 1;
            } else {
                m.stored.events = events;
                t.state.writes += 1;
            }
            self.plan.state_store.borrow_mut().put(role, a.key, m.stored);
            t.set_unpersisted(a.key, ctx.me().to_bits(), m.events - m.stored.events);
        } else {
            t.state.write_failures += 1;
            if m.flushing {
                // Stopping: what could not be written is lost.
                t.state.events_lost_on_stop += u64::from(m.events - m.stored.events);
                t.set_unpersisted(a.key, ctx.me().to_bits(), 0);
                drop(t);
                self.stop_passivated(true, ctx);
                return true;
            }
            // Otherwise the next change (or the persist timer) writes again.
            return true;
        }
        drop(t);
        self.write_state(ctx);
        true
    }

    /// A piece of work finished: one change to the state.
    pub(super) fn state_changed(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(spec) = self.state_spec().copied() else { return };
        let Some(a) = self.activation.as_mut() else { return };
        a.state.events += 1;
        let unpersisted = a.state.events - a.state.stored.events;
        self.plan.telemetry.borrow_mut().set_unpersisted(a.key, ctx.me().to_bits(), unpersisted);
        if spec.persist == Persist::EachTurn {
            self.write_state(ctx);
        }
    }

    /// The periodic persist timer fired.
    pub(super) fn persist_timer(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(Persist::Every { period_ns }) = self.state_spec().map(|s| s.persist) else { return };
        self.write_state(ctx);
        ctx.set_timer(period_ns, PERSIST_TAG);
    }

    /// Write what is not yet stored (one write at a time), then a snapshot
    /// when due; a passivating activation stops once all is written.
    pub(super) fn write_state(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(spec) = self.state_spec().copied() else { return };
        let Some(a) = self.activation.as_mut() else { return };
        let m = &mut a.state;
        if m.write.is_some() || m.load.is_some() {
            return;
        }
        let snapshot_due = match spec.kind {
            StateKind::EventSourced { snapshot_every, .. } => m.stored.events - m.stored.snapshot_at >= snapshot_every,
            StateKind::Durable => false,
        };
        let (events, snapshot) = if m.events > m.stored.events {
            (m.events, false)
        } else if snapshot_due {
            (m.stored.events, true)
        } else {
            if m.flushing {
                self.stop_passivated(true, ctx);
            }
            return;
        };
        // Each write its own part, so the ledger does not number them as
        // attempts of one call.
        let part = (events & 0x7fff) | if snapshot { 0x8000 } else { 0 };
        let trace = idempotency_key(m.request, part, u32::from(spec.write_step));
        let call = ctx.call_traced(ServiceCall {
            service: step_service(spec.store),
            input_tokens: 0,
            idempotency_key: mix(mix(u64::from(a.key), u64::from(events)), u64::from(snapshot)),
            timeout: spec.timeout_ns,
            trace,
        });
        m.write = Some((call, events, snapshot));
    }

    /// Passivating with state: write what is left first; true if that is
    /// under way (the activation stops when it is done).
    pub(super) fn flush_before_stop(&mut self, ctx: &mut Ctx<'_, FleetActor>) -> bool {
        if self.state_spec().is_none() {
            return false;
        }
        let Some(a) = self.activation.as_mut() else { return false };
        if a.state.flushing {
            return true;
        }
        if a.state.events == a.state.stored.events && a.state.write.is_none() {
            return false;
        }
        a.state.flushing = true;
        ctx.set_accepting(false);
        self.write_state(ctx);
        true
    }
}
