//! Roles and workflows: the full form of a scenario's agent system.
//!
//! A scenario with `[roles.NAME]` tables describes its fleet as roles
//! (planner, researcher, writer, ...), each a group of identical agents
//! that run a small program, its workflow, for every piece of work they
//! are given. Client requests go to the entry role; a workflow may ask
//! another role, so work flows between roles as messages.
//!
//! A workflow is a tree of [`Node`]s kept in one arena per scenario
//! ([`Workflows`]), so agents walk it by index and a running request is a
//! handful of small frames, not a tree of boxes. Every named step has a
//! scenario-wide [`StepId`]: the ledger records it with each call, and
//! `run --json` reports per step under its qualified name
//! (`role.step`, or `type.step` for a request type's own workflow).

use rehearsal_sim::dist::Dist;

use crate::strategy::retry::Retry;

/// Index of a node in [`Workflows::nodes`].
pub type NodeIndex = u32;

/// Index of a named step in [`Workflows::steps`].
pub type StepId = u16;

/// Index of a role in [`Scenario::roles`](super::Scenario::roles).
pub type RoleIndex = u16;

/// The most roles a scenario may declare.
pub const MAX_ROLES: usize = 256;

/// The most named steps all workflows of a scenario may hold together
/// (step ids are 12 bits in a call's trace context).
pub const MAX_STEPS: usize = 4_096;

/// The most iterations a loop may make (`max`).
pub const MAX_LOOP_ITERATIONS: u32 = 10_000;

/// The most branches a `parallel` step may start (`copies` or the list).
pub const MAX_PARALLEL: u32 = 1_000;

/// The most frames one piece of work may create in the worst case (every
/// loop at its cap, every branch its largest): a workflow over this is
/// rejected when the scenario loads, so a running agent's memory per
/// request is bounded.
pub const MAX_FRAMES_PER_WORK: u64 = 1_000_000;

/// `[roles.NAME]`: a group of identical agents.
#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    /// The table's name: `[a-z0-9_-]`, 1 to 64 characters.
    pub name: String,
    /// `count` (default 1): agents of this role.
    pub count: u32,
    /// `concurrency` (default 1): pieces of work one agent runs at once;
    /// more wait in its mailbox.
    pub concurrency: u32,
    /// `mailbox` (default `[limits] mailbox_capacity`): the bound on work
    /// waiting at one agent; beyond it, an ask is refused (`mailbox_full`).
    pub mailbox: Option<u32>,
    /// `nodes` (default: every node): where the role's agents run,
    /// round-robin over this list.
    pub nodes: Vec<u32>,
    /// `retry` (default: the `retry` strategy axis): this role's retry
    /// policy for its calls, overriding the axis.
    pub retry: Option<Retry>,
    /// `workflow`: what an agent does with one piece of work.
    pub workflow: NodeIndex,
    /// `virtual = true`: the role's agents are virtual, one per request key,
    /// activated on demand (see `placement`); `count` is then 0.
    pub virtual_agents: Option<VirtualSpec>,
    /// `cpu` (default 0): the time one piece of work takes on its agent's
    /// node's CPU before the workflow starts (building prompts, parsing
    /// answers), waiting for a free slot on a node with `cpu` slots.
    pub cpu_ns: u64,
    /// `memory_mb` (default 0): what one agent or activation holds of its
    /// node's memory; a node with `memory_mb` takes no more activations
    /// than fit.
    pub memory_mb: u64,
    /// How long this role's router waits for one of its agents to answer
    /// (the longest timeout of any ask of it, or the longest request
    /// deadline for the entry role).
    pub work_timeout_ns: u64,
}

