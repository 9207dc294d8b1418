//! The validated, typed form of a scenario file: what a run is built from.
//!
//! `parse.rs` turns TOML into this; nothing downstream ever sees raw TOML.
//! Every time is in integer nanoseconds of simulated time.

use rehearsal_runtime::OverflowPolicy;
pub use rehearsal_sim::arrivals::{Process as ArrivalProcess, Switching};
use rehearsal_sim::buggify::BuggifyConfig;
use rehearsal_sim::dist::Dist;

/// A whole scenario, checked: every value is in range and every strategy
/// value is one the harness knows.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// `name`: used in report paths (`reports/out/<name>/`); `[a-z0-9_-]+`,
    /// 1 to 64 characters.
    pub name: String,
    /// `description`: free text, shown in reports. Empty when absent.
    pub description: String,
    /// `seeds`: a count `N` means seeds `1..=N`; a list is taken as is. At
    /// most 1,000,000 either way.
    pub seeds: Vec<u64>,
    /// `duration`: how long requests keep arriving, in simulated ns.
    pub duration_ns: u64,
    /// `[limits]`.
    pub limits: Limits,
    /// `[topology]`.
    pub topology: Topology,
    /// `[workload]`.
    pub workload: Workload,
    /// LLM services: `[llm]` (named `llm`, index 0) then every
    /// `[llms.NAME]`, by name.
    pub llms: Vec<ServiceModel>,
    /// Tools: `[tool]` (named `tool`, index 0) then every `[tools.NAME]`,
    /// by name.
    pub tools: Vec<ServiceModel>,
    /// `[stores.NAME]`, by name: stores of one versioned row each, read and
    /// written with compare-and-set (optimistic concurrency).
    pub stores: Vec<StoreModel>,
    /// `[policies.NAME]`, by name: resilience policies the `policy` axis
    /// compares.
    pub policies: Vec<super::policy::PolicySpec>,
    /// `[retry]`: the defaults of every retry value's parameters.
    pub retry: RetryParams,
    /// `[strategies]`: axes in file order, values in file order.
    pub strategies: Vec<Axis>,
    /// `[supervision]`: the parameters shared by every supervision strategy.
    pub supervision: SupervisionParams,
    /// `[faults]`: crashes, scheduled and random.
    pub faults: Faults,
    /// `[invariants]`: checks every run must pass (`sweep` and `compare`
    /// list the seeds that break one, with their replay commands).
    pub invariants: Invariants,
    /// `[buggify]`: fault points (`site_probability` default 0.25,
    /// `fire_probability` default 0.25). `buggify.enabled` is what a run of
    /// this scenario uses: the file's `enabled` when set, otherwise `true`;
    /// the CLI sets it to the effective value before running (see
    /// [`Scenario::buggify_enabled`]).
    pub buggify: BuggifyConfig,
    /// `[buggify] enabled` exactly as the file set it; `None` when the file
    /// leaves it to the command (`compare`: off, for measurement; `run` and
    /// `sweep`: on, for bug hunting). The `--buggify on|off` flag overrides
    /// both.
    pub buggify_enabled: Option<bool>,
    /// `[[roles]]`: the full form of the fleet (empty: the simple form,
    /// `workload.shape` and `workload.steps`). See
    /// [`workflow`](super::workflow).
    pub roles: Vec<super::workflow::Role>,
    /// The roles' (and request types') workflows.
    pub workflows: super::workflow::Workflows,
    /// The role client requests go to (`entry = true`, or the first).
    pub entry_role: super::workflow::RoleIndex,
    /// `[gate]`: per-metric tolerances of `rehearsal check` over the
    /// defaults (see [`crate::gate`]).
    pub gate: std::collections::BTreeMap<String, crate::gate::Tolerance>,
}

/// `[invariants]`. Request accounting (`arrived = succeeded + failed +
/// in_flight`) is always checked.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Invariants {
    /// `tool_effects_at_most_once` (default false): no tool side effect may
    /// happen twice for the same idempotency key.
    pub tool_effects_at_most_once: bool,
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
    /// `"fanout"`: the gateway (an orchestrator) asks `fanout` agents at
    /// once to run the request, and answers by the `fanout` strategy (all
    /// of them, a majority, or the first to succeed).
    FanOut,
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
    /// `partition_mtbf` / `partition_mttr`: random partitions that cut one
    /// random node (not node 0) off from the others; `None`: never.
    pub partition_mtbf_ns: Option<u64>,
    pub partition_mttr_ns: u64,
    /// `clog_mtbf` / `clog_mttr`: random clogs of one random node (not 0).
    pub clog_mtbf_ns: Option<u64>,
    pub clog_mttr_ns: u64,
}

