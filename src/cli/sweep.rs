//! `sweep`: one strategy over a range of seeds, listing the seeds that
//! fail (broken invariants, a `--fail-if` threshold, or an error) with
//! their replay lines; `--json` for the machine-readable result;
//! `--shard K/N` to run a part of it on one machine (JSON lines on stdout)
//! and `merge` to put the parts together into exactly what one machine
//! would have printed.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::batch::{
    Batch, Done, JoinedHash, SweepRecord, default_sweep_dir, error_chain, header, interrupted, journal_dir,
    open_journal, run_journaled,
};
use super::fail_if::FailIf;
use super::interrupt::Interrupt;
use super::plan::{SeedRange, parse_seed_range};
use super::{
    BUGGIFY_DEFAULT_SWEEP, SweepArgs, Target, exit, load, on_off, parse_strategy, replay_buggify, replay_command_of,
    resolve_buggify, resolve_jobs, strategy_arg, with_buggify,
};
use crate::journal::{JOURNAL_FILE, scenario_hash};
use crate::report::strategy_label;
use crate::run::{RunOptions, broken_invariants};

/// `--shard K/N`: the K-th of N parts of a sweep (seeds whose index in the
/// range is K-1 modulo N).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub k: u64,
    pub n: u64,
}

/// The most shards a sweep may be cut into.
pub const MAX_SHARDS: u64 = 10_000;

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not K/N with 1 <= K <= N <= {MAX_SHARDS} (e.g. 2/3)");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (k, n): (u64, u64) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if k == 0 || k > n || n > MAX_SHARDS {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

impl Shard {
    /// Jobs of this shard among `count`.
    fn jobs(self, count: u64) -> u64 {
        count.saturating_sub(self.k - 1).div_ceil(self.n)
    }

    /// The index in the range of this shard's job `j`.
    fn index(self, j: u64) -> u64 {
        self.k - 1 + j * self.n
    }
}

/// What a sweep's printed result needs besides its runs: everything a shard
/// carries so that `merge` prints what the whole sweep would have.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct SweepMeta {
    pub scenario: String,
    pub scenario_hash: String,
    /// The scenario path as given (replay lines print it).
    pub scenario_path: String,
    /// `--seeds` as given.
    pub seeds: String,
    pub count: u64,
    pub strategy: String,
    pub buggify: bool,
    /// The `--buggify` flag a replay needs, if any.
    pub replay_buggify: Option<bool>,
    /// The program replay lines name.
    pub program: String,
    pub json: bool,
}

/// The first line of a shard's output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ShardHeader {
    pub rehearsal_shard: u32,
    pub shard: Shard,
    pub sweep: SweepMeta,
}

const SHARD_FORMAT: u32 = 1;

pub(super) fn sweep(args: SweepArgs, target: Target<'_>) -> anyhow::Result<u8> {
    let scenario = load(&args.scenario, target)?;
    let seeds: SeedRange = parse_seed_range(&args.seeds)?;
    let strategy = parse_strategy(&scenario, args.strategy.strategy.as_deref())?;
    let jobs = resolve_jobs(args.jobs)?;
    let fail_if: Vec<FailIf> =
        args.fail_if.iter().map(|t| t.parse()).collect::<Result<_, _>>().map_err(super::usage)?;
    let buggify = resolve_buggify(args.buggify.buggify, &scenario, BUGGIFY_DEFAULT_SWEEP);
    let replay_flag = replay_buggify(buggify, &scenario);
    let scenario = with_buggify(scenario, buggify);
    let shard = args.shard;
    let runs = shard.map_or(seeds.count, |s| s.jobs(seeds.count));
    let out_dir = args.out.clone().unwrap_or_else(|| default_sweep_dir(&scenario.name));
    journal_dir(&out_dir)?;
    let journal_path = match shard {
        Some(s) => out_dir.join(format!("journal-shard-{}-of-{}.jsonl", s.k, s.n)),
        None => out_dir.join(JOURNAL_FILE),
    };
    let command = match shard {
        Some(s) => format!("sweep --shard {}/{}", s.k, s.n),
        None => "sweep".to_owned(),
    };
    let header = header(&command, &scenario, seeds.compact(), vec![strategy_label(&strategy)], buggify, runs);
    let (mut journal, journaled) =
        open_journal::<SweepRecord>(&journal_path, &journal_path, &header, args.resume.resume)?;
    let interrupt = Interrupt::install();

    let index = |j: u64| shard.map_or(j, |s| s.index(j));
    let mut records: Vec<SweepRecord> = Vec::with_capacity(runs.min(1 << 20) as usize);
    let batch = Batch { jobs: runs, threads: jobs, what: "sweep", interrupt: &interrupt };
    let (outcome, finished) = run_journaled(
        batch,
        journaled,
        &mut journal,
        |j, from_journal: Option<SweepRecord>| {
            let i = index(j);
            let seed = seeds.seed(i);
            if let Some(record) = from_journal.filter(|r| r.seed == seed && r.i == i) {
                return Done { record, line: None };
            }
            let record = match (target.run)(&scenario, seed, &strategy, RunOptions::default()) {
                Ok(out) => {
                    let mut broken = broken_invariants(&scenario, &out.summary);
                    broken.extend(fail_if.iter().filter_map(|f| f.failure(&out.summary)));
                    let failure = (!broken.is_empty()).then(|| broken.join("; "));
                    SweepRecord { i, seed, trace_hash: Some(out.summary.trace_hash), failure }
                }
                Err(e) => SweepRecord { i, seed, trace_hash: None, failure: Some(error_chain(&e)) },
            };
            let line = serde_json::to_string(&record).ok();
            Done { record, line }
        },
        |_, done| records.push(done.record),
    )?;
    drop(journal);
    if outcome.stopped {
        return Ok(interrupted(&interrupt, finished, runs, &journal_path));
    }
    let meta = SweepMeta {
        scenario: scenario.name.clone(),
        scenario_hash: scenario_hash(&scenario),
        scenario_path: args.scenario.display().to_string(),
        seeds: args.seeds.clone(),
        count: seeds.count,
        strategy: strategy_arg(&strategy),
        buggify,
        replay_buggify: replay_flag,
        program: target.program.to_owned(),
        json: args.json,
    };
    if let Some(shard) = shard {
        let head = ShardHeader { rehearsal_shard: SHARD_FORMAT, shard, sweep: meta };
        outln!("{}", serde_json::to_string(&head)?);
        for r in &records {
            outln!("{}", serde_json::to_string(r)?);
        }
        let failed = records.iter().any(|r| r.failure.is_some());
        return Ok(if failed { exit::CHECK_FAILED } else { exit::OK });
    }
    let (text, failed) = render(&meta, &records)?;
    outln!("{}", text.trim_end());
    Ok(if failed { exit::CHECK_FAILED } else { exit::OK })
}

