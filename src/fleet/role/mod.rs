//! A role's agent: runs its role's workflow (see
//! [`crate::scenario::workflow`]) for each piece of work it is asked to
//! do, up to `concurrency` at once; more waits in its mailbox.
//!
//! A running piece of work is a `Work`: a flat list of frames, one per
//! step started, each pointing at its workflow node and its parent frame.
//! Leaves (service calls and asks) wait for answers; a frame ends when its
//! leaf is answered or its children decide it, and tells its parent.
//! Cancelling a frame (a decided `parallel`, work its asker gave up on)
//! cancels everything under it: calls at the service, asks at the asked
//! role's router, which tells its agent.
//!
//! An agent knows what a real one would: its own work, the answers to its
//! calls and asks, and the addresses of the roles' routers. The random
//! parts of a workflow (a loop's count, whether the model is done, which
//! branch) are drawn from a stream keyed by the request, the work's
//! lineage and the step, so every strategy sees the same draws (common
//! random numbers), whatever order things happen in.

mod activation;
mod call;
mod occ;
mod state;

pub use state::StateStore;

use activation::{Activation, LOAD_TAG};

use std::collections::VecDeque;
use std::rc::Rc;

use rehearsal_runtime::resilience::Permit;
use rehearsal_runtime::retry::RetryPolicy;
use rehearsal_runtime::{ActorId, Ctx, Nanos, ReplyTo, RequestId, Response, ServiceId};
use rehearsal_sim::dist::unit_f64;
use rehearsal_sim::rng::{call_stream, splitmix64};

use super::agent::AgentStats;
use super::telemetry::Telemetry;
use super::{FleetActor, Msg, WorkRef, agent_name};
use crate::ledger::{Cause, Outcome};
use crate::scenario::workflow::{LoopEnd, Node, NodeIndex, RoleIndex, Workflows};
use crate::system::{StoreOp, step_service};

/// What every role agent of a run shares (read-only).
#[derive(Debug)]
pub struct RolePlan {
    pub workflows: Workflows,
    pub roles: Vec<RoleSpec>,
    /// Per request type: its own workflow for the entry role, if any.
    pub type_workflows: Vec<Option<NodeIndex>>,
    pub entry: RoleIndex,
    /// Each role's router, by role index.
    pub routers: Vec<ActorId>,
    /// The seed of the workflow draws.
    pub seed: u64,
    pub telemetry: Telemetry,
    /// The run's resilience policy, applied at every call step.
    pub guards: super::build::Guards,
    /// What the state store holds for each virtual agent.
    pub state_store: std::cell::RefCell<StateStore>,
    /// The nodes' CPUs (a role's `cpu` time runs there).
    pub cpus: std::cell::RefCell<super::cpu::Cpus>,
}

/// One role, as its agents need it.
#[derive(Clone, Debug)]
pub struct RoleSpec {
    pub workflow: NodeIndex,
    pub concurrency: u32,
    pub mailbox: Option<u32>,
    /// The role's retry policy (its own, or the axis's).
    pub retry: RetryPolicy,
    /// Virtual roles: the time an activation takes to load its state.
    pub state_load: Option<rehearsal_sim::dist::Dist>,
    /// Virtual roles: durable state in a store.
    pub state: Option<crate::scenario::workflow::StateSpec>,
    /// CPU time per piece of work on the agent's node.
    pub cpu_ns: Nanos,
}

/// Where the frames of a piece of work point: no parent.
const ROOT: u32 = u32::MAX;

/// A step started for a piece of work.
#[derive(Clone, Debug)]
struct Frame {
    node: NodeIndex,
    parent: u32,
    /// Which instance of its step this is (parallel branch, loop turn,
    /// asked work): with the request id and step, it keys the idempotency
    /// key and the draws.
    lineage: u64,
    started_at: Nanos,
    state: State,
    done: bool,
}

#[derive(Clone, Debug)]
enum State {
    Call {
        failures: u32,
        previous_delay: Nanos,
        call: Option<RequestId>,
        tag: u64,
        cause: Cause,
        /// A fallback model, once the step's own failed for good.
        fallback: Option<ServiceId>,
        permit: Option<Permit>,
        called_at: Nanos,
    },
    Ask {
        ask: Option<RequestId>,
        asked: u64,
    },
    /// An optimistic-concurrency update: a read or a write in flight (or a
    /// backoff after a conflict).
    Occ {
        call: Option<RequestId>,
        writing: bool,
        conflicts: u32,
        previous_delay: Nanos,
        tag: u64,
    },
    Sequence {
        next: u32,
    },
    Parallel {
        ok: u32,
        failed: u32,
        cause: Cause,
    },
    Loop {
        turn: u32,
        target: u32,
    },
    Branch,
}

