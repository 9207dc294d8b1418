//! Numbers checked against values computed by hand: micro-scenarios with
//! constant latencies, error rates of 0 and 1, one node and no network
//! delay, so that every request's fate can be worked out on paper.

use rehearsal::run::{RunOptions, broken_invariants, run_once};
use rehearsal::scenario::{self, Scenario};
use rehearsal::strategy::{Strategy, default_strategy};
use rehearsal::summary::RunSummary;

/// A one-node scenario: `rate_per_s` Poisson arrivals for 120 s, a workflow
/// of `steps`, and the given service tables (TOML).
fn micro(steps: &str, services: &str, extra: &str) -> Scenario {
    let text = format!(
        r#"
name = "micro"
seeds = 1
duration = "120s"
[topology]
nodes = 1
agents = 64
[workload]
arrivals = {{ process = "poisson", rate_per_s = 1 }}
steps = {steps}
request_timeout = "20s"
[buggify]
enabled = false
{services}
{extra}
"#
    );
    scenario::parse(&text, "micro.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn run(sc: &Scenario, strategy: &Strategy) -> RunSummary {
    let s = run_once(sc, 1, strategy, RunOptions::default()).expect("run").summary;
    assert!(broken_invariants(sc, &s).is_empty(), "{:?}", broken_invariants(sc, &s));
    s
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-12)
}

/// HdrHistogram with 3 significant figures reports the top of a value's
/// bucket: within 0.1% above it.
fn hdr(reported_ms: f64, exact_ms: f64) -> bool {
    reported_ms >= exact_ms && reported_ms <= exact_ms * 1.001
}

const CONSTANT_SERVICES: &str = r#"
[llm]
latency = { dist = "constant", value = "100ms" }
input_tokens = { dist = "constant", value = 1000 }
output_tokens = { dist = "constant", value = 200 }
cost = { input_per_1k = 0.01, output_per_1k = 0.03 }
timeout = "5s"
[tool]
latency = { dist = "constant", value = "50ms" }
timeout = "5s"
"#;

