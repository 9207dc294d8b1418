//! The seam between the harness and the system under test.
//!
//! The harness (`run`, `sweep`, `compare`, the reports, the invariants,
//! the replay lines) runs any [`SystemUnderTest`]: a type that builds an
//! actor system for a strategy point, turns a client's request into a
//! message and an answer into an [`Outcome`] for the request ledger, and
//! may add its own invariants and report figures. The scenario file still
//! describes the world around it: topology, services, faults, arrivals and
//! the strategies compared. The built-in scenario-driven fleet
//! ([`crate::fleet::Fleet`]) is one implementation; nothing in the harness
//! names its types.
//!
//! A user's crate implements the trait for its actors; `rehearsal::cli::
//! main_with(&system)` in its `main` gives it the same command line as
//! `rehearsal` (see `examples/own_agents.rs`), and [`crate::run::run_system`]
//! runs it once from code:
//!
//! ```
//! use rehearsal::ledger::{Cause, Outcome};
//! use rehearsal::run::{RunOptions, run_system};
//! use rehearsal::strategy::default_strategy;
//! use rehearsal::system::{Build, ClientRequest, SystemUnderTest};
//! use rehearsal_runtime::{Actor, ActorId, Ctx, NodeId};
//!
//! #[derive(Clone, Debug, Hash, PartialEq, Eq)]
//! enum Msg {
//!     Ask(u64),
//!     Done(u64),
//! }
//!
//! /// Answers every request at once.
//! #[derive(Debug)]
//! struct Echo;
//!
//! impl Actor for Echo {
//!     type Msg = Msg;
//!     fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, Self>) {
//!         if let (Msg::Ask(id), Some(reply)) = (msg, ctx.reply_to()) {
//!             ctx.reply(reply, Msg::Done(id));
//!         }
//!     }
//! }
//!
//! struct EchoSystem;
//!
//! impl SystemUnderTest for EchoSystem {
//!     type Actor = Echo;
//!     type Handle = ();
//!     fn build(&self, b: &mut Build<'_, Echo>) -> (ActorId, ()) {
//!         (b.spawn(NodeId(0), Echo), ())
//!     }
//!     fn request(id: u64, _: ClientRequest) -> Msg {
//!         Msg::Ask(id)
//!     }
//!     fn outcome(answer: &Msg) -> Outcome {
//!         match answer {
//!             Msg::Done(_) => Outcome::Succeeded,
//!             _ => Outcome::Failed(Cause::AgentTimeout),
//!         }
//!     }
//! }
//!
//! // The world: 10 s of Poisson arrivals at 5/s on one node.
//! let scenario = rehearsal::scenario::parse(
//!     r#"
//!     name = "echo"
//!     seeds = 1
//!     duration = "10s"
//!     [topology]
//!     agents = 1
//!     [workload]
//!     arrivals = { process = "poisson", rate_per_s = 5 }
//!     [llm]
//!     latency = { dist = "constant", value = "1s" }
//!     [tool]
//!     latency = { dist = "constant", value = "1s" }
//!     "#,
//!     "echo.toml",
//! )?;
//! let strategy = default_strategy(&scenario.strategies);
//! let run = run_system(&EchoSystem, &scenario, 7, &strategy, RunOptions::default())?;
//! let requests = &run.summary.requests;
//! assert!(requests.arrived > 20);
//! assert_eq!(requests.succeeded, requests.arrived);
//! // The same seed is the same run, event for event.
//! let again = run_system(&EchoSystem, &scenario, 7, &strategy, RunOptions::default())?;
//! assert_eq!(again.summary.trace_hash, run.summary.trace_hash);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use rehearsal_runtime::{Actor, ActorId, ActorLabel, NodeId, ServiceId};
use rehearsal_sim::Sim;

use crate::ledger::Outcome;
use crate::scenario::Scenario;
pub use crate::strategy::SystemAxis;
use crate::strategy::{Point, Strategy};
use crate::summary::{RoleSummary, StepSummary};
use crate::world::ScenarioWorld;

/// The registered name of agent `index`: what the scenario's agent faults
/// (`crash_agent = N`, `agent_crash_mtbf`) and the reports' agent
/// downtime look for. A system whose agents register under these names
/// gets both.
pub fn agent_name(index: u32) -> u64 {
    1_000 + index as u64
}

/// Tools' service ids start here; stores' at 0x4000; LLMs' at 0.
const TOOL_IDS: u16 = 0x8000;
const STORE_IDS: u16 = 0x4000;

