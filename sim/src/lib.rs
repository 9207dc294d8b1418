//! rehearsal-sim: the deterministic kernel and the world models.
//!
//! One thread per run; virtual time in integer nanoseconds that jumps from
//! event to event; a total order on events; seeded ChaCha streams per
//! component; a trace hash over every event. See ARCHITECTURE.md.
//!
//! A [`SimBuilder`] fixes a run's settings (seed, limits, network,
//! mailboxes, trace, BUGGIFY) and builds a [`Sim`] around a [`World`]:
//! the environment that is not actors (clients, services, faults;
//! [`EmptyWorld`] when there is none). Faults are scheduled on the kernel;
//! the same seed is the same run, event for event:
//!
//! ```
//! use rehearsal_runtime::{Actor, Ctx, NodeId};
//! use rehearsal_sim::{EmptyWorld, Fault, Sim, SimBuilder};
//!
//! /// Pings its peer (by registered name) every 10 ms, forever.
//! #[derive(Debug)]
//! struct Pinger { peer: u64, me: u64, got: u32 }
//!
//! impl Actor for Pinger {
//!     type Msg = u8;
//!     fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
//!         ctx.register(self.me);
//!         ctx.set_timer(10_000_000, 0);
//!     }
//!     fn handle(&mut self, _: u8, _: &mut Ctx<'_, Self>) {
//!         self.got += 1;
//!     }
//!     fn on_timer(&mut self, _: rehearsal_runtime::TimerId, _: u64, ctx: &mut Ctx<'_, Self>) {
//!         ctx.tell_named(self.peer, 0);
//!         ctx.set_timer(10_000_000, 0);
//!     }
//! }
//!
//! let run = |seed| {
//!     let mut sim: Sim<Pinger, EmptyWorld> = SimBuilder::new().seed(seed).build(EmptyWorld);
//!     sim.spawn(NodeId(0), Pinger { peer: 2, me: 1, got: 0 });
//!     sim.spawn(NodeId(1), Pinger { peer: 1, me: 2, got: 0 });
//!     // Node 1 crashes at 55 ms and never comes back.
//!     sim.kernel_mut().fault_at(55_000_000, Fault::CrashNode(NodeId(1)));
//!     sim.run_until(100_000_000).unwrap();
//!     (sim.trace_hash(), sim.system().whereis(2))
//! };
//! let (hash, survivor) = run(7);
//! assert_eq!(survivor, None, "the crashed node's actor is gone");
//! assert_eq!(run(7).0, hash, "same seed, same run");
//! ```

pub mod activity;
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
    EmptyWorld, Event, Fault, FaultSlot, Kernel, Limits, RunEnd, SITE_SLOW_MESSAGE, Sim, SimBuilder, SimConfig,
    SimError, World,
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
