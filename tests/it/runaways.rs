//! Runaways end with an error that names their limit, early, and storage
//! follows what happened rather than the simulated horizon. (How early, in
//! seconds and bytes on the project's machine, is measured outside the
//! suite: see the issue notes; these tests check the behaviour.)

use rehearsal::run::{RunError, RunOptions, run_once};
use rehearsal::scenario::{self, Scenario};
use rehearsal::strategy::default_strategy;
use rehearsal::summarize::THROUGHPUT_TIMELINE_MAX_S;

const BASE: &str = r#"
name = "runaway"
seeds = 1
duration = "60s"
[topology]
nodes = 4
agents = AGENTS
[workload]
arrivals = { process = "poisson", rate_per_s = RATE }
steps = ["llm", "tool"]
request_timeout = "TIMEOUT"
[llm]
latency = { dist = "lognormal", median = "800ms", p99 = "5s" }
[tool]
latency = { dist = "exponential", mean = "250ms" }
"#;

fn scenario(agents: u32, rate: &str, timeout: &str) -> Scenario {
    let text = BASE.replace("AGENTS", &agents.to_string()).replace("RATE", rate).replace("TIMEOUT", timeout);
    scenario::parse(&text, "runaway.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn limit_of(e: &RunError) -> &'static str {
    match e {
        RunError::Sim { source, .. } => source.limit_name(),
        other => panic!("not a limit: {other}"),
    }
}

/// A request timeout of 4,000,000 hours once allocated a counter per
/// simulated second (57.6 GB): now the timelines are bounded whatever the
/// horizon, and the run ends (with its result or a named limit).
#[test]
fn a_huge_request_timeout_keeps_the_timelines_small() {
    let sc = scenario(16, "4", "4000000h");
    match run_once(&sc, 1, &default_strategy(&sc.strategies), RunOptions::default()) {
        Ok(out) => {
            assert!(out.summary.throughput_timeline.len() <= THROUGHPUT_TIMELINE_MAX_S);
            assert!(out.summary.timeline.len() <= 600);
            assert_eq!(out.summary.requests.in_flight, 0);
        }
        Err(e) => assert_eq!(limit_of(&e), "max_sim_time", "{e}"),
    }
}

/// Arrivals at the cap, 1e9 per second (one per nanosecond), barely let
/// the clock move: the run ends on a named limit (the queue and mailboxes
/// fill up) instead of growing until the machine runs out of memory. A
/// rate above the cap (1e308) is a located error when the scenario loads.
#[test]
fn an_absurd_arrival_rate_ends_on_a_named_limit() {
    let text = BASE.replace("AGENTS", "16").replace("RATE", "1e308").replace("TIMEOUT", "60s");
    let e = scenario::parse(&text, "runaway.toml").unwrap_err().to_string();
    assert!(e.contains("workload.arrivals.rate_per_s") && e.contains("at most"), "{e}");
    let sc = scenario(16, "1e9", "60s");
    let err = run_once(&sc, 1, &default_strategy(&sc.strategies), RunOptions::default()).unwrap_err();
    assert!(["max_queued_events", "max_events"].contains(&limit_of(&err)), "{err}");
}

/// Summarizing is linear in agents (it once looked each agent up in a list
/// of all of them: 200,000 agents took 8.7 s, 2,000,000 never finished).
#[test]
fn two_hundred_thousand_agents_run_and_summarize() {
    let sc = scenario(200_000, "4", "60s");
    let out = run_once(&sc, 1, &default_strategy(&sc.strategies), RunOptions::default()).expect("run");
    assert_eq!(out.summary.agent_downtime_s.len(), 200_000);
    assert!(out.summary.requests.succeeded > 0);
}
