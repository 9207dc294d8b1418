//! Pooled figures of one strategy: every run's latency histogram merged
//! into one, and every run's request counts summed. A pooled percentile is
//! a percentile of all the requests of all the seeds; it is never an
//! average of per-seed percentiles (that is a different, and for the tail
//! usually smaller, number, which reports call "mean of per-seed p99").

use std::collections::BTreeMap;

use serde::Serialize;

use crate::hist::{self, LatencyHistogram};
use crate::summary::{LatencyMs, RunSummary};

use super::proportion::{ProportionInterval, wilson95};

/// The percentiles reports show, with their names in `report.json`.
pub const QUANTILES: [(&str, f64); 4] = [("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p999", 0.999)];

/// Percentiles of a pooled histogram in milliseconds. A percentile the
/// sample cannot support ([`hist::supports_quantile`] false: fewer than
/// one request beyond it, e.g. p99.9 of 200 requests) is `None` (`null`
/// in JSON), never the sample's top posing as a percentile.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PooledLatency {
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
    pub max: f64,
    pub mean: f64,
    pub count: u64,
}

impl PooledLatency {
    /// From a histogram; `None` when it is empty.
    pub fn of(h: &LatencyHistogram) -> Option<PooledLatency> {
        let l: LatencyMs = hist::latency_ms(h)?;
        let keep = |q: f64, v: f64| hist::supports_quantile(l.count, q).then_some(v);
        Some(PooledLatency {
            p50: keep(0.50, l.p50),
            p90: keep(0.90, l.p90),
            p99: keep(0.99, l.p99),
            p999: keep(0.999, l.p999),
            max: l.max,
            mean: l.mean,
            count: l.count,
        })
    }

    /// The percentile named as in [`QUANTILES`] (`p50`, ..., `p999`).
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "p50" => self.p50,
            "p90" => self.p90,
            "p99" => self.p99,
            "p999" => self.p999,
            _ => None,
        }
    }
}

/// One strategy's runs pooled.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pooled {
    /// Runs pooled (one per seed used).
    pub runs: usize,
    /// Request counts summed over the runs.
    pub arrived: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub in_flight: u64,
    pub failed_by_cause: BTreeMap<String, u64>,
    /// `succeeded / arrived` over the pooled counts; `null` when nothing
    /// arrived.
    pub success_rate: Option<f64>,
    /// Wilson score 95% interval of the pooled success rate.
    pub success_rate_ci95_low: Option<f64>,
    pub success_rate_ci95_high: Option<f64>,
    /// Every ended request (`null` when none ended or a histogram is missing).
    pub latency_ms: Option<PooledLatency>,
    /// Succeeded requests only.
    pub latency_ms_succeeded: Option<PooledLatency>,
    /// Failed requests only.
    pub latency_ms_failed: Option<PooledLatency>,
    /// Runs whose histograms could not be read (absent or malformed) while
    /// their counts say they had data. Any such run makes the affected
    /// pooled latency `null` rather than a pool of only some seeds.
    pub histograms_missing: usize,
    /// The merged histograms themselves, for charts (not serialised).
    #[serde(skip)]
    pub histogram: Option<LatencyHistogram>,
}

impl Pooled {
    /// Pools `runs`.
    pub fn of(runs: &[&RunSummary]) -> Pooled {
        let mut failed_by_cause = BTreeMap::new();
        let (mut arrived, mut succeeded, mut failed, mut in_flight) = (0, 0, 0, 0);
        for r in runs {
            arrived += r.requests.arrived;
            succeeded += r.requests.succeeded;
            failed += r.requests.failed;
            in_flight += r.requests.in_flight;
            for (cause, n) in &r.requests.failed_by_cause {
                *failed_by_cause.entry(cause.clone()).or_insert(0) += n;
            }
        }
        let success_rate = (arrived > 0).then(|| succeeded as f64 / arrived as f64);
        let wilson: Option<ProportionInterval> = wilson95(succeeded, arrived);

        let mut missing = vec![false; runs.len()];
        let mut pool = |text: fn(&RunSummary) -> &str, count: fn(&RunSummary) -> u64| {
            let mut merged = hist::new_latency_histogram();
            let mut complete = true;
            for (i, r) in runs.iter().enumerate() {
                match read(text(r), count(r)) {
                    Some(h) => hist::merge(&mut merged, &h),
                    None if count(r) == 0 => {}
                    None => {
                        complete = false;
                        missing[i] = true;
                    }
                }
            }
            complete.then_some(merged)
        };
        let all = pool(|r| &r.histograms.latency_us, |r| r.latency_ms.count);
        let ok = pool(|r| &r.histograms.latency_us_succeeded, |r| r.latency_ms_succeeded.map_or(0, |l| l.count));
        let bad = pool(|r| &r.histograms.latency_us_failed, |r| r.latency_ms_failed.map_or(0, |l| l.count));
        let of = |h: &Option<LatencyHistogram>| h.as_ref().and_then(PooledLatency::of);
        Pooled {
            runs: runs.len(),
            arrived,
            succeeded,
            failed,
            in_flight,
            failed_by_cause,
            success_rate,
            success_rate_ci95_low: wilson.map(|w| w.low),
            success_rate_ci95_high: wilson.map(|w| w.high),
            latency_ms: of(&all),
            latency_ms_succeeded: of(&ok),
            latency_ms_failed: of(&bad),
            histograms_missing: missing.iter().filter(|&&m| m).count(),
            histogram: all.filter(|h| !h.is_empty()),
        }
    }
}

