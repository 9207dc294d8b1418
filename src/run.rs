//! One run: a scenario, a seed and a strategy combination, from building
//! the simulation to its [`RunSummary`].

use rehearsal_runtime::retry::{RetryPolicy, RetryStrategy};
use rehearsal_runtime::{NodeId, SystemConfig};
use rehearsal_sim::net::{Latency, Network};
use rehearsal_sim::services::{ServiceModel as SimServiceModel, TokenModel as SimTokenModel};
use rehearsal_sim::trace::TraceRecord;
use rehearsal_sim::{Limits, Sim, SimConfig, SimError};

use crate::fleet::{Agent, FleetActor, Gateway, LLM, StepSpec, TOOL};
use crate::scenario::{Scenario, ServiceModel, Step};
use crate::strategy::Strategy;
use crate::summary::{CallCounts, LatencyMs, RequestCounts, RunSummary, TokenCounts};
use crate::world::{FleetWorld, WorldSpec};

/// A strategy value the harness does not know (bad input).
#[derive(Debug, thiserror::Error)]
#[error("strategy axis `{axis}` has no value `{value}` (known values: {known})")]
pub struct StrategyError {
    pub axis: String,
    pub value: String,
    pub known: String,
}

/// Why a run could not produce a summary.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Strategy(#[from] StrategyError),
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
    /// Record every event's text, for determinism checks.
    pub record_trace: bool,
}

/// A finished run.
#[derive(Debug)]
pub struct RunOutput {
    pub summary: RunSummary,
    /// Every event, when recorded (see [`RunOptions::record_trace`]).
    pub trace: Vec<TraceRecord>,
}

/// The retry policy a strategy selects.
pub fn retry_policy(scenario: &Scenario, strategy: &Strategy) -> Result<RetryPolicy, RunError> {
    let value = strategy.get("retry").map(String::as_str).unwrap_or("none");
    let strategy = match value {
        "none" => RetryStrategy::None,
        "fixed" => RetryStrategy::Fixed,
        "exponential" => RetryStrategy::Exponential,
        "exponential_full_jitter" => RetryStrategy::ExponentialFullJitter,
        other => {
            return Err(StrategyError {
                axis: "retry".into(),
                value: other.into(),
                known: crate::strategy::known_values("retry").join(", "),
            }
            .into());
        }
    };
    let r = &scenario.retry;
    Ok(RetryPolicy { strategy, max_attempts: r.max_attempts, base_delay: r.base_delay_ns, max_delay: r.max_delay_ns })
}

fn sim_service(model: &ServiceModel) -> SimServiceModel {
    SimServiceModel {
        latency: model.latency.clone(),
        error_rate: model.error_rate,
        tokens: model.tokens.as_ref().map(|t| SimTokenModel { input: t.input.clone(), output: t.output.clone() }),
    }
}

/// The simulated time after which every request has been answered or given
/// up on: the end of a run.
pub fn horizon_ns(scenario: &Scenario) -> u64 {
    scenario.duration_ns.saturating_add(scenario.workload.request_timeout_ns)
}

