//! Roles and workflows checked against values worked out by hand or by a
//! closed form: one node, no network delay, constant latencies.

use rehearsal::run::{RunOptions, broken_invariants, run_once};
use rehearsal::scenario::{self, Scenario};
use rehearsal::strategy::default_strategy;
use rehearsal::summary::{RunSummary, StepSummary};

/// A one-node scenario with roles: `rate_per_s` Poisson arrivals for
/// `duration`, the given roles (TOML `[[roles]]` tables) and services.
fn scenario_with(roles: &str, services: &str, rate_per_s: f64, duration: &str) -> Scenario {
    let text = format!(
        r#"
name = "wf"
seeds = 1
duration = "{duration}"
[topology]
nodes = 1
[workload]
arrivals = {{ process = "poisson", rate_per_s = {rate_per_s} }}
request_timeout = "60s"
[buggify]
enabled = false
{roles}
{services}
"#
    );
    scenario::parse(&text, "wf.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn run(sc: &Scenario) -> RunSummary {
    let s = run_once(sc, 1, &default_strategy(&sc.strategies), RunOptions::default()).expect("run").summary;
    assert!(broken_invariants(sc, &s).is_empty(), "{:?}", broken_invariants(sc, &s));
    s
}

fn step<'a>(s: &'a RunSummary, name: &str) -> &'a StepSummary {
    s.steps.get(name).unwrap_or_else(|| panic!("no step {name} in {:?}", s.steps.keys().collect::<Vec<_>>()))
}

/// HdrHistogram with 3 significant figures reports the top of a value's
/// bucket: within 0.1% above it.
fn hdr(reported_ms: f64, exact_ms: f64) -> bool {
    reported_ms >= exact_ms && reported_ms <= exact_ms * 1.001
}

const SERVICES: &str = r#"
[llm]
latency = { dist = "constant", value = "100ms" }
input_tokens = { dist = "constant", value = 100 }
output_tokens = { dist = "constant", value = 10 }
cost = { input_per_1k = 1.0, output_per_1k = 2.0 }
timeout = "5s"
[tool]
latency = { dist = "constant", value = "200ms" }
timeout = "5s"
[tools.slow]
latency = { dist = "uniform", min = "0ms", max = "1000ms" }
timeout = "5s"
"#;

#[test]
fn a_planner_researchers_writer_workflow_takes_the_sum_of_its_steps() {
    // plan (100 ms) -> 3 researchers at once (200 ms each) -> write (100 ms):
    // 400 ms per request, exactly; asks between roles on one node are free.
    let roles = r#"
[[roles]]
name = "planner"
count = 4
concurrency = 8
workflow = [
  { name = "plan", call = "llm" },
  { name = "research", ask = "researcher", copies = 3 },
  { name = "write", ask = "writer" },
]
[[roles]]
name = "researcher"
count = 12
concurrency = 4
workflow = [{ name = "search", call = "tool" }]
[[roles]]
name = "writer"
count = 4
concurrency = 8
workflow = [{ name = "draft", call = "llm" }]
"#;
    let s = run(&scenario_with(roles, SERVICES, 2.0, "60s"));
    let n = s.requests.arrived;
    assert!(n > 60, "{n}");
    assert_eq!(s.requests.succeeded, n);
    let l = s.latency_ms;
    assert!(hdr(l.p50, 400.0) && hdr(l.max, 400.0), "{l:?}");
    assert_eq!(step(&s, "planner.plan").calls, n);
    assert_eq!(step(&s, "planner.research").calls, 3 * n);
    assert_eq!(step(&s, "researcher.search").calls, 3 * n);
    assert_eq!(step(&s, "writer.draft").calls, n);
    assert!(hdr(step(&s, "planner.research").latency_ms.unwrap().p50, 200.0));
    assert_eq!(s.roles.len(), 3);
    // Utilisation by Little's law: a planner holds each request 400 ms, a
    // researcher 200 ms per part, a writer 100 ms, over their slots.
    let window_s = s.observed_s;
    let planner = n as f64 * 0.4 / (4.0 * 8.0 * window_s);
    let researcher = 3.0 * n as f64 * 0.2 / (12.0 * 4.0 * window_s);
    let writer = n as f64 * 0.1 / (4.0 * 8.0 * window_s);
    for (role, want) in [("planner", planner), ("researcher", researcher), ("writer", writer)] {
        let got = s.roles[role].utilisation;
        assert!((got - want).abs() < 1e-4, "{role}: {got} vs {want}");
    }
}

