//! The determinism self-check: run a seed twice and, if the runs differ,
//! name the first event where they do, in memory that does not grow with
//! the run. Each run keeps only its trace hash every [`CHECKPOINT_EVERY`]
//! events; where the checkpoints first differ, both runs are replayed
//! recording just that window of events, and the records are compared.

use rehearsal_sim::trace::{Divergence, TraceMode, first_divergence};

use crate::run::{RunError, RunOptions, RunOutput, run_once};
use crate::scenario::Scenario;
use crate::strategy::Strategy;
use crate::summary::RunSummary;

/// Events between two checkpoints: a window of this many records is the
/// most a check ever holds (a few MB), whatever the length of the run.
pub const CHECKPOINT_EVERY: u64 = 1 << 16;

/// What two runs of one seed showed.
#[derive(Debug)]
pub enum Verdict {
    /// Same checkpoints, same summary.
    Deterministic(Box<RunSummary>),
    /// The traces differ first at this event.
    Diverged(Box<Divergence>),
    /// The traces match but the summaries differ (a summary reads
    /// something the trace does not see).
    SummariesDiffer(Box<RunSummary>, Box<RunSummary>),
}

/// Run `seed` twice and compare, checkpoint by checkpoint (the built-in
/// fleet).
pub fn check(scenario: &Scenario, seed: u64, strategy: &Strategy) -> Result<Verdict, RunError> {
    check_with(&|s, seed, st, o| run_once(s, seed, st, o), scenario, seed, strategy)
}

/// A function that runs a system under test once.
pub type Runner<'a> = dyn Fn(&Scenario, u64, &Strategy, RunOptions) -> Result<RunOutput, RunError> + Sync + 'a;

/// [`check`] for any system: `runner` runs it once.
pub fn check_with(
    runner: &Runner<'_>,
    scenario: &Scenario,
    seed: u64,
    strategy: &Strategy,
) -> Result<Verdict, RunError> {
    let run = |trace| runner(scenario, seed, strategy, RunOptions { trace, ..RunOptions::default() });
    let checkpoints = TraceMode::Checkpoints { every: CHECKPOINT_EVERY };
    let (a, b) = (run(checkpoints)?, run(checkpoints)?);
    let differ = |a: &RunOutput, b: &RunOutput| {
        a.summary.trace_hash != b.summary.trace_hash || a.summary.events != b.summary.events
    };
    if !differ(&a, &b) && a.checkpoints == b.checkpoints {
        if a.summary == b.summary {
            return Ok(Verdict::Deterministic(Box::new(a.summary)));
        }
        return Ok(Verdict::SummariesDiffer(Box::new(a.summary), Box::new(b.summary)));
    }
    // The first window whose closing checkpoint differs (or that one run
    // did not reach) holds the first differing event.
    let k = (0..).find(|&i| a.checkpoints.get(i) != b.checkpoints.get(i)).unwrap_or(0) as u64;
    let window = TraceMode::Window { from: k * CHECKPOINT_EVERY, to: (k + 1) * CHECKPOINT_EVERY };
    // (Recording changes nothing but what is kept: a test checks it.)
    let (a, b) = (run(window)?, run(window)?);
    let from = k * CHECKPOINT_EVERY;
    let found = first_divergence(&a.trace, &b.trace).map(|d| Divergence { index: from + d.index, ..d });
    let divergence = found.unwrap_or(Divergence {
        // Same window, different ends: the runs differ after it.
        index: (k + 1) * CHECKPOINT_EVERY,
        first: None,
        second: None,
    });
    Ok(Verdict::Diverged(Box::new(divergence)))
}
