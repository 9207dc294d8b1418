//! Loader tests: a full round trip, one test per error class, and
//! never-panics property tests.

use super::*;
use crate::scenario::MAX_ECHO_CHARS;
use proptest::prelude::*;

/// A `retry` axis of plain kinds with the `[retry]` defaults `params`.
fn retry_axis(kinds: &[&str], params: &RetryParams) -> Axis {
    use crate::strategy::{AxisValue, Defaults, retry::Retry};
    let d = Defaults { retry: params, shape: Shape::Pool };
    Axis {
        name: "retry".into(),
        values: kinds.iter().map(|k| (*k).to_owned()).collect(),
        typed: Retry::wrap(kinds.iter().map(|k| Retry::build(k, &[], &d).unwrap()).collect()),
    }
}

/// The smallest valid file: every optional key left out.
const MINIMAL: &str = r#"name = "quickstart"
seeds = 20
duration = "60s"

[topology]
agents = 16

[workload]
arrivals = { process = "poisson", rate_per_s = 20 }

[llm]
latency = { dist = "lognormal", median = "800ms", p99 = "6s" }

[tool]
latency = { dist = "exponential", mean = "250ms" }
"#;

/// Every key, as in docs/scenario.md.
const FULL: &str = r#"name = "full-example_2"
description = "free text"
seeds = [1, 7, 42]
duration = "1m30s"

[limits]
max_events = 1_000_000
max_sim_time = "15m"
max_queued_events = 500_000
mailbox_capacity = 64
mailbox_overflow = "drop_oldest"

[topology]
nodes = 4
agents = 16
network = { latency = { dist = "lognormal", median = "2ms", p99 = "20ms" } }

[workload]
arrivals = { process = "poisson", rate_per_s = 2.5 }
steps = ["llm", "tool", "tool", "llm"]
request_timeout = "90s"
shape = "pool"

[llm]
latency = { dist = "uniform", min = "100ms", max = "1.5s" }
error_rate = 0.05
timeout = "10s"
input_tokens = { dist = "normal", mean = 1000, std_dev = 200.5 }
output_tokens = { dist = "constant", value = 129 }

[tool]
latency = { dist = "constant", value = "250us" }
error_rate = 0.02
timeout = "5s"

[retry]
max_attempts = 3
base_delay = "50ms"
max_delay = "2s"

[strategies]
retry = ["exponential_full_jitter", "none"]

[supervision]
intensity = { max_restarts = 3, period = "10s" }
shutdown = "1s"
restart = "transient"
max_restarts_per_child = 7
max_task_retries = 2
backoff = { min = "100ms", max = "5s", random_factor = 0.5, reset_after = "20s" }

[faults]
failure_detection = "2s"
agent_crash_mtbf = "3m"
node_crash_mtbf = "10m"
node_mttr = "45s"

[[faults.schedule]]
at = "20s"
crash_agent = 3

[[faults.schedule]]
at = "40s"
crash_node = 2
for = "30s"

[buggify]
enabled = false
site_probability = 0.5
fire_probability = 0.1

[invariants]
tool_effects_at_most_once = true
"#;

const MS: f64 = 1e6;

#[test]
fn full_file_round_trips() {
    let s = parse(FULL, "full.toml").unwrap();
    let expected = Scenario {
        name: "full-example_2".into(),
        description: "free text".into(),
        seeds: vec![1, 7, 42],
        duration_ns: 90_000_000_000,
        limits: Limits {
            max_events: 1_000_000,
            max_sim_time_ns: 900_000_000_000,
            max_queued_events: 500_000,
            mailbox_capacity: 64,
            mailbox_overflow: OverflowPolicy::DropOldest,
        },
        topology: Topology {
            nodes: 4,
            agents: 16,
            network_latency: Dist::lognormal_from_median_p99(2.0 * MS, 20.0 * MS),
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            links: vec![],
            capacity: Vec::new(),
        },
        workload: Workload {
            arrivals: ArrivalProcess::Poisson { rate_per_s: 2.5 },
            steps: vec![Step::Llm(0), Step::Tool(0), Step::Tool(0), Step::Llm(0)],
            request_timeout_ns: 90_000_000_000,
            shape: Shape::Pool,
            fanout: 3,
            subtask_timeout_ns: 45_000_000_000,
            types: vec![RequestType {
                name: "default".into(),
                weight: 1.0,
                steps: vec![Step::Llm(0), Step::Tool(0), Step::Tool(0), Step::Llm(0)],
                deadline_ns: 90_000_000_000,
                key: None,
                workflow: None,
            }],
        },
        llms: vec![ServiceModel {
            name: "llm".into(),
            latency: Dist::Uniform { min: 100.0 * MS, max: 1500.0 * MS },
            error_rate: 0.05,
            timeout_ns: 10_000_000_000,
            tokens: Some(TokenModel {
                input: Dist::Normal { mean: 1000.0, std_dev: 200.5 },
                output: Dist::Constant { value: 129.0 },
            }),
            llm: Some(LlmExtras {
                profile: None,
                ttft: None,
                per_token: None,
                tokens_csv: None,
                token_trace: None,
                concurrency: None,
                queue_limit: None,
                rpm: None,
                tpm: None,
                hang_rate: 0.0,
                cold_start: None,
                cost_input_per_1k: 0.0,
                cost_output_per_1k: 0.0,
                on_abandon: OnAbandon::Cancel,
            }),
            tool: None,
        }],
        tools: vec![ServiceModel {
            name: "tool".into(),
            latency: Dist::Constant { value: 250_000.0 },
            error_rate: 0.02,
            timeout_ns: 5_000_000_000,
            tokens: None,
            llm: None,
            tool: Some(ToolExtras::default()),
        }],
        retry: RetryParams { max_attempts: 3, base_delay_ns: 50_000_000, max_delay_ns: 2_000_000_000 },
        strategies: vec![retry_axis(
            &["exponential_full_jitter", "none"],
            &RetryParams { max_attempts: 3, base_delay_ns: 50_000_000, max_delay_ns: 2_000_000_000 },
        )],
        supervision: SupervisionParams {
            max_restarts: 3,
            period_ns: 10_000_000_000,
            shutdown_ns: 1_000_000_000,
            restart: RestartType::Transient,
            max_restarts_per_child: Some(7),
            max_task_retries: 2,
            backoff_min_ns: 100_000_000,
            backoff_max_ns: 5_000_000_000,
            backoff_random_factor: 0.5,
            backoff_reset_after_ns: 20_000_000_000,
        },
        faults: Faults {
            failure_detection_ns: 2_000_000_000,
            schedule: vec![
                ScheduledFault { at_ns: 20_000_000_000, kind: ScheduledFaultKind::CrashAgent(3) },
                ScheduledFault {
                    at_ns: 40_000_000_000,
                    kind: ScheduledFaultKind::CrashNode { node: 2, down_for_ns: Some(30_000_000_000) },
                },
            ],
            agent_crash_mtbf_ns: Some(180_000_000_000),
            node_crash_mtbf_ns: Some(600_000_000_000),
            node_mttr_ns: 45_000_000_000,
            partition_mtbf_ns: None,
            partition_mttr_ns: 30_000_000_000,
            clog_mtbf_ns: None,
            clog_mttr_ns: 30_000_000_000,
        },
        buggify: rehearsal_sim::buggify::BuggifyConfig { enabled: false, site_probability: 0.5, fire_probability: 0.1 },
        buggify_enabled: Some(false),
        roles: vec![],
        workflows: Default::default(),
        entry_role: 0,
        gate: Default::default(),
        stores: vec![],
        policies: vec![],
        invariants: Invariants { tool_effects_at_most_once: true },
    };
    assert_eq!(s, expected);
}

#[test]
fn minimal_file_gets_the_defaults() {
    let s = parse(MINIMAL, "min.toml").unwrap();
    assert_eq!(s.description, "");
    assert_eq!(s.seeds, (1..=20).collect::<Vec<u64>>());
    assert_eq!(s.duration_ns, 60_000_000_000);
    assert_eq!(
        s.limits,
        Limits {
            max_events: 50_000_000,
            // duration (60s) + request_timeout (2m) + 10m
            max_sim_time_ns: 780_000_000_000,
            max_queued_events: 2_000_000,
            mailbox_capacity: 1024,
            mailbox_overflow: OverflowPolicy::Reject,
        }
    );
    assert_eq!(s.topology.nodes, 1);
    assert_eq!(s.topology.network_latency, Dist::Constant { value: 1e6 });
    assert_eq!(s.workload.steps, vec![Step::Llm(0), Step::Tool(0), Step::Llm(0)]);
    assert_eq!(s.workload.request_timeout_ns, 120_000_000_000);
    assert_eq!(s.llms.len(), 1);
    assert_eq!(s.llms[0].error_rate, 0.0);
    assert_eq!(s.llms[0].timeout_ns, 30_000_000_000);
    // No token keys: the LLM model's defaults (fitted to the Azure trace) apply.
    assert_eq!(s.llms[0].tokens, None);
    assert_eq!(s.tools[0].latency, Dist::Exponential { mean: 250.0 * MS });
    assert_eq!(s.tools[0].tokens, None);
    assert_eq!(s.retry, RetryParams { max_attempts: 4, base_delay_ns: 100_000_000, max_delay_ns: 10_000_000_000 });
    assert_eq!(s.strategies, vec![retry_axis(&["none"], &s.retry)]);
    // BUGGIFY left to the command: "not set", with the run default in the config.
    assert_eq!(s.buggify_enabled, None);
    assert!(s.buggify.enabled);
    let on = parse(&format!("{MINIMAL}[buggify]\nenabled = true\n"), "min.toml").unwrap();
    assert_eq!(on.buggify_enabled, Some(true));
    let other = parse(&format!("{MINIMAL}[buggify]\nfire_probability = 0.5\n"), "min.toml").unwrap();
    assert_eq!(other.buggify_enabled, None);
    // An empty `[strategies]` table is the same as none.
    let s2 = parse(&format!("{MINIMAL}[strategies]\n"), "min.toml").unwrap();
    assert_eq!(s2.strategies, s.strategies);
}

