//! Stores: one versioned row each, read and written with compare-and-set
//! (optimistic concurrency), as in Brooker's backoff experiment ("Exponential
//! Backoff and Jitter", 2015). A request crosses one `hop` to the store,
//! changes (or reads) the row when it arrives, and the answer crosses one
//! `hop` back.

use rehearsal_runtime::{Message, Nanos, ServiceCall, ServiceError, ServiceOutcome};
use rehearsal_sim::Kernel;
use rehearsal_sim::dist::Dist;
use rehearsal_sim::rng::{call_stream, fnv1a64};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::WorldEvent;
use super::services::Caller;
use crate::ledger::{Ledger, SpanStatus};
use crate::scenario::StoreModel;
use crate::system::StoreOp;

/// A store's counts over a run.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreCounts {
    pub reads: u64,
    /// Writes that reached the store, won or lost.
    pub writes: u64,
    /// Writes that lost (the row had changed since their read).
    pub conflicts: u64,
}

/// One store.
#[derive(Debug)]
pub struct Store {
    pub name: String,
    hop: Dist,
    stream: u64,
    version: u32,
    pub counts: StoreCounts,
}

/// A request on its way to a store.
#[derive(Copy, Clone, Debug)]
struct InFlight {
    caller: Caller,
    store: u16,
    op: StoreOp,
    span: usize,
    /// The answer's way back.
    hop_back: Nanos,
}

/// Every store of a run, and the requests on their way to them.
#[derive(Debug, Default)]
pub struct Stores {
    pub stores: Vec<Store>,
    in_flight: FxHashMap<(u64, u64), InFlight>,
}

impl Stores {
    pub fn new(models: &[StoreModel]) -> Stores {
        let stores = models
            .iter()
            .map(|m| Store {
                name: m.name.clone(),
                hop: m.hop.clone(),
                stream: fnv1a64(format!("store:{}", m.name).as_bytes()),
                version: 0,
                counts: StoreCounts::default(),
            })
            .collect();
        Stores { stores, in_flight: FxHashMap::default() }
    }

    /// A call reached the world: it arrives at the store after one hop.
    #[allow(clippy::too_many_arguments)]
    pub fn call<M: Message>(
        &mut self,
        seed: u64,
        i: u16,
        caller: Caller,
        call: ServiceCall,
        attempt: u32,
        span: usize,
        kernel: &mut Kernel<M, WorldEvent>,
    ) {
        let Some(store) = self.stores.get(usize::from(i)) else { return };
        let mut rng = call_stream(seed, store.stream, call.idempotency_key, attempt);
        let hop_there = store.hop.sample_u64(&mut rng);
        let hop_back = store.hop.sample_u64(&mut rng);
        let op = StoreOp::decode(call.input_tokens);
        self.in_flight.insert(caller.key(), InFlight { caller, store: i, op, span, hop_back });
        let (actor, request) = caller.key();
        kernel.schedule(kernel.now().saturating_add(hop_there), WorldEvent::StoreArrive { actor, request });
    }

    /// A request arrives at its store: read or compare-and-set now, answer
    /// after the hop back.
    pub fn arrive<M: Message>(&mut self, key: (u64, u64), ledger: &mut Ledger, kernel: &mut Kernel<M, WorldEvent>) {
        let Some(f) = self.in_flight.remove(&key) else { return };
        let Some(store) = self.stores.get_mut(usize::from(f.store)) else { return };
        let now = kernel.now();
        let outcome = match f.op {
            StoreOp::Read => {
                store.counts.reads += 1;
                ServiceOutcome::Ok { output_tokens: store.version }
            }
            StoreOp::Write { expected_version } => {
                store.counts.writes += 1;
                if expected_version == store.version {
                    store.version = store.version.wrapping_add(1);
                    ServiceOutcome::Ok { output_tokens: store.version }
                } else {
                    store.counts.conflicts += 1;
                    ServiceOutcome::Failed(ServiceError::Conflict)
                }
            }
        };
        let at = now.saturating_add(f.hop_back);
        if let Some(s) = ledger.span_mut(f.span) {
            s.set_started(now);
            let deadline = s.deadline();
            if at >= deadline {
                s.end(deadline.max(s.called_at), SpanStatus::TimedOut);
            } else {
                s.end(at, SpanStatus::Answered { ok: matches!(outcome, ServiceOutcome::Ok { .. }) });
            }
        }
        kernel.complete_call(at, f.caller.actor, f.caller.request, outcome);
    }
}
