//! The CI regression gate: a committed baseline of a scenario's metrics,
//! and the comparison of a fresh run of the same seeds and strategies
//! against it.
//!
//! Simulated metrics are exact per seed, so the gate has no noise: a change
//! is real. Each metric has a tolerance (relative or absolute) in the
//! direction in which a change is worse ([`tolerance`]); a change beyond
//! it is a regression, a change in the better direction is an improvement,
//! and both are shown. For metrics measured per seed, the gate also states
//! whether the paired difference over the seeds is significant (95%
//! Student-t interval excluding 0).
//!
//! A baseline records what it was made from (tool version, the scenario's
//! content hash, seeds, strategies, BUGGIFY); a baseline made from a
//! different scenario, seeds or strategies is refused with what differs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::report::metrics::{Better, success_rate};
use crate::report::paired::paired;
use crate::report::pooled::Pooled;
use crate::summary::RunSummary;

mod table;

pub use table::markdown;

/// The format tag of a baseline file.
pub const FORMAT: u32 = 1;

/// A committed baseline: `reports/baselines/<scenario>.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Always [`FORMAT`]: a file without it is not a baseline.
    pub rehearsal_baseline: u32,
    /// The rehearsal version that made it.
    pub tool_version: String,
    pub scenario: String,
    /// FNV-1a 64 of the scenario file's bytes (`scenario_file_hash` in
    /// `report.json`): a baseline is of one scenario text. (The files it
    /// names are not in it: a change of theirs shows as changed metrics.)
    pub scenario_hash: String,
    pub seeds: Vec<u64>,
    pub buggify: bool,
    /// By strategy label (`retry=none`), in the scenario's order.
    pub strategies: BTreeMap<String, StrategyBaseline>,
}

/// One strategy's figures in a baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyBaseline {
    /// Over every seed pooled (percentiles from merged histograms); `null`
    /// where undefined (a percentile the sample cannot support).
    pub pooled: BTreeMap<String, Option<f64>>,
    /// Per seed, in `seeds` order: the metrics the paired test uses.
    pub per_seed: BTreeMap<String, Vec<Option<f64>>>,
    /// Per seed: the run's trace hash (equal hashes: the same run).
    pub trace_hashes: Vec<String>,
    /// Runs that broke an invariant.
    pub invariant_failures: u64,
}

/// How far a metric may move in its worse direction before the gate fails.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Tolerance {
    /// A fraction of the baseline's value (0.02 = 2%).
    Relative(f64),
    /// In the metric's own unit (0.005 of a success rate = half a point).
    Absolute(f64),
}

impl std::fmt::Display for Tolerance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tolerance::Relative(x) => write!(f, "{}%", x * 100.0),
            Tolerance::Absolute(x) => write!(f, "±{x}"),
        }
    }
}

/// One gated metric: name, direction, default tolerance, how to read it
/// pooled and per seed.
pub struct GateMetric {
    pub name: &'static str,
    pub better: Better,
    pub tolerance: Tolerance,
    pooled: fn(&Pooled, &[&RunSummary]) -> Option<f64>,
    /// `None`: not measured per seed (no paired test).
    per_seed: Option<fn(&RunSummary) -> Option<f64>>,
}

impl std::fmt::Debug for GateMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GateMetric")
            .field("name", &self.name)
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

fn pooled_latency(p: &Pooled, q: &str) -> Option<f64> {
    p.latency_ms.as_ref().and_then(|l| l.get(q))
}

fn sum(runs: &[&RunSummary], f: impl Fn(&RunSummary) -> f64) -> Option<f64> {
    (!runs.is_empty()).then(|| runs.iter().map(|r| f(r)).sum())
}

