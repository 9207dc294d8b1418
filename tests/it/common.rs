//! What the command-line tests share: the project root and running the
//! `rehearsal` binary from it.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The project root (scenario paths in the tests are relative to it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `rehearsal` binary run with `args` from the project root.
pub fn rehearsal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rehearsal")).args(args).current_dir(root()).output().expect("binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs scenario `text` once, seed 1, under its default strategy, and
/// checks the run breaks no invariant.
pub fn run_text(text: &str) -> rehearsal::summary::RunSummary {
    use rehearsal::run::{RunOptions, broken_invariants, run_once};
    let sc = rehearsal::scenario::parse(text, "test.toml").unwrap_or_else(|e| panic!("{e}"));
    let s = run_once(&sc, 1, &rehearsal::strategy::default_strategy(&sc.strategies), RunOptions::default())
        .expect("run")
        .summary;
    assert!(broken_invariants(&sc, &s).is_empty(), "{:?}", broken_invariants(&sc, &s));
    s
}

/// An LLM answering in exactly 100 ms and a tool in 10 ms, BUGGIFY off:
/// the services of tests that count by hand.
pub const CONSTANT_SERVICES: &str = r#"
[llm]
latency = { dist = "constant", value = "100ms" }
[tool]
latency = { dist = "constant", value = "10ms" }
[buggify]
enabled = false
"#;
