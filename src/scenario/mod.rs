//! Scenario files: TOML in, a checked [`Scenario`] out.
//!
//! [`load`] reads a file and [`parse`] checks its text; both return a
//! [`ScenarioError`] that points at the offending line and column. The file
//! format is documented in `docs/scenario.md`.
//!
//! Every input file is read once, here, through a bounded reader: the
//! scenario itself (at most [`MAX_SCENARIO_BYTES`]) and the CSV files it
//! names (`tokens_csv`, `network.latency_csv`, `workload.arrivals.csv`: at most [`MAX_CSV_BYTES`],
//! relative paths resolved from the scenario file's directory). A run never
//! reads a file.

// `ScenarioError::Invalid` carries the whole diagnostic (several strings);
// it is built once per failed load, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::io::{self, Read};
use std::path::Path;

mod duration;
mod error;
mod model;
mod parse;
pub mod policy;
pub mod workflow;

pub use duration::{DurationError, parse_duration};
pub use error::{MAX_ECHO_CHARS, ScenarioError};
pub use model::*;
pub use parse::{
    DEFAULT_MAX_QUEUED_EVENTS, MAX_AGENTS, MAX_COST_PER_1K, MAX_NAME_CHARS, MAX_NODES, MAX_QUEUED_EVENTS,
    MAX_SEED_COUNT, MAX_TOKEN_PARAM, parse, parse_for, parse_in, schema,
};

/// The largest scenario file [`load`] reads: 1 MiB.
pub const MAX_SCENARIO_BYTES: u64 = 1 << 20;

/// The largest CSV file a scenario may name (`tokens_csv`,
/// `network.latency_csv`): 64 MiB.
pub const MAX_CSV_BYTES: u64 = 64 << 20;

/// Reads and checks the scenario file at `path`. Errors name the path as
/// given. Relative paths inside the file (`tokens_csv`,
/// `network.latency_csv`) are resolved from the file's directory.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_for(path, &[])
}

/// [`load`] for a system under test that declares its own strategy axes.
pub fn load_for(path: &Path, axes: &[crate::strategy::SystemAxis]) -> Result<Scenario, ScenarioError> {
    load_with_source_for(path, axes).map(|(scenario, _)| scenario)
}

/// [`load_for`], also giving the file's text exactly as read (the one
/// read: what reports show and hash is what was checked).
pub fn load_with_source_for(
    path: &Path,
    axes: &[crate::strategy::SystemAxis],
) -> Result<(Scenario, String), ScenarioError> {
    let unreadable = |source| ScenarioError::Unreadable { path: path.to_path_buf(), source };
    let bytes = read_capped(path, MAX_SCENARIO_BYTES, "scenario files").map_err(unreadable)?;
    let shown = path.display().to_string();
    let source = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => return Err(parse::not_utf8(e.as_bytes(), e.utf8_error().valid_up_to(), &shown)),
    };
    let scenario = parse_for(&source, &shown, path.parent().unwrap_or(Path::new("")), axes)?;
    Ok((scenario, source))
}

/// The bytes of the file at `path`, read through a reader that stops after
/// `cap` bytes: a larger file (or an endless one, such as `/dev/zero`) is
/// an error of kind [`io::ErrorKind::FileTooLarge`] naming the cap, and
/// never more than `cap + 1` bytes are held. `what` names the files the cap
/// is for, in the message.
pub(crate) fn read_capped(path: &Path, cap: u64, what: &str) -> io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("the file is larger than {}, the limit for {what}", mib(cap)),
        ));
    }
    Ok(bytes)
}

/// `cap` bytes as "N MiB" (or bytes, below 1 MiB).
fn mib(cap: u64) -> String {
    if cap >= 1 << 20 && cap % (1 << 20) == 0 { format!("{} MiB", cap >> 20) } else { format!("{cap} bytes") }
}