#[test]
fn strategy_axes_keep_file_order() {
    #[derive(Deserialize)]
    struct W {
        strategies: RawStrategies,
    }
    let w: W = toml::from_str("[strategies]\nzeta = [\"b\"]\nalpha = [\"a\"]\nmid = []\n").unwrap();
    let names: Vec<&str> = w.strategies.0.iter().map(|(k, _)| k.get_ref().as_str()).collect();
    assert_eq!(names, ["zeta", "alpha", "mid"]);
}

#[test]
fn load_reads_files_and_reports_missing_ones() {
    let dir = std::env::temp_dir().join(format!("rehearsal-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ok.toml");
    std::fs::write(&path, MINIMAL).unwrap();
    assert_eq!(super::super::load(&path).unwrap().name, "quickstart");

    let missing = dir.join("nope.toml");
    let e = super::super::load(&missing).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let shown = e.to_string();
    assert!(matches!(e, ScenarioError::Unreadable { .. }));
    assert!(shown.contains("nope.toml"), "{shown}");
    assert!(shown.contains("hint: check the path"), "{shown}");

    std::fs::write(&path, MINIMAL.replace("agents = 16", "agents = 0")).unwrap();
    let e = super::super::load(&path).unwrap_err();
    assert!(e.to_string().starts_with(&format!("{}:6:10: ", path.display())), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------
// Errors.

struct Got {
    line: usize,
    column: usize,
    message: String,
    expected: String,
    hint: String,
    shown: String,
}

/// Parses `src`, which must fail with `Invalid`.
fn fail(src: &str) -> Got {
    let e = parse(src, "x.toml").expect_err("should fail");
    assert_eq!(e.exit_code(), 2);
    let shown = e.to_string();
    match e {
        ScenarioError::Invalid { line, column, message, expected, hint, .. } => {
            Got { line, column, message, expected, hint: hint.unwrap_or_default(), shown }
        }
        other => panic!("not Invalid: {other}"),
    }
}

/// `MINIMAL` with `from` replaced by `to` (which must occur).
fn edit(from: &str, to: &str) -> String {
    assert!(MINIMAL.contains(from), "{from}");
    MINIMAL.replacen(from, to, 1)
}

/// 1-based line and column of the first occurrence of `needle` in `src`,
/// plus `offset` characters.
fn at(src: &str, needle: &str, offset: usize) -> (usize, usize) {
    let i = src.find(needle).unwrap_or_else(|| panic!("{needle} not in source"));
    let (l, c, _) = locate(src, i);
    (l, c + offset)
}

/// Asserts the error is at `needle` (+ `offset` chars) and that message and
/// hint mention the given words.
fn check(src: &str, needle: &str, offset: usize, in_message: &[&str], in_hint: &[&str]) -> Got {
    let g = fail(src);
    assert_eq!((g.line, g.column), at(src, needle, offset), "{}", g.shown);
    for w in in_message {
        assert!(g.message.contains(w), "message lacks {w:?}:\n{}", g.shown);
    }
    for w in in_hint {
        assert!(g.hint.contains(w), "hint lacks {w:?}:\n{}", g.shown);
    }
    g
}

#[test]
fn display_looks_like_a_compiler_diagnostic() {
    let src = edit("rate_per_s = 20", "rate_per_s = -3");
    let g = fail(&src);
    let expected = "\
x.toml:9:48: invalid value for `workload.arrivals.rate_per_s`: -3
  |
9 | arrivals = { process = \"poisson\", rate_per_s = -3 }
  |                                                ^
  expected: a positive number of requests per second
  hint: the mean number of new requests per simulated second, e.g. 20 or 0.5";
    assert_eq!(g.shown, expected);
}

#[test]
fn toml_syntax_error() {
    let src = edit("agents = 16", "agents = = 16");
    let g = check(&src, "= 16", 0, &["TOML syntax error"], &[]);
    assert!(!g.hint.is_empty());
    let src = edit("[workload]", "[workload");
    check(&src, "[workload", 9, &["TOML syntax error", "unclosed table"], &[]);
    let src = edit("name = \"quickstart\"", "name = quickstart");
    check(&src, "quickstart", 0, &["TOML syntax error"], &["quotes"]);
}

#[test]
fn unknown_key_suggests_the_close_one_and_lists_the_rest() {
    let src = edit("agents = 16", "agnets = 16");
    let g = check(
        &src,
        "agnets",
        0,
        &["unknown key `agnets`", "[topology]"],
        &["did you mean `agents`?", "`nodes`", "`network`"],
    );
    assert!(g.expected.contains("[topology]"));

    let src = edit("seeds = 20", "seeds = 20\nsedes = 3");
    check(&src, "sedes", 0, &["unknown key `sedes`", "top level"], &["did you mean `seeds`?", "`duration`"]);

    let src = edit("[workload]", "[workload]\ncompletely_else = 1");
    let g = check(&src, "completely_else", 0, &["unknown key"], &["`arrivals`", "`steps`", "`request_timeout`"]);
    assert!(!g.hint.contains("did you mean"), "{}", g.shown);

    // Inside an inline table and a distribution.
    let src = edit("rate_per_s = 20", "rate_pers = 20");
    check(&src, "rate_pers", 0, &["unknown key", "[workload.arrivals]"], &["did you mean `rate_per_s`?"]);
    let src = edit("p99 = \"6s\"", "p95 = \"6s\"");
    check(&src, "p95", 0, &["unknown key `p95`", "[llm.latency]"], &["did you mean `p99`?"]);

    // Token counts under [tool].
    let src = format!("{MINIMAL}input_tokens = {{ dist = \"constant\", value = 3 }}\n");
    check(&src, "input_tokens", 0, &["unknown key"], &["only to `[llm]`"]);
}

#[test]
fn wrong_type() {
    let src = edit("rate_per_s = 20", "rate_per_s = \"20\"");
    let g =
        check(&src, "\"20\"", 0, &["wrong type", "workload.arrivals.rate_per_s", "string"], &["without quotes: 20"]);
    assert!(g.expected.contains("requests per second"));

    let src = edit("agents = 16", "agents = 2.5");
    let g = check(&src, "2.5", 0, &["wrong type", "topology.agents"], &[]);
    assert!(g.expected.contains("integer"), "{}", g.shown);

    let src = edit("[topology]\nagents = 16", "topology = 3");
    check(&src, "topology = 3", 11, &["wrong type", "`topology`"], &[]);

    let src = edit("seeds = 20", "seeds = \"all\"");
    check(&src, "\"all\"", 0, &["wrong type", "seeds"], &[]);

    let src = format!("{MINIMAL}[strategies]\nretry = \"none\"\n");
    check(&src, "\"none\"", 0, &["wrong type", "strategies.retry"], &[]);
}

#[test]
fn bare_number_duration_needs_a_unit() {
    let src = edit("duration = \"60s\"", "duration = 60");
    check(&src, "60", 0, &["`duration`", "no unit"], &["add a unit", "\"60s\""]);
    let src = edit("duration = \"60s\"", "duration = \"60\"");
    check(&src, "\"60\"", 0, &["`duration`", "no unit"], &["add a unit"]);
    let src = edit("mean = \"250ms\"", "mean = \"250 ms\"");
    check(&src, "\"250 ms\"", 0, &["tool.latency.mean"], &["\"250ms\""]);
    let src = edit("duration = \"60s\"", "duration = \"0s\"");
    check(&src, "\"0s\"", 0, &["`duration`"], &["> 0"]);
}

#[test]
fn rate_must_be_positive() {
    let src = edit("rate_per_s = 20", "rate_per_s = -3");
    let g = check(&src, "-3", 0, &["workload.arrivals.rate_per_s", "-3"], &[]);
    assert!(g.expected.contains("positive number of requests per second"));
    let src = edit("rate_per_s = 20", "rate_per_s = 0.0");
    check(&src, "0.0", 0, &["rate_per_s"], &[]);
    let src = edit("rate_per_s = 20", "rate_per_s = nan");
    check(&src, "nan", 0, &["rate_per_s"], &[]);
}

#[test]
fn unknown_arrival_process() {
    let src = edit("\"poisson\"", "\"uniform\"");
    check(&src, "\"uniform\"", 0, &["workload.arrivals.process"], &["valid values", "`trace`"]);
}

#[test]
fn agents_and_nodes_must_be_positive() {
    let src = edit("agents = 16", "agents = 0");
    check(&src, "agents = 0", 9, &["topology.agents"], &["at least 1 agent"]);
    let src = edit("agents = 16", "agents = 16\nnodes = 0");
    check(&src, "nodes = 0", 8, &["topology.nodes"], &["at least 1 node"]);
    let src = edit("agents = 16", "agents = 99999999999");
    check(&src, "99999999999", 0, &["topology.agents"], &["at most"]);
}

#[test]
fn error_rate_is_a_probability() {
    let src = edit("p99 = \"6s\" }", "p99 = \"6s\" }\nerror_rate = 1.5");
    let g = check(&src, "1.5", 0, &["llm.error_rate", "1.5"], &["0.05"]);
    assert!(g.expected.contains("between 0 and 1"));
    let src = format!("{MINIMAL}error_rate = -0.1\n");
    check(&src, "-0.1", 0, &["tool.error_rate"], &[]);
}

#[test]
fn max_attempts_is_at_least_one() {
    let src = format!("{MINIMAL}[retry]\nmax_attempts = 0\n");
    check(&src, "max_attempts = 0", 15, &["retry.max_attempts"], &["at least 1"]);
    let src = format!("{MINIMAL}[retry]\nbase_delay = \"1s\"\nmax_delay = \"10ms\"\n");
    check(&src, "\"10ms\"", 0, &["retry.max_delay"], &["base_delay"]);
}

#[test]
fn lognormal_median_not_above_p99() {
    let src = edit("median = \"800ms\", p99 = \"6s\"", "median = \"8s\", p99 = \"6s\"");
    let g = check(&src, "\"6s\"", 0, &["llm.latency.p99"], &["median", "\"8s\""]);
    assert!(g.expected.contains(">= `median`"));
    let src = edit("median = \"800ms\"", "median = \"0s\"");
    check(&src, "\"0s\"", 0, &["llm.latency.median"], &["0 < median"]);
}

#[test]
fn distribution_shapes() {
    let src = edit("dist = \"exponential\"", "dist = \"expo\"");
    check(&src, "\"expo\"", 0, &["tool.latency.dist"], &["did you mean `exponential`?", "`lognormal`"]);
    let src = edit("mean = \"250ms\"", "mean = \"250ms\", p99 = \"1s\"");
    check(&src, "\"1s\"", 0, &["`p99` is not a parameter of a `exponential`"], &["remove `p99`"]);
    let src =
        edit("{ dist = \"exponential\", mean = \"250ms\" }", "{ dist = \"uniform\", min = \"2s\", max = \"1s\" }");
    check(&src, "\"1s\"", 0, &["tool.latency.max"], &["swap"]);
    let src = edit("mean = \"250ms\"", "mean = \"0ms\"");
    check(&src, "\"0ms\"", 0, &["tool.latency.mean"], &[]);
    let src = edit("p99 = \"6s\" }", "p99 = \"6s\" }\noutput_tokens = { dist = \"constant\", value = -5 }");
    check(&src, "-5", 0, &["llm.output_tokens.value"], &["token"]);
    let src = edit("{ dist = \"exponential\", mean = \"250ms\" }", "{ mean = \"250ms\" }");
    check(&src, "{ mean", 0, &["missing required key `dist`"], &[]);
}

#[test]
fn steps_must_be_known_and_non_empty() {
    let src = edit("rate_per_s = 20 }", "rate_per_s = 20 }\nsteps = []");
    check(&src, "[]", 0, &["workload.steps"], &["at least one"]);
    let src = edit("rate_per_s = 20 }", "rate_per_s = 20 }\nsteps = [\"llm\", \"tol\"]");
    check(&src, "\"tol\"", 0, &["workload.steps"], &["did you mean `tool`?"]);
}

#[test]
fn seeds_must_be_some() {
    let src = edit("seeds = 20", "seeds = 0");
    let g = check(&src, "0", 0, &["`seeds`"], &["at least 1"]);
    assert!(g.expected.contains("seed count"));
    let src = edit("seeds = 20", "seeds = []");
    check(&src, "[]", 0, &["`seeds`"], &["at least one seed"]);
    let src = edit("seeds = 20", "seeds = [3, -1]");
    check(&src, "-1", 0, &["`seeds`"], &["non-negative"]);
    let src = edit("seeds = 20", "seeds = [3, 4, 3]");
    check(&src, "3]", 0, &["`seeds`"], &["twice"]);
    let src = edit("seeds = 20", "seeds = 100000000000");
    check(&src, "100000000000", 0, &["`seeds`"], &["at most"]);
}

#[test]
fn strategy_axes_and_values_must_be_known() {
    let src = format!("{MINIMAL}[strategies]\nretry = []\n");
    check(&src, "[]", 0, &["empty list", "`retry`"], &["`none`", "`exponential_full_jitter`"]);
    let src = format!("{MINIMAL}[strategies]\nretyr = [\"none\"]\n");
    let g = check(
        &src,
        "retyr",
        0,
        &["unknown strategy axis `retyr`"],
        &["did you mean `retry`?", "known axes", "exponential_full_jitter"],
    );
    assert!(g.expected.contains("`retry`"));
    let src = format!("{MINIMAL}[strategies]\nretry = [\"none\", \"exponentail\"]\n");
    let g = check(
        &src,
        "\"exponentail\"",
        0,
        &["unknown value `exponentail`", "`retry`"],
        &["did you mean `exponential`?", "`fixed`"],
    );
    assert!(g.expected.contains("`none`"));
    let src = format!("{MINIMAL}[strategies]\nretry = [\"none\", \"none\"]\n");
    check(&src, "\"none\"]", 0, &["twice"], &[]);
}

#[test]
fn name_must_be_a_slug() {
    let src = edit("name = \"quickstart\"", "name = \"Quick Start!\"");
    let g = check(&src, "\"Quick", 0, &["`name`", "Quick Start!"], &["\"quick-start\""]);
    assert!(g.expected.contains("lowercase"));
    let src = edit("name = \"quickstart\"", "name = \"\"");
    check(&src, "\"\"", 0, &["`name`"], &["my-scenario"]);
}

#[test]
fn missing_required_keys() {
    let src = edit("agents = 16", "nodes = 2");
    let g = check(&src, "[topology]", 0, &["missing required key `agents`", "[topology]"], &["add `agents = 16`"]);
    assert!(g.expected.contains("agents"));
    let src = edit("name = \"quickstart\"\n", "");
    check(&src, "seeds", 0, &["missing required key `name`"], &["name = \"quickstart\""]);
    let src = edit("[tool]\nlatency = { dist = \"exponential\", mean = \"250ms\" }\n", "");
    check(&src, "name", 0, &["missing required table `[tool]`"], &["latency"]);
    let src = edit("process = \"poisson\", ", "");
    check(&src, "{ rate", 0, &["missing required key `process`", "[workload.arrivals]"], &["poisson"]);
}

#[test]
fn limits_are_checked() {
    let src = format!("{MINIMAL}[limits]\nmailbox_overflow = \"drop_new\"\n");
    check(&src, "\"drop_new\"", 0, &["limits.mailbox_overflow"], &["did you mean `drop_newest`?"]);
    let src = format!("{MINIMAL}[limits]\nmax_sim_time = \"30s\"\n");
    check(&src, "\"30s\"", 0, &["limits.max_sim_time"], &["at least `duration`"]);
    let src = format!("{MINIMAL}[limits]\nmailbox_capacity = 0\n");
    check(&src, "= 0", 2, &["limits.mailbox_capacity"], &["at least 1"]);
    let src = format!("{MINIMAL}[limits]\nmax_events = -1\n");
    check(&src, "-1", 0, &["limits.max_events"], &[]);
}

#[test]
fn locate_counts_lines_and_chars() {
    assert_eq!(locate("", 0), (1, 1, ""));
    assert_eq!(locate("ab\ncd", 4), (2, 2, "cd"));
    assert_eq!(locate("ab\r\ncd\r\n", 1), (1, 2, "ab"));
    assert_eq!(locate("ab\r\ncd\r\n", 5), (2, 2, "cd"));
    assert_eq!(locate("é = x", 3), (1, 3, "é = x"));
    assert_eq!(locate("é", 1), (1, 1, "é"));
    assert_eq!(locate("ab\n", 99), (2, 1, ""));
}

#[test]
fn did_you_mean_needs_a_close_match() {
    assert_eq!(did_you_mean("agnets", ["nodes", "agents"].into_iter()), Some("agents"));
    assert_eq!(did_you_mean("xyz", ["nodes", "agents"].into_iter()), None);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
}

// ---------------------------------------------------------------------------
// Never panics.

fn check_no_panic(src: &str) {
    if let Err(e) = parse(src, "p.toml") {
        let shown = e.to_string();
        if let ScenarioError::Invalid { line, column, .. } = e {
            assert!(line >= 1 && column >= 1, "{shown}");
            assert!(line <= src.split('\n').count(), "{shown}");
        }
    }
}

const FRAGMENTS: &[&str] = &[
    "=",
    "\"",
    "[",
    "]",
    "{",
    "}",
    ",",
    "\n",
    "0",
    "-1",
    "1e400",
    "nan",
    "inf",
    "\"\"",
    "\"1h\"",
    "\"0s\"",
    "[[x]]",
    "[]",
    "{}",
    "x = 1\n",
    "agents",
    ".",
    "'",
    "\"\"\"",
    "#",
    "é",
    "\r\n",
    "99999999999999999999",
    "\"18446744073709551615ns\"",
    "\"lognormal\"",
    "\"constant\"",
    "[strategies]\nretry = [\"none\"]\n",
    "[limits]\n",
    "true",
    "1979-05-27",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,200}") {
        check_no_panic(&src);
    }

    #[test]
    fn toml_like_text_never_panics(src in "[a-z_\\[\\]{}=\",.0-9 \\n-]{0,200}") {
        check_no_panic(&src);
    }

    #[test]
    fn mutated_valid_files_never_panic(
        base in prop_oneof![Just(MINIMAL), Just(FULL)],
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..3, 0usize..40, prop::sample::select(FRAGMENTS)), 1..6),
    ) {
        let mut src = base.to_owned();
        for (pos, op, len, frag) in edits {
            let chars: Vec<char> = src.chars().collect();
            let i = pos.index(chars.len() + 1);
            let j = (i + len).min(chars.len());
            let before: String = chars[..i].iter().collect();
            let after: String = chars[if op == 0 { i } else { j }..].iter().collect();
            let mid = if op == 2 { "" } else { frag };
            src = format!("{before}{mid}{after}");
        }
        check_no_panic(&src);
    }
}

