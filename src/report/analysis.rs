//! Everything a report shows, computed once from a [`Comparison`]: which
//! seeds the statistics use (those on which every strategy ran), which are
//! excluded and why, per-strategy summaries across seeds, pooled figures,
//! and paired differences against the baseline. The renderers (JSON,
//! Markdown, terminal, charts) only format what is here, so they agree.

use crate::summary::RunSummary;

use super::metrics::{METRICS, Metric};
use super::paired::{PairedDiff, paired};
use super::pooled::Pooled;
use super::proportion::wilson95;
use super::stats::{IntervalMethod, Summary};
use super::{Comparison, strategy_label};

/// A seed left out of every statistic, with why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExcludedSeed {
    pub seed: u64,
    /// One line per strategy that has no run on this seed:
    /// `LABEL: reason` (the run's error, or "no run").
    pub reasons: Vec<String>,
}

/// Paired interval width over unpaired width across strategies (below 1:
/// pairing narrowed the interval).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct WidthRatio {
    /// Strategies with both widths (the baseline and zero widths excluded).
    pub strategies: usize,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// One strategy's share of the analysis.
#[derive(Debug)]
pub struct StrategyAnalysis<'a> {
    /// Its runs on the seeds used, in the order of [`Analysis::seeds_used`].
    pub runs: Vec<&'a RunSummary>,
    /// One summary across seeds per metric of [`METRICS`] (same order).
    pub summaries: Vec<Option<Summary>>,
    pub pooled: Pooled,
    /// Paired differences against the baseline, one per metric of
    /// [`METRICS`]; `None` for the baseline itself.
    pub vs_baseline: Option<Vec<Option<PairedDiff>>>,
}

/// The analysis of a comparison.
#[derive(Debug)]
pub struct Analysis<'a> {
    pub cmp: &'a Comparison,
    /// Strategy labels (`axis=value,...`), in matrix order.
    pub labels: Vec<String>,
    /// Short keys for charts and narrow tables: `S1`, `S2`, ...
    pub keys: Vec<String>,
    /// Index of the baseline strategy; `None` without strategies.
    pub baseline: Option<usize>,
    /// Seeds on which every strategy ran, in the comparison's seed order.
    pub seeds_used: Vec<u64>,
    /// The other seeds, with reasons.
    pub excluded: Vec<ExcludedSeed>,
    pub strategies: Vec<StrategyAnalysis<'a>>,
}

/// The short key of the `i`-th strategy (0-based): `S1`, `S2`, ...
pub fn key(i: usize) -> String {
    format!("S{}", i + 1)
}

