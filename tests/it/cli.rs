//! Every bundled scenario,
//! the golden trace hash, and the command line's contracts (JSON output,
//! exit codes, errors on bad input).

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{rehearsal, root, stderr, stdout};
use rehearsal::run::{RunOptions, run_once};
use rehearsal::scenario;
use rehearsal::strategy::{combinations, default_strategy};

fn scenarios() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    paths
}

/// Every scenario, every strategy combination, a few seeds, twice each:
/// the trace hashes (and whole summaries) must match.
#[test]
fn every_scenario_is_deterministic_on_a_few_seeds() {
    for path in scenarios() {
        let sc = scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for strategy in combinations(&sc.strategies) {
            for &seed in sc.seeds.iter().take(3) {
                let a = run_once(&sc, seed, &strategy, RunOptions::default()).expect("run");
                let b = run_once(&sc, seed, &strategy, RunOptions::default()).expect("run");
                assert_eq!(a.summary, b.summary, "{} seed {seed} {strategy:?}", path.display());
                let r = &a.summary.requests;
                assert!(r.arrived > 0, "{}: no requests", path.display());
                assert_eq!(r.arrived, r.succeeded + r.failed + r.in_flight);
            }
        }
    }
}

/// A recorded run (the determinism self-check's mode) hashes the same as a
/// plain one: recording must not change what happens.
#[test]
fn recording_the_trace_does_not_change_the_run() {
    let sc = scenario::load(&root().join("scenarios/quickstart.toml")).unwrap();
    let strategy = default_strategy(&sc.strategies);
    let plain = run_once(&sc, 3, &strategy, RunOptions::default()).unwrap();
    let recorded = run_once(&sc, 3, &strategy, RunOptions { record_trace: true, ..RunOptions::default() }).unwrap();
    assert_eq!(plain.summary, recorded.summary);
    let checkpointed = rehearsal_sim::trace::TraceMode::Checkpoints { every: 100 };
    let checked = run_once(&sc, 3, &strategy, RunOptions { trace: checkpointed, ..RunOptions::default() }).unwrap();
    assert_eq!(plain.summary, checked.summary);
    assert_eq!(checked.checkpoints.len(), recorded.trace.len() / 100);
    // A window records exactly those events of the full recording.
    let window = rehearsal_sim::trace::TraceMode::Window { from: 50, to: 80 };
    let windowed = run_once(&sc, 3, &strategy, RunOptions { trace: window, ..RunOptions::default() }).unwrap();
    assert_eq!(plain.summary, windowed.summary);
    assert_eq!(windowed.trace, recorded.trace[50..80]);
    assert_eq!(recorded.trace.len() as u64, recorded.trace.last().map_or(0, |r| r.index + 1));
}

/// The golden snapshot: quickstart seed 1's whole summary (trace hash
/// included). If it changes, the simulation's behaviour or the figures
/// changed: the failure lists every field that moved. Update it
/// deliberately with `REHEARSAL_UPDATE_SNAPSHOTS=1 cargo test --test it
/// golden`, and say why in the commit.
#[test]
fn quickstart_golden_snapshot() {
    let sc = scenario::load(&root().join("scenarios/quickstart.toml")).unwrap();
    let strategy = default_strategy(&sc.strategies);
    let out = run_once(&sc, 1, &strategy, RunOptions::default()).unwrap();
    let now = serde_json::to_value(&out.summary).unwrap();
    let path = root().join("tests/snapshots/quickstart-seed-1.json");
    if std::env::var_os("REHEARSAL_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let golden: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut moved = Vec::new();
    diff_json("", &golden, &now, &mut moved);
    assert!(
        moved.is_empty(),
        "quickstart seed 1 changed ({} fields moved; REHEARSAL_UPDATE_SNAPSHOTS=1 to accept):\n{}",
        moved.len(),
        moved.join("\n")
    );
}

/// Every path where `a` and `b` differ, as `path: a -> b`.
fn diff_json(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let null = Value::Null;
                diff_json(&format!("{path}.{k}"), x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff_json(&format!("{path}[{i}]"), p, q, out);
            }
        }
        _ if a != b => {
            let short = |v: &Value| {
                let t = v.to_string();
                if t.len() > 60 { format!("{}...", &t[..60]) } else { t }
            };
            out.push(format!("  {path}: {} -> {}", short(a), short(b)));
        }
        _ => {}
    }
}

