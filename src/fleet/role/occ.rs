//! Optimistic-concurrency updates (`occ` steps) of a role agent: read the
//! row, write it back conditioned on the version read, and on a conflict
//! back off by the retry policy's delays and read again.

use rehearsal_runtime::{Ctx, Nanos, Response, ServiceCall, ServiceOutcome};

use super::{RoleAgent, State, Wait, mix};
use crate::fleet::{FleetActor, Msg, idempotency_key};
use crate::ledger::Cause;
use crate::scenario::workflow::Node;
use crate::system::{StoreOp, store_service};

impl RoleAgent {
    /// Frame `f`'s next store operation: a read, or the write of the
    /// version it read.
    pub(super) fn store_op(&mut self, w: usize, f: u32, op: StoreOp, ctx: &mut Ctx<'_, FleetActor>) {
        let plan = self.plan.clone();
        let work = &mut self.works[w];
        let frame = &mut work.frames[f as usize];
        let Node::Occ(occ) = plan.workflows.node(frame.node) else { return };
        // One key for the whole update: the ledger numbers its operations
        // as attempts, so each draws its own hops.
        let trace = idempotency_key(work.id, (frame.lineage & 0xffff) as u32, u32::from(occ.step));
        let key = mix(mix(work.id, frame.lineage), u64::from(occ.step));
        let request = ctx.call_traced(ServiceCall {
            service: store_service(occ.store),
            input_tokens: op.encode(),
            idempotency_key: key,
            timeout: occ.timeout_ns,
            trace,
        });
        if let State::Occ { call, writing, .. } = &mut frame.state {
            *call = Some(request);
            *writing = matches!(op, StoreOp::Write { .. });
        }
        self.stats.calls += 1;
        let (id, part) = (work.id, work.part);
        self.waits.push((Wait::Answer(request), id, part, f));
    }

    /// A store operation of an update answered.
    pub(super) fn on_store_answer(&mut self, w: usize, f: u32, response: Response<Msg>, ctx: &mut Ctx<'_, FleetActor>) {
        let plan = self.plan.clone();
        let role_retry = self.spec().retry;
        let frame = &mut self.works[w].frames[f as usize];
        let Node::Occ(occ) = plan.workflows.node(frame.node) else { return };
        let State::Occ { call, writing, conflicts, previous_delay, .. } = &mut frame.state else { return };
        *call = None;
        let writing = *writing;
        match (response, writing) {
            (Response::Service(ServiceOutcome::Ok { output_tokens }), false) => {
                self.store_op(w, f, StoreOp::Write { expected_version: output_tokens }, ctx)
            }
            (Response::Service(ServiceOutcome::Ok { .. }), true) => self.end(w, f, Ok(()), ctx),
            (Response::Service(ServiceOutcome::Failed(rehearsal_runtime::ServiceError::Conflict)), true) => {
                *conflicts += 1;
                if *conflicts >= occ.attempts {
                    return self.end(w, f, Err(Cause::WriteConflict), ctx);
                }
                // The retry policy's delays, however many conflicts: the
                // update goes on until it wins or its attempts run out.
                let mut policy = occ.retry.map_or(role_retry, |r| r.configure());
                policy.max_attempts = u32::MAX;
                let random = ctx.random_u64();
                let delay = policy.next_delay_after(*conflicts, random, 0, *previous_delay).unwrap_or(0);
                *previous_delay = delay;
                self.retries_after_conflict(w, f, delay, ctx);
            }
            (Response::Timeout, _) => self.end(w, f, Err(Cause::CallTimeout), ctx),
            _ => self.end(w, f, Err(Cause::ServiceUnavailable), ctx),
        }
    }

    /// Back off `delay`, then read again.
    fn retries_after_conflict(&mut self, w: usize, f: u32, delay: Nanos, ctx: &mut Ctx<'_, FleetActor>) {
        self.stats.retries += 1;
        self.next_tag += 1;
        let t = self.next_tag;
        if let State::Occ { tag, .. } = &mut self.works[w].frames[f as usize].state {
            *tag = t;
        }
        ctx.set_timer(delay, t);
        let work = &self.works[w];
        self.waits.push((Wait::Timer(t), work.id, work.part, f));
    }
}
