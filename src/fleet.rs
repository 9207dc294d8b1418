//! The agent fleet under test, in two shapes:
//!
//! - pool: a gateway hands each request to one of N independent agents
//!   (by registered name, skipping agents that are down; which one, the
//!   [`Dispatch`] strategy decides, or a shared queue holds the request
//!   until an agent is free), asking it and
//!   watching it, so a request in flight on an agent that dies is retried
//!   elsewhere or failed at once (Ray's `max_task_retries`, through
//!   [`rehearsal_runtime::tasks::Tasks`]); each agent runs a request's
//!   workflow (LLM and tool calls) one request at a time, retrying failed
//!   calls by the retry strategy under comparison;
//! - pipeline: one stage actor per workflow step, in a chain; a stage
//!   subscribes to the stage before it when it starts, and the upstream
//!   stage forwards finished work to its subscriber's address. A stage that
//!   restarts alone loses its subscriber: that is the dependency that makes
//!   `rest_for_one` the right supervision strategy for a pipeline.
//!
//! This is ordinary runtime code: nothing here knows it is simulated.

use std::collections::BTreeMap;

use rehearsal_runtime::retry::RetryPolicy;
use rehearsal_runtime::supervisor::Supervisor;
use rehearsal_runtime::tasks::{Orphaned, Tasks};
use rehearsal_runtime::{
    Actor, ActorId, Ctx, Nanos, ReplyTo, RequestId, Response, ServiceError, ServiceId, ServiceOutcome, Signal, TimerId,
};

use crate::ledger::{Cause, Outcome};

mod dispatch;

pub use dispatch::Dispatch;
use dispatch::{Dispatcher, Pick, Queued};

/// Tools' service ids start here; LLMs' at 0.
const TOOL_IDS: u16 = 0x8000;

/// The service id of LLM `index` (into `Scenario::llms`).
pub fn llm_service(index: u16) -> ServiceId {
    ServiceId(index)
}

/// The service id of tool `index` (into `Scenario::tools`).
pub fn tool_service(index: u16) -> ServiceId {
    ServiceId(TOOL_IDS + index)
}

/// Which service an id names.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ServiceRef {
    Llm(u16),
    Tool(u16),
}

impl ServiceRef {
    pub fn of(id: ServiceId) -> ServiceRef {
        if id.0 >= TOOL_IDS { ServiceRef::Tool(id.0 - TOOL_IDS) } else { ServiceRef::Llm(id.0) }
    }
}

/// BUGGIFY site: an agent hesitates (up to 250 ms) before a call, as a
/// busy process would; legal, rare, and good at shaking out timing bugs.
pub const SITE_AGENT_HESITATES: u64 = 0xa9e7_0001;

/// The idempotency key of step `step` of part `part` of request `id`: 32
/// bits of request, 16 of part, 16 of step. The scenario's limits keep
/// every field in range (a run ends long before 2^32 requests; fan-outs
/// and workflows are capped below 2^16), so two calls share a key only if
/// they are the same logical call.
pub fn idempotency_key(id: u64, part: u32, step: u32) -> u64 {
    debug_assert!(id < 1 << 32 && part < 1 << 16 && step < 1 << 16, "key fields out of range");
    (id << 32) | (u64::from(part & 0xffff) << 16) | u64::from(step & 0xffff)
}

/// The `(request, part, step)` an idempotency key was made from.
pub fn decode_idempotency_key(key: u64) -> (u64, u32, u32) {
    (key >> 32, ((key >> 16) & 0xffff) as u32, (key & 0xffff) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_round_trip_and_do_not_alias() {
        for (id, part, step) in [(0, 0, 0), (7, 3, 2), (u32::MAX as u64, 65_535, 65_535), (1, 4_096, 256)] {
            assert_eq!(decode_idempotency_key(idempotency_key(id, part, step)), (id, part, step));
        }
        // The old layout (12 bits of part, 8 of step) made these collide.
        assert_ne!(idempotency_key(1, 0, 256), idempotency_key(1, 1, 0));
        assert_ne!(idempotency_key(1, 4_096, 0), idempotency_key(2, 0, 0));
    }
}

/// The registered name of agent (or pipeline stage) `index`.
pub fn agent_name(index: u32) -> u64 {
    1_000 + index as u64
}

/// One call of a workflow: which service, with what per-attempt timeout.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct StepSpec {
    pub service: ServiceId,
    pub timeout: Nanos,
}

