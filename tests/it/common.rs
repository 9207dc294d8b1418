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
