//! Request mixes: which type each arriving request is, and its key.

use rehearsal_runtime::Nanos;
use rehearsal_sim::dist::unit_f64;
use rehearsal_sim::rng::StreamRng;

use crate::scenario::{KeyDist, RequestType};

/// How a key is drawn.
#[derive(Clone, Debug)]
pub enum KeySampler {
    /// Uniform over `1..=keys`.
    Uniform(u32),
    /// Zipf over `1..=cdf.len()`: `cdf[k - 1]` is P(key <= k), shared
    /// with the scenario (computed once, at load).
    Zipf(std::sync::Arc<[f64]>),
}

impl KeySampler {
    pub fn new(dist: &KeyDist) -> Self {
        match dist {
            KeyDist::Uniform { keys } => KeySampler::Uniform((*keys).max(1)),
            KeyDist::Zipf { cdf, .. } => KeySampler::Zipf(cdf.0.clone()),
        }
    }

    /// One key, from one uniform draw.
    pub fn sample(&self, rng: &mut StreamRng) -> u32 {
        let u = unit_f64(rng);
        match self {
            KeySampler::Uniform(keys) => ((u * f64::from(*keys)) as u32).min(keys - 1) + 1,
            KeySampler::Zipf(cdf) => (cdf.partition_point(|&c| c <= u).min(cdf.len() - 1) + 1) as u32,
        }
    }
}

/// The request types of a run, ready to draw from.
#[derive(Clone, Debug)]
pub struct Mix {
    /// Cumulative normalised weights.
    cum: Vec<f64>,
    keys: Vec<Option<KeySampler>>,
    /// Each type's client deadline.
    pub deadlines: Vec<Nanos>,
}

impl Mix {
    pub fn new(types: &[RequestType]) -> Self {
        let total: f64 = types.iter().map(|t| t.weight).sum();
        let mut acc = 0.0;
        let cum = types
            .iter()
            .map(|t| {
                acc += t.weight;
                acc / total
            })
            .collect();
        Mix {
            cum,
            keys: types.iter().map(|t| t.key.as_ref().map(KeySampler::new)).collect(),
            deadlines: types.iter().map(|t| t.deadline_ns).collect(),
        }
    }

    /// Whether there is more than one type or any key: only then does an
    /// arrival draw (a single keyless type draws nothing, so simple
    /// scenarios keep their traces).
    pub fn draws(&self) -> bool {
        self.cum.len() > 1 || self.keys.iter().any(Option::is_some)
    }

    /// An arrival's type and key: the type (if more than one), then the key
    /// (if the type has one), in that order.
    pub fn draw(&self, rng: &mut StreamRng) -> (u16, u32) {
        let kind = if self.cum.len() > 1 {
            let u = unit_f64(rng);
            self.cum.partition_point(|&c| c <= u).min(self.cum.len() - 1)
        } else {
            0
        };
        let key = self.keys[kind].as_ref().map_or(0, |k| k.sample(rng));
        (kind as u16, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rehearsal_sim::rng::stream;

    fn kind(name: &str, weight: f64, key: Option<KeyDist>) -> RequestType {
        RequestType { name: name.into(), weight, steps: vec![], deadline_ns: 1, key, workflow: None }
    }

    /// Chi-square over several seeds: type frequencies follow the weights.
    #[test]
    fn type_frequencies_match_the_weights() {
        let weights = [1.0, 3.0, 0.5, 5.5];
        let types: Vec<_> = weights.iter().map(|&w| kind("t", w, None)).collect();
        let mix = Mix::new(&types);
        assert!(mix.draws());
        let total: f64 = weights.iter().sum();
        for seed in 1..=5 {
            let mut rng = stream(seed, "workload");
            let n = 100_000;
            let mut counts = [0u64; 4];
            for _ in 0..n {
                counts[usize::from(mix.draw(&mut rng).0)] += 1;
            }
            let chi2: f64 = counts
                .iter()
                .zip(weights)
                .map(|(&c, w)| {
                    let e = n as f64 * w / total;
                    (c as f64 - e).powi(2) / e
                })
                .sum();
            // 3 degrees of freedom: P(chi2 > 16.27) = 0.001.
            assert!(chi2 < 16.27, "seed {seed}: chi2 {chi2}, counts {counts:?}");
        }
    }

    /// Zipf keys over 1..=5 with s = 1.1: frequencies match 1/k^s normalised.
    #[test]
    fn zipf_frequencies_match() {
        let (keys, s) = (5u32, 1.1);
        let mix =
            Mix::new(&[kind("z", 1.0, Some(KeyDist::Zipf { keys, s, cdf: crate::scenario::ZipfCdf::new(keys, s) }))]);
        let norm: f64 = (1..=keys).map(|k| 1.0 / f64::from(k).powf(s)).sum();
        let mut rng = stream(7, "workload");
        let n = 200_000;
        let mut counts = vec![0u64; keys as usize];
        for _ in 0..n {
            let (t, k) = mix.draw(&mut rng);
            assert_eq!(t, 0);
            assert!((1..=keys).contains(&k));
            counts[(k - 1) as usize] += 1;
        }
        let chi2: f64 = (1..=keys)
            .map(|k| {
                let e = n as f64 * (1.0 / f64::from(k).powf(s)) / norm;
                (counts[(k - 1) as usize] as f64 - e).powi(2) / e
            })
            .sum();
        // 4 degrees of freedom: P(chi2 > 18.47) = 0.001.
        assert!(chi2 < 18.47, "chi2 {chi2}, counts {counts:?}");
    }

    #[test]
    fn uniform_keys_cover_the_range_and_one_keyless_type_draws_nothing() {
        let mix = Mix::new(&[kind("u", 1.0, Some(KeyDist::Uniform { keys: 3 }))]);
        let mut rng = stream(1, "workload");
        let mut seen = [0u64; 3];
        for _ in 0..3_000 {
            seen[(mix.draw(&mut rng).1 - 1) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 800), "{seen:?}");
        assert!(!Mix::new(&[kind("d", 1.0, None)]).draws());
    }
}