/// The service id of LLM `index` (into `Scenario::llms`): what a call to the scenario's `[llm]` (index 0) or `[llms.NAME]` is addressed to.
pub fn llm_service(index: u16) -> ServiceId {
    ServiceId(index)
}

/// The service id of tool `index` (into `Scenario::tools`).
pub fn tool_service(index: u16) -> ServiceId {
    ServiceId(TOOL_IDS + index)
}

/// The service id of store `index` (into `Scenario::stores`).
pub fn store_service(index: u16) -> ServiceId {
    ServiceId(STORE_IDS + index)
}

/// Which service an id names.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ServiceRef {
    Llm(u16),
    Tool(u16),
    Store(u16),
}

impl ServiceRef {
    pub fn of(id: ServiceId) -> ServiceRef {
        if id.0 >= TOOL_IDS {
            ServiceRef::Tool(id.0 - TOOL_IDS)
        } else if id.0 >= STORE_IDS {
            ServiceRef::Store(id.0 - STORE_IDS)
        } else {
            ServiceRef::Llm(id.0)
        }
    }
}

/// The service a workflow call step names.
pub fn step_service(step: crate::scenario::Step) -> ServiceId {
    match step {
        crate::scenario::Step::Llm(i) => llm_service(i),
        crate::scenario::Step::Tool(i) => tool_service(i),
    }
}

/// A service's name in reports (`llm:NAME`, `tool:NAME`, `store:NAME`);
/// `None` for an id the scenario does not have.
pub fn service_name(scenario: &Scenario, id: ServiceId) -> Option<String> {
    match ServiceRef::of(id) {
        ServiceRef::Llm(i) => scenario.llms.get(usize::from(i)).map(|m| format!("llm:{}", m.name)),
        ServiceRef::Tool(i) => scenario.tools.get(usize::from(i)).map(|m| format!("tool:{}", m.name)),
        ServiceRef::Store(i) => scenario.stores.get(usize::from(i)).map(|m| format!("store:{}", m.name)),
    }
}

/// What a call to a store asks (a store holds one versioned row): carried
/// in the call's `input_tokens`, as a request body carries its operation.
/// A read is answered `Ok` with the row's version in `output_tokens`; a
/// write with the version it read succeeds if the row is still at that
/// version (compare-and-set), and is answered `Conflict` otherwise.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum StoreOp {
    Read,
    Write { expected_version: u32 },
}

impl StoreOp {
    /// As a call's `input_tokens`.
    pub fn encode(self) -> u32 {
        match self {
            StoreOp::Read => 0,
            StoreOp::Write { expected_version } => expected_version.saturating_add(1),
        }
    }

    /// From a call's `input_tokens`.
    pub fn decode(tokens: u32) -> StoreOp {
        match tokens {
            0 => StoreOp::Read,
            v => StoreOp::Write { expected_version: v - 1 },
        }
    }
}

/// A call's trace context (and the simple fleet's idempotency key) for step `step` of part `part` of request `id`: 32
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

/// What a client's request is, as the world drew it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ClientRequest {
    /// Its type: an index into the scenario's `workload.types`.
    pub kind: u16,
    /// Its key (a conversation or session id); 0 without one.
    pub key: u32,
}

/// The simulation a run's system is built into, with what the build
/// needs to know: the scenario, the seed, and the strategy point.
#[derive(Debug)]
pub struct Build<'a, A: Actor> {
    pub sim: &'a mut Sim<A, ScenarioWorld<A::Msg>>,
    pub scenario: &'a Scenario,
    pub seed: u64,
    /// The strategy's labels (axis -> value), as in replay lines.
    pub strategy: &'a Strategy,
    /// The built-in axes' typed values for this strategy.
    pub point: &'a Point,
}

impl<A: Actor> Build<'_, A> {
    /// Spawn `actor` on `node` (unsupervised).
    pub fn spawn(&mut self, node: NodeId, actor: A) -> ActorId {
        self.sim.spawn(node, actor)
    }
}

/// A finished run, as the system sees it after the fact.
#[derive(Debug)]
pub struct Finished<'a, A: Actor> {
    pub sim: &'a Sim<A, ScenarioWorld<A::Msg>>,
    pub scenario: &'a Scenario,
    /// The end of the observation window (ns).
    pub observed_ns: u64,
    /// The run's `policy` strategy value, if it has one.
    pub policy: Option<String>,
}

