//! `rehearsal check SCENARIO --baseline FILE [--update]`: the CI gate.
//!
//! Runs every seed of the scenario under every strategy, as `compare`
//! does, and compares the result with the committed baseline (see
//! [`crate::gate`]). Prints a Markdown table on stdout. Exit 0 within
//! tolerance, 1 on a regression, 2 on a bad baseline or one made from a
//! different scenario, seeds or strategies. `--update` writes the baseline
//! instead (atomically; the one deliberate way to change it).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::plan::{BUGGIFY_DEFAULT_COMPARE, resolve_buggify, resolve_jobs, strategy_arg, with_buggify};
use super::{BuggifyArg, Target, exit, load_with_source};
use crate::gate::{self, Baseline};
use crate::run::{RunOptions, broken_invariants};
use crate::strategy::combinations;
use crate::summary::RunSummary;

#[derive(Debug, Args)]
pub(super) struct CheckArgs {
    /// The scenario file.
    scenario: PathBuf,
    /// The committed baseline (`reports/baselines/<name>.json`).
    #[arg(long, value_name = "FILE")]
    baseline: PathBuf,
    /// Write the baseline from this run instead of checking against it.
    #[arg(long)]
    update: bool,
    /// Worker threads (default: the number of CPUs; at most 1024). Results do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    #[command(flatten)]
    buggify: BuggifyArg,
}

/// A baseline file that cannot be used (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read the baseline {path}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a rehearsal baseline ({source}); make one with `rehearsal check SCENARIO --baseline {path} --update`"
    )]
    NotABaseline {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {source}")]
    Mismatch {
        path: String,
        #[source]
        source: gate::Mismatch,
    },
}

/// The most bytes of a baseline file read.
const MAX_BASELINE_BYTES: u64 = 64 << 20;

pub(super) fn check(args: CheckArgs, target: Target<'_>) -> anyhow::Result<u8> {
    let (scenario, text) = load_with_source(&args.scenario, target)?;
    let jobs = resolve_jobs(args.jobs)?;
    let strategies = combinations(&scenario.strategies);
    let buggify = resolve_buggify(args.buggify.buggify, &scenario, BUGGIFY_DEFAULT_COMPARE);
    let scenario = with_buggify(scenario, buggify);
    // Read the old baseline first: a bad one is found before any run.
    let old = if args.update { None } else { Some(read_baseline(&args.baseline)?) };

    let seeds = scenario.seeds.clone();
    let n = seeds.len();
    let runs = n * strategies.len();
    let mut summaries: Vec<Option<RunSummary>> = Vec::with_capacity(runs);
    let mut errors = Vec::new();
    crate::parallel::run_ordered(
        runs,
        jobs,
        |i| (target.run)(&scenario, seeds[i % n], &strategies[i / n], RunOptions::default()),
        |_, _| {},
        |i, result| match result {
            Ok(out) => summaries.push(Some(out.summary)),
            Err(e) => {
                errors.push(format!(
                    "seed {} ({}): {}",
                    seeds[i % n],
                    strategy_arg(&strategies[i / n]),
                    super::batch::error_chain(&e)
                ));
                summaries.push(None);
            }
        },
        || false,
    )?;
    if !errors.is_empty() {
        for e in &errors {
            errln!("run failed: {e}");
        }
        return Ok(exit::CHECK_FAILED);
    }
    let now = Baseline {
        rehearsal_baseline: gate::FORMAT,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        scenario: scenario.name.clone(),
        scenario_hash: crate::report::provenance::file_hash(text.as_bytes()),
        seeds: seeds.clone(),
        buggify,
        strategies: strategies
            .iter()
            .enumerate()
            .map(|(s, strategy)| {
                let runs: Vec<&RunSummary> = summaries[s * n..(s + 1) * n].iter().flatten().collect();
                let failing = runs.iter().filter(|r| !broken_invariants(&scenario, r).is_empty()).count() as u64;
                (strategy_arg(strategy), gate::strategy_baseline(&runs, failing))
            })
            .collect(),
    };
    let Some(old) = old else {
        let mut text = serde_json::to_string_pretty(&now)?;
        text.push('\n');
        crate::output::write_output(&args.baseline, text.as_bytes())?;
        errln!("baseline written: {} ({} runs)", args.baseline.display(), runs);
        return Ok(exit::OK);
    };
    let shown = args.baseline.display().to_string();
    let notes = gate::check_compatible(&old, &now).map_err(|source| BaselineError::Mismatch { path: shown, source })?;
    let mut result = gate::compare(&old, &now, &scenario.gate);
    result.notes = notes;
    outln!("{}", gate::markdown(&result).trim_end());
    Ok(if result.regressions() > 0 { exit::CHECK_FAILED } else { exit::OK })
}

fn read_baseline(path: &std::path::Path) -> anyhow::Result<Baseline> {
    let bytes = crate::scenario::read_capped(path, MAX_BASELINE_BYTES, "baselines")
        .map_err(|source| BaselineError::Unreadable { path: path.to_path_buf(), source })?;
    let shown = path.display().to_string();
    serde_json::from_slice(&bytes)
        .map_err(|source| BaselineError::NotABaseline { path: shown, source })
        .context("the baseline cannot be used")
}
