//! Comparison reports: every strategy combination run over the same seeds,
//! written as `report.json` (machine-readable), `report.md` (for humans and
//! CI summaries), SVG charts and `index.html` (one self-contained page:
//! the tables, the charts inline, the scenario and where it all came from).
//!
//! One job per module: [`stats`] (mean, standard deviation, Student-t
//! intervals), [`proportion`] (Wilson intervals for success rates),
//! [`pooled`] (histograms merged across seeds), [`paired`] (differences
//! against the baseline, seed by seed), [`metrics`] (which metrics, which
//! direction is better), [`analysis`] (all of it computed once for a
//! comparison), [`breakdown`] (per service and per step), [`provenance`]
//! (version, commit, scenario hashes, command line), [`rows`] (table rows
//! `report.md` and `index.html` share), [`json`], [`markdown`], [`html`],
//! [`terminal`], [`chart`] (renderers to strings), [`atomic`] (crash-safe
//! file replacement), [`set`] (a report set swapped in as a whole) and
//! [`error`].
//!
//! What each figure means is documented for users in `docs/reports.md`.

pub mod analysis;
pub mod atomic;
pub mod breakdown;
pub mod chart;
pub mod error;
pub mod format;
pub mod html;
pub mod json;
pub mod markdown;
pub mod metrics;
pub mod paired;
pub mod pooled;
pub mod proportion;
pub mod provenance;
pub mod rows;
pub mod set;
pub mod stats;
pub mod terminal;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::strategy::Strategy;
use crate::summary::RunSummary;

pub use analysis::Analysis;
pub use atomic::write_atomic;
pub use error::ReportError;
pub use provenance::Provenance;
pub use stats::Summary;

/// A finished comparison: every strategy run over the same seeds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub scenario: String,
    pub description: String,
    pub seeds: Vec<u64>,
    /// One entry per strategy combination, in matrix order.
    pub results: Vec<StrategyRuns>,
    /// Scheduled fault windows, shaded in the time charts.
    #[serde(default)]
    pub fault_windows: Vec<FaultWindow>,
    /// Runs that stopped with an error (a limit hit, ...): they have no
    /// summary, and their seeds are left out of every statistic.
    #[serde(default)]
    pub errors: Vec<RunFailure>,
    /// Runs that finished but broke an invariant. Their summaries are in
    /// `results` and in the statistics (they are data, not missing data).
    #[serde(default)]
    pub invariant_failures: Vec<RunFailure>,
    /// Index into `results` of the baseline of paired comparisons.
    #[serde(default)]
    pub baseline: usize,
    /// Whether BUGGIFY fault points were on in the runs (`None`: unknown).
    #[serde(default)]
    pub buggify: Option<bool>,
    /// The scenario file and command line the comparison came from.
    #[serde(default)]
    pub provenance: Provenance,
}

/// A run that failed: which, why, and the command that replays it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFailure {
    pub strategy: Strategy,
    pub seed: u64,
    pub reason: String,
    pub replay: String,
}

/// A scheduled fault's span of simulated time (crashes are instants:
/// `end_s == start_s`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultWindow {
    pub start_s: f64,
    pub end_s: f64,
    /// What it was, e.g. `partition`, `brownout planner`, `crash node 2`.
    pub label: String,
}

/// The runs of one strategy combination, in seed order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StrategyRuns {
    pub strategy: Strategy,
    pub runs: Vec<RunSummary>,
}

/// Where [`write_reports`] put each file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportPaths {
    pub json: PathBuf,
    pub markdown: PathBuf,
    /// `latency.svg`, `throughput.svg`, `success.svg`, in that order.
    pub charts: Vec<PathBuf>,
    /// `index.html`: the page holding it all.
    pub html: PathBuf,
}

/// File names inside the output directory.
pub const JSON_FILE: &str = "report.json";
pub const MARKDOWN_FILE: &str = "report.md";
pub const LATENCY_CHART: &str = "latency.svg";
pub const THROUGHPUT_CHART: &str = "throughput.svg";
pub const SUCCESS_CHART: &str = "success.svg";
pub const HTML_FILE: &str = "index.html";

/// The report files of a set, in the order [`render_reports`] gives them.
pub const REPORT_FILES: [&str; 6] =
    [JSON_FILE, MARKDOWN_FILE, LATENCY_CHART, THROUGHPUT_CHART, SUCCESS_CHART, HTML_FILE];

impl ReportPaths {
    /// Where the files of a set written into `out_dir` are.
    pub fn in_dir(out_dir: &Path) -> ReportPaths {
        ReportPaths {
            json: out_dir.join(JSON_FILE),
            markdown: out_dir.join(MARKDOWN_FILE),
            charts: [LATENCY_CHART, THROUGHPUT_CHART, SUCCESS_CHART].iter().map(|c| out_dir.join(c)).collect(),
            html: out_dir.join(HTML_FILE),
        }
    }
}

