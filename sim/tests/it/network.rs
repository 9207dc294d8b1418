//! The network fault model end to end: latency distributions through the
//! network, partitions, clogs, loss and duplication rates, determinism.

use rehearsal_runtime::{Actor, ActorId, Ctx, Nanos, NodeId, SystemConfig, TimerId};
use rehearsal_sim::dist::{Dist, empirical_from_csv};
use rehearsal_sim::net::{Latency, LinkModel, Network, Transit};
use rehearsal_sim::rng::stream;
use rehearsal_sim::{EmptyWorld, Fault, Limits, Sim, SimConfig};

const MS: Nanos = 1_000_000;

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Note {
    seq: u64,
    from_node: u16,
    sent_at: Nanos,
}

/// One delivery as the receiver saw it.
#[derive(Copy, Clone, Debug)]
struct Got {
    from_node: u16,
    to_node: u16,
    seq: u64,
    sent_at: Nanos,
    at: Nanos,
}

/// Every `period` until `until`, sends `burst` numbered notes, each to a
/// random peer; records every note it gets.
#[derive(Debug)]
struct Chatter {
    peers: Vec<ActorId>,
    period: Nanos,
    until: Nanos,
    burst: u32,
    next_seq: u64,
    got: Vec<Got>,
}

impl Chatter {
    fn new(period: Nanos, until: Nanos, burst: u32) -> Self {
        Chatter { peers: Vec::new(), period, until, burst, next_seq: 0, got: Vec::new() }
    }
}

impl Actor for Chatter {
    type Msg = Note;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        let first = 1 + ctx.random_below(self.period);
        ctx.set_timer(first, 0);
    }

    fn handle(&mut self, note: Note, ctx: &mut Ctx<'_, Self>) {
        self.got.push(Got {
            from_node: note.from_node,
            to_node: ctx.node().0,
            seq: note.seq,
            sent_at: note.sent_at,
            at: ctx.now(),
        });
    }

    fn on_timer(&mut self, _: TimerId, _: u64, ctx: &mut Ctx<'_, Self>) {
        if ctx.now() > self.until || self.peers.is_empty() {
            return;
        }
        for _ in 0..self.burst {
            let to = self.peers[ctx.random_below(self.peers.len() as u64) as usize];
            let note = Note { seq: self.next_seq, from_node: ctx.node().0, sent_at: ctx.now() };
            self.next_seq += 1;
            ctx.tell(to, note);
        }
        ctx.set_timer(self.period, 0);
    }
}

fn config(seed: u64, network: Network, record_trace: bool) -> SimConfig {
    SimConfig {
        seed,
        limits: Limits { max_events: 20_000_000, ..Limits::default() },
        system: SystemConfig::default(),
        network,
        record_trace,
        trace: Default::default(),
        // These tests count messages exactly: no fault points.
        buggify: rehearsal_sim::buggify::BuggifyConfig::off(),
        activity: None,
    }
}

/// `per_node` chatters on each of `nodes` nodes, all talking to all.
fn mesh(
    seed: u64,
    network: Network,
    nodes: u16,
    per_node: u16,
    until: Nanos,
) -> (Sim<Chatter, EmptyWorld>, Vec<ActorId>) {
    let mut sim: Sim<Chatter, EmptyWorld> = Sim::new(config(seed, network, false), EmptyWorld);
    let ids: Vec<ActorId> =
        (0..nodes * per_node).map(|i| sim.spawn(NodeId(i % nodes), Chatter::new(MS, until, 1))).collect();
    for &id in &ids {
        sim.system_mut().actor_mut(id).unwrap().peers = ids.clone();
    }
    (sim, ids)
}

fn deliveries(sim: &Sim<Chatter, EmptyWorld>) -> Vec<Got> {
    let mut all: Vec<Got> = sim.system().actors().flat_map(|(_, a)| a.got.iter().copied()).collect();
    all.sort_by_key(|g| (g.at, g.from_node, g.seq));
    all
}

fn jitter() -> Latency {
    Latency::Sampled(Dist::Uniform { min: 200_000.0, max: 2_000_000.0 })
}

const MAX_LATENCY: Nanos = 2 * MS;

