//! W1 over madsim's simulated network.
//!
//! Each actor is a `madsim::net::Endpoint` bound on a node created with
//! `Handle::create_node()`; a hop is `send_to_raw` to the next actor's address and
//! `recv_from_raw` there (raw payloads: the token is moved as a `Box<dyn Any>`, no
//! serialization). The net config's `send_latency` is fixed at `latency` (range
//! `latency..latency+1ns`). Note: madsim's `NetSim` also sleeps a random 0-5 us on both
//! send and receive, and every madsim sleep lasts at least 1 ms, so each hop takes
//! about 3 ms of simulated time, not 1 ms (reported as sim time per hop).
//! If `actors > max_nodes`, actors are packed several per node (one endpoint/port each).

use crate::common::{Done, RingSpec};
use madsim::net::Endpoint;
use madsim::runtime::{Handle, Runtime};
use madsim::time::{Duration, Instant};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc::unbounded_channel;

#[derive(Debug)]
struct Token {
    remaining: u64,
}

const TAG: u64 = 7;

pub fn ring(spec: &RingSpec, max_nodes: u32) -> Done {
    let mut config = madsim::Config::default();
    let lat = Duration::from_nanos(spec.latency_ns);
    config.net.send_latency = lat..lat + Duration::from_nanos(1);
    let rt = Runtime::with_seed_and_config(spec.seed, config);
    let spec = *spec;
    let nodes = spec.actors.min(max_nodes);
    let per_node = spec.actors.div_ceil(nodes);
    let addr_of = move |i: u32| -> SocketAddr {
        let node = i / per_node;
        let port = 1 + (i % per_node) as u16;
        SocketAddr::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0001u32 + node)), port)
    };
    let done = rt.block_on(async move {
        let start = Instant::now();
        let handle = Handle::current();
        let hops = Arc::new(AtomicU64::new(0));
        let (done_tx, mut done_rx) = unbounded_channel::<()>();
        let mut initial: Vec<Option<u64>> = vec![None; spec.actors as usize];
        for k in 0..spec.tokens {
            initial[spec.start_actor(k) as usize] = Some(spec.hops_per_token());
        }
        // Start barrier: tokens are injected only once every endpoint is bound (a
        // message to a not-yet-bound address is silently dropped by madsim).
        let bound = Arc::new(AtomicU64::new(0));
        let (all_bound_tx, mut all_bound_rx) = unbounded_channel::<()>();
        let (go_tx, go_rx) = tokio::sync::watch::channel(false);
        let mut node = None;
        for i in 0..spec.actors {
            if i % per_node == 0 {
                let ip = addr_of(i).ip();
                node = Some(handle.create_node().ip(ip).build());
            }
            let me = addr_of(i);
            let next = addr_of((i + 1) % spec.actors);
            let first = initial[i as usize].take();
            let hops = hops.clone();
            let done_tx = done_tx.clone();
            let bound = bound.clone();
            let all_bound_tx = all_bound_tx.clone();
            let mut go_rx = go_rx.clone();
            let actors = spec.actors as u64;
            node.as_ref().unwrap().spawn(async move {
                let ep = Endpoint::bind(me).await.unwrap();
                if bound.fetch_add(1, Ordering::Relaxed) + 1 == actors {
                    let _ = all_bound_tx.send(());
                }
                if first.is_some() {
                    go_rx.wait_for(|go| *go).await.unwrap();
                }
                let mut pending = first.map(|remaining| Token { remaining });
                loop {
                    let mut tok = match pending.take() {
                        Some(t) => t,
                        None => {
                            let (payload, _from) = ep.recv_from_raw(TAG).await.unwrap();
                            *payload.downcast::<Token>().unwrap()
                        }
                    };
                    if tok.remaining == 0 {
                        let _ = done_tx.send(());
                        continue;
                    }
                    tok.remaining -= 1;
                    ep.send_to_raw(next, TAG, Box::new(tok)).await.unwrap();
                    hops.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        all_bound_rx.recv().await.unwrap();
        go_tx.send(true).unwrap();
        if std::env::var_os("PEERS_DEBUG").is_some() {
            let hops = hops.clone();
            madsim::task::spawn(async move {
                loop {
                    madsim::time::sleep(Duration::from_millis(500)).await;
                    eprintln!("t={:?} hops={}", start.elapsed(), hops.load(Ordering::Relaxed));
                }
            });
        }
        for _ in 0..spec.tokens {
            done_rx.recv().await.unwrap();
        }
        Done {
            work: hops.load(Ordering::Relaxed),
            sim_time_ns: start.elapsed().as_nanos() as u64,
            note: Some(format!(
                "{} nodes x {per_node} endpoint(s); {:.3} ms sim time per hop",
                spec.actors.div_ceil(per_node),
                start.elapsed().as_secs_f64() * 1e3 / spec.hops_per_token() as f64
            )),
        }
    });
    drop(rt);
    done
}