/// Each request's type (its index in `workload.types`), by request id:
/// written by the world when the request arrives, read by the agent that
/// runs it. Empty with a single type (every request is type 0).
pub type RequestKinds = std::rc::Rc<std::cell::RefCell<Vec<u16>>>;

/// Messages of the fleet.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    /// A client's request (an ask from outside to the gateway).
    Request { id: u64 },
    /// Pool and fan-out: the gateway asks an agent to run request `id`
    /// (`part` of a fan-out; 0 otherwise).
    Work { id: u64, part: u32 },
    /// Pipeline: request `id` enters a stage; the last stage answers `reply`.
    Stage { id: u64, reply: ReplyTo },
    /// Pipeline: a stage subscribes to the stage before it.
    Subscribe { from: ActorId },
    /// Fan-out: the gateway no longer needs part `part` of request `id`
    /// (the request's answer is decided): stop working on it. Urgent: it
    /// reaches a busy agent at once (see [`Actor::is_urgent`]).
    Cancel { id: u64, part: u32 },
    /// An answer: to a client, or from an agent to the gateway. A failure
    /// carries its cause, as an error response would.
    Outcome { id: u64, outcome: Outcome },
}

/// Every actor of the fleet: one type, so dispatch is a `match`.
#[derive(Debug)]
pub enum FleetActor {
    Gateway(Gateway),
    Agent(Agent),
    Stage(Stage),
    Supervisor(Box<Supervisor<FleetActor>>),
}

impl Actor for FleetActor {
    type Msg = Msg;

    #[inline]
    fn is_urgent(msg: &Msg) -> bool {
        matches!(msg, Msg::Cancel { .. })
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        match self {
            FleetActor::Agent(a) => ctx.register(agent_name(a.index)),
            FleetActor::Stage(s) => s.on_start(ctx),
            FleetActor::Supervisor(s) => s.on_start(ctx),
            FleetActor::Gateway(_) => {}
        }
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, Self>) {
        match self {
            FleetActor::Gateway(g) => g.handle(msg, ctx),
            FleetActor::Agent(a) => a.handle(msg, ctx),
            FleetActor::Stage(s) => s.handle(msg, ctx),
            FleetActor::Supervisor(s) => s.on_message(msg, ctx),
        }
    }

    fn on_response(&mut self, request: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, Self>) {
        match self {
            FleetActor::Gateway(g) => g.on_response(request, response, ctx),
            FleetActor::Agent(a) => a.on_response(request, response, ctx),
            FleetActor::Stage(s) => s.on_response(request, response, ctx),
            FleetActor::Supervisor(_) => {}
        }
    }

    fn on_timer(&mut self, timer: TimerId, tag: u64, ctx: &mut Ctx<'_, Self>) {
        match self {
            FleetActor::Agent(a) => a.on_timer(tag, ctx),
            FleetActor::Stage(s) => s.on_timer(tag, ctx),
            FleetActor::Supervisor(s) => {
                s.on_timer(timer, tag, ctx);
            }
            FleetActor::Gateway(_) => {}
        }
    }

    fn on_signal(&mut self, signal: Signal, ctx: &mut Ctx<'_, Self>) {
        match self {
            FleetActor::Gateway(g) => g.on_signal(signal, ctx),
            FleetActor::Supervisor(s) => s.on_signal(signal, ctx),
            _ => {
                if signal == Signal::Shutdown {
                    ctx.exit(rehearsal_runtime::ExitReason::Shutdown);
                }
            }
        }
    }
}

/// Counters the gateway keeps.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct GatewayStats {
    /// Requests in flight on an agent when it died, failed without retry.
    pub lost_to_crash: u64,
    /// Requests re-sent to another agent after theirs died.
    pub retried_after_crash: u64,
    /// Requests failed at once because no agent (or first stage) was up.
    pub no_agent: u64,
    /// Requests an agent's full mailbox refused.
    pub rejected: u64,
    /// Fan-out parts cancelled once their request's answer was decided.
    pub parts_cancelled: u64,
}

