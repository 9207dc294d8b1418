//! `sweep` and `compare`: many runs, streamed in job order, journaled as
//! they finish, stopped cleanly by SIGINT/SIGTERM and continued with
//! `--resume`.
//!
//! stdout carries only what an uninterrupted command prints (so a resumed
//! command prints the same bytes); notes about the journal, resuming and
//! interrupts go to stderr.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::interrupt::{Interrupt, resume_command, shell_quote};
use super::plan::{check_runs, thousands};
use super::{
    CompareArgs, exit, load_with_source, on_off, progress_bar, replay_buggify, replay_command_of, resolve_baseline,
    resolve_buggify, resolve_jobs, strategy_arg, with_buggify,
};
use crate::journal::{Header, JOURNAL_FILE, Journal, JournalError, Record, Resumed, scenario_hash};
use crate::parallel::{Outcome, run_ordered};
use crate::report::format::compact_seeds;
use crate::report::set::ReportDir;
use crate::report::{Analysis, Comparison, Provenance, RunFailure, StrategyRuns, strategy_label, write_reports_into};
use crate::run::{RunOptions, broken_invariants};
use crate::scenario::Scenario;
use crate::strategy::combinations;
use crate::summary::RunSummary;

/// A finished run of a sweep, as journaled: its trace hash (none when it
/// stopped with an error) and why it failed (broken invariants or the
/// error), if it did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct SweepRecord {
    pub i: u64,
    pub seed: u64,
    pub trace_hash: Option<String>,
    pub failure: Option<String>,
}

impl Record for SweepRecord {
    fn index(&self) -> u64 {
        self.i
    }
}

/// A finished run of a comparison, as journaled: its summary, or the error
/// it stopped with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct CompareRecord {
    i: u64,
    strategy: String,
    seed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    summary: Option<RunSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Record for CompareRecord {
    fn index(&self) -> u64 {
        self.i
    }
}

/// A run's result on its way from a worker: the record, and the journal
/// line to append (none when it came from the journal, or when it would
/// not read back exactly: that run runs again on resume).
pub(super) struct Done<R> {
    pub record: R,
    pub line: Option<String>,
}

pub(super) fn header(
    command: &str,
    scenario: &Scenario,
    seeds: String,
    strategies: Vec<String>,
    buggify: bool,
    runs: u64,
) -> Header {
    Header {
        rehearsal_journal: crate::journal::FORMAT,
        rehearsal: env!("CARGO_PKG_VERSION").to_owned(),
        command: command.to_owned(),
        scenario: scenario.name.clone(),
        scenario_hash: scenario_hash(scenario),
        seeds,
        strategies,
        buggify,
        runs,
    }
}

/// Opens the journal: continued with `--resume`, else started afresh (an
/// unfinished journal it replaces is said on stderr). `shown` is its path
/// as printed.
pub(super) fn open_journal<R: Record>(
    path: &Path,
    shown: &Path,
    header: &Header,
    resume: bool,
) -> Result<(Journal, BTreeMap<u64, R>), JournalError> {
    if resume {
        let Resumed { journal, records, found } = Journal::resume::<R>(path, header)?;
        if found {
            noteln!(
                "resuming: {} of {} runs already done, from {}",
                thousands(records.len() as u64),
                thousands(header.runs),
                shown.display()
            );
        } else {
            noteln!("note: no journal at {}: running everything", shown.display());
        }
        return Ok((journal, records));
    }
    if let Some(lines) = count_lines(path) {
        if lines > 0 && lines < header.runs + 1 {
            noteln!(
                "note: replacing the unfinished journal at {} (add --resume to continue it instead)",
                shown.display()
            );
        }
    }
    Ok((Journal::start(path, header)?, BTreeMap::new()))
}

/// Complete lines in a file, if it can be read.
fn count_lines(path: &Path) -> Option<u64> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).ok()?;
        if k == 0 {
            return Some(n);
        }
        n += buf[..k].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

/// What [`run_journaled`] runs: how many jobs, on how many threads, named
/// how on the progress bar, stopped by which interrupt.
pub(super) struct Batch<'a> {
    pub jobs: u64,
    pub threads: usize,
    pub what: &'static str,
    pub interrupt: &'a Interrupt,
}

