//! A finished run -> its [`RunSummary`]. Request figures come from the
//! world's request ledger, service figures from the world's service models
//! and tallies, lifecycle figures from the runtime's own bookkeeping (names,
//! spawns, escalations); nothing is read out of the actors' structs but the
//! gateway's count of requests re-sent after a crash (the gateway lives on
//! node 0, which faults never take down).

use std::collections::BTreeMap;

use rehearsal_runtime::{Actor, Nanos, ServiceId};
use rehearsal_sim::Sim;
use rustc_hash::FxHashMap;

use crate::fleet::ServiceRef;
use crate::hist;
use crate::ledger::{Cause, Ledger, SpanStatus, latency_with_mean};
use crate::scenario::Scenario;
use crate::strategy::Strategy;
use crate::summary::{
    AgentsSummary, CallCounts, Histograms, RequestCounts, RoleSummary, RunSummary, ServiceSummary, SideEffects,
    StepSummary, SupervisionCounts, TokenCounts, TypeCounts,
};
use crate::system::{SystemReport, agent_name, service_name};
use crate::world::ScenarioWorld;

/// `throughput_timeline` covers at most a day of simulated time (one
/// bucket per second); `timeline` covers the whole run in at most 600
/// intervals.
pub const THROUGHPUT_TIMELINE_MAX_S: usize = 86_400;

/// A BUGGIFY site as reports print it: its number and, when known, its
/// name (the simulator's own sites, or the system's).
fn buggify_site_name(site: u64, system_name: Option<&'static str>) -> String {
    let name = match site {
        rehearsal_sim::SITE_SLOW_MESSAGE => "slow_message",
        _ => match system_name {
            Some(name) => name,
            None => return format!("{site:#x}"),
        },
    };
    format!("{site:#x} {name}")
}

/// What the system under test contributes to its summary.
pub struct SystemFigures<R, N> {
    /// Agents faults target and downtime counts over.
    pub agents: u32,
    /// The system's report, given the end of the observation window (ns).
    pub report: R,
    /// A name for a BUGGIFY site the system places.
    pub site_name: N,
}

impl<R, N> std::fmt::Debug for SystemFigures<R, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemFigures").field("agents", &self.agents).finish_non_exhaustive()
    }
}

