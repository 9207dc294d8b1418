//! Probability distributions for the world models.
//!
//! Every sample is computed from raw `u64` draws with `libm`, never with the
//! platform's `f64::ln`/`exp`, so a seed gives the same numbers on every
//! machine (see the determinism contract in ARCHITECTURE.md).

use std::sync::Arc;

use rand_core::Rng;

/// z-score of the 99th percentile of the standard normal distribution.
const Z_P99: f64 = 2.326_347_874_040_841;

/// A distribution over non-negative reals, in whatever unit the caller uses
/// (nanoseconds for latencies, tokens for token counts).
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    /// Always `value`.
    Constant { value: f64 },
    /// Uniform on `[min, max)`.
    Uniform { min: f64, max: f64 },
    /// Normal with `mean` and `std_dev`, truncated at zero by the samplers.
    Normal { mean: f64, std_dev: f64 },
    /// Exponential with the given mean (rate = 1 / mean).
    Exponential { mean: f64 },
    /// `exp(N(mu, sigma))`: the median is `exp(mu)`.
    LogNormal { mu: f64, sigma: f64 },
    /// The empirical distribution of recorded values, sorted ascending,
    /// finite and non-negative (build it with [`empirical_from_csv`] or
    /// [`Dist::empirical`]).
    ///
    /// A draw is one of the recorded values, each equally likely (bootstrap
    /// resampling: one `u64` draw picks a uniform index; nothing outside the
    /// recording is invented). So [`Dist::mean`] is the recording's mean and
    /// [`Dist::quantile`]`(q)` is the inverse of its empirical CDF: the
    /// value at sorted index `floor(q * n)` (clamped to `n - 1`).
    Empirical(Arc<[f64]>),
}

impl Dist {
    /// A log-normal whose median and 99th percentile are the given values.
    ///
    /// Requires `0 < median <= p99`; the scenario loader checks this before
    /// calling and reports a located error otherwise.
    pub fn lognormal_from_median_p99(median: f64, p99: f64) -> Dist {
        let mu = libm::log(median);
        let sigma = (libm::log(p99) - mu) / Z_P99;
        Dist::LogNormal { mu, sigma }
    }

    /// The empirical distribution of `values` (sorted here). Errors if there
    /// is none, or one is negative or not finite.
    pub fn empirical(mut values: Vec<f64>) -> Result<Dist, EmpiricalError> {
        if values.is_empty() {
            return Err(EmpiricalError::Empty);
        }
        if let Some(&bad) = values.iter().find(|v| !v.is_finite() || **v < 0.0) {
            return Err(EmpiricalError::OutOfRange { line: None, value: bad.to_string() });
        }
        values.sort_by(f64::total_cmp);
        Ok(Dist::Empirical(values.into()))
    }

    /// The distribution's mean, in closed form.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Empirical(ref v) => v.iter().sum::<f64>() / v.len() as f64,
            Dist::Constant { value } => value,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Normal { mean, .. } => mean,
            Dist::Exponential { mean } => mean,
            Dist::LogNormal { mu, sigma } => libm::exp(mu + sigma * sigma / 2.0),
        }
    }

    /// The `q`-quantile (`0 < q < 1`), in closed form.
    pub fn quantile(&self, q: f64) -> f64 {
        match *self {
            Dist::Empirical(ref v) => v[((q.max(0.0) * v.len() as f64) as usize).min(v.len() - 1)],
            Dist::Constant { value } => value,
            Dist::Uniform { min, max } => min + (max - min) * q,
            Dist::Normal { mean, std_dev } => mean + std_dev * std_normal_quantile(q),
            Dist::Exponential { mean } => -mean * libm::log(1.0 - q),
            Dist::LogNormal { mu, sigma } => libm::exp(mu + sigma * std_normal_quantile(q)),
        }
    }

    /// One sample; never negative.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let x = match *self {
            Dist::Constant { value } => value,
            Dist::Uniform { min, max } => min + (max - min) * unit_f64(rng),
            Dist::Normal { mean, std_dev } => mean + std_dev * std_normal(rng),
            Dist::Exponential { mean } => -mean * libm::log(open_unit_f64(rng)),
            Dist::LogNormal { mu, sigma } => libm::exp(mu + sigma * std_normal(rng)),
            Dist::Empirical(ref v) => v[below(rng, v.len() as u64) as usize],
        };
        if x > 0.0 { x } else { 0.0 }
    }

    /// One sample rounded to whole units (nanoseconds, tokens), saturating.
    #[inline]
    pub fn sample_u64<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let x = self.sample(rng);
        if x >= u64::MAX as f64 { u64::MAX } else { libm::round(x) as u64 }
    }
}

