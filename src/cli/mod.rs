//! The command line: arguments -> a plan -> runs -> output and exit code.
//! Layered as ripgrep does: clap parses, the helpers of `plan` validate
//! against the scenario, and the commands only execute.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

mod plan;

pub use plan::{BUGGIFY_DEFAULT_COMPARE, BUGGIFY_DEFAULT_RUN, BUGGIFY_DEFAULT_SWEEP, replay_command};
use plan::{
    OnOff, on_off, parse_seed_range, parse_strategy, replay_buggify, resolve_baseline, resolve_buggify, strategy_arg,
    with_buggify,
};

use crate::parallel::{default_jobs, map_parallel};
use crate::report::{Analysis, Comparison, RunFailure, StrategyRuns, write_reports};
use crate::run::{RunOptions, broken_invariants, run_once};
use crate::scenario::{self, Scenario};
use crate::strategy::combinations;
use crate::summary::RunSummary;

/// `println!` that ends the process quietly when stdout is closed (e.g.
/// piped into `head`), instead of panicking on a broken pipe.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

/// Exit codes: the contract with scripts and CI.
pub mod exit {
    /// Everything ran and every check passed.
    pub const OK: u8 = 0;
    /// A check or an invariant failed (or a run hit a limit).
    pub const CHECK_FAILED: u8 = 1;
    /// Bad input or usage.
    pub const BAD_INPUT: u8 = 2;
}

/// An error in what the user asked for (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    message: String,
}

fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError { message: message.into() }.into()
}

#[derive(Debug, Parser)]
#[command(
    name = "rehearsal",
    version,
    about = "Deterministic simulation and benchmarking of actor-based AI-agent orchestration"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one seed with one strategy combination.
    Run(RunArgs),
    /// Run many seeds in parallel and list those that fail.
    Sweep(SweepArgs),
    /// Run every strategy combination over the same seeds and write reports.
    Compare(CompareArgs),
}

#[derive(Debug, Args)]
struct StrategyArg {
    /// Strategy as AXIS=VALUE,... (default: the first value of each axis).
    #[arg(long, value_name = "AXIS=VALUE,...")]
    strategy: Option<String>,
}

#[derive(Debug, Args)]
struct BuggifyArg {
    /// BUGGIFY fault points on or off, over the scenario's `[buggify] enabled`
    /// (default: the scenario's setting if it has one, else on for `run` and
    /// `sweep`, off for `compare`).
    #[arg(long, value_name = "on|off")]
    buggify: Option<OnOff>,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The scenario file.
    scenario: PathBuf,
    /// The seed (default: the scenario's first seed).
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    strategy: StrategyArg,
    /// Print the run's summary as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Run twice and compare the traces event by event.
    #[arg(long)]
    check_determinism: bool,
    /// Write every event of the run, one per line, to this file.
    #[arg(long, value_name = "FILE")]
    trace_out: Option<PathBuf>,
    #[command(flatten)]
    buggify: BuggifyArg,
}

#[derive(Debug, Args)]
struct SweepArgs {
    /// The scenario file.
    scenario: PathBuf,
    /// Seeds as A..B (B excluded) or A..=B (B included).
    #[arg(long, value_name = "A..B")]
    seeds: String,
    /// Worker threads (default: the number of CPUs). Results do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    #[command(flatten)]
    strategy: StrategyArg,
    #[command(flatten)]
    buggify: BuggifyArg,
}

#[derive(Debug, Args)]
struct CompareArgs {
    /// The scenario file.
    scenario: PathBuf,
    /// Seeds per strategy: 1..=N (default: the scenario's seeds).
    #[arg(long, value_name = "N")]
    seeds: Option<u64>,
    /// Worker threads (default: the number of CPUs). Results do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// Where to write the reports (default: reports/out/<scenario name>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The strategy the others are compared with, seed by seed (default:
    /// the first combination): its label as reports print it
    /// (`retry=fixed,supervision=one_for_one`) or a `--strategy` string.
    #[arg(long, value_name = "NAME")]
    baseline_strategy: Option<String>,
    #[command(flatten)]
    buggify: BuggifyArg,
}

/// Parse arguments, run, print, and turn the outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::BAD_INPUT } else { exit::OK });
        }
    };
    match execute(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(exit_code_of(&error))
        }
    }
}

fn exit_code_of(error: &anyhow::Error) -> u8 {
    let bad_input = error
        .chain()
        .any(|e| e.is::<scenario::ScenarioError>() || e.is::<UsageError>() || e.is::<crate::run::StrategyError>());
    if bad_input { exit::BAD_INPUT } else { exit::CHECK_FAILED }
}

fn execute(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Run(args) => cmd_run(args),
        Command::Sweep(args) => cmd_sweep(args),
        Command::Compare(args) => cmd_compare(args),
    }
}

fn load(path: &Path) -> anyhow::Result<Scenario> {
    Ok(scenario::load(path)?)
}

