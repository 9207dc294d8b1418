//! Kernel benchmarks: the reference workloads W1 (ring) and W2 (timers),
//! each next to a bare "floor" that does the same work with no runtime, no
//! trace and no limits (a `BinaryHeap` of plain tuples, a `ChaCha8Rng`,
//! actors as plain structs in a `Vec`), so that one run shows the ratio.
//!
//! `cargo bench --bench kernel` (a couple of minutes). Also prints the
//! kernel + runtime bytes per idle actor (not a timing).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand_core::Rng;
use rehearsal_sim::rng::{StreamRng, stream};
use rehearsal_sim::workloads::{RingParams, TimerParams, idle_actor_bytes, ring, timers};

/// W1 by hand: the same tokens, spacing and hop counts as `ring_sim`.
fn floor_ring(p: &RingParams) -> u64 {
    struct Member {
        next: u32,
        hops: u64,
    }
    let n = p.actors;
    let mut actors: Vec<Member> = (0..n).map(|i| Member { next: (i + 1) % n, hops: 0 }).collect();
    let mut heap: BinaryHeap<(Reverse<u64>, Reverse<u64>, u32, u32)> = BinaryHeap::new();
    let mut seq = 0u64;
    let tokens = p.tokens.max(1) as u64;
    let spacing = (n as u64 / tokens).max(1);
    for t in 0..tokens {
        let hops_left = (p.hops / tokens + u64::from(t < p.hops % tokens)) as u32;
        if hops_left == 0 {
            continue;
        }
        let to = ((t * spacing) % n as u64) as u32;
        heap.push((Reverse(0), Reverse(seq), to, hops_left));
        seq += 1;
    }
    while let Some((Reverse(time), _, actor, hops_left)) = heap.pop() {
        let a = &mut actors[actor as usize];
        a.hops += 1;
        if hops_left > 1 {
            heap.push((Reverse(time + p.hop_latency_ns), Reverse(seq), a.next, hops_left - 1));
            seq += 1;
        }
    }
    actors.iter().map(|a| a.hops).sum()
}

/// Uniform in `[0, bound)` without bias, as `Ctx::random_below` draws.
fn below(rng: &mut StreamRng, bound: u64) -> u64 {
    let threshold = bound.wrapping_neg() % bound;
    loop {
        let m = (rng.next_u64() as u128) * (bound as u128);
        if (m as u64) >= threshold {
            return (m >> 64) as u64;
        }
    }
}

/// W2 by hand: every timer pushed at start, then all of them popped.
fn floor_timers(p: &TimerParams) -> u64 {
    struct Member {
        fired: u32,
    }
    let mut actors: Vec<Member> = (0..p.actors).map(|_| Member { fired: 0 }).collect();
    let mut rng = stream(p.seed, "runtime");
    let span_ms = p.max_ms.saturating_sub(p.min_ms) + 1;
    let mut heap: BinaryHeap<(Reverse<u64>, Reverse<u64>, u32, u32)> =
        BinaryHeap::with_capacity(p.actors as usize * p.timers_per_actor as usize);
    let mut seq = 0u64;
    for a in 0..p.actors {
        for tag in 0..p.timers_per_actor {
            let at = (p.min_ms + below(&mut rng, span_ms)) * 1_000_000;
            heap.push((Reverse(at), Reverse(seq), a, tag));
            seq += 1;
        }
    }
    while let Some((_, _, actor, _)) = heap.pop() {
        actors[actor as usize].fired += 1;
    }
    actors.iter().map(|a| a.fired as u64).sum()
}

fn configure() -> Criterion {
    Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4))
}

fn w1(c: &mut Criterion) {
    let mut g = c.benchmark_group("w1_ring");
    for (name, actors) in [("1k_actors", 1_000), ("100k_actors", 100_000)] {
        let p = RingParams { actors, ..RingParams::default() };
        g.throughput(Throughput::Elements(p.hops));
        g.bench_function(name, |b| {
            b.iter(|| {
                let out = ring(black_box(&p)).expect("W1 runs");
                assert_eq!(out.hops, p.hops);
                out.trace_hash
            })
        });
    }
    g.finish();
}

fn w2(c: &mut Criterion) {
    let mut g = c.benchmark_group("w2_timers");
    let p = TimerParams::default();
    let total = p.actors as u64 * p.timers_per_actor as u64;
    g.throughput(Throughput::Elements(total));
    g.bench_function("100k_actors", |b| {
        b.iter(|| {
            let out = timers(black_box(&p)).expect("W2 runs");
            assert_eq!(out.timer_events, total);
            out.trace_hash
        })
    });
    g.finish();
}

fn floor(c: &mut Criterion) {
    let mut g = c.benchmark_group("floor");
    for (name, actors) in [("w1_ring", 1_000), ("w1_ring_100k", 100_000)] {
        let p = RingParams { actors, ..RingParams::default() };
        g.throughput(Throughput::Elements(p.hops));
        g.bench_function(name, |b| {
            b.iter(|| {
                let hops = floor_ring(black_box(&p));
                assert_eq!(hops, p.hops);
                hops
            })
        });
    }
    let p = TimerParams::default();
    let total = p.actors as u64 * p.timers_per_actor as u64;
    g.throughput(Throughput::Elements(total));
    g.bench_function("w2_timers", |b| {
        b.iter(|| {
            let fired = floor_timers(black_box(&p));
            assert_eq!(fired, total);
            fired
        })
    });
    g.finish();
}

/// Not a timing: the kernel + runtime bytes per idle actor (the test
/// `idle_actors_cost_at_most_256_bytes_each` holds it to 256).
fn idle_actor_memory(_: &mut Criterion) {
    let bytes = idle_actor_bytes(100_000);
    println!("idle_actor_memory: {bytes} bytes per idle actor (100,000 idle actors)");
    assert!(bytes <= 256);
}

criterion_group! {
    name = benches;
    config = configure();
    targets = w1, w2, floor, idle_actor_memory
}
criterion_main!(benches);
