//! `workload.arrivals`: every process parses to its model, and every key's
//! bad value is a located error (line, column at the value, expected, hint).

use super::*;
use crate::scenario::{ScenarioError, parse, parse_in};

/// A minimal scenario with `arrivals = ARRIVALS` on line 5.
fn src(arrivals: &str) -> String {
    format!(
        "name = \"a\"\nseeds = 1\nduration = \"60s\"\n[workload]\narrivals = {arrivals}\n\
         [topology]\nagents = 2\n[llm]\nlatency = {{ dist = \"constant\", value = \"1ms\" }}\n\
         [tool]\nlatency = {{ dist = \"constant\", value = \"1ms\" }}\n"
    )
}

fn ok(arrivals: &str) -> ArrivalProcess {
    parse(&src(arrivals), "a.toml").unwrap_or_else(|e| panic!("{e}")).workload.arrivals
}

/// The error for `arrivals`; it is on line 5, at the column of `at` in
/// it; its message, expected text and hint hold the given words.
fn bad(arrivals: &str, at: &str, message: &[&str], expected: &[&str], hint: &[&str]) {
    let e = parse(&src(arrivals), "a.toml").expect_err(arrivals);
    let shown = e.to_string();
    let ScenarioError::Invalid { line, column, message: m, expected: x, hint: h, .. } = e else { panic!("{shown}") };
    let col = "arrivals = ".len() + arrivals.find(at).expect("needle") + 1;
    assert_eq!((line, column), (5, col), "{shown}");
    let h = h.unwrap_or_default();
    for w in message {
        assert!(m.contains(w), "message lacks {w:?}: {shown}");
    }
    for w in expected {
        assert!(x.contains(w), "expected lacks {w:?}: {shown}");
    }
    for w in hint {
        assert!(h.contains(w), "hint lacks {w:?}: {shown}");
    }
}

