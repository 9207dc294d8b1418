//! Closed-form checks of every arrival process.

use super::*;
use crate::rng::stream;

const S: Nanos = 1_000_000_000;

/// Every arrival of `process` in `[0, end)` for `seed`.
fn times(process: &Process, end: Nanos, seed: u64) -> Vec<Nanos> {
    let mut rng = stream(seed, "workload");
    let mut a = Arrivals::new(process, end, &mut rng);
    std::iter::from_fn(|| a.next(&mut rng)).collect()
}

/// Mean and standard deviation of the counts over `seeds` seeds, checked
/// against a Poisson count of mean `expected` (variance = mean): the mean of
/// the counts within 4 standard errors.
fn assert_poisson_count(process: &Process, end: Nanos, expected: f64) {
    let seeds = 200;
    let total: usize = (1..=seeds).map(|s| times(process, end, s).len()).sum();
    let mean = total as f64 / seeds as f64;
    let se = (expected / seeds as f64).sqrt();
    assert!((mean - expected).abs() < 4.0 * se, "{process:?}: mean count {mean}, expected {expected} +- {se}");
}

/// Pearson's chi-square of observed bin counts against expected ones.
fn chi_square(observed: &[u64], expected: &[f64]) -> f64 {
    observed.iter().zip(expected).map(|(&o, &e)| (o as f64 - e).powi(2) / e).sum()
}

/// The 99.9% quantile of chi-square with 10 degrees of freedom.
const CHI2_10_999: f64 = 29.59;

#[test]
fn poisson_draws_are_the_original_ones() {
    // The gaps of the original `PoissonArrivals` (exponential, rounded,
    // at least 1 ns), summed: a seed replays the same arrival times.
    let rate = 40.0;
    let gap = Dist::Exponential { mean: 1e9 / rate };
    let mut rng = stream(3, "workload");
    let mut t = 0;
    let mut expected = Vec::new();
    loop {
        t += gap.sample_u64(&mut rng).max(1);
        if t >= 60 * S {
            break;
        }
        expected.push(t);
    }
    assert_eq!(times(&Process::Poisson { rate_per_s: rate }, 60 * S, 3), expected);
}

#[test]
fn poisson_count_is_rate_times_window() {
    assert_poisson_count(&Process::Poisson { rate_per_s: 40.0 }, 60 * S, 2400.0);
}

#[test]
fn constant_is_exactly_evenly_spaced() {
    let t = times(&Process::Constant { rate_per_s: 20.0 }, 60 * S, 1);
    assert_eq!(t.len(), 1200, "rate x window, exactly");
    assert!(t.iter().enumerate().all(|(k, &t)| t == k as u64 * 50_000_000));
    // A window that is not a multiple of the gap: ceil(rate x window).
    assert_eq!(times(&Process::Constant { rate_per_s: 3.0 }, 10 * S + 1, 1).len(), 31);
    // Seed-independent.
    assert_eq!(
        times(&Process::Constant { rate_per_s: 7.0 }, 10 * S, 1),
        times(&Process::Constant { rate_per_s: 7.0 }, 10 * S, 2)
    );
}

#[test]
fn bursts_fixed_send_nothing_while_off() {
    let p = Process::Bursts {
        on_rate_per_s: 50.0,
        off_rate_per_s: 0.0,
        on_ns: 2 * S,
        off_ns: 8 * S,
        switching: Switching::Fixed,
    };
    for seed in 1..=20 {
        for t in times(&p, 100 * S, seed) {
            assert!(t % (10 * S) < 2 * S, "arrival at {t} ns, while off");
        }
    }
    // On 20 s of the 100: 50/s x 20 s.
    assert_poisson_count(&p, 100 * S, 1000.0);
}

#[test]
fn bursts_fixed_off_rate_counts_per_state() {
    let p = Process::Bursts {
        on_rate_per_s: 30.0,
        off_rate_per_s: 5.0,
        on_ns: 3 * S,
        off_ns: 7 * S,
        switching: Switching::Fixed,
    };
    // 10 cycles: 30 x 30 s + 5 x 70 s.
    assert_poisson_count(&p, 100 * S, 900.0 + 350.0);
    assert_eq!(p.mean_rate_per_s(100 * S), Some(12.5));
}

