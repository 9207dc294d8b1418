//! The speed floor: a bare, hand-written discrete-event loop.
//!
//! A `BinaryHeap` of `(Reverse(time), Reverse(seq), event)`, a ChaCha8 RNG, and actors
//! as plain structs in a `Vec`. No tasks, no wakers, no dynamic dispatch.

use crate::common::{Done, RingSpec, TimerSpec};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct RingEvent {
    actor: u32,
    /// Hops this token still has to make.
    remaining: u32,
}

#[derive(Debug, Default, Clone, Copy)]
struct RingActor {
    received: u64,
}

pub fn ring(spec: &RingSpec) -> Done {
    let per_token = spec.hops_per_token() as u32;
    let mut actors = vec![RingActor::default(); spec.actors as usize];
    let mut heap: BinaryHeap<(Reverse<u64>, Reverse<u64>, RingEvent)> =
        BinaryHeap::with_capacity(spec.tokens as usize * 2);
    let mut seq = 0u64;
    for k in 0..spec.tokens {
        heap.push((Reverse(0), Reverse(seq), RingEvent { actor: spec.start_actor(k), remaining: per_token }));
        seq += 1;
    }
    let mut hops = 0u64;
    let mut now = 0u64;
    while let Some((Reverse(t), _, ev)) = heap.pop() {
        now = t;
        let a = &mut actors[ev.actor as usize];
        a.received += 1;
        if ev.remaining == 0 {
            continue;
        }
        let next = if ev.actor + 1 == spec.actors { 0 } else { ev.actor + 1 };
        heap.push((
            Reverse(now + spec.latency_ns),
            Reverse(seq),
            RingEvent { actor: next, remaining: ev.remaining - 1 },
        ));
        seq += 1;
        hops += 1;
    }
    let received: u64 = actors.iter().map(|a| a.received).sum();
    debug_assert_eq!(received, hops + spec.tokens as u64);
    Done { work: hops, sim_time_ns: now, note: None }
}

#[derive(Debug, Default, Clone, Copy)]
struct TimerActor {
    fired: u32,
}

pub fn timers(spec: &TimerSpec) -> Done {
    const MS: u64 = 1_000_000;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut actors = vec![TimerActor::default(); spec.actors as usize];
    let mut heap: BinaryHeap<(Reverse<u64>, Reverse<u64>, u32)> = BinaryHeap::with_capacity(spec.total() as usize);
    let mut seq = 0u64;
    // Every actor arms all of its timers at start.
    for a in 0..spec.actors {
        for _ in 0..spec.timers_per_actor {
            let d = spec.duration_ms(rng.next_u64()) * MS;
            heap.push((Reverse(d), Reverse(seq), a));
            seq += 1;
        }
    }
    let mut fired = 0u64;
    let mut now = 0u64;
    while let Some((Reverse(t), _, a)) = heap.pop() {
        now = t;
        fired += 1;
        actors[a as usize].fired += 1;
    }
    debug_assert!(actors.iter().all(|a| a.fired == spec.timers_per_actor));
    Done { work: fired, sim_time_ns: now, note: None }
}
