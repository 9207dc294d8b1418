//! rehearsal's own implementation of the workloads, from `rehearsal_sim::workloads`.

use crate::common::{Done, RingSpec, TimerSpec};
use rehearsal_sim::workloads::{RingParams, TimerParams, WorkloadOutcome, ring as ring_w, timers as timers_w};

fn note(o: &WorkloadOutcome) -> Option<String> {
    Some(format!("events={} trace_hash={:016x}", o.events, o.trace_hash))
}

pub fn ring(spec: &RingSpec) -> Done {
    let p = RingParams {
        actors: spec.actors,
        tokens: spec.tokens,
        hops: spec.hops,
        hop_latency_ns: spec.latency_ns,
        seed: spec.seed,
    };
    let o = ring_w(&p).expect("rehearsal ring workload failed");
    Done { work: o.hops, sim_time_ns: o.sim_time_ns, note: note(&o) }
}

pub fn timers(spec: &TimerSpec) -> Done {
    let p = TimerParams {
        actors: spec.actors,
        timers_per_actor: spec.timers_per_actor,
        min_ms: spec.min_ms,
        max_ms: spec.max_ms,
        seed: spec.seed,
    };
    let o = timers_w(&p).expect("rehearsal timers workload failed");
    Done { work: o.timer_events, sim_time_ns: o.sim_time_ns, note: note(&o) }
}
