//! `run --perfetto FILE`: the Chrome trace-event JSON a run is exported
//! as (its structure, its names, its bound), and that exporting it does
//! not change the run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::{rehearsal, root};
use rehearsal::run::{RunOptions, run_once};
use rehearsal::scenario;
use rehearsal::strategy::default_strategy;
use rehearsal::trace_export::perfetto::{self, MAX_EVENTS};
use serde_json::Value;

/// `rehearsal run SCENARIO --seed 1 --perfetto FILE`, parsed.
fn exported(scenario: &str, dir: &Path) -> Value {
    let file = dir.join("run.json");
    let o = rehearsal(&["run", scenario, "--seed", "1", "--perfetto", &file.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&file).expect("the file is written");
    serde_json::from_slice(&bytes).expect("the file is JSON")
}

fn events(json: &Value) -> &[Value] {
    json["traceEvents"].as_array().expect("traceEvents is a list")
}

fn phase(e: &Value) -> &str {
    e["ph"].as_str().expect("every event has a phase")
}

/// What every export must be: the acceptance check's conditions and the
/// format's rules.
fn check_structure(json: &Value) {
    let events = events(json);
    assert!(events.len() > 100, "{} events", events.len());
    let phases: BTreeSet<&str> = events.iter().map(phase).collect();
    assert!(phases.contains("X") && phases.contains("s") && phases.contains("f"), "{phases:?}");
    assert_eq!(json["displayTimeUnit"], "ms");

    // Every process and thread an event uses is named.
    let named = |what: &str| -> BTreeSet<(u64, Option<u64>)> {
        events
            .iter()
            .filter(|e| phase(e) == "M" && e["name"] == what)
            .map(|e| (e["pid"].as_u64().unwrap(), e["tid"].as_u64()))
            .collect()
    };
    let (processes, threads) = (named("process_name"), named("thread_name"));
    for e in events.iter().filter(|e| phase(e) != "M") {
        let (pid, tid) = (e["pid"].as_u64().expect("pid"), e["tid"].as_u64().expect("tid"));
        assert!(processes.contains(&(pid, None)), "process {pid} has no name: {e}");
        assert!(threads.contains(&(pid, Some(tid))), "thread {pid}/{tid} has no name: {e}");
        assert!(e["ts"].as_f64().is_some_and(|ts| ts >= 0.0), "{e}");
        if phase(e) == "X" {
            assert!(e["dur"].as_f64().is_some_and(|d| d >= 0.0), "{e}");
        }
    }

    // Names a person can read: no raw ids.
    for e in events {
        let name = e["name"].as_str().unwrap_or_default();
        let arg_name = e["args"]["name"].as_str().unwrap_or_default();
        for text in [name, arg_name] {
            assert!(!text.contains("ServiceId("), "{e}");
            assert!(!text.split(' ').any(is_raw_actor_id), "{e}");
        }
    }

    // Flows: each id has one start and one end, of the same name and
    // category, and the start is not after the end.
    let mut flows: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for e in events.iter().filter(|e| matches!(phase(e), "s" | "f")) {
        flows.entry(e["id"].as_u64().expect("a flow has an id")).or_default().push(e);
    }
    assert!(!flows.is_empty());
    for (id, ends) in &flows {
        let [s, f] = ends.as_slice() else { panic!("flow {id} has {} ends", ends.len()) };
        assert_eq!((phase(s), phase(f)), ("s", "f"), "flow {id}");
        assert_eq!((&s["name"], &s["cat"]), (&f["name"], &f["cat"]), "flow {id}");
        assert!(s["ts"].as_f64() <= f["ts"].as_f64(), "flow {id} ends before it starts");
    }
}

/// `a3.0`: how the runtime prints an actor id.
fn is_raw_actor_id(word: &str) -> bool {
    let Some(rest) = word.strip_prefix('a') else { return false };
    let mut parts = rest.split('.');
    let digits = |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    digits(parts.next()) && digits(parts.next()) && parts.next().is_none()
}

#[test]
fn quickstart_exports_spans_flows_and_named_tracks() {
    let dir = tempfile::tempdir().unwrap();
    let json = exported("scenarios/quickstart.toml", dir.path());
    check_structure(&json);
    let events = events(&json);
    let threads: BTreeSet<&str> = events
        .iter()
        .filter(|e| phase(e) == "M" && e["name"] == "thread_name")
        .filter_map(|e| e["args"]["name"].as_str())
        .collect();
    for name in ["gateway", "agent 0", "agent 15", "requests", "llm:llm", "tool:tool"] {
        assert!(threads.contains(name), "no track {name:?} in {threads:?}");
    }
    let has = |ph: &str, name: &str| events.iter().any(|e| phase(e) == ph && e["name"] == name);
    // A handler turn, a request, a call named for its step with its
    // service time apart.
    for (ph, name) in [("X", "Work"), ("X", "request ok"), ("X", "step1:llm:llm"), ("X", "service time")] {
        assert!(has(ph, name), "no {ph} {name:?}");
    }
    // Arrows for messages, calls, and requests in and out.
    let flow_kinds: BTreeSet<&str> =
        events.iter().filter(|e| phase(e) == "s").filter_map(|e| e["cat"].as_str()).collect();
    assert_eq!(flow_kinds, BTreeSet::from(["call", "message", "request"]));
    assert_eq!(json["metadata"]["scenario"], "quickstart");
    assert_eq!(json["metadata"]["truncated"], false);
}

#[test]
fn faults_and_crashes_are_instants() {
    let dir = tempfile::tempdir().unwrap();
    let json = exported("scenarios/node-crashes.toml", dir.path());
    check_structure(&json);
    let instants: Vec<&Value> = events(&json).iter().filter(|e| phase(e) == "i").collect();
    let named = |prefix: &str| instants.iter().any(|e| e["name"].as_str().is_some_and(|n| n.starts_with(prefix)));
    assert!(named("crash node "), "no node crash among the instants");
    assert!(named("died with its node"), "no actor death among the instants");
}

#[test]
fn roles_are_named_by_role_and_steps_by_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let json = exported("scenarios/research-assistant.toml", dir.path());
    check_structure(&json);
    let names: BTreeSet<&str> = events(&json)
        .iter()
        .filter_map(|e| if phase(e) == "M" { e["args"]["name"].as_str() } else { e["name"].as_str() })
        .collect();
    for name in ["router planner", "planner 0", "researcher 0", "planner.plan", "researcher.search"] {
        assert!(names.contains(name), "no {name:?}");
    }
}