/// Renders every report of `cmp`: (file name, content), in the order of
/// [`REPORT_FILES`]. `out_dir` only names files in errors. Identical input
/// gives byte-identical files.
pub fn render_reports(cmp: &Comparison, out_dir: &Path) -> Result<Vec<(&'static str, String)>, ReportError> {
    let analysis = Analysis::of(cmp);
    let json = json::render(&analysis).map_err(|source| ReportError::Json { path: out_dir.join(JSON_FILE), source })?;
    let md = markdown::render(&analysis, &[LATENCY_CHART, THROUGHPUT_CHART, SUCCESS_CHART]);
    let mut files = vec![(JSON_FILE, json), (MARKDOWN_FILE, md)];
    type Render = fn(&Analysis<'_>) -> Result<String, String>;
    let charts: [(&str, Render); 3] =
        [(LATENCY_CHART, chart::latency), (THROUGHPUT_CHART, chart::throughput), (SUCCESS_CHART, chart::success)];
    for (name, render) in charts {
        let svg = render(&analysis).map_err(|message| ReportError::Chart { path: out_dir.join(name), message })?;
        files.push((name, svg));
    }
    let charts: Vec<(&str, &str)> = files[2..].iter().map(|(n, svg)| (*n, svg.as_str())).collect();
    let page = html::render(&analysis, &charts);
    files.push((HTML_FILE, page));
    Ok(files)
}

/// Writes every report for `cmp` into `out_dir` (created if missing) as a
/// set ([`set`]): everything is rendered first, then written into a staging
/// directory and swapped in, so a rendering error or a crash leaves the
/// previous set whole. The journal in `out_dir` is carried over.
pub fn write_reports(cmp: &Comparison, out_dir: &Path) -> Result<ReportPaths, ReportError> {
    let dir = set::ReportDir::prepare(out_dir)?;
    write_reports_into(cmp, dir, out_dir)
}

/// [`write_reports`] into a directory already prepared (before the runs, so
/// a bad `--out` is found before any run starts). `shown` is `out_dir` as
/// the user named it, for the paths returned.
pub fn write_reports_into(cmp: &Comparison, dir: set::ReportDir, shown: &Path) -> Result<ReportPaths, ReportError> {
    let files = match render_reports(cmp, shown) {
        Ok(files) => files,
        Err(e) => {
            dir.abandon();
            return Err(e);
        }
    };
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, c)| (*n, c.as_bytes())).collect();
    dir.commit(&files, &[crate::journal::JOURNAL_FILE])?;
    Ok(ReportPaths::in_dir(shown))
}

