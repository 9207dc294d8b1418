//! The strategy matrix: which axes exist, which values each takes, and the
//! combinations a comparison runs.

use std::collections::BTreeMap;

/// Every axis the harness knows, with every value it accepts, in the order
/// documented in `docs/scenario.md`. The scenario loader rejects anything
/// else with a hint listing these.
pub const KNOWN_AXES: &[(&str, &[&str])] = &[(
    "retry",
    &["none", "fixed", "exponential", "exponential_full_jitter"],
)];

/// One point of the matrix: axis name -> chosen value. A `BTreeMap` so that
/// iteration (and therefore JSON output) is ordered by axis name.
pub type Strategy = BTreeMap<String, String>;
