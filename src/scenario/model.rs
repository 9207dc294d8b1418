//! The validated, typed form of a scenario file: what a run is built from.
//!
//! `parse.rs` turns TOML into this; nothing downstream ever sees raw TOML.
//! Every time is in integer nanoseconds of simulated time.

use rehearsal_runtime::OverflowPolicy;
use rehearsal_sim::buggify::BuggifyConfig;
use rehearsal_sim::dist::Dist;

/// A whole scenario, checked: every value is in range and every strategy
/// value is one the harness knows.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// `name`: used in report paths (`reports/out/<name>/`); `[a-z0-9_-]+`.
    pub name: String,
    /// `description`: free text, shown in reports. Empty when absent.
    pub description: String,
    /// `seeds`: a count `N` means seeds `1..=N`; a list is taken as is.
    pub seeds: Vec<u64>,
    /// `duration`: how long requests keep arriving, in simulated ns.
    pub duration_ns: u64,
    /// `[limits]`.
    pub limits: Limits,
    /// `[topology]`.
    pub topology: Topology,
    /// `[workload]`.
    pub workload: Workload,
    /// `[llm]`.
    pub llm: ServiceModel,
    /// `[tool]`.
    pub tool: ServiceModel,
    /// `[retry]`: the parameters shared by every retry strategy.
    pub retry: RetryParams,
    /// `[strategies]`: axes in file order, values in file order.
    pub strategies: Vec<Axis>,
    /// `[supervision]`: the parameters shared by every supervision strategy.
    pub supervision: SupervisionParams,
    /// `[faults]`: crashes, scheduled and random.
    pub faults: Faults,
    /// `[buggify]`: fault points (`enabled` default true, `site_probability`
    /// default 0.25, `fire_probability` default 0.25).
    pub buggify: BuggifyConfig,
}

/// `workload.shape`: how the fleet handles a request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `"pool"` (default): a gateway hands each request to one of
    /// `topology.agents` independent agents, which run every step.
    Pool,
    /// `"pipeline"`: one stage actor per step, in a chain; each stage
    /// subscribes to the one before it when it starts, so stages depend on
    /// the ones started before them (`topology.agents` is ignored).
    Pipeline,
}

/// A child's OTP restart type.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RestartType {
    Permanent,
    Transient,
    Temporary,
}

/// `[supervision]`.
#[derive(Clone, Debug, PartialEq)]
pub struct SupervisionParams {
    /// `intensity = { max_restarts, period }`: OTP MaxR/MaxT (default 10 in 60s).
    pub max_restarts: u32,
    pub period_ns: u64,
    /// `shutdown` (default 5s): a child's shutdown timeout before it is killed.
    pub shutdown_ns: u64,
    /// `restart` (default `permanent`): the children's restart type.
    pub restart: RestartType,
    /// `max_restarts_per_child` (default none): Ray's `max_restarts`.
    pub max_restarts_per_child: Option<u32>,
    /// `max_task_retries` (default 0): Ray's `max_task_retries`: how often
    /// the gateway re-sends a request whose agent died mid-request.
    pub max_task_retries: u32,
    /// `backoff = { min, max, random_factor, reset_after }` (Akka
    /// restartWithBackoff; defaults 200ms, 10s, 0.2, 30s), used by the
    /// `one_for_one_backoff` strategy.
    pub backoff_min_ns: u64,
    pub backoff_max_ns: u64,
    pub backoff_random_factor: f64,
    pub backoff_reset_after_ns: u64,
}

/// `[faults]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Faults {
    /// `failure_detection` (default 5s): how long until other nodes learn
    /// that a node died.
    pub failure_detection_ns: u64,
    /// `[[faults.schedule]]` entries, in file order.
    pub schedule: Vec<ScheduledFault>,
    /// `agent_crash_mtbf`: each agent crashes at random with this mean time
    /// between failures (exponential); `None`: never.
    pub agent_crash_mtbf_ns: Option<u64>,
    /// `node_crash_mtbf`: each node but node 0 (which hosts the gateway and
    /// the root supervisor) crashes at random with this mean time between
    /// failures; `None`: never.
    pub node_crash_mtbf_ns: Option<u64>,
    /// `node_mttr` (default 30s): mean time to repair a crashed node (exponential).
    pub node_mttr_ns: u64,
}

/// One `[[faults.schedule]]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledFault {
    /// `at`: simulated time.
    pub at_ns: u64,
    pub kind: ScheduledFaultKind,
}

/// What a scheduled fault does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScheduledFaultKind {
    /// `crash_agent = N`: agent N (pool) or stage N (pipeline) crashes.
    CrashAgent(u32),
    /// `crash_node = N`, with `for = "30s"`: node N crashes, and restarts
    /// after `for` (never, without `for`).
    CrashNode { node: u32, down_for_ns: Option<u64> },
}

/// `[limits]`: every run stops with an error naming the limit it hit.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// `max_events` (default 50_000_000).
    pub max_events: u64,
    /// `max_sim_time` (default: `duration` + 10 minutes of drain).
    pub max_sim_time_ns: u64,
    /// `mailbox_capacity` (default 1024), per actor.
    pub mailbox_capacity: u32,
    /// `mailbox_overflow` (default `reject`): `reject`, `drop_newest`, `drop_oldest`.
    pub mailbox_overflow: OverflowPolicy,
}

/// `[topology]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    /// `nodes` (>= 1, default 1).
    pub nodes: u32,
    /// `agents` (>= 1): agent actors, spread round-robin over the nodes.
    pub agents: u32,
    /// `network.latency`: one-way latency between two different nodes, ns.
    /// Default: constant 1 ms. Messages within one node take no time.
    pub network_latency: Dist,
}

/// `[workload]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// `arrivals = { process = "poisson", rate_per_s = R }`: R > 0.
    pub arrival_rate_per_s: f64,
    /// `steps`: the calls each request makes, in order (default
    /// `["llm", "tool", "llm"]`); at least one.
    pub steps: Vec<Step>,
    /// `request_timeout` (default 2 minutes): the client gives up then.
    pub request_timeout_ns: u64,
    /// `shape` (default `"pool"`).
    pub shape: Shape,
}

/// One call in a request's workflow.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Llm,
    Tool,
}

/// `[llm]` and `[tool]`: a simulated external service.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceModel {
    /// `latency`: time from call to answer, ns.
    pub latency: Dist,
    /// `error_rate` in `[0, 1]` (default 0): chance a call fails (a 5xx).
    pub error_rate: f64,
    /// `timeout` (default 30 s): the caller's per-attempt timeout.
    pub timeout_ns: u64,
    /// `input_tokens` / `output_tokens` (LLM only; `None` for tools):
    /// token counts per call, for cost and throughput figures.
    pub tokens: Option<TokenModel>,
}

/// Token counts of one LLM call.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenModel {
    pub input: Dist,
    pub output: Dist,
}

/// `[retry]`.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryParams {
    /// `max_attempts` (>= 1, default 4), first attempt included.
    pub max_attempts: u32,
    /// `base_delay` (default 100 ms).
    pub base_delay_ns: u64,
    /// `max_delay` (default 10 s), the cap on one backoff.
    pub max_delay_ns: u64,
}

/// One axis of the strategy matrix, e.g. `retry = ["none", "exponential_full_jitter"]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axis {
    pub name: String,
    pub values: Vec<String>,
}
