//! `report.json`: the whole comparison (every run) plus, per strategy,
//! summaries across seeds, pooled figures and paired differences against
//! the baseline, in a fixed order so equal input gives equal bytes.
//!
//! The shape is documented in `docs/reports.md`; fields are added, never
//! renamed or removed.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::strategy::Strategy;
use crate::summary::RunSummary;

use super::analysis::{Analysis, ExcludedSeed, WidthRatio};
use super::metrics::METRICS;
use super::paired::{PairedDiff, Verdict};
use super::pooled::Pooled;
use super::provenance::{GIT_COMMIT, TOOL_VERSION};
use super::stats::Summary;
use super::{RunFailure, strategy_label};

#[derive(Serialize)]
struct JsonReport<'a> {
    scenario: &'a str,
    description: &'a str,
    /// rehearsal's version and the git commit it was built from (`null`
    /// when unknown).
    tool_version: &'a str,
    git_commit: Option<&'a str>,
    /// FNV-1a 64 of the scenario as loaded (the journal's), and of the
    /// scenario file's bytes; `null` when not from a file.
    scenario_hash: Option<&'a str>,
    scenario_file_hash: Option<&'a str>,
    /// The command that wrote the report (without `--out`, `--jobs` and
    /// `--resume`, which do not change it).
    command_line: Option<&'a str>,
    seeds: &'a [u64],
    /// Seeds on which every strategy ran: the statistics use these only.
    seeds_used: &'a [u64],
    excluded_seeds: Vec<JsonExcluded<'a>>,
    errors: Vec<JsonFailure<'a>>,
    invariant_failures: Vec<JsonFailure<'a>>,
    buggify: Option<bool>,
    baseline: Option<&'a str>,
    /// Per metric: paired interval width over unpaired (Welch) width across
    /// the non-baseline strategies (how much pairing narrowed it).
    paired_width_ratio: WidthRatios<'a>,
    strategies: Vec<JsonStrategy<'a>>,
}

/// Serialises as a map `metric name -> WidthRatio` in catalogue order;
/// metrics without a ratio are left out.
struct WidthRatios<'a>(&'a Analysis<'a>);

impl Serialize for WidthRatios<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let entries: Vec<(&str, WidthRatio)> =
            METRICS.iter().filter_map(|m| self.0.width_ratio(m.name).map(|r| (m.name, r))).collect();
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (name, r) in &entries {
            map.serialize_entry(name, r)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct JsonExcluded<'a> {
    seed: u64,
    reasons: &'a [String],
}

#[derive(Serialize)]
struct JsonFailure<'a> {
    label: String,
    strategy: &'a Strategy,
    seed: u64,
    reason: &'a str,
    replay: &'a str,
}

#[derive(Serialize)]
struct JsonStrategy<'a> {
    strategy: &'a Strategy,
    label: &'a str,
    key: &'a str,
    runs: &'a [RunSummary],
    summary: MetricSummaries<'a>,
    pooled: &'a Pooled,
    #[serde(skip_serializing_if = "Option::is_none")]
    vs_baseline: Option<JsonVsBaseline<'a>>,
}

#[derive(Serialize)]
struct JsonVsBaseline<'a> {
    baseline: &'a str,
    metrics: PairedMetrics<'a>,
}

/// Serialises as a map `metric name -> Summary` in catalogue order; metrics
/// no run defines are left out.
struct MetricSummaries<'a>(&'a [Option<Summary>]);

impl Serialize for MetricSummaries<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let entries: Vec<(&str, &Summary)> =
            METRICS.iter().zip(self.0).filter_map(|(m, s)| s.as_ref().map(|s| (m.name, s))).collect();
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (name, s) in entries {
            map.serialize_entry(name, s)?;
        }
        map.end()
    }
}

/// One metric's paired difference, flat.
#[derive(Serialize)]
struct JsonPaired {
    n: usize,
    mean_diff: f64,
    ci95_low: Option<f64>,
    ci95_high: Option<f64>,
    ci95_width: Option<f64>,
    excludes_zero: bool,
    verdict: Verdict,
    unpaired_ci95_low: Option<f64>,
    unpaired_ci95_high: Option<f64>,
    unpaired_ci95_width: Option<f64>,
    unpaired_df: Option<f64>,
}

/// Serialises as a map `metric name -> paired difference` in catalogue
/// order; metrics with no paired seed are left out.
struct PairedMetrics<'a>(&'a [Option<PairedDiff>]);

