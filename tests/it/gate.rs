//! The CI gate (`check`), sharded sweeps (`--shard`, `merge`), and the
//! sweep's machine-readable and threshold outputs, through the binary.

use crate::common::{rehearsal, root, stdout};
use std::process::Output;

/// A baseline with every numeric field whose key holds `p99` halved.
fn halve_p99(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                match x {
                    serde_json::Value::Number(n) if k.contains("p99") => {
                        *x = serde_json::json!(n.as_f64().unwrap() * 0.5);
                    }
                    _ => halve_p99(x),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(halve_p99),
        _ => {}
    }
}

#[test]
fn check_passes_on_its_baseline_fails_on_a_better_one_and_refuses_junk() {
    let dir = tempfile::tempdir().unwrap();
    let committed = "reports/baselines/pipeline.json";
    let ok = rehearsal(&["check", "scenarios/pipeline.toml", "--baseline", committed]);
    assert_eq!(ok.status.code(), Some(0), "{}{}", stdout(&ok), String::from_utf8_lossy(&ok.stderr));
    assert!(stdout(&ok).contains("no regression"), "{}", stdout(&ok));

    let mut better: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(committed)).unwrap()).unwrap();
    halve_p99(&mut better);
    let path = dir.path().join("better.json");
    std::fs::write(&path, better.to_string()).unwrap();
    let bad = rehearsal(&["check", "scenarios/pipeline.toml", "--baseline", path.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    let table = stdout(&bad);
    assert!(table.contains("| latency_ms_p99 |") && table.contains("**regression**"), "{table}");

    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, r#"{"not": "a baseline"}"#).unwrap();
    let o = rehearsal(&["check", "scenarios/pipeline.toml", "--baseline", junk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a rehearsal baseline"));

    // A baseline of another scenario: exit 2, saying what differs.
    let other = rehearsal(&["check", "scenarios/quickstart.toml", "--baseline", committed]);
    assert_eq!(other.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&other.stderr).contains("scenario `pipeline`, now `quickstart`"));

    // --update writes a baseline the next check passes.
    let fresh = dir.path().join("fresh.json");
    let u = rehearsal(&["check", "scenarios/pipeline.toml", "--baseline", fresh.to_str().unwrap(), "--update"]);
    assert_eq!(u.status.code(), Some(0));
    let again = rehearsal(&["check", "scenarios/pipeline.toml", "--baseline", fresh.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(0));
}

#[test]
fn every_bundled_scenario_has_a_baseline() {
    for entry in std::fs::read_dir(root().join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(root().join(format!("reports/baselines/{name}.json")).is_file(), "no baseline for {name}");
    }
}

#[test]
fn merged_shards_print_exactly_the_whole_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("journal");
    let out = out.to_str().unwrap();
    let args = ["sweep", "scenarios/flaky-tools.toml", "--seeds", "1..=10", "--out", out];
    let whole = rehearsal(&args);
    let mut files = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let o = rehearsal(&[&args[..], &["--shard", &shard]].concat());
        let file = dir.path().join(format!("s{k}"));
        std::fs::write(&file, &o.stdout).unwrap();
        files.push(file.to_string_lossy().into_owned());
    }
    files.reverse();
    let merged = rehearsal(&[&["merge"][..], &files.iter().map(String::as_str).collect::<Vec<_>>()].concat());
    assert_eq!(stdout(&merged), stdout(&whole));
    assert_eq!(merged.status.code(), whole.status.code());
    let missing = rehearsal(&["merge", &files[0], &files[1]]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn sweep_json_and_fail_if() {
    let o = rehearsal(&[
        "sweep",
        "scenarios/quickstart.toml",
        "--seeds",
        "1..=4",
        "--json",
        "--fail-if",
        "success_rate > 0.5",
        "--out",
        tempfile::tempdir().unwrap().path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["count"], 4);
    assert_eq!(d["failed"], 4, "every seed succeeds more than half its requests");
    assert!(d["failures"][0]["reason"].as_str().unwrap().starts_with("fail-if: success_rate = "));
    assert!(d["failures"][0]["replay"].as_str().unwrap().contains("--seed 1"));
    assert_eq!(d["runs"].as_array().unwrap().len(), 4);
    let bad = rehearsal(&["sweep", "scenarios/quickstart.toml", "--seeds", "1..2", "--fail-if", "speed < 1"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn merged_compare_shards_write_exactly_the_whole_comparisons_reports() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    let merged = dir.path().join("merged");
    let w = rehearsal(&["compare", "scenarios/pipeline.toml", "--seeds", "3", "--out", whole.to_str().unwrap()]);
    assert_eq!(w.status.code(), Some(0));
    let mut parts = Vec::new();
    for k in 1..=2 {
        let shard = format!("{k}/2");
        let o = rehearsal(&["compare", "scenarios/pipeline.toml", "--seeds", "3", "--shard", &shard]);
        assert_eq!(o.status.code(), Some(0));
        let file = dir.path().join(format!("part{k}.jsonl"));
        std::fs::write(&file, &o.stdout).unwrap();
        parts.push(file.to_string_lossy().into_owned());
    }
    let m = rehearsal(&["merge", &parts[1], &parts[0], "--out", merged.to_str().unwrap()]);
    assert_eq!(m.status.code(), Some(0), "{}", String::from_utf8_lossy(&m.stderr));
    for file in ["report.json", "report.md", "index.html", "latency.svg", "throughput.svg", "success.svg"] {
        let (a, b) = (std::fs::read(whole.join(file)).unwrap(), std::fs::read(merged.join(file)).unwrap());
        assert!(a == b, "{file} differs");
    }
    let printed = |o: &Output, d: &std::path::Path| stdout(o).replace(d.to_str().unwrap(), "DIR");
    assert_eq!(printed(&m, &merged), printed(&w, &whole));
    let missing = rehearsal(&["merge", &parts[0], "--out", merged.to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
}
