//! Where a report came from: rehearsal's version and git commit, the
//! scenario (its text and hashes) and the command line that produced it.
//! `report.json` records it and `index.html` shows it.

use serde::{Deserialize, Serialize};

/// rehearsal's version (the package's).
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit rehearsal was built from (by `build.rs`); `None` when
/// the build was not from a git checkout.
pub const GIT_COMMIT: Option<&str> = option_env!("REHEARSAL_GIT_COMMIT");

/// What a comparison was made from, as the command saw it. Everything is
/// optional: a comparison built in code (tests, a library user) may not
/// have a file or a command line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The scenario file as named on the command line.
    #[serde(default)]
    pub scenario_path: Option<String>,
    /// The scenario file's text, exactly as read and checked.
    #[serde(default)]
    pub scenario_text: Option<String>,
    /// FNV-1a 64 of the scenario file's bytes, hex ([`file_hash`]).
    #[serde(default)]
    pub scenario_file_hash: Option<String>,
    /// FNV-1a 64 of the scenario as loaded (every setting, the data of every
    /// file it reads, the effective BUGGIFY setting), hex: the journal's
    /// `scenario_hash`.
    #[serde(default)]
    pub scenario_hash: Option<String>,
    /// The command that produced the report: the scenario and the options
    /// that decide the reports, shell-quoted (`--out`, `--jobs` and
    /// `--resume` left out: they never change what the reports say).
    #[serde(default)]
    pub command_line: Option<String>,
}

impl Provenance {
    /// The provenance of a scenario file read from `path` with text `text`
    /// and loaded as a scenario of hash `scenario_hash`, compared by
    /// `command_line`.
    pub fn of_file(path: &str, text: String, scenario_hash: String, command_line: String) -> Provenance {
        Provenance {
            scenario_path: Some(path.to_owned()),
            scenario_file_hash: Some(file_hash(text.as_bytes())),
            scenario_text: Some(text),
            scenario_hash: Some(scenario_hash),
            command_line: Some(command_line),
        }
    }
}

/// FNV-1a 64 of `bytes`, as 16 lowercase hex digits (the hash every
/// rehearsal output uses). Check a file with it: `scenario_file_hash`.
pub fn file_hash(bytes: &[u8]) -> String {
    format!("{:016x}", rehearsal_sim::rng::fnv1a64(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_fnv1a_64_hex() {
        // FNV-1a 64 test vectors.
        assert_eq!(file_hash(b""), "cbf29ce484222325");
        assert_eq!(file_hash(b"a"), "af63dc4c8601ec8c");
        assert_eq!(file_hash(b"foobar"), "85944171f73967e8");
        let p = Provenance::of_file("s.toml", "x = 1\n".into(), "00".into(), "rehearsal compare s.toml".into());
        assert_eq!(p.scenario_file_hash.as_deref(), Some(file_hash(b"x = 1\n").as_str()));
        assert!(!TOOL_VERSION.is_empty());
        assert!(GIT_COMMIT.is_none_or(|c| !c.trim().is_empty()));
    }
}
