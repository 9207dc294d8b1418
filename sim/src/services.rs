//! What the service models share: the drawn answer to one call, and the
//! Poisson arrival process of the workload. The models themselves are
//! [`crate::llm::LlmService`] and [`crate::tools::ToolService`].

use rand_core::Rng;
use rehearsal_runtime::{Nanos, ServiceOutcome};

use crate::dist::Dist;

/// The drawn answer to one call.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub latency: Nanos,
    pub outcome: ServiceOutcome,
    pub input_tokens: u32,
    pub output_tokens: u32,
}

/// A Poisson arrival process: exponential gaps with mean `1 / rate`.
#[derive(Clone, Debug, PartialEq)]
pub struct PoissonArrivals {
    gap: Dist,
}

impl PoissonArrivals {
    /// `rate_per_s` > 0 arrivals per simulated second.
    pub fn new(rate_per_s: f64) -> Self {
        PoissonArrivals { gap: Dist::Exponential { mean: 1e9 / rate_per_s } }
    }

    /// Time from one arrival to the next.
    #[inline]
    pub fn next_gap<R: Rng + ?Sized>(&self, rng: &mut R) -> Nanos {
        // At least 1 ns, so arrivals are strictly ordered in time.
        self.gap.sample_u64(rng).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn poisson_rate_is_respected() {
        let p = PoissonArrivals::new(40.0);
        let mut rng = stream(3, "workload");
        let total: u64 = (0..100_000).map(|_| p.next_gap(&mut rng)).sum();
        let rate = 100_000.0 / (total as f64 / 1e9);
        assert!((rate - 40.0).abs() / 40.0 < 0.01, "{rate}");
    }
}
