//! One run: a scenario, a seed and a strategy combination, from building
//! the simulation to its [`RunSummary`].

use rehearsal_runtime::retry::RetryPolicy;
use rehearsal_runtime::{NodeId, SystemConfig};
use rehearsal_sim::net::{Latency, LinkModel, Network};
use rehearsal_sim::trace::{TraceMode, TraceRecord};
use rehearsal_sim::{Limits, Sim, SimConfig, SimError};

use std::rc::Rc;

use rehearsal_runtime::ActorId;
use rehearsal_runtime::supervisor::{
    Backoff, ChildSpec, Intensity, Restart, Strategy as SupStrategy, Supervisor, SupervisorSpec, WhenDown,
};

use crate::fleet::telemetry::{Telemetry, TelemetryData};
use crate::fleet::{
    Agent, FleetActor, Gateway, RoleAgent, RolePlan, RoleSpec, Stage, StepSpec, agent_name, llm_service, tool_service,
};
use crate::scenario::{LinkSpec, RestartType, Scenario, ScheduledFaultKind, Shape, Step};
use crate::strategy::{Point, Strategy, supervision::Supervision};
use crate::summary::RunSummary;
use crate::world::{FleetWorld, WorldSpec};

/// A strategy value the harness does not know (bad input).
pub use crate::strategy::StrategyError;

/// Why a run could not produce a summary.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Strategy(#[from] StrategyError),
    #[error(transparent)]
    Setup(#[from] crate::world::ServiceSetupError),
    #[error("seed {seed}: the run stopped early")]
    Sim {
        seed: u64,
        #[source]
        source: SimError,
    },
}

/// How to run.
#[derive(Copy, Clone, Debug, Default)]
pub struct RunOptions {
    /// Record every event's text (`--trace-out`). Same as `trace:
    /// TraceMode::Record`.
    pub record_trace: bool,
    /// What the trace keeps beyond its hash (checkpoints, a window).
    pub trace: TraceMode,
}

/// A finished run.
#[derive(Debug)]
pub struct RunOutput {
    pub summary: RunSummary,
    /// The recorded events (see [`RunOptions::record_trace`] and
    /// [`TraceMode::Window`]).
    pub trace: Vec<TraceRecord>,
    /// The trace hash after every N events ([`TraceMode::Checkpoints`]).
    pub checkpoints: Vec<u64>,
}

/// The retry policy a strategy selects (its `retry` value, resolved through
/// the scenario's axes; see [`crate::strategy::retry`]).
pub fn retry_policy(scenario: &Scenario, strategy: &Strategy) -> Result<RetryPolicy, RunError> {
    Ok(crate::strategy::resolve(scenario, strategy)?.retry.configure())
}

/// Per-link overrides of the scenario's `[[topology.links]]`.
fn configure_links(network: &mut Network, links: &[LinkSpec]) {
    for l in links {
        let latency = match &l.latency {
            Some(d) => Latency::from_dist(d.clone()),
            None => network.remote.clone(),
        };
        let model = LinkModel::new(latency).loss(l.loss).duplicate(l.duplicate).reorder(l.reorder).ordered(l.ordered);
        network.set_link(NodeId(l.from as u16), NodeId(l.to as u16), model);
    }
}

/// The simulated time after which every request has been answered or given
/// up on: the end of a run.
pub fn horizon_ns(scenario: &Scenario) -> u64 {
    scenario.duration_ns.saturating_add(scenario.workload.max_deadline_ns())
}

