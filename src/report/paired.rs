//! Paired comparisons: a strategy against the baseline, seed by seed.
//!
//! Every strategy runs on the same seeds, so the same arrivals, the same
//! faults and the same service draws (each component has its own stream)
//! hit both. The difference on one seed removes what the seed contributes
//! to both, and the interval of the mean difference across seeds is
//! usually much narrower than the unpaired (Welch) interval of the
//! difference of the two means, which treats the seeds as independent.
//! Both are computed, so the narrowing is visible.

use serde::Serialize;

use super::metrics::Better;
use super::stats::{mean, sample_std_dev, t_quantile};

/// A closed interval `[low, high]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn width(&self) -> f64 {
        self.high - self.low
    }

    /// Whether the interval lies wholly on one side of zero; `tolerance`
    /// absorbs float noise (a bound within it counts as zero).
    pub fn excludes_zero(&self, tolerance: f64) -> bool {
        self.low > tolerance || self.high < -tolerance
    }
}

/// Strategy minus baseline over the seeds both ran (and on which the
/// metric is defined for both).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairedDiff {
    /// Seeds paired.
    pub n: usize,
    /// Mean of the per-seed differences (equal to the difference of the
    /// two means over the same seeds).
    pub mean_diff: f64,
    /// 95% Student-t interval of the mean difference, df = n - 1; `None`
    /// with fewer than two seeds.
    pub ci95: Option<Interval>,
    /// 95% Welch interval of the difference of the means, as if the two
    /// samples were independent; `None` with fewer than two seeds.
    pub unpaired_ci95: Option<Interval>,
    /// The Welch-Satterthwaite degrees of freedom of `unpaired_ci95`.
    pub unpaired_df: Option<f64>,
    /// Scale of the values, for the float-noise tolerance of
    /// [`PairedDiff::excludes_zero`].
    scale: f64,
}

/// What a paired difference says about a strategy against the baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The interval excludes zero on the better side.
    Better,
    /// The interval excludes zero on the worse side.
    Worse,
    /// A metric with no better direction whose interval lies above zero.
    Higher,
    /// A metric with no better direction whose interval lies below zero.
    Lower,
    /// The interval contains zero: no difference shown.
    Inconclusive,
    /// Fewer than two paired seeds: no interval.
    TooFewSeeds,
}

impl Verdict {
    /// A short word for tables.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::Higher => "higher",
            Verdict::Lower => "lower",
            Verdict::Inconclusive => "~",
            Verdict::TooFewSeeds => "n<2",
        }
    }
}

impl PairedDiff {
    /// Whether the paired interval excludes zero.
    pub fn excludes_zero(&self) -> bool {
        self.ci95.is_some_and(|c| c.excludes_zero(1e-12 * self.scale))
    }

    /// The verdict for a metric whose better direction is `better`.
    pub fn verdict(&self, better: Better) -> Verdict {
        if self.ci95.is_none() {
            return Verdict::TooFewSeeds;
        }
        if !self.excludes_zero() {
            return Verdict::Inconclusive;
        }
        let up = self.mean_diff > 0.0;
        match (better, up) {
            (Better::Higher, true) | (Better::Lower, false) => Verdict::Better,
            (Better::Higher, false) | (Better::Lower, true) => Verdict::Worse,
            (Better::Neither, true) => Verdict::Higher,
            (Better::Neither, false) => Verdict::Lower,
        }
    }
}

/// The paired difference of `pairs` = (strategy value, baseline value) per
/// seed; `None` without pairs.
pub fn paired(pairs: &[(f64, f64)]) -> Option<PairedDiff> {
    let n = pairs.len();
    if n == 0 {
        return None;
    }
    let diffs: Vec<f64> = pairs.iter().map(|&(s, b)| s - b).collect();
    let mean_diff = mean(&diffs);
    let scale = pairs.iter().map(|&(s, b)| s.abs().max(b.abs())).fold(0.0, f64::max);
    if n < 2 {
        return Some(PairedDiff { n, mean_diff, ci95: None, unpaired_ci95: None, unpaired_df: None, scale });
    }
    let sd = sample_std_dev(&diffs, mean_diff);
    let half = t_quantile(0.975, (n - 1) as f64) * sd / (n as f64).sqrt();
    let ci95 = Some(Interval { low: mean_diff - half, high: mean_diff + half });
    let strategy: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    let baseline: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    let (unpaired_ci95, unpaired_df) = match welch(&strategy, &baseline) {
        Some((interval, df)) => (Some(interval), Some(df)),
        None => (None, None),
    };
    Some(PairedDiff { n, mean_diff, ci95, unpaired_ci95, unpaired_df, scale })
}