impl<'a> Analysis<'a> {
    pub fn of(cmp: &'a Comparison) -> Analysis<'a> {
        let labels: Vec<String> = cmp.results.iter().map(|sr| strategy_label(&sr.strategy)).collect();
        let keys = (0..labels.len()).map(key).collect();
        let baseline = (!cmp.results.is_empty()).then(|| cmp.baseline.min(cmp.results.len() - 1));

        let run_on = |s: usize, seed: u64| cmp.results[s].runs.iter().find(|r| r.seed == seed);
        let mut seeds_used = Vec::new();
        let mut excluded = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for &seed in &cmp.seeds {
            if !seen.insert(seed) {
                continue;
            }
            let reasons: Vec<String> = (0..cmp.results.len())
                .filter(|&s| run_on(s, seed).is_none())
                .map(|s| {
                    let why = cmp
                        .errors
                        .iter()
                        .find(|e| e.seed == seed && e.strategy == cmp.results[s].strategy)
                        .map_or("no run", |e| e.reason.as_str());
                    format!("{}: {why}", labels[s])
                })
                .collect();
            if reasons.is_empty() {
                seeds_used.push(seed);
            } else {
                excluded.push(ExcludedSeed { seed, reasons });
            }
        }

        let runs: Vec<Vec<&RunSummary>> =
            (0..cmp.results.len()).map(|s| seeds_used.iter().filter_map(|&seed| run_on(s, seed)).collect()).collect();
        let strategies = runs
            .iter()
            .enumerate()
            .map(|(s, rs)| {
                let pooled = Pooled::of(rs);
                let summaries = METRICS.iter().map(|m| summarize(m, rs, &pooled)).collect();
                let vs_baseline = baseline
                    .filter(|&b| b != s)
                    .map(|b| METRICS.iter().map(|m| paired_metric(m, rs, &runs[b])).collect());
                StrategyAnalysis { runs: rs.clone(), summaries, pooled, vs_baseline }
            })
            .collect();
        Analysis { cmp, labels, keys, baseline, seeds_used, excluded, strategies }
    }

    /// The summary of metric `name` for strategy `s`.
    pub fn summary(&self, s: usize, name: &str) -> Option<Summary> {
        let i = METRICS.iter().position(|m| m.name == name)?;
        self.strategies[s].summaries[i]
    }

    /// The paired difference of metric `name` for strategy `s` against the
    /// baseline; `None` for the baseline, or without paired seeds.
    pub fn paired(&self, s: usize, name: &str) -> Option<PairedDiff> {
        let i = METRICS.iter().position(|m| m.name == name)?;
        self.strategies[s].vs_baseline.as_ref()?[i]
    }

    /// How much pairing narrowed the interval of metric `name`: paired
    /// width over unpaired (Welch) width, for every non-baseline strategy
    /// where both are defined and the unpaired width is positive; `None`
    /// when there is no such strategy.
    pub fn width_ratio(&self, name: &str) -> Option<WidthRatio> {
        let mut ratios: Vec<f64> = (0..self.strategies.len())
            .filter_map(|s| {
                let p = self.paired(s, name)?;
                let (paired, unpaired) = (p.ci95?.width(), p.unpaired_ci95?.width());
                (unpaired > 0.0).then(|| paired / unpaired)
            })
            .collect();
        if ratios.is_empty() {
            return None;
        }
        ratios.sort_by(f64::total_cmp);
        let n = ratios.len();
        let median = if n % 2 == 1 { ratios[n / 2] } else { (ratios[n / 2 - 1] + ratios[n / 2]) / 2.0 };
        Some(WidthRatio { strategies: n, median, min: ratios[0], max: ratios[n - 1] })
    }

    /// The baseline's label, if there is a baseline.
    pub fn baseline_label(&self) -> Option<&str> {
        self.baseline.map(|b| self.labels[b].as_str())
    }
}

/// Summary of `m` across `runs`. Success rates (proportions) get an
/// interval fit for them: clipped to `[0, 1]`, and when every seed gave
/// exactly 0 or exactly 1 (a zero-width t interval), the Wilson interval
/// of the pooled counts instead.
fn summarize(m: &Metric, runs: &[&RunSummary], pooled: &Pooled) -> Option<Summary> {
    let values: Vec<f64> = runs.iter().filter_map(|r| (m.value)(r)).collect();
    let mut s = Summary::of(&values)?;
    if m.name != "success_rate" {
        return Some(s);
    }
    let all_same = values.iter().all(|&v| v == values[0]);
    if all_same && (values[0] == 0.0 || values[0] == 1.0) {
        if let Some(w) = wilson95(pooled.succeeded, pooled.arrived) {
            s.ci95_low = w.low;
            s.ci95_high = w.high;
            s.ci95_method = IntervalMethod::WilsonPooled;
        }
    } else if s.ci95_low < 0.0 || s.ci95_high > 1.0 {
        s.ci95_low = s.ci95_low.max(0.0);
        s.ci95_high = s.ci95_high.min(1.0);
        s.ci95_method = IntervalMethod::StudentTClipped;
    }
    Some(s)
}

/// Strategy minus baseline on every seed where both define the metric.
/// Both run lists are in the order of the seeds used, so they align.
fn paired_metric(m: &Metric, strategy: &[&RunSummary], baseline: &[&RunSummary]) -> Option<PairedDiff> {
    let pairs: Vec<(f64, f64)> = strategy
        .iter()
        .zip(baseline)
        .filter_map(|(s, b)| {
            debug_assert_eq!(s.seed, b.seed);
            Some(((m.value)(s)?, (m.value)(b)?))
        })
        .collect();
    paired(&pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::RunFailure;
    use crate::report::metrics::Better;
    use crate::report::paired::Verdict;
    use crate::report::test_support::{run, sample_comparison, strategy};

    #[test]
    fn seeds_every_strategy_ran_and_the_rest_with_reasons() {
        let mut cmp = sample_comparison();
        // retry=fixed errored on seed 2; retry=none simply has no seed 3.
        cmp.results[1].runs.retain(|r| r.seed != 2);
        cmp.results[0].runs.retain(|r| r.seed != 3);
        cmp.errors.push(RunFailure {
            strategy: cmp.results[1].strategy.clone(),
            seed: 2,
            reason: "limit max_events reached".into(),
            replay: "rehearsal run x.toml --seed 2 --strategy retry=fixed".into(),
        });
        let a = Analysis::of(&cmp);
        assert_eq!(a.seeds_used, vec![1]);
        assert_eq!(
            a.excluded,
            vec![
                ExcludedSeed { seed: 2, reasons: vec!["retry=fixed: limit max_events reached".into()] },
                ExcludedSeed { seed: 3, reasons: vec!["retry=none: no run".into()] },
            ]
        );
        // Statistics use seed 1 only, for both strategies (n equal).
        assert_eq!(a.summary(0, "latency_ms.p99").unwrap().n, 1);
        assert_eq!(a.summary(1, "latency_ms.p99").unwrap().n, 1);
        assert_eq!(a.strategies[1].pooled.runs, 1);
        assert_eq!(a.strategies[0].runs[0].seed, 1);
    }

    #[test]
    fn paired_against_the_baseline_by_hand() {
        // retry=none (baseline) p99 100, 110, 120; retry=fixed 80, 90, 100:
        // -20 on every seed. Success 90/92/94 vs 96/98/100 %: +6 points.
        let cmp = sample_comparison();
        let a = Analysis::of(&cmp);
        assert_eq!(a.baseline, Some(0));
        assert!(a.strategies[0].vs_baseline.is_none());
        let p99 = a.paired(1, "latency_ms.p99").unwrap();
        assert_eq!(p99.n, 3);
        assert!((p99.mean_diff + 20.0).abs() < 1e-9);
        assert_eq!(p99.verdict(Better::Lower), Verdict::Better);
        let sr = a.paired(1, "success_rate").unwrap();
        assert!((sr.mean_diff - 0.06).abs() < 1e-12);
        assert_eq!(sr.verdict(Better::Higher), Verdict::Better);
        // The unpaired interval of the same difference is far wider: the
        // seeds' own spread (sd 10 ms) is in it.
        let u = p99.unpaired_ci95.unwrap();
        assert!(u.low < -20.0 - 20.0 && u.high > -20.0 + 20.0, "{u:?}");
        assert!(!u.excludes_zero(0.0));
        // Another baseline flips the signs.
        let mut cmp = sample_comparison();
        cmp.baseline = 1;
        let b = Analysis::of(&cmp);
        assert_eq!(b.baseline_label(), Some("retry=fixed"));
        assert_eq!(b.paired(0, "latency_ms.p99").unwrap().verdict(Better::Lower), Verdict::Worse);
    }

    #[test]
    fn width_ratios_by_hand() {
        // Three strategies against a baseline on three seeds. Baseline 100,
        // 200, 300; S2 92, 189, 290 (paired width 2 * 3.7946 = 7.5892, Welch
        // width 2 * t(0.975, 3.9996) * sqrt((9802.333 + 10000) / 3)); S3 equal
        // to the baseline plus 5 on every seed (paired width 0, Welch width
        // positive: ratio 0).
        let s = |v: &str| strategy(&[("retry", v)]);
        let mk = |st: &crate::strategy::Strategy, p99s: [f64; 3]| crate::report::StrategyRuns {
            runs: (0..3).map(|i| run(st, i as u64 + 1, p99s[i], 90)).collect(),
            strategy: st.clone(),
        };
        let cmp = Comparison {
            seeds: vec![1, 2, 3],
            results: vec![
                mk(&s("none"), [100.0, 200.0, 300.0]),
                mk(&s("fixed"), [92.0, 189.0, 290.0]),
                mk(&s("exponential"), [105.0, 205.0, 305.0]),
            ],
            ..Default::default()
        };
        let a = Analysis::of(&cmp);
        let welch = 2.0
            * crate::report::stats::t_quantile(0.975, 3.999_601_479_318_642_7)
            * ((9_802.333_333_333_334 + 10_000.0) / 3.0_f64).sqrt();
        let r = a.width_ratio("latency_ms.p99").unwrap();
        assert_eq!(r.strategies, 2);
        assert_eq!(r.min, 0.0);
        assert!((r.max - 7.589_166 / welch).abs() < 1e-5, "{r:?} vs {}", 7.589_166 / welch);
        assert!((r.median - r.max / 2.0).abs() < 1e-12);
        // Nothing varies: no ratio.
        assert_eq!(a.width_ratio("calls.llm"), None);
    }

    #[test]
    fn success_rate_of_all_ones_gets_a_wilson_interval() {
        let s = strategy(&[("retry", "fixed")]);
        let mut cmp = sample_comparison();
        cmp.results.truncate(1);
        cmp.results[0].strategy = s.clone();
        cmp.results[0].runs = (1..=3).map(|seed| run(&s, seed, 50.0, 100)).collect();
        let a = Analysis::of(&cmp);
        let sr = a.summary(0, "success_rate").unwrap();
        assert_eq!(sr.mean, 1.0);
        assert_eq!(sr.ci95_method, IntervalMethod::WilsonPooled);
        // 300 of 300: Wilson low = 300 / (300 + z²) = 0.98736.
        assert!((sr.ci95_low - 300.0 / (300.0 + 1.959_964_f64.powi(2))).abs() < 1e-5, "{sr:?}");
        assert_eq!(sr.ci95_high, 1.0);
        // Near 1 but varying: the t interval, clipped to [0, 1].
        let mut cmp = sample_comparison();
        cmp.results[1].runs[0].requests.succeeded = 80;
        let sr = Analysis::of(&cmp).summary(1, "success_rate").unwrap();
        assert_eq!(sr.ci95_method, IntervalMethod::StudentTClipped);
        assert_eq!(sr.ci95_high, 1.0);
    }
}