/// Every gated metric, in table order.
pub const GATE_METRICS: &[GateMetric] = &[
    GateMetric {
        name: "success_rate",
        better: Better::Higher,
        tolerance: Tolerance::Absolute(0.005),
        pooled: |p, _| p.success_rate,
        per_seed: Some(success_rate),
    },
    GateMetric {
        name: "latency_ms_p50",
        better: Better::Lower,
        tolerance: Tolerance::Relative(0.02),
        pooled: |p, _| pooled_latency(p, "p50"),
        per_seed: None,
    },
    GateMetric {
        name: "latency_ms_p90",
        better: Better::Lower,
        tolerance: Tolerance::Relative(0.02),
        pooled: |p, _| pooled_latency(p, "p90"),
        per_seed: None,
    },
    GateMetric {
        name: "latency_ms_p99",
        better: Better::Lower,
        tolerance: Tolerance::Relative(0.02),
        pooled: |p, _| pooled_latency(p, "p99"),
        per_seed: Some(|r| Some(r.latency_ms.p99)),
    },
    GateMetric {
        name: "latency_ms_mean",
        better: Better::Lower,
        tolerance: Tolerance::Relative(0.02),
        pooled: |p, _| p.latency_ms.as_ref().map(|l| l.mean),
        per_seed: Some(|r| Some(r.latency_ms.mean)),
    },
    GateMetric {
        name: "throughput_per_s",
        better: Better::Higher,
        tolerance: Tolerance::Relative(0.02),
        pooled: |_, runs| sum(runs, |r| r.throughput_per_s).map(|s| s / runs.len() as f64),
        per_seed: Some(|r| Some(r.throughput_per_s)),
    },
    GateMetric {
        name: "cost",
        better: Better::Lower,
        tolerance: Tolerance::Relative(0.02),
        pooled: |_, runs| sum(runs, |r| r.tokens.cost),
        per_seed: Some(|r| Some(r.tokens.cost)),
    },
    GateMetric {
        name: "retries",
        better: Better::Lower,
        tolerance: Tolerance::Relative(0.05),
        pooled: |_, runs| sum(runs, |r| r.calls.retries as f64),
        per_seed: Some(|r| Some(r.calls.retries as f64)),
    },
];

/// The gated metric named `name`.
pub fn gate_metric(name: &str) -> Option<&'static GateMetric> {
    GATE_METRICS.iter().find(|m| m.name == name)
}

/// The names of every gated metric, for messages.
pub fn gate_metric_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = GATE_METRICS.iter().map(|m| m.name).collect();
    names.push("invariant_failures");
    names
}

/// A metric's tolerance: the scenario's `[gate]` entry, else the default.
pub fn tolerance(name: &str, overrides: &BTreeMap<String, Tolerance>) -> Tolerance {
    overrides.get(name).copied().unwrap_or_else(|| gate_metric(name).map_or(Tolerance::Absolute(0.0), |m| m.tolerance))
}

/// What the runs of one strategy give a baseline.
pub fn strategy_baseline(runs: &[&RunSummary], invariant_failures: u64) -> StrategyBaseline {
    let pooled = Pooled::of(runs);
    let mut p = BTreeMap::new();
    let mut per_seed = BTreeMap::new();
    for m in GATE_METRICS {
        p.insert(m.name.to_owned(), (m.pooled)(&pooled, runs).map(round9));
        if let Some(f) = m.per_seed {
            per_seed.insert(m.name.to_owned(), runs.iter().map(|r| f(r).map(round9)).collect());
        }
    }
    StrategyBaseline {
        pooled: p,
        per_seed,
        trace_hashes: runs.iter().map(|r| r.trace_hash.clone()).collect(),
        invariant_failures,
    }
}

/// Rounded to 9 significant decimals, so sums do not carry float noise
/// into a committed file.
fn round9(x: f64) -> f64 {
    if x.is_finite() { libm::round(x * 1e9) / 1e9 } else { x }
}

/// How one metric moved.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Exactly as before.
    Same,
    /// Moved, within tolerance.
    Within,
    /// Moved in the better direction beyond tolerance.
    Improved,
    /// Moved in the worse direction beyond tolerance: the gate fails.
    Regression,
    /// Defined on one side only (e.g. a percentile the sample no longer
    /// supports): shown, not gated.
    Undefined,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Same => "same",
            Verdict::Within => "within tolerance",
            Verdict::Improved => "improved",
            Verdict::Regression => "**regression**",
            Verdict::Undefined => "n/a",
        }
    }
}

/// One row of the gate's table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub metric: String,
    pub strategy: String,
    pub baseline: Option<f64>,
    pub now: Option<f64>,
    pub tolerance: Tolerance,
    pub verdict: Verdict,
    /// Paired over the seeds (now - baseline).
    pub paired: Option<PairedChange>,
}

/// A metric's per-seed change, paired over the seeds.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct PairedChange {
    pub mean_diff: f64,
    /// 95% Student-t interval; `None` with one seed.
    pub ci95: Option<(f64, f64)>,
    /// Whether the interval excludes 0.
    pub significant: bool,
}

/// The gate's result.
#[derive(Clone, Debug, PartialEq)]
pub struct GateResult {
    pub scenario: String,
    pub rows: Vec<Row>,
    /// Runs with the baseline's trace hash, and runs in all.
    pub identical_runs: (usize, usize),
    /// Notes (a different tool version).
    pub notes: Vec<String>,
}

impl GateResult {
    pub fn regressions(&self) -> usize {
        self.rows.iter().filter(|r| r.verdict == Verdict::Regression).count()
    }
}

/// Why a baseline cannot be used for this scenario.
#[derive(Debug, thiserror::Error)]
#[error("the baseline does not match this scenario: {}", .differences.join("; "))]
pub struct Mismatch {
    pub differences: Vec<String>,
}