/// Keeping the structured record, with or without the text, and writing
/// it out, leave the run as it was: same summary, same trace hash, same
/// text.
#[test]
fn recording_for_perfetto_does_not_change_the_run() {
    let sc = scenario::load(&root().join("scenarios/quickstart.toml")).unwrap();
    let strategy = default_strategy(&sc.strategies);
    let plain = run_once(&sc, 1, &strategy, RunOptions::default()).unwrap();
    assert!(plain.recording.is_none());
    let recorded =
        run_once(&sc, 1, &strategy, RunOptions { activity: Some(MAX_EVENTS), ..RunOptions::default() }).unwrap();
    assert_eq!(plain.summary, recorded.summary);
    let text = RunOptions { record_trace: true, ..RunOptions::default() };
    let both = RunOptions { activity: Some(MAX_EVENTS), ..text };
    let (text, both) = (run_once(&sc, 1, &strategy, text).unwrap(), run_once(&sc, 1, &strategy, both).unwrap());
    assert_eq!(plain.summary, both.summary);
    assert_eq!(text.trace, both.trace, "the text trace is the same with the structured record");
    // Exporting twice gives the same bytes.
    let rec = recorded.recording.as_ref().unwrap();
    assert_eq!(perfetto::chrome_trace(rec, MAX_EVENTS).json, perfetto::chrome_trace(rec, MAX_EVENTS).json);
}

/// A file is bounded: over the cap, it stops at a moment of simulated
/// time, says so, and keeps its flows whole.
#[test]
fn a_long_run_is_cut_and_says_so() {
    let sc = scenario::load(&root().join("scenarios/quickstart.toml")).unwrap();
    let strategy = default_strategy(&sc.strategies);
    let run = run_once(&sc, 1, &strategy, RunOptions { activity: Some(MAX_EVENTS), ..RunOptions::default() }).unwrap();
    let rec = run.recording.unwrap();
    let full = perfetto::chrome_trace(&rec, MAX_EVENTS);
    assert!(full.truncated.is_none());
    let cut = perfetto::chrome_trace(&rec, 1_000);
    assert!(cut.events <= 1_000, "{} events", cut.events);
    let t = cut.truncated.expect("cut");
    assert!(t.omitted > 0 && t.at_ns > 0);
    let json: Value = serde_json::from_slice(&cut.json).unwrap();
    assert_eq!(json["metadata"]["truncated"], true);
    assert!(events(&json).iter().any(|e| e["name"] == "trace truncated here"));
    let timeline = events(&json).iter().filter(|e| phase(e) != "M").count();
    assert!(timeline <= 1_001, "{timeline} events: the cap, and the mark of the cut");
    check_structure(&json);

    // A run that keeps fewer records than it makes: the file stops where
    // the record does.
    let short = run_once(&sc, 1, &strategy, RunOptions { activity: Some(500), ..RunOptions::default() }).unwrap();
    let rec = short.recording.unwrap();
    let until = rec.activity.complete_until().expect("the record was cut");
    let trace = perfetto::chrome_trace(&rec, MAX_EVENTS);
    assert_eq!(trace.truncated.map(|t| t.at_ns), Some(until));
    assert_eq!(short.summary, run.summary);
}

#[test]
fn the_text_trace_names_actors_and_services() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trace.txt");
    let o = rehearsal(&["run", "scenarios/quickstart.toml", "--seed", "1", "--trace-out", &file.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("ServiceId("), "a service id is left");
    assert!(!text.split([' ', ',', '}']).any(is_raw_actor_id), "an actor id is left");
    for name in ["gateway", "agent 3", "llm:llm", "tool:tool"] {
        assert!(text.contains(name), "{name:?} not in the trace");
    }
}

#[test]
fn a_perfetto_path_that_cannot_be_written_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let o =
        rehearsal(&["run", "scenarios/quickstart.toml", "--seed", "1", "--perfetto", &dir.path().to_string_lossy()]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let missing = dir.path().join("no/such/dir/run.json");
    let o = rehearsal(&["run", "scenarios/quickstart.toml", "--seed", "1", "--perfetto", &missing.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
}