#[test]
fn bursts_markov_mean_rate_is_the_time_weighted_one() {
    let p = Process::Bursts {
        on_rate_per_s: 40.0,
        off_rate_per_s: 0.0,
        on_ns: 5 * S,
        off_ns: 15 * S,
        switching: Switching::Markov,
    };
    // The count is overdispersed (the modulation adds variance), so check
    // the long-run rate over a long window: 40 x 5 / 20 = 10/s, within 5%.
    let window = 20_000 * S;
    let n = times(&p, window, 7).len() as f64;
    let rate = n / 20_000.0;
    assert!((rate - 10.0).abs() < 0.5, "{rate}");
    // Gaps within a burst are at least 1 ns and the times increase.
    let t = times(&p, 1000 * S, 8);
    assert!(t.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn daily_counts_per_phase_bin_follow_the_sinusoid() {
    let (mean, amp, period, phase) = (20.0, 15.0, 100 * S, 10 * S);
    let p = Process::Daily { mean_rate_per_s: mean, amplitude_per_s: amp, period_ns: period, phase_ns: phase };
    let cycles = 50;
    let t = times(&p, cycles * period, 11);
    let bins = 10usize;
    let mut observed = vec![0u64; bins];
    for t in &t {
        observed[((t % period) * bins as u64 / period) as usize] += 1;
    }
    // Expected in bin [a, b): cycles x integral of the rate over it.
    let (p_s, phi) = (period as f64 / 1e9, phase as f64 / 1e9);
    let w = 2.0 * std::f64::consts::PI / p_s;
    let expected: Vec<f64> = (0..bins)
        .map(|i| {
            let (a, b) = (i as f64 * p_s / bins as f64, (i + 1) as f64 * p_s / bins as f64);
            let integral = mean * (b - a) - amp / w * (libm::cos(w * (b + phi)) - libm::cos(w * (a + phi)));
            cycles as f64 * integral
        })
        .collect();
    let chi2 = chi_square(&observed, &expected);
    assert!(chi2 < CHI2_10_999, "chi2 {chi2}: {observed:?} vs {expected:?}");
    assert_poisson_count(&p, 10 * period, mean * 1000.0);
}

#[test]
fn daily_with_full_amplitude_is_silent_at_the_trough() {
    // Rate 10 + 10 sin: zero at 3/4 of the period; nothing arrives in a
    // tiny window around it.
    let p = Process::Daily { mean_rate_per_s: 10.0, amplitude_per_s: 10.0, period_ns: 40 * S, phase_ns: 0 };
    let t = times(&p, 4000 * S, 5);
    let near_trough = t.iter().filter(|&&t| (t % (40 * S)).abs_diff(30 * S) < S / 10).count();
    // Expected count there: 100 cycles x ~1e-4 requests.
    assert!(near_trough <= 1, "{near_trough}");
}

#[test]
fn ramp_counts_follow_the_line() {
    let (from, to, end) = (2.0, 38.0, 200 * S);
    let p = Process::Ramp { from_rate_per_s: from, to_rate_per_s: to };
    let bins = 10usize;
    let mut observed = vec![0u64; bins];
    let seeds = 10;
    for seed in 1..=seeds {
        for t in times(&p, end, seed) {
            observed[(t * bins as u64 / end) as usize] += 1;
        }
    }
    let end_s = end as f64 / 1e9;
    let rate = |x: f64| from + (to - from) * x / end_s;
    let expected: Vec<f64> = (0..bins)
        .map(|i| {
            let (a, b) = (i as f64 * end_s / bins as f64, (i + 1) as f64 * end_s / bins as f64);
            seeds as f64 * (rate(a) + rate(b)) / 2.0 * (b - a)
        })
        .collect();
    let chi2 = chi_square(&observed, &expected);
    assert!(chi2 < CHI2_10_999, "chi2 {chi2}: {observed:?} vs {expected:?}");
    assert_poisson_count(&p, end, (from + to) / 2.0 * end_s);
    // A ramp down to 0 works too.
    assert_poisson_count(&Process::Ramp { from_rate_per_s: 10.0, to_rate_per_s: 0.0 }, end, 1000.0);
}

#[test]
fn closed_processes_yield_no_open_arrivals() {
    let closed = Process::Closed { users: 3, think: Dist::Constant { value: 1e9 } };
    assert!(times(&closed, 10 * S, 1).is_empty());
    let c = closed.closed_loop().unwrap();
    let mut rng = stream(1, "workload");
    assert_eq!(c.first_send(&mut rng), S);
    assert_eq!(c.next_send(5, &mut rng), Some(5 + S));
    let pop = Process::Population { clients: 4, repeat: false }.closed_loop().unwrap();
    assert_eq!(pop.first_send(&mut rng), 0);
    assert_eq!(pop.next_send(5, &mut rng), None);
    let again = Process::Population { clients: 4, repeat: true }.closed_loop().unwrap();
    assert_eq!(again.next_send(5, &mut rng), Some(5), "zero think time");
    assert!(Process::Poisson { rate_per_s: 1.0 }.closed_loop().is_none());
}

#[test]
fn trace_of_azure_timestamps() {
    let csv = "TIMESTAMP,ContextTokens,GeneratedTokens\n\
               2023-11-16 18:17:03.9799600,4808,10\n\
               2023-11-16 18:17:04.0319600,3180,8\n\
               \n\
               2023-11-16 18:17:05,10,1\r\n\
               2023-11-17T00:00:00Z,1,1\n";
    let t = load_arrival_times(csv).unwrap();
    assert_eq!(t, vec![0, 52_000_000, 1_020_040_000, (5 * 3600 + 42 * 60 + 56) * S + 20_040_000]);
    // Scaled by 0.5 (twice as fast), then cut at the window.
    let p = Process::Trace { times: scale_times(&t, 0.5) };
    assert_eq!(times(&p, 10 * S, 1), vec![0, 26_000_000, 510_020_000]);
    assert_eq!(p.mean_rate_per_s(10 * S), Some(0.3));
}

#[test]
fn trace_of_seconds_sorted() {
    let t = load_arrival_times("seconds\n2.5\n0.25\n1\n").unwrap();
    assert_eq!(t, vec![S / 4, S, 5 * S / 2]);
    assert_eq!(load_arrival_times("0\n3\n").unwrap(), vec![0, 3 * S]);
}

#[test]
fn trace_errors_name_the_line() {
    let e = load_arrival_times("t\n1\nsoon\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.message.contains("soon"), "{e:?}");
    assert_eq!(load_arrival_times("t\n1\n2023-11-16 18:17:05\n").unwrap_err().line, 3);
    assert_eq!(load_arrival_times("t\n-1\n").unwrap_err().line, 2);
    assert_eq!(load_arrival_times("header only\n").unwrap_err().message, "no arrivals in the trace");
    assert!(load_arrival_times("2023-13-01 00:00:00\n").is_err());
}

#[test]
fn days_from_civil_known_dates() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    assert_eq!(days_from_civil(2023, 11, 16), 19_677);
}
