//! The agent fleet under test: a gateway that spreads requests over a pool
//! of agents, and agents that run each request's workflow (LLM and tool
//! calls) as a small state machine, retrying failed calls by the strategy
//! under comparison.
//!
//! This is ordinary runtime code: nothing here knows it is simulated.

use rehearsal_runtime::retry::RetryPolicy;
use rehearsal_runtime::{
    Actor, ActorId, Ctx, Nanos, ReplyTo, RequestId, Response, ServiceError, ServiceId, ServiceOutcome, TimerId,
};

/// The LLM endpoint's service id.
pub const LLM: ServiceId = ServiceId(0);
/// The tool's service id.
pub const TOOL: ServiceId = ServiceId(1);

/// One call of a workflow: which service, with what per-attempt timeout.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct StepSpec {
    pub service: ServiceId,
    pub timeout: Nanos,
}

/// Messages of the fleet.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    /// A client's request (an ask from outside to the gateway).
    Request { id: u64 },
    /// The gateway hands a request to an agent, with where to answer.
    Work { id: u64, reply: ReplyTo },
    /// The answer to a client.
    Outcome { id: u64, ok: bool },
}

/// Every actor of the fleet: one type, so dispatch is a `match`.
#[derive(Debug)]
pub enum FleetActor {
    Gateway(Gateway),
    Agent(Agent),
}

impl Actor for FleetActor {
    type Msg = Msg;

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, Self>) {
        match self {
            FleetActor::Gateway(g) => g.handle(msg, ctx),
            FleetActor::Agent(a) => a.handle(msg, ctx),
        }
    }

    fn on_response(&mut self, request: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, Self>) {
        if let FleetActor::Agent(a) = self {
            a.on_response(request, response, ctx);
        }
    }

    fn on_timer(&mut self, timer: TimerId, tag: u64, ctx: &mut Ctx<'_, Self>) {
        if let FleetActor::Agent(a) = self {
            a.on_timer(timer, tag, ctx);
        }
    }

    fn on_undelivered(&mut self, _to: ActorId, msg: Msg, ctx: &mut Ctx<'_, Self>) {
        // An agent's full mailbox refused work: fail the request now rather
        // than let the client wait for its timeout.
        if let (FleetActor::Gateway(g), Msg::Work { id, reply }) = (self, msg) {
            g.rejected += 1;
            ctx.reply(reply, Msg::Outcome { id, ok: false });
        }
    }
}

/// Spreads requests over the agents, round-robin.
#[derive(Debug)]
pub struct Gateway {
    agents: Vec<ActorId>,
    next: usize,
    /// Requests refused by a full agent mailbox.
    pub rejected: u64,
}

impl Gateway {
    pub fn new(agents: Vec<ActorId>) -> Self {
        Gateway { agents, next: 0, rejected: 0 }
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, FleetActor>) {
        let (Msg::Request { id }, Some(reply)) = (msg, ctx.reply_to()) else { return };
        if self.agents.is_empty() {
            ctx.reply(reply, Msg::Outcome { id, ok: false });
            return;
        }
        let agent = self.agents[self.next % self.agents.len()];
        self.next = self.next.wrapping_add(1);
        ctx.tell(agent, Msg::Work { id, reply });
    }
}

/// Counters an agent keeps about its calls.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentStats {
    pub calls: u64,
    pub retries: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub rate_limited: u64,
    pub requests_done: u64,
    pub requests_failed: u64,
}

/// The request an agent is working on.
#[derive(Copy, Clone, Debug)]
struct Job {
    id: u64,
    reply: ReplyTo,
    step: usize,
    /// Failed attempts of the current step.
    failures: u32,
    /// The call in flight, if any (none while backing off).
    call: Option<RequestId>,
    /// Tag of the backoff timer in flight, so a stale one is ignored.
    backoff_tag: u64,
}

/// Works on one request at a time: while busy, new work waits in the
/// bounded mailbox (`set_accepting(false)`).
#[derive(Debug)]
pub struct Agent {
    steps: Vec<StepSpec>,
    retry: RetryPolicy,
    job: Option<Job>,
    next_tag: u64,
    pub stats: AgentStats,
}

impl Agent {
    pub fn new(steps: Vec<StepSpec>, retry: RetryPolicy) -> Self {
        Agent { steps, retry, job: None, next_tag: 0, stats: AgentStats::default() }
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, FleetActor>) {
        let Msg::Work { id, reply } = msg else { return };
        ctx.set_accepting(false);
        self.job = Some(Job { id, reply, step: 0, failures: 0, call: None, backoff_tag: 0 });
        self.attempt(ctx);
    }

    /// Start (or retry) the current step's call.
    fn attempt(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(job) = self.job.as_mut() else { return };
        let Some(step) = self.steps.get(job.step) else { return };
        // One idempotency key per logical call: retries share it.
        let key = job.id.wrapping_mul(64).wrapping_add(job.step as u64);
        job.call = Some(ctx.call(step.service, 0, key, step.timeout));
        self.stats.calls += 1;
        if job.failures > 0 {
            self.stats.retries += 1;
        }
    }

    fn on_response(&mut self, request: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(job) = self.job.as_mut() else { return };
        if job.call != Some(request) {
            return;
        }
        job.call = None;
        let retry_after = match response {
            Response::Service(ServiceOutcome::Ok { .. }) => {
                job.step += 1;
                job.failures = 0;
                if job.step == self.steps.len() {
                    self.finish(true, ctx);
                } else {
                    self.attempt(ctx);
                }
                return;
            }
            Response::Service(ServiceOutcome::Failed(ServiceError::RateLimited { retry_after })) => {
                self.stats.rate_limited += 1;
                retry_after
            }
            Response::Service(ServiceOutcome::Failed(_)) | Response::Undeliverable | Response::Reply(_) => {
                self.stats.errors += 1;
                0
            }
            Response::Timeout => {
                self.stats.timeouts += 1;
                0
            }
        };
        job.failures += 1;
        let random = ctx.random_u64();
        match self.retry.next_delay(job.failures, random, retry_after) {
            Some(delay) => {
                self.next_tag += 1;
                job.backoff_tag = self.next_tag;
                ctx.set_timer(delay, self.next_tag);
            }
            None => self.finish(false, ctx),
        }
    }

    fn on_timer(&mut self, _timer: TimerId, tag: u64, ctx: &mut Ctx<'_, FleetActor>) {
        match self.job {
            Some(job) if job.backoff_tag == tag && job.call.is_none() => self.attempt(ctx),
            _ => {}
        }
    }

    fn finish(&mut self, ok: bool, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(job) = self.job.take() else { return };
        if ok {
            self.stats.requests_done += 1;
        } else {
            self.stats.requests_failed += 1;
        }
        ctx.reply(job.reply, Msg::Outcome { id: job.id, ok });
        ctx.set_accepting(true);
    }
}
