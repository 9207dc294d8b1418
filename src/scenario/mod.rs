//! Scenario files: TOML in, a checked [`Scenario`] out.
//!
//! [`load`] reads a file and [`parse`] checks its text; both return a
//! [`ScenarioError`] that points at the offending line and column. The file
//! format is documented in `docs/scenario.md`.

// `ScenarioError::Invalid` carries the whole diagnostic (several strings);
// it is built once per failed load, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::path::Path;

mod duration;
mod error;
mod model;
mod parse;

pub use duration::{DurationError, parse_duration};
pub use error::ScenarioError;
pub use model::*;
pub use parse::{MAX_SEED_COUNT, parse};

/// Reads and checks the scenario file at `path`. Errors name the path as
/// given.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let source = std::fs::read_to_string(path)
        .map_err(|source| ScenarioError::Unreadable { path: path.to_path_buf(), source })?;
    parse(&source, &path.display().to_string())
}