#[test]
fn run_json_is_byte_identical_and_has_the_contract_fields() {
    let args = ["run", "scenarios/quickstart.toml", "--seed", "7", "--json"];
    let a = rehearsal(&args);
    let b = rehearsal(&args);
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(a.stdout, b.stdout);
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).expect("stdout is exactly one JSON object");
    for key in [
        "scenario",
        "seed",
        "strategy",
        "trace_hash",
        "events",
        "sim_time_s",
        "requests",
        "latency_ms",
        "throughput_per_s",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    for key in ["arrived", "succeeded", "failed", "in_flight"] {
        assert!(v["requests"][key].is_u64(), "requests.{key}");
    }
    for key in ["p50", "p90", "p99", "p999", "max", "mean"] {
        assert!(v["latency_ms"][key].is_number(), "latency_ms.{key}");
    }
    assert_eq!(v["seed"], 7);
    assert_eq!(v["strategy"]["retry"], "none");
    assert!(v["trace_hash"].as_str().is_some_and(|h| h.len() == 16));
    assert!(stderr(&a).contains("replay: rehearsal run scenarios/quickstart.toml --seed 7 --strategy retry=none"));
}

#[test]
fn strategy_flag_selects_a_combination() {
    let o = rehearsal(&["run", "scenarios/quickstart.toml", "--strategy", "retry=exponential_full_jitter", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["strategy"]["retry"], "exponential_full_jitter");
    let bad = rehearsal(&["run", "scenarios/quickstart.toml", "--strategy", "retry=sometimes"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("sometimes"));
    let bad_axis = rehearsal(&["run", "scenarios/quickstart.toml", "--strategy", "colour=red"]);
    assert_eq!(bad_axis.status.code(), Some(2));
}

#[test]
fn check_determinism_passes_on_every_scenario() {
    for path in scenarios() {
        let p = path.to_string_lossy().into_owned();
        let o = rehearsal(&["run", &p, "--check-determinism"]);
        assert_eq!(o.status.code(), Some(0), "{p}: {}{}", stdout(&o), stderr(&o));
        assert!(stdout(&o).contains("deterministic"));
    }
}

#[test]
fn sweep_result_does_not_depend_on_jobs() {
    let one = rehearsal(&["sweep", "scenarios/quickstart.toml", "--seeds", "1..9", "--jobs", "1"]);
    let three = rehearsal(&["sweep", "scenarios/quickstart.toml", "--seeds", "1..9", "--jobs", "3"]);
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    assert_eq!(stdout(&one), stdout(&three));
    assert!(stdout(&one).contains("8 passed, 0 failed"), "{}", stdout(&one));
}

#[test]
fn compare_writes_json_markdown_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let o = rehearsal(&["compare", "scenarios/quickstart.toml", "--seeds", "3", "--out", &out.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["strategies"].as_array().map(Vec::len), Some(4));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("retry=exponential_full_jitter"));
    let svg = std::fs::read_to_string(out.join("latency.svg")).unwrap();
    assert!(svg.starts_with("<svg"));
    for line in ["report.json", "report.md", "latency.svg", "index.html"] {
        assert!(stdout(&o).contains(line), "paths printed");
    }
    // The page: the scenario, the charts inline, nothing from the network.
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("<h1>quickstart</h1>"));
    assert!(html.contains(svg.trim_end()), "latency.svg inline");
    assert_eq!(html.matches("<svg").count(), 3);
    let lower = html.to_ascii_lowercase();
    for bad in ["src=\"http", "href=\"http", "<script", "<link"] {
        assert!(!lower.contains(bad), "{bad}");
    }
    assert!(html.contains("name = &quot;quickstart&quot;"), "the scenario's text");
    assert!(
        json["command_line"].as_str().is_some_and(|c| c == "rehearsal compare scenarios/quickstart.toml --seeds 3")
    );
}

/// Write `text` as a scenario file and run it; the run must exit 2 with a
/// located, hinted message, and must not panic.
fn bad_scenario(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, text).unwrap();
    let o = rehearsal(&["run", &path.to_string_lossy()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("bad.toml"), "names the file: {err}");
    err
}

const GOOD: &str = r#"
name = "ok"
seeds = 2
duration = "5s"
[topology]
agents = 2
[workload]
arrivals = { process = "poisson", rate_per_s = 2 }
[llm]
latency = { dist = "constant", value = "100ms" }
[tool]
latency = { dist = "constant", value = "10ms" }
"#;

