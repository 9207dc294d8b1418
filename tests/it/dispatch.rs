//! The `dispatch` axis checked against queueing theory: a pool of c agents
//! fed from one shared queue, with Poisson arrivals and exponential service
//! (one tool step, one node so no network delay, no errors), is an M/M/c
//! queue, whose mean wait Erlang C gives in closed form. Round-robin into
//! per-agent mailboxes is c separate queues, and waits longer at the same
//! load.

use rehearsal::run::{RunOptions, broken_invariants, run_once};
use rehearsal::scenario::{self, Scenario};
use rehearsal::strategy::Strategy;
use rehearsal::summary::RunSummary;

/// `agents` agents on one node; Poisson arrivals at `rate_per_s` for
/// `duration_s` simulated seconds; one tool step with exponential service
/// of mean 1 s (mu = 1/s); timeouts far beyond any wait, so every request
/// succeeds and its latency is its wait plus its service.
fn pool(agents: u32, rate_per_s: f64, duration_s: u32) -> Scenario {
    let text = format!(
        r#"
name = "mmc"
seeds = 1
duration = "{duration_s}s"
[topology]
nodes = 1
agents = {agents}
[workload]
arrivals = {{ process = "poisson", rate_per_s = {rate_per_s} }}
steps = ["tool"]
request_timeout = "1h"
[buggify]
enabled = false
[llm]
latency = {{ dist = "constant", value = "1s" }}
[tool]
latency = {{ dist = "exponential", mean = "1s" }}
timeout = "1h"
[strategies]
dispatch = ["round_robin", "shared_queue"]
"#
    );
    scenario::parse(&text, "mmc.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn dispatch(value: &str) -> Strategy {
    Strategy::from([("dispatch".to_owned(), value.to_owned())])
}

fn run(sc: &Scenario, seed: u64, strategy: &Strategy) -> RunSummary {
    let s = run_once(sc, seed, strategy, RunOptions::default()).expect("run").summary;
    assert!(broken_invariants(sc, &s).is_empty(), "{:?}", broken_invariants(sc, &s));
    let r = &s.requests;
    assert_eq!((r.failed, r.in_flight), (0, 0), "every request succeeds: {r:?}");
    s
}

/// Erlang C: the probability that an arrival waits in an M/M/c queue with
/// offered load `a` = lambda / mu erlangs (`a` < c).
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0; // a^k / k!
    let mut below = 0.0; // sum over k < c
    for k in 0..c {
        below += term;
        term *= a / f64::from(k + 1);
    }
    let top = term * f64::from(c) / (f64::from(c) - a); // a^c / c! * c / (c - a)
    top / (below + top)
}

#[test]
fn erlang_c_by_hand() {
    // M/M/1: C = rho. M/M/2 at a = 1: C = (1/2 * 2) / (1 + 1 + 1) = 1/3.
    assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-12);
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
}

/// c = 4 agents, mu = 1/s, lambda = 3.2/s: rho = 0.8, a = 3.2 erlangs,
/// C(4, 3.2) = 0.5964, Wq = C / (c mu - lambda) = 0.7455 s, W = Wq + 1/mu
/// = 1.7455 s.
///
/// How many requests: successive waits in a queue are correlated, so a
/// run's mean is much noisier than n independent samples would be. Over
/// 24 seeds of 64,000 requests each, a run's mean response time had a
/// relative standard deviation of 2.7%, i.e. about 6.8 / sqrt(n) (their
/// average was 1745.8 ms against 1745.5 ms by the formula). Four seeds of
/// 64,000 requests (256,000) put the pooled mean's standard deviation at
/// 6.8 / sqrt(256,000) = 1.3%; the tolerance of 4.5% is over 3 standard
/// deviations.
#[test]
fn a_shared_queue_pool_is_m_m_c_and_agrees_with_erlang_c() {
    let (c, lambda, mu) = (4, 3.2, 1.0);
    let a: f64 = lambda / mu;
    let wq = erlang_c(c, a) / (f64::from(c) * mu - lambda);
    let w_ms = (wq + 1.0 / mu) * 1000.0;
    assert!((w_ms - 1745.5).abs() < 0.5, "formula: {w_ms}");

    let sc = pool(c, lambda, 20_000);
    let strategy = dispatch("shared_queue");
    let runs: Vec<RunSummary> = std::thread::scope(|scope| {
        let (sc, strategy) = (&sc, &strategy);
        let handles: Vec<_> = (1..=4).map(|seed| scope.spawn(move || run(sc, seed, strategy))).collect();
        handles.into_iter().map(|h| h.join().expect("run thread")).collect()
    });
    let n: u64 = runs.iter().map(|s| s.latency_ms.count).sum();
    let total_ms: f64 = runs.iter().map(|s| s.latency_ms.mean * s.latency_ms.count as f64).sum();
    let mean_ms = total_ms / n as f64;
    assert!(n > 250_000, "{n} requests");
    let error = (mean_ms - w_ms) / w_ms;
    assert!(error.abs() < 0.045, "mean response {mean_ms:.1} ms over {n} requests; Erlang C: {w_ms:.1} ms");
}

/// The same load through round-robin: four separate queues, each an M/M/1
/// at rho = 0.8 only if arrivals were split at random (round-robin splits
/// them more evenly, so a little better than that, W = 1/(mu - lambda/c) =
/// 5 s), but far above the shared queue's 1.75 s.
#[test]
fn round_robin_waits_longer_than_a_shared_queue_at_the_same_load() {
    let sc = pool(4, 3.2, 5_000);
    let shared = run(&sc, 1, &dispatch("shared_queue")).latency_ms.mean;
    let round_robin = run(&sc, 1, &dispatch("round_robin")).latency_ms.mean;
    assert!(round_robin > 1.4 * shared, "round robin {round_robin:.1} ms, shared queue {shared:.1} ms");
}

/// Every bundled scenario whose gateway dispatches (pools and fan-outs,
/// with crashes, partitions, brownouts, rate limits) under every dispatch
/// strategy: the request accounting holds, every failure has a cause, and
/// a run replays to the same summary.
#[test]
fn every_dispatch_strategy_keeps_the_accounting_on_every_bundled_scenario() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut paths: Vec<_> = std::fs::read_dir(dir).expect("scenarios/").map(|e| e.expect("entry").path()).collect();
    paths.sort();
    for path in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "toml")) {
        let sc = scenario::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if sc.workload.shape == scenario::Shape::Pipeline {
            continue;
        }
        let seed = sc.seeds[0];
        for (_, value) in rehearsal::fleet::Dispatch::ALL {
            let mut strategy = rehearsal::strategy::default_strategy(&sc.strategies);
            strategy.insert("dispatch".into(), value.into());
            let a = run_once(&sc, seed, &strategy, RunOptions::default()).expect("run").summary;
            let broken = broken_invariants(&sc, &a);
            assert!(broken.is_empty(), "{} {value}: {broken:?}", path.display());
            assert!(
                a.requests.arrived > 0 && a.requests.in_flight == 0,
                "{} {value}: {:?}",
                path.display(),
                a.requests
            );
            if value == "shared_queue" {
                let b = run_once(&sc, seed, &strategy, RunOptions::default()).expect("run").summary;
                assert_eq!(a, b, "{} {value}: a replay differs", path.display());
            }
        }
    }
}
