use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use super::*;

const N0: NodeId = NodeId(0);
const N1: NodeId = NodeId(1);
const N2: NodeId = NodeId(2);

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(11)
}

#[test]
fn default_network_is_the_fast_path_after_one_check() {
    let mut net = Network::default();
    assert!(!net.has_faults());
    assert_eq!(net.transit(5, N0, N1, &mut rng()), Transit::Deliver { at: 1_000_005, duplicate_at: None });
    assert!(!net.state.maybe_faulty);
    assert_eq!(net.transit(5, N1, N1, &mut rng()), Transit::Deliver { at: 5, duplicate_at: None });
    net.partition(vec![vec![N0], vec![N1]], false);
    assert!(net.state.maybe_faulty && net.has_faults());
}

#[test]
fn zero_rate_overrides_draw_like_the_defaults() {
    let latency = Latency::Sampled(Dist::Exponential { mean: 1e6 });
    let mut plain = Network::uniform(latency.clone());
    let mut overridden = plain.clone();
    overridden.set_link(N0, N1, LinkModel::new(latency));
    let (mut a, mut b) = (rng(), rng());
    for t in 0..1_000 {
        assert_eq!(plain.transit(t, N0, N1, &mut a), overridden.transit(t, N0, N1, &mut b));
    }
}

#[test]
fn partitions_cut_between_listed_groups_only() {
    let mut net = Network::default();
    let p = net.partition(vec![vec![N0], vec![N1]], false);
    let mut r = rng();
    assert_eq!(net.transit(0, N0, N1, &mut r), Transit::Lost(LossReason::Partition(p)));
    assert_eq!(net.transit(0, N1, N0, &mut r), Transit::Lost(LossReason::Partition(p)));
    assert!(matches!(net.transit(0, N0, N2, &mut r), Transit::Deliver { .. }), "unlisted node is not cut");
    assert!(matches!(net.transit(0, N0, N0, &mut r), Transit::Deliver { .. }));
    let q = net.partition(vec![vec![N0, N1], vec![N2]], true);
    assert_ne!(p, q);
    assert_eq!(net.cut_by(N1, N2), Some(q));
    assert_eq!(net.cut_by(N2, N1), None, "one way: the later group reaches the earlier");
    assert!(net.heal(p));
    assert!(!net.heal(p));
    assert_eq!(net.cut_by(N0, N1), None);
    assert_eq!(net.partitions().collect::<Vec<_>>(), vec![q]);
    net.heal(q);
    assert!(matches!(net.transit(0, N1, N2, &mut r), Transit::Deliver { .. }));
    assert!(!net.state.maybe_faulty, "back to the fast path");
}

#[test]
fn clogs_hold_and_node_clogs_spare_local_traffic() {
    let mut net = Network::default();
    let mut r = rng();
    net.clog_link(N0, N1);
    assert_eq!(net.transit(0, N0, N1, &mut r), Transit::Held);
    assert!(matches!(net.transit(0, N1, N0, &mut r), Transit::Deliver { .. }), "directed");
    net.clog_node(N2);
    assert!(net.is_clogged(N0, N2) && net.is_clogged(N2, N1) && !net.is_clogged(N2, N2));
    net.unclog_link(N0, N1);
    assert!(!net.is_clogged(N0, N1));
    net.unclog_node(N2);
    assert!(!net.has_faults());
}

#[test]
fn ordered_links_never_reorder() {
    let mut net = Network::default();
    let jittery = Latency::Sampled(Dist::Uniform { min: 0.0, max: 1e6 });
    net.set_link(N0, N1, LinkModel::new(jittery.clone()).ordered(true).duplicate(0.3).reorder(0.5));
    net.set_link(N1, N0, LinkModel::new(jittery));
    let mut r = rng();
    let mut last = 0;
    let mut reordered = false;
    let mut last_back = 0;
    for t in (0..100_000).step_by(10) {
        match net.transit(t, N0, N1, &mut r) {
            Transit::Deliver { at, duplicate_at } => {
                assert!(at >= last && duplicate_at.is_none_or(|d| d >= at));
                last = duplicate_at.unwrap_or(at);
            }
            other => panic!("{other:?}"),
        }
        if let Transit::Deliver { at, .. } = net.transit(t, N1, N0, &mut r) {
            reordered |= at < last_back;
            last_back = at;
        }
    }
    assert!(reordered, "the unordered link does reorder");
}

#[test]
fn reorder_adds_the_reorder_delay() {
    let mut net = Network { reorder: 1.0, reorder_delay: Latency::Fixed(7), ..Network::default() };
    assert_eq!(net.transit(0, N0, N1, &mut rng()), Transit::Deliver { at: 1_000_007, duplicate_at: None });
    assert_eq!(net.transit(0, N0, N0, &mut rng()), Transit::Deliver { at: 0, duplicate_at: None }, "local");
}

#[test]
fn signal_latency_ignores_faults_but_uses_link_latency() {
    let mut net = Network { loss: 1.0, ..Network::default() };
    net.set_link(N0, N1, LinkModel::new(Latency::Fixed(42)).loss(1.0));
    net.partition(vec![vec![N0], vec![N1, N2]], false);
    net.clog_node(N1);
    let mut r = rng();
    assert_eq!(net.signal_latency(N0, N1, &mut r), 42);
    assert_eq!(net.signal_latency(N0, N2, &mut r), 1_000_000);
    assert_eq!(net.signal_latency(N2, N2, &mut r), 0);
}

#[test]
fn equality_ignores_the_fast_path_cache() {
    let mut used = Network::default();
    used.transit(0, N0, N1, &mut rng());
    assert_eq!(used, Network::default());
}
