//! Validation of what the user asked for against the scenario, before
//! anything runs: strategies, the baseline, seed ranges, the effective
//! BUGGIFY setting, and the replay line that reproduces a run.

use std::path::Path;

use crate::report::strategy_label;
use crate::scenario::Scenario;
use crate::strategy::{Strategy, default_strategy, known_values};

use super::usage;

/// `on` or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum OnOff {
    On,
    Off,
}

/// Whether BUGGIFY is on when neither the flag nor the scenario says: `run`
/// and `sweep` hunt bugs (on); `compare` measures (off). `run` and `sweep`
/// agree, so a sweep's replay line needs no flag unless the sweep had one.
pub const BUGGIFY_DEFAULT_RUN: bool = true;
pub const BUGGIFY_DEFAULT_SWEEP: bool = true;
pub const BUGGIFY_DEFAULT_COMPARE: bool = false;

/// The effective BUGGIFY setting: the flag, else the scenario's explicit
/// `[buggify] enabled`, else the command's default.
pub(super) fn resolve_buggify(flag: Option<OnOff>, scenario: &Scenario, command_default: bool) -> bool {
    flag.map(|f| f == OnOff::On).or(scenario.buggify_enabled).unwrap_or(command_default)
}

/// `scenario` with fault points set to `on` (the run reads
/// `scenario.buggify`).
pub(super) fn with_buggify(mut scenario: Scenario, on: bool) -> Scenario {
    scenario.buggify.enabled = on;
    scenario
}

/// The `--buggify` a replay line (a `run` command) needs to reproduce a run
/// made with fault points `on`: none when `run` would resolve the same
/// without a flag.
pub(super) fn replay_buggify(on: bool, scenario: &Scenario) -> Option<bool> {
    (scenario.buggify_enabled.unwrap_or(BUGGIFY_DEFAULT_RUN) != on).then_some(on)
}

pub(super) fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// Parse `--strategy` against the scenario's axes, filling unnamed axes
/// with their first value.
pub(super) fn parse_strategy(scenario: &Scenario, text: Option<&str>) -> anyhow::Result<Strategy> {
    parse_strategy_flag(scenario, text, "--strategy")
}

/// [`parse_strategy`] for a flag named `flag` (named in errors).
pub(super) fn parse_strategy_flag(scenario: &Scenario, text: Option<&str>, flag: &str) -> anyhow::Result<Strategy> {
    let mut strategy = default_strategy(&scenario.strategies);
    let Some(text) = text else { return Ok(strategy) };
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((axis, value)) = part.split_once('=') else {
            return Err(usage(format!("{flag}: `{part}` is not AXIS=VALUE (e.g. retry=none)")));
        };
        let (axis, value) = (axis.trim(), value.trim());
        let Some(spec) = scenario.strategies.iter().find(|a| a.name == axis) else {
            let axes: Vec<&str> = scenario.strategies.iter().map(|a| a.name.as_str()).collect();
            return Err(usage(format!("{flag}: the scenario has no axis `{axis}` (its axes: {})", axes.join(", "))));
        };
        if !spec.values.iter().any(|v| v == value) {
            let hint = if known_values(axis).contains(&value) {
                format!("add it to `[strategies] {axis}` in the scenario to run it")
            } else {
                format!("known values: {}", known_values(axis).join(", "))
            };
            return Err(usage(format!(
                "{flag}: axis `{axis}` of this scenario has no value `{value}` (its values: {}); {hint}",
                spec.values.join(", ")
            )));
        }
        strategy.insert(axis.to_string(), value.to_string());
    }
    Ok(strategy)
}

