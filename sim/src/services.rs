//! Simulated external services: LLM endpoints and tools.
//!
//! A call's answer is drawn from the service's own random stream: a latency,
//! then success or a server error, and (for LLMs) token counts.
//!
//! These are the simple, stateless models. The stateful ones, with
//! concurrency, queues, rate limits, hangs, cold starts, brownouts, cost and
//! profiles fitted to real data, are [`crate::llm::LlmService`] and
//! [`crate::tools::ToolService`] (with a side-effect ledger).

use rand_core::Rng;
use rehearsal_runtime::{Nanos, ServiceError, ServiceOutcome};

use crate::dist::{Dist, unit_f64};

/// Token counts of an LLM call.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenModel {
    /// Prompt tokens.
    pub input: Dist,
    /// Generated tokens.
    pub output: Dist,
}

/// One service's behaviour.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceModel {
    /// Time from the call to its answer.
    pub latency: Dist,
    /// Chance that a call fails with a server error, in `[0, 1]`.
    pub error_rate: f64,
    /// Token counts, for LLM services; `None` for tools.
    pub tokens: Option<TokenModel>,
}

/// The drawn answer to one call.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub latency: Nanos,
    pub outcome: ServiceOutcome,
    pub input_tokens: u32,
    pub output_tokens: u32,
}

impl ServiceModel {
    /// Draw the answer to one call. The number of draws per call is fixed
    /// (latency, error, then tokens if any), so one call's outcome never
    /// shifts the draws of the next.
    pub fn answer<R: Rng + ?Sized>(&self, rng: &mut R) -> Answer {
        let latency = self.latency.sample_u64(rng);
        let failed = unit_f64(rng) < self.error_rate;
        let (input_tokens, output_tokens) = match &self.tokens {
            Some(t) => (clamp_u32(t.input.sample_u64(rng)), clamp_u32(t.output.sample_u64(rng)).max(1)),
            None => (0, 0),
        };
        let outcome = if failed {
            ServiceOutcome::Failed(ServiceError::ServerError)
        } else {
            ServiceOutcome::Ok { output_tokens }
        };
        // A failed call still consumed its prompt but produced nothing.
        let output_tokens = if failed { 0 } else { output_tokens };
        Answer { latency, outcome, input_tokens, output_tokens }
    }
}

fn clamp_u32(x: u64) -> u32 {
    x.min(u32::MAX as u64) as u32
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
    fn error_rate_is_respected() {
        let m = ServiceModel { latency: Dist::Constant { value: 5.0 }, error_rate: 0.25, tokens: None };
        let mut rng = stream(3, "llm");
        let n = 100_000;
        let failed = (0..n).filter(|_| matches!(m.answer(&mut rng).outcome, ServiceOutcome::Failed(_))).count();
        assert!((failed as f64 / n as f64 - 0.25).abs() < 0.01, "{failed}");
    }

    #[test]
    fn poisson_rate_is_respected() {
        let p = PoissonArrivals::new(40.0);
        let mut rng = stream(3, "workload");
        let total: u64 = (0..100_000).map(|_| p.next_gap(&mut rng)).sum();
        let rate = 100_000.0 / (total as f64 / 1e9);
        assert!((rate - 40.0).abs() / 40.0 < 0.01, "{rate}");
    }
}