/// A virtual role's activations.
#[derive(Clone, Debug, PartialEq)]
pub struct VirtualSpec {
    /// `idle_timeout` (default 60 s): an activation idle this long
    /// passivates; `passivation = false`: never.
    pub idle_ns: Option<u64>,
    /// `state_load` (default none): the time an activation takes to load
    /// its state before its first work.
    pub state_load: Option<Dist>,
    /// `reminder` (default none): a durable reminder per virtual agent,
    /// registered with its first activation, kept by the directory (it
    /// survives passivation and node loss, as Orleans reminders do), firing
    /// every period: it wakes the agent, activating it again if need be.
    /// Timers, unlike reminders, die with their activation.
    pub reminder_ns: Option<u64>,
    /// `directory`: where the table of activations lives (`None`: as the
    /// `directory` strategy axis says, central by default).
    pub directory: Option<DirectoryKind>,
    /// `state`: durable state in a store (`None`: only `state_load`).
    pub state: Option<StateSpec>,
    /// `rebalance = { every, threshold, max_moves }`: move activations
    /// towards where the placement puts them (`None`: never).
    pub rebalance: Option<Rebalance>,
}

/// Rebalancing of a virtual role (Akka's shard rebalancing): every
/// `period_ns` the directory stops activations so that their next message
/// activates them where the placement says: for `hash` and
/// `consistent_hash`, those whose key now belongs to another node; for the
/// other placements, one at a time from the busiest node while it holds
/// more than `threshold` activations above the least busy. At most
/// `max_moves` at once.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Rebalance {
    pub period_ns: u64,
    pub threshold: u64,
    pub max_moves: u32,
}

/// `state = { store, kind, persist, snapshot_every, replay_per_event }`: a
/// virtual agent's durable state, kept in a store service (a `[tools.NAME]`
/// with its own latency, errors and timeout). An activation loads it (one
/// call) before its first work; each piece of work it finishes changes it
/// (one event); the changes are written back by `persist`. What was not yet
/// written when the node died is lost.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct StateSpec {
    /// The store service.
    pub store: super::Step,
    pub timeout_ns: u64,
    pub kind: StateKind,
    pub persist: Persist,
    /// The steps the store's calls are filed under (`ROLE.state-load`,
    /// `ROLE.state-write`).
    pub load_step: StepId,
    pub write_step: StepId,
}

/// How state is kept.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum StateKind {
    /// The whole state, written over (Orleans persistent state, Dapr actor
    /// state): loading is one read.
    Durable,
    /// A journal of events with a snapshot every `snapshot_every` events
    /// (Akka Persistence): loading reads the snapshot and replays the events
    /// since, `replay_per_event_ns` each.
    EventSourced { snapshot_every: u32, replay_per_event_ns: u64 },
}

/// When changes are written.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Persist {
    /// After every piece of work (write-behind of one turn).
    EachTurn,
    /// Every this long, if something changed; and when passivating.
    Every { period_ns: u64 },
}

/// Where a virtual role's directory lives.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum DirectoryKind {
    /// One directory on node 0 (the default): never two activations of a
    /// key, but keys behind a partition are unreachable.
    #[default]
    Central,
    /// A partition on every node of the role, each owning the keys a ring
    /// of the partitions it believes up gives it (Orleans' grain
    /// directory). Partitions learn of each other by heartbeats, so a
    /// network partition splits the ring: each side activates the keys it
    /// cannot reach, and two activations of a key may live at once until
    /// the partition heals and a handoff finds them.
    Distributed,
}

/// Every workflow of a scenario, in one arena.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Workflows {
    pub nodes: Vec<Node>,
    /// Named steps, by [`StepId`].
    pub steps: Vec<StepInfo>,
}

impl Workflows {
    pub fn node(&self, i: NodeIndex) -> &Node {
        &self.nodes[i as usize]
    }
}

/// A named step: what `run --json` reports it as.
#[derive(Clone, Debug, PartialEq)]
pub struct StepInfo {
    /// `role.step` (or `type.step`): unique in the scenario.
    pub name: String,
    /// `call`, `ask`, `parallel`, `loop`, `branch`, `sequence`.
    pub kind: &'static str,
    /// For a call, the service (`llm:NAME`, `tool:NAME`); for an ask, the
    /// role asked (`role:NAME`); empty otherwise.
    pub target: String,
}

