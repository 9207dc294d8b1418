//! What the service models share: the drawn answer to one call. The models
//! themselves are [`crate::llm::LlmService`] and [`crate::tools::ToolService`];
//! arrivals are in [`crate::arrivals`].

use rehearsal_runtime::{Nanos, ServiceOutcome};

/// The drawn answer to one call.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub latency: Nanos,
    pub outcome: ServiceOutcome,
    pub input_tokens: u32,
    pub output_tokens: u32,
}
