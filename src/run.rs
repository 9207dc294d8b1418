//! One run: a scenario, a seed and a strategy combination, from building
//! the simulation to its [`RunSummary`].

use rehearsal_runtime::NodeId;
use rehearsal_runtime::retry::RetryPolicy;
use rehearsal_sim::net::{Latency, LinkModel, Network};
use rehearsal_sim::trace::{TraceMode, TraceRecord};
use rehearsal_sim::{Limits, Sim, SimBuilder, SimError};

use crate::fleet::Fleet;
use crate::scenario::{Scenario, ScheduledFaultKind, Shape};
use crate::strategy::Strategy;
use crate::summarize::SystemFigures;
use crate::summary::RunSummary;
use crate::system::{Build, Finished, SystemUnderTest};
use crate::world::{Codec, ScenarioWorld, WorldSpec};

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
    /// Keep a structured record of the run, of at most this many records,
    /// and return it with readable names ([`RunOutput::recording`]): what
    /// `--perfetto` writes. Recording the text (`record_trace`) keeps the
    /// names too. Neither changes the run.
    pub activity: Option<usize>,
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
    /// The structured record and the names of what it mentions (see
    /// [`RunOptions::activity`]; with only `record_trace`, names and
    /// spawns only).
    pub recording: Option<crate::trace_export::Recording>,
}

/// The retry policy a strategy selects (its `retry` value, resolved through
/// the scenario's axes; see [`crate::strategy::retry`]).
pub fn retry_policy(scenario: &Scenario, strategy: &Strategy) -> Result<RetryPolicy, RunError> {
    Ok(crate::strategy::resolve(scenario, strategy)?.retry.configure())
}

/// The network's latency between nodes, for a link that keeps it.
fn network_remote(topology: &crate::scenario::Topology) -> Latency {
    Latency::from_dist(topology.network_latency.clone())
}

/// The simulated time after which every request has been answered or given
/// up on: the end of a run.
pub fn horizon_ns(scenario: &Scenario) -> u64 {
    scenario.duration_ns.saturating_add(scenario.workload.max_deadline_ns())
}

/// Run `scenario` once with `seed` and `strategy`: the built-in fleet
/// ([`Fleet`]) through [`run_system`].
pub fn run_once(
    scenario: &Scenario,
    seed: u64,
    strategy: &Strategy,
    options: RunOptions,
) -> Result<RunOutput, RunError> {
    run_system(&Fleet, scenario, seed, strategy, options)
}

/// Run `system` once in the world `scenario` describes, with `seed` and
/// `strategy`.
pub fn run_system<S: SystemUnderTest>(
    system: &S,
    scenario: &Scenario,
    seed: u64,
    strategy: &Strategy,
    options: RunOptions,
) -> Result<RunOutput, RunError> {
    let point = crate::strategy::resolve(scenario, strategy)?;
    let limits = &scenario.limits;
    let topology = &scenario.topology;
    let network = Network {
        local: Latency::Fixed(0),
        remote: network_remote(topology),
        failure_detection: scenario.faults.failure_detection_ns,
        loss: topology.loss,
        duplicate: topology.duplicate,
        reorder: topology.reorder,
        ..Network::default()
    };
    let builder = SimBuilder::new()
        .seed(seed)
        .limits(Limits {
            max_events: limits.max_events,
            max_sim_time: limits.max_sim_time_ns,
            max_queued_events: limits.max_queued_events,
        })
        .network(network)
        .mailboxes(limits.mailbox_capacity, limits.mailbox_overflow)
        .trace(if options.record_trace { TraceMode::Record } else { options.trace })
        .buggify(scenario.buggify);
    // The text trace's names come from the actors' spawns: keep those.
    let activity = options.activity.or(options.record_trace.then_some(0));
    let builder = match activity {
        Some(limit) => builder.activity(limit),
        None => builder,
    };
    let builder = topology.links.iter().fold(builder, |b, l| {
        let latency = l.latency.as_ref().map_or_else(|| network_remote(topology), |d| Latency::from_dist(d.clone()));
        let model = LinkModel::new(latency).loss(l.loss).duplicate(l.duplicate).reorder(l.reorder).ordered(l.ordered);
        b.link(NodeId(l.from as u16), NodeId(l.to as u16), model)
    });
    let agents = system.agents(scenario);
    let spec = WorldSpec {
        seed,
        arrivals: scenario.workload.arrivals.clone(),
        arrivals_end: scenario.duration_ns,
        request_timeout: scenario.workload.request_timeout_ns,
        mix: crate::world::Mix::new(&scenario.workload.types),
        llms: scenario.llms.clone(),
        tools: scenario.tools.clone(),
        stores: scenario.stores.clone(),
        faults: scenario.faults.clone(),
        agents,
        nodes: topology.nodes,
    };
    let world = ScenarioWorld::new(spec, Codec { request: S::request, outcome: S::outcome })?;
    let mut sim: Sim<S::Actor, ScenarioWorld<_>> = builder.build(world);
    let (entry, handle) = system.build(&mut Build { sim: &mut sim, scenario, seed, strategy, point: &point });
    let initial_spawns = sim.system().stats().spawned;
    {
        let (world, kernel) = sim.world_and_kernel_mut();
        world.start(entry, kernel);
    }

    sim.run_until(horizon_ns(scenario)).map_err(|source| RunError::Sim { seed, source })?;
    let policy = strategy.get("policy").cloned();
    let figures = SystemFigures {
        agents,
        report: |observed_ns| {
            system.report(&Finished { sim: &sim, scenario, observed_ns, policy: policy.clone() }, &handle)
        },
        site_name: |site| system.buggify_site_name(site),
    };
    let mut summary = crate::summarize::summarize(scenario, seed, strategy, &sim, initial_spawns, figures);
    let observed_ns = (summary.observed_s * 1e9) as u64;
    summary.broken_by_system = system.invariants(&Finished { sim: &sim, scenario, observed_ns, policy }, &handle);
    let trace = sim.kernel_mut().take_trace_records();
    let checkpoints = sim.kernel_mut().take_trace_checkpoints();
    // Last: it takes the ledger out of the world.
    let recording = crate::trace_export::take_recording(system, scenario, &mut sim, &summary);
    Ok(RunOutput { summary, trace, checkpoints, recording })
}

/// Agents (pool) or stages (pipeline): what faults and downtime count over.
pub fn fleet_size(scenario: &Scenario) -> u32 {
    match scenario.workload.shape {
        Shape::Pool | Shape::FanOut => scenario.topology.agents,
        Shape::Pipeline => scenario.workload.steps.len() as u32,
    }
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
                ScheduledFaultKind::JoinNode { node } => (0, format!("node {node} joins")),
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
    let mut broken = summary.broken_by_system.clone();
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
