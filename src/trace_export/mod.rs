//! A run exported for people to look at: its structured record (which
//! handler ran when, which message went where, spawns, stops, faults; see
//! [`rehearsal_sim::activity`]), its request ledger, and readable names for
//! everything they mention ([`names`]). [`perfetto`] writes it as Chrome
//! trace-event JSON for ui.perfetto.dev; `--trace-out` uses the names for
//! its text.
//!
//! Exporting happens after the run and only reads: a run that is
//! exported is the same run (same events, same trace hash).

use rehearsal_runtime::{Actor, Nanos};
use rehearsal_sim::Sim;
use rehearsal_sim::activity::{ActivityLog, What};

use crate::ledger::Ledger;
use crate::scenario::{Scenario, ScheduledFaultKind};
use crate::summary::RunSummary;
use crate::system::SystemUnderTest;
use crate::world::ScenarioWorld;

pub mod names;
pub mod perfetto;

pub use names::TraceNames;

/// One run's record, ready for exporters.
#[derive(Debug)]
pub struct Recording {
    /// What the kernel recorded (empty records when only names were
    /// asked for).
    pub activity: ActivityLog,
    /// The world's request ledger: requests and service calls.
    pub ledger: Ledger,
    /// Each request's type, by id (empty with one type).
    pub request_kinds: Vec<u16>,
    /// The request types' names, by type.
    pub request_types: Vec<String>,
    pub names: TraceNames,
    pub about: RunAbout,
    /// When the run ended (simulated time).
    pub end_ns: Nanos,
    /// Nodes of the topology.
    pub nodes: u32,
    /// Faults of the world that are not the kernel's (brownouts, their
    /// start and end), with their description.
    pub world_faults: Vec<(Nanos, String)>,
}

/// Which run a recording is of.
#[derive(Clone, Debug, Default)]
pub struct RunAbout {
    pub scenario: String,
    pub seed: u64,
    /// As `--strategy` takes it.
    pub strategy: String,
    pub trace_hash: String,
}

impl Recording {
    /// Request `id`'s type.
    pub fn request_kind(&self, id: u64) -> u16 {
        self.request_kinds.get(id as usize).copied().unwrap_or(0)
    }
}

/// Take the run's record out of a finished simulation (its activity log,
/// which the run must have kept, and its ledger: call this last) and
/// resolve the names it mentions through `system`.
pub(crate) fn take_recording<S: SystemUnderTest>(
    system: &S,
    scenario: &Scenario,
    sim: &mut Sim<S::Actor, ScenarioWorld<<S::Actor as Actor>::Msg>>,
    summary: &RunSummary,
) -> Option<Recording> {
    let end_ns = sim.kernel().now();
    let activity = sim.kernel_mut().take_activity()?;
    let world = sim.world_mut();
    let ledger = std::mem::take(&mut world.ledger);
    let request_kinds = std::mem::take(&mut world.kinds);
    let sites: Vec<u64> = activity
        .records()
        .iter()
        .filter_map(|r| match r.what {
            What::Buggify { site } => Some(site),
            _ => None,
        })
        .collect();
    let sources = names::NameSources {
        scenario,
        spawns: activity.spawns(),
        spans: ledger.spans(),
        request_kinds: &request_kinds,
        sites: &sites,
    };
    let names = TraceNames::resolve(system, &sources);
    let about = RunAbout {
        scenario: summary.scenario.clone(),
        seed: summary.seed,
        strategy: summary.strategy.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
        trace_hash: summary.trace_hash.clone(),
    };
    Some(Recording {
        activity,
        ledger,
        request_kinds,
        request_types: scenario.workload.types.iter().map(|t| t.name.clone()).collect(),
        names,
        about,
        end_ns,
        nodes: scenario.topology.nodes,
        world_faults: brownouts(scenario, end_ns),
    })
}

/// The scenario's brownouts (a world fault the kernel never sees), as a
/// start and an end, within the run.
fn brownouts(scenario: &Scenario, end_ns: Nanos) -> Vec<(Nanos, String)> {
    let mut out = Vec::new();
    for fault in &scenario.faults.schedule {
        if let ScheduledFaultKind::Brownout { llm, latency_x, error_rate_add, for_ns } = &fault.kind {
            let name = scenario.llms.get(usize::from(*llm)).map_or("?", |l| l.name.as_str());
            let start = format!("brownout of llm:{name} (latency x{latency_x}, error rate +{error_rate_add})");
            out.push((fault.at_ns, start));
            out.push((fault.at_ns.saturating_add(*for_ns), format!("brownout of llm:{name} ends")));
        }
    }
    out.retain(|&(at, _)| at <= end_ns);
    out
}
