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

use rehearsal_runtime::supervisor::Supervisor;
use rehearsal_runtime::{
    Actor, ActorId, ActorLabel, Ctx, Nanos, ReplyTo, RequestId, Response, ServiceId, Signal, TimerId,
};

use crate::ledger::Outcome;

mod agent;
pub mod build;
mod cpu;
pub mod directory;
mod dispatch;
mod gateway;
pub mod guard;
mod pipeline;
pub mod report;
pub mod role;
mod sut;
pub mod telemetry;

pub use agent::{Agent, AgentStats};
pub use dispatch::Dispatch;
pub use gateway::{FanOutPolicy, Gateway, GatewayStats};
pub use pipeline::Stage;
pub use role::{RoleAgent, RolePlan, RoleSpec};
pub use sut::Fleet;

pub use crate::system::{ServiceRef, decode_idempotency_key, idempotency_key, llm_service, tool_service};

/// BUGGIFY site: an agent hesitates (up to 250 ms) before a call, as a
/// busy process would; legal, rare, and good at shaking out timing bugs.
pub const SITE_AGENT_HESITATES: u64 = 0xa9e7_0001;

pub use crate::system::agent_name;

/// One call of a workflow: which service, with what per-attempt timeout.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct StepSpec {
    pub service: ServiceId,
    pub timeout: Nanos,
}

/// What a piece of work is, beyond its request id: carried in the
/// messages that hand it on, as a real request carries its headers.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct WorkRef {
    /// The request's type (its index in `workload.types`).
    pub kind: u16,
    /// Roles: which instance of an ask this is, so that the asked agent's
    /// calls and draws are keyed by the logical work (see
    /// [`role`]); 0 for a client request.
    pub lineage: u64,
    /// Tokens of context it comes with (an ask with `context = true`).
    pub context: u32,
    /// The request's key (a conversation or session id): virtual agents
    /// are activated per key.
    pub key: u32,
}

/// Messages of the fleet.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    /// A request: from a client to the gateway, or (roles) from an agent to
    /// another role's router. Always an ask.
    Request { id: u64, work: WorkRef },
    /// A gateway or router asks an agent to run request `id`'s work
    /// (`part`: the fan-out part, or the work's lineage; 0 otherwise).
    Work { id: u64, part: u64, work: WorkRef },
    /// Pipeline: request `id` enters a stage; the last stage answers `reply`.
    Stage { id: u64, reply: ReplyTo },
    /// Pipeline: a stage subscribes to the stage before it.
    Subscribe { from: ActorId },
    /// Whoever asked for part `part` of request `id` no longer needs it (a
    /// decided fan-out or parallel, an ask given up on): stop working on
    /// it. Urgent: it reaches a busy agent at once (see
    /// [`Actor::is_urgent`]).
    Cancel { id: u64, part: u64 },
    /// An answer: to a client, or from an agent to whoever asked it. A
    /// failure carries its cause, as an error response would; `produced`
    /// is the output tokens the work generated (roles: they join the
    /// asker's context).
    Outcome { id: u64, outcome: Outcome, produced: u32 },
    /// An activation of virtual agent `key` passivates (it was idle): its
    /// directory forgets it.
    Passivated { key: u32, actor: ActorId },
    /// A virtual agent's durable reminder fired: it wakes (see
    /// [`directory`]).
    Remind { key: u32 },
    /// A directory found this activation a duplicate: it finishes the work
    /// in hand and stops.
    Deactivate,
    /// A distributed directory's partition on `node`, actor `from`, is
    /// alive (sent to every other partition and the front each period): a
    /// partition started again after its node restarted is found this way.
    Heartbeat { node: u16, from: ActorId },
    /// A distributed directory's partition passes a request for a key it
    /// does not own (by its view) to the owner, which serves it without
    /// passing it on again.
    Routed { id: u64, work: WorkRef },
    /// A distributed directory's partition hands the entry of `key` (its
    /// activation `actor` on `node`) to the partition that owns the key in
    /// its new view of the members.
    Handoff { key: u32, actor: ActorId, node: u16 },
}