#[test]
fn latency_distributions_through_the_network_match_closed_forms() {
    let recording: Vec<f64> = (1..=500).map(|i| f64::from(i) * 10_000.0 + f64::from(i * i)).collect();
    let csv: String = std::iter::once("latency_ns".to_string())
        .chain(recording.iter().map(|v| v.to_string()))
        .collect::<Vec<_>>()
        .join("\n");
    let dists = [
        Dist::Uniform { min: 1e5, max: 3e6 },
        Dist::Normal { mean: 2e6, std_dev: 2e5 },
        Dist::Exponential { mean: 1e6 },
        Dist::lognormal_from_median_p99(1e6, 8e6),
        empirical_from_csv(&csv, Some("latency_ns")).unwrap(),
    ];
    for dist in dists {
        let mut net = Network::default();
        net.set_link(NodeId(0), NodeId(1), LinkModel::new(Latency::from_dist(dist.clone())));
        let mut rng = stream(5, "network");
        let n = 200_000;
        let mut v: Vec<f64> = (0..n)
            .map(|_| match net.transit(1_000, NodeId(0), NodeId(1), &mut rng) {
                Transit::Deliver { at, duplicate_at: None } => (at - 1_000) as f64,
                other => panic!("{other:?}"),
            })
            .collect();
        v.sort_by(f64::total_cmp);
        let rel = |a: f64, b: f64| ((a - b) / b).abs();
        let mean = v.iter().sum::<f64>() / n as f64;
        assert!(rel(mean, dist.mean()) < 0.01, "{dist:?}: mean {mean} vs {}", dist.mean());
        for q in [0.5, 0.9, 0.99] {
            let got = v[(q * n as f64) as usize];
            assert!(rel(got, dist.quantile(q)) < 0.03, "{dist:?}: q{q} {got} vs {}", dist.quantile(q));
        }
    }
}

fn partition_run(one_way: bool, seed: u64) -> (Vec<Got>, u64) {
    let network = Network { local: Latency::Fixed(50_000), remote: jitter(), ..Network::default() };
    let (mut sim, _) = mesh(seed, network, 4, 8, 600 * MS);
    let groups = vec![vec![NodeId(0), NodeId(1)], vec![NodeId(2), NodeId(3)]];
    sim.kernel_mut().fault_at(200 * MS, Fault::Partition { id: 7, groups, one_way });
    sim.kernel_mut().fault_at(400 * MS, Fault::Heal { id: 7 });
    sim.run().unwrap();
    (deliveries(&sim), sim.trace_hash())
}

fn side(node: u16) -> u16 {
    node / 2
}

#[test]
fn no_message_crosses_a_partition_while_it_lasts() {
    let (got, _) = partition_run(false, 1);
    let crossing = |g: &&Got| side(g.from_node) != side(g.to_node);
    // The decision is made at send: nothing sent during the window crosses,
    // and (latency being at most 2ms) nothing crosses once in-flight
    // messages have landed.
    assert!(!got.iter().filter(crossing).any(|g| (200 * MS..400 * MS).contains(&g.sent_at)));
    assert!(!got.iter().filter(crossing).any(|g| (200 * MS + MAX_LATENCY..400 * MS).contains(&g.at)));
    // Messages already in flight when the partition began still land.
    assert!(got.iter().filter(crossing).any(|g| g.sent_at < 200 * MS && g.at >= 200 * MS));
    // Each side still talks within itself (across nodes) during the window,
    // and both directions flow again after the heal.
    let within = got.iter().filter(|g| !crossing(g) && g.from_node != g.to_node);
    assert!(within.filter(|g| (200 * MS..400 * MS).contains(&g.sent_at)).count() > 1_000);
    for (a, b) in [(0, 1), (1, 0)] {
        let after =
            got.iter().filter(|g| side(g.from_node) == a && side(g.to_node) == b && g.sent_at >= 400 * MS).count();
        assert!(after > 1_000, "{a} -> {b}: {after} after heal");
        let before = got.iter().filter(|g| side(g.from_node) == a && side(g.to_node) == b && g.at < 200 * MS).count();
        assert!(before > 1_000, "{a} -> {b}: {before} before");
    }
}