/// Summarise a finished run.
pub fn summarize<A, R, N>(
    scenario: &Scenario,
    seed: u64,
    strategy: &Strategy,
    sim: &Sim<A, ScenarioWorld<A::Msg>>,
    initial_spawns: u64,
    system: SystemFigures<R, N>,
) -> RunSummary
where
    A: Actor,
    R: FnOnce(Nanos) -> SystemReport,
    N: Fn(u64) -> Option<&'static str>,
{
    let SystemFigures { agents, report, site_name } = system;
    let world = sim.world();
    let now = sim.kernel().now();
    let ls = world.ledger.summarize(now, scenario.duration_ns);
    let report = report(ls.observed_ns);
    let observed_s = ls.observed_ns as f64 / 1e9;
    let cause = |c: Cause| ls.failed_by_cause.get(c.name()).copied().unwrap_or(0);

    // Services: from the world's tallies.
    let mut services = BTreeMap::new();
    // Retries: calls whose idempotency key was seen before (retries, and
    // re-runs of work whose first runner died).
    let retries = world.ledger.spans().iter().filter(|s| s.attempt > 1).count() as u64;
    let mut calls = CallCounts { retries, ..CallCounts::default() };
    let mut tokens = TokenCounts::default();
    let mut add = |key: String, s: ServiceSummary, is_llm: bool| {
        if is_llm {
            calls.llm += s.calls;
        } else {
            calls.tool += s.calls;
        }
        calls.errors +=
            s.errors_by_kind.iter().filter(|(k, _)| *k != "rate_limited" && *k != "hang").map(|(_, v)| v).sum::<u64>();
        calls.rate_limited += s.rate_limited;
        calls.timeouts += s.timeouts;
        tokens.input += s.input_tokens;
        tokens.output += s.output_tokens;
        tokens.cost += s.cost;
        services.insert(key, s);
    };
    for llm in &world.services.llms {
        add(format!("llm:{}", llm.name), llm.tally.summary("llm", llm.busy_fraction(now).map(round6)), true);
    }
    let mut side_effects = SideEffects::default();
    for tool in &world.services.tools {
        add(format!("tool:{}", tool.name), tool.tally.summary("tool", None), false);
        side_effects.performed += tool.service.total_effects();
        side_effects.duplicates += tool.service.duplicates();
    }
    tokens.cost = round6(tokens.cost);
    for store in &world.stores.stores {
        let c = store.counts;
        let summary = ServiceSummary {
            kind: "store".to_owned(),
            calls: c.reads + c.writes,
            succeeded: c.reads + c.writes - c.conflicts,
            errors_by_kind: [("conflict".to_owned(), c.conflicts)].into(),
            store: Some(c),
            ..ServiceSummary::default()
        };
        services.insert(format!("store:{}", store.name), summary);
    }

    // Lifecycle: from the runtime's bookkeeping.
    let stats = sim.system().stats();
    let by_name: BTreeMap<u64, u64> = sim.system().name_downtime(now).into_iter().collect();
    let downtime: Vec<f64> =
        (0..agents).map(|i| round3(by_name.get(&agent_name(i)).copied().unwrap_or(0) as f64 / 1e9)).collect();
    let retried_after_crash = report.retried_after_crash.unwrap_or(0);
    let downtime_total = round3(downtime.iter().sum());
    let downtime_max = downtime.iter().copied().fold(0.0, f64::max);
    let supervision = SupervisionCounts {
        crashes: sim.kernel().crashes(),
        restarts: stats.spawned - initial_spawns,
        escalations: stats.escalations,
        lost_to_crash: cause(Cause::AgentCrashed) + cause(Cause::NoDownstream),
        retried_after_crash,
        no_agent: cause(Cause::NoAgentAvailable),
        no_downstream: cause(Cause::NoDownstream),
        client_timeouts: cause(Cause::ClientTimeout),
        agent_downtime_s_total: downtime_total,
        agent_downtime_s_max: downtime_max,
    };
    let (busy_mean, busy_max) = agent_busy(&world.ledger, agents, ls.observed_ns);

    let latency_ms = latency_with_mean(&ls.latency, ls.latency_mean_ns).unwrap_or_default();
    let arrival_window_s = scenario.duration_ns as f64 / 1e9;
    RunSummary {
        scenario: scenario.name.clone(),
        seed,
        strategy: strategy.clone(),
        trace_hash: format!("{:016x}", sim.trace_hash()),
        events: sim.kernel().events(),
        sim_time_s: now as f64 / 1e9,
        requests: RequestCounts {
            arrived: ls.arrived,
            succeeded: ls.succeeded,
            failed: ls.failed,
            in_flight: ls.open,
            failed_by_cause: ls.failed_by_cause.clone(),
        },
        latency_ms,
        latency_ms_succeeded: latency_with_mean(&ls.latency_succeeded, ls.latency_mean_ns_succeeded),
        latency_ms_failed: latency_with_mean(&ls.latency_failed, ls.latency_mean_ns_failed),
        arrival_rate_per_s: round6(ls.arrived as f64 / observed_s),
        in_system_mean: round6(ls.in_system_mean),
        observed_s: round6(observed_s),
        makespan_s: world.ledger.makespan_ns().map(|ns| round6(ns as f64 / 1e9)),
        cost_per_succeeded_request: (ls.succeeded > 0).then(|| round6(tokens.cost / ls.succeeded as f64)),
        throughput_per_s: round3(ls.succeeded as f64 / arrival_window_s),
        calls,
        tokens,
        dropped_messages: stats.dropped,
        late_replies: stats.late_replies,
        throughput_timeline: world.ledger.successes_per_second(scenario.duration_ns, THROUGHPUT_TIMELINE_MAX_S),
        supervision,
        buggify_fired: sim.kernel().buggify_fired(),
        buggify_fired_by_site: sim
            .kernel()
            .buggify_fired_by_site()
            .iter()
            .map(|(&site, &n)| (buggify_site_name(site, site_name(site)), n))
            .collect(),
        side_effects,
        agent_downtime_s: downtime,
        services,
        agents: AgentsSummary {
            busy_fraction_mean: busy_mean,
            busy_fraction_max: busy_max,
            unavailable_s_total: downtime_total,
            unavailable_s_max: downtime_max,
        },
        timeline: ls.timeline,
        steps: report.steps.unwrap_or_else(|| default_steps(scenario, world)),
        roles: report.roles.unwrap_or_else(|| {
            [("agent".to_owned(), RoleSummary { agents, concurrency: 1, utilisation: busy_mean })].into()
        }),
        request_types: type_counts(scenario, world),
        broken_by_system: Vec::new(),
        resilience: report.resilience.clone(),
        nodes: report.nodes.clone(),
        virtual_agents: report.virtual_agents.clone(),
        histograms: Histograms {
            latency_us: hist::encode(&ls.latency),
            latency_us_succeeded: hist::encode(&ls.latency_succeeded),
            latency_us_failed: hist::encode(&ls.latency_failed),
        },
    }
}

/// Per request type of a mix: arrived, succeeded, failed (empty with one type).
fn type_counts<M>(scenario: &Scenario, world: &ScenarioWorld<M>) -> BTreeMap<String, TypeCounts> {
    let types = &scenario.workload.types;
    if types.len() < 2 {
        return BTreeMap::new();
    }
    let mut counts = vec![TypeCounts::default(); types.len()];
    let kinds = &world.kinds;
    for (id, e) in world.ledger.entries().iter().enumerate() {
        let c = &mut counts[kinds.get(id).map_or(0, |&k| usize::from(k))];
        c.arrived += 1;
        match e.end() {
            Some((_, o)) if o.is_ok() => c.succeeded += 1,
            Some(_) => c.failed += 1,
            None => {}
        }
    }
    types.iter().map(|t| t.name.clone()).zip(counts).collect()
}