#[test]
fn network_may_be_a_subtable() {
    let src =
        edit("agents = 16", "agents = 16\n\n[topology.network]\nlatency = { dist = \"constant\", value = \"3ms\" }");
    let s = parse(&src, "x.toml").unwrap();
    assert_eq!(s.topology.network_latency, Dist::Constant { value: 3e6 });
    let src = edit("agents = 16", "agents = 16\nnetwork = { latncy = 1 }");
    check(&src, "latncy", 0, &["unknown key", "[topology.network]"], &["did you mean `latency`?"]);
}

#[test]
#[ignore = "prints sample diagnostics; run with --ignored --nocapture"]
fn show_samples() {
    for src in [
        edit("seeds = 20\n", "seeds = 20\ndescription = 3\n"),
        edit("name = \"quickstart\"\n", ""),
        edit("duration = \"60s\"", "duration = \"5 minutes\""),
        edit("mean = \"250ms\"", "mean = \"250msec\""),
        format!("{MINIMAL}[strategies]\nbatching = [\"x\"]\n"),
    ] {
        println!("{}\n", fail(&src).shown);
    }
    println!("{}", super::super::load(Path::new("scenarios/nope.toml")).unwrap_err());
}

#[test]
fn fault_targets_must_exist() {
    let bad = format!("{MINIMAL}\n[faults]\n[[faults.schedule]]\nat = \"5s\"\ncrash_agent = 16\n");
    let e = parse(&bad, "f.toml").unwrap_err().to_string();
    assert!(e.contains("f.toml:") && e.contains("crash_agent") && e.contains("below 16"), "{e}");
    let bad = format!("{MINIMAL}\n[faults]\n[[faults.schedule]]\nat = \"5s\"\ncrash_node = 1\n");
    let e = parse(&bad, "f.toml").unwrap_err().to_string();
    assert!(e.contains("crash_node") && e.contains("below 1"), "{e}");
    let bad = format!("{MINIMAL}\n[faults]\n[[faults.schedule]]\nat = \"5s\"\n");
    let e = parse(&bad, "f.toml").unwrap_err().to_string();
    assert!(e.contains("exactly one of `crash_agent`"), "{e}");
}