/// LLM 100 ms then tool 50 ms, no errors, one node (no network delay):
/// every request takes exactly 150 ms, and costs 1000 x 0.01/1000 +
/// 200 x 0.03/1000 = 0.016.
#[test]
fn constant_latencies_give_exact_latency_cost_and_littles_law() {
    let sc = micro(r#"["llm", "tool"]"#, CONSTANT_SERVICES, "");
    let s = run(&sc, &default_strategy(&sc.strategies));
    let n = s.requests.arrived;
    assert!(n > 90, "about 120 arrivals expected, got {n}");
    assert_eq!((s.requests.succeeded, s.requests.failed, s.requests.in_flight), (n, 0, 0));
    assert!(s.requests.failed_by_cause.is_empty());
    let l = s.latency_ms;
    assert_eq!(l.count, n);
    assert_eq!(l.mean, 150.0);
    for p in [l.p50, l.p90, l.p99, l.p999, l.max] {
        assert!(hdr(p, 150.0), "{l:?}");
    }
    assert_eq!(s.latency_ms_succeeded, Some(l));
    assert_eq!(s.latency_ms_failed, None);
    // Cost: 0.016 per request, both in total and per succeeded request.
    assert!(close(s.tokens.cost, 0.016 * n as f64, 1e-9), "{}", s.tokens.cost);
    assert_eq!(s.cost_per_succeeded_request, Some(0.016));
    assert_eq!((s.tokens.input, s.tokens.output), (1000 * n, 200 * n));
    let llm = &s.services["llm:llm"];
    assert_eq!((llm.calls, llm.succeeded, llm.timeouts, llm.cancelled), (n, n, 0, 0));
    assert!(hdr(llm.service_time_ms.unwrap().p50, 100.0));
    assert_eq!(llm.queue_wait_ms.unwrap().max, 0.0, "no concurrency limit, no queue");
    assert!(hdr(s.services["tool:tool"].service_time_ms.unwrap().max, 50.0));
    // Little's law: L = lambda W, with lambda = n / T and W = 0.15 s.
    let lambda = n as f64 / s.observed_s;
    assert!(close(s.arrival_rate_per_s, lambda, 1e-5));
    assert!(close(s.in_system_mean, lambda * 0.150, 1e-4), "L {} lambda W {}", s.in_system_mean, lambda * 0.15);
    // Every agent-second of work: 0.15 s per request, over 64 agents.
    let busy = 0.150 * n as f64 / (64.0 * s.observed_s);
    assert!((s.agents.busy_fraction_mean - busy).abs() <= 1e-6, "{:?} vs {busy}", s.agents);
    // Per step: the LLM step took 100 ms and cost it all, the tool 50 ms.
    let llm_step = &s.steps["step1:llm:llm"];
    assert_eq!((llm_step.calls, llm_step.failed), (n, 0));
    assert!(hdr(llm_step.latency_ms.unwrap().max, 100.0));
    assert!(close(llm_step.cost.unwrap(), 0.016 * n as f64, 1e-9));
    let tool_step = &s.steps["step2:tool:tool"];
    assert!(hdr(tool_step.latency_ms.unwrap().p50, 50.0) && tool_step.cost == Some(0.0));
    assert_eq!(s.roles["agent"].agents, 64);
    assert_eq!(s.roles["agent"].utilisation, s.agents.busy_fraction_mean);
    // The timeline accounts for every request once.
    let t = &s.timeline;
    assert_eq!(t.iter().map(|i| i.offered).sum::<u64>(), n);
    assert_eq!(t.iter().map(|i| i.succeeded).sum::<u64>(), n);
    assert_eq!(t.len(), 120, "1 s intervals over a 120 s window");
}

/// An LLM that always answers 5xx after 100 ms: every request fails with
/// `llm_error`. Without retries it fails at 100 ms; with `fixed` retries
/// (3 attempts, 200 ms apart) at 100 + 200 + 100 + 200 + 100 = 700 ms.
#[test]
fn every_request_fails_with_its_cause_and_its_latency() {
    let services = r#"
[llm]
latency = { dist = "constant", value = "100ms" }
error_rate = 1.0
timeout = "5s"
[tool]
latency = { dist = "constant", value = "10ms" }
"#;
    let retry = r#"
[retry]
max_attempts = 3
base_delay = "200ms"
[strategies]
retry = ["none", "fixed"]
"#;
    let sc = micro(r#"["llm"]"#, services, retry);
    for (value, latency_ms, calls_per_request) in [("none", 100.0, 1), ("fixed", 700.0, 3)] {
        let strategy: Strategy = [("retry".to_owned(), value.to_owned())].into_iter().collect();
        let s = run(&sc, &strategy);
        let n = s.requests.arrived;
        assert_eq!((s.requests.succeeded, s.requests.failed), (0, n), "{value}");
        assert_eq!(s.requests.failed_by_cause.len(), 1);
        assert_eq!(s.requests.failed_by_cause["llm_error"], n);
        assert_eq!(s.latency_ms_succeeded, None, "null, never zeros");
        assert_eq!(s.latency_ms.mean, latency_ms, "{value}");
        assert!(hdr(s.latency_ms.max, latency_ms));
        assert_eq!(s.latency_ms_failed, Some(s.latency_ms));
        assert_eq!(s.cost_per_succeeded_request, None);
        assert_eq!(s.calls.llm, calls_per_request * n);
        assert_eq!(s.calls.retries, (calls_per_request - 1) * n);
        assert_eq!(s.services["llm:llm"].errors_by_kind["server_error"], calls_per_request * n);
    }
}

/// The tool always fails after the LLM succeeded: `tool_error`, at 150 ms.
#[test]
fn tool_errors_are_their_own_cause() {
    let services = r#"
[llm]
latency = { dist = "constant", value = "100ms" }
[tool]
latency = { dist = "constant", value = "50ms" }
error_rate = 1.0
"#;
    let sc = micro(r#"["llm", "tool"]"#, services, "");
    let s = run(&sc, &default_strategy(&sc.strategies));
    assert_eq!(s.requests.failed_by_cause["tool_error"], s.requests.arrived);
    assert_eq!(s.latency_ms.mean, 150.0);
}

/// An LLM that never answers: each call times out at its 2 s timeout
/// (`call_timeout`), and the request fails then.
#[test]
fn hung_calls_fail_at_their_timeout() {
    let services = r#"
[llm]
latency = { dist = "constant", value = "100ms" }
hang_rate = 1.0
timeout = "2s"
[tool]
latency = { dist = "constant", value = "10ms" }
"#;
    let sc = micro(r#"["llm"]"#, services, "");
    let s = run(&sc, &default_strategy(&sc.strategies));
    let n = s.requests.arrived;
    assert_eq!(s.requests.failed_by_cause["call_timeout"], n);
    assert_eq!(s.latency_ms.mean, 2_000.0);
    assert_eq!(s.services["llm:llm"].timeouts, n);
    assert_eq!(s.calls.timeouts, n);
}

/// A stall longer than `request_timeout`: the only link is clogged from
/// 10 s to 110 s, so every request arriving in [10 s, 90 s) waits the whole
/// 20 s and enters `latency_ms` as a client timeout at exactly 20 s.
#[test]
fn a_stall_longer_than_the_timeout_shows_in_latency() {
    let sc = micro(
        r#"["tool"]"#,
        CONSTANT_SERVICES,
        r#"
[[faults.schedule]]
at = "10s"
for = "100s"
clog_link = [0, 0]
"#,
    );
    let s = run(&sc, &default_strategy(&sc.strategies));
    let timeouts = s.requests.failed_by_cause["client_timeout"];
    assert!(timeouts > 50, "{:?}", s.requests);
    assert_eq!(s.requests.failed, timeouts);
    let failed = s.latency_ms_failed.unwrap();
    assert_eq!(failed.mean, 20_000.0);
    assert!(hdr(failed.p50, 20_000.0));
    // The timeouts are most of the requests, so the overall p90 is the timeout.
    assert!(hdr(s.latency_ms.p90, 20_000.0), "{:?}", s.latency_ms);
    assert_eq!(s.latency_ms.count, s.requests.arrived);
}

/// A provider limit of 6 requests per minute against 1 request per second:
/// most calls are answered 429 at once, and the requests fail as
/// `rate_limited` at 0 ms.
#[test]
fn rate_limits_are_their_own_cause() {
    let services = r#"
[llm]
latency = { dist = "constant", value = "100ms" }
rate_limit = { rpm = 6 }
[tool]
latency = { dist = "constant", value = "10ms" }
"#;
    let sc = micro(r#"["llm"]"#, services, "");
    let s = run(&sc, &default_strategy(&sc.strategies));
    let limited = s.requests.failed_by_cause["rate_limited"];
    assert_eq!(limited, s.requests.failed);
    assert_eq!(limited, s.services["llm:llm"].rate_limited);
    assert!(limited > s.requests.arrived / 2, "{:?}", s.requests);
    // Succeeded ones took 100 ms; rate-limited ones were refused at once.
    assert_eq!(s.latency_ms_succeeded.unwrap().mean, 100.0);
    assert_eq!(s.latency_ms_failed.unwrap().max, 0.0);
}

/// The request-accounting check compares independent counts: a summary
/// whose counts disagree is caught.
#[test]
fn the_accounting_check_fails_on_a_broken_count() {
    let sc = micro(r#"["llm", "tool"]"#, CONSTANT_SERVICES, "");
    let s = run(&sc, &default_strategy(&sc.strategies));
    assert!(broken_invariants(&sc, &s).is_empty());
    let mut lost = s.clone();
    lost.requests.succeeded -= 1;
    assert!(broken_invariants(&sc, &lost).iter().any(|b| b.starts_with("request accounting")));
    let mut uncaused = s.clone();
    uncaused.requests.failed += 1;
    uncaused.requests.succeeded -= 1;
    let broken = broken_invariants(&sc, &uncaused);
    assert!(broken.iter().any(|b| b.contains("failed_by_cause")), "{broken:?}");
    let mut untimed = s;
    untimed.timeline[3].offered += 1;
    let broken = broken_invariants(&sc, &untimed);
    assert!(broken.iter().any(|b| b.contains("timeline")), "{broken:?}");
}

/// One slot, calls of 3 s against a 2 s timeout: every call times out. With
/// `on_abandon = "cancel"` each is stopped (or dropped from the queue) at its
/// caller's deadline, before its first token: nothing is charged. With
/// `"finish"` the server serves them anyway, one every 3 s, at 1.0 each.
#[test]
fn abandoned_calls_are_cancelled_or_served_as_configured() {
    let services = |on_abandon: &str| {
        format!(
            r#"
[llm]
latency = {{ dist = "constant", value = "3s" }}
input_tokens = {{ dist = "constant", value = 0 }}
output_tokens = {{ dist = "constant", value = 1000 }}
cost = {{ input_per_1k = 0.0, output_per_1k = 1.0 }}
concurrency = 1
timeout = "2s"
on_abandon = "{on_abandon}"
[tool]
latency = {{ dist = "constant", value = "10ms" }}
"#
        )
    };
    let sc = micro(r#"["llm"]"#, &services("cancel"), "");
    let s = run(&sc, &default_strategy(&sc.strategies));
    let n = s.requests.arrived;
    let llm = &s.services["llm:llm"];
    assert_eq!(s.requests.failed_by_cause["call_timeout"], n);
    assert_eq!((llm.calls, llm.timeouts, llm.cancelled, llm.served_after_abandon), (n, n, n, 0));
    assert_eq!((s.tokens.output, s.tokens.cost), (0, 0.0));
    assert_eq!(s.latency_ms.mean, 2_000.0);

    let sc = micro(r#"["llm"]"#, &services("finish"), "");
    let s = run(&sc, &default_strategy(&sc.strategies));
    let llm = &s.services["llm:llm"];
    assert_eq!(llm.cancelled, 0);
    assert!(llm.served_after_abandon > 30, "{llm:?}");
    // Served one after another, 3 s each: the slot is busy from the first
    // arrival to the end of the run.
    assert!(llm.busy_fraction.unwrap() > 0.95, "{llm:?}");
    assert_eq!(s.tokens.cost, llm.succeeded as f64);
    assert_eq!(s.tokens.output, 1000 * llm.succeeded);
}

/// A streaming answer of 200 tokens (first after 100 ms, then one every
/// 10 ms: 2,090 ms in all) against a 1 s timeout: cancelled at 1,000 ms,
/// after 1 + (1000 - 100) / 10 = 91 tokens, which are all that is charged.
#[test]
fn a_call_stopped_mid_answer_pays_for_the_tokens_streamed() {
    let services = r#"
[llm]
ttft = { dist = "constant", value = "100ms" }
per_token = { dist = "constant", value = "10ms" }
input_tokens = { dist = "constant", value = 500 }
output_tokens = { dist = "constant", value = 200 }
cost = { input_per_1k = 0.002, output_per_1k = 1.0 }
timeout = "1s"
[tool]
latency = { dist = "constant", value = "10ms" }
"#;
    let sc = micro(r#"["llm"]"#, services, "");
    let s = run(&sc, &default_strategy(&sc.strategies));
    let n = s.requests.arrived;
    assert_eq!(s.services["llm:llm"].cancelled, n);
    assert_eq!(s.tokens.output, 91 * n);
    assert!(close(s.tokens.cost, n as f64 * (500.0 * 0.002 + 91.0 * 1.0) / 1000.0, 1e-9), "{:?}", s.tokens);
}

/// Fan-out to 3 agents answered by the `first` success cancels the two
/// parts still running: they stop, and their tokens are not all paid for.
#[test]
fn decided_fan_outs_cancel_the_parts_still_running() {
    let sc =
        scenario::load(&std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/partition-fanout.toml"))
            .unwrap();
    let with = |fanout: &str| -> RunSummary {
        let mut strategy = default_strategy(&sc.strategies);
        strategy.insert("fanout".into(), fanout.into());
        run(&sc, &strategy)
    };
    let (all, first) = (with("all"), with("first"));
    assert_eq!(all.services["llm:llm"].cancelled, 0);
    assert!(first.services["llm:llm"].cancelled > first.requests.succeeded / 2, "{:?}", first.services);
    assert!(first.tokens.output * 10 < all.tokens.output * 6, "{} vs {}", first.tokens.output, all.tokens.output);
    assert!(first.tokens.cost < all.tokens.cost);
}

/// Two request types whose LLM call hangs, with deadlines 5 s and 20 s:
/// every request fails as a client timeout at its own type's deadline, so
/// `latency_ms_failed` holds both values, in the types' proportions.
#[test]
fn per_type_deadlines_time_out_at_their_own_deadline() {
    let text = r#"
name = "micro-mix"
seeds = 1
duration = "120s"
[topology]
nodes = 1
agents = 64
[workload]
arrivals = { process = "poisson", rate_per_s = 1 }
request_timeout = "20s"
[[workload.requests]]
name = "fast"
weight = 1
steps = ["llm"]
deadline = "5s"
[[workload.requests]]
name = "slow"
weight = 1
steps = ["llm"]
[buggify]
enabled = false
[llm]
latency = { dist = "constant", value = "100ms" }
hang_rate = 1.0
timeout = "25s"
[tool]
latency = { dist = "constant", value = "10ms" }
"#;
    let sc = scenario::parse(text, "micro-mix.toml").unwrap_or_else(|e| panic!("{e}"));
    let s = run(&sc, &default_strategy(&sc.strategies));
    let n = s.requests.arrived;
    assert!(n > 90, "{n}");
    assert_eq!(s.requests.failed, n);
    assert_eq!(s.requests.failed_by_cause["client_timeout"], n);
    let f = s.latency_ms_failed.expect("failures");
    assert!(hdr(f.max, 20_000.0), "{f:?}");
    // Each request is one of the two: the mean says how many of each.
    let fast = (20_000.0 - f.mean) * n as f64 / 15_000.0;
    assert!((fast - fast.round()).abs() < 0.01, "{f:?}");
    assert!(fast > 0.3 * n as f64 && fast < 0.7 * n as f64, "{fast} of {n} at 5 s: {f:?}");
    assert!(hdr(f.p50, 5_000.0) || hdr(f.p50, 20_000.0), "{f:?}");
    // Per-type step names.
    assert!(s.steps.keys().any(|k| k == "fast/step1:llm:llm"), "{:?}", s.steps.keys());
    assert!(s.steps.keys().any(|k| k == "slow/step1:llm:llm"), "{:?}", s.steps.keys());
    // A mix replays exactly.
    let again = run(&sc, &default_strategy(&sc.strategies));
    assert_eq!((again.trace_hash.as_str(), &again.request_types), (s.trace_hash.as_str(), &s.request_types));
    // Per-type counts: the mean's split, all failed.
    let (f5, f20) = (s.request_types["fast"], s.request_types["slow"]);
    assert_eq!(f5.arrived + f20.arrived, n);
    assert_eq!(f5.arrived, fast.round() as u64);
    assert_eq!((f5.succeeded, f5.failed, f20.succeeded, f20.failed), (0, f5.arrived, 0, f20.arrived));
}
