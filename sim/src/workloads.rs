//! The two reference workloads of the benchmarks (criterion in
//! `benches/kernel.rs`, and `benches/peers/` against madsim and turmoil):
//!
//! - W1 `ring`: actors in a ring pass tokens to their successor, each hop
//!   taking a fixed simulated latency;
//! - W2 `timers`: every actor sets seeded random timers at start.

use rehearsal_runtime::{Actor, ActorId, Ctx, Envelope, Nanos, NodeId, Route, SystemConfig, TimerId};

use crate::kernel::{EmptyWorld, Limits, Sim, SimConfig, SimError};
use crate::net::{Latency, Network};

/// W1's parameters.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RingParams {
    pub actors: u32,
    pub tokens: u32,
    /// Hops in all, over all tokens.
    pub hops: u64,
    pub hop_latency_ns: u64,
    pub seed: u64,
}

impl Default for RingParams {
    fn default() -> Self {
        RingParams { actors: 1_000, tokens: 100, hops: 1_000_000, hop_latency_ns: 1_000_000, seed: 1 }
    }
}

/// W2's parameters.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TimerParams {
    pub actors: u32,
    pub timers_per_actor: u32,
    pub min_ms: u64,
    pub max_ms: u64,
    pub seed: u64,
}

impl Default for TimerParams {
    fn default() -> Self {
        TimerParams { actors: 100_000, timers_per_actor: 10, min_ms: 1, max_ms: 1_000, seed: 1 }
    }
}

/// What a workload run did.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkloadOutcome {
    pub hops: u64,
    pub timer_events: u64,
    pub events: u64,
    pub trace_hash: u64,
    pub sim_time_ns: u64,
}

/// A ring member: forwards every token to `next` until the token's hops run out.
#[derive(Debug)]
pub struct RingActor {
    next: ActorId,
    hops: u64,
}

/// A token with the hops it has left.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Token {
    pub hops_left: u32,
}

impl Actor for RingActor {
    type Msg = Token;

    #[inline]
    fn handle(&mut self, token: Token, ctx: &mut Ctx<'_, Self>) {
        self.hops += 1;
        if token.hops_left > 1 {
            ctx.tell(self.next, Token { hops_left: token.hops_left - 1 });
        }
    }
}

fn limits_for(events: u64) -> Limits {
    Limits { max_events: events.saturating_mul(2).max(1_000), ..Limits::default() }
}

/// Build W1 ready to run (exposed so benchmarks can time only the run).
pub fn ring_sim(p: &RingParams) -> Sim<RingActor, EmptyWorld> {
    let config = SimConfig {
        seed: p.seed,
        limits: limits_for(p.hops),
        system: SystemConfig::default(),
        network: Network::uniform(Latency::Fixed(p.hop_latency_ns)),
        record_trace: false,
        trace: Default::default(),
        activity: None,
        buggify: crate::buggify::BuggifyConfig::off(),
    };
    let mut sim = Sim::new(config, EmptyWorld);
    sim.system_mut().reserve(p.actors as usize);
    let ids: Vec<ActorId> =
        (0..p.actors).map(|_| sim.spawn(NodeId(0), RingActor { next: ActorId::EXTERNAL, hops: 0 })).collect();
    for (i, &id) in ids.iter().enumerate() {
        if let Some(a) = sim.system_mut().actor_mut(id) {
            a.next = ids[(i + 1) % ids.len()];
        }
    }
    let tokens = p.tokens.max(1) as u64;
    let spacing = (p.actors as u64 / tokens).max(1);
    for t in 0..tokens {
        // Spread the hops so that they add up to exactly `p.hops`.
        let hops_left = (p.hops / tokens + u64::from(t < p.hops % tokens)) as u32;
        if hops_left == 0 {
            continue;
        }
        let to = ids[((t * spacing) % p.actors as u64) as usize];
        sim.kernel_mut().deliver_at(
            0,
            to,
            Envelope { from: ActorId::EXTERNAL, route: Route::Tell, msg: Token { hops_left } },
        );
    }
    sim
}

/// Run W1 to completion.
pub fn ring(p: &RingParams) -> Result<WorkloadOutcome, SimError> {
    let mut sim = ring_sim(p);
    sim.run()?;
    let hops = sim.system().actors().map(|(_, a)| a.hops).sum();
    Ok(WorkloadOutcome {
        hops,
        timer_events: 0,
        events: sim.kernel().events(),
        trace_hash: sim.trace_hash(),
        sim_time_ns: sim.kernel().now(),
    })
}

/// Kernel and runtime bytes per idle actor: `actors` W1 ring members are
/// spawned (no token in flight) and [`Sim::memory_bytes`] is shared out.
pub fn idle_actor_bytes(actors: u32) -> usize {
    let mut sim = ring_sim(&RingParams { actors, tokens: 1, hops: 0, ..RingParams::default() });
    sim.run().expect("an idle ring runs");
    sim.memory_bytes() / actors.max(1) as usize
}

