//! A pipeline stage: one step of the workflow for many requests at once.

use std::collections::BTreeMap;

use rehearsal_runtime::retry::RetryPolicy;
use rehearsal_runtime::{ActorId, Ctx, ReplyTo, RequestId, Response};

use super::agent::{AgentStats, CallResult, judge};
use super::{FleetActor, Msg, StepSpec, agent_name, idempotency_key};
use crate::ledger::{Cause, Outcome};

/// A request inside a pipeline stage.
#[derive(Copy, Clone, Debug)]
struct StageJob {
    reply: ReplyTo,
    failures: u32,
    previous_delay: rehearsal_runtime::Nanos,
    call: Option<RequestId>,
    cause: Cause,
}

/// Pipeline stage: runs its one step for many requests at once, then
/// passes each on to its subscriber (or answers, if it is the last stage).
#[derive(Debug)]
pub struct Stage {
    index: u32,
    last: bool,
    step: StepSpec,
    retry: RetryPolicy,
    subscriber: Option<ActorId>,
    jobs: BTreeMap<u64, StageJob>,
    calls: BTreeMap<RequestId, u64>,
    pub stats: AgentStats,
}

impl Stage {
    /// What it is, for a trace: `stage N`.
    pub(super) fn label(&self) -> rehearsal_runtime::ActorLabel {
        rehearsal_runtime::ActorLabel::nth("stage", self.index)
    }

    pub fn new(index: u32, last: bool, step: StepSpec, retry: RetryPolicy) -> Self {
        Stage {
            index,
            last,
            step,
            retry,
            subscriber: None,
            jobs: BTreeMap::new(),
            calls: BTreeMap::new(),
            stats: AgentStats::default(),
        }
    }

    pub(super) fn on_start(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        ctx.register(agent_name(self.index));
        if self.index > 0 {
            let me = ctx.me();
            ctx.tell_named(agent_name(self.index - 1), Msg::Subscribe { from: me });
        }
    }

    pub(super) fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, FleetActor>) {
        match msg {
            Msg::Subscribe { from } => self.subscriber = Some(from),
            Msg::Stage { id, reply } => {
                self.jobs
                    .insert(id, StageJob { reply, failures: 0, previous_delay: 0, call: None, cause: Cause::LlmError });
                self.attempt(id, ctx);
            }
            _ => {}
        }
    }

    fn attempt(&mut self, id: u64, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(job) = self.jobs.get_mut(&id) else { return };
        let key = idempotency_key(id, 0, self.index);
        let call = ctx.call(self.step.service, 0, key, self.step.timeout);
        job.call = Some(call);
        self.calls.insert(call, id);
        self.stats.calls += 1;
        if job.failures > 0 {
            self.stats.retries += 1;
        }
    }

    pub(super) fn on_response(&mut self, request: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(id) = self.calls.remove(&request) else { return };
        let Some(job) = self.jobs.get_mut(&id) else { return };
        job.call = None;
        let service = self.step.service;
        match judge(
            response,
            service,
            &mut job.failures,
            &mut job.previous_delay,
            &mut job.cause,
            &self.retry,
            &mut self.stats,
            ctx,
        ) {
            CallResult::Succeeded => self.pass_on(id, ctx),
            // The timer's tag is the request id: one backoff per request.
            CallResult::RetryAfter(delay) => {
                ctx.set_timer(delay, id);
            }
            CallResult::GiveUp => {
                let cause = job.cause;
                self.finish(id, Outcome::Failed(cause), ctx)
            }
        }
    }

    pub(super) fn on_timer(&mut self, tag: u64, ctx: &mut Ctx<'_, FleetActor>) {
        if self.jobs.get(&tag).is_some_and(|j| j.call.is_none()) {
            self.attempt(tag, ctx);
        }
    }

    fn pass_on(&mut self, id: u64, ctx: &mut Ctx<'_, FleetActor>) {
        if self.last {
            return self.finish(id, Outcome::Succeeded, ctx);
        }
        let Some(job) = self.jobs.remove(&id) else { return };
        match self.subscriber {
            Some(next) => {
                self.stats.requests_done += 1;
                ctx.tell(next, Msg::Stage { id, reply: job.reply });
            }
            None => {
                self.stats.no_downstream += 1;
                self.stats.requests_failed += 1;
                ctx.reply(job.reply, Msg::Outcome { id, outcome: Outcome::Failed(Cause::NoDownstream), produced: 0 });
            }
        }
    }

    fn finish(&mut self, id: u64, outcome: Outcome, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(job) = self.jobs.remove(&id) else { return };
        if outcome.is_ok() {
            self.stats.requests_done += 1;
        } else {
            self.stats.requests_failed += 1;
        }
        ctx.reply(job.reply, Msg::Outcome { id, outcome, produced: 0 });
    }
}
