//! A finished run -> its [`RunSummary`]. Request figures come from the
//! world's request ledger, service figures from the world's service models
//! and tallies, lifecycle figures from the runtime's own bookkeeping (names,
//! spawns, escalations); nothing is read out of the actors' structs but the
//! gateway's count of requests re-sent after a crash (the gateway lives on
//! node 0, which faults never take down).

use std::collections::BTreeMap;

use rehearsal_runtime::{Nanos, ServiceId};
use rehearsal_sim::Sim;
use rustc_hash::FxHashMap;

use crate::fleet::telemetry::TelemetryData;
use crate::fleet::{FleetActor, ServiceRef, agent_name};
use crate::hist;
use crate::ledger::{Cause, Ledger, SpanStatus, latency_with_mean};
use crate::run::fleet_size;
use crate::scenario::{Scenario, Shape, Step};
use crate::strategy::Strategy;
use crate::summary::{
    AgentsSummary, CallCounts, Histograms, RequestCounts, RoleSummary, RunSummary, ServiceSummary, SideEffects,
    StepSummary, SupervisionCounts, TokenCounts, TypeCounts,
};
use crate::world::FleetWorld;

/// `throughput_timeline` covers at most a day of simulated time (one
/// bucket per second); `timeline` covers the whole run in at most 600
/// intervals.
pub const THROUGHPUT_TIMELINE_MAX_S: usize = 86_400;

/// Names of the BUGGIFY sites rehearsal places, for reports.
fn buggify_site_name(site: u64) -> String {
    let name = match site {
        crate::fleet::SITE_AGENT_HESITATES => "agent_hesitates",
        rehearsal_sim::SITE_SLOW_MESSAGE => "slow_message",
        _ => return format!("{site:#x}"),
    };
    format!("{site:#x} {name}")
}

