//! Calls to services: LLM endpoints and tools, addressed by [`ServiceId`].
//!
//! A call is data; the driver decides how it is answered (a world model in
//! the simulator, a real client in production).

use crate::id::{Nanos, ServiceId};

/// One call to a service.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServiceCall {
    pub service: ServiceId,
    /// Prompt tokens (LLM) or payload size; 0 when it does not apply.
    pub input_tokens: u32,
    /// Identifies the logical operation across retries, so duplicate side
    /// effects can be detected.
    pub idempotency_key: u64,
    /// How long the caller waits for the answer (its timeout, relative to
    /// the call). Carried with the call as gRPC carries a deadline, so a
    /// service (and the simulator's ledger) knows when its caller gives up.
    pub timeout: Nanos,
    /// The caller's trace context (as a `traceparent` header carries one):
    /// opaque to the runtime and to a service's behaviour, it lets an
    /// observer (the simulator's ledger) file the call under the work it
    /// was made for. [`Ctx::call`](crate::Ctx::call) sets it to the
    /// idempotency key.
    pub trace: u64,
}

/// What a service answered.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ServiceOutcome {
    /// Success; `output_tokens` is 0 for services without tokens.
    Ok { output_tokens: u32 },
    /// The service answered with an error.
    Failed(ServiceError),
}

/// Why a service call failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ServiceError {
    /// A 5xx-style server error.
    ServerError,
    /// Rate limited (HTTP 429); retry no sooner than `retry_after`.
    RateLimited { retry_after: Nanos },
    /// The service could not be reached.
    Unavailable,
    /// A conditional write lost: what it was conditioned on changed (HTTP
    /// 409, optimistic concurrency).
    Conflict,
}