#[test]
fn a_good_minimal_file_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("good.toml");
    std::fs::write(&path, GOOD).unwrap();
    let o = rehearsal(&["run", &path.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn missing_file_is_bad_input() {
    let o = rehearsal(&["run", "scenarios/does-not-exist.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does-not-exist.toml"));
}

#[test]
fn syntax_error_is_located() {
    let err = bad_scenario(&GOOD.replace("agents = 2", "agents = = 2"));
    assert!(err.contains("bad.toml:6:10"), "{err}");
}

#[test]
fn unknown_field_is_located_and_suggests() {
    let err = bad_scenario(&GOOD.replace("agents = 2", "agnets = 2"));
    assert!(err.contains("bad.toml:6:1"), "{err}");
    assert!(err.contains("agents"), "suggests the right key: {err}");
}

#[test]
fn wrong_type_is_located() {
    let err = bad_scenario(&GOOD.replace("agents = 2", "agents = \"two\""));
    assert!(err.contains("bad.toml:6:10"), "{err}");
}

#[test]
fn negative_rate_is_out_of_range() {
    let err = bad_scenario(&GOOD.replace("rate_per_s = 2", "rate_per_s = -3"));
    assert!(err.contains("bad.toml:8:48"), "{err}");
    assert!(err.contains("rate_per_s"), "{err}");
}

#[test]
fn zero_agents_is_out_of_range() {
    let err = bad_scenario(&GOOD.replace("agents = 2", "agents = 0"));
    assert!(err.contains("bad.toml:6:10"), "{err}");
    assert!(err.contains("hint") || err.contains("expected"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(rehearsal(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(rehearsal(&["sweep", "scenarios/quickstart.toml", "--seeds", "9..1"]).status.code(), Some(2));
    assert_eq!(rehearsal(&["run", "scenarios/quickstart.toml", "--seed", "minus-one"]).status.code(), Some(2));
}

#[test]
fn hitting_a_limit_is_a_named_error_with_a_replay_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("limited.toml");
    std::fs::write(&path, format!("{GOOD}\n[limits]\nmax_events = 50\n")).unwrap();
    let o = rehearsal(&["run", &path.to_string_lossy()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("max_events"), "{err}");
    assert!(err.contains("replay with: rehearsal run"), "{err}");
    let _ = Path::new(&path);
}

/// A tool that sometimes times out after doing its side effect, retries,
/// and the invariant that effects happen at most once: the sweep must find
/// the seeds that break it and print their replay commands.
#[test]
fn duplicated_side_effects_break_the_invariant_and_are_listed_with_replays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("effects.toml");
    let text = GOOD.replace(
        "latency = { dist = \"constant\", value = \"10ms\" }",
        "latency = { dist = \"constant\", value = \"10ms\" }\ntimeout_after_effect = 0.3\ntimeout = \"1s\"",
    ) + "\n[retry]\nmax_attempts = 4\nbase_delay = \"10ms\"\n\n[strategies]\nretry = [\"fixed\"]\n\n[invariants]\ntool_effects_at_most_once = true\n";
    std::fs::write(&path, text).unwrap();
    let p = path.to_string_lossy().into_owned();
    let o = rehearsal(&["sweep", &p, "--seeds", "1..4"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(out.contains("tool_effects_at_most_once"), "{out}");
    assert!(out.contains(&format!("replay: rehearsal run {p} --seed")), "{out}");
}

/// Every JSON object member named `key`, at any depth.
fn count_keys(v: &serde_json::Value, key: &str) -> usize {
    match v {
        serde_json::Value::Object(m) => {
            m.iter().map(|(k, v)| usize::from(k == key && v.is_object()) + count_keys(v, key)).sum()
        }
        serde_json::Value::Array(a) => a.iter().map(|v| count_keys(v, key)).sum(),
        _ => 0,
    }
}

fn compare_json(args: &[&str]) -> (Output, Option<serde_json::Value>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut all = vec!["compare"];
    all.extend_from_slice(args);
    let out_s = out.to_string_lossy().into_owned();
    all.extend_from_slice(&["--out", &out_s]);
    let o = rehearsal(&all);
    let json = std::fs::read(out.join("report.json")).ok().map(|b| serde_json::from_slice(&b).unwrap());
    (o, json, dir)
}

/// The acceptance check of "honest numbers": per-strategy `pooled` and
/// `vs_baseline` objects, next to the fields scripts already read.
#[test]
fn compare_report_has_pooled_and_paired_figures() {
    let (o, json, _dir) = compare_json(&["scenarios/quickstart.toml", "--seeds", "8"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json.unwrap();
    assert!(count_keys(&v, "pooled") >= 2);
    assert!(count_keys(&v, "vs_baseline") >= 1);
    assert_eq!(v["scenario"], "quickstart");
    assert_eq!(v["seeds"].as_array().map(Vec::len), Some(8));
    let s = &v["strategies"];
    assert_eq!(s[0]["label"], "retry=none");
    assert!(s[0]["strategy"].is_object() && s[0]["summary"].is_object() && s[0]["runs"].is_array());
    assert_eq!(v["baseline"], "retry=none");
    assert!(s[0].get("vs_baseline").is_none());
    let sr = &s[1]["vs_baseline"]["metrics"]["success_rate"];
    assert_eq!(sr["n"], 8);
    assert!(sr["excludes_zero"].is_boolean() && sr["unpaired_ci95_width"].is_number());
    assert!(s[0]["pooled"]["success_rate_ci95_low"].is_number());
    // compare measures: BUGGIFY off unless asked.
    assert_eq!(v["buggify"], false);
    let table = stdout(&o);
    assert!(table.contains("p99 pooled") && table.contains("p99 mean of seeds [95% CI]"), "{table}");
    assert!(table.contains("vs baseline S1 retry=none"), "{table}");
}

#[test]
fn baseline_strategy_by_label_or_strategy_string_and_unknown_is_usage() {
    let (o, json, _dir) =
        compare_json(&["scenarios/quickstart.toml", "--seeds", "2", "--baseline-strategy", "retry=fixed"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json.unwrap();
    assert_eq!(v["baseline"], "retry=fixed");
    assert!(v["strategies"][1].get("vs_baseline").is_none());
    assert_eq!(v["strategies"][0]["vs_baseline"]["baseline"], "retry=fixed");
    for bad in ["retry=sometimes", "colour=red", "nonsense"] {
        let (o, json, _dir) = compare_json(&["scenarios/quickstart.toml", "--seeds", "2", "--baseline-strategy", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("--baseline-strategy"), "{}", stderr(&o));
        assert!(json.is_none(), "no reports on a usage error");
    }
}

/// BUGGIFY: off for compare, on for run and sweep; the scenario's explicit
/// setting over the command's default; the flag over both. A compare run
/// replays with the printed `run` line: it carries `--buggify off`.
#[test]
fn buggify_defaults_flag_and_scenario_key() {
    let (_, json, _dir) = compare_json(&["scenarios/quickstart.toml", "--seeds", "2", "--buggify", "on"]);
    assert_eq!(json.unwrap()["buggify"], true);
    // llm-brownout.toml sets `enabled = false`; the flag still wins.
    let (_, json, _dir) = compare_json(&["scenarios/llm-brownout.toml", "--seeds", "1"]);
    assert_eq!(json.unwrap()["buggify"], false);
    let dir = tempfile::tempdir().unwrap();
    let on = dir.path().join("on.toml");
    std::fs::write(&on, format!("{GOOD}\n[buggify]\nenabled = true\n")).unwrap();
    let on = on.to_string_lossy().into_owned();
    let (_, json, _d) = compare_json(&[&on, "--seeds", "1"]);
    assert_eq!(json.unwrap()["buggify"], true, "the scenario key overrides compare's default");
    let (_, json, _d) = compare_json(&[&on, "--seeds", "1", "--buggify", "off"]);
    assert_eq!(json.unwrap()["buggify"], false, "the flag overrides the scenario key");
    assert_eq!(rehearsal(&["run", "scenarios/quickstart.toml", "--buggify", "maybe"]).status.code(), Some(2));

    // quickstart seed 2 fires BUGGIFY points under `run`'s default (on).
    let hash = |args: &[&str]| -> String {
        let o = rehearsal(args);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["trace_hash"].as_str().unwrap().to_owned()
    };
    let base = ["run", "scenarios/quickstart.toml", "--seed", "2", "--strategy", "retry=none", "--json"];
    let on_hash = hash(&base);
    let off_hash = hash(&[&base[..], &["--buggify", "off"]].concat());
    assert_ne!(on_hash, off_hash, "BUGGIFY changes seed 2");
    assert_eq!(on_hash, hash(&[&base[..], &["--buggify", "on"]].concat()));
    // compare ran seed 2 with BUGGIFY off: the same run as `run --buggify off`.
    let (_, json, _dir) = compare_json(&["scenarios/quickstart.toml", "--seeds", "2"]);
    let runs = &json.unwrap()["strategies"][0]["runs"];
    assert_eq!(runs[1]["seed"], 2);
    assert_eq!(runs[1]["trace_hash"], off_hash.as_str());
}

fn limited(dir: &Path, max_events: u32) -> String {
    let path = dir.join("limited.toml");
    std::fs::write(&path, format!("{GOOD}\n[limits]\nmax_events = {max_events}\n")).unwrap();
    path.to_string_lossy().into_owned()
}

/// Runs that stop with an error are listed with replay lines, and the
/// statistics use only the seeds every strategy ran.
#[test]
fn compare_lists_errored_runs_and_excludes_their_seeds() {
    let dir = tempfile::tempdir().unwrap();
    // Seeds 1, 2 and 4 of GOOD take more than 150 events; 3, 5, 6 fewer.
    let p = limited(dir.path(), 150);
    let (o, json, _d) = compare_json(&[&p, "--seeds", "6"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    let v = json.expect("reports are written when some runs finished");
    assert_eq!(v["seeds_used"], serde_json::json!([3, 5, 6]));
    let excluded: Vec<u64> =
        v["excluded_seeds"].as_array().unwrap().iter().map(|e| e["seed"].as_u64().unwrap()).collect();
    assert_eq!(excluded, vec![1, 2, 4]);
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3);
    assert!(errors[0]["reason"].as_str().unwrap().contains("max_events"), "{}", errors[0]);
    // compare ran with BUGGIFY off, which `run` does not default to: the
    // replay line says so.
    assert_eq!(errors[0]["replay"], format!("rehearsal run {p} --seed 1 --strategy retry=none --buggify off"));
    assert_eq!(v["strategies"][0]["summary"]["latency_ms.p99"]["n"], 3);
    assert_eq!(v["strategies"][0]["pooled"]["runs"], 3);
    assert!(out.contains("excluded from the statistics: seeds 1, 2, 4"), "{out}");
    assert!(
        out.contains(&format!("  replay: rehearsal run {p} --seed 1 --strategy retry=none --buggify off")),
        "{out}"
    );
}

/// A compare in which every run failed writes no report and leaves the
/// previous ones alone.
#[test]
fn compare_where_every_run_failed_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = limited(dir.path(), 50);
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("report.json"), "earlier").unwrap();
    let o = rehearsal(&["compare", &p, "--seeds", "2", "--out", &out.to_string_lossy()]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}{}", stderr(&o));
    assert!(text.contains("every run failed"), "{text}");
    assert!(text.contains("FAILED seed 2"), "{text}");
    assert!(
        text.contains(&format!("replay: rehearsal run {p} --seed 1 --strategy retry=none --buggify off")),
        "{text}"
    );
    assert_eq!(std::fs::read_to_string(out.join("report.json")).unwrap(), "earlier");
    assert!(!out.join("report.md").exists());
}

#[test]
fn sweep_replay_lines_carry_a_buggify_flag_only_when_needed() {
    let dir = tempfile::tempdir().unwrap();
    let p = limited(dir.path(), 50);
    let default = rehearsal(&["sweep", &p, "--seeds", "1..2"]);
    assert!(stdout(&default).contains("BUGGIFY on"), "{}", stdout(&default));
    assert!(stdout(&default).contains(&format!("replay: rehearsal run {p} --seed 1 --strategy retry=none\n")));
    let off = rehearsal(&["sweep", &p, "--seeds", "1..2", "--buggify", "off"]);
    assert!(
        stdout(&off).contains(&format!("replay: rehearsal run {p} --seed 1 --strategy retry=none --buggify off\n"))
    );
}

/// Reports are byte-identical for identical input, whatever `--jobs`.
#[test]
fn compare_reports_do_not_depend_on_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for (out, jobs) in [(&a, "1"), (&b, "2")] {
        let o = rehearsal(&[
            "compare",
            "scenarios/quickstart.toml",
            "--seeds",
            "3",
            "--jobs",
            jobs,
            "--out",
            &out.to_string_lossy(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    for file in ["report.json", "report.md", "latency.svg", "throughput.svg", "success.svg", "index.html"] {
        assert_eq!(std::fs::read(a.join(file)).unwrap(), std::fs::read(b.join(file)).unwrap(), "{file}");
    }
}
