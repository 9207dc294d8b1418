//! Small fitting helpers: empirical percentiles and log-normal fits.
//!
//! Used to derive the LLM profiles in [`crate::llm`] from real data and, in
//! `sim/tests/data_fit.rs`, to check the profiles against that data.

use crate::dist::Dist;

/// The `q`-quantile (`0 <= q <= 1`) of `sorted` (ascending), by linear
/// interpolation between closest ranks (numpy's default, "type 7").
///
/// Panics if `sorted` is empty.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty(), "percentile of no data");
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos as usize; // floor: pos >= 0
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Median, 90th and 99th percentiles of a sample.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

impl Percentiles {
    /// The percentiles of `data` (any order; sorted here with a total order,
    /// so NaNs sort last rather than panicking).
    ///
    /// Panics if `data` is empty.
    pub fn of(mut data: Vec<f64>) -> Percentiles {
        data.sort_by(f64::total_cmp);
        Percentiles { p50: percentile(&data, 0.5), p90: percentile(&data, 0.9), p99: percentile(&data, 0.99) }
    }

    /// The log-normal with this median and 90th percentile.
    pub fn lognormal_p50_p90(&self) -> Dist {
        Dist::lognormal_from_median_p90(self.p50, self.p90)
    }

    /// Largest relative difference of the median and the 90th percentile
    /// from `reference`'s.
    pub fn max_rel_diff_p50_p90(&self, reference: &Percentiles) -> f64 {
        let rel = |a: f64, b: f64| ((a - b) / b).abs();
        rel(self.p50, reference.p50).max(rel(self.p90, reference.p90))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_interpolates() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 0.5), 3.0);
        assert_eq!(percentile(&v, 1.0), 5.0);
        assert!((percentile(&v, 0.9) - 4.6).abs() < 1e-12);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
    }

    #[test]
    fn percentiles_of_unsorted_data() {
        let p = Percentiles::of((0..=100).rev().map(f64::from).collect());
        assert_eq!((p.p50, p.p90, p.p99), (50.0, 90.0, 99.0));
        let d = p.lognormal_p50_p90();
        assert!((d.quantile(0.9) - 90.0).abs() < 1e-6);
    }
}