/// A run's histogram: `None` when the text is empty or malformed. An empty
/// text with a zero count is an empty histogram, not a missing one.
fn read(text: &str, count: u64) -> Option<LatencyHistogram> {
    if text.is_empty() {
        return (count == 0).then(hist::new_latency_histogram);
    }
    hist::decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::Histograms;

    fn run_with(values_ms: &[u64], succeeded: u64) -> RunSummary {
        let mut all = hist::new_latency_histogram();
        let mut ok = hist::new_latency_histogram();
        let mut bad = hist::new_latency_histogram();
        for (i, &v) in values_ms.iter().enumerate() {
            hist::record_ns(&mut all, v * 1_000_000);
            let h = if (i as u64) < succeeded { &mut ok } else { &mut bad };
            hist::record_ns(h, v * 1_000_000);
        }
        let mut r = RunSummary::default();
        r.requests.arrived = values_ms.len() as u64;
        r.requests.succeeded = succeeded;
        r.requests.failed = values_ms.len() as u64 - succeeded;
        r.latency_ms = hist::latency_ms(&all).unwrap_or_default();
        r.latency_ms_succeeded = hist::latency_ms(&ok);
        r.latency_ms_failed = hist::latency_ms(&bad);
        r.histograms = Histograms {
            latency_us: hist::encode(&all),
            latency_us_succeeded: hist::encode(&ok),
            latency_us_failed: hist::encode(&bad),
        };
        r
    }

    /// Within HdrHistogram's 3 significant figures.
    fn near(got: Option<f64>, want: f64) -> bool {
        got.is_some_and(|g| (g - want).abs() <= want * 1e-3)
    }

    #[test]
    fn pooled_percentiles_of_two_hand_made_histograms() {
        // Seed A: 1..=100 ms; seed B: 101..=200 ms, all succeeded but the
        // last 10 of B. Pooled: 200 requests 1..=200 ms, so p50 = 100 ms
        // (the 100th value), p90 = 180 ms, p99 = 198 ms, max 200 ms, mean
        // 100.5 ms. Per-seed p99s are 99 and 199 (mean 149): not the pool's.
        let a = run_with(&(1..=100).collect::<Vec<_>>(), 100);
        let b = run_with(&(101..=200).collect::<Vec<_>>(), 90);
        let p = Pooled::of(&[&a, &b]);
        let l = p.latency_ms.unwrap();
        assert_eq!(l.count, 200);
        assert!(near(l.p50, 100.0) && near(l.p90, 180.0) && near(l.p99, 198.0), "{l:?}");
        assert!(near(Some(l.max), 200.0) && near(Some(l.mean), 100.5), "{l:?}");
        // 200 requests cannot support p99.9.
        assert_eq!(l.p999, None);
        // Failed: 191..=200 ms, 10 requests: p50 (195) only; p90 needs 10.
        let f = p.latency_ms_failed.unwrap();
        assert_eq!(f.count, 10);
        assert!(near(f.p50, 195.0) && near(f.p90, 199.0), "{f:?}");
        assert_eq!((f.p99, f.p999), (None, None));
        let s = p.latency_ms_succeeded.unwrap();
        assert_eq!(s.count, 190);
        assert!(near(s.p50, 95.0), "{s:?}");
        // Counts and the Wilson interval of 190 of 200.
        assert_eq!((p.arrived, p.succeeded, p.failed, p.runs), (200, 190, 10, 2));
        assert_eq!(p.success_rate, Some(0.95));
        let (lo, hi) = (p.success_rate_ci95_low.unwrap(), p.success_rate_ci95_high.unwrap());
        assert!((lo - 0.910_42).abs() < 5e-5 && (hi - 0.972_62).abs() < 5e-5, "[{lo}, {hi}]");
        assert_eq!(p.histograms_missing, 0);
    }

    #[test]
    fn missing_histograms_make_the_pool_null_and_are_counted() {
        let a = run_with(&[10, 20, 30], 3);
        let mut b = run_with(&[40], 1);
        b.histograms = Histograms::default();
        let p = Pooled::of(&[&a, &b]);
        assert_eq!(p.latency_ms, None);
        assert_eq!(p.latency_ms_succeeded, None);
        // No failed request anywhere: an empty pool, not a missing one.
        assert_eq!(p.latency_ms_failed, None);
        assert_eq!(p.histograms_missing, 1);
        assert_eq!(p.arrived, 4);
        // Nothing at all: no rate, no interval, no latency.
        let empty = Pooled::of(&[]);
        assert_eq!((empty.success_rate, empty.success_rate_ci95_low, empty.latency_ms), (None, None, None));
    }

    #[test]
    fn causes_are_summed() {
        let mut a = run_with(&[1, 2], 1);
        let mut b = run_with(&[1, 2], 0);
        a.requests.failed_by_cause.insert("timeout".into(), 1);
        b.requests.failed_by_cause.insert("timeout".into(), 1);
        b.requests.failed_by_cause.insert("crash".into(), 1);
        let p = Pooled::of(&[&a, &b]);
        let causes: Vec<(&str, u64)> = p.failed_by_cause.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(causes, vec![("crash", 1), ("timeout", 2)]);
    }
}
