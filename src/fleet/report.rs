//! The fleet's own figures for a run's summary: per-step names (the
//! simple form's `step{N}:{service}`, roles' `role.step`) and per-role
//! utilisation (roles from their telemetry; the simple form's agents, or a
//! pipeline's stages).

use std::collections::BTreeMap;

use rehearsal_runtime::Nanos;

use super::telemetry::TelemetryData;
use crate::hist;
use crate::ledger::Ledger;
use crate::run::fleet_size;
use crate::scenario::{Scenario, Shape, Step};
use crate::summarize::{agent_busy, agent_busy_where, call_steps, round6};
use crate::summary::{RoleSummary, StepSummary};
use crate::system::SystemReport;
use crate::world::FleetWorld;

/// The fleet's figures for a run of `scenario` observed until `observed_ns`.
pub fn report(scenario: &Scenario, world: &FleetWorld, telemetry: &TelemetryData, observed_ns: Nanos) -> SystemReport {
    let (busy_mean, _) = agent_busy(&world.ledger, fleet_size(scenario), observed_ns);
    SystemReport {
        retried_after_crash: None,
        steps: Some(if scenario.roles.is_empty() {
            step_summaries(scenario, world)
        } else {
            workflow_step_summaries(scenario, world, telemetry)
        }),
        roles: Some(role_summaries(scenario, busy_mean, &world.ledger, observed_ns, telemetry)),
        resilience: None,
        nodes: None,
        virtual_agents: None,
    }
}

/// Virtual roles' figures: per node and overall.
pub fn virtual_agents(
    scenario: &Scenario,
    world: &FleetWorld,
    telemetry: &TelemetryData,
    observed_ns: u64,
) -> (BTreeMap<String, crate::summary::NodeSummary>, crate::summary::VirtualSummary) {
    // The nodes virtual agents may live on: the imbalance is over them.
    let mut on: Vec<u32> =
        scenario.roles.iter().filter(|r| r.virtual_agents.is_some()).flat_map(|r| r.nodes.iter().copied()).collect();
    on.sort_unstable();
    on.dedup();
    // Memory per activation: the virtual roles' (the largest, if several).
    let memory_per_activation =
        scenario.roles.iter().filter(|r| r.virtual_agents.is_some()).map(|r| r.memory_mb).max().unwrap_or(0);
    let nodes: BTreeMap<String, crate::summary::NodeSummary> = on
        .into_iter()
        .map(|n| {
            let n16 = n as u16;
            let capacity = scenario.topology.capacity_of(n);
            let activations_max = telemetry.alive_by_node.get(&n16).map_or(0, |a| a.1);
            let up_ns = world.node_up_ns(n16, observed_ns);
            let load = telemetry.served_by_node.get(&n16).copied().unwrap_or(0);
            let summary = crate::summary::NodeSummary {
                load,
                up_s: round6(up_ns as f64 / 1e9),
                load_per_s: (up_ns > 0).then(|| round6(load as f64 / (up_ns as f64 / 1e9))),
                activations: telemetry.activations_by_node.get(&n16).copied().unwrap_or(0),
                activations_max,
                memory_mb_used_max: (memory_per_activation > 0).then(|| activations_max * memory_per_activation),
                memory_mb: capacity.memory_mb,
                cpu_utilisation: capacity.cpu.filter(|_| up_ns > 0).map(|slots| {
                    let busy = cpu_busy_ns(world, n16, telemetry, observed_ns) as f64;
                    round6(busy / (f64::from(slots) * up_ns as f64))
                }),
            };
            (n.to_string(), summary)
        })
        .collect();
    // Imbalance of the rate each node served at while it was up, so a node
    // lost or joined midway is not counted as idle.
    let rates: Vec<f64> = nodes.values().filter_map(|n| n.load_per_s).collect();
    let total: f64 = rates.iter().sum();
    let activations: u64 = telemetry.activations_by_node.values().sum();
    let summary = crate::summary::VirtualSummary {
        activations,
        deactivations: telemetry.deactivations,
        reactivations: telemetry.reactivations,
        lost: telemetry.lost,
        directory_lookups: telemetry.lookups,
        waited_for_activation: telemetry.waited_for_activation,
        state_load_ms_mean: (activations > 0)
            .then(|| round6(telemetry.state_load_ns as f64 / activations as f64 / 1e6)),
        active_max: telemetry.active_max,
        reminders_fired: telemetry.reminders_fired,
        activated_by_reminder: telemetry.activated_by_reminder,
        // A candidate is a duplicate unless the other activation's node
        // crashed between its start and this one's.
        duplicate_activations: telemetry
            .duplicate_candidates
            .iter()
            .filter(|&&(node, since, at)| !world.node_crashed_between(node, since, at))
            .count() as u64,
        duplicates_detected: telemetry.duplicates_detected,
        moves: telemetry.moves_started,
        moves_done: telemetry.moves_done,
        state: scenario
            .roles
            .iter()
            .any(|r| r.virtual_agents.as_ref().is_some_and(|v| v.state.is_some()))
            .then(|| state_summary(world, telemetry, observed_ns)),
        load_imbalance: (total > 0.0).then(|| {
            let mean = total / rates.len() as f64;
            round6(rates.iter().copied().fold(0.0, f64::max) / mean)
        }),
    };
    (nodes, summary)
}

