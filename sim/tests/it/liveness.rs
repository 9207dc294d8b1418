//! What an actor knows of remote liveness comes through the failure
//! detector: a gateway on node 0 looks up a named worker on node 1 every
//! millisecond, tells and asks it; node 1 crashes. Until the network's
//! `failure_detection` delay has passed, the gateway still finds the dead
//! worker by name and sees node 1 up (its tells are dropped as sent to a
//! dead receiver, its asks time out); after it, the name is unheld and the
//! node down.

use std::collections::BTreeMap;

use rehearsal_runtime::{Actor, ActorId, Ctx, Nanos, NodeId, RequestId, Response, TimerId};
use rehearsal_sim::net::Network;
use rehearsal_sim::{EmptyWorld, Fault, Sim, SimConfig};

const MS: Nanos = 1_000_000;
const WORKER: u64 = 7;
const DETECTION: Nanos = 50 * MS;
const CRASH: Nanos = 20 * MS + MS / 2;
const END: Nanos = 100 * MS;

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Msg {
    Ping,
    Pong,
    Note,
}

/// One look-up: when, who held the name, whether node 1 looked up.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Probe {
    at: Nanos,
    seen: Option<ActorId>,
    node1_up: bool,
}

#[derive(Debug, Default)]
struct Gateway {
    probes: Vec<Probe>,
    /// Outstanding asks: request -> when sent.
    asks: BTreeMap<RequestId, Nanos>,
    /// Settled asks: when sent -> how it ended.
    answers: BTreeMap<Nanos, &'static str>,
}

#[derive(Debug)]
enum Node {
    Gateway(Gateway),
    Worker,
}

impl Actor for Node {
    type Msg = Msg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        match self {
            Node::Gateway(_) => {
                ctx.set_timer(MS, 0);
            }
            Node::Worker => ctx.register(WORKER),
        }
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, Self>) {
        if let (Node::Worker, Msg::Ping, Some(reply)) = (&self, msg, ctx.reply_to()) {
            ctx.reply(reply, Msg::Pong);
        }
    }

    fn on_timer(&mut self, _: TimerId, _: u64, ctx: &mut Ctx<'_, Self>) {
        let Node::Gateway(g) = self else { return };
        let now = ctx.now();
        let seen = ctx.whereis(WORKER);
        g.probes.push(Probe { at: now, seen, node1_up: ctx.node_is_up(NodeId(1)) });
        if let Some(worker) = seen {
            ctx.tell(worker, Msg::Note);
            let r = ctx.ask(worker, Msg::Ping, 3 * MS);
            g.asks.insert(r, now);
        }
        if now < END {
            ctx.set_timer(MS, 0);
        }
    }

    fn on_response(&mut self, request: RequestId, response: Response<Msg>, _: &mut Ctx<'_, Self>) {
        let Node::Gateway(g) = self else { return };
        let sent = g.asks.remove(&request).expect("an ask of ours");
        let how = match response {
            Response::Reply(_) => "reply",
            Response::Timeout => "timeout",
            _ => "other",
        };
        g.answers.insert(sent, how);
    }
}

fn new_sim() -> Sim<Node, EmptyWorld> {
    let network = Network { failure_detection: DETECTION, ..Network::default() };
    Sim::new(SimConfig { network, ..SimConfig::default() }, EmptyWorld)
}

fn gateway(sim: &Sim<Node, EmptyWorld>, id: ActorId) -> &Gateway {
    match sim.system().actor(id) {
        Some(Node::Gateway(g)) => g,
        other => panic!("not a gateway: {other:?}"),
    }
}