/// Run `scenario` once with `seed` and `strategy`.
pub fn run_once(
    scenario: &Scenario,
    seed: u64,
    strategy: &Strategy,
    options: RunOptions,
) -> Result<RunOutput, RunError> {
    let point = crate::strategy::resolve(scenario, strategy)?;
    let retry = point.retry.configure();
    let limits = &scenario.limits;
    let topology = &scenario.topology;
    let config = SimConfig {
        seed,
        limits: Limits {
            max_events: limits.max_events,
            max_sim_time: limits.max_sim_time_ns,
            max_queued_events: limits.max_queued_events,
        },
        system: SystemConfig { mailbox_capacity: limits.mailbox_capacity, overflow: limits.mailbox_overflow },
        network: Network {
            local: Latency::Fixed(0),
            remote: Latency::from_dist(topology.network_latency.clone()),
            failure_detection: scenario.faults.failure_detection_ns,
            loss: topology.loss,
            duplicate: topology.duplicate,
            reorder: topology.reorder,
            ..Network::default()
        },
        record_trace: options.record_trace,
        trace: options.trace,
        buggify: scenario.buggify,
    };
    let world = FleetWorld::new(WorldSpec {
        seed,
        arrivals: scenario.workload.arrivals.clone(),
        arrivals_end: scenario.duration_ns,
        request_timeout: scenario.workload.request_timeout_ns,
        mix: crate::world::Mix::new(&scenario.workload.types),
        llms: scenario.llms.clone(),
        tools: scenario.tools.clone(),
        faults: scenario.faults.clone(),
        agents: fleet_size(scenario),
        nodes: topology.nodes,
    })?;
    let mut sim = Sim::new(config, world);
    configure_links(sim.kernel.network_mut(), &topology.links);
    let telemetry: Telemetry = Rc::new(std::cell::RefCell::new(TelemetryData::new(
        if scenario.roles.is_empty() { 0 } else { scenario.topology.agents },
        scenario.workflows.steps.iter().map(|s| s.kind != "call"),
    )));
    let gateway = if scenario.roles.is_empty() {
        build_fleet(&mut sim, scenario, &point, retry)?
    } else {
        build_roles(&mut sim, scenario, &point, retry, seed, telemetry.clone())
    };
    let initial_spawns = sim.system.stats().spawned;
    sim.world.start(gateway, &mut sim.kernel);

    sim.run_until(horizon_ns(scenario)).map_err(|source| RunError::Sim { seed, source })?;
    let summary = crate::summarize::summarize(scenario, seed, strategy, &sim, initial_spawns, &telemetry.borrow());
    let trace = sim.kernel.take_trace_records();
    let checkpoints = sim.kernel.take_trace_checkpoints();
    Ok(RunOutput { summary, trace, checkpoints })
}

/// Agents (pool) or stages (pipeline): what faults and downtime count over.
pub fn fleet_size(scenario: &Scenario) -> u32 {
    match scenario.workload.shape {
        Shape::Pool | Shape::FanOut => scenario.topology.agents,
        Shape::Pipeline => scenario.workload.steps.len() as u32,
    }
}

fn step_spec(scenario: &Scenario, step: Step) -> StepSpec {
    match step {
        Step::Llm(i) => StepSpec { service: llm_service(i), timeout: scenario.llms[i as usize].timeout_ns },
        Step::Tool(i) => StepSpec { service: tool_service(i), timeout: scenario.tools[i as usize].timeout_ns },
    }
}

/// Spawn the fleet under the supervision strategy `strategy` names, and
/// return the gateway. Agents (or stages) run on nodes round-robin; the
/// gateway and the root supervisor on node 0.
fn build_fleet(
    sim: &mut Sim<FleetActor, FleetWorld>,
    scenario: &Scenario,
    point: &Point,
    retry: RetryPolicy,
) -> Result<ActorId, RunError> {
    let nodes = scenario.topology.nodes.max(1);
    let node_of = |i: u32| NodeId((i % nodes) as u16);
    let size = fleet_size(scenario);
    // How to start child `i` (a fresh incarnation each time).
    let start_child: Rc<dyn Fn(u32) -> FleetActor> = match scenario.workload.shape {
        Shape::Pool | Shape::FanOut => {
            let workflows: Rc<Vec<Vec<StepSpec>>> = Rc::new(
                scenario
                    .workload
                    .types
                    .iter()
                    .map(|t| t.steps.iter().map(|&s| step_spec(scenario, s)).collect())
                    .collect(),
            );
            Rc::new(move |i| FleetActor::Agent(Agent::new(i, workflows.clone(), retry)))
        }
        Shape::Pipeline => {
            let steps: Vec<StepSpec> = scenario.workload.steps.iter().map(|&s| step_spec(scenario, s)).collect();
            Rc::new(move |i| {
                let last = i as usize + 1 == steps.len();
                FleetActor::Stage(Stage::new(i, last, steps[i as usize], retry))
            })
        }
    };
    supervise(sim, scenario, point, size, &node_of, start_child);
    let p = &scenario.supervision;
    let gateway = match scenario.workload.shape {
        Shape::Pool => Gateway::pool(size, scenario.workload.max_deadline_ns(), p.max_task_retries)
            .with_dispatch(point.dispatch.configure()),
        Shape::FanOut => {
            let policy = point.fanout.configure();
            let w = &scenario.workload;
            Gateway::fan_out(size, w.fanout, policy, w.subtask_timeout_ns, p.max_task_retries)
                .with_dispatch(point.dispatch.configure())
        }
        Shape::Pipeline => Gateway::pipeline(),
    };
    Ok(sim.spawn(NodeId(0), FleetActor::Gateway(gateway)))
}

