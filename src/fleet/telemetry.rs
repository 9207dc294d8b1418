//! What role agents export about themselves: busy slot-time per agent and
//! per-step figures for the steps that are not service calls (asks,
//! sequences, parallels, loops, branches), which the world's ledger does
//! not see.
//!
//! A write-only side channel, like a metrics exporter: agents record into
//! it, the summary reads it after the run, and nothing in a run reads it,
//! so it cannot change what happens. Service-call steps are measured from
//! the ledger instead (from outside the actors).

use std::cell::RefCell;
use std::rc::Rc;

use rehearsal_runtime::Nanos;

use crate::hist::{self, LatencyHistogram};

/// Shared by every agent of a run and the summary.
pub type Telemetry = Rc<RefCell<TelemetryData>>;

/// One agent's occupied slots over time.
#[derive(Copy, Clone, Debug, Default)]
pub struct Busy {
    /// Pieces of work it holds now.
    pub slots: u32,
    /// When `slots` last changed.
    pub since: Nanos,
    /// Slot-nanoseconds so far (a slot held for 1 s adds 1e9).
    pub total_ns: u128,
}

impl Busy {
    fn touch(&mut self, now: Nanos) {
        self.total_ns += u128::from(self.slots) * u128::from(now.saturating_sub(self.since));
        self.since = now;
    }

    /// Slot-nanoseconds up to `end` (open work counted until then).
    pub fn total_until(&self, end: Nanos) -> u128 {
        self.total_ns + u128::from(self.slots) * u128::from(end.saturating_sub(self.since))
    }
}

/// One non-call step's runs.
#[derive(Debug)]
pub struct StepTally {
    pub started: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Stopped because the work no longer needed it (a decided parallel,
    /// an abandoned ask).
    pub cancelled: u64,
    /// From start to end, every run that ended (succeeded or failed).
    pub latency: LatencyHistogram,
}

/// One service's circuit breakers (one per agent), summed.
#[derive(Clone, Debug, Default)]
pub struct BreakerTally {
    /// By `from->to` (`closed->open`, `open->half_open`, `half_open->closed`, ...).
    pub transitions: std::collections::BTreeMap<String, u64>,
    /// Calls refused while open (or half open and full).
    pub rejected: u64,
    /// Time spent open, summed over agents (to the last time it left open).
    pub time_open_ns: u128,
}

#[derive(Debug, Default)]
pub struct TelemetryData {
    /// By global agent index.
    pub busy: Vec<Busy>,
    /// By step id; `None` for call steps (measured from the ledger).
    pub steps: Vec<Option<StepTally>>,
    /// Policies: breakers by service id.
    pub breakers: std::collections::BTreeMap<u16, BreakerTally>,
    /// Retries a budget refused.
    pub budget_denied: u64,
    /// Calls routed to a fallback model.
    pub fallback_calls: u64,
    /// Virtual agents: activations started, per node.
    pub activations_by_node: std::collections::BTreeMap<u16, u64>,
    /// Virtual agents: work finished by activations, per node (its load).
    pub served_by_node: std::collections::BTreeMap<u16, u64>,
    /// Activations that passivated (idle long enough).
    pub deactivations: u64,
    /// Activations started for a key whose activation died with its node.
    pub reactivations: u64,
    /// Activations lost with their node.
    pub lost: u64,
    /// Directory lookups (one per request routed).
    pub lookups: u64,
    /// Requests that waited for an activation (a miss in the directory).
    pub waited_for_activation: u64,
    /// Time activations spent loading their state, summed.
    pub state_load_ns: u128,
    /// Activations alive now, and at most.
    pub active: u64,
    pub active_max: u64,
    /// Reminders that fired, and the activations they caused.
    pub reminders_fired: u64,
    pub activated_by_reminder: u64,
    /// Activations alive as they themselves report, by (key, actor bits):
    /// (node, start). One that dies with its node stays listed (the sink
    /// does not learn of deaths), so duplicates are confirmed against the
    /// world's crash log after the run.
    pub live_activations: std::collections::BTreeMap<(u32, u64), LiveActivation>,
    /// Activations started while another activation of the same key was
    /// listed alive: (the other's node, its start, this one's start).
    pub duplicate_candidates: Vec<(u16, Nanos, Nanos)>,
    /// Duplicates a directory found (two activations registered for one
    /// key), and resolved by deactivating one.
    pub duplicates_detected: u64,
    /// Virtual agents' durable state.
    pub state: StateTally,
    /// CPU time reserved per node (a role's `cpu`): each piece's (start,
    /// end), so the report counts only what ran inside the window and
    /// before the node crashed.
    pub cpu_runs: std::collections::BTreeMap<u16, Vec<(Nanos, Nanos)>>,
    /// Activations per node by the directories' counts: now, and at most.
    pub alive_by_node: std::collections::BTreeMap<u16, (u64, u64)>,
    /// Activations a rebalance moved (stopped so that the next message
    /// activates them where the placement says), and those it started.
    pub moves_started: u64,
    pub moves_done: u64,
}

/// An activation as it last reported itself.
#[derive(Copy, Clone, Debug, Default)]
pub struct LiveActivation {
    pub node: u16,
    pub started: Nanos,
    /// Changes to its state not yet acknowledged by the store.
    pub unpersisted: u32,
}

/// Virtual agents' durable state over a run.
#[derive(Clone, Debug, Default)]
pub struct StateTally {
    /// Loads that succeeded, and those the store failed.
    pub loads: u64,
    pub load_failures: u64,
    /// Writes (and snapshots) the store acknowledged, and writes it failed.
    pub writes: u64,
    pub snapshots: u64,
    pub write_failures: u64,
    /// Events replayed by event-sourced loads.
    pub events_replayed: u64,
    /// Changes a passivating activation could not write.
    pub events_lost_on_stop: u64,
}

impl TelemetryData {
    /// Activation `actor` of `key` started on `node` at `now`, loading its
    /// state for `load_ns`.
    pub fn activation_started(&mut self, key: u32, actor: u64, node: u16, now: Nanos, load_ns: Nanos) {
        *self.activations_by_node.entry(node).or_default() += 1;
        self.state_load_ns += u128::from(load_ns);
        for (_, other) in self.live_activations.range((key, 0)..=(key, u64::MAX)) {
            self.duplicate_candidates.push((other.node, other.started, now));
        }
        self.live_activations.insert((key, actor), LiveActivation { node, started: now, unpersisted: 0 });
    }