/// A short name for a strategy: `axis=value` pairs in axis order, joined by
/// commas (`retry=fixed,supervision=one_for_one`); `default` when empty.
pub fn strategy_label(s: &Strategy) -> String {
    if s.is_empty() {
        return "default".to_owned();
    }
    s.iter().map(|(axis, value)| format!("{axis}={value}")).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::{Comparison, FaultWindow, StrategyRuns};
    use crate::hist;
    use crate::strategy::Strategy;
    use crate::summary::{
        CallCounts, Histograms, LatencyMs, RequestCounts, RunSummary, SideEffects, SupervisionCounts, TimelineInterval,
        TokenCounts,
    };

    /// A fresh directory under the system temp dir, removed on drop.
    #[derive(Debug)]
    pub struct TempDir(tempfile::TempDir);

    impl TempDir {
        pub fn new(tag: &str) -> TempDir {
            let dir = tempfile::Builder::new().prefix(&format!("rehearsal-report-{tag}-")).tempdir().unwrap();
            TempDir(dir)
        }

        pub fn path(&self) -> &Path {
            self.0.path()
        }
    }

    pub fn strategy(pairs: &[(&str, &str)]) -> Strategy {
        pairs.iter().map(|&(a, v)| (a.to_owned(), v.to_owned())).collect()
    }

    /// One hand-built run. `p99` in ms, `succeeded` of 100 arrived. The
    /// latency fields are hand-set; the histograms hold 100 requests at
    /// `p99 * k / 99` ms (k = 1..=99) and one at `2 * p99`, the fastest
    /// `succeeded` of them succeeded (failures are the slow ones, as
    /// timeouts are). The timeline has five 2 s intervals.
    pub fn run(strategy: &Strategy, seed: u64, p99: f64, succeeded: u64) -> RunSummary {
        let failed = 100 - succeeded;
        let (mut all, mut ok, mut bad) =
            (hist::new_latency_histogram(), hist::new_latency_histogram(), hist::new_latency_histogram());
        for k in 1..=100u64 {
            let ms = if k == 100 { 2.0 * p99 } else { p99 * k as f64 / 99.0 };
            let ns = (ms * 1e6) as u64;
            hist::record_ns(&mut all, ns);
            hist::record_ns(if k <= succeeded { &mut ok } else { &mut bad }, ns);
        }
        let mut failed_by_cause = BTreeMap::new();
        if failed > 0 {
            failed_by_cause.insert("client_timeout".to_owned(), failed);
        }
        let timeline = (0..5u64)
            .map(|i| {
                let ok = succeeded / 5 + u64::from(i < succeeded % 5);
                TimelineInterval { t_s: 2.0 * i as f64, offered: 20, succeeded: ok, failed: 20 - ok, in_system: 1.5 }
            })
            .collect();
        RunSummary {
            scenario: "sample".to_owned(),
            seed,
            strategy: strategy.clone(),
            trace_hash: format!("{seed:016x}"),
            events: 1000 + seed,
            sim_time_s: 10.0,
            requests: RequestCounts { arrived: 100, succeeded, failed, in_flight: 0, failed_by_cause },
            latency_ms: LatencyMs {
                p50: p99 / 4.0,
                p90: p99 / 2.0,
                p99,
                p999: p99 * 1.5,
                max: p99 * 2.0,
                mean: p99 / 3.0,
                count: 100,
            },
            latency_ms_succeeded: hist::latency_ms(&ok),
            latency_ms_failed: hist::latency_ms(&bad),
            histograms: Histograms {
                latency_us: hist::encode(&all),
                latency_us_succeeded: hist::encode(&ok),
                latency_us_failed: hist::encode(&bad),
            },
            timeline,
            arrival_rate_per_s: 10.0,
            observed_s: 10.0,
            cost_per_succeeded_request: (succeeded > 0).then(|| 0.5 / succeeded as f64),
            throughput_per_s: succeeded as f64 / 10.0,
            calls: CallCounts {
                llm: 200,
                tool: 50 + seed,
                retries: 100 - succeeded,
                errors: 2 * (100 - succeeded),
                timeouts: 1,
                rate_limited: 0,
            },
            tokens: TokenCounts { input: 10_000, output: 2_000 + seed, cost: 0.5 },
            dropped_messages: seed % 2,
            late_replies: 0,
            throughput_timeline: vec![8, 10, 12, (succeeded % 7) as u32, 9],
            supervision: SupervisionCounts { crashes: 2, restarts: 2, lost_to_crash: seed, ..Default::default() },
            buggify_fired: 0,
            side_effects: SideEffects { performed: 50, duplicates: seed % 2 },
            agent_downtime_s: vec![0.0, seed as f64],
            ..RunSummary::default()
        }
    }

    /// Two strategies x three seeds. `retry=none`: p99 100/110/120 ms,
    /// 90/92/94 succeeded; `retry=fixed`: p99 80/90/100, 96/98/100.
    pub fn sample_comparison() -> Comparison {
        let none = strategy(&[("retry", "none")]);
        let fixed = strategy(&[("retry", "fixed")]);
        Comparison {
            scenario: "sample".to_owned(),
            description: "Two retry policies under a flaky LLM.".to_owned(),
            seeds: vec![1, 2, 3],
            results: vec![
                StrategyRuns {
                    runs: vec![run(&none, 1, 100.0, 90), run(&none, 2, 110.0, 92), run(&none, 3, 120.0, 94)],
                    strategy: none,
                },
                StrategyRuns {
                    runs: vec![run(&fixed, 1, 80.0, 96), run(&fixed, 2, 90.0, 98), run(&fixed, 3, 100.0, 100)],
                    strategy: fixed,
                },
            ],
            fault_windows: vec![FaultWindow { start_s: 1.0, end_s: 3.0, label: "partition".into() }],
            buggify: Some(false),
            ..Comparison::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{TempDir, sample_comparison, strategy};
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(strategy_label(&strategy(&[("retry", "none")])), "retry=none");
        assert_eq!(
            strategy_label(&strategy(&[("supervision", "one_for_one"), ("retry", "fixed")])),
            "retry=fixed,supervision=one_for_one"
        );
        assert_eq!(strategy_label(&Strategy::new()), "default");
    }

    #[test]
    fn writes_all_reports() {
        let dir = TempDir::new("write");
        let out = dir.path().join("nested").join("out");
        let cmp = sample_comparison();
        let paths = write_reports(&cmp, &out).unwrap();

        assert_eq!(paths.json, out.join("report.json"));
        assert_eq!(paths.markdown, out.join("report.md"));
        assert_eq!(paths.charts.len(), 3);

        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&paths.json).unwrap()).unwrap();
        assert_eq!(v["scenario"], "sample");
        assert_eq!(v["seeds"], serde_json::json!([1, 2, 3]));
        let s = &v["strategies"];
        assert_eq!(s.as_array().unwrap().len(), 2);
        assert_eq!(s[0]["label"], "retry=none");
        assert_eq!(s[1]["strategy"]["retry"], "fixed");
        let mean = |i: usize, m: &str| s[i]["summary"][m]["mean"].as_f64().unwrap();
        assert_eq!(mean(0, "latency_ms.p99"), 110.0);
        assert_eq!(mean(1, "latency_ms.p99"), 90.0);
        assert_eq!(mean(0, "requests.succeeded"), 92.0);
        assert!((mean(1, "success_rate") - 0.98).abs() < 1e-12);
        // sd of 100,110,120 is 10; t(0.975, 2) = 4.303; half width 4.303*10/sqrt(3).
        let low = s[0]["summary"]["latency_ms.p99"]["ci95_low"].as_f64().unwrap();
        assert!((low - (110.0 - 4.302_653 * 10.0 / 3f64.sqrt())).abs() < 1e-4);
        // Runs round-trip through the RunSummary contract.
        let run0: RunSummary = serde_json::from_value(s[0]["runs"][0].clone()).unwrap();
        assert_eq!(run0, cmp.results[0].runs[0]);

        let md = std::fs::read_to_string(&paths.markdown).unwrap();
        for sr in &cmp.results {
            assert!(md.contains(&strategy_label(&sr.strategy)));
        }
        for chart in &paths.charts {
            let svg = std::fs::read_to_string(chart).unwrap();
            assert!(svg.starts_with("<svg"), "{}", chart.display());
            assert!(svg.contains("retry=none") && svg.contains("retry=fixed"));
            // The page holds each chart's markup, as written.
            assert!(std::fs::read_to_string(&paths.html).unwrap().contains(svg.trim_end()));
        }
        assert_eq!(paths.html, out.join("index.html"));
        let names: Vec<String> = {
            let mut v: Vec<String> = std::fs::read_dir(&out)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let mut expected: Vec<&str> = REPORT_FILES.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected);
    }

    #[test]
    fn output_is_deterministic() {
        let dir = TempDir::new("determinism");
        let cmp = sample_comparison();
        let a = write_reports(&cmp, &dir.path().join("a")).unwrap();
        let b = write_reports(&cmp, &dir.path().join("b")).unwrap();
        let files = |p: &ReportPaths| {
            let mut v = vec![p.json.clone(), p.markdown.clone()];
            v.extend(p.charts.iter().cloned());
            v.push(p.html.clone());
            v
        };
        assert_eq!(files(&a).len(), REPORT_FILES.len());
        for (x, y) in files(&a).iter().zip(files(&b).iter()) {
            assert_eq!(std::fs::read(x).unwrap(), std::fs::read(y).unwrap(), "{}", x.display());
        }
        // Rewriting in place keeps the bytes too.
        let before = std::fs::read(&a.json).unwrap();
        write_reports(&cmp, &dir.path().join("a")).unwrap();
        assert_eq!(std::fs::read(&a.json).unwrap(), before);
    }

    #[test]
    fn degenerate_comparisons_still_render() {
        let dir = TempDir::new("degenerate");
        // No strategies at all.
        let empty = Comparison { scenario: "empty".into(), ..Comparison::default() };
        write_reports(&empty, &dir.path().join("empty")).unwrap();
        // One seed, one strategy, nothing arrived, empty timeline.
        let s = strategy(&[("retry", "none")]);
        let mut r = test_support::run(&s, 7, 0.0, 0);
        r.requests = Default::default();
        r.latency_ms = Default::default();
        r.latency_ms_succeeded = None;
        r.latency_ms_failed = None;
        r.histograms = Default::default();
        r.timeline.clear();
        r.throughput_timeline.clear();
        let one = Comparison {
            scenario: "one".into(),
            description: "single".into(),
            seeds: vec![7],
            results: vec![StrategyRuns { strategy: s, runs: vec![r] }],
            ..Comparison::default()
        };
        let p = write_reports(&one, &dir.path().join("one")).unwrap();
        let md = std::fs::read_to_string(&p.markdown).unwrap();
        assert!(md.contains("n=1"), "{md}");
    }

    #[test]
    fn unwritable_directory_names_the_path() {
        let dir = TempDir::new("unwritable");
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        let e = write_reports(&sample_comparison(), &file.join("sub")).unwrap_err();
        assert!(matches!(e, ReportError::CreateDir { .. }));
        assert!(e.is_bad_input());
        assert_eq!(e.path(), file.join("sub"));
    }
}
