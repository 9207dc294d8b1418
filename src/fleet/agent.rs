//! A pool agent: runs one request's workflow (a list of calls) at a time,
//! retrying failed calls by the retry strategy under comparison.

use rehearsal_runtime::retry::RetryPolicy;
use rehearsal_runtime::{Ctx, Nanos, ReplyTo, RequestId, Response, ServiceError, ServiceId, ServiceOutcome};

use super::{FleetActor, Msg, SITE_AGENT_HESITATES, ServiceRef, StepSpec, idempotency_key};
use crate::ledger::{Cause, Outcome};

/// Counters an agent or stage keeps about its calls.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentStats {
    pub calls: u64,
    pub retries: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub rate_limited: u64,
    pub requests_done: u64,
    pub requests_failed: u64,
    /// Requests dropped because the gateway cancelled them.
    pub requests_cancelled: u64,
    /// Pipeline: finished work with no downstream subscriber to take it.
    pub no_downstream: u64,
}

/// What to do after a call's response.
pub(super) enum CallResult {
    Succeeded,
    /// Retry after this delay.
    RetryAfter(Nanos),
    GiveUp,
}

/// Why a failed call of `service` failed, as a request's failure cause.
fn call_failure_cause(service: ServiceId, response: &Response<Msg>) -> Cause {
    let tool = matches!(ServiceRef::of(service), ServiceRef::Tool(_));
    match response {
        Response::Service(ServiceOutcome::Failed(ServiceError::RateLimited { .. })) => Cause::RateLimited,
        Response::Service(ServiceOutcome::Failed(_)) if tool => Cause::ToolError,
        Response::Service(ServiceOutcome::Failed(ServiceError::Unavailable)) => Cause::ServiceUnavailable,
        Response::Timeout => Cause::CallTimeout,
        _ => Cause::LlmError,
    }
}

/// Count a call's response and decide by the retry policy; `cause` keeps
/// why the latest attempt failed, `previous_delay` the last backoff.
#[allow(clippy::too_many_arguments)]
pub(super) fn judge(
    response: Response<Msg>,
    service: ServiceId,
    failures: &mut u32,
    previous_delay: &mut Nanos,
    cause: &mut Cause,
    retry: &RetryPolicy,
    stats: &mut AgentStats,
    ctx: &mut Ctx<'_, FleetActor>,
) -> CallResult {
    if let Response::Service(ServiceOutcome::Ok { .. }) = response {
        return CallResult::Succeeded;
    }
    *cause = call_failure_cause(service, &response);
    let retry_after = match response {
        Response::Service(ServiceOutcome::Failed(ServiceError::RateLimited { retry_after })) => {
            stats.rate_limited += 1;
            retry_after
        }
        Response::Timeout => {
            stats.timeouts += 1;
            0
        }
        _ => {
            stats.errors += 1;
            0
        }
    };
    *failures += 1;
    let random = ctx.random_u64();
    match retry.next_delay_after(*failures, random, retry_after, *previous_delay) {
        Some(delay) => {
            *previous_delay = delay;
            CallResult::RetryAfter(delay)
        }
        None => CallResult::GiveUp,
    }
}

/// The request an agent is working on.
#[derive(Copy, Clone, Debug)]
struct Job {
    id: u64,
    part: u64,
    reply: ReplyTo,
    /// The request's type: which workflow runs.
    kind: u16,
    step: usize,
    /// Failed attempts of the current step.
    failures: u32,
    /// The last backoff of the current step (decorrelated jitter's state).
    previous_delay: Nanos,
    /// The call in flight, if any (none while backing off).
    call: Option<RequestId>,
    /// Tag of the backoff timer in flight, so a stale one is ignored.
    backoff_tag: u64,
    /// Why the latest failed attempt failed.
    cause: Cause,
    /// The service the current step calls now (a fallback model after the
    /// step's own failed for good).
    service: ServiceId,
    /// The breaker's permit of the call in flight, and when it went out.
    permit: Option<rehearsal_runtime::resilience::Permit>,
    called_at: Nanos,
}

/// Pool agent: works on one request at a time; while busy, new work waits
/// in the bounded mailbox (`set_accepting(false)`).
#[derive(Debug)]
pub struct Agent {
    pub(super) index: u32,
    /// Each request type's steps.
    workflows: std::rc::Rc<Vec<Vec<StepSpec>>>,
    retry: RetryPolicy,
    /// The resilience policy's state, if the run has one.
    guard: Option<super::guard::Guard>,
    job: Option<Job>,
    next_tag: u64,
    /// Work cancelled before it was started, to skip when it comes.
    cancelled: std::collections::VecDeque<(u64, u64)>,
    pub stats: AgentStats,
}

/// How many cancelled-before-started parts an agent remembers (a bounded
/// memory: a cancellation older than that is forgotten and the work done).
const CANCELLED_MEMORY: usize = 64;

impl Agent {
    pub fn new(index: u32, workflows: std::rc::Rc<Vec<Vec<StepSpec>>>, retry: RetryPolicy) -> Self {
        Agent {
            index,
            workflows,
            retry,
            guard: None,
            job: None,
            next_tag: 0,
            cancelled: std::collections::VecDeque::new(),
            stats: AgentStats::default(),
        }
    }

    /// The same agent, applying a resilience policy at its calls.
    pub fn with_guard(mut self, guard: Option<super::guard::Guard>) -> Self {
        self.guard = guard;
        self
    }