#[test]
fn a_one_way_partition_cuts_one_direction() {
    let (got, _) = partition_run(true, 2);
    let window = |g: &&Got| (200 * MS..400 * MS).contains(&g.sent_at);
    assert_eq!(got.iter().filter(window).filter(|g| side(g.from_node) == 0 && side(g.to_node) == 1).count(), 0);
    let back = got.iter().filter(window).filter(|g| side(g.from_node) == 1 && side(g.to_node) == 0).count();
    assert!(back > 1_000, "later group still reaches the earlier: {back}");
    assert!(got.iter().any(|g| side(g.from_node) == 0 && side(g.to_node) == 1 && g.sent_at >= 400 * MS));
}

#[test]
fn partition_drops_are_traced_with_their_reason() {
    let network = Network { remote: jitter(), ..Network::default() };
    let mut sim: Sim<Chatter, EmptyWorld> = Sim::new(config(3, network, true), EmptyWorld);
    let a = sim.spawn(NodeId(0), Chatter::new(MS, 20 * MS, 1));
    let b = sim.spawn(NodeId(1), Chatter::new(MS, 20 * MS, 1));
    sim.system_mut().actor_mut(a).unwrap().peers = vec![b];
    sim.kernel_mut()
        .fault_at(0, Fault::Partition { id: 3, groups: vec![vec![NodeId(0)], vec![NodeId(1)]], one_way: false });
    sim.run().unwrap();
    let records = sim.kernel_mut().take_trace_records();
    let lost = records
        .iter()
        .filter(|r| r.text.contains("network lost") && r.text.contains("Partition(PartitionId(3))"))
        .count();
    assert_eq!(lost, 20);
    assert!(sim.system().actor(b).unwrap().got.is_empty());
}

/// One sender on node 0 streaming numbered notes to one receiver on node 1.
fn stream_sim(network: Network, seed: u64) -> (Sim<Chatter, EmptyWorld>, ActorId, ActorId) {
    let mut sim: Sim<Chatter, EmptyWorld> = Sim::new(config(seed, network, false), EmptyWorld);
    let tx = sim.spawn(NodeId(0), Chatter::new(MS, 100 * MS, 3));
    let rx = sim.spawn(NodeId(1), Chatter::new(MS, 0, 0));
    sim.system_mut().actor_mut(tx).unwrap().peers = vec![rx];
    (sim, tx, rx)
}

#[test]
fn a_clogged_ordered_link_delivers_everything_after_unclog_in_order() {
    let mut network = Network::default();
    network.set_link(NodeId(0), NodeId(1), LinkModel::new(jitter()).ordered(true));
    let (mut sim, tx, rx) = stream_sim(network, 4);
    sim.kernel_mut().fault_at(20 * MS, Fault::ClogLink { from: NodeId(0), to: NodeId(1) });
    sim.kernel_mut().fault_at(60 * MS, Fault::UnclogLink { from: NodeId(0), to: NodeId(1) });
    sim.run_until(59 * MS).unwrap();
    let held = sim.kernel().held_messages();
    assert!(held >= 3 * 38, "held {held}");
    sim.run().unwrap();
    assert_eq!(sim.kernel().held_messages(), 0);
    let sent = sim.system().actor(tx).unwrap().next_seq;
    let got = &sim.system().actor(rx).unwrap().got;
    assert_eq!(got.len() as u64, sent, "none lost");
    assert!(got.windows(2).all(|w| w[0].seq + 1 == w[1].seq && w[0].at <= w[1].at), "in send order");
    for g in got.iter().filter(|g| (20 * MS..60 * MS).contains(&g.sent_at)) {
        assert!(g.at >= 60 * MS + 200_000 && g.at <= 60 * MS + MAX_LATENCY + 1, "{g:?}");
    }
}

