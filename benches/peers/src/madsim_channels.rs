//! madsim with one task per actor and in-process channels.
//!
//! W1: each actor is a `madsim::task::spawn`ed task owning a tokio unbounded mpsc
//! receiver (tokio's channels are runtime-agnostic and work under madsim); on receiving
//! a token it does `madsim::time::sleep(latency)` (the hop's latency) and sends it on.
//! W2: each actor is a task arming its 10 pre-drawn sleeps at once (a `FuturesUnordered`).
//! Timed from `Runtime::new` to the runtime's drop (setup, run and teardown).

use crate::common::{Done, RingSpec, TimerSpec};
use futures::stream::{FuturesUnordered, StreamExt};
use madsim::runtime::Runtime;
use madsim::time::{Duration, Instant};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

#[derive(Debug)]
struct Token {
    remaining: u64,
}

pub fn ring(spec: &RingSpec) -> Done {
    let rt = Runtime::with_seed_and_config(spec.seed, madsim::Config::default());
    let spec = *spec;
    let done = rt.block_on(async move {
        let start = Instant::now();
        let hops = Arc::new(AtomicU64::new(0));
        let (done_tx, mut done_rx) = unbounded_channel::<()>();
        let n = spec.actors as usize;
        let (txs, rxs): (Vec<UnboundedSender<Token>>, Vec<UnboundedReceiver<Token>>) =
            (0..n).map(|_| unbounded_channel()).unzip();
        for k in 0..spec.tokens {
            let a = spec.start_actor(k) as usize;
            txs[a].send(Token { remaining: spec.hops_per_token() }).unwrap();
        }
        let latency = Duration::from_nanos(spec.latency_ns);
        for (i, mut rx) in rxs.into_iter().enumerate() {
            let next = txs[(i + 1) % n].clone();
            let done_tx = done_tx.clone();
            let hops = hops.clone();
            madsim::task::spawn(async move {
                while let Some(mut tok) = rx.recv().await {
                    if tok.remaining == 0 {
                        let _ = done_tx.send(());
                        continue;
                    }
                    madsim::time::sleep(latency).await;
                    tok.remaining -= 1;
                    hops.fetch_add(1, Ordering::Relaxed);
                    let _ = next.send(tok);
                }
            });
        }
        drop(txs);
        for _ in 0..spec.tokens {
            done_rx.recv().await.unwrap();
        }
        Done { work: hops.load(Ordering::Relaxed), sim_time_ns: start.elapsed().as_nanos() as u64, note: None }
    });
    drop(rt);
    done
}

pub fn timers(spec: &TimerSpec) -> Done {
    let rt = Runtime::with_seed_and_config(spec.seed, madsim::Config::default());
    let spec = *spec;
    let done = rt.block_on(async move {
        let start = Instant::now();
        let fired = Arc::new(AtomicU64::new(0));
        let left = Arc::new(AtomicU64::new(spec.actors as u64));
        let (done_tx, mut done_rx) = unbounded_channel::<()>();
        for durs in spec.predraw() {
            let fired = fired.clone();
            let left = left.clone();
            let done_tx = done_tx.clone();
            madsim::task::spawn(async move {
                // All of this actor's timers are pending at once.
                let mut pending: FuturesUnordered<_> =
                    durs.into_iter().map(|d| madsim::time::sleep(Duration::from_millis(d as u64))).collect();
                while pending.next().await.is_some() {
                    fired.fetch_add(1, Ordering::Relaxed);
                }
                if left.fetch_sub(1, Ordering::Relaxed) == 1 {
                    let _ = done_tx.send(());
                }
            });
        }
        done_rx.recv().await.unwrap();
        Done { work: fired.load(Ordering::Relaxed), sim_time_ns: start.elapsed().as_nanos() as u64, note: None }
    });
    drop(rt);
    done
}