/// Spawn `size` agents (agent `i` on `node_of(i)`, started by
/// `start_child(i)`) under the supervision strategy `point` selects.
fn supervise(
    sim: &mut Sim<FleetActor, FleetWorld>,
    scenario: &Scenario,
    point: &Point,
    size: u32,
    node_of: &dyn Fn(u32) -> NodeId,
    start_child: Rc<dyn Fn(u32) -> FleetActor>,
) {
    let nodes = scenario.topology.nodes.max(1);
    let p = &scenario.supervision;
    let restart = match p.restart {
        RestartType::Permanent => Restart::Permanent,
        RestartType::Transient => Restart::Transient,
        RestartType::Temporary => Restart::Temporary,
    };
    let child_spec = |i: u32, start: Rc<dyn Fn(u32) -> FleetActor>| {
        let mut spec = ChildSpec::new(agent_name(i), move |_, _| start(i));
        spec.node = node_of(i);
        spec.restart = restart;
        spec.shutdown = p.shutdown_ns;
        spec.max_restarts = p.max_restarts_per_child;
        spec
    };
    let supervisor_spec = |strategy: SupStrategy, children: Vec<ChildSpec<FleetActor>>| {
        let mut spec = supervisor_spec_standalone(strategy, children, nodes);
        spec.intensity = Intensity { max_restarts: p.max_restarts, period: p.period_ns };
        spec
    };
    match point.supervision {
        Supervision::None => {
            for i in 0..size {
                sim.spawn(node_of(i), start_child(i));
            }
        }
        Supervision::Tree(strategy) => {
            let children = (0..size).map(|i| child_spec(i, start_child.clone())).collect();
            let root = Supervisor::new(supervisor_spec(strategy, children));
            sim.spawn(NodeId(0), FleetActor::Supervisor(Box::new(root)));
        }
        Supervision::OneForOneBackoff => {
            // Akka's BackoffSupervisor around each agent, under a
            // one_for_one root: a crashed agent comes back after a growing,
            // jittered delay.
            let backoff = Backoff {
                min: p.backoff_min_ns,
                max: p.backoff_max_ns,
                random_factor: p.backoff_random_factor,
                reset_after: p.backoff_reset_after_ns,
                max_restarts: p.max_restarts_per_child,
                when_down: WhenDown::Drop,
            };
            let children = (0..size)
                .map(|i| {
                    let inner = child_spec(i, start_child.clone());
                    let spec_for = Rc::new(move |_: u32| {
                        let mut spec = supervisor_spec_standalone(SupStrategy::OneForOne, vec![inner.clone()], nodes);
                        spec.backoff = Some(backoff);
                        FleetActor::Supervisor(Box::new(Supervisor::new(spec)))
                    });
                    let mut spec = ChildSpec::new(agent_name(i) + BACKOFF_NAME_OFFSET, move |_, _| spec_for(i));
                    spec.node = node_of(i);
                    spec
                })
                .collect();
            let root = Supervisor::new(supervisor_spec(SupStrategy::OneForOne, children));
            sim.spawn(NodeId(0), FleetActor::Supervisor(Box::new(root)));
        }
    }
}

/// Roles: spawn each role's router on node 0 (the entry role's is the
/// gateway clients ask), then the agents, role by role, under the
/// supervision strategy. Returns the entry role's router.
fn build_roles(
    sim: &mut Sim<FleetActor, FleetWorld>,
    scenario: &Scenario,
    point: &Point,
    retry: RetryPolicy,
    seed: u64,
    telemetry: Telemetry,
) -> ActorId {
    let dispatch = point.dispatch.configure();
    let max_task_retries = scenario.supervision.max_task_retries;
    let mut routers = Vec::with_capacity(scenario.roles.len());
    // Global agent index of each role's first agent, and each agent's role.
    let mut bases = Vec::with_capacity(scenario.roles.len());
    let mut role_of = Vec::with_capacity(scenario.topology.agents as usize);
    let mut base = 0u32;
    for (r, role) in scenario.roles.iter().enumerate() {
        let router = Gateway::router(base, role.count, role.concurrency, role.work_timeout_ns, max_task_retries)
            .with_dispatch(dispatch);
        routers.push(sim.spawn(NodeId(0), FleetActor::Gateway(router)));
        bases.push(base);
        role_of.extend(std::iter::repeat_n(r as u16, role.count as usize));
        base += role.count;
    }
    let plan = Rc::new(RolePlan {
        workflows: scenario.workflows.clone(),
        roles: scenario
            .roles
            .iter()
            .map(|r| RoleSpec {
                workflow: r.workflow,
                concurrency: r.concurrency,
                mailbox: r.mailbox,
                retry: r.retry.map_or(retry, |x| x.configure()),
            })
            .collect(),
        type_workflows: scenario.workload.types.iter().map(|t| t.workflow).collect(),
        entry: scenario.entry_role,
        routers: routers.clone(),
        seed,
        telemetry,
    });
    let role_of = Rc::new(role_of);
    let node_of = {
        let role_of = role_of.clone();
        move |i: u32| {
            let r = role_of[i as usize] as usize;
            let nodes = &scenario.roles[r].nodes;
            NodeId(nodes[((i - bases[r]) as usize) % nodes.len()] as u16)
        }
    };
    let start_child: Rc<dyn Fn(u32) -> FleetActor> =
        Rc::new(move |i| FleetActor::Role(RoleAgent::new(i, role_of[i as usize], plan.clone())));
    supervise(sim, scenario, point, scenario.topology.agents, &node_of, start_child);
    routers[usize::from(scenario.entry_role)]
}