/// What a system adds to a run's summary. `None` leaves a figure to the
/// harness's default (from the ledger).
#[derive(Clone, Debug, Default)]
pub struct SystemReport {
    /// Requests re-sent after their agent died (`requests.retried_after_crash`).
    pub retried_after_crash: Option<u64>,
    /// Per-step figures, by step name (default: the ledger's spans, by the
    /// step in each call's trace context, named `step{N}`).
    pub steps: Option<BTreeMap<String, StepSummary>>,
    /// Per-role figures (default: one role, `agent`, of
    /// [`SystemUnderTest::agents`] agents).
    pub roles: Option<BTreeMap<String, RoleSummary>>,
    /// The resilience policy's figures, if any.
    pub resilience: Option<crate::summary::ResilienceSummary>,
    /// Virtual agents: per-node load and activations.
    pub nodes: Option<BTreeMap<String, crate::summary::NodeSummary>>,
    pub virtual_agents: Option<crate::summary::VirtualSummary>,
}

/// A system the harness can run (see the module docs).
///
/// Its actors reach the scenario's services by [`llm_service`] and
/// [`tool_service`]. The ledger files each call under the request and step
/// in its trace context ([`rehearsal_runtime::ServiceCall::trace`]), read
/// in the [`idempotency_key`] layout: `Ctx::call` uses the idempotency key
/// as the trace, so keys made with [`idempotency_key`]`(request, part,
/// step)` file calls under their request, and `Ctx::call_traced` sets a
/// trace apart from the key. Per-step figures default to the ledger's, one
/// per step in the traces.
pub trait SystemUnderTest: Sync {
    /// Every actor of the system: one type (an enum for several kinds), so
    /// the driver dispatches with a `match`.
    type Actor: Actor;
    /// What [`SystemUnderTest::build`] hands to the summary and the
    /// invariants after the run (e.g. a telemetry sink); `()` if nothing.
    type Handle;

    /// Spawn the actor system for `b.strategy` into `b.sim`. Returns the
    /// actor clients ask (every request is an ask to it) and the handle.
    fn build(&self, b: &mut Build<'_, Self::Actor>) -> (ActorId, Self::Handle);

    /// Client request `id` as the message the entry actor is asked with.
    fn request(id: u64, request: ClientRequest) -> <Self::Actor as Actor>::Msg;

    /// The entry actor's answer as the request's outcome for the ledger.
    fn outcome(answer: &<Self::Actor as Actor>::Msg) -> Outcome;

    /// Strategy axes this system adds to the built-in ones: a scenario may
    /// list them under `[strategies]`, and [`Build::strategy`] holds the
    /// value a run uses (no entry when the scenario does not list the
    /// axis: use its first value).
    fn axes(&self) -> &'static [SystemAxis] {
        &[]
    }

    /// Agents (named [`agent_name`]`(0..n)`) that the scenario's agent
    /// faults target and the reports' downtime counts over.
    fn agents(&self, scenario: &Scenario) -> u32 {
        scenario.topology.agents
    }

    /// Figures the system adds to the summary.
    fn report(&self, run: &Finished<'_, Self::Actor>, handle: &Self::Handle) -> SystemReport {
        let _ = (run, handle);
        SystemReport::default()
    }

    /// The system's own invariants over a finished run: each broken one
    /// described (the harness's own, request accounting and the scenario's
    /// `[invariants]`, are checked too).
    fn invariants(&self, run: &Finished<'_, Self::Actor>, handle: &Self::Handle) -> Vec<String> {
        let _ = (run, handle);
        Vec::new()
    }

    /// A readable name for a BUGGIFY site the system places.
    fn buggify_site_name(&self, site: u64) -> Option<&'static str> {
        let _ = site;
        None
    }

    /// A readable name for an actor, from what it says it is
    /// ([`Actor::label`]), for the run's exported traces (`--perfetto`,
    /// `--trace-out`); the exporter adds `#2`, `#3`, ... to later actors of
    /// the same name (restarts). The default: the label as written (`agent
    /// 3`, `gateway`); `None` for an unlabelled actor.
    fn actor_name(&self, scenario: &Scenario, label: ActorLabel) -> Option<String> {
        let _ = scenario;
        (!label.is_none()).then(|| label.to_string())
    }

    /// A readable name for the step a service call was made for, for the
    /// run's exported traces: `kind` is the request's type (an index into
    /// `workload.types`), `step` the step in the call's trace context (see
    /// [`idempotency_key`]). The default: `step{step + 1}`.
    fn step_name(&self, scenario: &Scenario, kind: u16, step: u16) -> String {
        let _ = (scenario, kind);
        format!("step{}", u32::from(step) + 1)
    }
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
