//! The command line: arguments -> a plan -> runs -> output and exit code.
//! Layered as ripgrep does: clap parses, the helpers of `plan` validate
//! against the scenario, and the commands only execute.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

mod plan;

pub use plan::{
    BUGGIFY_DEFAULT_COMPARE, BUGGIFY_DEFAULT_RUN, BUGGIFY_DEFAULT_SWEEP, MAX_RUNS, replay_command, replay_command_of,
};
use plan::{
    OnOff, on_off, parse_strategy, replay_buggify, resolve_baseline, resolve_buggify, resolve_jobs, strategy_arg,
    with_buggify,
};

use crate::determinism::Runner;
use crate::run::{RunOptions, broken_invariants, run_system};
use crate::scenario::{self, Scenario};
use crate::summary::RunSummary;
use crate::system::SystemUnderTest;

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

/// `eprintln!` that never panics: with stderr closed (piped into a
/// finished `head`), a note is lost, the command goes on and its exit code
/// stays the command's own.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// [`errln!`] for progress and notes, which `--quiet` silences (results
/// and errors are never silenced).
macro_rules! noteln {
    ($($arg:tt)*) => {{
        if !$crate::cli::quiet::is_quiet() {
            errln!($($arg)*);
        }
    }};
}

mod batch;
mod check;
mod completions;
mod fail_if;
mod help;
mod interrupt;
mod quiet;
mod schema;
mod sweep;

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
    /// Print no progress and no notes on stderr (results and errors still).
    #[arg(long, short, global = true)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one seed with one strategy combination.
    Run(RunArgs),
    /// Run many seeds in parallel and list those that fail.
    Sweep(SweepArgs),
    /// Run every strategy combination over the same seeds and write reports.
    Compare(CompareArgs),
    /// The CI gate: run the scenario's seeds and strategies and compare every
    /// metric with a committed baseline (exit 0 within tolerance, 1 on a
    /// regression, 2 on a bad or mismatched baseline); `--update` writes it.
    Check(check::CheckArgs),
    /// Combine the outputs of `sweep --shard K/N` (every K of one N) into
    /// exactly what the whole sweep prints on one machine.
    Merge(sweep::MergeArgs),
    /// Print the JSON Schema of scenario files (for editors and validators).
    Schema,
    /// Print a shell completion script.
    Completions(completions::CompletionsArgs),
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
    /// Write the run as Chrome trace-event JSON to this file, for
    /// ui.perfetto.dev or chrome://tracing (see docs/perfetto.md).
    #[arg(long, value_name = "FILE")]
    perfetto: Option<PathBuf>,
    #[command(flatten)]
    buggify: BuggifyArg,
}

#[derive(Debug, Args)]
struct SweepArgs {
    /// The scenario file.
    scenario: PathBuf,
    /// Seeds as A..B (B excluded) or A..=B (B included); at most 1,000,000.
    #[arg(long, value_name = "A..B")]
    seeds: String,
    /// Worker threads (default: the number of CPUs; at most 1024). Results do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    #[command(flatten)]
    strategy: StrategyArg,
    #[command(flatten)]
    buggify: BuggifyArg,
    /// Where the journal of finished runs goes (default:
    /// reports/out/<scenario name>.sweep).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    resume: ResumeArg,
    /// Run only the K-th of N parts (seeds whose index in the range is K-1
    /// modulo N) and print its runs as JSON lines; `rehearsal merge` puts
    /// the parts together into exactly what one sweep prints.
    #[arg(long, value_name = "K/N")]
    shard: Option<sweep::Shard>,
    /// Print the result as one JSON document (seeds, failures with their
    /// replay lines, every run's trace hash).
    #[arg(long)]
    json: bool,
    /// A metric threshold that fails a seed, as "METRIC OP NUMBER" (e.g.
    /// "success_rate < 0.95", "latency_ms.p99 > 5000"); may be repeated.
    #[arg(long, value_name = "CONDITION")]
    fail_if: Vec<String>,
}

#[derive(Debug, Args)]
struct ResumeArg {
    /// Continue an interrupted command from its journal: run only the runs
    /// it has not finished (same arguments; the output is the same as an
    /// uninterrupted run's).
    #[arg(long)]
    resume: bool,
}