fn cmd_run(args: RunArgs) -> anyhow::Result<u8> {
    let scenario = load(&args.scenario)?;
    let seed = args.seed.or(scenario.seeds.first().copied()).unwrap_or(1);
    let strategy = parse_strategy(&scenario, args.strategy.strategy.as_deref())?;
    let buggify = resolve_buggify(args.buggify.buggify, &scenario, BUGGIFY_DEFAULT_RUN);
    let replay = replay_command(&args.scenario, seed, &strategy, replay_buggify(buggify, &scenario));
    let scenario = with_buggify(scenario, buggify);
    if args.check_determinism {
        let verdict =
            crate::determinism::check(&scenario, seed, &strategy).with_context(|| format!("replay with: {replay}"))?;
        return Ok(report_determinism(seed, verdict, &replay));
    }
    let options = RunOptions { record_trace: args.trace_out.is_some(), ..RunOptions::default() };
    let first = run_once(&scenario, seed, &strategy, options).with_context(|| format!("replay with: {replay}"))?;
    if let Some(path) = &args.trace_out {
        let mut text = String::new();
        for record in &first.trace {
            text.push_str(&record.to_string());
            text.push('\n');
        }
        crate::report::write_atomic(path, text.as_bytes())?;
        eprintln!("trace: {} events written to {}", first.trace.len(), path.display());
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&first.summary)?);
    } else {
        print_summary(&first.summary);
    }
    let broken = broken_invariants(&scenario, &first.summary);
    for b in &broken {
        eprintln!("invariant broken: {b}");
    }
    eprintln!("replay: {replay}");
    Ok(if broken.is_empty() { exit::OK } else { exit::CHECK_FAILED })
}

fn report_determinism(seed: u64, verdict: crate::determinism::Verdict, replay: &str) -> u8 {
    use crate::determinism::Verdict;
    match verdict {
        Verdict::Deterministic(summary) => {
            outln!(
                "deterministic: two runs of seed {seed} gave the same {} events, trace hash {}",
                summary.events,
                summary.trace_hash
            );
            exit::OK
        }
        Verdict::SummariesDiffer(first, second) => {
            outln!("NOT deterministic: the traces match but the summaries differ");
            outln!("  first:  {first:?}\n  second: {second:?}");
            outln!("replay: {replay}");
            exit::CHECK_FAILED
        }
        Verdict::Diverged(divergence) => {
            outln!("NOT deterministic: {divergence}");
            outln!("replay: {replay}");
            exit::CHECK_FAILED
        }
    }
}

fn print_summary(s: &RunSummary) {
    let r = &s.requests;
    let l = &s.latency_ms;
    outln!("scenario {}  seed {}  strategy {}", s.scenario, s.seed, strategy_arg(&s.strategy));
    outln!("  trace hash {}  events {}  simulated {:.3}s", s.trace_hash, s.events, s.sim_time_s);
    if s.buggify_fired > 0 {
        outln!("  BUGGIFY fault points fired {} times", s.buggify_fired);
    }
    outln!(
        "  requests: {} arrived, {} succeeded, {} failed, {} in flight",
        r.arrived,
        r.succeeded,
        r.failed,
        r.in_flight
    );
    outln!(
        "  latency ms: p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}  mean {:.1}",
        l.p50,
        l.p90,
        l.p99,
        l.p999,
        l.max,
        l.mean
    );
    outln!(
        "  throughput {:.2}/s  calls: {} llm, {} tool, {} retries, {} errors, {} timeouts",
        s.throughput_per_s,
        s.calls.llm,
        s.calls.tool,
        s.calls.retries,
        s.calls.errors,
        s.calls.timeouts
    );
}

fn progress_bar(total: u64, what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    let style = indicatif::ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} runs, {eta} left")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(what.to_string());
    bar
}