    /// A directory's count of activations on `node` went up (`+1`) or down.
    pub fn alive_on(&mut self, node: u16, up: bool) {
        let (now, max) = self.alive_by_node.entry(node).or_default();
        *now = if up { *now + 1 } else { now.saturating_sub(1) };
        *max = (*max).max(*now);
    }

    /// Activation `actor` of `key` holds `n` changes the store has not
    /// acknowledged.
    pub fn set_unpersisted(&mut self, key: u32, actor: u64, n: u32) {
        if let Some(a) = self.live_activations.get_mut(&(key, actor)) {
            a.unpersisted = n;
        }
    }

    /// Activation `actor` of `key` stopped (passivated or deactivated).
    pub fn activation_stopped(&mut self, key: u32, actor: u64) {
        self.live_activations.remove(&(key, actor));
    }

    /// An activation on `node` finished a piece of work.
    pub fn served_on(&mut self, node: u16) {
        *self.served_by_node.entry(node).or_default() += 1;
    }

    /// Service `service`'s breaker tally.
    pub fn breaker(&mut self, service: u16) -> &mut BreakerTally {
        self.breakers.entry(service).or_default()
    }

    /// For `agents` agents and the steps whose `measured` flag is set.
    pub fn new(agents: u32, measured: impl Iterator<Item = bool>) -> Self {
        TelemetryData {
            activations_by_node: Default::default(),
            served_by_node: Default::default(),
            deactivations: 0,
            reactivations: 0,
            lost: 0,
            lookups: 0,
            waited_for_activation: 0,
            state_load_ns: 0,
            active: 0,
            active_max: 0,
            reminders_fired: 0,
            activated_by_reminder: 0,
            live_activations: Default::default(),
            duplicate_candidates: Vec::new(),
            duplicates_detected: 0,
            state: StateTally::default(),
            cpu_runs: Default::default(),
            alive_by_node: Default::default(),
            moves_started: 0,
            moves_done: 0,
            breakers: Default::default(),
            budget_denied: 0,
            fallback_calls: 0,
            busy: vec![Busy::default(); agents as usize],
            steps: measured
                .map(|m| {
                    m.then(|| StepTally {
                        started: 0,
                        succeeded: 0,
                        failed: 0,
                        cancelled: 0,
                        latency: hist::new_latency_histogram(),
                    })
                })
                .collect(),
        }
    }

    /// A fresh incarnation of agent `index` started at `now` holding
    /// nothing. Work its predecessor held is counted up to its last
    /// change: the exporter does not learn when an agent died.
    pub fn agent_started(&mut self, index: u32, now: Nanos) {
        if let Some(b) = self.busy.get_mut(index as usize) {
            *b = Busy { slots: 0, since: now, total_ns: b.total_ns };
        }
    }

    /// Agent `index` took (`+1`) or let go of (`-1`) a piece of work.
    pub fn slots(&mut self, index: u32, now: Nanos, took: bool) {
        if let Some(b) = self.busy.get_mut(index as usize) {
            b.touch(now);
            b.slots = if took { b.slots + 1 } else { b.slots.saturating_sub(1) };
        }
    }

    pub fn step_started(&mut self, step: u16) {
        if let Some(Some(t)) = self.steps.get_mut(usize::from(step)) {
            t.started += 1;
        }
    }

    /// A run of `step` that started at `started` ended now: `Some(ok)`, or
    /// `None` when cancelled.
    pub fn step_ended(&mut self, step: u16, started: Nanos, now: Nanos, ok: Option<bool>) {
        if let Some(Some(t)) = self.steps.get_mut(usize::from(step)) {
            match ok {
                Some(true) => t.succeeded += 1,
                Some(false) => t.failed += 1,
                None => {
                    t.cancelled += 1;
                    return;
                }
            }
            hist::record_ns(&mut t.latency, now.saturating_sub(started));
        }
    }
}