/// Uniform in `[0, bound)` (`bound > 0`) from one draw, by multiply-shift
/// (Lemire without the rejection step: the bias is below `bound / 2^64`).
#[inline]
pub fn below<R: Rng + ?Sized>(rng: &mut R, bound: u64) -> u64 {
    ((rng.next_u64() as u128 * bound as u128) >> 64) as u64
}

/// Why a recording could not be read by [`empirical_from_csv`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmpiricalError {
    #[error("no values: an empirical distribution needs at least one")]
    Empty,
    #[error("line {line}: `{value}` is not a number")]
    NotANumber { line: usize, value: String },
    #[error("{}`{value}` is out of range: values must be finite and non-negative", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
    OutOfRange { line: Option<usize>, value: String },
    #[error("line {line}: no field {field} (the row has {fields} fields)")]
    MissingField { line: usize, field: usize, fields: usize },
    #[error("column `{column}` asked for, but the first row is not a header (it holds numbers)")]
    NoHeader { column: String },
    #[error("no column `{column}` in the header (columns: {})", header.join(", "))]
    UnknownColumn { column: String, header: Vec<String> },
}

/// Read an empirical distribution from CSV text: one value per row, taken
/// from column `column` (by header name) or, if `None`, the first column.
///
/// Fields are separated by commas and trimmed (surrounding double quotes
/// are removed); blank lines and lines starting with `#` are skipped. The
/// first remaining row is a header if any of its fields is not a number (a
/// header is required when `column` is given). Errors name the 1-based
/// line of a bad value; an input without values is an error.
pub fn empirical_from_csv(text: &str, column: Option<&str>) -> Result<Dist, EmpiricalError> {
    let field = |s: &str| s.trim().trim_matches('"').trim().to_string();
    let mut rows = text.lines().enumerate().filter(|(_, l)| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    });
    let mut index = 0;
    let mut values = Vec::new();
    let mut first = rows.next();
    if let Some((_, line)) = first {
        let fields: Vec<String> = line.split(',').map(field).collect();
        let is_header = fields.iter().any(|f| f.parse::<f64>().is_err());
        match column {
            Some(name) if !is_header => return Err(EmpiricalError::NoHeader { column: name.to_string() }),
            Some(name) => {
                index = fields.iter().position(|f| f == name).ok_or_else(|| EmpiricalError::UnknownColumn {
                    column: name.to_string(),
                    header: fields.clone(),
                })?;
            }
            None => {}
        }
        if is_header {
            first = None;
        }
    }
    for (i, line) in first.into_iter().chain(rows) {
        let line_no = i + 1;
        let fields: Vec<&str> = line.split(',').collect();
        let raw = fields.get(index).ok_or(EmpiricalError::MissingField {
            line: line_no,
            field: index + 1,
            fields: fields.len(),
        })?;
        let raw = field(raw);
        let value: f64 = raw.parse().map_err(|_| EmpiricalError::NotANumber { line: line_no, value: raw.clone() })?;
        if !value.is_finite() || value < 0.0 {
            return Err(EmpiricalError::OutOfRange { line: Some(line_no), value: raw });
        }
        values.push(value);
    }
    Dist::empirical(values)
}