    pub(super) fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, FleetActor>) {
        if let Msg::Cancel { id, part } = msg {
            return self.cancel(id, part, ctx);
        }
        let (Msg::Work { id, part, work }, Some(reply)) = (msg, ctx.reply_to()) else { return };
        if let Some(i) = self.cancelled.iter().position(|&c| c == (id, part)) {
            // Cancelled while it waited in the mailbox: skip it.
            self.cancelled.remove(i);
            self.stats.requests_cancelled += 1;
            return;
        }
        ctx.set_accepting(false);
        if let Some(g) = self.guard.as_mut() {
            g.on_request(ctx.now());
        }
        let Some(first) = self.workflows.get(usize::from(work.kind)).and_then(|w| w.first()) else { return };
        let service = first.service;
        self.job = Some(Job {
            id,
            part,
            reply,
            kind: work.kind,
            step: 0,
            failures: 0,
            previous_delay: 0,
            call: None,
            backoff_tag: 0,
            cause: Cause::LlmError,
            service,
            permit: None,
            called_at: 0,
        });
        self.attempt(ctx);
    }

    /// Start (or retry) the current step's call.
    fn attempt(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(job) = self.job.as_mut() else { return };
        let Some(step) = self.workflows.get(usize::from(job.kind)).and_then(|w| w.get(job.step)) else { return };
        if ctx.buggify(SITE_AGENT_HESITATES) {
            let pause = ctx.random_below(250_000_000);
            self.next_tag += 1;
            job.backoff_tag = self.next_tag;
            ctx.set_timer(pause, self.next_tag);
            return;
        }
        if let Some(g) = self.guard.as_mut() {
            match g.admit(job.service, ctx.now()) {
                Ok(permit) => job.permit = permit,
                // The breaker is open: the call fails at once.
                Err(()) => {
                    job.cause = Cause::CircuitOpen;
                    return self.give_up(ctx);
                }
            }
        }
        // One idempotency key per logical call: retries (and re-runs after a
        // crash) share it; the parts of a fan-out do not.
        let key = idempotency_key(job.id, job.part as u32, job.step as u32);
        job.called_at = ctx.now();
        job.call = Some(ctx.call(job.service, 0, key, step.timeout));
        self.stats.calls += 1;
        if job.failures > 0 {
            self.stats.retries += 1;
        }
    }

    pub(super) fn on_response(&mut self, request: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(job) = self.job.as_mut() else { return };
        if job.call != Some(request) {
            return;
        }
        job.call = None;
        let len = self.workflows[usize::from(job.kind)].len();
        let service = job.service;
        if let Some(g) = self.guard.as_mut() {
            let ok = matches!(response, Response::Service(ServiceOutcome::Ok { .. }));
            let now = ctx.now();
            g.record(service, job.permit.take(), now, now.saturating_sub(job.called_at), ok);
        }
        let retry = &self.retry;
        let result = judge(
            response,
            service,
            &mut job.failures,
            &mut job.previous_delay,
            &mut job.cause,
            retry,
            &mut self.stats,
            ctx,
        );
        match result {
            CallResult::Succeeded => {
                job.step += 1;
                job.failures = 0;
                job.previous_delay = 0;
                if job.step == len {
                    self.finish(Outcome::Succeeded, ctx);
                } else {
                    job.service = self.workflows[usize::from(job.kind)][job.step].service;
                    self.attempt(ctx);
                }
            }
            CallResult::RetryAfter(delay) => {
                // A retry budget may refuse it: the step fails as it stands.
                if self.guard.as_mut().is_some_and(|g| !g.retry_allowed(ctx.now())) {
                    return self.give_up(ctx);
                }
                self.next_tag += 1;
                job.backoff_tag = self.next_tag;
                ctx.set_timer(delay, self.next_tag);
            }
            CallResult::GiveUp => self.give_up(ctx),
        }
    }

    /// The current step failed for good on its service: the policy's next
    /// fallback model takes the same call, or the request fails.
    fn give_up(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(job) = self.job.as_mut() else { return };
        let original = self.workflows[usize::from(job.kind)][job.step].service;
        if let Some(next) = self.guard.as_ref().and_then(|g| g.fallback_after(job.service, original)) {
            job.service = next;
            job.failures = 0;
            job.previous_delay = 0;
            return self.attempt(ctx);
        }
        let cause = job.cause;
        self.finish(Outcome::Failed(cause), ctx)
    }

    pub(super) fn on_timer(&mut self, tag: u64, ctx: &mut Ctx<'_, FleetActor>) {
        match self.job {
            Some(job) if job.backoff_tag == tag && job.call.is_none() => self.attempt(ctx),
            _ => {}
        }
    }

    /// The gateway no longer needs this work: drop it, cancel the call in
    /// flight, and take the next request. No answer (nobody waits for it).
    fn cancel(&mut self, id: u64, part: u64, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(job) = self.job.filter(|j| (j.id, j.part) == (id, part)) else {
            // Not started yet (waiting in the mailbox): remember to skip it.
            if self.cancelled.len() == CANCELLED_MEMORY {
                self.cancelled.pop_front();
            }
            self.cancelled.push_back((id, part));
            return;
        };
        if let Some(call) = job.call {
            ctx.cancel(call);
            if let Some(g) = self.guard.as_mut() {
                g.release(job.service, job.permit);
            }
        }
        self.job = None;
        self.stats.requests_cancelled += 1;
        ctx.set_accepting(true);
    }

    fn finish(&mut self, outcome: Outcome, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(job) = self.job.take() else { return };
        if outcome.is_ok() {
            self.stats.requests_done += 1;
        } else {
            self.stats.requests_failed += 1;
        }
        ctx.reply(job.reply, Msg::Outcome { id: job.id, outcome, produced: 0 });
        ctx.set_accepting(true);
    }
}