#[test]
fn a_remote_node_crash_is_seen_only_after_failure_detection() {
    let mut sim = new_sim();
    let gw = sim.spawn(NodeId(0), Node::Gateway(Gateway::default()));
    let worker = sim.spawn(NodeId(1), Node::Worker);
    sim.kernel_mut().fault_at(CRASH, Fault::CrashNode(NodeId(1)));
    sim.run_until(CRASH).unwrap();
    assert_eq!(sim.system().whereis(WORKER), None, "the world's view: gone at once");
    assert!(!sim.system().node_is_up(NodeId(1)));
    let dropped_before = sim.system().stats().dropped;
    sim.run().unwrap();

    let g = gateway(&sim, gw);
    assert_eq!(g.probes.len(), 100);
    for p in &g.probes {
        if p.at < CRASH + DETECTION {
            assert_eq!((p.seen, p.node1_up), (Some(worker), true), "{p:?}: not detected yet");
        } else {
            assert_eq!((p.seen, p.node1_up), (None, false), "{p:?}: detected");
        }
    }
    // An ask is answered if the worker got it before the crash (1 ms each
    // way); every later one reached a dead worker and timed out.
    let window: Vec<Nanos> = g.probes.iter().filter(|p| p.seen.is_some()).map(|p| p.at).collect();
    for &at in &window {
        let expected = if at + MS < CRASH { "reply" } else { "timeout" };
        assert_eq!(g.answers.get(&at).copied(), Some(expected), "ask sent at {at}");
    }
    assert!(g.asks.is_empty());
    let late = window.iter().filter(|&&at| at + MS >= CRASH).count() as u64;
    assert_eq!(late, 51, "asks from 20 ms to 70 ms");
    let stats = sim.system().stats();
    assert_eq!(stats.timeouts, late);
    // Each of those probes sent a tell and an ask to the dead worker: both
    // were dropped on arrival.
    assert_eq!(stats.dropped - dropped_before, 2 * late);
}

#[test]
fn a_single_crash_remote_or_local_is_seen_at_once() {
    for node in [0, 1] {
        let mut sim = new_sim();
        let gw = sim.spawn(NodeId(0), Node::Gateway(Gateway::default()));
        let worker = sim.spawn(NodeId(node), Node::Worker);
        sim.kernel_mut().fault_at(CRASH, Fault::CrashActor(worker));
        sim.run().unwrap();
        for p in &gateway(&sim, gw).probes {
            let seen = if p.at < CRASH { Some(worker) } else { None };
            assert_eq!((p.seen, p.node1_up), (seen, true), "worker on node {node}: {p:?}");
        }
    }
}

#[test]
fn a_new_holder_and_a_node_restart_are_seen_at_once() {
    let mut sim = new_sim();
    let gw = sim.spawn(NodeId(0), Node::Gateway(Gateway::default()));
    let first = sim.spawn(NodeId(1), Node::Worker);
    sim.kernel_mut().fault_at(CRASH, Fault::CrashNode(NodeId(1)));
    sim.kernel_mut().fault_at(40 * MS + MS / 2, Fault::RestartNode(NodeId(1)));
    // A new holder on node 2 at 30.5 ms, before the crash is detected.
    sim.run_until(30 * MS + MS / 2).unwrap();
    let second = sim.spawn(NodeId(2), Node::Worker);
    sim.run().unwrap();
    for p in &gateway(&sim, gw).probes {
        // Node 1 looks up throughout: its crash is not detected before
        // its restart.
        let seen = if p.at < 30 * MS + MS / 2 { first } else { second };
        assert_eq!((p.seen, p.node1_up), (Some(seen), true), "{p:?}");
    }

    // Restarted before detection, with the name still unheld: the dead
    // holder is known dead at once.
    let mut sim = new_sim();
    let gw = sim.spawn(NodeId(0), Node::Gateway(Gateway::default()));
    let first = sim.spawn(NodeId(1), Node::Worker);
    sim.kernel_mut().fault_at(CRASH, Fault::CrashNode(NodeId(1)));
    sim.kernel_mut().fault_at(40 * MS + MS / 2, Fault::RestartNode(NodeId(1)));
    sim.run().unwrap();
    for p in &gateway(&sim, gw).probes {
        let seen = if p.at < 40 * MS + MS / 2 { Some(first) } else { None };
        assert_eq!((p.seen, p.node1_up), (seen, true), "{p:?}");
    }
}

#[test]
fn a_node_that_leaves_or_has_not_joined_is_known_down_at_once() {
    // Node 1 is out of the cluster from the start (as a node that joins
    // later is) and joins at 40.5 ms: no probe ever sees it up before,
    // unlike a crash, which looks up until it is detected.
    let mut sim = new_sim();
    let gw = sim.spawn(NodeId(0), Node::Gateway(Gateway::default()));
    sim.kernel_mut().fault_at(0, Fault::RemoveNode(NodeId(1)));
    sim.kernel_mut().fault_at(40 * MS + MS / 2, Fault::RestartNode(NodeId(1)));
    sim.run().unwrap();
    let probes = &gateway(&sim, gw).probes;
    assert!(!probes.is_empty());
    for p in probes {
        assert_eq!(p.node1_up, p.at > 40 * MS + MS / 2, "{p:?}");
    }
}
