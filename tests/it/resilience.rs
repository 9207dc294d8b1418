//! Resilience policies and stores, checked against values worked out by
//! hand: constant latencies, error rates of 0 and 1, one node.

use rehearsal::run::{RunOptions, broken_invariants, run_once};
use rehearsal::scenario::{self, Scenario};
use rehearsal::strategy::Strategy;
use rehearsal::summary::RunSummary;

fn parse(text: &str) -> Scenario {
    scenario::parse(text, "r.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn run(sc: &Scenario, strategy: &[(&str, &str)]) -> RunSummary {
    let strategy: Strategy = strategy.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let s = run_once(sc, 1, &strategy, RunOptions::default()).expect("run").summary;
    assert!(broken_invariants(sc, &s).is_empty(), "{:?}", broken_invariants(sc, &s));
    s
}

#[test]
fn two_writers_on_one_row_conflict_once() {
    // Both read version 0 at 10 ms (answers at 20), both write at 30: the
    // first to arrive wins, the other conflicts (answer at 40), reads again
    // at once (no backoff: 50, answer 60) and writes (70, answer 80).
    let sc = parse(
        r#"
name = "occ"
seeds = 1
duration = "1s"
[topology]
nodes = 1
[workload]
arrivals = { process = "population", clients = 2 }
[[roles]]
name = "client"
count = 2
workflow = [{ name = "update", occ = "store:row" }]
[stores.row]
hop = { dist = "constant", value = "10ms" }
[llm]
latency = { dist = "constant", value = "1s" }
[tool]
latency = { dist = "constant", value = "1s" }
[buggify]
enabled = false
"#,
    );
    let s = run(&sc, &[("retry", "none")]);
    assert_eq!(s.requests.succeeded, 2);
    let row = s.services["store:row"].store.expect("store counts");
    assert_eq!((row.reads, row.writes, row.conflicts), (3, 3, 1));
    assert_eq!(s.makespan_s, Some(0.08));
    // The step counts its runs (one per client); its operations count
    // under the store.
    assert_eq!(s.steps["client.update"].calls, 2);
}

const POOL: &str = r#"
name = "policies"
seeds = 1
duration = "20s"
[topology]
nodes = 1
agents = 4
[workload]
arrivals = { process = "constant", rate_per_s = 1 }
steps = ["llm:primary"]
[llm]
latency = { dist = "constant", value = "100ms" }
[llms.primary]
latency = { dist = "constant", value = "100ms" }
error_rate = 1.0
[llms.backup]
latency = { dist = "constant", value = "300ms" }
[tool]
latency = { dist = "constant", value = "10ms" }
[retry]
max_attempts = 3
base_delay = "50ms"
max_delay = "50ms"
[policies.plain]
retry = "fixed"
[policies.fallback]
retry = "fixed"
fallback = ["llm:backup"]
[policies.breaker]
retry = "fixed"
breaker = { failures = 3, wait = "1h", half_open_calls = 1 }
[policies.budget]
retry = "fixed"
budget = { kind = "grpc", max_tokens = 4, token_ratio = 0.1 }
[buggify]
enabled = false
[strategies]
policy = ["plain", "fallback", "breaker", "budget"]
"#;

#[test]
fn fallback_routes_a_failed_call_to_the_backup() {
    let sc = parse(POOL);
    let plain = run(&sc, &[("policy", "plain")]);
    assert_eq!(plain.requests.succeeded, 0, "the primary always fails");
    let s = run(&sc, &[("policy", "fallback")]);
    let n = s.requests.arrived;
    assert_eq!(s.requests.succeeded, n);
    let r = s.resilience.as_ref().expect("a policy reports");
    assert_eq!(r.fallback_calls, n);
    assert_eq!(s.services["llm:primary"].calls, 3 * n, "3 attempts on the primary first");
    assert_eq!(s.services["llm:backup"].calls, n);
    // 3 attempts of 100 ms with two 50 ms backoffs, then 300 ms on the backup.
    assert!((700.0..=700.7).contains(&s.latency_ms.max), "{}", s.latency_ms.max);
}

#[test]
fn a_breaker_opens_after_its_failures_and_fails_the_rest_at_once() {
    let s = run(&parse(POOL), &[("policy", "breaker")]);
    let b = &s.resilience.as_ref().unwrap().breakers["llm:primary"];
    // Each of the 4 agents' breakers opens after 3 failures (its first
    // request's 3 attempts) and stays open (a wait of an hour).
    assert_eq!(b.transitions.get("closed->open"), Some(&4));
    assert_eq!(s.services["llm:primary"].calls, 12);
    let open = s.requests.failed_by_cause.get("circuit_open").copied().unwrap_or(0);
    assert_eq!(open, s.requests.arrived - 4, "every later request fails without a call");
    assert_eq!(b.calls_rejected, open);
}

#[test]
fn a_grpc_budget_stops_retries_below_half_its_tokens() {
    // 4 tokens per agent, one off per failure, retries only while tokens
    // > 2: an agent's first request retries once (4 -> 3 -> 2), then no
    // retry is allowed: every later request makes one call.
    let s = run(&parse(POOL), &[("policy", "budget")]);
    let n = s.requests.arrived;
    assert_eq!(s.services["llm:primary"].calls, n + 4, "one retry per agent");
    assert_eq!(s.resilience.as_ref().unwrap().budget_denied, n);
}