#[test]
fn a_first_join_takes_the_fastest_copy_and_cancels_the_rest() {
    // The minimum of 3 uniform(0, 1000 ms) draws has mean 250 ms; the two
    // slower copies of every request are cancelled.
    let roles = r#"
[[roles]]
name = "agent"
count = 64
concurrency = 4
workflow = [{ name = "fetch", call = "tool:slow", copies = 3, join = "first" }]
"#;
    let s = run(&scenario_with(roles, SERVICES, 5.0, "400s"));
    let n = s.requests.arrived as f64;
    assert_eq!(s.requests.succeeded, s.requests.arrived);
    let mean = s.latency_ms.mean;
    // The mean of n minima: standard deviation sqrt(3/80) s per request.
    let se = (3.0f64 / 80.0).sqrt() * 1000.0 / n.sqrt();
    assert!((mean - 250.0).abs() < 4.0 * se, "mean {mean} ms, want 250 +- {}", 4.0 * se);
    let fetch = step(&s, "agent.fetch");
    assert_eq!(fetch.calls as f64, 3.0 * n);
    assert_eq!(fetch.failed as f64, 2.0 * n, "the two slower copies are cancelled");
}

#[test]
fn a_loop_with_a_done_probability_runs_a_truncated_geometric_number_of_turns() {
    // Done with probability p after each turn, at most M turns: the mean
    // number of turns is (1 - (1 - p)^M) / p.
    let (p, m) = (0.25f64, 8);
    let roles = format!(
        r#"
[[roles]]
name = "agent"
count = 64
concurrency = 4
workflow = [{{ name = "turns", loop = [{{ name = "act", call = "tool" }}], max = {m}, done_probability = {p} }}]
"#
    );
    let s = run(&scenario_with(&roles, SERVICES, 10.0, "300s"));
    let n = s.requests.arrived as f64;
    let mean = step(&s, "agent.act").calls as f64 / n;
    let want = (1.0 - (1.0 - p).powi(m)) / p;
    // Turns have a standard deviation under 2.5: four standard errors.
    assert!((mean - want).abs() < 4.0 * 2.5 / n.sqrt(), "mean turns {mean}, want {want}");
    assert_eq!(step(&s, "agent.turns").calls as f64, n);
}

#[test]
fn context_grows_by_every_earlier_output() {
    // Three turns of a call with context: prompts of 100, 110 and 120
    // tokens (each turn adds its 10 output tokens), then an answer with
    // context that also carries a researcher's 10 tokens: 100 + 30 + 10.
    let roles = r#"
[[roles]]
name = "agent"
count = 8
workflow = [
  { name = "turns", loop = [{ name = "think", call = "llm", context = true }], max = 3, count = { dist = "constant", value = 3 } },
  { name = "ask", ask = "helper" },
  { name = "answer", call = "llm", context = true },
]
[[roles]]
name = "helper"
count = 8
workflow = [{ name = "note", call = "llm" }]
"#;
    let s = run(&scenario_with(roles, SERVICES, 1.0, "60s"));
    let n = s.requests.arrived;
    assert_eq!(s.requests.succeeded, n);
    assert_eq!(step(&s, "agent.think").input_tokens, Some(330 * n));
    assert_eq!(step(&s, "agent.answer").input_tokens, Some(140 * n));
    assert_eq!(step(&s, "helper.note").input_tokens, Some(100 * n));
    // Cost at 1 per 1k input and 2 per 1k output.
    let think_cost = (330.0 * n as f64) / 1000.0 + (30.0 * n as f64) * 2.0 / 1000.0;
    assert!((step(&s, "agent.think").cost.unwrap() - think_cost).abs() < 1e-6);
}

