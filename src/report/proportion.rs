//! Intervals for proportions (success rates). A normal interval collapses
//! to `[1, 1]` when every request succeeded, which reads as certainty; the
//! Wilson score interval does not: 10 of 10 gives `[0.7225, 1]`.

use serde::{Deserialize, Serialize};

/// The standard normal's 0.975 quantile: two-sided 95%.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A two-sided interval for a proportion.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProportionInterval {
    pub low: f64,
    pub high: f64,
}

/// The Wilson score interval for `successes` of `trials` at normal quantile
/// `z` (use [`Z95`] for 95%); `None` without trials. The bounds lie in
/// `[0, 1]` and are exactly 0 (or 1) when no trial succeeded (or failed).
///
/// With p = successes / trials and n = trials:
/// centre = (p + z²/2n) / (1 + z²/n),
/// half width = z / (1 + z²/n) · sqrt(p(1 - p)/n + z²/4n²).
pub fn wilson(successes: u64, trials: u64, z: f64) -> Option<ProportionInterval> {
    if trials == 0 || successes > trials {
        return None;
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let low = if successes == 0 { 0.0 } else { (centre - half).max(0.0) };
    let high = if successes == trials { 1.0 } else { (centre + half).min(1.0) };
    Some(ProportionInterval { low, high })
}

/// [`wilson`] at 95%.
pub fn wilson95(successes: u64, trials: u64) -> Option<ProportionInterval> {
    wilson(successes, trials, Z95)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-5
    }

    #[test]
    fn wilson_matches_hand_computed_values() {
        // 0 of 10: z² = 3.8415, denominator 1.38415, centre = half = 0.13877.
        let i = wilson95(0, 10).unwrap();
        assert_eq!(i.low, 0.0);
        assert!(close(i.high, 0.2775), "{i:?}");
        // 10 of 10: the mirror image.
        let i = wilson95(10, 10).unwrap();
        assert!(close(i.low, 0.7225), "{i:?}");
        assert_eq!(i.high, 1.0);
        // 50 of 100: centre 0.5, half 1.95996 / 1.038415 · sqrt(0.0025 + 0.000096).
        let i = wilson95(50, 100).unwrap();
        assert!(close(i.low, 0.4038) && close(i.high, 0.5962), "{i:?}");
        // 1 of 1000: asymmetric around p = 0.001.
        let i = wilson95(1, 1000).unwrap();
        assert!(close(i.low, 0.000_177) && close(i.high, 0.005_643), "{i:?}");
    }

    #[test]
    fn wilson_edge_cases() {
        assert_eq!(wilson95(0, 0), None);
        assert_eq!(wilson95(3, 2), None);
        // Narrows as n grows, and always contains p.
        let small = wilson95(9, 10).unwrap();
        let big = wilson95(900, 1000).unwrap();
        assert!(big.high - big.low < small.high - small.low);
        assert!(big.low < 0.9 && 0.9 < big.high);
    }
}