/// How a fan-out request is answered from its parts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FanOutPolicy {
    /// Every part must succeed.
    All,
    /// A majority of the parts must succeed.
    Quorum,
    /// The first part to succeed answers.
    First,
}

/// A fan-out request waiting for its parts.
#[derive(Clone, Debug)]
struct FanOut {
    reply: ReplyTo,
    ok: u32,
    failed: u32,
    /// The cause of the latest failed part.
    cause: Cause,
    /// The asks made for its parts (some may be settled already).
    asks: Vec<RequestId>,
}

/// What the gateway does with a request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Mode {
    /// Ask one agent.
    Pool,
    /// Hand it to the first pipeline stage.
    Pipeline,
    /// Ask `parts` agents at once and answer by `policy`.
    FanOut { parts: u32, policy: FanOutPolicy },
}

/// Pool: spreads requests over the agents by its [`Dispatch`] strategy
/// (round-robin over those up by default). Pipeline: hands every request
/// to the first stage. Fan-out: asks several agents at once (each chosen
/// by the dispatch strategy) and answers from their answers.
#[derive(Debug)]
pub struct Gateway {
    mode: Mode,
    dispatcher: Dispatcher,
    work_timeout: Nanos,
    /// Asks in flight, keyed by (request, part, client, agent index).
    tasks: Tasks<(u64, u32, ReplyTo, u32)>,
    fanouts: BTreeMap<u64, FanOut>,
    pub stats: GatewayStats,
}

impl Gateway {
    /// A pool gateway over `agents` agents, with Ray's `max_task_retries`.
    pub fn pool(agents: u32, work_timeout: Nanos, max_task_retries: u32) -> Self {
        Gateway {
            mode: Mode::Pool,
            dispatcher: Dispatcher::new(Dispatch::RoundRobin, agents),
            work_timeout,
            tasks: Tasks::new(max_task_retries),
            fanouts: BTreeMap::new(),
            stats: GatewayStats::default(),
        }
    }

    /// A pipeline gateway.
    pub fn pipeline() -> Self {
        Gateway { mode: Mode::Pipeline, ..Gateway::pool(1, 0, 0) }
    }

    /// A fan-out gateway: `parts` agents per request, each given
    /// `part_timeout`, answered by `policy`.
    pub fn fan_out(agents: u32, parts: u32, policy: FanOutPolicy, part_timeout: Nanos, max_task_retries: u32) -> Self {
        let parts = parts.clamp(1, agents.max(1));
        Gateway { mode: Mode::FanOut { parts, policy }, ..Gateway::pool(agents, part_timeout, max_task_retries) }
    }

    /// The same gateway, spreading work by `dispatch`.
    pub fn with_dispatch(mut self, dispatch: Dispatch) -> Self {
        self.dispatcher = Dispatcher::new(dispatch, self.dispatcher.agents());
        self
    }

    /// How this gateway spreads work over its agents.
    pub fn dispatch_strategy(&self) -> Dispatch {
        self.dispatcher.kind()
    }

    /// Calls that were in flight on agents when they died.
    pub fn orphaned(&self) -> u64 {
        self.tasks.orphaned
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, FleetActor>) {
        let (Msg::Request { id }, Some(reply)) = (msg, ctx.reply_to()) else { return };
        if let Mode::FanOut { parts, .. } = self.mode {
            self.fanouts.insert(id, FanOut { reply, ok: 0, failed: 0, cause: Cause::AgentTimeout, asks: Vec::new() });
            for part in 0..parts {
                self.dispatch(id, part, reply, 1, ctx);
            }
            return self.drain(ctx);
        }
        if self.mode == Mode::Pipeline {
            match ctx.whereis(agent_name(0)) {
                Some(first) => ctx.tell(first, Msg::Stage { id, reply }),
                None => {
                    self.stats.no_agent += 1;
                    ctx.reply(reply, Msg::Outcome { id, outcome: Outcome::Failed(Cause::NoAgentAvailable) });
                }
            }
            return;
        }
        self.dispatch(id, 0, reply, 1, ctx);
        self.drain(ctx);
    }

