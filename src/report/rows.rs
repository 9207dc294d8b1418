//! Rows of the tables `report.md` and `index.html` share, as plain-text
//! cells: each renderer escapes and lays them out its own way, and both
//! show the same numbers.

use std::collections::BTreeSet;

use super::analysis::{Analysis, StrategyAnalysis};
use super::format::{decimals, fixed, percent, percentile_cell, signed, verdict_cell};
use super::metrics::{Metric, metric};
use super::paired::{Interval, Verdict};
use super::stats::Summary;

/// Metrics of the "versus baseline" tables, in order.
pub const PAIRED_SHOWN: &[&str] = &[
    "success_rate",
    "latency_ms.mean",
    "latency_ms.p50",
    "latency_ms.p99",
    "throughput_per_s",
    "requests.failed",
    "calls.retries",
    "tokens.cost",
    "cost_per_succeeded_request",
];

/// The overview's columns.
pub const OVERVIEW_HEADER: [&str; 9] = [
    "key",
    "seeds",
    "requests",
    "p50 pooled (ms)",
    "p99 pooled (ms)",
    "p99.9 pooled (ms)",
    "mean of per-seed p99 (ms) [95% CI]",
    "success pooled [Wilson 95%]",
    "throughput/s, mean [95% CI]",
];

/// The overview, one row per strategy: pooled percentiles next to means
/// across seeds (columns of [`OVERVIEW_HEADER`]).
pub fn overview(a: &Analysis<'_>) -> Vec<[String; 9]> {
    let lat = |s: &StrategyAnalysis<'_>| s.pooled.latency_ms;
    let d_lat = decimals(a.strategies.iter().filter_map(lat).map(|l| l.max));
    let p99s: Vec<Option<Summary>> = (0..a.strategies.len()).map(|i| a.summary(i, "latency_ms.p99")).collect();
    let d_p99 = decimals(p99s.iter().flatten().map(|s| s.ci95_high));
    let thr: Vec<Option<Summary>> = (0..a.strategies.len()).map(|i| a.summary(i, "throughput_per_s")).collect();
    let d_thr = decimals(thr.iter().flatten().map(|s| s.ci95_high));
    a.strategies
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let l = lat(s);
            let p = &s.pooled;
            let success = match (p.success_rate, p.success_rate_ci95_low, p.success_rate_ci95_high) {
                (Some(p), Some(lo), Some(hi)) => format!("{} [{}, {}]", percent(p, 2), percent(lo, 2), percent(hi, 2)),
                _ => "—".to_owned(),
            };
            [
                a.keys[i].clone(),
                s.runs.len().to_string(),
                p.arrived.to_string(),
                percentile_cell(l.as_ref(), "p50", 0.50, d_lat),
                percentile_cell(l.as_ref(), "p99", 0.99, d_lat),
                percentile_cell(l.as_ref(), "p999", 0.999, d_lat),
                mean_ci(p99s[i], d_p99),
                success,
                mean_ci(thr[i], d_thr),
            ]
        })
        .collect()
}

/// A mean with its 95% interval (`12.3 [10.1, 14.5]`), `(n=1)` without one.
pub fn mean_ci(s: Option<Summary>, d: usize) -> String {
    match s {
        None => "—".to_owned(),
        Some(s) if s.has_interval() => {
            format!("{} [{}, {}]", fixed(s.mean, d), fixed(s.ci95_low, d), fixed(s.ci95_high, d))
        }
        Some(s) => format!("{} (n=1)", fixed(s.mean, d)),
    }
}

/// The columns of a strategy's paired differences against the baseline.
pub const PAIRED_HEADER: [&str; 6] =
    ["metric", "difference", "95% CI (paired)", "verdict", "CI width paired", "CI width unpaired"];

/// One metric's paired difference: the cells of [`PAIRED_HEADER`] and the
/// verdict they show.
#[derive(Clone, Debug, PartialEq)]
pub struct PairedRow {
    pub cells: [String; 6],
    pub verdict: Verdict,
}

/// Strategy `i` minus the baseline, per metric of [`PAIRED_SHOWN`] that
/// has paired seeds; empty for the baseline.
pub fn paired(a: &Analysis<'_>, i: usize) -> Vec<PairedRow> {
    PAIRED_SHOWN
        .iter()
        .filter_map(|name| {
            let (m, p) = (metric(name)?, a.paired(i, name)?);
            let d = decimals([p.mean_diff.abs(), p.ci95.map_or(0.0, |c| c.low.abs().max(c.high.abs()))]);
            let ci =
                p.ci95.map_or_else(|| "—".to_owned(), |c| format!("[{}, {}]", signed(c.low, d), signed(c.high, d)));
            let width = |c: Option<Interval>| c.map_or_else(|| "—".to_owned(), |c| fixed(c.width(), d));
            let verdict = p.verdict(m.better);
            Some(PairedRow {
                cells: [
                    heading(m),
                    signed(p.mean_diff, d),
                    ci,
                    verdict_cell(verdict).to_owned(),
                    width(p.ci95),
                    width(p.unpaired_ci95),
                ],
                verdict,
            })
        })
        .collect()
}

/// Failure causes any strategy's pooled requests have, sorted.
pub fn causes<'a>(a: &'a Analysis<'_>) -> Vec<&'a str> {
    let set: BTreeSet<&str> =
        a.strategies.iter().flat_map(|s| s.pooled.failed_by_cause.keys().map(String::as_str)).collect();
    set.into_iter().collect()
}

/// Pooled request counts of strategy `i`: key, arrived, succeeded, failed,
/// in flight, then the failures of each of `causes`.
pub fn outcome(a: &Analysis<'_>, i: usize, causes: &[&str]) -> Vec<String> {
    let p = &a.strategies[i].pooled;
    let mut row = vec![
        a.keys[i].clone(),
        p.arrived.to_string(),
        p.succeeded.to_string(),
        p.failed.to_string(),
        p.in_flight.to_string(),
    ];
    row.extend(causes.iter().map(|c| p.failed_by_cause.get(*c).copied().unwrap_or(0).to_string()));
    row
}

/// A metric's name with its unit: `latency_ms.p99 (ms)`.
pub fn heading(m: &Metric) -> String {
    if m.unit.is_empty() { m.name.to_owned() } else { format!("{} ({})", m.name, m.unit) }
}