#[derive(Debug, Args)]
struct CompareArgs {
    /// The scenario file.
    scenario: PathBuf,
    /// Seeds per strategy: 1..=N (default: the scenario's seeds); at most
    /// 1,000,000 runs in all (strategies x seeds).
    #[arg(long, value_name = "N")]
    seeds: Option<u64>,
    /// Worker threads (default: the number of CPUs; at most 1024). Results do not depend on it.
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
    #[command(flatten)]
    resume: ResumeArg,
    /// Run only the K-th of N parts of the runs (strategy x seed, index
    /// K-1 modulo N) and print them as JSON lines instead of writing
    /// reports; `rehearsal merge --out DIR` writes exactly the reports of
    /// the whole comparison.
    #[arg(long, value_name = "K/N")]
    shard: Option<sweep::Shard>,
}

/// What the commands run: a system under test (behind a runner, so the
/// commands are not generic) and the program replay lines name.
#[derive(Clone, Copy)]
pub(crate) struct Target<'a> {
    pub run: &'a Runner<'a>,
    pub program: &'a str,
    /// The system's own strategy axes, which its scenarios may list.
    pub axes: &'a [crate::strategy::SystemAxis],
}

/// The `rehearsal` command: the built-in fleet. Parse arguments, run,
/// print, and turn the outcome into an exit code.
pub fn main() -> ExitCode {
    main_named(&crate::fleet::Fleet, "rehearsal")
}

/// The same command line for your own system under test: `run`, `sweep`
/// and `compare` over scenario files, with the same reports, invariants
/// and exit codes; replay lines name the program as it was invoked.
pub fn main_with<S: SystemUnderTest>(system: &S) -> ExitCode {
    let program = std::env::args().next().unwrap_or_else(|| "rehearsal".to_owned());
    main_named(system, &program)
}

/// [`main_with`], with replay lines naming `program`.
pub fn main_named<S: SystemUnderTest>(system: &S, program: &str) -> ExitCode {
    main_args(system, program, std::env::args_os().skip(1))
}

/// [`main_named`] with the arguments given (after the program's name):
/// a binary may supply defaults when it is run without any.
pub fn main_args<S, I, T>(system: &S, program: &str, args: I) -> ExitCode
where
    S: SystemUnderTest,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::FromArgMatches;
    let name = help::bin_name(program);
    let argv = std::iter::once(std::ffi::OsString::from(program)).chain(args.into_iter().map(Into::into));
    let parsed = help::command(name).try_get_matches_from(argv).and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::BAD_INPUT } else { exit::OK });
        }
    };
    quiet::set(cli.quiet);
    let run = |scenario: &Scenario, seed: u64, strategy: &crate::strategy::Strategy, options: RunOptions| {
        run_system(system, scenario, seed, strategy, options)
    };
    let target = Target { run: &run, program, axes: system.axes() };
    match execute(cli, target) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            errln!("error: {error}");
            for cause in error.chain().skip(1) {
                errln!("  caused by: {cause}");
            }
            ExitCode::from(exit_code_of(&error))
        }
    }
}

fn exit_code_of(error: &anyhow::Error) -> u8 {
    let bad_input = error.chain().any(|e| {
        e.is::<scenario::ScenarioError>()
            || e.is::<UsageError>()
            || e.is::<crate::run::StrategyError>()
            || e.downcast_ref::<crate::output::OutputError>().is_some_and(crate::output::OutputError::is_bad_input)
            || e.downcast_ref::<crate::report::ReportError>().is_some_and(crate::report::ReportError::is_bad_input)
            || e.downcast_ref::<crate::journal::JournalError>().is_some_and(crate::journal::JournalError::is_bad_input)
            || e.is::<check::BaselineError>()
            || e.is::<sweep::MergeError>()
    });
    if bad_input { exit::BAD_INPUT } else { exit::CHECK_FAILED }
}

fn execute(cli: Cli, target: Target<'_>) -> anyhow::Result<u8> {
    match cli.command {
        Command::Run(args) => cmd_run(args, target),
        Command::Sweep(args) => sweep::sweep(args, target),
        Command::Compare(args) => batch::compare(args, target),
        Command::Check(args) => check::check(args, target),
        Command::Merge(args) => sweep::merge(args, target),
        Command::Schema => schema::print(target),
        Command::Completions(args) => completions::print(&args, target.program),
    }
}