impl Serialize for PairedMetrics<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let entries: Vec<(&str, JsonPaired)> = METRICS
            .iter()
            .zip(self.0)
            .filter_map(|(m, p)| {
                let p = p.as_ref()?;
                Some((
                    m.name,
                    JsonPaired {
                        n: p.n,
                        mean_diff: p.mean_diff,
                        ci95_low: p.ci95.map(|c| c.low),
                        ci95_high: p.ci95.map(|c| c.high),
                        ci95_width: p.ci95.map(|c| c.width()),
                        excludes_zero: p.excludes_zero(),
                        verdict: p.verdict(m.better),
                        unpaired_ci95_low: p.unpaired_ci95.map(|c| c.low),
                        unpaired_ci95_high: p.unpaired_ci95.map(|c| c.high),
                        unpaired_ci95_width: p.unpaired_ci95.map(|c| c.width()),
                        unpaired_df: p.unpaired_df,
                    },
                ))
            })
            .collect();
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (name, p) in &entries {
            map.serialize_entry(name, p)?;
        }
        map.end()
    }
}

fn failures(list: &[RunFailure]) -> Vec<JsonFailure<'_>> {
    list.iter()
        .map(|f| JsonFailure {
            label: strategy_label(&f.strategy),
            strategy: &f.strategy,
            seed: f.seed,
            reason: &f.reason,
            replay: &f.replay,
        })
        .collect()
}

