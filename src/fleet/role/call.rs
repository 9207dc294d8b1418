//! Call steps of a role agent: start a call (through the resilience
//! policy's breaker), judge its answer by the retry policy, back off and
//! retry, and hand a call that failed for good to the policy's fallback.

use rehearsal_runtime::{Ctx, Response, ServiceCall, ServiceOutcome};

use super::{RoleAgent, State, Wait, mix};
use crate::fleet::agent::{CallResult, judge};
use crate::fleet::{FleetActor, Msg, idempotency_key};
use crate::ledger::Cause;
use crate::scenario::workflow::{CallNode, Node};
use crate::system::step_service;

impl RoleAgent {
    /// Start (or retry) the call of frame `f`.
    pub(super) fn attempt(&mut self, w: usize, f: u32, ctx: &mut Ctx<'_, FleetActor>) {
        let plan = self.plan.clone();
        let work = &mut self.works[w];
        let frame = &mut work.frames[f as usize];
        let Node::Call(call) = plan.workflows.node(frame.node) else { return };
        let State::Call { failures, fallback, .. } = frame.state else { return };
        let service = fallback.unwrap_or_else(|| step_service(call.service));
        let mut permit = None;
        if let Some(g) = self.guard.as_mut() {
            match g.admit(service, ctx.now()) {
                Ok(p) => permit = p,
                // The breaker is open: the call fails at once.
                Err(()) => return self.give_up(w, f, Cause::CircuitOpen, ctx),
            }
        }
        let work = &mut self.works[w];
        let frame = &mut work.frames[f as usize];
        // The ledger files the call under (request, lineage, step); the
        // key names the logical call exactly, so retries share it and no
        // two calls do.
        let trace = idempotency_key(work.id, (frame.lineage & 0xffff) as u32, u32::from(call.step));
        let key = mix(mix(work.id, frame.lineage), u64::from(call.step));
        let input_tokens = if call.context { work.context } else { 0 };
        let request = ctx.call_traced(ServiceCall {
            service,
            input_tokens,
            idempotency_key: key,
            timeout: call.timeout_ns,
            trace,
        });
        if let State::Call { call, permit: p, called_at, .. } = &mut frame.state {
            *call = Some(request);
            *p = permit;
            *called_at = ctx.now();
        }
        self.stats.calls += 1;
        if failures > 0 {
            self.stats.retries += 1;
        }
        let (id, part) = (work.id, work.part);
        self.waits.push((Wait::Answer(request), id, part, f));
    }

    /// Call frame `f` failed for good on its service (`cause`): the
    /// policy's next fallback model takes the same call, or the frame fails.
    pub(super) fn give_up(&mut self, w: usize, f: u32, cause: Cause, ctx: &mut Ctx<'_, FleetActor>) {
        let plan = self.plan.clone();
        let frame = &mut self.works[w].frames[f as usize];
        let Node::Call(call) = plan.workflows.node(frame.node) else { return };
        let original = step_service(call.service);
        if let State::Call { fallback, failures, previous_delay, .. } = &mut frame.state {
            let current = fallback.unwrap_or(original);
            if let Some(next) = self.guard.as_ref().and_then(|g| g.fallback_after(current, original)) {
                *fallback = Some(next);
                *failures = 0;
                *previous_delay = 0;
                return self.attempt(w, f, ctx);
            }
        }
        self.end(w, f, Err(cause), ctx)
    }

    /// The answer to frame `f`'s call.
    pub(super) fn on_call_answer(
        &mut self,
        w: usize,
        f: u32,
        call: &CallNode,
        response: Response<Msg>,
        ctx: &mut Ctx<'_, FleetActor>,
    ) {
        let frame = &self.works[w].frames[f as usize];
        let State::Call { mut failures, mut previous_delay, mut cause, fallback, permit, called_at, .. } = frame.state
        else {
            return;
        };
        let service = fallback.unwrap_or_else(|| step_service(call.service));
        if let Some(g) = self.guard.as_mut() {
            let ok = matches!(response, Response::Service(ServiceOutcome::Ok { .. }));
            let now = ctx.now();
            g.record(service, permit, now, now.saturating_sub(called_at), ok);
        }
        if let Response::Service(ServiceOutcome::Ok { output_tokens }) = response {
            let work = &mut self.works[w];
            work.context = work.context.saturating_add(output_tokens);
            work.produced = work.produced.saturating_add(output_tokens);
        }
        let retry = call.retry.map_or(self.spec().retry, |r| r.configure());
        let result =
            judge(response, service, &mut failures, &mut previous_delay, &mut cause, &retry, &mut self.stats, ctx);
        if let State::Call { failures: fl, previous_delay: p, cause: c, call, .. } =
            &mut self.works[w].frames[f as usize].state
        {
            *fl = failures;
            *p = previous_delay;
            *c = cause;
            *call = None;
        }
        match result {
            CallResult::Succeeded => self.end(w, f, Ok(()), ctx),
            CallResult::RetryAfter(_) if self.guard.as_mut().is_some_and(|g| !g.retry_allowed(ctx.now())) => {
                // The retry budget refuses: the step fails as it stands.
                self.give_up(w, f, cause, ctx)
            }
            CallResult::RetryAfter(delay) => {
                self.next_tag += 1;
                let tag = self.next_tag;
                if let State::Call { tag: t, .. } = &mut self.works[w].frames[f as usize].state {
                    *t = tag;
                }
                ctx.set_timer(delay, tag);
                let work = &self.works[w];
                self.waits.push((Wait::Timer(tag), work.id, work.part, f));
            }
            CallResult::GiveUp => self.give_up(w, f, cause, ctx),
        }
    }
}
