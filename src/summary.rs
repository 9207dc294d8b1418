//! The result of one run, as `run --json` prints it and as reports read it.
//!
//! The field names are a contract that scripts read: add fields, never
//! rename or remove one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::strategy::Strategy;

/// One run: one scenario, one seed, one strategy combination.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
    /// Latency of every request that ended, succeeded or failed, from its
    /// arrival (intended start) to its end; a client timeout ends a request
    /// at the moment the client gave up. Requests still open at the end of
    /// the run are not in it (see `requests.in_flight`). All zeros with
    /// `count == 0` only when no request ended.
    pub latency_ms: LatencyMs,
    /// The same over succeeded requests only; `null` when none succeeded.
    #[serde(default)]
    pub latency_ms_succeeded: Option<LatencyMs>,
    /// The same over failed requests only; `null` when none failed.
    #[serde(default)]
    pub latency_ms_failed: Option<LatencyMs>,
    /// Requests that arrived per second of the observation window
    /// (`observed_s`).
    #[serde(default)]
    pub arrival_rate_per_s: f64,
    /// Time average of the number of requests in the system (arrived, not
    /// yet ended) over the observation window. With `arrival_rate_per_s`
    /// and `latency_ms.mean`, Little's law L = lambda W holds exactly on a
    /// run whose requests all ended.
    #[serde(default)]
    pub in_system_mean: f64,
    /// The observation window, seconds: from 0 to the end of the arrival
    /// window or the end of the last request, whichever is later (the end
    /// of the run when requests were still open).
    #[serde(default)]
    pub observed_s: f64,
    /// From the first arrival to the last end of a request (a closed
    /// population's time to finish); `null` when no request ended.
    #[serde(default)]
    pub makespan_s: Option<f64>,
    /// Total cost over succeeded requests; `null` when none succeeded.
    #[serde(default)]
    pub cost_per_succeeded_request: Option<f64>,
    /// Per LLM and tool, keyed `llm:NAME` / `tool:NAME`.
    #[serde(default)]
    pub services: BTreeMap<String, ServiceSummary>,
    /// How busy the agents were, and how long they were unavailable.
    #[serde(default)]
    pub agents: AgentsSummary,
    /// The run in intervals of equal length covering the observation window.
    #[serde(default)]
    pub timeline: Vec<TimelineInterval>,
    /// BUGGIFY fires per fault site (site id as hex, e.g. `0xa9e70001`,
    /// with its name when known); `buggify_fired` is their sum.
    #[serde(default)]
    pub buggify_fired_by_site: BTreeMap<String, u64>,
    /// The run's latency histograms in a mergeable form, for pooled
    /// percentiles across seeds.
    #[serde(default)]
    pub histograms: Histograms,
    /// Per workflow step, by step name (`step1:llm:planner`, ...): its
    /// calls, from the ledger's spans.
    #[serde(default)]
    pub steps: BTreeMap<String, StepSummary>,
    /// Per agent role (`agent`, or `stage1`, ... in a pipeline): how many
    /// agents, and how busy they were.
    #[serde(default)]
    pub roles: BTreeMap<String, RoleSummary>,
    /// Per request type of a request mix (`[[workload.requests]]`), by
    /// name: its requests. Empty (and left out) with a single type.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_types: BTreeMap<String, TypeCounts>,
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
    /// The system under test's own invariants that this run broke (see
    /// `SystemUnderTest::invariants`); left out when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub broken_by_system: Vec<String>,
    /// The resilience policy's figures (the `policy` axis); left out
    /// without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resilience: Option<ResilienceSummary>,
    /// Virtual agents: per node (by index), its load; left out without
    /// virtual roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<BTreeMap<String, NodeSummary>>,
    /// Virtual agents' activations; left out without virtual roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_agents: Option<VirtualSummary>,
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

/// Request accounting from the world's request ledger. `arrived` counts
/// arrivals, `succeeded` and `failed` count ended entries by outcome, and
/// `in_flight` counts entries still open: four independent counts, which
/// the accounting invariant checks against `arrived = succeeded + failed +
/// in_flight`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    pub arrived: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub in_flight: u64,
    /// Failed requests by cause (see [`crate::ledger::Cause`] for the
    /// documented names); sums to `failed`.
    #[serde(default)]
    pub failed_by_cause: BTreeMap<String, u64>,
}

/// Percentiles in milliseconds (HdrHistogram, 3 significant figures), over
/// `count` samples. A percentile that `count` cannot support (p99.9 of
/// fewer than 1,000 samples) is the sample's top, and reports mark it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyMs {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
    #[serde(default)]
    pub count: u64,
}

