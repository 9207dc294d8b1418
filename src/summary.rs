//! The result of one run, as `run --json` prints it and as reports read it.
//!
//! The field names are a contract that scripts read: add fields, never
//! rename or remove one.

use serde::{Deserialize, Serialize};

use crate::strategy::Strategy;

/// One run: one scenario, one seed, one strategy combination.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub scenario: String,
    pub seed: u64,
    pub strategy: Strategy,
    /// The run's trace hash, as 16 lower-case hex digits.
    pub trace_hash: String,
    /// Events the kernel processed.
    pub events: u64,
    /// Simulated time at the end of the run, seconds.
    pub sim_time_s: f64,
    pub requests: RequestCounts,
    /// Latency of answered requests, from arrival (intended start) to answer.
    pub latency_ms: LatencyMs,
    /// Succeeded requests per simulated second of the arrival window.
    pub throughput_per_s: f64,
    /// Service calls made, including retries.
    pub calls: CallCounts,
    /// Token use and what it cost.
    pub tokens: TokenCounts,
    /// Messages the runtime dropped or bounced (mailbox overflow, dead
    /// actors), and late replies discarded after their ask timed out.
    pub dropped_messages: u64,
    pub late_replies: u64,
    /// Succeeded requests per simulated second, one bucket per second of the
    /// run, for the throughput-over-time chart.
    pub throughput_timeline: Vec<u32>,
    /// Crashes, restarts and what they cost.
    #[serde(default)]
    pub supervision: SupervisionCounts,
    /// Tool side effects and their duplicates.
    #[serde(default)]
    pub side_effects: SideEffects,
    /// BUGGIFY fault points that fired.
    #[serde(default)]
    pub buggify_fired: u64,
    /// Seconds each agent (or pipeline stage), by index, was unavailable:
    /// no live actor held its name.
    #[serde(default)]
    pub agent_downtime_s: Vec<f64>,
}

/// Crashes and the supervision that answered them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SupervisionCounts {
    /// Faults injected (actor and node crashes).
    pub crashes: u64,
    /// Actors restarted (spawned after the fleet was built).
    pub restarts: u64,
    /// Supervisors that gave up (restart intensity exceeded) or escalated.
    pub escalations: u64,
    /// Requests lost or failed because of a crash: in flight on an agent
    /// that died (and not retried), or finished by a stage whose downstream
    /// subscription died with a restart.
    pub lost_to_crash: u64,
    /// Requests re-sent after their agent died (Ray max_task_retries).
    pub retried_after_crash: u64,
    /// Requests failed at once because no agent was up.
    pub no_agent: u64,
    /// Pipeline: finished work that had no downstream stage to go to.
    pub no_downstream: u64,
    /// Requests whose client gave up waiting (often work lost in a crash).
    pub client_timeouts: u64,
    /// Seconds the agents (or stages) were unavailable, summed over them.
    pub agent_downtime_s_total: f64,
    /// The longest any one agent (or stage) was unavailable, seconds.
    pub agent_downtime_s_max: f64,
}

/// Request accounting: `arrived = succeeded + failed + in_flight` always.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    pub arrived: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub in_flight: u64,
}

/// Latency percentiles in milliseconds (HdrHistogram, 3 significant figures).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyMs {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

/// Calls to external services, retries included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCounts {
    pub llm: u64,
    pub tool: u64,
    pub retries: u64,
    pub errors: u64,
    pub timeouts: u64,
    /// Calls answered 429 (provider rate limit or a full queue).
    #[serde(default)]
    pub rate_limited: u64,
}

/// Tokens sent to and received from LLM services, and their cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenCounts {
    pub input: u64,
    pub output: u64,
    /// What the tokens cost, in the scenario's currency units.
    #[serde(default)]
    pub cost: f64,
}

/// Tool side effects, from the tools' ledger by idempotency key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideEffects {
    /// Side effects performed.
    pub performed: u64,
    /// Effects beyond the first for the same idempotency key: what retries
    /// after a timeout-after-effect duplicated.
    pub duplicates: u64,
}
