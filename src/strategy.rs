//! The strategy matrix: which axes exist, which values each takes, and the
//! combinations a comparison runs.

use std::collections::BTreeMap;

/// Every axis the harness knows, with every value it accepts, in the order
/// documented in `docs/scenario.md`. The scenario loader rejects anything
/// else with a hint listing these.
pub const KNOWN_AXES: &[(&str, &[&str])] = &[
    ("retry", &["none", "fixed", "exponential", "exponential_full_jitter"]),
    ("supervision", &["none", "one_for_one", "one_for_all", "rest_for_one", "one_for_one_backoff"]),
    ("fanout", &["all", "quorum", "first"]),
    ("dispatch", &["round_robin", "random", "least_loaded", "power_of_two", "shared_queue"]),
];

/// One point of the matrix: axis name -> chosen value. A `BTreeMap` so that
/// iteration (and therefore JSON output) is ordered by axis name.
pub type Strategy = BTreeMap<String, String>;

/// The values axis `axis` accepts (empty for an unknown axis).
pub fn known_values(axis: &str) -> Vec<&'static str> {
    KNOWN_AXES.iter().find(|(name, _)| *name == axis).map(|(_, values)| values.to_vec()).unwrap_or_default()
}

/// Every combination of the scenario's axes, first axis varying slowest,
/// in file order: the order of a comparison's rows.
pub fn combinations(axes: &[crate::scenario::Axis]) -> Vec<Strategy> {
    let mut out = vec![Strategy::new()];
    for axis in axes {
        let mut next = Vec::with_capacity(out.len() * axis.values.len());
        for partial in &out {
            for value in &axis.values {
                let mut s = partial.clone();
                s.insert(axis.name.clone(), value.clone());
                next.push(s);
            }
        }
        out = next;
    }
    out
}

/// The default strategy: the first value of every axis.
pub fn default_strategy(axes: &[crate::scenario::Axis]) -> Strategy {
    axes.iter().filter_map(|a| a.values.first().map(|v| (a.name.clone(), v.clone()))).collect()
}