/// Run `scenario` once with `seed` and `strategy`.
pub fn run_once(
    scenario: &Scenario,
    seed: u64,
    strategy: &Strategy,
    options: RunOptions,
) -> Result<RunOutput, RunError> {
    let retry = retry_policy(scenario, strategy)?;
    let limits = &scenario.limits;
    let topology = &scenario.topology;
    let config = SimConfig {
        seed,
        limits: Limits { max_events: limits.max_events, max_sim_time: limits.max_sim_time_ns, ..Limits::default() },
        system: SystemConfig { mailbox_capacity: limits.mailbox_capacity, overflow: limits.mailbox_overflow },
        network: Network {
            local: Latency::Fixed(0),
            remote: Latency::from_dist(topology.network_latency.clone()),
            ..Network::default()
        },
        record_trace: options.record_trace,
    };
    let world = FleetWorld::new(WorldSpec {
        seed,
        arrival_rate_per_s: scenario.workload.arrival_rate_per_s,
        arrivals_end: scenario.duration_ns,
        request_timeout: scenario.workload.request_timeout_ns,
        llm: sim_service(&scenario.llm),
        tool: sim_service(&scenario.tool),
    });
    let mut sim = Sim::new(config, world);

    let steps: Vec<StepSpec> = scenario
        .workload
        .steps
        .iter()
        .map(|step| match step {
            Step::Llm => StepSpec { service: LLM, timeout: scenario.llm.timeout_ns },
            Step::Tool => StepSpec { service: TOOL, timeout: scenario.tool.timeout_ns },
        })
        .collect();
    // Agents round-robin over the nodes; the gateway on node 0, so agents
    // on other nodes are a network hop away from it.
    let nodes = topology.nodes.max(1);
    let agents = (0..topology.agents)
        .map(|i| sim.spawn(NodeId((i % nodes) as u16), FleetActor::Agent(Agent::new(steps.clone(), retry))))
        .collect();
    let gateway = sim.spawn(NodeId(0), FleetActor::Gateway(Gateway::new(agents)));
    sim.world.start(gateway, &mut sim.kernel);

    sim.run_until(horizon_ns(scenario)).map_err(|source| RunError::Sim { seed, source })?;
    let summary = summarize(scenario, seed, strategy, &sim);
    let trace = sim.kernel.take_trace_records();
    Ok(RunOutput { summary, trace })
}

fn summarize(scenario: &Scenario, seed: u64, strategy: &Strategy, sim: &Sim<FleetActor, FleetWorld>) -> RunSummary {
    let m = &sim.world.metrics;
    let mut calls =
        CallCounts { llm: m.llm_calls, tool: m.tool_calls, errors: m.service_errors, ..CallCounts::default() };
    for (_, actor) in sim.system.actors() {
        if let FleetActor::Agent(agent) = actor {
            calls.retries += agent.stats.retries;
            calls.timeouts += agent.stats.timeouts;
        }
    }
    let h = &m.latency_us;
    let ms = |us: u64| us as f64 / 1_000.0;
    let latency_ms = if h.is_empty() {
        LatencyMs::default()
    } else {
        LatencyMs {
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: round3(h.mean() / 1_000.0),
        }
    };
    let stats = sim.system.stats();
    let arrival_window_s = scenario.duration_ns as f64 / 1e9;
    RunSummary {
        scenario: scenario.name.clone(),
        seed,
        strategy: strategy.clone(),
        trace_hash: format!("{:016x}", sim.trace_hash()),
        events: sim.kernel.events(),
        sim_time_s: sim.kernel.now() as f64 / 1e9,
        requests: RequestCounts {
            arrived: m.arrived,
            succeeded: m.succeeded,
            failed: m.failed,
            in_flight: sim.world.in_flight(),
        },
        latency_ms,
        throughput_per_s: round3(m.succeeded as f64 / arrival_window_s),
        calls,
        tokens: TokenCounts { input: m.input_tokens, output: m.output_tokens },
        dropped_messages: stats.dropped,
        late_replies: stats.late_replies,
        throughput_timeline: m.throughput_timeline.clone(),
    }
}

/// Round to 3 decimals, so printed figures do not carry float noise.
fn round3(x: f64) -> f64 {
    libm::round(x * 1_000.0) / 1_000.0
}

/// Invariants every run must keep; each broken one is described.
pub fn broken_invariants(summary: &RunSummary) -> Vec<String> {
    let r = &summary.requests;
    let mut broken = Vec::new();
    if r.arrived != r.succeeded + r.failed + r.in_flight {
        broken.push(format!(
            "request accounting: arrived {} != succeeded {} + failed {} + in_flight {}",
            r.arrived, r.succeeded, r.failed, r.in_flight
        ));
    }
    broken
}