#[test]
fn supervision_values_are_checked() {
    let bad = format!("{MINIMAL}\n[supervision]\nrestart = \"sometimes\"\n");
    let e = parse(&bad, "s.toml").unwrap_err().to_string();
    assert!(e.contains("supervision.restart") && e.contains("permanent"), "{e}");
    let bad = format!("{MINIMAL}\n[strategies]\nsupervision = [\"one_for_none\"]\n");
    let e = parse(&bad, "s.toml").unwrap_err().to_string();
    assert!(e.contains("one_for_one"), "{e}");
}

// ---------------------------------------------------------------------------
// Issue 8: numbers within what the model represents, input read once and
// capped, echoed input cut.

/// `MINIMAL` plus `extra` appended.
fn plus(extra: &str) -> String {
    format!("{MINIMAL}{extra}")
}

#[test]
fn nodes_fit_16_bit_ids() {
    let src = edit("agents = 16", "agents = 16\nnodes = 65537");
    check(&src, "65537", 0, &["topology.nodes", "65537"], &["at most 65536", "16 bits"]);
    let src = edit("agents = 16", "agents = 16\nnodes = 4294967295");
    check(&src, "4294967295", 0, &["topology.nodes"], &["at most 65536"]);
    let ok = parse(&edit("agents = 16", "agents = 16\nnodes = 65536"), "x.toml").unwrap();
    assert_eq!(ok.topology.nodes, 65_536);
    // Every node reference is below `nodes`, so it fits 16 bits.
    let big = edit("agents = 16", "agents = 16\nnodes = 65536");
    let src = format!("{big}[[faults.schedule]]\nat = \"1s\"\ncrash_node = 65536\n");
    check(&src, "crash_node = 65536", 13, &["faults.schedule.crash_node"], &["this topology has 65536"]);
    let src = format!("{big}[[faults.schedule]]\nat = \"1s\"\nclog_node = 70000\nfor = \"1s\"\n");
    check(&src, "70000", 0, &["faults.schedule.clog_node"], &[]);
    let src = format!("{big}[[faults.schedule]]\nat = \"1s\"\nclog_link = [0, 65536]\nfor = \"1s\"\n");
    check(&src, "[0, 65536]", 0, &["faults.schedule.clog_link"], &[]);
    let src = format!("{big}[[faults.schedule]]\nat = \"1s\"\npartition = [[0], [65536]]\nfor = \"1s\"\n");
    check(&src, "65536]]", 0, &["faults.schedule.partition"], &["node 65536 does not exist"]);
    let src = format!("{big}[[topology.links]]\nfrom = 65536\nto = 0\n");
    check(&src, "65536\nto", 0, &["topology.links.from"], &[]);
    let last = format!("{big}[[faults.schedule]]\nat = \"1s\"\ncrash_node = 65535\n");
    let s = parse(&last, "x.toml").unwrap();
    assert_eq!(s.faults.schedule[0].kind, ScheduledFaultKind::CrashNode { node: 65_535, down_for_ns: None });
}

#[test]
fn agents_are_capped_at_ten_million() {
    let src = edit("agents = 16", "agents = 10000001");
    check(&src, "10000001", 0, &["topology.agents"], &["at most 10000000"]);
    assert_eq!(parse(&edit("agents = 16", "agents = 10_000_000"), "x.toml").unwrap().topology.agents, MAX_AGENTS);
}

#[test]
fn default_max_sim_time_covers_the_runs_end() {
    let src = edit("rate_per_s = 20 }", "rate_per_s = 20 }\nrequest_timeout = \"15m\"");
    let s = parse(&src, "x.toml").unwrap();
    // duration 60s + request_timeout 15m + 10m
    assert_eq!(s.limits.max_sim_time_ns, (60 + 900 + 600) * NS_PER_S);
    assert!(s.limits.max_sim_time_ns >= s.duration_ns + s.workload.request_timeout_ns);
    // Saturating: the longest durations still give a limit, not an overflow.
    let src = edit("rate_per_s = 20 }", "rate_per_s = 20 }\nrequest_timeout = \"18446744012709551615ns\"");
    let s = parse(&src, "x.toml").unwrap();
    assert_eq!(s.duration_ns + s.workload.request_timeout_ns, u64::MAX - NS_PER_S);
    assert_eq!(s.limits.max_sim_time_ns, u64::MAX);
    // A limit set below the run's end is allowed: it is a limit.
    let src = format!("{src}[limits]\nmax_sim_time = \"2m\"\n");
    assert_eq!(parse(&src, "x.toml").unwrap().limits.max_sim_time_ns, 120 * NS_PER_S);
}

