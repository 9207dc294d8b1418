//! `[policies.NAME]`: named resilience policies for service calls, compared
//! whole by the `policy` strategy axis (`policy = ["retries_only",
//! "protected"]`). A policy applies at every call site of the fleet: pool
//! agents' calls and role agents' call steps. See `docs/scenario.md`.

use rehearsal_runtime::Nanos;
use rehearsal_runtime::resilience::BreakerConfig;

use super::Step;
use crate::strategy::retry::Retry;

/// One named policy.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicySpec {
    pub name: String,
    /// `retry`: the policy's retry, over the `retry` axis (a step's own
    /// `retry` still wins).
    pub retry: Option<Retry>,
    /// `budget`: retries allowed only while the client's budget allows.
    pub budget: Option<BudgetSpec>,
    /// `breaker`: a circuit breaker per agent and service.
    pub breaker: Option<BreakerConfig>,
    /// `fallback = ["llm:backup", ...]`: when an LLM call fails for good (its
    /// retries spent, its breaker open, or 429), the same call to the next
    /// model of the list.
    pub fallback: Vec<Step>,
}

/// `budget = { kind = "grpc", max_tokens, token_ratio }` or `{ kind =
/// "finagle", percent, min_per_s, ttl }`, per agent (one client).
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum BudgetSpec {
    /// gRPC retry throttling: tokens, `token_ratio_milli` thousandths of a
    /// token back per success.
    Grpc { max_tokens: u32, token_ratio_milli: u32 },
    /// Finagle's RetryBudget.
    Finagle { ttl_ns: Nanos, min_per_s: u32, percent: u32 },
}