/// A piece of work this agent runs.
#[derive(Clone, Debug)]
struct Work {
    id: u64,
    /// The lineage it was asked with (its asker's frame).
    part: u64,
    reply: ReplyTo,
    kind: u16,
    /// The request's key.
    key: u32,
    /// Tokens in the work's context: what it was asked with plus every
    /// output token of its calls and asks so far.
    context: u32,
    /// Output tokens produced by this work (and the work it asked), sent
    /// back with its answer.
    produced: u32,
    frames: Vec<Frame>,
}

/// Outstanding answers: calls and asks by request id, backoff timers by tag.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Wait {
    Answer(RequestId),
    Timer(u64),
}

/// The frame index of a wait for CPU (before the workflow's first frame).
const CPU_WAIT: u32 = u32::MAX;

/// How many cancelled-before-started pieces of work an agent remembers.
const CANCELLED_MEMORY: usize = 64;

/// An agent of a role.
#[derive(Debug)]
pub struct RoleAgent {
    /// Global agent index (its registered name is `agent_name(index)`).
    pub index: u32,
    role: RoleIndex,
    plan: Rc<RolePlan>,
    works: Vec<Work>,
    /// (what, work id, work part, frame).
    waits: Vec<(Wait, u64, u64, u32)>,
    next_tag: u64,
    cancelled: VecDeque<(u64, u64)>,
    guard: Option<super::guard::Guard>,
    /// A virtual agent's activation (see [`super::directory`]); `None`
    /// for a role's fixed agents.
    activation: Option<Box<Activation>>,
    pub stats: AgentStats,
}

impl RoleAgent {
    pub fn new(index: u32, role: RoleIndex, plan: Rc<RolePlan>) -> Self {
        RoleAgent {
            index,
            role,
            works: Vec::new(),
            waits: Vec::new(),
            next_tag: 0,
            cancelled: VecDeque::new(),
            guard: plan.guards.guard(),
            plan,
            activation: None,
            stats: AgentStats::default(),
        }
    }

    fn spec(&self) -> &RoleSpec {
        &self.plan.roles[usize::from(self.role)]
    }

    /// `agent N` for a fixed agent, `activation K` for virtual agent K.
    pub(super) fn label(&self) -> rehearsal_runtime::ActorLabel {
        match self.activation.as_deref() {
            Some(a) => rehearsal_runtime::ActorLabel::nth("activation", a.key),
            None => rehearsal_runtime::ActorLabel::nth("agent", self.index),
        }
    }

    /// The mailbox bound of this role, if it has its own.
    pub fn mailbox_capacity(&self) -> Option<u32> {
        self.spec().mailbox
    }

    pub(super) fn on_start(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        if let Some(a) = self.activation.as_deref().copied() {
            // Load the state first: the work waits in the mailbox.
            let role = &self.plan.roles[usize::from(self.role)];
            if role.state.is_some() {
                let (me, now) = (ctx.me().to_bits(), ctx.now());
                self.plan.telemetry.borrow_mut().activation_started(a.key, me, ctx.node().0, now, 0);
                ctx.set_accepting(false);
                return self.begin_load(ctx);
            }
            let mut rng = call_stream(self.plan.seed, 0x5747_0000, u64::from(a.key), 0);
            let load = role.state_load.as_ref().map_or(0, |d| d.sample_u64(&mut rng));
            let (me, now) = (ctx.me().to_bits(), ctx.now());
            self.plan.telemetry.borrow_mut().activation_started(a.key, me, ctx.node().0, now, load);
            ctx.set_accepting(false);
            ctx.set_timer(load, LOAD_TAG);
            return;
        }
        ctx.register(agent_name(self.index));
        self.plan.telemetry.borrow_mut().agent_started(self.index, ctx.now());
    }