/// W2's actor: sets its timers at start and counts them as they fire.
#[derive(Debug)]
pub struct TimerActor {
    timers: u32,
    min_ms: u64,
    span_ms: u64,
    fired: u32,
}

impl Actor for TimerActor {
    type Msg = ();

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        for tag in 0..self.timers {
            let after: Nanos = (self.min_ms + ctx.random_below(self.span_ms)) * 1_000_000;
            ctx.set_timer(after, tag as u64);
        }
    }

    fn handle(&mut self, _: (), _: &mut Ctx<'_, Self>) {}

    #[inline]
    fn on_timer(&mut self, _: TimerId, _: u64, _: &mut Ctx<'_, Self>) {
        self.fired += 1;
    }
}

/// Build W2 ready to run: every actor spawned and its timers set.
pub fn timers_sim(p: &TimerParams) -> Sim<TimerActor, EmptyWorld> {
    let total = p.actors as u64 * p.timers_per_actor as u64;
    let config = SimConfig { seed: p.seed, limits: limits_for(total), ..SimConfig::default() };
    let mut sim = Sim::new(config, EmptyWorld);
    sim.system_mut().reserve(p.actors as usize);
    // Whole milliseconds, min..=max, as the workload's definition says.
    let span_ms = p.max_ms.saturating_sub(p.min_ms) + 1;
    for _ in 0..p.actors {
        sim.spawn(NodeId(0), TimerActor { timers: p.timers_per_actor, min_ms: p.min_ms, span_ms, fired: 0 });
    }
    sim
}

/// Run W2 to completion.
pub fn timers(p: &TimerParams) -> Result<WorkloadOutcome, SimError> {
    let mut sim = timers_sim(p);
    sim.run()?;
    let timer_events = sim.system().actors().map(|(_, a)| a.fired as u64).sum();
    Ok(WorkloadOutcome {
        hops: 0,
        timer_events,
        events: sim.kernel().events(),
        trace_hash: sim.trace_hash(),
        sim_time_ns: sim.kernel().now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_does_exactly_the_hops_asked_for() {
        let p = RingParams { actors: 50, tokens: 7, hops: 10_003, ..RingParams::default() };
        let out = ring(&p).unwrap();
        assert_eq!(out.hops, 10_003);
        assert_eq!(out.events, 10_003);
        // 7 tokens share 10_003 hops: the longest makes 1_429, 1 ms apart.
        assert_eq!(out.sim_time_ns, 1_428 * 1_000_000);
        assert_eq!(out, ring(&p).unwrap(), "same seed, same run");
    }

    /// Pins W1's trace hash: an optimisation must not change what a run
    /// does nor what its trace folds.
    #[test]
    fn ring_trace_hash_is_pinned() {
        let p = RingParams { actors: 50, tokens: 7, hops: 10_003, ..RingParams::default() };
        let out = ring(&p).unwrap();
        assert_eq!(out.trace_hash, 0x3575_367c_2576_6826, "{:#x}", out.trace_hash);
    }

    /// Pins W2's trace hash, for the same reason.
    #[test]
    fn timers_trace_hash_is_pinned() {
        let p = TimerParams { actors: 300, timers_per_actor: 7, ..TimerParams::default() };
        let out = timers(&p).unwrap();
        assert_eq!(out.trace_hash, 0x3d37_b244_d709_b3c1, "{:#x}", out.trace_hash);
    }

    #[test]
    fn timers_fire_once_each_within_their_range() {
        let p = TimerParams { actors: 1_000, timers_per_actor: 10, ..TimerParams::default() };
        let out = timers(&p).unwrap();
        assert_eq!(out.timer_events, 10_000);
        assert!(out.sim_time_ns <= 1_000 * 1_000_000 && out.sim_time_ns >= 990 * 1_000_000);
        let other_seed = timers(&TimerParams { seed: 2, ..p }).unwrap();
        assert_ne!(out.trace_hash, other_seed.trace_hash);
        assert_eq!(out, timers(&p).unwrap());
    }

    #[test]
    fn idle_actors_cost_at_most_256_bytes_each() {
        let bytes = idle_actor_bytes(100_000);
        println!("kernel + runtime bytes per idle actor: {bytes}");
        assert!(bytes <= 256, "{bytes} bytes per idle actor");
        assert!(bytes >= size_of::<RingActor>());
    }

    #[test]
    fn event_limit_is_a_named_error() {
        let mut sim = ring_sim(&RingParams { actors: 10, tokens: 1, hops: 100, ..RingParams::default() });
        sim.set_limits(Limits { max_events: 10, ..Limits::default() });
        let err = sim.run().unwrap_err();
        assert_eq!(err.limit_name(), "max_events");
        assert!(err.to_string().contains("max_events"), "{err}");
    }
}