    /// Hand part `part` of request `id` to an agent chosen by the dispatch
    /// strategy, or (shared queue) to the back of the queue: the caller
    /// then drains it ([`Gateway::drain`]). A re-sent request (`attempt` >
    /// 1) goes to the front: it was at the head once already.
    fn dispatch(&mut self, id: u64, part: u32, reply: ReplyTo, attempt: u32, ctx: &mut Ctx<'_, FleetActor>) {
        if self.dispatcher.kind() == Dispatch::SharedQueue {
            let queued = Queued { id, part, reply, attempt, since: ctx.now() };
            let queue = self.dispatcher.queue_mut();
            if attempt > 1 {
                queue.push_front(queued)
            } else {
                queue.push_back(queued)
            }
            return;
        }
        match self.dispatcher.pick(ctx) {
            Pick::Agent(index, agent) => self.send(index, agent, id, part, reply, attempt, ctx),
            Pick::Wait | Pick::NoneUp => {
                self.stats.no_agent += 1;
                self.settle(id, reply, Outcome::Failed(Cause::NoAgentAvailable), ctx);
            }
        }
    }

    /// Ask agent `index` (at `agent`) to run part `part` of request `id`.
    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        index: u32,
        agent: ActorId,
        id: u64,
        part: u32,
        reply: ReplyTo,
        attempt: u32,
        ctx: &mut Ctx<'_, FleetActor>,
    ) {
        let key = (id, part, reply, index);
        let ask = self.tasks.ask(ctx, agent, Msg::Work { id, part }, self.work_timeout, key, attempt);
        self.dispatcher.sent(index);
        if let Some(fan) = self.fanouts.get_mut(&id) {
            fan.asks.push(ask);
        }
    }

    /// Shared queue: hand waiting work, oldest first, to agents the
    /// gateway knows are free. Work that waited its whole `work_timeout`
    /// fails as `agent_timeout` (as an ask that long unanswered would);
    /// with no agent believed up, the waiting work fails as
    /// `no_agent_available`. Called at the end of every handler that may
    /// have queued work or freed an agent; a no-op for the other
    /// strategies (their queue stays empty).
    fn drain(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        while let Some(q) = self.dispatcher.queue_mut().front().copied() {
            if ctx.now().saturating_sub(q.since) >= self.work_timeout {
                self.dispatcher.queue_mut().pop_front();
                self.settle(q.id, q.reply, Outcome::Failed(Cause::AgentTimeout), ctx);
                continue;
            }
            match self.dispatcher.pick(ctx) {
                Pick::Agent(index, agent) => {
                    self.dispatcher.queue_mut().pop_front();
                    self.send(index, agent, q.id, q.part, q.reply, q.attempt, ctx);
                }
                Pick::Wait => break,
                Pick::NoneUp => {
                    self.dispatcher.queue_mut().pop_front();
                    self.stats.no_agent += 1;
                    self.settle(q.id, q.reply, Outcome::Failed(Cause::NoAgentAvailable), ctx);
                }
            }
        }
    }

    /// One answer for request `id`: to the client at once, or, in a
    /// fan-out, counted towards the request's answer.
    fn settle(&mut self, id: u64, reply: ReplyTo, outcome: Outcome, ctx: &mut Ctx<'_, FleetActor>) {
        let Mode::FanOut { parts, policy } = self.mode else {
            ctx.reply(reply, Msg::Outcome { id, outcome });
            return;
        };
        let Some(fan) = self.fanouts.get_mut(&id) else { return };
        match outcome {
            Outcome::Succeeded => fan.ok += 1,
            Outcome::Failed(cause) => {
                fan.failed += 1;
                fan.cause = cause;
            }
        }
        let needed = match policy {
            FanOutPolicy::All => parts,
            FanOutPolicy::Quorum => parts / 2 + 1,
            FanOutPolicy::First => 1,
        };
        if fan.ok >= needed || fan.failed > parts - needed {
            // A failed fan-out fails with the cause of the part that decided it.
            let outcome = if fan.ok >= needed { Outcome::Succeeded } else { Outcome::Failed(fan.cause) };
            ctx.reply(fan.reply, Msg::Outcome { id, outcome });
            // Decided: the parts still running are not needed any more.
            // Forget their asks and tell their agents to stop (and cancel
            // their calls), so they neither hold agents nor cost tokens.
            if let Some(fan) = self.fanouts.remove(&id) {
                for ask in fan.asks {
                    if let Some(task) = self.tasks.settle(ask) {
                        self.dispatcher.settled(task.key.3);
                        ctx.cancel(ask);
                        ctx.tell(task.callee, Msg::Cancel { id, part: task.key.1 });
                        self.stats.parts_cancelled += 1;
                    }
                }
                // Parts still waiting in the shared queue never start.
                let queue = self.dispatcher.queue_mut();
                let before = queue.len();
                queue.retain(|q| q.id != id);
                self.stats.parts_cancelled += (before - queue.len()) as u64;
            }
        }
    }

    fn on_response(&mut self, request: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(task) = self.tasks.settle(request) else { return };
        let (id, _, reply, index) = task.key;
        // Answered, refused or timed out: the agent is free as far as the
        // gateway can know.
        self.dispatcher.settled(index);
        let outcome = match response {
            Response::Reply(Msg::Outcome { outcome, .. }) => outcome,
            Response::Undeliverable => {
                self.stats.rejected += 1;
                Outcome::Failed(Cause::MailboxFull)
            }
            // The ask timed out: the agent's answer (or the work) was lost,
            // or the agent died and its death is not known here yet.
            _ => Outcome::Failed(Cause::AgentTimeout),
        };
        self.settle(id, reply, outcome, ctx);
        self.drain(ctx);
    }

    fn on_signal(&mut self, signal: Signal, ctx: &mut Ctx<'_, FleetActor>) {
        let Signal::Down { actor, reason } = signal else { return };
        for orphan in self.tasks.on_down(actor, reason) {
            match orphan {
                Orphaned::Retry(task) => {
                    self.stats.retried_after_crash += 1;
                    let (id, part, reply, index) = task.key;
                    self.dispatcher.settled(index);
                    self.dispatch(id, part, reply, task.attempt, ctx);
                }
                Orphaned::GiveUp(task) => {
                    self.stats.lost_to_crash += 1;
                    let (id, _, reply, index) = task.key;
                    self.dispatcher.settled(index);
                    self.settle(id, reply, Outcome::Failed(Cause::AgentCrashed), ctx);
                }
            }
        }
        self.drain(ctx);
    }
}

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
enum CallResult {
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
/// why the latest attempt failed.
fn judge(
    response: Response<Msg>,
    service: ServiceId,
    failures: &mut u32,
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
    match retry.next_delay(*failures, random, retry_after) {
        Some(delay) => CallResult::RetryAfter(delay),
        None => CallResult::GiveUp,
    }
}

/// The request an agent is working on.
#[derive(Copy, Clone, Debug)]
struct Job {
    id: u64,
    part: u32,
    reply: ReplyTo,
    /// The request's type: which workflow runs.
    kind: u16,
    step: usize,
    /// Failed attempts of the current step.
    failures: u32,
    /// The call in flight, if any (none while backing off).
    call: Option<RequestId>,
    /// Tag of the backoff timer in flight, so a stale one is ignored.
    backoff_tag: u64,
    /// Why the latest failed attempt failed.
    cause: Cause,
}

/// Pool agent: works on one request at a time; while busy, new work waits
/// in the bounded mailbox (`set_accepting(false)`).
#[derive(Debug)]
pub struct Agent {
    index: u32,
    /// Each request type's steps.
    workflows: std::rc::Rc<Vec<Vec<StepSpec>>>,
    kinds: RequestKinds,
    retry: RetryPolicy,
    job: Option<Job>,
    next_tag: u64,
    /// Work cancelled before it was started, to skip when it comes.
    cancelled: std::collections::VecDeque<(u64, u32)>,
    pub stats: AgentStats,
}

/// How many cancelled-before-started parts an agent remembers (a bounded
/// memory: a cancellation older than that is forgotten and the work done).
const CANCELLED_MEMORY: usize = 64;

impl Agent {
    pub fn new(
        index: u32,
        workflows: std::rc::Rc<Vec<Vec<StepSpec>>>,
        kinds: RequestKinds,
        retry: RetryPolicy,
    ) -> Self {
        Agent {
            index,
            workflows,
            kinds,
            retry,
            job: None,
            next_tag: 0,
            cancelled: std::collections::VecDeque::new(),
            stats: AgentStats::default(),
        }
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, FleetActor>) {
        if let Msg::Cancel { id, part } = msg {
            return self.cancel(id, part, ctx);
        }
        let (Msg::Work { id, part }, Some(reply)) = (msg, ctx.reply_to()) else { return };
        if let Some(i) = self.cancelled.iter().position(|&c| c == (id, part)) {
            // Cancelled while it waited in the mailbox: skip it.
            self.cancelled.remove(i);
            self.stats.requests_cancelled += 1;
            return;
        }
        ctx.set_accepting(false);
        let kind = self.kinds.borrow().get(id as usize).copied().unwrap_or(0);
        self.job = Some(Job {
            id,
            part,
            reply,
            kind,
            step: 0,
            failures: 0,
            call: None,
            backoff_tag: 0,
            cause: Cause::LlmError,
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
        // One idempotency key per logical call: retries (and re-runs after a
        // crash) share it; the parts of a fan-out do not.
        let key = idempotency_key(job.id, job.part, job.step as u32);
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
        let steps = &self.workflows[usize::from(job.kind)];
        let (service, len) = (steps[job.step].service, steps.len());
        match judge(response, service, &mut job.failures, &mut job.cause, &self.retry, &mut self.stats, ctx) {
            CallResult::Succeeded => {
                job.step += 1;
                job.failures = 0;
                if job.step == len {
                    self.finish(Outcome::Succeeded, ctx);
                } else {
                    self.attempt(ctx);
                }
            }
            CallResult::RetryAfter(delay) => {
                self.next_tag += 1;
                job.backoff_tag = self.next_tag;
                ctx.set_timer(delay, self.next_tag);
            }
            CallResult::GiveUp => {
                let cause = job.cause;
                self.finish(Outcome::Failed(cause), ctx)
            }
        }
    }

    fn on_timer(&mut self, tag: u64, ctx: &mut Ctx<'_, FleetActor>) {
        match self.job {
            Some(job) if job.backoff_tag == tag && job.call.is_none() => self.attempt(ctx),
            _ => {}
        }
    }

    /// The gateway no longer needs this work: drop it, cancel the call in
    /// flight, and take the next request. No answer (nobody waits for it).
    fn cancel(&mut self, id: u64, part: u32, ctx: &mut Ctx<'_, FleetActor>) {
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
        ctx.reply(job.reply, Msg::Outcome { id: job.id, outcome });
        ctx.set_accepting(true);
    }
}

/// A request inside a pipeline stage.
#[derive(Copy, Clone, Debug)]
struct StageJob {
    reply: ReplyTo,
    failures: u32,
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

    fn on_start(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        ctx.register(agent_name(self.index));
        if self.index > 0 {
            let me = ctx.me();
            ctx.tell_named(agent_name(self.index - 1), Msg::Subscribe { from: me });
        }
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, FleetActor>) {
        match msg {
            Msg::Subscribe { from } => self.subscriber = Some(from),
            Msg::Stage { id, reply } => {
                self.jobs.insert(id, StageJob { reply, failures: 0, call: None, cause: Cause::LlmError });
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

    fn on_response(&mut self, request: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(id) = self.calls.remove(&request) else { return };
        let Some(job) = self.jobs.get_mut(&id) else { return };
        job.call = None;
        let service = self.step.service;
        match judge(response, service, &mut job.failures, &mut job.cause, &self.retry, &mut self.stats, ctx) {
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

    fn on_timer(&mut self, tag: u64, ctx: &mut Ctx<'_, FleetActor>) {
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
                ctx.reply(job.reply, Msg::Outcome { id, outcome: Outcome::Failed(Cause::NoDownstream) });
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
        ctx.reply(job.reply, Msg::Outcome { id, outcome });
    }
}