    pub(super) fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, FleetActor>) {
        if let Msg::Remind { .. } = msg {
            // A reminder woke it: it counts as activity.
            return self.idle(ctx);
        }
        if let Msg::Deactivate = msg {
            return self.deactivate(ctx);
        }
        if let Msg::Cancel { id, part } = msg {
            return self.cancel_work(id, part, ctx);
        }
        let (Msg::Work { id, part, work }, Some(reply)) = (msg, ctx.reply_to()) else { return };
        if let Some(a) = self.activation.as_mut() {
            // The state store's calls are filed under the last request.
            a.state.request = id;
        }
        if let Some(i) = self.cancelled.iter().position(|&c| c == (id, part)) {
            self.cancelled.remove(i);
            self.stats.requests_cancelled += 1;
            return;
        }
        self.works.push(Work {
            id,
            part,
            reply,
            kind: work.kind,
            key: work.key,
            context: work.context,
            produced: 0,
            frames: Vec::new(),
        });
        if self.works.len() as u32 >= self.spec().concurrency {
            ctx.set_accepting(false);
        }
        self.plan.telemetry.borrow_mut().slots(self.index, ctx.now(), true);
        let w = self.works.len() - 1;
        let cpu_ns = self.spec().cpu_ns;
        if cpu_ns > 0 {
            // First its CPU time on this node, after whatever runs there.
            let done = self.plan.cpus.borrow_mut().run(ctx.node().0, ctx.now(), cpu_ns);
            let run = (done - cpu_ns, done);
            self.plan.telemetry.borrow_mut().cpu_runs.entry(ctx.node().0).or_default().push(run);
            self.next_tag += 1;
            let tag = self.next_tag;
            ctx.set_timer(done - ctx.now(), tag);
            self.waits.push((Wait::Timer(tag), id, part, CPU_WAIT));
            return;
        }
        let root = self.root_of(w);
        self.spawn(w, root, ROOT, part, ctx);
    }

    /// The workflow work `w` runs: its request type's own (at the entry
    /// role), or the role's.
    fn root_of(&self, w: usize) -> NodeIndex {
        match self.plan.type_workflows.get(usize::from(self.works[w].kind)) {
            Some(Some(root)) if self.role == self.plan.entry => *root,
            _ => self.spec().workflow,
        }
    }

    fn work_index(&self, id: u64, part: u64) -> Option<usize> {
        self.works.iter().position(|w| (w.id, w.part) == (id, part))
    }

    /// Start node `node` as a new frame of work `w` under `parent`.
    fn spawn(&mut self, w: usize, node: NodeIndex, parent: u32, lineage: u64, ctx: &mut Ctx<'_, FleetActor>) {
        let state = match self.plan.workflows.node(node) {
            Node::Call(_) => State::Call {
                failures: 0,
                previous_delay: 0,
                call: None,
                tag: 0,
                cause: Cause::LlmError,
                fallback: None,
                permit: None,
                called_at: 0,
            },
            Node::Ask { .. } => State::Ask { ask: None, asked: 0 },
            Node::Occ(_) => State::Occ { call: None, writing: false, conflicts: 0, previous_delay: 0, tag: 0 },
            Node::Sequence { .. } => State::Sequence { next: 1 },
            Node::Parallel { .. } => State::Parallel { ok: 0, failed: 0, cause: Cause::AgentTimeout },
            Node::Loop { .. } => State::Loop { turn: 0, target: 0 },
            Node::Branch { .. } => State::Branch,
        };
        let work = &mut self.works[w];
        work.frames.push(Frame { node, parent, lineage, started_at: ctx.now(), state, done: false });
        let f = (work.frames.len() - 1) as u32;
        if let Some(step) = step_of(self.plan.workflows.node(node)) {
            self.plan.telemetry.borrow_mut().step_started(step);
        }
        self.enter(w, f, ctx);
    }

    /// Do what frame `f` does first.
    fn enter(&mut self, w: usize, f: u32, ctx: &mut Ctx<'_, FleetActor>) {
        let plan = self.plan.clone();
        let frame = &self.works[w].frames[f as usize];
        let lineage = frame.lineage;
        match plan.workflows.node(frame.node) {
            Node::Call(_) => self.attempt(w, f, ctx),
            Node::Occ(_) => self.store_op(w, f, StoreOp::Read, ctx),
            Node::Ask { step, role, timeout_ns, context } => {
                let work = &self.works[w];
                let asked = mix(lineage, 0xa5a5_0000 | u64::from(*step));
                let msg = Msg::Request {
                    id: work.id,
                    work: WorkRef {
                        kind: work.kind,
                        lineage: asked,
                        context: if *context { work.context } else { 0 },
                        key: work.key,
                    },
                };
                let (id, part) = (work.id, work.part);
                let ask = ctx.ask(plan.routers[usize::from(*role)], msg, *timeout_ns);
                self.works[w].frames[f as usize].state = State::Ask { ask: Some(ask), asked };
                self.waits.push((Wait::Answer(ask), id, part, f));
            }
            Node::Sequence { children, .. } => {
                let first = children[0];
                self.spawn(w, first, f, lineage, ctx);
            }
            Node::Parallel { branches, .. } => {
                for (i, &b) in branches.iter().enumerate() {
                    // A branch may decide the parallel (a join that already
                    // cannot be met): stop starting more.
                    if self.works.get(w).is_none_or(|work| work.frames[f as usize].done) {
                        break;
                    }
                    self.spawn(w, b, f, mix(lineage, i as u64 + 1), ctx);
                }
            }
            Node::Loop { step, body, max, until } => {
                let target = match until {
                    LoopEnd::Count(dist) => {
                        let mut rng = self.draws(w, lineage, *step, 0);
                        (dist.sample(&mut rng).round().max(1.0) as u64).min(u64::from(*max)) as u32
                    }
                    LoopEnd::DoneProbability(_) | LoopEnd::Max => *max,
                };
                self.works[w].frames[f as usize].state = State::Loop { turn: 0, target };
                self.spawn(w, *body, f, mix(lineage, 1 << 32), ctx);
            }
            Node::Branch { step, options } => {
                let mut rng = self.draws(w, lineage, *step, 0);
                let u = unit_f64(&mut rng);
                let chosen = options.iter().find(|(p, _)| u < *p).or(options.last()).map_or(0, |&(_, n)| n);
                self.spawn(w, chosen, f, lineage, ctx);
            }
        }
    }

    /// The draws of step `step` for lineage `lineage` of work `w`, turn `n`.
    fn draws(&self, w: usize, lineage: u64, step: u16, n: u32) -> rehearsal_sim::rng::CallRng {
        let id = self.works[w].id;
        call_stream(self.plan.seed, 0x7700_0000 | u64::from(step), mix(id, lineage), n)
    }

    fn take_wait(&mut self, wait: Wait) -> Option<(usize, u32)> {
        let i = self.waits.iter().position(|x| x.0 == wait)?;
        let (_, id, part, f) = self.waits.swap_remove(i);
        Some((self.work_index(id, part)?, f))
    }

    pub(super) fn on_response(&mut self, request: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, FleetActor>) {
        if self.activation.is_some() && self.on_state_answer(request, &response, ctx) {
            return;
        }
        let Some((w, f)) = self.take_wait(Wait::Answer(request)) else { return };
        let plan = self.plan.clone();
        let frame = &self.works[w].frames[f as usize];
        match plan.workflows.node(frame.node) {
            Node::Occ(_) => self.on_store_answer(w, f, response, ctx),
            Node::Call(call) => self.on_call_answer(w, f, call, response, ctx),
            Node::Ask { role, .. } => {
                let result = match response {
                    Response::Reply(Msg::Outcome { outcome: Outcome::Succeeded, produced, .. }) => {
                        let work = &mut self.works[w];
                        work.context = work.context.saturating_add(produced);
                        work.produced = work.produced.saturating_add(produced);
                        Ok(())
                    }
                    Response::Reply(Msg::Outcome { outcome: Outcome::Failed(cause), .. }) => Err(cause),
                    Response::Undeliverable => Err(Cause::MailboxFull),
                    _ => {
                        // Timed out: the router may still be working on it;
                        // tell it nobody waits any more.
                        if let State::Ask { asked, .. } = frame.state {
                            let id = self.works[w].id;
                            ctx.tell(plan.routers[usize::from(*role)], Msg::Cancel { id, part: asked });
                        }
                        Err(Cause::AgentTimeout)
                    }
                };
                if let State::Ask { ask, .. } = &mut self.works[w].frames[f as usize].state {
                    *ask = None;
                }
                self.end(w, f, result, ctx);
            }
            _ => {}
        }
    }

    pub(super) fn on_timer(&mut self, tag: u64, ctx: &mut Ctx<'_, FleetActor>) {
        if self.activation_timer(tag, ctx) {
            return;
        }
        if let Some((w, f)) = self.take_wait(Wait::Timer(tag)) {
            if f == CPU_WAIT {
                // Its CPU time is done: the workflow starts.
                let (root, part) = (self.root_of(w), self.works[w].part);
                return self.spawn(w, root, ROOT, part, ctx);
            }
            match self.works[w].frames[f as usize].state {
                State::Occ { .. } => self.store_op(w, f, StoreOp::Read, ctx),
                _ => self.attempt(w, f, ctx),
            }
        }
    }

    /// Frame `f` of work `w` ended with `result`: record it and tell its
    /// parent (or answer the work, at the root).
    fn end(&mut self, w: usize, f: u32, result: Result<(), Cause>, ctx: &mut Ctx<'_, FleetActor>) {
        let plan = self.plan.clone();
        let frame = &mut self.works[w].frames[f as usize];
        if frame.done {
            return;
        }
        frame.done = true;
        let (parent, started_at, node) = (frame.parent, frame.started_at, frame.node);
        if let Some(step) = step_of(plan.workflows.node(node)) {
            plan.telemetry.borrow_mut().step_ended(step, started_at, ctx.now(), Some(result.is_ok()));
        }
        if parent == ROOT {
            return self.finish(w, result, ctx);
        }
        let (p_node, p_lineage) = {
            let p = &self.works[w].frames[parent as usize];
            (p.node, p.lineage)
        };
        match plan.workflows.node(p_node) {
            Node::Sequence { children, .. } => {
                let State::Sequence { next } = &mut self.works[w].frames[parent as usize].state else { return };
                match result {
                    Ok(()) if (*next as usize) < children.len() => {
                        let child = children[*next as usize];
                        *next += 1;
                        self.spawn(w, child, parent, p_lineage, ctx);
                    }
                    _ => self.end(w, parent, result, ctx),
                }
            }
            Node::Parallel { branches, join, .. } => {
                let State::Parallel { ok, failed, cause } = &mut self.works[w].frames[parent as usize].state else {
                    return;
                };
                match result {
                    Ok(()) => *ok += 1,
                    Err(c) => {
                        *failed += 1;
                        *cause = c;
                    }
                }
                let n = branches.len() as u32;
                let needed = join.needed(n);
                let decided = if *ok >= needed {
                    Some(Ok(()))
                } else if *failed > n - needed {
                    Some(Err(*cause))
                } else {
                    None
                };
                if let Some(outcome) = decided {
                    // The branches still running are not needed any more.
                    self.cancel_children(w, parent, ctx);
                    self.end(w, parent, outcome, ctx);
                }
            }
            Node::Loop { step, body, until, .. } => {
                let State::Loop { turn, target } = &mut self.works[w].frames[parent as usize].state else { return };
                if result.is_err() {
                    return self.end(w, parent, result, ctx);
                }
                *turn += 1;
                let (turn, target) = (*turn, *target);
                let done = turn >= target
                    || match until {
                        LoopEnd::DoneProbability(p) => {
                            let mut rng = self.draws(w, p_lineage, *step, turn);
                            unit_f64(&mut rng) < *p
                        }
                        LoopEnd::Count(_) | LoopEnd::Max => false,
                    };
                if done {
                    self.end(w, parent, Ok(()), ctx);
                } else {
                    self.spawn(w, *body, parent, mix(p_lineage, (1 << 32) | (u64::from(turn) + 1)), ctx);
                }
            }
            _ => self.end(w, parent, result, ctx),
        }
    }

    /// Cancel every frame under `parent` that is still running.
    fn cancel_children(&mut self, w: usize, parent: u32, ctx: &mut Ctx<'_, FleetActor>) {
        let n = self.works[w].frames.len() as u32;
        for f in 0..n {
            let fr = &self.works[w].frames[f as usize];
            if fr.parent == parent && !fr.done {
                self.cancel_frame(w, f, ctx);
            }
        }
    }

    /// Stop frame `f` and everything under it, without an answer.
    fn cancel_frame(&mut self, w: usize, f: u32, ctx: &mut Ctx<'_, FleetActor>) {
        let plan = self.plan.clone();
        let work = &mut self.works[w];
        let (id, part) = (work.id, work.part);
        // (No frame yet: the work was still waiting for CPU.)
        let Some(frame) = work.frames.get_mut(f as usize) else { return };
        if frame.done {
            return;
        }
        frame.done = true;
        if let Some(step) = step_of(plan.workflows.node(frame.node)) {
            plan.telemetry.borrow_mut().step_ended(step, frame.started_at, ctx.now(), None);
        }
        match (&frame.state, plan.workflows.node(frame.node)) {
            (State::Call { call, tag, permit, fallback, .. }, Node::Call(c)) => {
                if let Some(call) = *call {
                    ctx.cancel(call);
                    if let Some(g) = self.guard.as_mut() {
                        g.release(fallback.unwrap_or_else(|| step_service(c.service)), *permit);
                    }
                    self.waits.retain(|x| x.0 != Wait::Answer(call));
                }
                let tag = *tag;
                self.waits.retain(|x| x.0 != Wait::Timer(tag) || (x.1, x.2) != (id, part));
            }
            (State::Occ { call, tag, .. }, _) => {
                if let Some(call) = *call {
                    ctx.cancel(call);
                    self.waits.retain(|x| x.0 != Wait::Answer(call));
                }
                let tag = *tag;
                self.waits.retain(|x| x.0 != Wait::Timer(tag) || (x.1, x.2) != (id, part));
            }
            (State::Ask { ask: Some(ask), asked }, Node::Ask { role, .. }) => {
                let (ask, asked) = (*ask, *asked);
                ctx.cancel(ask);
                ctx.tell(plan.routers[usize::from(*role)], Msg::Cancel { id, part: asked });
                self.waits.retain(|x| x.0 != Wait::Answer(ask));
            }
            _ => self.cancel_children(w, f, ctx),
        }
    }

    /// Work `w` ended: answer whoever asked for it and take the next.
    fn finish(&mut self, w: usize, result: Result<(), Cause>, ctx: &mut Ctx<'_, FleetActor>) {
        let work = self.works.swap_remove(w);
        let outcome = match result {
            Ok(()) => {
                self.stats.requests_done += 1;
                Outcome::Succeeded
            }
            Err(cause) => {
                self.stats.requests_failed += 1;
                Outcome::Failed(cause)
            }
        };
        self.waits.retain(|x| (x.1, x.2) != (work.id, work.part));
        ctx.reply(work.reply, Msg::Outcome { id: work.id, outcome, produced: work.produced });
        self.released(true, ctx);
    }

    /// The asker no longer needs (request `id`, lineage `part`): drop it,
    /// cancelling what it has in flight. No answer (nobody waits).
    fn cancel_work(&mut self, id: u64, part: u64, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(w) = self.work_index(id, part) else {
            // Not started yet (waiting in the mailbox): skip it when it comes.
            if self.cancelled.len() == CANCELLED_MEMORY {
                self.cancelled.pop_front();
            }
            self.cancelled.push_back((id, part));
            return;
        };
        self.cancel_frame(w, 0, ctx);
        self.works.swap_remove(w);
        self.waits.retain(|x| (x.1, x.2) != (id, part));
        self.stats.requests_cancelled += 1;
        self.released(false, ctx);
    }

    /// A piece of work left: `finished` (answered, not cancelled), it is
    /// the node's load and, for a virtual agent, a change to its state.
    fn released(&mut self, finished: bool, ctx: &mut Ctx<'_, FleetActor>) {
        self.plan.telemetry.borrow_mut().slots(self.index, ctx.now(), false);
        if finished && self.activation.is_some() {
            self.plan.telemetry.borrow_mut().served_on(ctx.node().0);
            self.state_changed(ctx);
        }
        let stopping = self.activation.as_deref().is_some_and(|a| a.deactivating || a.state.flushing);
        if !stopping && (self.works.len() as u32) < self.spec().concurrency {
            ctx.set_accepting(true);
        }
        self.idle(ctx);
    }
}

/// The named step a node runs as, if any (a `copies` parallel has none).
fn step_of(node: &Node) -> Option<u16> {
    match node {
        Node::Call(c) => Some(c.step),
        Node::Occ(o) => Some(o.step),
        Node::Ask { step, .. } | Node::Loop { step, .. } | Node::Branch { step, .. } => Some(*step),
        Node::Sequence { step, .. } | Node::Parallel { step, .. } => *step,
    }
}

/// Mix two words into one (SplitMix64 finaliser): lineages and keys.
fn mix(a: u64, b: u64) -> u64 {
    let mut state = a ^ 0x243f_6a88_85a3_08d3;
    let mut next = splitmix64(&mut state) ^ b;
    splitmix64(&mut next)
}
