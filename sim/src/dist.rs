//! Probability distributions for the world models.
//!
//! Every sample is computed from raw `u64` draws with `libm`, never with the
//! platform's `f64::ln`/`exp`, so a seed gives the same numbers on every
//! machine (see the determinism contract in ARCHITECTURE.md).

use rand_core::Rng;

/// z-score of the 99th percentile of the standard normal distribution.
const Z_P99: f64 = 2.326_347_874_040_841;

/// z-score of the 90th percentile of the standard normal distribution.
const Z_P90: f64 = 1.281_551_565_544_600_4;

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

    /// A log-normal whose median and 90th percentile are the given values
    /// (the fit used for the data-derived LLM profiles: it hits both exactly).
    ///
    /// Requires `0 < median <= p90`.
    pub fn lognormal_from_median_p90(median: f64, p90: f64) -> Dist {
        let mu = libm::log(median);
        let sigma = (libm::log(p90) - mu) / Z_P90;
        Dist::LogNormal { mu, sigma }
    }

    /// The distribution's mean, in closed form.
    pub fn mean(&self) -> f64 {
        match *self {
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
    fn lognormal_from_median_p99_hits_both() {
        let d = Dist::lognormal_from_median_p99(450e6, 4e9);
        assert!((d.quantile(0.5) - 450e6).abs() / 450e6 < 1e-9);
        assert!((d.quantile(0.99) - 4e9).abs() / 4e9 < 1e-6);
    }

    #[test]
    fn lognormal_from_median_p90_hits_both() {
        let d = Dist::lognormal_from_median_p90(0.4e9, 1.0e9);
        assert!((d.quantile(0.5) - 0.4e9).abs() / 0.4e9 < 1e-9);
        assert!((d.quantile(0.9) - 1.0e9).abs() / 1.0e9 < 1e-6);
        check(&d, 0.03);
    }

    #[test]
    fn constant_is_constant_and_never_negative() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(Dist::Constant { value: 5.0 }.sample_u64(&mut rng), 5);
        let n = Dist::Normal { mean: 0.0, std_dev: 1.0 };
        assert!((0..1000).all(|_| n.sample(&mut rng) >= 0.0));
    }
}