/// Backoff supervisors' child ids sit apart from the agents' names.
const BACKOFF_NAME_OFFSET: u64 = 1_000_000;

/// A supervisor that may place children on any node (Ray-style
/// rescheduling when a child's own node is down).
fn supervisor_spec_standalone(
    strategy: SupStrategy,
    children: Vec<ChildSpec<FleetActor>>,
    nodes: u32,
) -> SupervisorSpec<FleetActor> {
    let mut spec = SupervisorSpec::new(strategy, children);
    spec.fallback_nodes = (0..nodes).map(|n| NodeId(n as u16)).collect();
    spec
}

/// The scenario's scheduled faults as windows of simulated time, for the
/// throughput chart.
pub fn fault_windows(scenario: &Scenario) -> Vec<crate::report::FaultWindow> {
    let s = |ns: u64| ns as f64 / 1e9;
    scenario
        .faults
        .schedule
        .iter()
        .map(|f| {
            let (len, label) = match &f.kind {
                ScheduledFaultKind::CrashAgent(a) => (0, format!("crash agent {a}")),
                ScheduledFaultKind::CrashNode { node, down_for_ns } => {
                    (down_for_ns.unwrap_or(0), format!("crash node {node}"))
                }
                ScheduledFaultKind::Partition { for_ns, .. } => (*for_ns, "partition".to_owned()),
                ScheduledFaultKind::ClogNode { node, for_ns } => (*for_ns, format!("clog node {node}")),
                ScheduledFaultKind::ClogLink { from, to, for_ns } => (*for_ns, format!("clog {from}->{to}")),
                ScheduledFaultKind::Brownout { llm, for_ns, .. } => {
                    (*for_ns, format!("brownout {}", scenario.llms[*llm as usize].name))
                }
            };
            crate::report::FaultWindow { start_s: s(f.at_ns), end_s: s(f.at_ns + len), label }
        })
        .collect()
}

/// Invariants every run must keep; each broken one is described.
pub fn broken_invariants(scenario: &Scenario, summary: &RunSummary) -> Vec<String> {
    let r = &summary.requests;
    let mut broken = Vec::new();
    if scenario.invariants.tool_effects_at_most_once && summary.side_effects.duplicates > 0 {
        broken.push(format!(
            "tool_effects_at_most_once: {} side effects were performed more than once for the same idempotency key",
            summary.side_effects.duplicates
        ));
    }
    // The counts are kept independently (arrivals, ends by outcome, open
    // entries, causes, the timeline built from the entries), so they can
    // disagree, and a disagreement is a bug in the accounting.
    if r.arrived != r.succeeded + r.failed + r.in_flight {
        broken.push(format!(
            "request accounting: arrived {} != succeeded {} + failed {} + in_flight {}",
            r.arrived, r.succeeded, r.failed, r.in_flight
        ));
    }
    let by_cause: u64 = r.failed_by_cause.values().sum();
    if by_cause != r.failed {
        broken.push(format!("request accounting: failed_by_cause sums to {by_cause}, failed is {}", r.failed));
    }
    let t = &summary.timeline;
    let (offered, succeeded, failed) =
        t.iter().fold((0, 0, 0), |(o, s, f), i| (o + i.offered, s + i.succeeded, f + i.failed));
    if !t.is_empty() && (offered, succeeded, failed) != (r.arrived, r.succeeded, r.failed) {
        broken.push(format!(
            "request accounting: the timeline counts {offered} offered, {succeeded} succeeded, {failed} failed; \
             the requests {} arrived, {} succeeded, {} failed",
            r.arrived, r.succeeded, r.failed
        ));
    }
    broken
}