/// Runs `jobs` jobs through [`run_ordered`] with a journal and an interrupt:
/// `work` makes a job's record (taken from `journaled` when it is there),
/// `in_order` folds records in job order. Returns the outcome, or the
/// journal's write error.
pub(super) fn run_journaled<R, W, O>(
    batch: Batch<'_>,
    journaled: BTreeMap<u64, R>,
    journal: &mut Journal,
    work: W,
    in_order: O,
) -> anyhow::Result<(Outcome, u64)>
where
    R: Record + Send,
    W: Fn(u64, Option<R>) -> Done<R> + Sync,
    O: FnMut(usize, Done<R>),
{
    let Batch { jobs, threads, what, interrupt } = batch;
    let already = journaled.len() as u64;
    let journaled = Mutex::new(journaled);
    let bar = progress_bar(jobs, what);
    bar.inc(already);
    let failed: RefCell<Option<JournalError>> = RefCell::new(None);
    let finished = Cell::new(already);
    let announced = Cell::new(false);
    let outcome = run_ordered(
        usize::try_from(jobs).unwrap_or(usize::MAX),
        threads,
        |i| {
            let i = i as u64;
            let from_journal = journaled.lock().unwrap_or_else(|p| p.into_inner()).remove(&i);
            work(i, from_journal)
        },
        |_, done: &Done<R>| {
            if let Some(line) = &done.line {
                if failed.borrow().is_none() {
                    if let Err(e) = journal.append_line(line) {
                        failed.replace(Some(e));
                    }
                }
                finished.set(finished.get() + 1);
                bar.inc(1);
            }
        },
        in_order,
        || {
            let Some(signal) = interrupt.requested() else { return failed.borrow().is_some() };
            if !announced.replace(true) {
                bar.suspend(|| {
                    noteln!(
                        "{}: finishing the runs in flight, then stopping (send it again to stop at once)",
                        signal.name()
                    );
                });
            }
            true
        },
    )?;
    bar.finish_and_clear();
    if outcome.threads < threads.min(usize::try_from(jobs).unwrap_or(usize::MAX)) {
        noteln!("note: the system started only {} of {threads} worker threads", outcome.threads);
    }
    if let Some(e) = failed.into_inner() {
        return Err(e.into());
    }
    journal.sync()?;
    Ok((outcome, finished.get()))
}

/// After an interrupt: what is kept and the command that continues.
pub(super) fn interrupted(interrupt: &Interrupt, finished: u64, runs: u64, journal: &Path) -> u8 {
    let signal = interrupt.requested().map_or(super::interrupt::Signal::Int, |s| s);
    errln!(
        "interrupted by {}: {} of {} runs finished, kept in the journal {}",
        signal.name(),
        thousands(finished),
        thousands(runs),
        journal.display()
    );
    errln!("continue with: {}", resume_command());
    signal.exit_code()
}

/// Incremental FNV-1a 64 of strings joined by commas (the sweep hash):
/// equal to `fnv1a64(hashes.join(","))`.
pub(super) struct JoinedHash {
    pub h: u64,
    first: bool,
}

impl JoinedHash {
    pub fn new() -> JoinedHash {
        JoinedHash { h: 0xcbf2_9ce4_8422_2325, first: true }
    }

    pub fn push(&mut self, s: &str) {
        if !self.first {
            self.bytes(b",");
        }
        self.first = false;
        self.bytes(s.as_bytes());
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.h ^= u64::from(b);
            self.h = self.h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Creates a journal directory; a path that cannot be one is bad input.
pub(super) fn journal_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|source| crate::output::OutputError::Io { path: dir.to_path_buf(), source })?;
    Ok(())
}

/// `reports/out/<name>.sweep`: beside `compare`'s `reports/out/<name>`
/// (names have no dot, so it is no other scenario's).
pub(super) fn default_sweep_dir(name: &str) -> PathBuf {
    Path::new("reports").join("out").join(format!("{name}.sweep"))
}

/// The command a comparison's reports record: `compare`, the scenario and
/// the options that decide the reports, shell-quoted. `--out`, `--jobs`
/// and `--resume` are left out: they change where the reports go and how
/// fast they come, never what they say (reports do not depend on them).
fn compare_command(program: &str, args: &CompareArgs) -> String {
    let mut words = vec![shell_quote(program), "compare".to_owned(), shell_quote(&args.scenario.display().to_string())];
    if let Some(n) = args.seeds {
        words.push(format!("--seeds {n}"));
    }
    if let Some(b) = &args.baseline_strategy {
        words.push(format!("--baseline-strategy {}", shell_quote(b)));
    }
    if let Some(on) = args.buggify.buggify {
        words.push(format!("--buggify {}", on_off(on == super::OnOff::On)));
    }
    words.join(" ")
}