/// One node of a workflow.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// `{ name, call = "llm:NAME" | "tool:NAME", timeout, retry, context }`.
    Call(CallNode),
    /// `{ name, occ = "store:NAME", retry, attempts, timeout }`: an
    /// optimistic-concurrency update of a store's row: read, write back
    /// conditioned on the version read, and on a conflict back off (by the
    /// retry policy's delays) and read again, until the write wins or
    /// `attempts` run out.
    Occ(OccNode),
    /// `{ name, ask = "ROLE", timeout, context }`: a message to one of the
    /// role's agents (chosen by the `dispatch` strategy), answered when that
    /// agent's workflow ends.
    Ask { step: StepId, role: RoleIndex, timeout_ns: u64, context: bool },
    /// `{ name, sequence = [...] }`, or any list of steps: one after the
    /// other; the first failure fails the sequence.
    Sequence { step: Option<StepId>, children: Vec<NodeIndex> },
    /// `{ name, parallel = [...], join }` or `{ name, copies = N, ... }`:
    /// every branch at once; decided by `join`, and the branches still
    /// running then are cancelled. `copies` makes one without a name of its
    /// own: its copies are the named step.
    Parallel { step: Option<StepId>, branches: Vec<NodeIndex>, join: Join },
    /// `{ name, loop = [...], max, done_probability | count }`.
    Loop { step: StepId, body: NodeIndex, max: u32, until: LoopEnd },
    /// `{ name, branch = [{ weight, steps }, ...] }`: one of the options,
    /// drawn by weight.
    Branch { step: StepId, options: Vec<(f64, NodeIndex)> },
}

/// A service call step.
#[derive(Clone, Debug, PartialEq)]
pub struct CallNode {
    pub step: StepId,
    pub service: super::Step,
    /// `timeout` (default: the service's `timeout`): per attempt.
    pub timeout_ns: u64,
    /// `retry`: this step's own policy, over the role's and the axis's.
    pub retry: Option<Retry>,
    /// `context = true`: the call's input tokens include every output
    /// token of the earlier calls of the same work (and the context the
    /// work was asked with): a conversation's history growing turn by turn.
    pub context: bool,
}

/// An optimistic-concurrency update step.
#[derive(Clone, Debug, PartialEq)]
pub struct OccNode {
    pub step: StepId,
    /// Index into `Scenario::stores`.
    pub store: u16,
    /// Per operation.
    pub timeout_ns: u64,
    /// The backoff between a conflict and the next read (the retry
    /// policy's delays; `none` reads again at once). Over the role's and
    /// the axis's.
    pub retry: Option<Retry>,
    /// The most reads-then-writes.
    pub attempts: u32,
}

/// How a `parallel` step is decided from its branches.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Join {
    /// `"all"` (default): every branch must succeed.
    All,
    /// `"quorum"`: a majority.
    Quorum,
    /// `"first"`: the first to succeed.
    First,
    /// `{ k = K }`: K of the branches.
    K(u32),
}

impl Join {
    /// Successes needed of `n` branches.
    pub fn needed(self, n: u32) -> u32 {
        match self {
            Join::All => n,
            Join::Quorum => n / 2 + 1,
            Join::First => 1.min(n),
            Join::K(k) => k.min(n),
        }
    }
}

/// When a loop stops (besides its `max`, and a failed iteration).
#[derive(Clone, Debug, PartialEq)]
pub enum LoopEnd {
    /// `done_probability = p`: after each iteration the model decides it
    /// is done with probability p (a geometric number of turns).
    DoneProbability(f64),
    /// `count = DIST`: the number of iterations is drawn when the loop
    /// starts (rounded, at least 1, at most `max`).
    Count(Dist),
    /// Neither: exactly `max` iterations.
    Max,
}