pub(super) fn strategy_arg(strategy: &Strategy) -> String {
    strategy.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// The baseline of a comparison: `name` as a strategy label or a
/// `--strategy` string, or the first combination when `None`. A name that
/// matches no strategy is a usage error.
pub(super) fn resolve_baseline(
    scenario: &Scenario,
    strategies: &[Strategy],
    name: Option<&str>,
) -> anyhow::Result<usize> {
    let Some(name) = name else { return Ok(0) };
    if let Some(i) = strategies.iter().position(|s| strategy_label(s) == name.trim()) {
        return Ok(i);
    }
    let wanted = parse_strategy_flag(scenario, Some(name), "--baseline-strategy")?;
    strategies.iter().position(|s| *s == wanted).ok_or_else(|| {
        let labels: Vec<String> = strategies.iter().map(strategy_label).collect();
        usage(format!(
            "--baseline-strategy: `{name}` matches no strategy of this comparison (its strategies: {})",
            labels.join("; ")
        ))
    })
}

/// The one command that replays a run; `buggify` adds `--buggify on|off`,
/// which a run needs when its BUGGIFY setting differs from what `run`
/// would pick without the flag.
pub fn replay_command(scenario_path: &Path, seed: u64, strategy: &Strategy, buggify: Option<bool>) -> String {
    let mut cmd = format!("rehearsal run {} --seed {seed}", scenario_path.display());
    if !strategy.is_empty() {
        cmd.push_str(&format!(" --strategy {}", strategy_arg(strategy)));
    }
    if let Some(on) = buggify {
        cmd.push_str(&format!(" --buggify {}", on_off(on)));
    }
    cmd
}

/// Parse `A..B` (B excluded) or `A..=B` (B included).
pub(super) fn parse_seed_range(text: &str) -> anyhow::Result<Vec<u64>> {
    let bad = || usage(format!("--seeds: `{text}` is not a range like 1..100 or 1..=100"));
    let (a, b, inclusive) = if let Some((a, b)) = text.split_once("..=") {
        (a, b, true)
    } else if let Some((a, b)) = text.split_once("..") {
        (a, b, false)
    } else {
        return Err(bad());
    };
    let a: u64 = a.trim().parse().map_err(|_| bad())?;
    let b: u64 = b.trim().parse().map_err(|_| bad())?;
    let end = if inclusive { b.checked_add(1).ok_or_else(bad)? } else { b };
    if end <= a {
        return Err(usage(format!("--seeds: `{text}` is empty")));
    }
    if end - a > 10_000_000 {
        return Err(usage(format!("--seeds: `{text}` has more than 10,000,000 seeds")));
    }
    Ok((a..end).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{exit, exit_code_of};
    use crate::scenario;
    use crate::strategy::combinations;

    #[test]
    fn seed_ranges() {
        assert_eq!(parse_seed_range("1..4").unwrap(), vec![1, 2, 3]);
        assert_eq!(parse_seed_range("1..=3").unwrap(), vec![1, 2, 3]);
        assert!(parse_seed_range("5..5").is_err());
        assert!(parse_seed_range("x..3").is_err());
        assert!(parse_seed_range("7").is_err());
    }

    const SCENARIO: &str = r#"
name = "t"
seeds = 2
duration = "5s"
[topology]
agents = 2
[workload]
arrivals = { process = "poisson", rate_per_s = 2 }
[llm]
latency = { dist = "constant", value = "100ms" }
[tool]
latency = { dist = "constant", value = "10ms" }
[strategies]
retry = ["none", "fixed"]
supervision = ["none", "one_for_one"]
"#;

    fn scenario(extra: &str) -> Scenario {
        scenario::parse(&format!("{SCENARIO}{extra}"), "t.toml").unwrap()
    }

    #[test]
    fn buggify_resolution_and_replay_flag() {
        let unset = scenario("");
        let off = scenario("[buggify]\nenabled = false\n");
        // Flag > scenario key > command default.
        assert!(!resolve_buggify(None, &unset, BUGGIFY_DEFAULT_COMPARE));
        assert!(resolve_buggify(None, &unset, BUGGIFY_DEFAULT_SWEEP));
        assert!(!resolve_buggify(None, &off, BUGGIFY_DEFAULT_SWEEP));
        assert!(resolve_buggify(Some(OnOff::On), &off, BUGGIFY_DEFAULT_COMPARE));
        assert!(!resolve_buggify(Some(OnOff::Off), &unset, BUGGIFY_DEFAULT_RUN));
        // The replay flag: only when `run` would resolve otherwise.
        assert_eq!(replay_buggify(true, &unset), None);
        assert_eq!(replay_buggify(false, &unset), Some(false));
        assert_eq!(replay_buggify(false, &off), None);
        assert_eq!(replay_buggify(true, &off), Some(true));
        assert!(!with_buggify(unset, false).buggify.enabled);
        let s = Strategy::from([("retry".to_owned(), "fixed".to_owned())]);
        assert_eq!(
            replay_command(Path::new("a.toml"), 3, &s, Some(false)),
            "rehearsal run a.toml --seed 3 --strategy retry=fixed --buggify off"
        );
    }

    #[test]
    fn baseline_by_label_or_strategy_string() {
        let sc = scenario("");
        let all = combinations(&sc.strategies);
        assert_eq!(all.len(), 4);
        assert_eq!(resolve_baseline(&sc, &all, None).unwrap(), 0);
        // The label, axes in name order.
        assert_eq!(resolve_baseline(&sc, &all, Some("retry=fixed,supervision=one_for_one")).unwrap(), 3);
        // A --strategy string: any order, unnamed axes take their first value.
        assert_eq!(resolve_baseline(&sc, &all, Some("supervision=one_for_one, retry=fixed")).unwrap(), 3);
        assert_eq!(resolve_baseline(&sc, &all, Some("retry=fixed")).unwrap(), 2);
        for bad in ["retry=sometimes", "colour=red", "x"] {
            let e = resolve_baseline(&sc, &all, Some(bad)).unwrap_err();
            assert_eq!(exit_code_of(&e), exit::BAD_INPUT, "{bad}");
            assert!(e.to_string().contains("--baseline-strategy"), "{e}");
        }
    }
}
