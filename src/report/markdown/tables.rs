//! The long tables of `report.md`: pooled latency by outcome, pooled
//! request counts, one table per metric, per-seed tables and agent
//! unavailability.

use std::fmt::Write as _;

use super::super::analysis::Analysis;
use super::super::format::{decimals, fixed, percentile_cell, signed, verdict_cell};
use super::super::metrics::{Better, METRICS, Metric};
use super::super::pooled::{PooledLatency, QUANTILES};
use super::super::rows;
use super::super::stats::{IntervalMethod, Summary};
use super::{cell, heading, table_row};

/// Pooled latency per outcome: every ended request, succeeded, failed.
pub(super) fn pooled_latency(out: &mut String, a: &Analysis<'_>) {
    if a.strategies.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Pooled latency (ms) by outcome\n");
    let _ = writeln!(
        out,
        "One histogram per strategy and outcome, merged over the seeds used. `n/a (n<N)`: too few requests for \
         that percentile.\n"
    );
    let _ = writeln!(out, "| key | outcome | requests | p50 | p90 | p99 | p99.9 | max | mean |");
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let all: Vec<PooledLatency> = a
        .strategies
        .iter()
        .flat_map(|s| [s.pooled.latency_ms, s.pooled.latency_ms_succeeded, s.pooled.latency_ms_failed])
        .flatten()
        .collect();
    let d = decimals(all.iter().map(|l| l.max));
    for (i, s) in a.strategies.iter().enumerate() {
        let p = &s.pooled;
        for (outcome, l) in
            [("all", p.latency_ms), ("succeeded", p.latency_ms_succeeded), ("failed", p.latency_ms_failed)]
        {
            let _ = write!(out, "| {} | {outcome} |", a.keys[i]);
            match l {
                Some(l) => {
                    let _ = write!(out, " {} |", l.count);
                    for (name, q) in QUANTILES {
                        let _ = write!(out, " {} |", percentile_cell(Some(&l), name, q, d));
                    }
                    let _ = writeln!(out, " {} | {} |", fixed(l.max, d), fixed(l.mean, d));
                }
                None if p.histograms_missing > 0 => {
                    let _ = writeln!(
                        out,
                        " — | histograms missing in {} of {} runs | | | | | |",
                        p.histograms_missing, p.runs
                    );
                }
                None => {
                    let _ = writeln!(out, " 0 | — | — | — | — | — | — |");
                }
            }
        }
    }
    out.push('\n');
}

/// Pooled request counts, failures by cause as columns.
pub(super) fn outcomes(out: &mut String, a: &Analysis<'_>) {
    if a.strategies.is_empty() {
        return;
    }
    let causes = rows::causes(a);
    let _ = writeln!(out, "## Requests, pooled\n");
    let _ = write!(out, "| key | arrived | succeeded | failed | in flight |");
    for c in &causes {
        let _ = write!(out, " failed: {} |", cell(c));
    }
    let _ = write!(out, "\n|---|---:|---:|---:|---:|");
    for _ in &causes {
        out.push_str("---:|");
    }
    out.push('\n');
    for i in 0..a.strategies.len() {
        table_row(out, &rows::outcome(a, i, &causes));
    }
    out.push('\n');
}