/// Uniform on `[0, 1)` with 53 bits of precision.
#[inline]
pub fn unit_f64<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform on `(0, 1]`: safe to take the logarithm of.
#[inline]
pub fn open_unit_f64<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    ((rng.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Standard normal by Box-Muller (one of the pair; the other is discarded so
/// that a sampler holds no hidden state between draws).
#[inline]
pub fn std_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1 = open_unit_f64(rng);
    let u2 = unit_f64(rng);
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * core::f64::consts::PI * u2)
}

/// Inverse CDF of the standard normal (Acklam's rational approximation,
/// relative error below 1.2e-9), for closed-form quantiles in tests and reports.
pub fn std_normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    const P_LOW: f64 = 0.024_25;
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p < P_LOW {
        let q = libm::sqrt(-2.0 * libm::log(p));
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = libm::sqrt(-2.0 * libm::log(1.0 - p));
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    fn sorted_samples(d: &Dist, n: usize) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut v: Vec<f64> = (0..n).map(|_| d.sample(&mut rng)).collect();
        v.sort_by(f64::total_cmp);
        v
    }

    fn check(d: &Dist, tolerance: f64) {
        let n = 200_000;
        let v = sorted_samples(d, n);
        let mean = v.iter().sum::<f64>() / n as f64;
        let rel = |a: f64, b: f64| ((a - b) / b).abs();
        assert!(rel(mean, d.mean()) < tolerance, "{d:?}: mean {mean} vs {}", d.mean());
        for q in [0.5, 0.9, 0.99] {
            let got = v[(q * n as f64) as usize];
            let want = d.quantile(q);
            assert!(rel(got, want) < tolerance, "{d:?}: q{q} {got} vs {want}");
        }
    }

    #[test]
    fn samples_match_closed_forms() {
        check(&Dist::Uniform { min: 10.0, max: 30.0 }, 0.01);
        check(&Dist::Normal { mean: 100.0, std_dev: 10.0 }, 0.01);
        check(&Dist::Exponential { mean: 250.0 }, 0.02);
        check(&Dist::lognormal_from_median_p99(450.0, 4000.0), 0.03);
    }

    #[test]
    fn empirical_samples_match_the_recording() {
        // A skewed recording: 1..=1000 squared.
        let values: Vec<f64> = (1..=1000).map(|i| (i * i) as f64).collect();
        let d = Dist::empirical(values.clone()).unwrap();
        let mean = values.iter().sum::<f64>() / 1000.0;
        assert_eq!(d.mean(), mean);
        assert_eq!(d.quantile(0.5), 501.0 * 501.0);
        assert_eq!(d.quantile(0.99), 991.0 * 991.0);
        assert_eq!(d.quantile(0.0), 1.0);
        assert_eq!(d.quantile(1.0), 1e6);
        check(&d, 0.01);
        // Every draw is a recorded value.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..10_000 {
            let x = d.sample(&mut rng);
            assert!(values.binary_search_by(|v| v.total_cmp(&x)).is_ok(), "{x} was not recorded");
        }
    }

    #[test]
    fn empirical_csv_with_and_without_header() {
        let d = empirical_from_csv("3\n1\n\n2\n", None).unwrap();
        assert_eq!(d, Dist::Empirical(vec![1.0, 2.0, 3.0].into()));
        let csv = "# recorded 2026-11-20\nrequest,latency_ms\n1, 20.5\n2,\"10\"\r\n3,30\n";
        let d = empirical_from_csv(csv, Some("latency_ms")).unwrap();
        assert_eq!(d, Dist::Empirical(vec![10.0, 20.5, 30.0].into()));
        assert_eq!(d.mean(), 60.5 / 3.0);
        // Without a column name, the first column (the header is skipped).
        assert_eq!(empirical_from_csv(csv, None).unwrap(), Dist::Empirical(vec![1.0, 2.0, 3.0].into()));
    }

    #[test]
    fn empirical_csv_errors_name_the_line() {
        let e = empirical_from_csv("ms\n1\n2\nabc\n", None).unwrap_err();
        assert_eq!(e, EmpiricalError::NotANumber { line: 4, value: "abc".into() });
        assert!(e.to_string().starts_with("line 4:"), "{e}");
        let e = empirical_from_csv("1\n-5\n", None).unwrap_err();
        assert!(e.to_string().starts_with("line 2:"), "{e}");
        assert_eq!(empirical_from_csv("1\nNaN\n", None).unwrap_err().to_string().get(..7), Some("line 2:"));
        assert_eq!(
            empirical_from_csv("a,b\n1\n", Some("b")).unwrap_err(),
            EmpiricalError::MissingField { line: 2, field: 2, fields: 1 }
        );
        assert_eq!(empirical_from_csv("", None).unwrap_err(), EmpiricalError::Empty);
        assert_eq!(empirical_from_csv("ms\n# nothing\n", None).unwrap_err(), EmpiricalError::Empty);
        assert!(matches!(empirical_from_csv("1\n2\n", Some("ms")), Err(EmpiricalError::NoHeader { .. })));
        let e = empirical_from_csv("a,b\n1,2\n", Some("c")).unwrap_err();
        assert_eq!(e.to_string(), "no column `c` in the header (columns: a, b)");
    }

    #[test]
    fn lognormal_from_median_p99_hits_both() {
        let d = Dist::lognormal_from_median_p99(450e6, 4e9);
        assert!((d.quantile(0.5) - 450e6).abs() / 450e6 < 1e-9);
        assert!((d.quantile(0.99) - 4e9).abs() / 4e9 < 1e-6);
    }

    #[test]
    fn constant_is_constant_and_never_negative() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(Dist::Constant { value: 5.0 }.sample_u64(&mut rng), 5);
        let n = Dist::Normal { mean: 0.0, std_dev: 1.0 };
        assert!((0..1000).all(|_| n.sample(&mut rng) >= 0.0));
    }
}
