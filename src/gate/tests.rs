use std::collections::BTreeMap;

use super::*;

fn baseline(p99: Option<f64>, success: f64, hashes: &[&str]) -> Baseline {
    let mut pooled = BTreeMap::new();
    pooled.insert("latency_ms_p99".to_owned(), p99);
    pooled.insert("success_rate".to_owned(), Some(success));
    let mut per_seed = BTreeMap::new();
    per_seed.insert("success_rate".to_owned(), vec![Some(success), Some(success)]);
    let s = StrategyBaseline {
        pooled,
        per_seed,
        trace_hashes: hashes.iter().map(|h| (*h).to_owned()).collect(),
        invariant_failures: 0,
    };
    Baseline {
        rehearsal_baseline: FORMAT,
        tool_version: "0.1.0".into(),
        scenario: "s".into(),
        scenario_hash: "h".into(),
        seeds: vec![1, 2],
        buggify: false,
        strategies: [("retry=none".to_owned(), s)].into(),
    }
}

fn row<'a>(r: &'a GateResult, metric: &str) -> &'a Row {
    r.rows.iter().find(|x| x.metric == metric).unwrap()
}

#[test]
fn verdicts_follow_direction_and_tolerance() {
    let rel = Tolerance::Relative(0.02);
    assert_eq!(verdict(Some(100.0), Some(100.0), Better::Lower, rel), Verdict::Same);
    assert_eq!(verdict(Some(100.0), Some(101.9), Better::Lower, rel), Verdict::Within);
    assert_eq!(verdict(Some(100.0), Some(102.1), Better::Lower, rel), Verdict::Regression);
    assert_eq!(verdict(Some(100.0), Some(97.0), Better::Lower, rel), Verdict::Improved);
    let abs = Tolerance::Absolute(0.005);
    assert_eq!(verdict(Some(0.95), Some(0.944), Better::Higher, abs), Verdict::Regression);
    assert_eq!(verdict(Some(0.95), Some(0.956), Better::Higher, abs), Verdict::Improved);
    assert_eq!(verdict(None, None, Better::Lower, rel), Verdict::Same);
    assert_eq!(verdict(Some(1.0), None, Better::Lower, rel), Verdict::Undefined);
}

#[test]
fn a_halved_baseline_p99_is_a_regression_and_identical_runs_are_counted() {
    let now = baseline(Some(200.0), 0.9, &["a", "b"]);
    let old = baseline(Some(100.0), 0.9, &["a", "c"]);
    let r = compare(&old, &now, &BTreeMap::new());
    assert_eq!(row(&r, "latency_ms_p99").verdict, Verdict::Regression);
    assert_eq!(row(&r, "success_rate").verdict, Verdict::Same);
    assert_eq!(r.regressions(), 1);
    assert_eq!(r.identical_runs, (1, 2));
    let md = markdown(&r);
    assert!(md.contains("| latency_ms_p99 | `retry=none` | 100 | 200 | +100.00% |"), "{md}");
    assert!(md.contains("**1 regression**"), "{md}");
    // A scenario's tolerance can allow it.
    let lenient = [("latency_ms_p99".to_owned(), Tolerance::Relative(1.5))].into();
    assert_eq!(compare(&old, &now, &lenient).regressions(), 0);
}

#[test]
fn a_baseline_of_another_scenario_is_refused_with_every_difference() {
    let now = baseline(Some(1.0), 1.0, &["a", "b"]);
    let mut old = now.clone();
    old.scenario_hash = "other".into();
    old.seeds = vec![1];
    let e = check_compatible(&old, &now).unwrap_err();
    assert_eq!(e.differences.len(), 2, "{e}");
    old = now.clone();
    old.tool_version = "0.0.9".into();
    assert_eq!(check_compatible(&old, &now).unwrap().len(), 1, "a version change is a note, not a refusal");
}

#[test]
fn junk_is_not_a_baseline() {
    assert!(serde_json::from_str::<Baseline>(r#"{"not": "a baseline"}"#).is_err());
    let b = baseline(Some(1.5), 0.5, &["x"]);
    let text = serde_json::to_string(&b).unwrap();
    assert_eq!(serde_json::from_str::<Baseline>(&text).unwrap(), b);
}