/// One `[[faults.schedule]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledFault {
    /// `at`: simulated time.
    pub at_ns: u64,
    pub kind: ScheduledFaultKind,
}

/// What a scheduled fault does.
#[derive(Clone, Debug, PartialEq)]
pub enum ScheduledFaultKind {
    /// `crash_agent = N`: agent N (pool) or stage N (pipeline) crashes.
    CrashAgent(u32),
    /// `crash_node = N`, with `for = "30s"`: node N crashes, and restarts
    /// after `for` (never, without `for`).
    CrashNode { node: u32, down_for_ns: Option<u64> },
    /// `join_node = N`: node N is out of the cluster from the start (known
    /// to every node) and joins at `at`.
    JoinNode { node: u32 },
    /// `partition = [[0, 1], [2, 3]]` (and `one_way = true`), for `for`.
    Partition { groups: Vec<Vec<u32>>, one_way: bool, for_ns: u64 },
    /// `clog_node = N` for `for`: messages to and from N are held, then released.
    ClogNode { node: u32, for_ns: u64 },
    /// `clog_link = [A, B]` for `for`: messages from A to B are held.
    ClogLink { from: u32, to: u32, for_ns: u64 },
    /// `brownout = { llm = "NAME", latency_x, error_rate }` for `for`.
    Brownout { llm: u16, latency_x: f64, error_rate_add: f64, for_ns: u64 },
}

/// `[[topology.links]]`: one directed link's own model.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkSpec {
    pub from: u32,
    pub to: u32,
    /// `latency` (default: the network's).
    pub latency: Option<Dist>,
    pub loss: f64,
    pub duplicate: f64,
    pub reorder: f64,
    /// `ordered = true`: never reordered (TCP-like).
    pub ordered: bool,
}

/// `[limits]`: every run stops with an error naming the limit it hit.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// `max_events` (default 50_000_000).
    pub max_events: u64,
    /// `max_sim_time` (default: `duration` + `request_timeout` + 10
    /// minutes, saturating: past the run's end, so the default never stops
    /// a run). A value set in the file is at least `duration`, and may be
    /// below the run's end: then it is the limit that stops the run.
    pub max_sim_time_ns: u64,
    /// `max_queued_events` (default 2,000,000, at most 1,000,000,000):
    /// events and mailboxed messages waiting at once, the bound on a run's
    /// memory for runaway arrivals and backlogs.
    pub max_queued_events: usize,
    /// `mailbox_capacity` (default 1024), per actor.
    pub mailbox_capacity: u32,
    /// `mailbox_overflow` (default `reject`): `reject`, `drop_newest`, `drop_oldest`.
    pub mailbox_overflow: OverflowPolicy,
}

/// `[topology]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    /// `nodes` (1 to 65,536, default 1): node ids are 16 bits. Every node
    /// index in the scenario (links, faults) is below `nodes`, so it fits
    /// a `u16`.
    pub nodes: u32,
    /// `agents` (1 to 10,000,000): agent actors, spread round-robin over
    /// the nodes. With `[[roles]]`, the sum of the roles' counts (agents
    /// are numbered role by role, in file order).
    pub agents: u32,
    /// `network.latency`: one-way latency between two different nodes, ns.
    /// Default: constant 1 ms. Messages within one node take no time.
    /// `network.latency_csv = "file"` gives an empirical distribution, read
    /// when the scenario loads.
    pub network_latency: Dist,
    /// `network.loss`, `network.duplicate`, `network.reorder`: rates on
    /// every link between nodes (default 0).
    pub loss: f64,
    pub duplicate: f64,
    pub reorder: f64,
    /// `[[topology.links]]`: per-link overrides; `from != to`, each
    /// directed link at most once.
    pub links: Vec<LinkSpec>,
    /// `capacity = { cpu, memory_mb }` (every node) and `node_capacity =
    /// [{ node, cpu, memory_mb }]` (overrides), by node index; empty:
    /// unlimited everywhere.
    pub capacity: Vec<NodeCapacity>,
}

impl Topology {
    /// Node `node`'s capacity (unlimited if none is given).
    pub fn capacity_of(&self, node: u32) -> NodeCapacity {
        self.capacity.get(node as usize).copied().unwrap_or_default()
    }
}