#[test]
fn max_queued_events_is_settable() {
    assert_eq!(parse(MINIMAL, "x.toml").unwrap().limits.max_queued_events, DEFAULT_MAX_QUEUED_EVENTS);
    let s = parse(&plus("[limits]\nmax_queued_events = 123_456\n"), "x.toml").unwrap();
    assert_eq!(s.limits.max_queued_events, 123_456);
    let src = plus("[limits]\nmax_queued_events = 0\n");
    check(&src, "= 0", 2, &["limits.max_queued_events"], &["at least 1"]);
    let src = plus("[limits]\nmax_queued_events = 1_000_000_001\n");
    check(&src, "1_000_000_001", 0, &["limits.max_queued_events"], &["at most 1000000000"]);
}

#[test]
fn sums_of_durations_must_not_overflow() {
    let src = edit("rate_per_s = 20 }", "rate_per_s = 20 }\nrequest_timeout = \"18446744073709551615ns\"");
    check(&src, "\"18446744073709551615ns\"", 0, &["workload.request_timeout"], &["`duration` + `request_timeout`"]);
    let src = plus("[[faults.schedule]]\nat = \"5124095h\"\nclog_node = 0\nfor = \"1h\"\n");
    check(&src, "\"1h\"", 0, &["faults.schedule.for"], &["`at` + `for`", "\"5124095h\""]);
    let src = plus("[[faults.schedule]]\nat = \"5124095h\"\ncrash_node = 0\nfor = \"2h\"\n");
    check(&src, "\"2h\"", 0, &["faults.schedule.for"], &["`at` + `for`"]);
    // Up to the last representable time is fine.
    let src = plus("[[faults.schedule]]\nat = \"5124094h\"\nclog_node = 0\nfor = \"1h\"\n");
    parse(&src, "x.toml").unwrap();
}

#[test]
fn name_fits_a_directory_name() {
    let long = "a".repeat(300);
    let src = edit("name = \"quickstart\"", &format!("name = \"{long}\""));
    let g = check(&src, "\"aaa", 0, &["`name`"], &["300", "report paths"]);
    assert!(g.expected.contains("at most 64 characters"), "{}", g.shown);
    assert!(g.shown.len() < 1000, "{}", g.shown);
    let ok = "b".repeat(MAX_NAME_CHARS);
    assert_eq!(parse(&edit("name = \"quickstart\"", &format!("name = \"{ok}\"")), "x.toml").unwrap().name, ok);
}

#[test]
fn service_names_are_short_and_distinct() {
    let long = "p".repeat(65);
    let src = plus(&format!("[llms.{long}]\nprofile = \"llama-2-70b\"\n"));
    check(&src, &long, 0, &["invalid name for `[llms.NAME]`"], &["65 characters"]);
    let src = plus("[tools.tool]\nlatency = { dist = \"constant\", value = \"1ms\" }\n");
    check(
        &src,
        "tool]\nlatency = { dist = \"constant\"",
        0,
        &["`[tools.NAME]`"],
        &["already the service named `tool`"],
    );
    let s = parse(&plus("[llms.planner]\nprofile = \"llama-2-70b\"\n"), "x.toml").unwrap();
    assert_eq!(s.llms[1].name, "planner");
}

#[test]
fn prices_are_finite_and_bounded() {
    let src = edit("p99 = \"6s\" }", "p99 = \"6s\" }\ncost = { input_per_1k = 1e308 }");
    check(&src, "1e308", 0, &["llm.cost.input_per_1k"], &["at most 1e6"]);
    let src = edit("p99 = \"6s\" }", "p99 = \"6s\" }\ncost = { output_per_1k = inf }");
    check(&src, "inf", 0, &["llm.cost.output_per_1k"], &[]);
    let src = edit("p99 = \"6s\" }", "p99 = \"6s\" }\ncost = { input_per_1k = 1e6, output_per_1k = 1e6 }");
    let s = parse(&src, "x.toml").unwrap();
    let x = s.llms[0].llm.as_ref().unwrap();
    // The most a call can cost, times more calls than a run can make, is finite.
    let per_call = f64::from(u32::MAX) / 1000.0 * (x.cost_input_per_1k + x.cost_output_per_1k);
    assert!((per_call * u64::MAX as f64).is_finite());
}

#[test]
fn token_counts_fit_32_bits() {
    let src = edit("p99 = \"6s\" }", "p99 = \"6s\" }\ninput_tokens = { dist = \"constant\", value = 1e12 }");
    check(&src, "1e12", 0, &["llm.input_tokens.value"], &["10,000,000"]);
    let src = edit("p99 = \"6s\" }", "p99 = \"6s\" }\noutput_tokens = { dist = \"uniform\", min = 1, max = 5e9 }");
    check(&src, "5e9", 0, &["llm.output_tokens.max"], &["10,000,000"]);
    // Parameters within the bound, but a tail that reaches past u32 too often.
    let src =
        edit("p99 = \"6s\" }", "p99 = \"6s\" }\noutput_tokens = { dist = \"lognormal\", median = 1, p99 = 10000000 }");
    check(&src, "10000000 }", 0, &["llm.output_tokens.p99"], &["one call in a million", "4294967295"]);
    let src = edit(
        "p99 = \"6s\" }",
        "p99 = \"6s\" }\ninput_tokens = { dist = \"lognormal\", median = 100000, p99 = 10000000 }",
    );
    parse(&src, "x.toml").unwrap();
}

#[test]
fn counts_kept_in_32_bits_are_checked() {
    let src = edit("p99 = \"6s\" }", "p99 = \"6s\" }\nconcurrency = 4294967296");
    check(&src, "4294967296", 0, &["llm.concurrency"], &["at most 4294967295"]);
    let src = edit("p99 = \"6s\" }", "p99 = \"6s\" }\nrate_limit = { rpm = 8589934592 }");
    check(&src, "8589934592", 0, &["llm.rate_limit.rpm"], &[]);
}

#[test]
fn partition_groups_are_disjoint_and_not_empty() {
    let base = edit("agents = 16", "agents = 16\nnodes = 4");
    let src = format!("{base}[[faults.schedule]]\nat = \"1s\"\npartition = [[0, 1], [2, 1]]\nfor = \"5s\"\n");
    check(&src, "1]]", 0, &["faults.schedule.partition"], &["node 1 is listed twice"]);
    let src = format!("{base}[[faults.schedule]]\nat = \"1s\"\npartition = [[0, 0], [2]]\nfor = \"5s\"\n");
    check(&src, "0], [2]]", 0, &["faults.schedule.partition"], &["node 0 is listed twice"]);
    let src = format!("{base}[[faults.schedule]]\nat = \"1s\"\npartition = [[0, 1], []]\nfor = \"5s\"\n");
    check(&src, "[]]", 0, &["faults.schedule.partition"], &["empty group"]);
    let ok = format!("{base}[[faults.schedule]]\nat = \"1s\"\npartition = [[0, 1], [3]]\nfor = \"5s\"\n");
    parse(&ok, "x.toml").unwrap();
}

#[test]
fn fanout_axis_needs_a_fanout_workload() {
    let src = plus("[strategies]\nretry = [\"none\"]\nfanout = [\"all\", \"quorum\"]\n");
    check(&src, "fanout = [", 0, &["strategy axis `fanout`", "`pool`-shaped"], &["shape = \"fanout\""]);
    let pipeline = edit("rate_per_s = 20 }", "rate_per_s = 20 }\nshape = \"pipeline\"");
    let src = format!("{pipeline}[strategies]\nfanout = [\"all\"]\n");
    check(&src, "fanout = [", 0, &["`pipeline`-shaped"], &[]);
    let fanout = edit("rate_per_s = 20 }", "rate_per_s = 20 }\nshape = \"fanout\"");
    let s = parse(&format!("{fanout}[strategies]\nfanout = [\"all\", \"first\"]\n"), "x.toml").unwrap();
    assert_eq!(s.strategies[0].values, ["all", "first"]);
}

#[test]
fn links_join_two_different_nodes_once() {
    let base = edit("agents = 16", "agents = 16\nnodes = 3");
    let src = format!("{base}[[topology.links]]\nfrom = 0\nto = 0\nloss = 0.5\n");
    check(&src, "0\nloss", 0, &["topology.links.to"], &["two different nodes", "within one node"]);
    let src = format!("{base}[[topology.links]]\nfrom = 0\nto = 2\n\n[[topology.links]]\nfrom = 0\nto = 2\n");
    let g = fail(&src);
    let (l, c, _) = locate(&src, src.rfind("from = 0").unwrap() + 7);
    assert_eq!((g.line, g.column), (l, c), "{}", g.shown);
    assert!(g.hint.contains("already set above"), "{}", g.shown);
    let ok = format!("{base}[[topology.links]]\nfrom = 0\nto = 2\n\n[[topology.links]]\nfrom = 2\nto = 0\n");
    assert_eq!(parse(&ok, "x.toml").unwrap().topology.links.len(), 2);
}

#[test]
fn seed_lists_are_capped() {
    let seeds: Vec<String> = (0..=MAX_SEED_COUNT).map(|i| i.to_string()).collect();
    let src = edit("seeds = 20", &format!("seeds = [{}]", seeds.join(",")));
    let g = fail(&src);
    assert_eq!((g.line, g.column), (2, 9), "{}", g.shown);
    assert!(g.hint.contains("at most 1000000"), "{}", g.shown);
    // The source line is 6.9 MB; the error shows a window of it.
    assert!(g.shown.len() < 2000, "{} bytes", g.shown.len());
}