/// The result of a sweep whose runs are `records` (in seed order): the
/// text (or JSON) it prints, and whether any seed failed.
pub(super) fn render(meta: &SweepMeta, records: &[SweepRecord]) -> anyhow::Result<(String, bool)> {
    let mut hash = JoinedHash::new();
    for h in records.iter().filter_map(|r| r.trace_hash.as_deref()) {
        hash.push(h);
    }
    let failures: Vec<&SweepRecord> = records.iter().filter(|r| r.failure.is_some()).collect();
    let strategy = super::plan::parse_strategy_label(&meta.strategy);
    let replay = |seed: u64| {
        replay_command_of(
            &meta.program,
            std::path::Path::new(&meta.scenario_path),
            seed,
            &strategy,
            meta.replay_buggify,
        )
    };
    let failed = !failures.is_empty();
    if meta.json {
        #[derive(Serialize)]
        struct Failure<'a> {
            seed: u64,
            trace_hash: Option<&'a str>,
            reason: &'a str,
            replay: String,
        }
        #[derive(Serialize)]
        struct Result<'a> {
            scenario: &'a str,
            scenario_hash: &'a str,
            seeds: &'a str,
            count: u64,
            strategy: &'a str,
            buggify: bool,
            passed: u64,
            failed: u64,
            sweep_hash: String,
            failures: Vec<Failure<'a>>,
            runs: &'a [SweepRecord],
        }
        let result = Result {
            scenario: &meta.scenario,
            scenario_hash: &meta.scenario_hash,
            seeds: &meta.seeds,
            count: meta.count,
            strategy: &meta.strategy,
            buggify: meta.buggify,
            passed: meta.count - failures.len() as u64,
            failed: failures.len() as u64,
            sweep_hash: format!("{:016x}", hash.h),
            failures: failures
                .iter()
                .map(|r| Failure {
                    seed: r.seed,
                    trace_hash: r.trace_hash.as_deref(),
                    reason: r.failure.as_deref().unwrap_or_default(),
                    replay: replay(r.seed),
                })
                .collect(),
            runs: records,
        };
        return Ok((serde_json::to_string_pretty(&result)? + "\n", failed));
    }
    let mut out = String::new();
    out.push_str(&format!(
        "sweep {}: {} seeds ({}), strategy {}, BUGGIFY {}: {} passed, {} failed\n",
        meta.scenario,
        meta.count,
        meta.seeds,
        meta.strategy,
        on_off(meta.buggify),
        meta.count - failures.len() as u64,
        failures.len()
    ));
    out.push_str(&format!("sweep hash {:016x}\n", hash.h));
    for r in failures {
        let why = r.failure.as_deref().unwrap_or_default();
        // The trace hash a replay shows again (none if the run stopped).
        match &r.trace_hash {
            Some(h) => out.push_str(&format!("FAILED seed {} (trace hash {h}): {why}\n", r.seed)),
            None => out.push_str(&format!("FAILED seed {}: {why}\n", r.seed)),
        }
        out.push_str(&format!("  replay: {}\n", replay(r.seed)));
    }
    Ok((out, failed))
}