/// Check that `baseline` was made from `now`'s scenario, seeds, strategies
/// and BUGGIFY setting; say every difference.
pub fn check_compatible(baseline: &Baseline, now: &Baseline) -> Result<Vec<String>, Mismatch> {
    let mut differences = Vec::new();
    if baseline.scenario != now.scenario {
        differences.push(format!("scenario `{}`, now `{}`", baseline.scenario, now.scenario));
    }
    if baseline.scenario_hash != now.scenario_hash {
        differences.push(format!(
            "scenario content hash {}, now {} (the scenario changed: review and run `check --update`)",
            baseline.scenario_hash, now.scenario_hash
        ));
    }
    if baseline.seeds != now.seeds {
        differences.push(format!("seeds {:?}, now {:?}", baseline.seeds, now.seeds));
    }
    let (a, b): (Vec<&String>, Vec<&String>) = (baseline.strategies.keys().collect(), now.strategies.keys().collect());
    if a != b {
        differences.push(format!("strategies {a:?}, now {b:?}"));
    }
    if baseline.buggify != now.buggify {
        differences.push(format!("BUGGIFY {}, now {}", baseline.buggify, now.buggify));
    }
    if !differences.is_empty() {
        return Err(Mismatch { differences });
    }
    let mut notes = Vec::new();
    if baseline.tool_version != now.tool_version {
        notes.push(format!(
            "baseline made by rehearsal {}, this is {}: a change in the simulator shows as changed metrics",
            baseline.tool_version, now.tool_version
        ));
    }
    Ok(notes)
}

/// Compare `now` with `baseline` (compatible: see [`check_compatible`]).
pub fn compare(baseline: &Baseline, now: &Baseline, overrides: &BTreeMap<String, Tolerance>) -> GateResult {
    let mut rows = Vec::new();
    let (mut identical, mut total) = (0, 0);
    for (label, b) in &baseline.strategies {
        let Some(n) = now.strategies.get(label) else { continue };
        total += n.trace_hashes.len();
        identical += b.trace_hashes.iter().zip(&n.trace_hashes).filter(|(x, y)| x == y).count();
        for m in GATE_METRICS {
            let (old, new) = (b.pooled.get(m.name).copied().flatten(), n.pooled.get(m.name).copied().flatten());
            let tolerance = tolerance(m.name, overrides);
            let paired = match (b.per_seed.get(m.name), n.per_seed.get(m.name)) {
                (Some(xs), Some(ys)) => {
                    let pairs: Vec<(f64, f64)> = xs.iter().zip(ys).filter_map(|(x, y)| Some(((*y)?, (*x)?))).collect();
                    paired(&pairs).map(|d| PairedChange {
                        mean_diff: d.mean_diff,
                        ci95: d.ci95.map(|i| (i.low, i.high)),
                        significant: d.excludes_zero(),
                    })
                }
                _ => None,
            };
            rows.push(Row {
                metric: m.name.to_owned(),
                strategy: label.clone(),
                baseline: old,
                now: new,
                tolerance,
                verdict: verdict(old, new, m.better, tolerance),
                paired,
            });
        }
        let tolerance = tolerance("invariant_failures", overrides);
        let (old, new) = (b.invariant_failures as f64, n.invariant_failures as f64);
        rows.push(Row {
            metric: "invariant_failures".to_owned(),
            strategy: label.clone(),
            baseline: Some(old),
            now: Some(new),
            tolerance,
            verdict: verdict(Some(old), Some(new), Better::Lower, tolerance),
            paired: None,
        });
    }
    GateResult { scenario: now.scenario.clone(), rows, identical_runs: (identical, total), notes: Vec::new() }
}

/// How a metric moved from `old` to `new`, given its better direction and
/// tolerance.
pub fn verdict(old: Option<f64>, new: Option<f64>, better: Better, tolerance: Tolerance) -> Verdict {
    let (Some(old), Some(new)) = (old, new) else {
        return if old.is_none() && new.is_none() { Verdict::Same } else { Verdict::Undefined };
    };
    if old == new {
        return Verdict::Same;
    }
    let allowed = match tolerance {
        Tolerance::Relative(r) => r * old.abs(),
        Tolerance::Absolute(a) => a,
    };
    // Positive: moved in the worse direction.
    let worse_by = match better {
        Better::Lower => new - old,
        Better::Higher => old - new,
        Better::Neither => return Verdict::Within,
    };
    if worse_by > allowed {
        Verdict::Regression
    } else if -worse_by > allowed {
        Verdict::Improved
    } else {
        Verdict::Within
    }
}

#[cfg(test)]
mod tests;