/// One table per metric: mean across seeds with its interval, and the
/// paired verdict against the baseline.
pub(super) fn metric_tables(out: &mut String, a: &Analysis<'_>) {
    let _ = writeln!(out, "## Metrics, mean across seeds\n");
    for (mi, m) in METRICS.iter().enumerate() {
        // A metric no run has (virtual agents in a scenario without them)
        // gets no table.
        if a.strategies.iter().all(|s| s.summaries[mi].is_none_or(|x| x.n == 0)) {
            continue;
        }
        let direction = match m.better {
            Better::Lower => ", lower is better",
            Better::Higher => ", higher is better",
            Better::Neither => "",
        };
        let _ = writeln!(out, "### {}{}{direction}\n", heading(m), what_it_is(m));
        let _ = writeln!(out, "| key | mean | 95% CI | std dev | n | vs baseline (paired) |");
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---|");
        let per_strategy: Vec<Option<Summary>> = a.strategies.iter().map(|s| s.summaries[mi]).collect();
        let d = decimals(per_strategy.iter().flatten().map(|s| s.mean));
        for (i, s) in per_strategy.iter().enumerate() {
            let vs = if a.baseline == Some(i) {
                if a.strategies.len() > 1 { "baseline".to_owned() } else { String::new() }
            } else {
                a.strategies[i].vs_baseline.as_ref().and_then(|v| v[mi]).map_or_else(
                    || "—".to_owned(),
                    |p| format!("{} ({})", verdict_cell(p.verdict(m.better)), signed(p.mean_diff, d)),
                )
            };
            match s {
                Some(s) => {
                    let ci = if !s.has_interval() {
                        "— (n=1)".to_owned()
                    } else {
                        let note = match s.ci95_method {
                            IntervalMethod::WilsonPooled => " (Wilson, pooled)",
                            IntervalMethod::StudentTClipped => " (clipped to [0, 1])",
                            IntervalMethod::StudentT => "",
                        };
                        format!("[{}, {}]{note}", fixed(s.ci95_low, d), fixed(s.ci95_high, d))
                    };
                    let _ = writeln!(
                        out,
                        "| {} | {} | {ci} | {} | {} | {vs} |",
                        a.keys[i],
                        fixed(s.mean, d),
                        fixed(s.std_dev, d),
                        s.n
                    );
                }
                None => {
                    let _ = writeln!(out, "| {} | — | — | — | 0 | {vs} |", a.keys[i]);
                }
            }
        }
        out.push('\n');
    }
}

/// For per-seed percentiles, the words that keep a mean of them from
/// passing for a percentile.
fn what_it_is(m: &Metric) -> String {
    match m.name.strip_prefix("latency_ms.") {
        Some(p) if p.starts_with('p') => {
            let shown = if p == "p999" { "p99.9" } else { p };
            format!(": mean of per-seed {shown} (not a pooled percentile)")
        }
        Some("max") => ": mean of per-seed maxima".to_owned(),
        _ => String::new(),
    }
}

/// Per agent (or stage): seconds unavailable, mean across seeds, one column
/// per strategy. Left out when no run had any downtime.
pub(super) fn agent_downtime_table(out: &mut String, a: &Analysis<'_>) {
    let runs = || a.strategies.iter().flat_map(|s| s.runs.iter());
    let agents = runs().map(|r| r.agent_downtime_s.len()).max().unwrap_or(0);
    let any = runs().any(|r| r.agent_downtime_s.iter().any(|&d| d > 0.0));
    if agents == 0 || !any {
        return;
    }
    let _ = writeln!(out, "## Unavailability per agent (seconds, mean across seeds)\n");
    strategy_columns_header(out, "agent", a);
    for agent in 0..agents {
        let _ = write!(out, "| {agent} |");
        for s in &a.strategies {
            let values: Vec<f64> = s.runs.iter().filter_map(|r| r.agent_downtime_s.get(agent).copied()).collect();
            let mean = if values.is_empty() { 0.0 } else { values.iter().sum::<f64>() / values.len() as f64 };
            let _ = write!(out, " {mean:.1} |");
        }
        out.push('\n');
    }
    out.push('\n');
}

/// The header of a table with one column per strategy (by key).
fn strategy_columns_header(out: &mut String, first: &str, a: &Analysis<'_>) {
    let _ = write!(out, "| {first} |");
    for k in &a.keys {
        let _ = write!(out, " {k} |");
    }
    out.push_str("\n|---:|");
    for _ in &a.keys {
        out.push_str("---:|");
    }
    out.push('\n');
}

pub(super) fn per_seed_table(
    out: &mut String,
    a: &Analysis<'_>,
    title: &str,
    value: impl Fn(&crate::summary::RunSummary) -> String,
) {
    let _ = writeln!(out, "### {title}\n");
    strategy_columns_header(out, "seed", a);
    // Each strategy's runs by seed, looked up once (not a scan per seed:
    // a million seeds stay linear).
    let by_seed: Vec<std::collections::BTreeMap<u64, &crate::summary::RunSummary>> =
        a.cmp.results.iter().map(|sr| sr.runs.iter().rev().map(|r| (r.seed, r)).collect()).collect();
    for &seed in &a.cmp.seeds {
        let _ = write!(out, "| {seed} |");
        for runs in &by_seed {
            let c = runs.get(&seed).map_or_else(|| "—".to_owned(), |r| value(r));
            let _ = write!(out, " {c} |");
        }
        out.push('\n');
    }
    out.push('\n');
}