/// Latency histograms of one run (microseconds), each base64 of its
/// HdrHistogram V2 serialization (see [`crate::hist`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histograms {
    /// Every ended request (what `latency_ms` summarises).
    pub latency_us: String,
    /// Succeeded requests.
    pub latency_us_succeeded: String,
    /// Failed requests.
    pub latency_us_failed: String,
}

/// One service (an LLM or a tool) over a run, from the service model and
/// the ledger's spans.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceSummary {
    /// `llm` or `tool`.
    pub kind: String,
    /// Calls that reached the service, retries included.
    pub calls: u64,
    /// Calls answered with success.
    pub succeeded: u64,
    /// Error answers by kind (`server_error`, `rate_limited`, `overloaded`,
    /// `unavailable`, `tool_error`, `crash`, ...).
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Calls answered 429 (a provider rate limit or a full queue).
    pub rate_limited: u64,
    /// Calls whose caller's timeout ran out before the answer.
    pub timeouts: u64,
    /// Calls cancelled by their caller (gave up, or no longer needed).
    pub cancelled: u64,
    /// Abandoned calls the service went on serving (and charging) anyway.
    pub served_after_abandon: u64,
    /// Time calls waited for a concurrency slot; `null` without calls.
    pub queue_wait_ms: Option<LatencyMs>,
    /// Time from start (slot taken) to answer; `null` without answers.
    pub service_time_ms: Option<LatencyMs>,
    /// LLMs: time to first token of successful calls.
    pub ttft_ms: Option<LatencyMs>,
    /// LLMs: time per output token after the first, of successful calls.
    pub time_per_token_ms: Option<LatencyMs>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// What the calls cost, in the scenario's currency units.
    pub cost: f64,
    /// Mean fraction of the concurrency slots busy over the observation
    /// window; `null` when the service has no concurrency limit.
    pub busy_fraction: Option<f64>,
    /// Stores only: `reads`, `writes` (won or lost) and `conflicts` (writes
    /// that lost); left out for other services.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub store: Option<crate::world::store::StoreCounts>,
}

/// One workflow step over a run. A call step counts every call made for
/// it (retries and every fan-out part or parallel copy included), from the
/// ledger; any other step (roles: an ask, a sequence, a parallel, a loop,
/// a branch) counts its runs, as its agents exported them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepSummary {
    /// `call`, `ask`, `sequence`, `parallel`, `loop` or `branch`.
    #[serde(default = "call_kind")]
    pub kind: String,
    /// The service a call step calls (`llm:NAME`, `tool:NAME`), the role an
    /// ask asks (`role:NAME`); empty otherwise.
    pub service: String,
    /// Calls made (attempts), or runs started; and those that did not
    /// succeed (errors, timeouts, cancellations).
    pub calls: u64,
    pub failed: u64,
    /// Runs stopped because their work no longer needed them (a decided
    /// parallel, an abandoned ask); `null` for a call step (a cancelled
    /// call counts in `failed`).
    #[serde(default)]
    pub cancelled: Option<u64>,
    /// Time from call to answer (or to the caller giving up) of each call,
    /// or from start to end of each run that ended; `null` when none ended.
    pub latency_ms: Option<LatencyMs>,
    /// Tokens and cost of a call step's calls; `null` for other steps
    /// (their calls count under their own steps).
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    /// The tokens at the service's prices.
    pub cost: Option<f64>,
}

fn call_kind() -> String {
    "call".to_owned()
}

/// The requests of one request type over a run (in flight: arrived -
/// succeeded - failed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeCounts {
    pub arrived: u64,
    pub succeeded: u64,
    pub failed: u64,
}

/// One role of agents over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleSummary {
    pub agents: u32,
    /// Pieces of work one agent runs at once.
    #[serde(default = "one")]
    pub concurrency: u32,
    /// Mean fraction of its agents' capacity in use over the observation
    /// window: roles, busy slot-time over agents x concurrency x window (a
    /// piece of work holds its slot from start to answer, waits on asks
    /// included); the simple form, `agents.busy_fraction_mean`.
    pub utilisation: f64,
}

fn one() -> u32 {
    1
}

/// The agents (or pipeline stages) over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentsSummary {
    /// Mean over agents of the fraction of the observation window each spent
    /// working on a request (from the ledger's spans: first call to last
    /// answer of a request, backoff included).
    pub busy_fraction_mean: f64,
    /// The busiest agent's fraction.
    pub busy_fraction_max: f64,
    /// Seconds the agents were unavailable (no live holder of the name),
    /// summed over them, and the longest for one agent.
    pub unavailable_s_total: f64,
    pub unavailable_s_max: f64,
}

