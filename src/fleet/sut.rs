//! The scenario-driven fleet as a [`SystemUnderTest`]: the simple form
//! (pool, pipeline, fan-out) or roles and workflows, as the scenario says.

use std::cell::RefCell;
use std::rc::Rc;

use rehearsal_runtime::{ActorId, ActorLabel};

use super::guard::PolicyRuntime;
use super::telemetry::{Telemetry, TelemetryData};
use super::{FleetActor, Msg, SITE_AGENT_HESITATES, WorkRef};
use crate::ledger::{Cause, Outcome};
use crate::run::fleet_size;
use crate::scenario::Scenario;
use crate::system::{Build, ClientRequest, Finished, SystemReport, SystemUnderTest, step_service};

/// The fleet a scenario file describes.
#[derive(Copy, Clone, Debug, Default)]
pub struct Fleet;

impl SystemUnderTest for Fleet {
    type Actor = FleetActor;
    type Handle = Telemetry;

    fn build(&self, b: &mut Build<'_, FleetActor>) -> (ActorId, Telemetry) {
        let scenario = b.scenario;
        let telemetry: Telemetry = Rc::new(RefCell::new(TelemetryData::new(
            if scenario.roles.is_empty() { 0 } else { scenario.topology.agents },
            scenario.workflows.steps.iter().map(|s| s.kind != "call"),
        )));
        // The `policy` axis's value: a `[policies.NAME]` table.
        let policy = b.strategy.get("policy").and_then(|name| scenario.policies.iter().find(|p| &p.name == name));
        let retry = policy.and_then(|p| p.retry).map_or(b.point.retry.configure(), |r| r.configure());
        let policy = policy.map(|p| {
            Rc::new(PolicyRuntime {
                breaker: p.breaker,
                budget: p.budget,
                fallback: p.fallback.iter().map(|&s| step_service(s)).collect(),
            })
        });
        let guards = super::build::Guards { policy, telemetry: telemetry.clone() };
        let entry = super::build::spawn(b.sim, scenario, b.point, retry, b.seed, guards);
        (entry, telemetry)
    }

    fn request(id: u64, request: ClientRequest) -> Msg {
        Msg::Request { id, work: WorkRef { kind: request.kind, key: request.key, ..WorkRef::default() } }
    }

    fn outcome(answer: &Msg) -> Outcome {
        match answer {
            Msg::Outcome { outcome, .. } => *outcome,
            // Anything else from the gateway is not an answer a client
            // understands.
            _ => Outcome::Failed(Cause::AgentTimeout),
        }
    }

    fn agents(&self, scenario: &Scenario) -> u32 {
        fleet_size(scenario)
    }

    fn report(&self, run: &Finished<'_, FleetActor>, telemetry: &Telemetry) -> SystemReport {
        let mut report = super::report::report(run.scenario, run.sim.world(), &telemetry.borrow(), run.observed_ns);
        if run.scenario.roles.iter().any(|r| r.virtual_agents.is_some()) {
            let (nodes, v) =
                super::report::virtual_agents(run.scenario, run.sim.world(), &telemetry.borrow(), run.observed_ns);
            report.nodes = Some(nodes);
            report.virtual_agents = Some(v);
        }
        if let Some(policy) = &run.policy {
            report.resilience = Some(super::report::resilience(run.scenario, &telemetry.borrow(), policy));
        }
        // The one figure read from an actor: the gateway's re-sends (it
        // lives on node 0, which faults never take down).
        report.retried_after_crash = run.sim.system().actors().find_map(|(_, a)| match a {
            FleetActor::Gateway(g) => Some(g.stats.retried_after_crash),
            _ => None,
        });
        report
    }

    fn buggify_site_name(&self, site: u64) -> Option<&'static str> {
        (site == SITE_AGENT_HESITATES).then_some("agent_hesitates")
    }

    /// Roles: an agent is named for its role and its place in it
    /// (`researcher 2`), a router for its role (`router planner`); the
    /// simple form keeps the labels (`agent 3`, `stage 0`, `gateway`).
    fn actor_name(&self, scenario: &Scenario, label: ActorLabel) -> Option<String> {
        super::report::actor_name(scenario, label)
    }

    fn step_name(&self, scenario: &Scenario, kind: u16, step: u16) -> String {
        super::report::call_step_name(scenario, kind, step)
    }
}