pub(super) fn compare(args: CompareArgs, target: super::Target<'_>) -> anyhow::Result<u8> {
    match args.shard {
        Some(shard) => compare_shard(args, target, shard),
        None => compare_with(args, target, None),
    }
}

/// The first line of a `compare --shard` part: what `merge` needs to write
/// the whole comparison's reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CompareShardHeader {
    pub rehearsal_compare_shard: u32,
    pub shard: super::sweep::Shard,
    /// The scenario path as given, and its file's hash.
    pub scenario: String,
    pub scenario_file_hash: String,
    pub seeds: Option<u64>,
    pub baseline_strategy: Option<String>,
    pub buggify: Option<bool>,
    pub runs: u64,
}

/// `compare --shard K/N`: this part's runs as JSON lines on stdout.
fn compare_shard(args: CompareArgs, target: super::Target<'_>, shard: super::sweep::Shard) -> anyhow::Result<u8> {
    let (scenario, source) = load_with_source(&args.scenario, target)?;
    let strategies = combinations(&scenario.strategies);
    let seeds: Vec<u64> = match args.seeds {
        Some(0) => return Err(super::usage("--seeds must be at least 1")),
        Some(n) => (1..=n).collect(),
        None => scenario.seeds.clone(),
    };
    check_runs(args.seeds, seeds.len() as u64, strategies.len() as u64)?;
    resolve_baseline(&scenario, &strategies, args.baseline_strategy.as_deref())?;
    let jobs = resolve_jobs(args.jobs)?;
    let buggify = resolve_buggify(args.buggify.buggify, &scenario, BUGGIFY_DEFAULT_COMPARE);
    let scenario = with_buggify(scenario, buggify);
    let n_seeds = seeds.len() as u64;
    let runs = n_seeds * strategies.len() as u64;
    let mine: Vec<u64> = (shard.k - 1..runs).step_by(shard.n as usize).collect();
    let head = CompareShardHeader {
        rehearsal_compare_shard: 1,
        shard,
        scenario: args.scenario.display().to_string(),
        scenario_file_hash: crate::report::provenance::file_hash(source.as_bytes()),
        seeds: args.seeds,
        baseline_strategy: args.baseline_strategy.clone(),
        buggify: args.buggify.buggify.map(|b| b == super::OnOff::On),
        runs,
    };
    outln!("{}", serde_json::to_string(&head)?);
    let mut lines = Vec::with_capacity(mine.len());
    run_ordered(
        mine.len(),
        jobs,
        |j| {
            let i = mine[j];
            let (s, seed) = ((i / n_seeds) as usize, seeds[(i % n_seeds) as usize]);
            let mut record =
                CompareRecord { i, strategy: strategy_label(&strategies[s]), seed, summary: None, error: None };
            match (target.run)(&scenario, seed, &strategies[s], RunOptions::default()) {
                Ok(out) => record.summary = Some(out.summary),
                Err(e) => record.error = Some(error_chain(&e)),
            }
            serde_json::to_string(&record)
        },
        |_, _| {},
        |_, line| lines.push(line),
        || false,
    )?;
    for line in lines {
        outln!("{}", line?);
    }
    Ok(exit::OK)
}

