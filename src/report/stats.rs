//! Statistics across seeds: mean, sample standard deviation, and the 95%
//! confidence interval of the mean from Student's t distribution.
//!
//! The t quantile is computed exactly (to float precision) for any degrees
//! of freedom by inverting the regularised incomplete beta function, which
//! is evaluated with Lentz's continued fraction. Everything is plain IEEE
//! arithmetic plus `libm`, so results are identical on every platform.

use serde::{Deserialize, Serialize};

/// Mean and spread of one metric across seeds.
///
/// With `n == 1` there is no spread to estimate: `std_dev` is 0 and the
/// interval collapses to the mean (`ci95_low == ci95_high == mean`); use
/// [`Summary::has_interval`] to tell that case apart from a true zero spread.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub mean: f64,
    /// Sample standard deviation (divides by `n - 1`).
    pub std_dev: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
    pub n: usize,
    /// How the interval was computed; absent from JSON for the usual
    /// Student-t interval of the mean.
    #[serde(default, skip_serializing_if = "IntervalMethod::is_student_t")]
    pub ci95_method: IntervalMethod,
}

/// How a [`Summary`]'s interval was computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalMethod {
    /// Student's t interval of the mean across seeds.
    #[default]
    StudentT,
    /// Student's t, clipped to `[0, 1]` (a proportion cannot leave it).
    StudentTClipped,
    /// Every seed gave the same proportion, 0 or 1, so the t interval has
    /// zero width; the Wilson score interval of the pooled counts stands in
    /// for it (a zero-width interval would read as certainty).
    WilsonPooled,
}

impl IntervalMethod {
    pub fn is_student_t(&self) -> bool {
        *self == IntervalMethod::StudentT
    }
}

impl Summary {
    /// Summarises `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Summary> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = mean(values);
        let method = IntervalMethod::StudentT;
        if n == 1 {
            return Some(Summary { mean, std_dev: 0.0, ci95_low: mean, ci95_high: mean, n, ci95_method: method });
        }
        let sd = sample_std_dev(values, mean);
        let half = t_quantile(0.975, (n - 1) as f64) * sd / (n as f64).sqrt();
        Some(Summary { mean, std_dev: sd, ci95_low: mean - half, ci95_high: mean + half, n, ci95_method: method })
    }

    /// False when the interval is degenerate because there was only one
    /// sample (not because all samples agreed), unless a pooled Wilson
    /// interval stands in for it.
    pub fn has_interval(&self) -> bool {
        self.n >= 2 || self.ci95_method == IntervalMethod::WilsonPooled
    }
}

/// Arithmetic mean; NaN for an empty slice.
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Sample standard deviation around `mean` (Bessel-corrected); 0 for fewer
/// than two values.
pub fn sample_std_dev(values: &[f64], mean: f64) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (ss / (values.len() - 1) as f64).sqrt()
}

/// The `p` quantile of Student's t distribution with `df` degrees of
/// freedom (`df > 0`, need not be an integer). `p` outside (0, 1) gives
/// ±infinity; a non-positive or NaN `df` gives NaN.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if df.is_nan() || df <= 0.0 || p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    // Upper tail: P(T > t) = I_x(df/2, 1/2) / 2 with x = df / (df + t^2).
    // I_x is increasing in x, so bisect for I_x = 2(1 - p), then map back.
    let target = 2.0 * (1.0 - p);
    let (a, b) = (df / 2.0, 0.5);
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    for _ in 0..2000 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if inc_beta(mid, a, b) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let x = 0.5 * (lo + hi);
    (df * (1.0 - x) / x).sqrt()
}

/// Cumulative distribution function of Student's t.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    let tail = 0.5 * inc_beta(x, df / 2.0, 0.5);
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// Regularised incomplete beta function I_x(a, b).
pub fn inc_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = a * libm::log(x) + b * libm::log1p(-x) - (libm::lgamma(a) + libm::lgamma(b) - libm::lgamma(a + b));
    let front = libm::exp(ln_front);
    // The continued fraction converges fast for x < (a+1)/(a+b+2); use the
    // symmetry I_x(a,b) = 1 - I_{1-x}(b,a) on the other side.
    if x < (a + 1.0) / (a + b + 2.0) { front * beta_cf(x, a, b) / a } else { 1.0 - front * beta_cf(1.0 - x, b, a) / b }
}