/// What one node offers the agents on it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeCapacity {
    /// CPU slots: pieces of agent work (a role's `cpu`) that run at once;
    /// more wait their turn. `None`: as many as there are.
    pub cpu: Option<u32>,
    /// Memory for activations and agents (a role's `memory_mb` each);
    /// `None`: unlimited.
    pub memory_mb: Option<u64>,
}

/// `[workload]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// `arrivals = { process = "...", ... }`: when requests arrive, an open
    /// process (`poisson`, `constant`, `bursts`, `daily`, `ramp`, `trace`)
    /// or closed-loop users (`closed`, `population`); see
    /// [`ArrivalProcess`] and `docs/scenario.md`. A `trace` file is read
    /// when the scenario loads, its times already scaled by `time_scale`.
    pub arrivals: ArrivalProcess,
    /// `steps`: the calls each request makes, in order (default
    /// `["llm", "tool", "llm"]`); at least one.
    pub steps: Vec<Step>,
    /// `request_timeout` (default 2 minutes): the client gives up then.
    pub request_timeout_ns: u64,
    /// `shape` (default `"pool"`).
    pub shape: Shape,
    /// `fanout` (default 3): agents asked per request, for `shape = "fanout"`.
    pub fanout: u32,
    /// `subtask_timeout` (default: half of `request_timeout`): how long the
    /// gateway waits for one agent's answer to its part of a fan-out.
    pub subtask_timeout_ns: u64,
    /// `[[workload.requests]]`: the request types and their weights. The
    /// simple form (`steps`) is one type named `default`, with weight 1, the
    /// `steps` above, `request_timeout` as its deadline and no key.
    pub types: Vec<RequestType>,
}

impl Workload {
    /// The longest deadline of any request type (at least
    /// `request_timeout`): every request has ended by then.
    pub fn max_deadline_ns(&self) -> u64 {
        self.types.iter().map(|t| t.deadline_ns).fold(self.request_timeout_ns, u64::max)
    }
}

/// One `[[workload.requests]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestType {
    /// `name`: `[a-z0-9_-]`, 1 to 64 characters, unique.
    pub name: String,
    /// `weight`: > 0 and finite; a request is of this type with probability
    /// weight / (sum of weights).
    pub weight: f64,
    /// `steps`: this type's workflow.
    pub steps: Vec<Step>,
    /// `deadline` (default `workload.request_timeout`): the client's timeout.
    pub deadline_ns: u64,
    /// `key`: the distribution of a request's conversation key; `None`: no key (0).
    pub key: Option<KeyDist>,
    /// With `[[roles]]`: this type's own workflow, run by the entry role
    /// instead of the role's (its `workflow`, or its `steps` as calls);
    /// `None`: the entry role's.
    pub workflow: Option<super::workflow::NodeIndex>,
}

/// `key = { dist = "uniform", keys = K }` or `{ dist = "zipf", keys = K, s }`:
/// a key in `1..=K`.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyDist {
    Uniform {
        keys: u32,
    },
    /// `cdf`: computed once when the scenario loads (see [`ZipfCdf`]).
    Zipf {
        keys: u32,
        s: f64,
        cdf: ZipfCdf,
    },
}

/// The CDF of Zipf(`keys`, `s`) over `1..=keys`: `cdf[k - 1]` = P(key <= k),
/// computed once when the scenario loads and shared by every run (up to
/// [`MAX_KEYS`] entries). Equal to any other: it is a function of `keys`
/// and `s`, which [`KeyDist`] compares.
#[derive(Clone, Debug)]
pub struct ZipfCdf(pub std::sync::Arc<[f64]>);

impl ZipfCdf {
    pub fn new(keys: u32, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(keys.max(1) as usize);
        let mut total = 0.0;
        for k in 1..=keys.max(1) {
            total += 1.0 / libm::pow(f64::from(k), s);
            cdf.push(total);
        }
        for c in &mut cdf {
            *c /= total;
        }
        ZipfCdf(cdf.into())
    }
}

impl PartialEq for ZipfCdf {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The largest `keys` of a key distribution.
pub const MAX_KEYS: u32 = 10_000_000;

/// One call in a workflow: `"llm"` / `"llm:NAME"` (an index into
/// [`Scenario::llms`]) or `"tool"` / `"tool:NAME"` (into [`Scenario::tools`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Llm(u16),
    Tool(u16),
}