/// One interval of a run's timeline: `[t_s, t_s + interval)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelineInterval {
    /// Start of the interval, seconds.
    pub t_s: f64,
    /// Requests that arrived in the interval.
    pub offered: u64,
    /// Requests that ended in the interval, by outcome.
    pub succeeded: u64,
    pub failed: u64,
    /// Time average of the requests in the system over the interval.
    pub in_system: f64,
}

/// Calls to external services, retries included (totals over `services`).
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

/// What a run's resilience policy did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResilienceSummary {
    /// The policy's name.
    pub policy: String,
    /// Per service: its circuit breakers (one per agent), summed.
    pub breakers: BTreeMap<String, BreakerSummary>,
    /// Retries a retry budget refused.
    pub budget_denied: u64,
    /// Calls routed to a fallback model.
    pub fallback_calls: u64,
}

/// One service's circuit breakers over a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BreakerSummary {
    /// Transitions by `from->to` (`closed->open`, `open->half_open`,
    /// `half_open->closed`, `half_open->open`).
    pub transitions: BTreeMap<String, u64>,
    /// Calls refused while open (they cost the service nothing).
    pub calls_rejected: u64,
    /// Time spent open, summed over agents, s.
    pub time_open_s: f64,
}

/// One node's share of a virtual role's work.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeSummary {
    /// Pieces of work its activations finished.
    pub load: u64,
    /// How long it was up in the window, s (a node lost, or joined, midway
    /// was up part of it).
    #[serde(default)]
    pub up_s: f64,
    /// `load` per second up (`null` if it never was).
    #[serde(default)]
    pub load_per_s: Option<f64>,
    /// Activations started on it.
    pub activations: u64,
    /// Activations alive on it at once, at most (by the directories'
    /// counts, which learn of a node's loss after failure detection).
    #[serde(default)]
    pub activations_max: u64,
    /// Its memory held by them at most, MB (`null` without `memory_mb`).
    #[serde(default)]
    pub memory_mb_used_max: Option<u64>,
    /// Its memory, MB (`null`: unlimited).
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// CPU time its agents ran over its CPU slots and the window (`null`
    /// without `cpu` slots).
    #[serde(default)]
    pub cpu_utilisation: Option<f64>,
}

/// What virtual agents did over a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VirtualSummary {
    /// Activations started (first messages for a key, and again after
    /// passivation or loss).
    pub activations: u64,
    /// Activations that passivated (idle).
    pub deactivations: u64,
    /// Activations of a key whose previous activation died with its node.
    pub reactivations: u64,
    /// Activations lost with their node (their unpersisted state with them).
    pub lost: u64,
    /// Directory lookups (one per request routed).
    pub directory_lookups: u64,
    /// Requests that waited for an activation (a directory miss).
    pub waited_for_activation: u64,
    /// Mean state load time per activation, ms; `null` without activations.
    pub state_load_ms_mean: Option<f64>,
    /// Activations alive at once, at most.
    pub active_max: u64,
    /// Load imbalance: the busiest node's load per second up over the
    /// mean of the nodes' (the nodes up at some time).
    pub load_imbalance: Option<f64>,
    /// Durable reminders that fired, and the activations they caused.
    #[serde(default)]
    pub reminders_fired: u64,
    #[serde(default)]
    pub activated_by_reminder: u64,
    /// Activations started while another activation of the same key was
    /// alive (the truth, as the harness knows it after the run: an
    /// activation whose node crashed was not alive after the crash).
    #[serde(default)]
    pub duplicate_activations: u64,
    /// Duplicates a directory found (a handoff or a passivation that met
    /// another activation of the key) and resolved by deactivating one.
    #[serde(default)]
    pub duplicates_detected: u64,
    /// Activations a rebalance stopped to move them, and the moves done
    /// (the stopped activation passivated).
    #[serde(default)]
    pub moves: u64,
    #[serde(default)]
    pub moves_done: u64,
    /// Durable state (roles with `state`); `null` without.
    #[serde(default)]
    pub state: Option<StateSummary>,
}

/// Virtual agents' durable state over a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StateSummary {
    /// Loads the store answered, and loads it failed (the activation gave
    /// up; its messages went back to the directory).
    pub loads: u64,
    pub load_failures: u64,
    /// Writes and snapshots the store acknowledged; writes it failed.
    pub writes: u64,
    pub snapshots: u64,
    pub write_failures: u64,
    /// Events replayed by event-sourced loads (recovery work).
    pub events_replayed: u64,
    /// Changes lost: not yet written when their activation's node crashed,
    /// or unwritable when it passivated.
    pub events_lost: u64,
    /// Activations that died with their node holding unwritten changes.
    pub activations_lost_with_changes: u64,
}