/// Welch's 95% interval of mean(a) - mean(b) and its Welch-Satterthwaite
/// degrees of freedom; `None` when either sample has fewer than two values.
/// When both samples have zero spread the interval is the point itself,
/// with df = n_a + n_b - 2.
pub fn welch(a: &[f64], b: &[f64]) -> Option<(Interval, f64)> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (ma, mb) = (mean(a), mean(b));
    let (va, vb) = (sample_std_dev(a, ma).powi(2) / na, sample_std_dev(b, mb).powi(2) / nb);
    let diff = ma - mb;
    let se2 = va + vb;
    if se2 == 0.0 {
        return Some((Interval { low: diff, high: diff }, na + nb - 2.0));
    }
    let df = se2 * se2 / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    let half = t_quantile(0.975, df) * se2.sqrt();
    Some((Interval { low: diff - half, high: diff + half }, df))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn paired_difference_on_three_seeds_by_hand() {
        // Baseline 100, 200, 300; strategy 92, 189, 290: differences -8,
        // -11, -10, mean -29/3, sample sd sqrt(7/3) = 1.527525;
        // half width t(0.975, 2) * sd / sqrt(3) = 4.302653 * 0.881917.
        let p = paired(&[(92.0, 100.0), (189.0, 200.0), (290.0, 300.0)]).unwrap();
        assert_eq!(p.n, 3);
        assert!(close(p.mean_diff, -29.0 / 3.0, 1e-12));
        let ci = p.ci95.unwrap();
        let half = 4.302_652_73 * (7.0_f64 / 3.0).sqrt() / 3.0_f64.sqrt();
        assert!(close(ci.low, -29.0 / 3.0 - half, 1e-6) && close(ci.high, -29.0 / 3.0 + half, 1e-6), "{ci:?}");
        assert!(close(ci.low, -13.4612, 1e-4) && close(ci.high, -5.8721, 1e-4), "{ci:?}");
        assert!(p.excludes_zero());
        assert_eq!(p.verdict(Better::Lower), Verdict::Better);
        assert_eq!(p.verdict(Better::Higher), Verdict::Worse);
        assert_eq!(p.verdict(Better::Neither), Verdict::Lower);
        // Unpaired: both samples have sd ~100, so Welch's interval is wide
        // and contains zero. Sample variances 9802.333 (strategy: 92, 189,
        // 290 around 190.333) and 10000; df from Welch-Satterthwaite.
        let (va, vb): (f64, f64) = (29_407.0 / 3.0 / 3.0, 10_000.0 / 3.0);
        let df = (va + vb).powi(2) / (va * va / 2.0 + vb * vb / 2.0);
        assert!(close(p.unpaired_df.unwrap(), df, 1e-9));
        assert!(close(df, 3.999_601_5, 1e-6), "{df}");
        let u = p.unpaired_ci95.unwrap();
        let half_u = t_quantile(0.975, df) * (va + vb).sqrt();
        assert!(close(u.low, -29.0 / 3.0 - half_u, 1e-9) && close(u.high, -29.0 / 3.0 + half_u, 1e-9));
        assert!(!u.excludes_zero(0.0));
        assert!(u.width() > 40.0 * ci.width(), "pairing narrows: {} vs {}", u.width(), ci.width());
    }

    #[test]
    fn paired_difference_that_contains_zero() {
        // Differences -1, 0, -3: mean -4/3, sd sqrt(7/3), same half width as above.
        let p = paired(&[(9.0, 10.0), (12.0, 12.0), (12.0, 15.0)]).unwrap();
        let ci = p.ci95.unwrap();
        assert!(close(ci.low, -5.1279, 1e-4) && close(ci.high, 2.4612, 1e-4), "{ci:?}");
        assert!(!p.excludes_zero());
        assert_eq!(p.verdict(Better::Lower), Verdict::Inconclusive);
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(paired(&[]), None);
        let one = paired(&[(2.0, 1.0)]).unwrap();
        assert_eq!((one.n, one.mean_diff, one.ci95), (1, 1.0, None));
        assert_eq!(one.verdict(Better::Higher), Verdict::TooFewSeeds);
        // Identical on every seed: a zero-width interval at zero shows nothing.
        let same = paired(&[(1.0, 1.0), (1.0, 1.0), (1.0, 1.0)]).unwrap();
        assert_eq!(same.ci95, Some(Interval { low: 0.0, high: 0.0 }));
        assert_eq!(same.verdict(Better::Higher), Verdict::Inconclusive);
        // Float noise is not a difference.
        let noise = paired(&[(0.3, 0.1 + 0.2), (0.3, 0.1 + 0.2)]).unwrap();
        assert!(!noise.excludes_zero(), "{noise:?}");
        assert_eq!(welch(&[1.0], &[1.0, 2.0]), None);
        let (w, df) = welch(&[1.0, 1.0], &[3.0, 3.0, 3.0]).unwrap();
        assert_eq!((w.low, w.high, df), (-2.0, -2.0, 3.0));
    }
}