/// `merge --out DIR` of `compare --shard` parts: checks they are the parts
/// of one comparison of this very scenario file, and writes its reports as
/// one machine would have (every run taken from the parts, none run again).
pub(super) fn merge_compare(
    parts: Vec<(CompareShardHeader, Vec<String>)>,
    out: Option<PathBuf>,
    target: super::Target<'_>,
) -> anyhow::Result<u8> {
    let first = parts[0].0.clone();
    let mismatch = |why: String| super::sweep::MergeError::Mismatch(why);
    let mut seen = vec![false; first.shard.n as usize];
    let mut records: BTreeMap<u64, CompareRecord> = BTreeMap::new();
    for (head, lines) in parts {
        let same = CompareShardHeader { shard: first.shard, ..head.clone() } == first;
        if !same || head.shard.n != first.shard.n {
            return Err(mismatch(format!("shard {}/{} is of another comparison", head.shard.k, head.shard.n)).into());
        }
        if std::mem::replace(&mut seen[head.shard.k as usize - 1], true) {
            return Err(mismatch(format!("shard {}/{} is given twice", head.shard.k, head.shard.n)).into());
        }
        for line in lines {
            let r: CompareRecord =
                serde_json::from_str(&line).map_err(|e| mismatch(format!("a run that does not read back: {e}")))?;
            records.insert(r.i, r);
        }
    }
    if let Some(k) = seen.iter().position(|s| !s) {
        return Err(mismatch(format!("shard {}/{} is missing", k + 1, first.shard.n)).into());
    }
    if records.len() as u64 != first.runs {
        return Err(mismatch(format!("the parts hold {} of {} runs", records.len(), first.runs)).into());
    }
    let text = std::fs::read(&first.scenario).map_err(|e| mismatch(format!("cannot read {}: {e}", first.scenario)))?;
    if crate::report::provenance::file_hash(&text) != first.scenario_file_hash {
        return Err(mismatch(format!("{} changed since the parts ran", first.scenario)).into());
    }
    let args = CompareArgs {
        scenario: PathBuf::from(&first.scenario),
        seeds: first.seeds,
        jobs: Some(1),
        out,
        baseline_strategy: first.baseline_strategy,
        buggify: super::BuggifyArg {
            buggify: first.buggify.map(|on| if on { super::OnOff::On } else { super::OnOff::Off }),
        },
        resume: super::ResumeArg { resume: false },
        shard: None,
    };
    compare_with(args, target, Some(records))
}