/// Guards the modified Lentz method against division by zero.
const TINY: f64 = 1e-300;

/// One step of the modified Lentz method for a continued fraction with
/// partial numerator `aa`: updates `c` and `d`, returns the factor `c * d`.
fn lentz_step(aa: f64, c: &mut f64, d: &mut f64) -> f64 {
    *d = 1.0 + aa * *d;
    if d.abs() < TINY {
        *d = TINY;
    }
    *c = 1.0 + aa / *c;
    if c.abs() < TINY {
        *c = TINY;
    }
    *d = 1.0 / *d;
    *c * *d
}

/// Continued fraction for the incomplete beta (modified Lentz).
fn beta_cf(x: f64, a: f64, b: f64) -> f64 {
    const EPS: f64 = 1e-16;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=1000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        h *= lentz_step(m * (b - m) * x / ((qam + m2) * (a + m2)), &mut c, &mut d);
        let del = lentz_step(-(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)), &mut c, &mut d);
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn t_quantiles_match_tables() {
        // Two-sided 95% critical values from standard tables.
        let table = [
            (1.0, 12.706),
            (2.0, 4.303),
            (3.0, 3.182),
            (4.0, 2.776),
            (5.0, 2.571),
            (9.0, 2.262),
            (10.0, 2.228),
            (19.0, 2.093),
            (29.0, 2.045),
            (30.0, 2.042),
            (60.0, 2.000),
            (120.0, 1.980),
        ];
        for (df, want) in table {
            let got = t_quantile(0.975, df);
            assert!(close(got, want, 5e-4), "df={df}: got {got}, want {want}");
        }
        // Other levels and the normal limit.
        assert!(close(t_quantile(0.95, 10.0), 1.812, 5e-4));
        assert!(close(t_quantile(0.995, 5.0), 4.032, 5e-4));
        assert!(close(t_quantile(0.975, 1e7), 1.959_964, 1e-5));
        // Exact closed forms: df=1 is Cauchy, df=2 has t = (2p-1) sqrt(2/(4p(1-p))).
        let cauchy = libm::tan(core::f64::consts::PI * (0.975 - 0.5));
        assert!(close(t_quantile(0.975, 1.0), cauchy, 1e-9));
        let p: f64 = 0.9;
        let df2 = (2.0 * p - 1.0) * (2.0 / (4.0 * p * (1.0 - p))).sqrt();
        assert!(close(t_quantile(p, 2.0), df2, 1e-9));
    }

    #[test]
    fn t_quantile_is_symmetric_and_inverts_the_cdf() {
        for df in [1.0, 2.5, 7.0, 40.0, 500.0] {
            for p in [0.6, 0.9, 0.975, 0.999] {
                let t = t_quantile(p, df);
                assert!(close(t_quantile(1.0 - p, df), -t, 1e-9));
                assert!(close(t_cdf(t, df), p, 1e-10), "df={df} p={p}");
            }
        }
        assert_eq!(t_quantile(0.5, 3.0), 0.0);
        assert!(t_quantile(0.975, 0.0).is_nan());
        assert_eq!(t_quantile(1.0, 3.0), f64::INFINITY);
    }

    #[test]
    fn summary_of_known_sample() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample sd sqrt(32/7).
        let v = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let s = Summary::of(&v).unwrap();
        assert_eq!(s.mean, 5.0);
        assert!(close(s.std_dev, (32.0_f64 / 7.0).sqrt(), 1e-12));
        let half = 2.364_624 * s.std_dev / 8.0_f64.sqrt(); // t(0.975, 7)
        assert!(close(s.ci95_low, 5.0 - half, 1e-5));
        assert!(close(s.ci95_high, 5.0 + half, 1e-5));
        assert_eq!(s.n, 8);
        assert!(s.has_interval());
    }

    #[test]
    fn single_sample_interval_is_the_mean() {
        let s = Summary::of(&[3.5]).unwrap();
        assert_eq!((s.mean, s.std_dev, s.ci95_low, s.ci95_high), (3.5, 0.0, 3.5, 3.5));
        assert!(!s.has_interval());
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn identical_samples_have_zero_width() {
        let s = Summary::of(&[1.0, 1.0, 1.0]).unwrap();
        assert_eq!((s.std_dev, s.ci95_low, s.ci95_high), (0.0, 1.0, 1.0));
        assert!(s.has_interval());
    }
}