/// The column (1-based, in chars) of the caret in a rendered diagnostic,
/// and the text of the line above it.
fn caret(shown: &str) -> (String, usize) {
    let lines: Vec<&str> = shown.lines().collect();
    let i = lines.iter().position(|l| l.trim_start().starts_with("| ") && l.trim_end().ends_with('^')).unwrap();
    let source = lines[i - 1].split_once("| ").unwrap().1.to_owned();
    let col = lines[i].split_once("| ").unwrap().1.chars().count();
    (source, col)
}

/// The caret of `g` is under the character its header's line and column name.
fn assert_caret(src: &str, g: &Got) {
    let line = src.lines().nth(g.line - 1).unwrap();
    let (shown_line, col) = caret(&g.shown);
    assert_eq!(shown_line.chars().nth(col - 1), line.chars().nth(g.column - 1), "{}", g.shown);
}

#[test]
fn echoed_input_is_cut_and_the_caret_still_points_at_it() {
    // A 50,000-character line with the bad value in the middle.
    let pad = "x".repeat(25_000);
    let src = edit("seeds = 20", &format!("description = \"{pad}\"; seeds = 20 # {pad}"));
    let g = fail(&src);
    assert!(g.shown.len() < 1500, "{} bytes:\n{}", g.shown.len(), g.shown);
    let (shown_line, col) = caret(&g.shown);
    assert!(shown_line.chars().count() <= MAX_ECHO_CHARS + 2, "{shown_line}");
    assert!(shown_line.starts_with('…') && shown_line.ends_with('…'), "{shown_line}");
    // The caret is under the character the header's column names.
    let (_, c) = at(&src, "; seeds", 0);
    assert_eq!(g.column, c, "{}", g.shown);
    assert_eq!(shown_line.chars().nth(col - 1), Some(';'), "{}", g.shown);
    assert_caret(&src, &g);

    // At the end of a long line, and at its start.
    let src = edit("seeds = 20", &format!("seeds = 20 {pad}"));
    let g = fail(&src);
    let (shown_line, col) = caret(&g.shown);
    assert_eq!(shown_line.chars().nth(col - 1), Some('2'), "{}", g.shown);
    assert_caret(&src, &g);
    assert!(g.shown.len() < 1500);
    let src = edit("seeds = 20", &format!("seeds = \"{pad}\""));
    let g = fail(&src);
    let (shown_line, col) = caret(&g.shown);
    assert_eq!(shown_line.chars().nth(col - 1), Some('"'), "{}", g.shown);
    assert_caret(&src, &g);
    assert!(!shown_line.starts_with('…') && shown_line.ends_with('…'), "{}", g.shown);
    assert!(g.shown.len() < 1500, "{}", g.shown);

    // Long keys, values, units and names quoted in messages and hints.
    for src in [
        edit("seeds = 20", &format!("seeds = 20\n{pad} = 1")),
        edit("duration = \"60s\"", &format!("duration = \"60{pad}\"")),
        edit("duration = \"60s\"", &format!("duration = \"6 0{pad}\"")),
        edit("rate_per_s = 20", &format!("rate_per_s = \"{pad}\"")),
        plus(&format!("[strategies]\n{pad} = [\"none\"]\n")),
        plus(&format!("[strategies]\nretry = [\"{pad}\"]\n")),
        edit("rate_per_s = 20 }", &format!("rate_per_s = 20 }}\nsteps = [\"llm:{pad}\"]")),
        edit("rate_per_s = 20 }", &format!("rate_per_s = 20 }}\nshape = \"{pad}\"")),
        plus(&format!("[llms.{pad}]\nprofile = \"llama-2-70b\"\n")),
        plus(&format!("[llms.{pad}]\nprofile = \"llama-2-70b\"\nbad_key = 1\n")),
        plus(&format!("[llms.{pad}]\nprofile = 3\n")),
        plus(&format!("[faults]\n[[faults.schedule]]\nat = \"1s\"\nbrownout = {{ llm = \"{pad}\" }}\nfor = \"1s\"\n")),
        edit("p99 = \"6s\" }", &format!("p99 = \"6s\" }}\ntokens_csv = \"{pad}.csv\"")),
        edit("name = \"quickstart\"", &format!("name = \"Q {pad}\"")),
    ] {
        let g = fail(&src);
        assert!(g.shown.len() < 2000, "{} bytes:\n{}", g.shown.len(), g.shown);
        assert_caret(&src, &g);
    }
}

#[test]
fn clip_and_window() {
    use super::super::error::{clip, window};
    assert_eq!(clip("abc", 3), "abc");
    assert_eq!(clip("abcd", 3), "ab…");
    assert_eq!(clip("ééé", 2), "é…");
    assert_eq!(window("short", 3), ("short".into(), 3));
    let line: String = (0..1000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    for col in [1, 2, 100, 101, 500, 999, 1000, 1001] {
        let (shown, c) = window(&line, col);
        assert!(shown.chars().count() <= MAX_ECHO_CHARS + 2);
        if col <= 1000 {
            assert_eq!(shown.chars().nth(c - 1), line.chars().nth(col - 1), "col {col}: {shown}");
        } else {
            assert_eq!(c, shown.chars().count() + 1, "just past the end");
        }
    }
}

#[test]
fn non_utf8_files_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let mut bytes = MINIMAL.as_bytes().to_vec();
    let at = MINIMAL.find("agents").unwrap() + 3;
    bytes.insert(at, 0xFF);
    std::fs::write(&path, &bytes).unwrap();
    let e = super::super::load(&path).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let shown = e.to_string();
    assert!(shown.starts_with(&format!("{}:6:4: the file is not UTF-8 text", path.display())), "{shown}");
    assert!(shown.contains("invalid byte 0xFF") && shown.contains("6 | age"), "{shown}");
}

#[test]
fn scenario_files_are_read_with_a_cap() {
    let e = super::super::load(Path::new("/dev/zero")).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let shown = e.to_string();
    assert!(shown.contains("larger than 1 MiB, the limit for scenario files"), "{shown}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.toml");
    let filler = format!("# {}\n", "x".repeat(1000));
    std::fs::write(&path, format!("{MINIMAL}{}", filler.repeat(1100))).unwrap();
    let shown = super::super::load(&path).unwrap_err().to_string();
    assert!(shown.contains("1 MiB"), "{shown}");
}

/// A scenario in a temporary directory, with `extra` appended to its
/// `[llm]` table and `csv` written next to it as `tokens.csv`.
fn scenario_with_csv(llm_extra: &str, csv: Option<&str>) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let path = sub.join("s.toml");
    std::fs::write(&path, edit("p99 = \"6s\" }", &format!("p99 = \"6s\" }}\n{llm_extra}"))).unwrap();
    if let Some(csv) = csv {
        std::fs::write(sub.join("tokens.csv"), csv).unwrap();
    }
    (dir, path)
}

#[test]
fn tokens_csv_is_read_once_relative_to_the_scenario() {
    let (_dir, path) = scenario_with_csv("tokens_csv = \"tokens.csv\"", Some("input,output\n10,2\n30,4\n"));
    // Loaded from anywhere: the path is the scenario's directory's.
    let s = super::super::load(&path).unwrap();
    let x = s.llms[0].llm.as_ref().unwrap();
    assert_eq!(x.token_trace.as_deref(), Some(&[(10, 2), (30, 4)][..]));
    assert_eq!(x.tokens_csv.as_deref(), Some(path.parent().unwrap().join("tokens.csv").as_path()));
    // An absolute path stays.
    let abs = path.parent().unwrap().join("tokens.csv");
    let (_d2, p2) = scenario_with_csv(&format!("tokens_csv = \"{}\"", abs.display()), None);
    assert!(super::super::load(&p2).unwrap().llms[0].llm.as_ref().unwrap().token_trace.is_some());
}

#[test]
fn tokens_csv_errors_are_located_at_the_key() {
    let (_dir, path) = scenario_with_csv("tokens_csv = \"no-such-file.csv\"", None);
    let e = super::super::load(&path).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let shown = e.to_string();
    let src = std::fs::read_to_string(&path).unwrap();
    let (l, c) = at(&src, "\"no-such-file.csv\"", 0);
    assert!(shown.starts_with(&format!("{}:{l}:{c}: invalid value for `llm.tokens_csv`", path.display())), "{shown}");
    assert!(shown.contains("cannot read") && shown.contains("scenario file's directory"), "{shown}");

    let (_dir, path) = scenario_with_csv("tokens_csv = \"tokens.csv\"", Some("10,2\n20,3\n30,x\n"));
    let shown = super::super::load(&path).unwrap_err().to_string();
    assert!(shown.contains("llm.tokens_csv") && shown.contains("line 3: output tokens"), "{shown}");

    let (_dir, path) = scenario_with_csv("tokens_csv = \"tokens.csv\"", Some(""));
    let shown = super::super::load(&path).unwrap_err().to_string();
    assert!(shown.contains("no requests"), "{shown}");

    let (_dir, path) = scenario_with_csv("tokens_csv = \"/dev/zero\"", None);
    let shown = super::super::load(&path).unwrap_err().to_string();
    assert!(shown.contains("larger than 64 MiB, the limit for CSV files"), "{shown}");
}