/// `compare`; with `preloaded`, every run comes from there (a merge of
/// shards) and nothing runs.
fn compare_with(
    args: CompareArgs,
    target: super::Target<'_>,
    preloaded: Option<BTreeMap<u64, CompareRecord>>,
) -> anyhow::Result<u8> {
    let (scenario, source) = load_with_source(&args.scenario, target)?;
    let strategies = combinations(&scenario.strategies);
    let seed_count = match args.seeds {
        Some(0) => return Err(super::usage("--seeds must be at least 1")),
        Some(n) => n,
        None => scenario.seeds.len() as u64,
    };
    check_runs(args.seeds, seed_count, strategies.len() as u64)?;
    let seeds: Vec<u64> = match args.seeds {
        Some(n) => (1..=n).collect(),
        None => scenario.seeds.clone(),
    };
    let jobs = resolve_jobs(args.jobs)?;
    let baseline = resolve_baseline(&scenario, &strategies, args.baseline_strategy.as_deref())?;
    let buggify = resolve_buggify(args.buggify.buggify, &scenario, BUGGIFY_DEFAULT_COMPARE);
    let replay_flag = replay_buggify(buggify, &scenario);
    let scenario = with_buggify(scenario, buggify);
    let out_dir = args.out.clone().unwrap_or_else(|| Path::new("reports").join("out").join(&scenario.name));
    // A bad --out is found (exit 2) before any run starts.
    let set = ReportDir::prepare(&out_dir)?;
    let journal_path = set.dir().join(JOURNAL_FILE);
    let journal_shown = out_dir.join(JOURNAL_FILE);
    let labels: Vec<String> = strategies.iter().map(strategy_label).collect();
    let runs = seeds.len() as u64 * strategies.len() as u64;
    let header = header("compare", &scenario, compact_seeds(&seeds), labels.clone(), buggify, runs);
    let (mut journal, journaled) =
        match open_journal::<CompareRecord>(&journal_path, &journal_shown, &header, args.resume.resume) {
            Ok(j) => j,
            Err(e) => {
                set.abandon();
                return Err(e.into());
            }
        };
    let journaled = preloaded.unwrap_or(journaled);
    let interrupt = Interrupt::install();

    let n_seeds = seeds.len() as u64;
    let mut runs_by_strategy: Vec<Vec<RunSummary>> = vec![Vec::new(); strategies.len()];
    let mut errors = Vec::new();
    let mut invariant_failures = Vec::new();
    let failure = |s: usize, seed: u64, reason: String| RunFailure {
        strategy: strategies[s].clone(),
        seed,
        reason,
        replay: replay_command_of(target.program, &args.scenario, seed, &strategies[s], replay_flag),
    };
    let batch = Batch { jobs: runs, threads: jobs, what: "compare", interrupt: &interrupt };
    let result = run_journaled(
        batch,
        journaled,
        &mut journal,
        |i, from_journal: Option<CompareRecord>| {
            let (s, seed) = ((i / n_seeds) as usize, seeds[(i % n_seeds) as usize]);
            let fits = |r: &CompareRecord| {
                r.seed == seed && r.strategy == labels[s] && (r.summary.is_some() != r.error.is_some())
            };
            if let Some(record) = from_journal.filter(fits) {
                return Done { record, line: None };
            }
            let mut record = CompareRecord { i, strategy: labels[s].clone(), seed, summary: None, error: None };
            match (target.run)(&scenario, seed, &strategies[s], RunOptions::default()) {
                Ok(out) => record.summary = Some(out.summary),
                Err(e) => record.error = Some(error_chain(&e)),
            }
            // Journal the run only if it reads back exactly (a summary
            // holding a NaN would not): resume must give the same bytes.
            let line = serde_json::to_string(&record)
                .ok()
                .filter(|line| serde_json::from_str::<CompareRecord>(line).is_ok_and(|back| back == record));
            Done { record, line }
        },
        |_, done| {
            let r = done.record;
            let s = (r.i / n_seeds) as usize;
            match (r.summary, r.error) {
                (Some(summary), _) => {
                    let broken = broken_invariants(&scenario, &summary);
                    if !broken.is_empty() {
                        invariant_failures.push(failure(s, r.seed, broken.join("; ")));
                    }
                    runs_by_strategy[s].push(summary);
                }
                (None, error) => errors.push(failure(s, r.seed, error.unwrap_or_default())),
            }
        },
    );
    drop(journal);
    let (outcome, finished) = match result {
        Ok(r) => r,
        Err(e) => {
            set.abandon();
            return Err(e);
        }
    };
    if outcome.stopped {
        set.abandon();
        return Ok(interrupted(&interrupt, finished, runs, &journal_shown));
    }

    let print_failures = |errors: &[RunFailure], invariant_failures: &[RunFailure]| {
        for f in errors.iter().chain(invariant_failures) {
            outln!("FAILED seed {} ({}): {}", f.seed, strategy_arg(&f.strategy), f.reason);
            outln!("  replay: {}", f.replay);
        }
    };
    if runs_by_strategy.iter().all(Vec::is_empty) {
        set.abandon();
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
        seeds,
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
        provenance: Provenance::of_file(
            &args.scenario.display().to_string(),
            source,
            header.scenario_hash.clone(),
            compare_command(target.program, &args),
        ),
    };
    let paths = write_reports_into(&comparison, set, &out_dir)?;
    outln!("{}", crate::report::terminal::render(&Analysis::of(&comparison)).trim_end());
    outln!("reports:");
    outln!("  {}", paths.json.display());
    outln!("  {}", paths.markdown.display());
    for chart in &paths.charts {
        outln!("  {}", chart.display());
    }
    outln!("  {}", paths.html.display());
    print_failures(&comparison.errors, &comparison.invariant_failures);
    Ok(if failed { exit::CHECK_FAILED } else { exit::OK })
}

use super::BUGGIFY_DEFAULT_COMPARE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_command_keeps_what_decides_the_reports() {
        use clap::Parser as _;
        let parse = |argv: &[&str]| match super::super::Cli::try_parse_from(argv).unwrap().command {
            super::super::Command::Compare(args) => args,
            _ => unreachable!(),
        };
        let args = parse(&[
            "rehearsal",
            "compare",
            "my s.toml",
            "--seeds",
            "4",
            "--jobs",
            "2",
            "--out",
            "x",
            "--resume",
            "--buggify",
            "on",
            "--baseline-strategy",
            "retry=fixed",
        ]);
        assert_eq!(
            compare_command("rehearsal", &args),
            "rehearsal compare 'my s.toml' --seeds 4 --baseline-strategy retry=fixed --buggify on"
        );
        assert_eq!(
            compare_command("rehearsal", &parse(&["rehearsal", "compare", "s.toml"])),
            "rehearsal compare s.toml"
        );
    }

    #[test]
    fn joined_hash_is_fnv_of_the_joined_strings() {
        for parts in [vec![], vec!["a"], vec!["0123abcd", "ffff", ""]] {
            let mut h = JoinedHash::new();
            for p in &parts {
                h.push(p);
            }
            assert_eq!(h.h, rehearsal_sim::rng::fnv1a64(parts.join(",").as_bytes()), "{parts:?}");
        }
    }
}
