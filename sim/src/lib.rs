//! rehearsal-sim: the deterministic kernel and the world models.
//!
//! One thread per run; virtual time in integer nanoseconds that jumps from
//! event to event; a total order on events; seeded ChaCha streams per
//! component; a trace hash over every event. See ARCHITECTURE.md.

pub mod arrivals;
pub mod buggify;
pub mod dist;
pub mod fit;
mod kernel;
pub mod llm;
pub mod net;
pub mod queue;
pub mod ratelimit;
pub mod rng;
pub mod services;
pub mod tools;
pub mod trace;
pub mod workloads;

pub use kernel::{
    EmptyWorld, Event, Fault, FaultSlot, Kernel, Limits, RunEnd, SITE_SLOW_MESSAGE, Sim, SimConfig, SimError, World,
};

use rehearsal_runtime::Nanos;

/// Nanoseconds as a short human duration (`1.5s`, `250ms`, `42us`, `7ns`).
pub fn fmt_nanos(ns: Nanos) -> String {
    const S: u64 = 1_000_000_000;
    if ns >= S {
        format!("{}s", trim(ns as f64 / S as f64))
    } else if ns >= 1_000_000 {
        format!("{}ms", trim(ns as f64 / 1e6))
    } else if ns >= 1_000 {
        format!("{}us", trim(ns as f64 / 1e3))
    } else {
        format!("{ns}ns")
    }
}

fn trim(x: f64) -> String {
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