/// Summarise a finished run.
pub fn summarize(
    scenario: &Scenario,
    seed: u64,
    strategy: &Strategy,
    sim: &Sim<FleetActor, FleetWorld>,
    initial_spawns: u64,
    telemetry: &TelemetryData,
) -> RunSummary {
    let world = &sim.world;
    let now = sim.kernel.now();
    let ls = world.ledger.summarize(now, scenario.duration_ns);
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

    // Lifecycle: from the runtime's bookkeeping.
    let stats = sim.system.stats();
    let by_name: BTreeMap<u64, u64> = sim.system.name_downtime(now).into_iter().collect();
    let downtime: Vec<f64> = (0..fleet_size(scenario))
        .map(|i| round3(by_name.get(&agent_name(i)).copied().unwrap_or(0) as f64 / 1e9))
        .collect();
    let retried_after_crash = sim
        .system
        .actors()
        .find_map(|(_, a)| match a {
            FleetActor::Gateway(g) => Some(g.stats.retried_after_crash),
            _ => None,
        })
        .unwrap_or(0);
    let downtime_total = round3(downtime.iter().sum());
    let downtime_max = downtime.iter().copied().fold(0.0, f64::max);
    let supervision = SupervisionCounts {
        crashes: sim.kernel.crashes(),
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
    let (busy_mean, busy_max) = agent_busy(&world.ledger, fleet_size(scenario), ls.observed_ns);

    let latency_ms = latency_with_mean(&ls.latency, ls.latency_mean_ns).unwrap_or_default();
    let arrival_window_s = scenario.duration_ns as f64 / 1e9;
    RunSummary {
        scenario: scenario.name.clone(),
        seed,
        strategy: strategy.clone(),
        trace_hash: format!("{:016x}", sim.trace_hash()),
        events: sim.kernel.events(),
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
        cost_per_succeeded_request: (ls.succeeded > 0).then(|| round6(tokens.cost / ls.succeeded as f64)),
        throughput_per_s: round3(ls.succeeded as f64 / arrival_window_s),
        calls,
        tokens,
        dropped_messages: stats.dropped,
        late_replies: stats.late_replies,
        throughput_timeline: world.ledger.successes_per_second(scenario.duration_ns, THROUGHPUT_TIMELINE_MAX_S),
        supervision,
        buggify_fired: sim.kernel.buggify_fired(),
        buggify_fired_by_site: sim
            .kernel
            .buggify_fired_by_site()
            .iter()
            .map(|(&site, &n)| (buggify_site_name(site), n))
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
        steps: if scenario.roles.is_empty() {
            step_summaries(scenario, world)
        } else {
            workflow_step_summaries(scenario, world, telemetry)
        },
        roles: role_summaries(scenario, busy_mean, &world.ledger, ls.observed_ns, telemetry),
        request_types: type_counts(scenario, world),
        histograms: Histograms {
            latency_us: hist::encode(&ls.latency),
            latency_us_succeeded: hist::encode(&ls.latency_succeeded),
            latency_us_failed: hist::encode(&ls.latency_failed),
        },
    }
}

/// The name of step `step` (0-based) of request type `kind`'s workflow:
/// `step{N}:{service}`, prefixed by `{type}/` when there are several types.
fn step_name(scenario: &Scenario, kind: usize, step: usize) -> String {
    let types = &scenario.workload.types;
    let steps = types.get(kind).map_or(&scenario.workload.steps, |t| &t.steps);
    let service = match steps.get(step) {
        Some(Step::Llm(i)) => format!("llm:{}", scenario.llms[*i as usize].name),
        Some(Step::Tool(i)) => format!("tool:{}", scenario.tools[*i as usize].name),
        None => "unknown".to_owned(),
    };
    if types.len() > 1 {
        let name = types.get(kind).map_or("unknown", |t| t.name.as_str());
        format!("{name}/step{}:{service}", step + 1)
    } else {
        format!("step{}:{service}", step + 1)
    }
}

/// Per request type of a mix: arrived, succeeded, failed (empty with one type).
fn type_counts(scenario: &Scenario, world: &FleetWorld) -> BTreeMap<String, TypeCounts> {
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
struct CallAcc {
    calls: u64,
    failed: u64,
    latency: hist::LatencyHistogram,
    input: u64,
    output: u64,
    cost: f64,
}

fn call_steps<K: Ord>(world: &FleetWorld, key: impl Fn(&crate::ledger::Span) -> K) -> BTreeMap<K, CallAcc> {
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
    fn summary(&self, service: String) -> StepSummary {
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

/// Per-step figures from the ledger's spans (the simple form).
fn step_summaries(scenario: &Scenario, world: &FleetWorld) -> BTreeMap<String, StepSummary> {
    let kinds = &world.kinds;
    call_steps(world, |s| (kinds.get(s.request as usize).map_or(0, |&k| usize::from(k)), usize::from(s.step)))
        .into_iter()
        .map(|((kind, step), a)| {
            let name = step_name(scenario, kind, step);
            let service = name.split_once(':').map_or(String::new(), |(_, s)| s.to_owned());
            (name, a.summary(service))
        })
        .collect()
}

/// Roles: every named step of every workflow, by its qualified name; call
/// steps from the ledger, the others from the agents' telemetry. A step
/// that never ran is reported with zero calls.
fn workflow_step_summaries(
    scenario: &Scenario,
    world: &FleetWorld,
    telemetry: &TelemetryData,
) -> BTreeMap<String, StepSummary> {
    let mut calls = call_steps(world, |s| s.step);
    let mut out = BTreeMap::new();
    for (id, info) in scenario.workflows.steps.iter().enumerate() {
        let summary = match telemetry.steps.get(id) {
            Some(Some(t)) => StepSummary {
                kind: info.kind.to_owned(),
                service: info.target.clone(),
                calls: t.started,
                failed: t.failed + t.cancelled,
                cancelled: Some(t.cancelled),
                latency_ms: hist::latency_ms(&t.latency),
                input_tokens: None,
                output_tokens: None,
                cost: None,
            },
            _ => match calls.remove(&(id as u16)) {
                Some(a) => a.summary(info.target.clone()),
                None => StepSummary {
                    kind: info.kind.to_owned(),
                    service: info.target.clone(),
                    input_tokens: Some(0),
                    output_tokens: Some(0),
                    cost: Some(0.0),
                    ..StepSummary::default()
                },
            },
        };
        out.insert(info.name.clone(), summary);
    }
    out
}

/// Per-role figures: roles from their agents' telemetry; the simple
/// form's pool (or fan-out) agents are one role, a pipeline's stages a
/// role each.
fn role_summaries(
    scenario: &Scenario,
    busy_mean: f64,
    ledger: &Ledger,
    observed_ns: Nanos,
    telemetry: &TelemetryData,
) -> BTreeMap<String, RoleSummary> {
    if !scenario.roles.is_empty() {
        let mut base = 0usize;
        return scenario
            .roles
            .iter()
            .map(|r| {
                let agents = &telemetry.busy[base..base + r.count as usize];
                base += r.count as usize;
                let busy: u128 = agents.iter().map(|b| b.total_until(observed_ns)).sum();
                let capacity = observed_ns.max(1) as f64 * f64::from(r.count) * f64::from(r.concurrency);
                let summary = RoleSummary {
                    agents: r.count,
                    concurrency: r.concurrency,
                    utilisation: round6(busy as f64 / capacity),
                };
                (r.name.clone(), summary)
            })
            .collect();
    }
    match scenario.workload.shape {
        Shape::Pool | Shape::FanOut => {
            [("agent".to_owned(), RoleSummary { agents: fleet_size(scenario), concurrency: 1, utilisation: busy_mean })]
                .into()
        }
        Shape::Pipeline => {
            // A stage's calls are its step's: busy per step.
            let steps = scenario.workload.steps.len();
            (0..steps)
                .map(|i| {
                    let (_, busy) = agent_busy_where(ledger, 1, observed_ns, |s| usize::from(s.step) == i);
                    (format!("stage{}", i + 1), RoleSummary { agents: 1, concurrency: 1, utilisation: busy })
                })
                .collect()
        }
    }
}

/// Agents' busy fraction (mean over `agents`, max over callers) from the
/// ledger's spans: an agent is busy from the start of a call to its end,
/// and between consecutive calls for the same request (backoff, or the
/// next step); overlapping work (a pipeline stage works on many requests at
/// once) counts once. One pass over the spans, which are in call order.
fn agent_busy(ledger: &Ledger, agents: u32, observed_ns: Nanos) -> (f64, f64) {
    agent_busy_where(ledger, agents, observed_ns, |_| true)
}

/// [`agent_busy`] over the spans `keep` selects.
fn agent_busy_where(
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

fn round6(x: f64) -> f64 {
    libm::round(x * 1e6) / 1e6
}
