//! turmoil: tasks inside one simulated host.
//!
//! turmoil simulates hosts on paused current-thread tokio runtimes stepped in fixed
//! ticks (1 ms here). W1: one client host; one `tokio::task::spawn_local` task per actor,
//! tokio unbounded mpsc channels between them, `tokio::time::sleep(latency)` per hop.
//! W2: one client host, one task per actor arming its 10 pre-drawn sleeps at once
//! (a `FuturesUnordered`).
//! Timed from `Builder::build` to the `Sim`'s drop.

use crate::common::{Done, RingSpec, TimerSpec};
use futures::stream::{FuturesUnordered, StreamExt};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

#[derive(Debug)]
struct Token {
    remaining: u64,
}

fn sim<'a>(seed: u64) -> turmoil::Sim<'a> {
    turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(100_000))
        .tick_duration(Duration::from_millis(1))
        .rng_seed(seed)
        .build()
}

pub fn ring(spec: &RingSpec) -> Done {
    let spec = *spec;
    let mut sim = sim(spec.seed);
    let hops = Rc::new(Cell::new(0u64));
    let h = hops.clone();
    sim.client("ring", async move {
        let n = spec.actors as usize;
        let (done_tx, mut done_rx) = unbounded_channel::<()>();
        let (txs, rxs): (Vec<UnboundedSender<Token>>, Vec<UnboundedReceiver<Token>>) =
            (0..n).map(|_| unbounded_channel()).unzip();
        for k in 0..spec.tokens {
            txs[spec.start_actor(k) as usize].send(Token { remaining: spec.hops_per_token() }).unwrap();
        }
        let latency = Duration::from_nanos(spec.latency_ns);
        for (i, mut rx) in rxs.into_iter().enumerate() {
            let next = txs[(i + 1) % n].clone();
            let done_tx = done_tx.clone();
            let hops = h.clone();
            tokio::task::spawn_local(async move {
                while let Some(mut tok) = rx.recv().await {
                    if tok.remaining == 0 {
                        let _ = done_tx.send(());
                        continue;
                    }
                    tokio::time::sleep(latency).await;
                    tok.remaining -= 1;
                    hops.set(hops.get() + 1);
                    let _ = next.send(tok);
                }
            });
        }
        drop(txs);
        for _ in 0..spec.tokens {
            done_rx.recv().await.unwrap();
        }
        Ok(())
    });
    sim.run().expect("turmoil ring failed");
    let sim_time_ns = sim.elapsed().as_nanos() as u64;
    drop(sim);
    Done { work: hops.get(), sim_time_ns, note: None }
}

pub fn timers(spec: &TimerSpec) -> Done {
    let spec = *spec;
    let mut sim = sim(spec.seed);
    let fired = Rc::new(Cell::new(0u64));
    let f = fired.clone();
    sim.client("timers", async move {
        let left = Rc::new(Cell::new(spec.actors as u64));
        let (done_tx, mut done_rx) = unbounded_channel::<()>();
        for durs in spec.predraw() {
            let fired = f.clone();
            let left = left.clone();
            let done_tx = done_tx.clone();
            tokio::task::spawn_local(async move {
                // All of this actor's timers are pending at once.
                let mut pending: FuturesUnordered<_> =
                    durs.into_iter().map(|d| tokio::time::sleep(Duration::from_millis(d as u64))).collect();
                while pending.next().await.is_some() {
                    fired.set(fired.get() + 1);
                }
                left.set(left.get() - 1);
                if left.get() == 0 {
                    let _ = done_tx.send(());
                }
            });
        }
        done_rx.recv().await.unwrap();
        Ok(())
    });
    sim.run().expect("turmoil timers failed");
    let sim_time_ns = sim.elapsed().as_nanos() as u64;
    drop(sim);
    Done { work: fired.get(), sim_time_ns, note: None }
}
