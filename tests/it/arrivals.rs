//! Arrival processes in whole runs: the interactive response time law under
//! a closed loop, a population that starts at once, exact counts of a
//! constant rate, and a trace replayed from a CSV file beside the scenario.

use rehearsal::run::{RunOptions, broken_invariants, run_once};
use rehearsal::scenario::{self, Scenario};
use rehearsal::strategy::default_strategy;
use rehearsal::summary::RunSummary;

/// One node, `agents` agents, one LLM call per request (exponential, mean
/// 1 s), no errors, no retries; `arrivals` as given.
fn scenario(arrivals: &str, agents: u32, duration: &str) -> Scenario {
    let text = format!(
        r#"
name = "arrivals"
seeds = 1
duration = "{duration}"
[topology]
nodes = 1
agents = {agents}
[workload]
arrivals = {arrivals}
steps = ["llm"]
request_timeout = "1h"
[buggify]
enabled = false
[llm]
latency = {{ dist = "exponential", mean = "1s" }}
timeout = "1h"
[tool]
latency = {{ dist = "constant", value = "1ms" }}
"#
    );
    scenario::parse(&text, "arrivals.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn run(sc: &Scenario, seed: u64) -> RunSummary {
    let s = run_once(sc, seed, &default_strategy(&sc.strategies), RunOptions::default()).expect("run").summary;
    assert!(broken_invariants(sc, &s).is_empty(), "{:?}", broken_invariants(sc, &s));
    s
}

/// The interactive response time law, X = N / (R + Z): 20 users thinking
/// 2 s on average (exponential), served by 4 agents with 1 s mean service
/// (so requests queue: R > 1 s). Over 3,000 s (about 14,000 requests) the
/// throughput is within 3% of N / (R + Z), R the measured mean response
/// time; the bias from the window's edges is about (R + Z) / T, 0.2%, and
/// the noise of the mean think time about 0.6%.
#[test]
fn closed_loop_obeys_the_response_time_law() {
    let (users, think_s, duration_s) = (20.0, 2.0, 3000.0);
    let sc =
        scenario(r#"{ process = "closed", users = 20, think = { dist = "exponential", mean = "2s" } }"#, 4, "3000s");
    let s = run(&sc, 1);
    assert_eq!(s.requests.in_flight, 0);
    assert_eq!(s.requests.failed, 0);
    let x = s.requests.arrived as f64 / duration_s;
    let r = s.latency_ms.mean / 1000.0;
    assert!(r > 1.2, "4 agents for 20 users: requests queue, R = {r}");
    let law = users / (r + think_s);
    assert!((x / law - 1.0).abs() < 0.03, "X = {x}/s, N / (R + Z) = {law}/s (R = {r} s)");
    // A different seed, the same law.
    let s = run(&sc, 2);
    let (x, r) = (s.requests.arrived as f64 / duration_s, s.latency_ms.mean / 1000.0);
    assert!((x / (users / (r + think_s)) - 1.0).abs() < 0.03, "seed 2: X = {x}, R = {r}");
}

/// At most N requests are outstanding at once under a closed loop: the
/// time-averaged requests in the system never exceeds N.
#[test]
fn closed_loop_never_has_more_than_n_outstanding() {
    let sc =
        scenario(r#"{ process = "closed", users = 5, think = { dist = "constant", value = "100ms" } }"#, 1, "300s");
    let s = run(&sc, 3);
    assert!(s.timeline.iter().all(|i| i.in_system <= 5.0 + 1e-9), "{:?}", s.timeline);
    // One agent, 1 s mean service, 5 users thinking 0.1 s: the agent is
    // almost always busy, so X is close to 1/s and R close to N / X - Z.
    let x = s.requests.arrived as f64 / 300.0;
    assert!((0.85..1.1).contains(&x), "{x}");
}

/// A population without `repeat`: exactly N requests, all at t = 0.
#[test]
fn population_sends_n_requests_at_once() {
    let sc = scenario(r#"{ process = "population", clients = 30 }"#, 8, "60s");
    let s = run(&sc, 1);
    assert_eq!(s.requests.arrived, 30);
    assert_eq!(s.timeline[0].offered, 30, "all in the first interval");
    assert_eq!(s.requests.succeeded, 30);
}

/// A population with `repeat` is a closed loop with zero think time:
/// X = N / R.
#[test]
fn population_with_repeat_is_a_closed_loop_without_think_time() {
    let sc = scenario(r#"{ process = "population", clients = 6, repeat = true }"#, 2, "2000s");
    let s = run(&sc, 1);
    let (x, r) = (s.requests.arrived as f64 / 2000.0, s.latency_ms.mean / 1000.0);
    assert!((x / (6.0 / r) - 1.0).abs() < 0.03, "X = {x}, N / R = {}", 6.0 / r);
    // Two agents, 1 s each: X at most 2/s; a little below, as round-robin
    // dispatch sometimes leaves one agent idle while the other has a queue.
    assert!((1.7..=2.02).contains(&x), "{x}");
}

/// A constant rate arrives exactly rate x duration times, whatever the seed.
#[test]
fn constant_rate_counts_exactly() {
    let sc = scenario(r#"{ process = "constant", rate_per_s = 2.5 }"#, 16, "60s");
    for seed in [1, 2] {
        assert_eq!(run(&sc, seed).requests.arrived, 150);
    }
}

/// Bursts at rate 0 while off: the timeline's intervals while off offer
/// nothing.
#[test]
fn bursts_offer_nothing_while_off() {
    let sc = scenario(r#"{ process = "bursts", on_rate_per_s = 20, on = "5s", off = "15s" }"#, 64, "100s");
    let s = run(&sc, 1);
    for i in &s.timeline {
        let phase = i.t_s.rem_euclid(20.0);
        if (5.0..20.0).contains(&phase) && i.t_s < 100.0 {
            assert_eq!(i.offered, 0, "{i:?}");
        }
    }
    // 5 bursts of 5 s at 20/s: 500 expected.
    assert!((400..600).contains(&s.requests.arrived), "{}", s.requests.arrived);
}

/// A trace replayed from a CSV beside the scenario (its path relative to
/// the scenario's directory), at twice the speed, cut at the window.
#[test]
fn trace_replays_a_csv_beside_the_scenario() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let csv = "TIMESTAMP,ContextTokens,GeneratedTokens\n\
               2023-11-16 18:17:00.0000000,100,10\n\
               2023-11-16 18:17:01.0000000,100,10\n\
               2023-11-16 18:17:01.5000000,100,10\n\
               2023-11-16 18:17:10.0000000,100,10\n\
               2023-11-16 18:17:30.0000000,100,10\n";
    std::fs::write(dir.path().join("data/trace.csv"), csv).unwrap();
    // At time_scale 0.5 the offsets 0, 1, 1.5, 10, 30 s become 0, 0.5,
    // 0.75, 5, 15 s: four of them fall within a 10 s window.
    let toml = r#"
name = "replay"
seeds = 1
duration = "10s"
[topology]
agents = 4
[workload]
arrivals = { process = "trace", csv = "data/trace.csv", time_scale = 0.5 }
steps = ["llm"]
[llm]
latency = { dist = "constant", value = "10ms" }
[tool]
latency = { dist = "constant", value = "1ms" }
"#;
    let path = dir.path().join("replay.toml");
    std::fs::write(&path, toml).unwrap();
    let sc = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let s = run(&sc, 1);
    assert_eq!(s.requests.arrived, 4);
    let offered: Vec<u64> = s.timeline.iter().take(6).map(|i| i.offered).collect();
    assert_eq!(offered, [3, 0, 0, 0, 0, 1]);
    // A missing file is a located error naming the resolved path.
    std::fs::remove_file(dir.path().join("data/trace.csv")).unwrap();
    let e = scenario::load(&path).unwrap_err().to_string();
    assert!(e.contains("workload.arrivals.csv") && e.contains("trace.csv"), "{e}");
}

/// The real Azure LLM trace, if `../shared/data` is beside the repository
/// (else skipped): one hour of the conversation trace replays 19,366
/// requests; played twice as fast, the first 30 minutes hold them all.
#[test]
fn azure_trace_replays_when_present() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = root.join("../shared/data/azure-llm-inference-2023/AzureLLMInferenceTrace_conv.csv");
    if !file.is_file() {
        eprintln!("skipped: ../shared/data not found");
        return;
    }
    let text = std::fs::read_to_string(&file).unwrap();
    let times = rehearsal_sim::arrivals::load_arrival_times(&text).unwrap();
    assert_eq!(times.len(), 19_366);
    let span_s = *times.last().unwrap() as f64 / 1e9;
    assert!((3000.0..3700.0).contains(&span_s), "{span_s}");
    let fast = rehearsal_sim::arrivals::scale_times(&times, 0.5);
    assert!(*fast.last().unwrap() as f64 / 1e9 <= 1850.0);
}