#[test]
fn a_clogged_node_holds_both_directions_and_spares_local_traffic() {
    let network = Network { local: Latency::Fixed(10_000), remote: jitter(), ..Network::default() };
    let (mut sim, ids) = mesh(6, network, 3, 4, 200 * MS);
    sim.kernel_mut().fault_at(50 * MS, Fault::ClogNode(NodeId(2)));
    sim.kernel_mut().fault_at(150 * MS, Fault::UnclogNode(NodeId(2)));
    sim.run().unwrap();
    let got = deliveries(&sim);
    let sent: u64 = ids.iter().map(|&id| sim.system().actor(id).unwrap().next_seq).sum();
    assert_eq!(got.len() as u64, sent, "held, not lost");
    let touches_2 = |g: &&Got| (g.from_node == 2) != (g.to_node == 2);
    let during = |g: &&Got| (50 * MS..150 * MS).contains(&g.sent_at);
    assert!(got.iter().filter(touches_2).filter(during).all(|g| g.at >= 150 * MS));
    assert!(got.iter().filter(during).any(|g| g.from_node == 2 && g.to_node == 2 && g.at < 150 * MS));
}

#[test]
fn loss_and_duplication_rates_hold_over_a_long_run() {
    let network = Network { loss: 0.1, duplicate: 0.05, reorder: 0.2, remote: jitter(), ..Network::default() };
    let mut sim: Sim<Chatter, EmptyWorld> = Sim::new(config(8, network, false), EmptyWorld);
    let tx = sim.spawn(NodeId(0), Chatter::new(MS, 1_000 * MS, 200));
    let rx = sim.spawn(NodeId(1), Chatter::new(MS, 0, 0));
    sim.system_mut().actor_mut(tx).unwrap().peers = vec![rx];
    sim.run().unwrap();
    let sent = sim.system().actor(tx).unwrap().next_seq as f64;
    let got = &sim.system().actor(rx).unwrap().got;
    let mut seqs: Vec<u64> = got.iter().map(|g| g.seq).collect();
    seqs.sort_unstable();
    seqs.dedup();
    let distinct = seqs.len() as f64;
    let loss = 1.0 - distinct / sent;
    let dup = (got.len() as f64 - distinct) / distinct;
    assert!(sent >= 200_000.0);
    assert!((loss - 0.1).abs() < 0.01, "loss {loss}");
    assert!((dup - 0.05).abs() < 0.01, "duplication {dup}");
    let reordered = got.windows(2).filter(|w| w[1].seq < w[0].seq).count();
    assert!(reordered > 1_000, "reordered {reordered}");
}

fn faulty_run(seed: u64, record: bool) -> (u64, usize) {
    let mut network = Network { loss: 0.02, duplicate: 0.02, reorder: 0.05, remote: jitter(), ..Network::default() };
    network.set_link(NodeId(1), NodeId(2), LinkModel::new(jitter()).ordered(true).duplicate(0.1));
    let mut sim: Sim<Chatter, EmptyWorld> = Sim::new(config(seed, network, record), EmptyWorld);
    let ids: Vec<ActorId> = (0..24).map(|i| sim.spawn(NodeId(i % 4), Chatter::new(MS, 300 * MS, 2))).collect();
    for &id in &ids {
        sim.system_mut().actor_mut(id).unwrap().peers = ids.clone();
    }
    let k = sim.kernel_mut();
    k.fault_at(
        50 * MS,
        Fault::Partition { id: 1, groups: vec![vec![NodeId(0)], vec![NodeId(1), NodeId(2)]], one_way: true },
    );
    k.fault_at(80 * MS, Fault::ClogNode(NodeId(3)));
    k.fault_at(90 * MS, Fault::ClogLink { from: NodeId(1), to: NodeId(2) });
    k.fault_at(120 * MS, Fault::Heal { id: 1 });
    k.fault_at(150 * MS, Fault::UnclogNode(NodeId(3)));
    k.fault_at(160 * MS, Fault::UnclogLink { from: NodeId(1), to: NodeId(2) });
    sim.run().unwrap();
    (sim.trace_hash(), sim.kernel_mut().take_trace_records().len())
}

#[test]
fn network_faults_are_deterministic_and_traced() {
    let (a, _) = faulty_run(42, false);
    let (b, records) = faulty_run(42, true);
    assert_eq!(a, b, "same seed, same hash (and recording changes nothing)");
    assert!(records > 10_000);
    assert_ne!(a, faulty_run(43, false).0);
}
