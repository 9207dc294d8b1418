//! The gateway: receives client requests and hands them to agents (pool,
//! fan-out) or to the first pipeline stage.

use std::collections::BTreeMap;

use rehearsal_runtime::tasks::{Orphaned, Tasks};
use rehearsal_runtime::{ActorId, ActorLabel, Ctx, Nanos, ReplyTo, RequestId, Response, Signal};

use super::dispatch::{Dispatch, Dispatcher, Handoff, Pick, Queued};
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
    /// Fan-out parts cancelled once their request's answer was decided,
    /// and (router) work its asker no longer needed.
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
    /// A role's router: like a pool, for asks from other roles' agents
    /// (or clients, for the entry role), and an asker that no longer needs
    /// its work may cancel it.
    Router,
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
    /// Asks in flight: the work and the agent index it went to.
    tasks: Tasks<(Handoff, u32)>,
    fanouts: BTreeMap<u64, FanOut>,
    /// Router: the ask in flight for each (request, lineage), so an
    /// asker's cancellation finds it.
    by_part: BTreeMap<(u64, u64), RequestId>,
    /// Router: the role it routes to (for a trace's reader).
    role: u16,
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
            by_part: BTreeMap::new(),
            role: 0,
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

    /// The router of a role whose `agents` agents are numbered from
    /// `base`, each taking `slots` pieces of work at once; it waits
    /// `work_timeout` for an agent's answer.
    pub fn router(base: u32, agents: u32, slots: u32, work_timeout: Nanos, max_task_retries: u32) -> Self {
        let mut g = Gateway { mode: Mode::Router, ..Gateway::pool(agents, work_timeout, max_task_retries) };
        g.dispatcher = g.dispatcher.over(base, slots);
        g
    }

    /// The same router, named for role `role` (its index in the
    /// scenario's roles) in traces.
    pub fn for_role(mut self, role: u16) -> Self {
        self.role = role;
        self
    }

    /// What it is, for a trace: `gateway`, or `router R` for role `R`.
    pub(super) fn label(&self) -> ActorLabel {
        match self.mode {
            Mode::Router => ActorLabel::nth("router", u32::from(self.role)),
            _ => ActorLabel::one("gateway"),
        }
    }

    /// The same gateway, spreading work by `dispatch`.
    pub fn with_dispatch(mut self, dispatch: Dispatch) -> Self {
        self.dispatcher = self.dispatcher.with_kind(dispatch);
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
        if let Msg::Cancel { id, part } = msg {
            return self.cancel(id, part, ctx);
        }
        let (Msg::Request { id, work }, Some(reply)) = (msg, ctx.reply_to()) else { return };
        if let Mode::FanOut { parts, .. } = self.mode {
            self.fanouts.insert(id, FanOut { reply, ok: 0, failed: 0, cause: Cause::AgentTimeout, asks: Vec::new() });
            for part in 0..parts {
                self.dispatch(Handoff { id, part: u64::from(part), work, reply }, 1, ctx);
            }
            return self.drain(ctx);
        }
        if self.mode == Mode::Pipeline {
            match ctx.whereis(agent_name(0)) {
                Some(first) => ctx.tell(first, Msg::Stage { id, reply }),
                None => {
                    self.stats.no_agent += 1;
                    ctx.reply(
                        reply,
                        Msg::Outcome { id, outcome: Outcome::Failed(Cause::NoAgentAvailable), produced: 0 },
                    );
                }
            }
            return;
        }
        let part = if self.mode == Mode::Router { work.lineage } else { 0 };
        self.dispatch(Handoff { id, part, work, reply }, 1, ctx);
        self.drain(ctx);
    }

    /// Router: the asker of (request `id`, lineage `part`) no longer needs
    /// it. The agent working on it is told to stop; work still queued
    /// never starts. Nothing is answered (nobody waits).
    fn cancel(&mut self, id: u64, part: u64, ctx: &mut Ctx<'_, FleetActor>) {
        if let Some(ask) = self.by_part.remove(&(id, part))
            && let Some(task) = self.tasks.settle(ask)
        {
            self.dispatcher.settled(task.key.1);
            ctx.cancel(ask);
            ctx.tell(task.callee, Msg::Cancel { id, part });
            self.stats.parts_cancelled += 1;
        }
        let queue = self.dispatcher.queue_mut();
        let before = queue.len();
        queue.retain(|q| (q.handoff.id, q.handoff.part) != (id, part));
        self.stats.parts_cancelled += (before - queue.len()) as u64;
        self.drain(ctx);
    }

    /// Hand `handoff` to an agent chosen by the dispatch strategy, or
    /// (shared queue) to the back of the queue: the caller then drains it
    /// ([`Gateway::drain`]). A re-sent request (`attempt` > 1) goes to the
    /// front: it was at the head once already.
    fn dispatch(&mut self, handoff: Handoff, attempt: u32, ctx: &mut Ctx<'_, FleetActor>) {
        if self.dispatcher.kind() == Dispatch::SharedQueue {
            let queued = Queued { handoff, attempt, since: ctx.now() };
            let queue = self.dispatcher.queue_mut();
            if attempt > 1 {
                queue.push_front(queued)
            } else {
                queue.push_back(queued)
            }
            return;
        }
        match self.dispatcher.pick(ctx) {
            Pick::Agent(index, agent) => self.send(index, agent, handoff, attempt, ctx),
            Pick::Wait | Pick::NoneUp => {
                self.stats.no_agent += 1;
                self.settle(handoff, Outcome::Failed(Cause::NoAgentAvailable), ctx);
            }
        }
    }

    /// Ask agent `index` (at `agent`) to run `handoff`.
    fn send(&mut self, index: u32, agent: ActorId, handoff: Handoff, attempt: u32, ctx: &mut Ctx<'_, FleetActor>) {
        let Handoff { id, part, work, .. } = handoff;
        let msg = Msg::Work { id, part, work };
        let ask = self.tasks.ask(ctx, agent, msg, self.work_timeout, (handoff, index), attempt);
        self.dispatcher.sent(index);
        match self.mode {
            Mode::FanOut { .. } => {
                if let Some(fan) = self.fanouts.get_mut(&id) {
                    fan.asks.push(ask);
                }
            }
            Mode::Router => {
                self.by_part.insert((id, part), ask);
            }
            Mode::Pool | Mode::Pipeline => {}
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
                self.settle(q.handoff, Outcome::Failed(Cause::AgentTimeout), ctx);
                continue;
            }
            match self.dispatcher.pick(ctx) {
                Pick::Agent(index, agent) => {
                    self.dispatcher.queue_mut().pop_front();
                    self.send(index, agent, q.handoff, q.attempt, ctx);
                }
                Pick::Wait => break,
                Pick::NoneUp => {
                    self.dispatcher.queue_mut().pop_front();
                    self.stats.no_agent += 1;
                    self.settle(q.handoff, Outcome::Failed(Cause::NoAgentAvailable), ctx);
                }
            }
        }
    }

    /// One answer for `handoff`: to whoever waits at once, or, in a
    /// fan-out, counted towards the request's answer.
    fn settle(&mut self, handoff: Handoff, outcome: Outcome, ctx: &mut Ctx<'_, FleetActor>) {
        self.settle_produced(handoff, outcome, 0, ctx)
    }

    /// [`Gateway::settle`] for an answer whose work generated `produced`
    /// output tokens (passed on to a router's asker).
    fn settle_produced(&mut self, handoff: Handoff, outcome: Outcome, produced: u32, ctx: &mut Ctx<'_, FleetActor>) {
        let Handoff { id, part, reply, .. } = handoff;
        let Mode::FanOut { parts, policy } = self.mode else {
            if self.mode == Mode::Router {
                self.by_part.remove(&(id, part));
            }
            ctx.reply(reply, Msg::Outcome { id, outcome, produced });
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
            ctx.reply(fan.reply, Msg::Outcome { id, outcome, produced: 0 });
            // Decided: the parts still running are not needed any more.
            // Forget their asks and tell their agents to stop (and cancel
            // their calls), so they neither hold agents nor cost tokens.
            if let Some(fan) = self.fanouts.remove(&id) {
                for ask in fan.asks {
                    if let Some(task) = self.tasks.settle(ask) {
                        self.dispatcher.settled(task.key.1);
                        ctx.cancel(ask);
                        ctx.tell(task.callee, Msg::Cancel { id, part: task.key.0.part });
                        self.stats.parts_cancelled += 1;
                    }
                }
                // Parts still waiting in the shared queue never start.
                let queue = self.dispatcher.queue_mut();
                let before = queue.len();
                queue.retain(|q| q.handoff.id != id);
                self.stats.parts_cancelled += (before - queue.len()) as u64;
            }
        }
    }

    pub(super) fn on_response(&mut self, request: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(task) = self.tasks.settle(request) else { return };
        let (handoff, index) = task.key;
        // Answered, refused or timed out: the agent is free as far as the
        // gateway can know.
        self.dispatcher.settled(index);
        let mut produced = 0;
        let outcome = match response {
            Response::Reply(Msg::Outcome { outcome, produced: p, .. }) => {
                produced = p;
                outcome
            }
            Response::Undeliverable => {
                self.stats.rejected += 1;
                Outcome::Failed(Cause::MailboxFull)
            }
            // The ask timed out: the agent's answer (or the work) was lost,
            // or the agent died and its death is not known here yet. A
            // router's asker stops waiting now, so the agent is told to
            // stop too (a message it gets if it is alive and reachable).
            _ => {
                if self.mode == Mode::Router {
                    ctx.tell(task.callee, Msg::Cancel { id: handoff.id, part: handoff.part });
                }
                Outcome::Failed(Cause::AgentTimeout)
            }
        };
        self.settle_produced(handoff, outcome, produced, ctx);
        self.drain(ctx);
    }

    pub(super) fn on_signal(&mut self, signal: Signal, ctx: &mut Ctx<'_, FleetActor>) {
        let Signal::Down { actor, reason } = signal else { return };
        for orphan in self.tasks.on_down(actor, reason) {
            match orphan {
                Orphaned::Retry(task) => {
                    self.stats.retried_after_crash += 1;
                    let (handoff, index) = task.key;
                    self.dispatcher.settled(index);
                    self.dispatch(handoff, task.attempt, ctx);
                }
                Orphaned::GiveUp(task) => {
                    self.stats.lost_to_crash += 1;
                    let (handoff, index) = task.key;
                    self.dispatcher.settled(index);
                    self.settle(handoff, Outcome::Failed(Cause::AgentCrashed), ctx);
                }
            }
        }
        self.drain(ctx);
    }
}