/// `merge FILE...`: the shards of one sweep, put together.
#[derive(Debug, clap::Args)]
pub(super) struct MergeArgs {
    /// The shards' outputs (`sweep --shard K/N > FILE` or `compare --shard
    /// K/N > FILE`), in any order.
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// Compare shards: where to write the reports (default:
    /// reports/out/<scenario name>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Why shards cannot be merged (bad input, exit 2).
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("cannot read {path}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}, line {line}: not a sweep shard ({why})")]
    NotAShard { path: PathBuf, line: usize, why: String },
    #[error("the shards are not of one sweep: {0}")]
    Mismatch(String),
}

/// The most bytes of one shard file read.
const MAX_SHARD_BYTES: u64 = 1 << 30;

pub(super) fn merge(args: MergeArgs, target: Target<'_>) -> anyhow::Result<u8> {
    // Parts of a comparison: their reports, written as one machine would.
    let mut compare_parts = Vec::new();
    for path in &args.shards {
        let bytes = crate::scenario::read_capped(path, MAX_SHARD_BYTES, "shards")
            .map_err(|source| MergeError::Unreadable { path: path.clone(), source })?;
        let text = String::from_utf8_lossy(&bytes);
        let mut lines = text.lines();
        let Some(first) = lines.next() else { break };
        match serde_json::from_str::<super::batch::CompareShardHeader>(first) {
            Ok(head) => compare_parts.push((head, lines.map(str::to_owned).collect::<Vec<_>>())),
            Err(_) => break,
        }
    }
    if !compare_parts.is_empty() {
        if compare_parts.len() != args.shards.len() {
            return Err(MergeError::Mismatch("some files are parts of a comparison, others are not".into()).into());
        }
        return super::batch::merge_compare(compare_parts, args.out, target);
    }
    let mut shards: Vec<(ShardHeader, Vec<SweepRecord>)> = Vec::new();
    for path in &args.shards {
        let bytes = crate::scenario::read_capped(path, MAX_SHARD_BYTES, "shards")
            .map_err(|source| MergeError::Unreadable { path: path.clone(), source })?;
        let text = String::from_utf8_lossy(&bytes);
        let mut lines = text.lines().enumerate();
        let not_a_shard = |line: usize, why: String| MergeError::NotAShard { path: path.clone(), line: line + 1, why };
        let (_, first) = lines.next().ok_or_else(|| not_a_shard(0, "empty".into()))?;
        let head: ShardHeader = serde_json::from_str(first).map_err(|e| not_a_shard(0, e.to_string()))?;
        let mut records = Vec::new();
        for (n, line) in lines {
            records.push(serde_json::from_str::<SweepRecord>(line).map_err(|e| not_a_shard(n, e.to_string()))?);
        }
        shards.push((head, records));
    }
    let (first, _) = &shards[0];
    let n = first.shard.n;
    let mut seen = vec![false; n as usize];
    for (head, _) in &shards {
        if head.sweep != first.sweep || head.shard.n != n {
            return Err(MergeError::Mismatch(format!(
                "shard {}/{} is of `{}` seeds {} strategy {}, shard {}/{} of `{}` seeds {} strategy {}",
                head.shard.k,
                head.shard.n,
                head.sweep.scenario,
                head.sweep.seeds,
                head.sweep.strategy,
                first.shard.k,
                n,
                first.sweep.scenario,
                first.sweep.seeds,
                first.sweep.strategy
            ))
            .into());
        }
        let k = head.shard.k as usize - 1;
        if std::mem::replace(&mut seen[k], true) {
            return Err(MergeError::Mismatch(format!("shard {}/{n} is given twice", k + 1)).into());
        }
    }
    if let Some(k) = seen.iter().position(|s| !s) {
        return Err(MergeError::Mismatch(format!("shard {}/{n} is missing", k + 1)).into());
    }
    let meta = first.sweep.clone();
    let mut records: Vec<SweepRecord> = shards.into_iter().flat_map(|(_, r)| r).collect();
    records.sort_by_key(|r| r.i);
    let complete = records.len() as u64 == meta.count && records.iter().enumerate().all(|(i, r)| r.i == i as u64);
    if !complete {
        return Err(MergeError::Mismatch(format!(
            "the shards hold {} runs of a {}-seed sweep (an interrupted shard? run it again)",
            records.len(),
            meta.count
        ))
        .into());
    }
    let (text, failed) = render(&meta, &records)?;
    outln!("{}", text.trim_end());
    Ok(if failed { exit::CHECK_FAILED } else { exit::OK })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_seeds() {
        for (count, n) in [(40u64, 3u64), (1, 4), (7, 7), (10, 1)] {
            let mut seen = Vec::new();
            for k in 1..=n {
                let s = Shard { k, n };
                seen.extend((0..s.jobs(count)).map(|j| s.index(j)));
            }
            seen.sort_unstable();
            assert_eq!(seen, (0..count).collect::<Vec<_>>(), "{count} seeds in {n} shards");
        }
        assert!("0/3".parse::<Shard>().is_err() && "4/3".parse::<Shard>().is_err() && "a/b".parse::<Shard>().is_err());
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { k: 2, n: 3 }));
    }
}