#[test]
fn a_branch_is_taken_in_proportion_to_its_weight() {
    let roles = r#"
[[roles]]
name = "agent"
count = 64
concurrency = 4
workflow = [{ name = "route", branch = [
  { weight = 1, steps = [{ name = "quick", call = "tool" }] },
  { weight = 3, steps = [{ name = "deep", call = "llm" }] },
] }]
"#;
    let s = run(&scenario_with(roles, SERVICES, 10.0, "200s"));
    let n = s.requests.arrived as f64;
    let quick = step(&s, "agent.quick").calls as f64;
    assert_eq!(quick + step(&s, "agent.deep").calls as f64, n);
    // Binomial(n, 1/4): four standard deviations.
    let sd = (n * 0.25 * 0.75).sqrt();
    assert!((quick - n / 4.0).abs() < 4.0 * sd, "{quick} of {n}");
}

#[test]
fn a_failed_branch_fails_an_all_join_and_a_quorum_survives_it() {
    let services = format!(
        "{SERVICES}\n[tools.broken]\nlatency = {{ dist = \"constant\", value = \"10ms\" }}\nerror_rate = 1.0\n"
    );
    let roles = |join: &str| {
        format!(
            r#"
[[roles]]
name = "agent"
count = 16
concurrency = 4
workflow = [{{ name = "both", parallel = [
  {{ name = "good", call = "tool" }},
  {{ name = "good2", call = "tool" }},
  {{ name = "bad", call = "tool:broken" }},
], join = "{join}" }}]
"#
        )
    };
    let all = run(&scenario_with(&roles("all"), &services, 2.0, "60s"));
    assert_eq!(all.requests.succeeded, 0);
    assert_eq!(all.requests.failed_by_cause.get("tool_error").copied(), Some(all.requests.arrived));
    // The failure decides `all` at 10 ms: both good calls are cancelled.
    assert_eq!(step(&all, "agent.good").failed, all.requests.arrived);
    let quorum = run(&scenario_with(&roles("quorum"), &services, 2.0, "60s"));
    assert_eq!(quorum.requests.succeeded, quorum.requests.arrived);
    assert!(hdr(quorum.latency_ms.p50, 200.0));
}

#[test]
fn an_ask_that_times_out_is_cancelled_at_the_asked_agent() {
    // The helper takes 200 ms; the ask gives up after 50 ms and the
    // helper's call is cancelled, so nothing is left running.
    let roles = r#"
[[roles]]
name = "agent"
count = 4
workflow = [{ name = "ask", ask = "helper", timeout = "50ms" }]
[[roles]]
name = "helper"
count = 4
workflow = [{ name = "work", call = "tool" }]
"#;
    let s = run(&scenario_with(roles, SERVICES, 1.0, "60s"));
    let n = s.requests.arrived;
    assert_eq!(s.requests.failed_by_cause.get("agent_timeout").copied(), Some(n));
    assert!(hdr(s.latency_ms.p50, 50.0));
    let work = step(&s, "helper.work");
    assert_eq!((work.calls, work.failed), (n, n), "every helper call was cancelled");
}

#[test]
fn a_roles_mailbox_bound_refuses_the_work_beyond_it() {
    // Ten requests at once to one agent working on one at a time with room
    // for one more: eight are refused (`mailbox_full`), two succeed, 200 ms
    // apart.
    let roles = r#"
[[roles]]
name = "agent"
mailbox = 1
workflow = [{ name = "work", call = "tool" }]
"#;
    let text = format!(
        "name = \"mb\"\nseeds = 1\nduration = \"1s\"\n[topology]\nnodes = 1\n[workload]\n\
         arrivals = {{ process = \"population\", clients = 10 }}\nrequest_timeout = \"10s\"\n\
         [buggify]\nenabled = false\n{roles}\n{SERVICES}"
    );
    let sc = scenario::parse(&text, "mb.toml").unwrap_or_else(|e| panic!("{e}"));
    let s = run(&sc);
    assert_eq!(s.requests.arrived, 10);
    assert_eq!(s.requests.failed_by_cause.get("mailbox_full").copied(), Some(8));
    assert_eq!(s.requests.succeeded, 2);
    assert!(hdr(s.latency_ms_succeeded.unwrap().max, 400.0));
}