fn load(path: &Path, target: Target<'_>) -> anyhow::Result<Scenario> {
    Ok(scenario::load_for(path, target.axes)?)
}

/// [`load`], with the file's text as read.
fn load_with_source(path: &Path, target: Target<'_>) -> anyhow::Result<(Scenario, String)> {
    Ok(scenario::load_with_source_for(path, target.axes)?)
}

fn cmd_run(args: RunArgs, target: Target<'_>) -> anyhow::Result<u8> {
    let scenario = load(&args.scenario, target)?;
    let seed = args.seed.or(scenario.seeds.first().copied()).unwrap_or(1);
    let strategy = parse_strategy(&scenario, args.strategy.strategy.as_deref())?;
    let buggify = resolve_buggify(args.buggify.buggify, &scenario, BUGGIFY_DEFAULT_RUN);
    let replay = replay_command_of(target.program, &args.scenario, seed, &strategy, replay_buggify(buggify, &scenario));
    // A path that cannot take its output is bad input: say so before running.
    for path in args.trace_out.iter().chain(&args.perfetto) {
        crate::output::resolve(path)?;
    }
    let scenario = with_buggify(scenario, buggify);
    if args.check_determinism {
        let verdict = crate::determinism::check_with(target.run, &scenario, seed, &strategy)
            .with_context(|| format!("replay with: {replay}"))?;
        return Ok(report_determinism(seed, verdict, &replay));
    }
    let options = RunOptions {
        record_trace: args.trace_out.is_some(),
        activity: args.perfetto.is_some().then_some(crate::trace_export::perfetto::MAX_EVENTS),
        ..RunOptions::default()
    };
    let first = (target.run)(&scenario, seed, &strategy, options).with_context(|| format!("replay with: {replay}"))?;
    if let Some(path) = &args.trace_out {
        write_text_trace(path, &first)?;
    }
    if let Some(path) = &args.perfetto {
        write_perfetto(path, &first)?;
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&first.summary)?);
    } else {
        print_summary(&first.summary);
    }
    let broken = broken_invariants(&scenario, &first.summary);
    for b in &broken {
        errln!("invariant broken: {b}");
    }
    if broken.is_empty() {
        noteln!("replay: {replay}");
    } else {
        errln!("replay: {replay}");
    }
    Ok(if broken.is_empty() { exit::OK } else { exit::CHECK_FAILED })
}

/// The recorded events, one per line, with actors and services named.
fn write_text_trace(path: &Path, run: &crate::run::RunOutput) -> anyhow::Result<()> {
    let names = run.recording.as_ref().map(|r| &r.names);
    let mut text = String::new();
    for record in &run.trace {
        let line = record.to_string();
        text.push_str(&names.map_or(std::borrow::Cow::Borrowed(line.as_str()), |n| n.rename_text(&line)));
        text.push('\n');
    }
    crate::output::write_output(path, text.as_bytes())?;
    noteln!("trace: {} events written to {}", run.trace.len(), path.display());
    Ok(())
}

/// The run as Chrome trace-event JSON (see [`crate::trace_export::perfetto`]).
fn write_perfetto(path: &Path, run: &crate::run::RunOutput) -> anyhow::Result<()> {
    use crate::trace_export::perfetto;
    let recording = run.recording.as_ref().context("the run kept no record for --perfetto")?;
    let trace = perfetto::chrome_trace(recording, perfetto::MAX_EVENTS);
    crate::output::write_output(path, &trace.json)?;
    errln!("perfetto: {} events written to {} (open in https://ui.perfetto.dev)", trace.events, path.display());
    if let Some(cut) = trace.truncated {
        errln!(
            "perfetto: truncated at simulated time {} (at most {} events; {} left out)",
            rehearsal_sim::fmt_nanos(cut.at_ns),
            perfetto::MAX_EVENTS,
            cut.omitted
        );
    }
    Ok(())
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
    if !std::io::stderr().is_terminal() || quiet::is_quiet() {
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