#[test]
fn every_process_parses() {
    assert_eq!(ok(r#"{ process = "poisson", rate_per_s = 20 }"#), ArrivalProcess::Poisson { rate_per_s: 20.0 });
    assert_eq!(ok(r#"{ process = "constant", rate_per_s = 0.5 }"#), ArrivalProcess::Constant { rate_per_s: 0.5 });
    assert_eq!(
        ok(r#"{ process = "bursts", on_rate_per_s = 50, on = "10s", off = "50s" }"#),
        ArrivalProcess::Bursts {
            on_rate_per_s: 50.0,
            off_rate_per_s: 0.0,
            on_ns: 10_000_000_000,
            off_ns: 50_000_000_000,
            switching: Switching::Fixed
        }
    );
    assert!(matches!(
        ok(
            r#"{ process = "bursts", on_rate_per_s = 5, off_rate_per_s = 1, on = "1s", off = "2s", switching = "markov" }"#
        ),
        ArrivalProcess::Bursts { switching: Switching::Markov, .. }
    ));
    assert_eq!(
        ok(r#"{ process = "daily", mean_rate_per_s = 20, amplitude_per_s = 15 }"#),
        ArrivalProcess::Daily {
            mean_rate_per_s: 20.0,
            amplitude_per_s: 15.0,
            period_ns: 86_400_000_000_000,
            phase_ns: 0
        }
    );
    assert_eq!(
        ok(r#"{ process = "daily", mean_rate_per_s = 2, amplitude_per_s = 2, period = "1h", phase = "75m" }"#),
        ArrivalProcess::Daily {
            mean_rate_per_s: 2.0,
            amplitude_per_s: 2.0,
            period_ns: 3_600_000_000_000,
            phase_ns: 900_000_000_000
        }
    );
    assert_eq!(
        ok(r#"{ process = "ramp", from_rate_per_s = 0, to_rate_per_s = 40 }"#),
        ArrivalProcess::Ramp { from_rate_per_s: 0.0, to_rate_per_s: 40.0 }
    );
    assert_eq!(
        ok(r#"{ process = "closed", users = 50, think = { dist = "exponential", mean = "5s" } }"#),
        ArrivalProcess::Closed { users: 50, think: rehearsal_sim::dist::Dist::Exponential { mean: 5e9 } }
    );
    assert_eq!(
        ok(r#"{ process = "population", clients = 100 }"#),
        ArrivalProcess::Population { clients: 100, repeat: false }
    );
    assert_eq!(
        ok(r#"{ process = "population", clients = 3, repeat = true }"#),
        ArrivalProcess::Population { clients: 3, repeat: true }
    );
}

#[test]
fn trace_reads_a_csv_relative_to_the_scenario() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), "seconds\n0\n2\n1\n").unwrap();
    let text = src(r#"{ process = "trace", csv = "t.csv", time_scale = 2 }"#);
    let sc = parse_in(&text, "a.toml", dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sc.workload.arrivals, ArrivalProcess::Trace { times: vec![0, 2_000_000_000, 4_000_000_000].into() });
    // A bad row: located at the `csv` value, naming the file's line.
    std::fs::write(dir.path().join("t.csv"), "seconds\n0\nlater\n").unwrap();
    let e = parse_in(&text, "a.toml", dir.path()).unwrap_err().to_string();
    assert!(e.contains("a.toml:5:") && e.contains("line 3") && e.contains("later"), "{e}");
}

#[test]
fn unknown_process_missing_and_foreign_keys() {
    bad(
        r#"{ process = "poison", rate_per_s = 1 }"#,
        "\"poison\"",
        &["workload.arrivals.process"],
        &["bursts"],
        &["did you mean `poisson`?"],
    );
    bad(
        r#"{ process = "constant" }"#,
        "\"constant\"",
        &["missing key `rate_per_s`", "`constant`"],
        &["rate_per_s"],
        &["rate_per_s = 20"],
    );
    bad(
        r#"{ process = "closed", users = 3 }"#,
        "\"closed\"",
        &["missing key `think`"],
        &["users", "think"],
        &["exponential"],
    );
    bad(r#"{ process = "bursts", on_rate_per_s = 5, on = "1s" }"#, "\"bursts\"", &["missing key `off`"], &[], &[]);
    bad(
        r#"{ process = "poisson", rate_per_s = 1, users = 4 }"#,
        "4",
        &["`users` does not apply", "`poisson`"],
        &["rate_per_s"],
        &["for example"],
    );
    bad(
        r#"{ process = "trace", csv = "x.csv", rate_per_s = 4 }"#,
        "4",
        &["`rate_per_s` does not apply"],
        &["csv", "time_scale"],
        &[],
    );
}

#[test]
fn rates_are_finite_positive_and_capped() {
    bad(r#"{ process = "constant", rate_per_s = 0 }"#, "0", &["workload.arrivals.rate_per_s"], &["positive"], &[]);
    bad(r#"{ process = "poisson", rate_per_s = inf }"#, "inf", &["rate_per_s"], &[], &[]);
    bad(r#"{ process = "poisson", rate_per_s = 2e9 }"#, "2e9", &["rate_per_s"], &[], &["at most 1000000000"]);
    bad(
        r#"{ process = "bursts", on_rate_per_s = 5, off_rate_per_s = -1, on = "1s", off = "1s" }"#,
        "-1",
        &["off_rate_per_s"],
        &["0 or more"],
        &[],
    );
    bad(r#"{ process = "bursts", on_rate_per_s = 0, on = "1s", off = "1s" }"#, "0,", &["on_rate_per_s"], &[], &[]);
    bad(
        r#"{ process = "bursts", on_rate_per_s = 5, on = "0s", off = "1s" }"#,
        "\"0s\"",
        &["workload.arrivals.on"],
        &[],
        &["> 0"],
    );
    bad(
        r#"{ process = "bursts", on_rate_per_s = 5, on = "1s", off = "1x" }"#,
        "\"1x\"",
        &["workload.arrivals.off"],
        &[],
        &[],
    );
    bad(
        r#"{ process = "bursts", on_rate_per_s = 5, on = "1s", off = "1s", switching = "markow" }"#,
        "\"markow\"",
        &["switching"],
        &["markov"],
        &["did you mean `markov`?"],
    );
    bad(
        r#"{ process = "daily", mean_rate_per_s = 10, amplitude_per_s = 11 }"#,
        "11",
        &["amplitude_per_s"],
        &["from 0 to `mean_rate_per_s`"],
        &["below 0"],
    );
    bad(
        r#"{ process = "daily", mean_rate_per_s = 10, amplitude_per_s = 1, period = "0s" }"#,
        "\"0s\"",
        &["period"],
        &[],
        &[],
    );
    bad(
        r#"{ process = "daily", mean_rate_per_s = 10, amplitude_per_s = 1, period = "9000h" }"#,
        "\"9000h\"",
        &["period"],
        &[],
        &["at most a year"],
    );
    bad(
        r#"{ process = "daily", mean_rate_per_s = 10, amplitude_per_s = 1, phase = "-1s" }"#,
        "\"-1s\"",
        &["phase"],
        &[],
        &[],
    );
    bad(
        r#"{ process = "ramp", from_rate_per_s = 0, to_rate_per_s = 0 }"#,
        "0 }",
        &["to_rate_per_s"],
        &["at one end"],
        &[],
    );
    bad(r#"{ process = "ramp", from_rate_per_s = nan, to_rate_per_s = 1 }"#, "nan", &["from_rate_per_s"], &[], &[]);
}

#[test]
fn users_clients_think_and_trace_keys_are_checked() {
    bad(
        r#"{ process = "closed", users = 0, think = { dist = "constant", value = "1s" } }"#,
        "0,",
        &["users"],
        &["from 1 to 1000000"],
        &["at least 1"],
    );
    bad(r#"{ process = "population", clients = 2000000 }"#, "2000000", &["clients"], &[], &["at most 1000000"]);
    bad(
        r#"{ process = "closed", users = 2, think = { dist = "exponental", mean = "1s" } }"#,
        "\"exponental\"",
        &["workload.arrivals.think.dist"],
        &[],
        &["did you mean `exponential`?"],
    );
    bad(
        r#"{ process = "closed", users = 2, think = { dist = "exponential", mean = "soon" } }"#,
        "\"soon\"",
        &["think.mean"],
        &[],
        &[],
    );
    bad(
        r#"{ process = "trace", csv = "a.csv", time_scale = 0 }"#,
        "0 }",
        &["time_scale"],
        &["> 0"],
        &["twice as fast"],
    );
    bad(
        r#"{ process = "trace", csv = "no/such/file.csv" }"#,
        "\"no/such",
        &["workload.arrivals.csv"],
        &["arrival times"],
        &["cannot read", "relative path"],
    );
}

#[test]
fn serde_errors_name_arrival_keys() {
    // Wrong types and unknown keys come from serde; they are located and
    // say what the key takes.
    let e =
        parse(&src(r#"{ process = "closed", users = "ten", think = { dist = "constant", value = "1s" } }"#), "a.toml")
            .unwrap_err()
            .to_string();
    assert!(e.contains("a.toml:5:") && e.contains("workload.arrivals.users") && e.contains("from 1 to"), "{e}");
    let e = parse(&src(r#"{ process = "population", clients = 3, repeat = 1 }"#), "a.toml").unwrap_err().to_string();
    assert!(e.contains("repeat") && e.contains("true or false"), "{e}");
    let e = parse(&src(r#"{ process = "poisson", rate_per_sec = 3 }"#), "a.toml").unwrap_err().to_string();
    assert!(e.contains("unknown key") && e.contains("did you mean `rate_per_s`?"), "{e}");
}