/// `[llm]`, `[llms.NAME]`, `[tool]`, `[tools.NAME]`: a simulated external service.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceModel {
    /// The table's name: `llm`, `tool`, or `NAME`.
    pub name: String,
    /// `latency`: time from call to answer, ns; for an LLM, the fallback
    /// when `ttft`/`per_token` are not given (then the whole answer's time).
    pub latency: Dist,
    /// LLM only: streaming latency, cost, limits.
    pub llm: Option<LlmExtras>,
    /// Tool only: failure kinds beyond `error_rate`.
    pub tool: Option<ToolExtras>,
    /// `error_rate` in `[0, 1]` (default 0): chance a call fails (a 5xx).
    pub error_rate: f64,
    /// `timeout` (default 30 s): the caller's per-attempt timeout.
    pub timeout_ns: u64,
    /// `input_tokens` / `output_tokens` (LLM only; `None` for tools):
    /// token counts per call, for cost and throughput figures.
    pub tokens: Option<TokenModel>,
}

/// `[stores.NAME]`: a store of one versioned row (see
/// [`crate::system::StoreOp`]). Each operation's request and its answer each
/// cross one `hop`; the row changes when the request arrives.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreModel {
    pub name: String,
    /// `hop` (default constant 1 ms): one message's way to or from the store.
    pub hop: Dist,
    /// `timeout` (default 30 s): the caller's per-operation timeout.
    pub timeout_ns: u64,
}

/// The LLM-only keys.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LlmExtras {
    /// `profile`: fitted defaults for everything not given (see docs).
    pub profile: Option<String>,
    /// `ttft` and `per_token`: latency = ttft + (output tokens - 1) x per_token.
    pub ttft: Option<Dist>,
    pub per_token: Option<Dist>,
    /// `tokens_csv`: the CSV file the token pairs of `token_trace` were
    /// read from, resolved from the scenario file's directory (for
    /// messages; nothing reads it again).
    pub tokens_csv: Option<std::path::PathBuf>,
    /// The `(input, output)` token pairs of `tokens_csv` (Azure trace
    /// format, or two columns), read once when the scenario loads; calls
    /// resample them instead of drawing from the token dists. Never empty.
    pub token_trace: Option<std::sync::Arc<[(u32, u32)]>>,
    /// `concurrency`: calls served at once; more wait in a FIFO queue.
    pub concurrency: Option<u32>,
    /// `queue_limit`: calls that may wait; beyond, answered 429.
    pub queue_limit: Option<u32>,
    /// `rate_limit = { rpm, tpm }`: provider limits (429 with Retry-After).
    pub rpm: Option<u32>,
    pub tpm: Option<u64>,
    /// `hang_rate`: chance a call never answers.
    pub hang_rate: f64,
    /// `cold_start = { probability, extra }`: an extra TTFT now and then.
    pub cold_start: Option<(f64, Dist)>,
    /// `cost = { input_per_1k, output_per_1k }`, currency units per 1,000
    /// tokens, each from 0 to 1e6.
    pub cost_input_per_1k: f64,
    pub cost_output_per_1k: f64,
    /// `on_abandon`: what the service does with a call whose caller gave up
    /// (timed out, cancelled, or died).
    pub on_abandon: OnAbandon,
}

/// What an LLM service does with a call its caller abandoned.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum OnAbandon {
    /// `"cancel"` (default): a queued call is removed (never served, never
    /// charged); a running call stops, frees its slot at once and is charged
    /// for the input and the output tokens generated so far, as a streaming
    /// API does when the client closes the connection.
    #[default]
    Cancel,
    /// `"finish"`: the server finishes abandoned work, queued or running,
    /// and charges for it: the capacity wasted on answers nobody reads is
    /// one real cause of metastable failure.
    Finish,
}

/// The tool-only keys.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ToolExtras {
    /// `timeout_rate`: chance a call never answers (the caller times out).
    pub timeout_rate: f64,
    /// `crash_rate`: chance the tool process crashes (answered as unavailable).
    pub crash_rate: f64,
    /// `timeout_after_effect`: chance the side effect happens but the caller
    /// gets no answer (it times out, and a retry repeats the effect).
    pub timeout_after_effect: f64,
}

/// Token counts of one LLM call. Every parameter is at most 10,000,000
/// tokens, and a log-normal draws over `u32::MAX` (where draws are
/// clamped) less than once in a million calls.
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

/// One axis of the strategy matrix, e.g. `retry = ["none", "exponential_full_jitter"]`
/// or a sweep `retry = { kind = "exponential", max_attempts = [1, 2, 4, 8] }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// The axis's key in `[strategies]`.
    pub name: String,
    /// Each value's label (what a [`Strategy`](crate::strategy::Strategy)
    /// holds), in file order, sweeps expanded; distinct.
    pub values: Vec<String>,
    /// The typed values, parallel to `values`.
    pub typed: crate::strategy::AxisValues,
}