/// Per-call-step accumulators over the ledger's spans, by `key(span)`.
pub(crate) struct CallAcc {
    calls: u64,
    failed: u64,
    latency: hist::LatencyHistogram,
    input: u64,
    output: u64,
    cost: f64,
}

pub(crate) fn call_steps<K: Ord, M>(
    world: &ScenarioWorld<M>,
    key: impl Fn(&crate::ledger::Span) -> K,
) -> BTreeMap<K, CallAcc> {
    let mut by_step: BTreeMap<K, CallAcc> = BTreeMap::new();
    for s in world.ledger.spans() {
        let a = by_step.entry(key(s)).or_insert_with(|| CallAcc {
            calls: 0,
            failed: 0,
            latency: hist::new_latency_histogram(),
            input: 0,
            output: 0,
            cost: 0.0,
        });
        a.calls += 1;
        if s.status != (SpanStatus::Answered { ok: true }) {
            a.failed += 1;
        }
        if let Some(end) = s.ended_at() {
            hist::record_ns(&mut a.latency, end.saturating_sub(s.called_at));
        }
        a.input += u64::from(s.input_tokens);
        a.output += u64::from(s.output_tokens);
        if let ServiceRef::Llm(i) = ServiceRef::of(ServiceId(s.service))
            && let Some(llm) = world.services.llms.get(usize::from(i))
        {
            let m = llm.service.model();
            a.cost += f64::from(s.input_tokens) / 1000.0 * m.cost_per_1k_input
                + f64::from(s.output_tokens) / 1000.0 * m.cost_per_1k_output;
        }
    }
    by_step
}

impl CallAcc {
    pub(crate) fn summary(&self, service: String) -> StepSummary {
        StepSummary {
            kind: "call".to_owned(),
            service,
            calls: self.calls,
            failed: self.failed,
            cancelled: None,
            latency_ms: hist::latency_ms(&self.latency),
            input_tokens: Some(self.input),
            output_tokens: Some(self.output),
            cost: Some(round6(self.cost)),
        }
    }
}

/// Per-step figures of a system that names no steps: the ledger's spans
/// by the step in each call's trace context, named `step{N}:{service}`.
fn default_steps<M>(scenario: &Scenario, world: &ScenarioWorld<M>) -> BTreeMap<String, StepSummary> {
    call_steps(world, |s| (s.step, s.service))
        .into_iter()
        .map(|((step, service), a)| {
            let service = service_name(scenario, ServiceId(service)).unwrap_or_else(|| "unknown".to_owned());
            (format!("step{}:{service}", u32::from(step) + 1), a.summary(service))
        })
        .collect()
}

/// Agents' busy fraction (mean over `agents`, max over callers) from the
/// ledger's spans: an agent is busy from the start of a call to its end,
/// and between consecutive calls for the same request (backoff, or the
/// next step); overlapping work (a pipeline stage works on many requests at
/// once) counts once. One pass over the spans, which are in call order.
pub(crate) fn agent_busy(ledger: &Ledger, agents: u32, observed_ns: Nanos) -> (f64, f64) {
    agent_busy_where(ledger, agents, observed_ns, |_| true)
}

/// [`agent_busy`] over the spans `keep` selects.
pub(crate) fn agent_busy_where(
    ledger: &Ledger,
    agents: u32,
    observed_ns: Nanos,
    keep: impl Fn(&crate::ledger::Span) -> bool,
) -> (f64, f64) {
    #[derive(Clone, Copy)]
    struct Busy {
        work: (u64, u16),
        start: Nanos,
        end: Nanos,
        total: u128,
    }
    let mut by_caller: FxHashMap<u64, Busy> = FxHashMap::default();
    for s in ledger.spans().iter().filter(|s| keep(s)) {
        let end = s.ended_at().unwrap_or(if s.status == SpanStatus::Open { observed_ns } else { s.called_at });
        let work = (s.request, s.part);
        let b = by_caller.entry(s.caller.to_bits()).or_insert(Busy { work, start: s.called_at, end, total: 0 });
        if b.work != work && s.called_at > b.end {
            b.total += u128::from(b.end - b.start);
            b.start = s.called_at;
        }
        b.end = b.end.max(end);
        b.work = work;
    }
    // Order-independent folds (a sum and a max) over the lookup table.
    let (total, max) = by_caller.values().fold((0u128, 0u128), |(total, max), b| {
        let busy = b.total + u128::from(b.end - b.start);
        (total + busy, max.max(busy))
    });
    let window = observed_ns.max(1) as f64;
    (round6(total as f64 / (window * f64::from(agents.max(1)))), round6(max as f64 / window))
}

/// Round to 3 decimals, so printed figures do not carry float noise.
fn round3(x: f64) -> f64 {
    libm::round(x * 1_000.0) / 1_000.0
}

pub(crate) fn round6(x: f64) -> f64 {
    libm::round(x * 1e6) / 1e6
}
