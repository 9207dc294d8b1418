//! Per-service tallies: what one LLM or tool did over a run, kept by the
//! world as it answers calls (never read from the actors).

use std::collections::BTreeMap;

use rehearsal_runtime::{ServiceError, ServiceOutcome};

use crate::hist::{self, LatencyHistogram};
use crate::summary::ServiceSummary;

/// Counters and histograms of one service.
#[derive(Debug)]
pub struct Tally {
    pub calls: u64,
    pub succeeded: u64,
    pub errors_by_kind: BTreeMap<&'static str, u64>,
    pub rate_limited: u64,
    pub timeouts: u64,
    pub cancelled: u64,
    pub served_after_abandon: u64,
    pub queue_wait: LatencyHistogram,
    pub service_time: LatencyHistogram,
    pub ttft: LatencyHistogram,
    pub time_per_token: LatencyHistogram,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: f64,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            calls: 0,
            succeeded: 0,
            errors_by_kind: BTreeMap::new(),
            rate_limited: 0,
            timeouts: 0,
            cancelled: 0,
            served_after_abandon: 0,
            queue_wait: hist::new_latency_histogram(),
            service_time: hist::new_latency_histogram(),
            ttft: hist::new_latency_histogram(),
            time_per_token: hist::new_latency_histogram(),
            input_tokens: 0,
            output_tokens: 0,
            cost: 0.0,
        }
    }
}

/// The documented name of an error answer's kind.
pub fn error_kind(error: ServiceError, tool: bool) -> &'static str {
    match error {
        ServiceError::ServerError if tool => "tool_error",
        ServiceError::ServerError => "server_error",
        ServiceError::RateLimited { .. } => "rate_limited",
        ServiceError::Unavailable if tool => "crash",
        ServiceError::Unavailable => "unavailable",
        ServiceError::Conflict => "conflict",
    }
}

impl Tally {
    /// Count an answer (success or error) of the service.
    pub fn answer(&mut self, outcome: ServiceOutcome, tool: bool) {
        match outcome {
            ServiceOutcome::Ok { .. } => self.succeeded += 1,
            ServiceOutcome::Failed(e) => {
                if matches!(e, ServiceError::RateLimited { .. }) {
                    self.rate_limited += 1;
                }
                *self.errors_by_kind.entry(error_kind(e, tool)).or_insert(0) += 1;
            }
        }
    }

    /// Count a call that hung (no answer ever).
    pub fn hang(&mut self) {
        *self.errors_by_kind.entry("hang").or_insert(0) += 1;
    }

    /// The summary of this tally; `busy_fraction` is computed by the caller.
    pub fn summary(&self, kind: &str, busy_fraction: Option<f64>) -> ServiceSummary {
        ServiceSummary {
            kind: kind.to_owned(),
            calls: self.calls,
            succeeded: self.succeeded,
            errors_by_kind: self.errors_by_kind.iter().map(|(k, &v)| ((*k).to_owned(), v)).collect(),
            rate_limited: self.rate_limited,
            timeouts: self.timeouts,
            cancelled: self.cancelled,
            served_after_abandon: self.served_after_abandon,
            queue_wait_ms: hist::latency_ms(&self.queue_wait),
            service_time_ms: hist::latency_ms(&self.service_time),
            ttft_ms: hist::latency_ms(&self.ttft),
            time_per_token_ms: hist::latency_ms(&self.time_per_token),
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cost: libm::round(self.cost * 1e6) / 1e6,
            busy_fraction,
            store: None,
        }
    }
}
