//! The validated, typed form of a scenario file: what a run is built from.
//!
//! `parse.rs` turns TOML into this; nothing downstream ever sees raw TOML.
//! Every time is in integer nanoseconds of simulated time.

use rehearsal_runtime::OverflowPolicy;
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