#[test]
fn latency_csv_is_relative_to_the_scenario_and_capped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    let net = "agents = 16\nnetwork = { latency_csv = \"lat.csv\" }";
    std::fs::write(&path, edit("agents = 16", net)).unwrap();
    std::fs::write(dir.path().join("lat.csv"), "ns\n1000\n3000\n").unwrap();
    let s = super::super::load(&path).unwrap();
    assert_eq!(s.topology.network_latency, Dist::Empirical(vec![1000.0, 3000.0].into()));
    std::fs::write(&path, edit("agents = 16", "agents = 16\nnetwork = { latency_csv = \"/dev/zero\" }")).unwrap();
    let shown = super::super::load(&path).unwrap_err().to_string();
    assert!(shown.contains("topology.network.latency_csv") && shown.contains("64 MiB"), "{shown}");
    std::fs::write(dir.path().join("lat.csv"), b"1000\n\xff\n").unwrap();
    std::fs::write(&path, edit("agents = 16", net)).unwrap();
    let shown = super::super::load(&path).unwrap_err().to_string();
    assert!(shown.contains("line 2: not UTF-8"), "{shown}");
}

#[test]
fn control_characters_are_not_echoed() {
    let src = edit("seeds = 20", "seeds = \u{1b}[2J20");
    let g = fail(&src);
    assert!(!g.shown.contains('\u{1b}'), "{}", g.shown);
    assert_eq!(caret(&g.shown).0, "seeds = \u{FFFD}[2J20");
}

#[test]
fn exclusive_chances_sum_to_at_most_one() {
    // Accepted by the loader before, then every run failed to set up (exit 1).
    let src = edit("p99 = \"6s\" }", "p99 = \"6s\" }\nerror_rate = 0.8\nhang_rate = 0.5");
    check(&src, "0.5", 0, &["llm.hang_rate"], &["`error_rate` + `hang_rate`", "1.3"]);
    let src = plus("timeout_rate = 0.5\ncrash_rate = 0.6\n");
    check(&src, "0.6", 0, &["tool.crash_rate"], &["sum to 1.1"]);
    let src = plus("timeout_rate = 0.5\ncrash_rate = 0.5\n");
    parse(&src, "x.toml").unwrap();
}

// ---------------------------------------------------------------------------
// Issue 9: strategy values with parameters, sweeps.

/// `MINIMAL` with `[strategies]` holding `body`.
fn strat(body: &str) -> String {
    format!("{MINIMAL}[retry]\nmax_attempts = 3\nbase_delay = \"50ms\"\nmax_delay = \"2s\"\n[strategies]\n{body}\n")
}

fn retries(s: &Scenario) -> Vec<crate::strategy::retry::Retry> {
    match &s.strategies[0].typed {
        crate::strategy::AxisValues::Retry(v) => v.clone(),
        other => panic!("not retry: {other:?}"),
    }
}

#[test]
fn variants_take_parameters_and_default_to_the_retry_table() {
    use rehearsal_runtime::retry::RetryStrategy;
    let s = parse(
        &strat(
            "retry = [\"none\", { name = \"exp4\", kind = \"exponential\", max_attempts = 4, base_delay = \"200ms\" }, \
             { name = \"exp8\", kind = \"exponential\", max_attempts = 8 }, \"exponential\", \
             { kind = \"fixed\", max_attempts = 2 }]",
        ),
        "v.toml",
    )
    .unwrap();
    assert_eq!(s.strategies[0].values, ["none", "exp4", "exp8", "exponential", "fixed/max_attempts=2"]);
    let r = retries(&s);
    assert_eq!(r[0].kind, RetryStrategy::None);
    assert_eq!(
        (r[1].kind, r[1].max_attempts, r[1].base_delay_ns, r[1].max_delay_ns),
        (RetryStrategy::Exponential, 4, 200_000_000, 2_000_000_000)
    );
    assert_eq!((r[2].max_attempts, r[2].base_delay_ns), (8, 50_000_000));
    // A plain string means what it always meant: the kind with `[retry]`.
    assert_eq!((r[3].kind, r[3].max_attempts, r[3].base_delay_ns), (RetryStrategy::Exponential, 3, 50_000_000));
    assert_eq!((r[4].kind, r[4].max_attempts), (RetryStrategy::Fixed, 2));
    // A lone table (no list) is one value.
    let s = parse(&strat("retry = { name = \"x\", kind = \"fixed\" }"), "v.toml").unwrap();
    assert_eq!(s.strategies[0].values, ["x"]);
}

#[test]
fn sweeps_expand_to_the_product_with_readable_labels() {
    let s = parse(&strat("retry = { kind = \"exponential\", max_attempts = [1, 2, 4, 8] }"), "s.toml").unwrap();
    assert_eq!(
        s.strategies[0].values,
        [
            "exponential/max_attempts=1",
            "exponential/max_attempts=2",
            "exponential/max_attempts=4",
            "exponential/max_attempts=8"
        ]
    );
    assert_eq!(retries(&s).iter().map(|r| r.max_attempts).collect::<Vec<_>>(), [1, 2, 4, 8]);
    // Two swept parameters: the product, the first varying slowest; a named
    // sweep shows only the swept parameters.
    let s = parse(
        &strat(
            "retry = [\"none\", { name = \"exp\", kind = \"exponential\", max_delay = \"5s\", max_attempts = [2, 4], \
             base_delay = [\"100ms\", \"1s\"] }]",
        ),
        "s.toml",
    )
    .unwrap();
    assert_eq!(
        s.strategies[0].values,
        [
            "none",
            "exp/max_attempts=2/base_delay=100ms",
            "exp/max_attempts=2/base_delay=1s",
            "exp/max_attempts=4/base_delay=100ms",
            "exp/max_attempts=4/base_delay=1s"
        ]
    );
    let r = retries(&s);
    assert_eq!((r[4].max_attempts, r[4].base_delay_ns, r[4].max_delay_ns), (4, 1_000_000_000, 5_000_000_000));
    assert_eq!(crate::strategy::combinations(&s.strategies).len(), 5);
}

#[test]
fn bad_strategy_values_are_located() {
    // Unknown kind, with a did-you-mean.
    let src = strat("retry = [{ kind = \"exponentail\", max_attempts = 2 }]");
    check(&src, "\"exponentail\"", 0, &["unknown value `exponentail`", "`retry`"], &["did you mean `exponential`?"]);
    // Unknown parameter, with a did-you-mean.
    let src = strat("retry = [{ kind = \"fixed\", max_attempts = 2, base_dealy = \"1s\" }]");
    check(&src, "base_dealy", 0, &["unknown parameter `base_dealy`", "`retry`"], &["did you mean `base_delay`?"]);
    // Bad parameter values, at the value (or the swept element).
    let src = strat("retry = { kind = \"exponential\", max_attempts = [1, 0, 4] }");
    let g = check(&src, "0, 4]", 0, &["`retry`", "max_attempts"], &["at least 1"]);
    assert!(g.expected.contains("integer"), "{}", g.shown);
    let src = strat("retry = [{ kind = \"fixed\", base_delay = \"soon\" }]");
    check(&src, "\"soon\"", 0, &["base_delay"], &["unit"]);
    let src = strat("retry = [{ kind = \"fixed\", base_delay = \"5s\" }]");
    check(&src, "\"5s\"", 0, &["base_delay"], &["`max_delay`", "[retry]"]);
    let src = strat("retry = [{ kind = \"fixed\", max_attempts = [] }]");
    check(&src, "[] }", 0, &["empty sweep", "max_attempts"], &[]);
    let src = strat("retry = [{ kind = \"fixed\", max_attempts = [[1]] }]");
    check(&src, "[1]", 0, &["wrong type", "max_attempts"], &[]);
    let src = strat("retry = [{ kind = \"none\", max_attempts = 2 }]");
    check(&src, "2 }", 0, &["takes no parameter"], &["never retries"]);
    // No kind; a bad name; a bare string where a list belongs; a number in the list.
    let src = strat("retry = [\"none\", { name = \"x\", max_attempts = 2 }]");
    check(&src, "{ name", 0, &["without a `kind`"], &[]);
    let src = strat("retry = [{ name = \"two words\", kind = \"fixed\" }]");
    check(&src, "\"two words\"", 0, &["invalid `name`"], &["label"]);
    let src = strat("retry = \"none\"");
    check(&src, "\"none\"", 0, &["wrong type", "strategies.retry"], &["retry = ["]);
    let src = strat("retry = [\"none\", 3]");
    check(&src, "3]", 0, &["wrong type", "`retry`"], &["`fixed`"]);
    // A label that could not be used unquoted on a command line.
    let src = strat("retry = { kind = \"fixed\", base_delay = [\"10µs\", \"1ms\"] }");
    check(&src, "\"10µs\"", 0, &["label", "µ"], &["250us"]);
    // Parameters on an axis that takes none.
    let src = strat("supervision = [{ kind = \"one_for_one\", max_restarts = 3 }]");
    check(&src, "max_restarts", 0, &["unknown parameter"], &["take no parameters"]);
    // Too many values.
    let src = strat(
        "retry = { kind = \"fixed\", max_attempts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], base_delay = [\"1ms\", \"2ms\", \"3ms\", \"4ms\", \"5ms\", \"6ms\", \"7ms\", \"8ms\", \"9ms\", \"10ms\"], max_delay = [\"11s\", \"12s\", \"13s\", \"14s\", \"15s\", \"16s\", \"17s\", \"18s\", \"19s\", \"20s\", \"21s\"] }",
    );
    check(&src, "{ kind", 0, &["more than 1000"], &["fewer"]);
}