/// CPU time that ran on `node` inside the window: each piece from its
/// start to its end, cut at the window's end and at the node's first crash
/// after it started (work queued on a node dies with it).
fn cpu_busy_ns(world: &FleetWorld, node: u16, telemetry: &TelemetryData, observed_ns: u64) -> u128 {
    let runs = telemetry.cpu_runs.get(&node).map_or(&[][..], Vec::as_slice);
    runs.iter()
        .map(|&(start, end)| {
            let end = world.first_crash_after(node, start).map_or(end, |c| end.min(c)).min(observed_ns);
            u128::from(end.saturating_sub(start))
        })
        .sum()
}

/// Durable state: the activations' own counts, and what died unwritten
/// (an activation still listed alive whose node crashed after it started
/// lost its unwritten changes then: it could not report after).
fn state_summary(world: &FleetWorld, telemetry: &TelemetryData, observed_ns: u64) -> crate::summary::StateSummary {
    let t = &telemetry.state;
    let died = telemetry
        .live_activations
        .values()
        .filter(|a| a.unpersisted > 0 && world.node_crashed_between(a.node, a.started, observed_ns.max(a.started)));
    let (mut lost, mut activations) = (0u64, 0u64);
    for a in died {
        lost += u64::from(a.unpersisted);
        activations += 1;
    }
    crate::summary::StateSummary {
        loads: t.loads,
        load_failures: t.load_failures,
        writes: t.writes,
        snapshots: t.snapshots,
        write_failures: t.write_failures,
        events_replayed: t.events_replayed,
        events_lost: lost + t.events_lost_on_stop,
        activations_lost_with_changes: activations,
    }
}

/// The policy's figures from the agents' telemetry, under `policy`'s name.
pub fn resilience(scenario: &Scenario, telemetry: &TelemetryData, policy: &str) -> crate::summary::ResilienceSummary {
    let name = |id: u16| crate::system::service_name(scenario, rehearsal_runtime::ServiceId(id));
    crate::summary::ResilienceSummary {
        policy: policy.to_owned(),
        breakers: telemetry
            .breakers
            .iter()
            .map(|(&id, b)| {
                let summary = crate::summary::BreakerSummary {
                    transitions: b.transitions.clone(),
                    calls_rejected: b.rejected,
                    time_open_s: round6(b.time_open_ns as f64 / 1e9),
                };
                (name(id).unwrap_or_else(|| format!("service {id}")), summary)
            })
            .collect(),
        budget_denied: telemetry.budget_denied,
        fallback_calls: telemetry.fallback_calls,
    }
}

/// A fleet actor's name for traces (see [`super::sut::Fleet`]'s
/// `actor_name`): with roles, agents by role (agents are numbered role by
/// role, in file order) and routers by the role they route to.
pub fn actor_name(scenario: &Scenario, label: rehearsal_runtime::ActorLabel) -> Option<String> {
    if label.is_none() {
        return None;
    }
    let roles = &scenario.roles;
    match (label.kind, label.index) {
        // What agent N's registered name (a fault's target) names in a
        // pipeline: stage N holds it.
        ("agent", Some(i)) if scenario.workload.shape == Shape::Pipeline && roles.is_empty() => {
            Some(format!("stage {i}"))
        }
        ("agent", Some(mut index)) if !roles.is_empty() => {
            for role in roles {
                if index < role.count {
                    return Some(format!("{} {index}", role.name));
                }
                index -= role.count;
            }
            Some(label.to_string())
        }
        ("router", Some(r)) if !roles.is_empty() => {
            Some(roles.get(r as usize).map_or_else(|| label.to_string(), |role| format!("router {}", role.name)))
        }
        _ => Some(label.to_string()),
    }
}

/// The name of the step a call was made for: with roles, the workflow
/// step's name (`role.step`); otherwise the simple form's `step{N}:{service}`.
pub fn call_step_name(scenario: &Scenario, kind: u16, step: u16) -> String {
    if scenario.roles.is_empty() {
        step_name(scenario, usize::from(kind), usize::from(step))
    } else {
        scenario.workflows.steps.get(usize::from(step)).map_or_else(|| format!("step {step}"), |s| s.name.clone())
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
            .filter(|r| r.virtual_agents.is_none())
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