/// Renders `report.json` (pretty-printed, with a trailing newline).
pub fn render(a: &Analysis<'_>) -> Result<String, serde_json::Error> {
    let cmp = a.cmp;
    let baseline = a.baseline_label();
    let strategies = cmp
        .results
        .iter()
        .zip(&a.strategies)
        .enumerate()
        .map(|(i, (sr, st))| JsonStrategy {
            strategy: &sr.strategy,
            label: &a.labels[i],
            key: &a.keys[i],
            runs: &sr.runs,
            summary: MetricSummaries(&st.summaries),
            pooled: &st.pooled,
            vs_baseline: st
                .vs_baseline
                .as_deref()
                .zip(baseline)
                .map(|(p, baseline)| JsonVsBaseline { baseline, metrics: PairedMetrics(p) }),
        })
        .collect();
    let report = JsonReport {
        scenario: &cmp.scenario,
        description: &cmp.description,
        tool_version: TOOL_VERSION,
        git_commit: GIT_COMMIT,
        scenario_hash: cmp.provenance.scenario_hash.as_deref(),
        scenario_file_hash: cmp.provenance.scenario_file_hash.as_deref(),
        command_line: cmp.provenance.command_line.as_deref(),
        seeds: &cmp.seeds,
        seeds_used: &a.seeds_used,
        excluded_seeds: a
            .excluded
            .iter()
            .map(|ExcludedSeed { seed, reasons }| JsonExcluded { seed: *seed, reasons })
            .collect(),
        errors: failures(&cmp.errors),
        invariant_failures: failures(&cmp.invariant_failures),
        buggify: cmp.buggify,
        baseline,
        paired_width_ratio: WidthRatios(a),
        strategies,
    };
    let mut s = serde_json::to_string_pretty(&report)?;
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::sample_comparison;

    fn json(cmp: &crate::report::Comparison) -> (String, serde_json::Value) {
        let text = render(&Analysis::of(cmp)).unwrap();
        let v = serde_json::from_str(&text).unwrap();
        (text, v)
    }

    #[test]
    fn summary_keys_follow_catalogue_order() {
        let (text, v) = json(&sample_comparison());
        let first = &v["strategies"][0];
        assert_eq!(first["label"], "retry=none");
        assert_eq!(first["key"], "S1");
        assert_eq!(first["runs"].as_array().unwrap().len(), 3);
        // Order in the text, not just presence.
        let start = text.find("\"summary\"").unwrap();
        let summary = &text[start..start + text[start..].find("\"pooled\"").unwrap()];
        // Every metric the runs have (these have no virtual agents).
        let positions: Vec<usize> = METRICS
            .iter()
            .filter(|m| !m.name.starts_with("virtual_agents."))
            .map(|m| summary.find(&format!("\"{}\": {{", m.name)).unwrap())
            .collect();
        assert!(!summary.contains("virtual_agents."));
        assert!(positions.windows(2).all(|w| w[0] < w[1]));
        let n = &first["summary"]["latency_ms.p99"]["n"];
        assert_eq!(n, 3);
        // The t interval carries no method field; only a fallback does.
        assert!(first["summary"]["latency_ms.p99"].get("ci95_method").is_none());
    }

    #[test]
    fn pooled_and_vs_baseline_shapes() {
        let (_, v) = json(&sample_comparison());
        assert_eq!(v["baseline"], "retry=none");
        assert_eq!(v["buggify"], false);
        assert_eq!(v["seeds_used"], serde_json::json!([1, 2, 3]));
        assert_eq!(v["excluded_seeds"], serde_json::json!([]));
        assert_eq!(v["tool_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(v["git_commit"].as_str(), GIT_COMMIT);
        // Not from a file: no hashes, no command line (null, not missing).
        for k in ["scenario_hash", "scenario_file_hash", "command_line"] {
            assert!(v[k].is_null() && v.get(k).is_some(), "{k}");
        }
        let s = v["strategies"].as_array().unwrap();
        // Pooled: 300 requests of retry=none, 276 succeeded (90 + 92 + 94).
        let pooled = &s[0]["pooled"];
        assert_eq!(pooled["arrived"], 300);
        assert_eq!(pooled["succeeded"], 276);
        assert_eq!(pooled["failed_by_cause"]["client_timeout"], 24);
        assert!((pooled["success_rate"].as_f64().unwrap() - 0.92).abs() < 1e-12);
        assert!(pooled["success_rate_ci95_low"].as_f64().unwrap() < 0.92);
        assert_eq!(pooled["latency_ms"]["count"], 300);
        // 300 requests: p99 supported, p99.9 not (null, not a number).
        assert!(pooled["latency_ms"]["p99"].is_number());
        assert!(pooled["latency_ms"]["p999"].is_null());
        // The baseline has no vs_baseline; the other strategy does.
        assert!(s[0].get("vs_baseline").is_none());
        let vs = &s[1]["vs_baseline"];
        assert_eq!(vs["baseline"], "retry=none");
        let p99 = &vs["metrics"]["latency_ms.p99"];
        assert_eq!(p99["n"], 3);
        assert_eq!(p99["mean_diff"], -20.0);
        assert_eq!(p99["excludes_zero"], true);
        assert_eq!(p99["verdict"], "better");
        assert_eq!(p99["ci95_width"], 0.0);
        assert!(p99["unpaired_ci95_width"].as_f64().unwrap() > 40.0);
        // -20 on every seed: paired width 0, so the ratio is 0.
        assert_eq!(v["paired_width_ratio"]["latency_ms.p99"]["median"], 0.0);
        assert_eq!(v["paired_width_ratio"]["latency_ms.p99"]["strategies"], 1);
        for m in ["success_rate", "latency_ms.mean", "throughput_per_s", "tokens.cost", "calls.retries"] {
            assert!(vs["metrics"][m]["excludes_zero"].is_boolean(), "{m}");
        }
    }

    #[test]
    fn errors_are_listed_with_replays() {
        let mut cmp = sample_comparison();
        cmp.results[0].runs.retain(|r| r.seed != 2);
        cmp.errors.push(RunFailure {
            strategy: cmp.results[0].strategy.clone(),
            seed: 2,
            reason: "max_events".into(),
            replay: "rehearsal run s.toml --seed 2 --strategy retry=none".into(),
        });
        let (_, v) = json(&cmp);
        assert_eq!(v["seeds"], serde_json::json!([1, 2, 3]));
        assert_eq!(v["seeds_used"], serde_json::json!([1, 3]));
        assert_eq!(v["excluded_seeds"][0]["seed"], 2);
        assert_eq!(v["excluded_seeds"][0]["reasons"][0], "retry=none: max_events");
        let e = &v["errors"][0];
        assert_eq!((e["label"].as_str(), e["seed"].as_u64()), (Some("retry=none"), Some(2)));
        assert_eq!(e["replay"], "rehearsal run s.toml --seed 2 --strategy retry=none");
        // Both strategies' statistics use the same two seeds; retry=fixed
        // keeps its seed-2 run in `runs` (data is never dropped).
        for s in v["strategies"].as_array().unwrap() {
            assert_eq!(s["summary"]["latency_ms.p99"]["n"], 2);
            assert_eq!(s["pooled"]["runs"], 2);
        }
        assert_eq!(v["strategies"][1]["runs"].as_array().unwrap().len(), 3);
    }
}