#[test]
fn duplicate_labels_are_rejected() {
    for (body, needle) in [
        ("retry = [\"exponential\", { kind = \"exponential\" }]", "{ kind"),
        (
            "retry = [{ name = \"a\", kind = \"fixed\" }, { name = \"a\", kind = \"exponential\" }]",
            "{ name = \"a\", kind = \"exp",
        ),
        ("retry = [{ kind = \"fixed\", max_attempts = [2, 3] }, { kind = \"fixed\", max_attempts = [3] }]", "3] }]"),
    ] {
        let g = check(&strat(body), needle, 0, &["listed twice", "`retry`"], &["distinct"]);
        assert_eq!(g.line, at(&strat(body), "retry = ", 0).0, "{}", g.shown);
    }
}

proptest! {
    /// Any sweep list of distinct attempts gives one value per element, in
    /// order, labelled `fixed/max_attempts=N`; a repeated element is a
    /// located duplicate.
    #[test]
    fn sweep_lists_expand_in_order(list in proptest::collection::vec(1u32..50, 1..12)) {
        let text: Vec<String> = list.iter().map(u32::to_string).collect();
        let src = strat(&format!("retry = {{ kind = \"fixed\", max_attempts = [{}] }}", text.join(", ")));
        let mut seen = std::collections::BTreeSet::new();
        let distinct = list.iter().all(|n| seen.insert(*n));
        match parse(&src, "p.toml") {
            Ok(s) => {
                prop_assert!(distinct);
                let want: Vec<String> = list.iter().map(|n| format!("fixed/max_attempts={n}")).collect();
                prop_assert_eq!(&s.strategies[0].values, &want);
                let got: Vec<u32> = retries(&s).iter().map(|r| r.max_attempts).collect();
                prop_assert_eq!(got, list.clone());
                // Every label resolves back to its value.
                for (label, want) in s.strategies[0].values.iter().zip(retries(&s)) {
                    let strategy = crate::strategy::Strategy::from([("retry".to_owned(), label.clone())]);
                    prop_assert_eq!(crate::strategy::resolve(&s, &strategy).unwrap().retry, want);
                }
            }
            Err(e) => {
                prop_assert!(!distinct);
                prop_assert!(e.to_string().contains("listed twice"), "{}", e);
            }
        }
    }
}

/// `MINIMAL` with `[[workload.requests]]` tables (TOML text) after `[workload]`.
fn with_requests(requests: &str) -> String {
    edit("rate_per_s = 20 }\n", &format!("rate_per_s = 20 }}\n{requests}\n"))
}

const TWO_TYPES: &str = r#"[[workload.requests]]
name = "chat"
weight = 3
steps = ["llm", "tool"]
deadline = "30s"
key = { dist = "zipf", keys = 1000, s = 1.1 }
[[workload.requests]]
name = "batch"
weight = 0.5
steps = ["llm"]
key = { dist = "uniform", keys = 100 }"#;

#[test]
fn request_mixes_parse() {
    let sc = parse(&with_requests(TWO_TYPES), "x.toml").unwrap_or_else(|e| panic!("{e}"));
    let t = &sc.workload.types;
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].name, "chat");
    assert_eq!(t[0].weight, 3.0);
    assert_eq!(t[0].steps, vec![Step::Llm(0), Step::Tool(0)]);
    assert_eq!(t[0].deadline_ns, 30_000_000_000);
    match &t[0].key {
        Some(KeyDist::Zipf { keys: 1000, s, cdf }) => {
            assert_eq!(*s, 1.1);
            assert_eq!(cdf.0.len(), 1000);
            assert!((cdf.0[999] - 1.0).abs() < 1e-12);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t[1].deadline_ns, sc.workload.request_timeout_ns);
    assert_eq!(t[1].key, Some(KeyDist::Uniform { keys: 100 }));
    assert_eq!(sc.workload.steps, t[0].steps);
    // The simple form is one type.
    let sc = parse(MINIMAL, "x.toml").unwrap();
    assert_eq!(sc.workload.types.len(), 1);
    assert_eq!(sc.workload.types[0].steps, sc.workload.steps);
}

#[test]
fn request_mixes_reject_bad_entries_where_they_are() {
    let src = with_requests(&TWO_TYPES.replace("weight = 0.5", "weight = 0"));
    check(&src, "0\nsteps = [\"llm\"]", 0, &["workload.requests.weight"], &[]);
    let src = with_requests(&TWO_TYPES.replace("weight = 0.5", "weight = -2"));
    check(&src, "-2", 0, &["workload.requests.weight"], &[]);
    let src = with_requests(&TWO_TYPES.replace("name = \"batch\"", "name = \"chat\""));
    let g = fail(&src);
    assert_eq!(g.line, at(&src, "name = \"chat\"\nweight = 0.5", 7).0, "{}", g.shown);
    assert!(g.hint.contains("twice"), "{}", g.shown);
    let src = with_requests(&TWO_TYPES.replace("deadline = \"30s\"", "dedline = \"30s\""));
    let g = fail(&src);
    assert_eq!(g.line, at(&src, "dedline", 0).0, "{}", g.shown);
    let src = with_requests(&TWO_TYPES.replace("dist = \"zipf\"", "dist = \"zipfian\""));
    check(&src, "\"zipfian\"", 0, &["workload.requests.key.dist"], &[]);
    let src = with_requests(&TWO_TYPES.replace("keys = 100 }", "keys = 0 }"));
    check(&src, "keys = 0 }", 7, &["workload.requests.key.keys"], &[]);
    let src = with_requests(&TWO_TYPES.replace("name = \"chat\"", "name = \"Chat!\""));
    check(&src, "\"Chat!\"", 0, &["workload.requests.name"], &[]);
    let src = edit("rate_per_s = 20 }\n", &format!("rate_per_s = 20 }}\nshape = \"pipeline\"\n{TWO_TYPES}\n"));
    check(&src, "\"pipeline\"", 0, &["workload.shape"], &["pipeline"]);
    let src = edit("rate_per_s = 20 }\n", &format!("rate_per_s = 20 }}\nsteps = [\"llm\"]\n{TWO_TYPES}\n"));
    check(&src, "[\"llm\"]\n[[", 0, &["workload.steps"], &[]);
}

#[test]
fn node_capacity_and_joins_are_checked_where_they_are() {
    let src = edit("agents = 16", "agents = 16\nnodes = 3\ncapacity = { cpu = 0 }");
    check(&src, "0 }", 0, &["topology.capacity.cpu"], &["CPU slot"]);
    let src = edit("agents = 16", "agents = 16\nnodes = 3\nnode_capacity = [{ node = 3, cpu = 2 }]");
    check(&src, "3, cpu", 0, &["node_capacity.node"], &["numbered from 0"]);
    let src = edit(
        "agents = 16",
        "agents = 16\nnodes = 3\nnode_capacity = [{ node = 1, cpu = 2 }, { node = 1, memory_mb = 5 }]",
    );
    check(&src, "1, memory_mb", 0, &["node_capacity.node"], &["twice"]);
    let with_fault = |f: &str| {
        format!("{}\n[faults]\n[[faults.schedule]]\nat = \"5s\"\n{f}\n", edit("agents = 16", "agents = 16\nnodes = 3"))
    };
    let src = with_fault("join_node = 0");
    check(&src, "join_node = 0", 12, &["join_node"], &["node 0"]);
    let src = with_fault("join_node = 2\nfor = \"5s\"");
    check(&src, "for = \"5s\"", 6, &["faults.schedule.for"], &["joining node stays"]);
    // A node's own capacity overrides the default key by key.
    let sc = parse(
        &edit(
            "agents = 16",
            "agents = 16\nnodes = 3\ncapacity = { cpu = 2, memory_mb = 100 }\nnode_capacity = [{ node = 2, cpu = 8 }]",
        ),
        "x.toml",
    )
    .expect("parses");
    assert_eq!(sc.topology.capacity_of(2), NodeCapacity { cpu: Some(8), memory_mb: Some(100) });
    assert_eq!(sc.topology.capacity_of(0), NodeCapacity { cpu: Some(2), memory_mb: Some(100) });
}
