//! The gateway: receives client requests and hands them to agents (pool,
//! fan-out) or to the first pipeline stage.

use std::collections::BTreeMap;

use rehearsal_runtime::tasks::{Orphaned, Tasks};
use rehearsal_runtime::{ActorId, Ctx, Nanos, ReplyTo, RequestId, Response, Signal};

use super::dispatch::{Dispatch, Dispatcher, Pick, Queued};
use super::{FleetActor, Msg, agent_name};
use crate::ledger::{Cause, Outcome};

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

    pub(super) fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, FleetActor>) {
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

    pub(super) fn on_response(&mut self, request: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, FleetActor>) {
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

    pub(super) fn on_signal(&mut self, signal: Signal, ctx: &mut Ctx<'_, FleetActor>) {
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