fn cmd_sweep(args: SweepArgs) -> anyhow::Result<u8> {
    let scenario = load(&args.scenario)?;
    let seeds = parse_seed_range(&args.seeds)?;
    let strategy = parse_strategy(&scenario, args.strategy.strategy.as_deref())?;
    let jobs = args.jobs.unwrap_or_else(default_jobs);
    if jobs == 0 {
        bail!(usage("--jobs must be at least 1"));
    }
    let buggify = resolve_buggify(args.buggify.buggify, &scenario, BUGGIFY_DEFAULT_SWEEP);
    let replay_flag = replay_buggify(buggify, &scenario);
    let scenario = with_buggify(scenario, buggify);
    let bar = progress_bar(seeds.len() as u64, "sweep");
    let results =
        map_parallel(&seeds, jobs, |&seed| run_once(&scenario, seed, &strategy, RunOptions::default()), |_| bar.inc(1));
    bar.finish_and_clear();

    let mut failures = Vec::new();
    let mut hashes = Vec::new();
    for (seed, result) in seeds.iter().zip(&results) {
        match result {
            Ok(out) => {
                hashes.push(out.summary.trace_hash.clone());
                let broken = broken_invariants(&scenario, &out.summary);
                if !broken.is_empty() {
                    failures.push((*seed, broken.join("; ")));
                }
            }
            Err(e) => failures.push((*seed, error_chain(e))),
        }
    }
    outln!(
        "sweep {}: {} seeds ({}), strategy {}, BUGGIFY {}: {} passed, {} failed",
        scenario.name,
        seeds.len(),
        args.seeds,
        strategy_arg(&strategy),
        on_off(buggify),
        seeds.len() - failures.len(),
        failures.len()
    );
    outln!("sweep hash {:016x}", rehearsal_sim::rng::fnv1a64(hashes.join(",").as_bytes()));
    for (seed, why) in &failures {
        outln!("FAILED seed {seed}: {why}");
        outln!("  replay: {}", replay_command(&args.scenario, *seed, &strategy, replay_flag));
    }
    Ok(if failures.is_empty() { exit::OK } else { exit::CHECK_FAILED })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn cmd_compare(args: CompareArgs) -> anyhow::Result<u8> {
    let scenario = load(&args.scenario)?;
    let seeds: Vec<u64> = match args.seeds {
        Some(0) => return Err(usage("--seeds must be at least 1")),
        Some(n) => (1..=n).collect(),
        None => scenario.seeds.clone(),
    };
    let jobs = args.jobs.unwrap_or_else(default_jobs);
    if jobs == 0 {
        return Err(usage("--jobs must be at least 1"));
    }
    let strategies = combinations(&scenario.strategies);
    let baseline = resolve_baseline(&scenario, &strategies, args.baseline_strategy.as_deref())?;
    let buggify = resolve_buggify(args.buggify.buggify, &scenario, BUGGIFY_DEFAULT_COMPARE);
    let replay_flag = replay_buggify(buggify, &scenario);
    let scenario = with_buggify(scenario, buggify);
    let work: Vec<(usize, u64)> =
        (0..strategies.len()).flat_map(|s| seeds.iter().map(move |&seed| (s, seed))).collect();
    let bar = progress_bar(work.len() as u64, "compare");
    let results = map_parallel(
        &work,
        jobs,
        |&(s, seed)| run_once(&scenario, seed, &strategies[s], RunOptions::default()),
        |_| bar.inc(1),
    );
    bar.finish_and_clear();

    let mut runs_by_strategy: Vec<Vec<RunSummary>> = vec![Vec::new(); strategies.len()];
    let mut errors = Vec::new();
    let mut invariant_failures = Vec::new();
    for (&(s, seed), result) in work.iter().zip(results) {
        let failure = |reason: String| RunFailure {
            strategy: strategies[s].clone(),
            seed,
            reason,
            replay: replay_command(&args.scenario, seed, &strategies[s], replay_flag),
        };
        match result {
            Ok(out) => {
                let broken = broken_invariants(&scenario, &out.summary);
                if !broken.is_empty() {
                    invariant_failures.push(failure(broken.join("; ")));
                }
                runs_by_strategy[s].push(out.summary);
            }
            Err(e) => errors.push(failure(error_chain(&e))),
        }
    }
    let print_failures = |errors: &[RunFailure], invariant_failures: &[RunFailure]| {
        for f in errors.iter().chain(invariant_failures) {
            outln!("FAILED seed {} ({}): {}", f.seed, strategy_arg(&f.strategy), f.reason);
            outln!("  replay: {}", f.replay);
        }
    };
    if runs_by_strategy.iter().all(Vec::is_empty) {
        outln!(
            "{}: every run failed ({} strategies x {} seeds); no reports written",
            scenario.name,
            strategies.len(),
            seeds.len()
        );
        print_failures(&errors, &invariant_failures);
        return Ok(exit::CHECK_FAILED);
    }
    let failed = !errors.is_empty() || !invariant_failures.is_empty();
    let comparison = Comparison {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        seeds: seeds.clone(),
        results: strategies
            .iter()
            .zip(runs_by_strategy)
            .map(|(strategy, runs)| StrategyRuns { strategy: strategy.clone(), runs })
            .collect(),
        fault_windows: crate::run::fault_windows(&scenario),
        errors,
        invariant_failures,
        baseline,
        buggify: Some(buggify),
    };
    let out_dir = args.out.unwrap_or_else(|| Path::new("reports").join("out").join(&scenario.name));
    let paths = write_reports(&comparison, &out_dir)?;
    outln!("{}", crate::report::terminal::render(&Analysis::of(&comparison)).trim_end());
    outln!("reports:");
    outln!("  {}", paths.json.display());
    outln!("  {}", paths.markdown.display());
    for chart in &paths.charts {
        outln!("  {}", chart.display());
    }
    print_failures(&comparison.errors, &comparison.invariant_failures);
    Ok(if failed { exit::CHECK_FAILED } else { exit::OK })
}