/// Every actor of the fleet: one type, so dispatch is a `match`.
#[derive(Debug)]
pub enum FleetActor {
    Gateway(Gateway),
    Agent(Agent),
    Stage(Stage),
    Role(RoleAgent),
    /// Boxed: directories are few, and the largest actor; the enum stays
    /// the size of an agent.
    Directory(Box<directory::Directory>),
    DirectoryFront(directory::front::Front),
    Supervisor(Box<Supervisor<FleetActor>>),
}

impl Actor for FleetActor {
    type Msg = Msg;

    #[inline]
    fn is_urgent(msg: &Msg) -> bool {
        matches!(msg, Msg::Cancel { .. } | Msg::Deactivate)
    }

    #[inline]
    fn mailbox_capacity(&self) -> Option<u32> {
        match self {
            FleetActor::Role(r) => r.mailbox_capacity(),
            _ => None,
        }
    }

    /// `gateway`, `router R` (role `R`'s), `agent N` (pool and role
    /// agents, by global index), `stage N`, `supervisor`: the system's
    /// [`crate::system::SystemUnderTest::actor_name`] turns these into
    /// names.
    fn label(&self) -> ActorLabel {
        match self {
            FleetActor::Gateway(g) => g.label(),
            FleetActor::Agent(a) => ActorLabel::nth("agent", a.index),
            FleetActor::Stage(s) => s.label(),
            FleetActor::Role(r) => r.label(),
            FleetActor::Directory(_) => ActorLabel::one("directory"),
            FleetActor::DirectoryFront(_) => ActorLabel::one("directory front"),
            FleetActor::Supervisor(_) => ActorLabel::one("supervisor"),
        }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        match self {
            FleetActor::Agent(a) => ctx.register(agent_name(a.index)),
            FleetActor::Stage(s) => s.on_start(ctx),
            FleetActor::Role(r) => r.on_start(ctx),
            FleetActor::Supervisor(s) => s.on_start(ctx),
            FleetActor::Directory(d) => d.on_start(ctx),
            FleetActor::DirectoryFront(f) => f.on_start(ctx),
            FleetActor::Gateway(_) => {}
        }
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, Self>) {
        match self {
            FleetActor::Gateway(g) => g.handle(msg, ctx),
            FleetActor::Agent(a) => a.handle(msg, ctx),
            FleetActor::Stage(s) => s.handle(msg, ctx),
            FleetActor::Role(r) => r.handle(msg, ctx),
            FleetActor::Directory(d) => d.handle(msg, ctx),
            FleetActor::DirectoryFront(f) => f.handle(msg, ctx),
            FleetActor::Supervisor(s) => s.on_message(msg, ctx),
        }
    }

    fn on_response(&mut self, request: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, Self>) {
        match self {
            FleetActor::Gateway(g) => g.on_response(request, response, ctx),
            FleetActor::Agent(a) => a.on_response(request, response, ctx),
            FleetActor::Stage(s) => s.on_response(request, response, ctx),
            FleetActor::Role(r) => r.on_response(request, response, ctx),
            FleetActor::Directory(d) => d.on_response(request, response, ctx),
            FleetActor::DirectoryFront(f) => f.on_response(request, response, ctx),
            FleetActor::Supervisor(_) => {}
        }
    }

    fn on_timer(&mut self, timer: TimerId, tag: u64, ctx: &mut Ctx<'_, Self>) {
        match self {
            FleetActor::Agent(a) => a.on_timer(tag, ctx),
            FleetActor::Stage(s) => s.on_timer(tag, ctx),
            FleetActor::Role(r) => r.on_timer(tag, ctx),
            FleetActor::Supervisor(s) => {
                s.on_timer(timer, tag, ctx);
            }
            FleetActor::Directory(d) => d.on_timer(tag, ctx),
            FleetActor::DirectoryFront(f) => f.on_timer(tag, ctx),
            FleetActor::Gateway(_) => {}
        }
    }

    fn on_signal(&mut self, signal: Signal, ctx: &mut Ctx<'_, Self>) {
        match self {
            FleetActor::Gateway(g) => g.on_signal(signal, ctx),
            FleetActor::Supervisor(s) => s.on_signal(signal, ctx),
            FleetActor::Directory(d) => d.on_signal(signal, ctx),
            FleetActor::DirectoryFront(f) => f.on_signal(signal),
            _ => {
                if signal == Signal::Shutdown {
                    ctx.exit(rehearsal_runtime::ExitReason::Shutdown);
                }
            }
        }
    }
}
