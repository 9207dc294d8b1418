//! Validation of what the user asked for against the scenario, before
//! anything runs: strategies, the baseline, seed ranges, the effective
//! BUGGIFY setting, and the replay line that reproduces a run.

use std::path::Path;

use crate::report::strategy_label;
use crate::scenario::Scenario;
use crate::strategy::{Strategy, default_strategy, kinds};

use super::usage;
use crate::parallel::{MAX_JOBS, default_jobs};

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
            let kinds = kinds(axis);
            let hint = if kinds.contains(&value) {
                format!("add it to `[strategies] {axis}` in the scenario to run it")
            } else {
                format!(
                    "a value is one of this scenario's labels, as printed in reports and replay lines                      (e.g. {axis}={}); kinds of `{axis}`: {}",
                    spec.values.first().map_or("", String::as_str),
                    kinds.join(", ")
                )
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

/// The inverse of [`strategy_arg`] for a label it made (`a=b,c=d`; values
/// hold no comma, axes no `=`).
pub(super) fn parse_strategy_label(label: &str) -> Strategy {
    label
        .split(',')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect()
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
    replay_command_of("rehearsal", scenario_path, seed, strategy, buggify)
}

/// [`replay_command`] for the program `program` (a user's own binary).
pub fn replay_command_of(
    program: &str,
    scenario_path: &Path,
    seed: u64,
    strategy: &Strategy,
    buggify: Option<bool>,
) -> String {
    let mut cmd = format!("{program} run {} --seed {seed}", scenario_path.display());
    if !strategy.is_empty() {
        cmd.push_str(&format!(" --strategy {}", strategy_arg(strategy)));
    }
    if let Some(on) = buggify {
        cmd.push_str(&format!(" --buggify {}", on_off(on)));
    }
    cmd
}

/// The most runs one `sweep` or `compare` may have (seeds x strategies):
/// results stream, but `compare` keeps every run's summary for its
/// reports, and a journal line per run.
pub const MAX_RUNS: u64 = 1_000_000;

/// Seeds `start..start + count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SeedRange {
    pub start: u64,
    pub count: u64,
}

impl SeedRange {
    /// The `i`-th seed.
    pub fn seed(&self, i: u64) -> u64 {
        self.start + i
    }

    /// `a..=b` (or one seed), as reports print seed lists.
    pub fn compact(&self) -> String {
        if self.count == 1 {
            self.start.to_string()
        } else {
            format!("{}..={}", self.start, self.start + self.count - 1)
        }
    }
}

/// Parse `A..B` (B excluded) or `A..=B` (B included), at most
/// [`MAX_RUNS`] seeds.
pub(super) fn parse_seed_range(text: &str) -> anyhow::Result<SeedRange> {
    let bad = || usage(format!("--seeds: `{}` is not a range like 1..100 or 1..=100", cut(text)));
    let (a, b, inclusive) = if let Some((a, b)) = text.split_once("..=") {
        (a, b, true)
    } else if let Some((a, b)) = text.split_once("..") {
        (a, b, false)
    } else {
        return Err(bad());
    };
    let a: u64 = a.trim().parse().map_err(|_| bad())?;
    let b: u64 = b.trim().parse().map_err(|_| bad())?;
    // The count of a..=b is b - a + 1, which may not fit when a is 0.
    let count = if inclusive { (b.checked_sub(a)).map(|d| d as u128 + 1) } else { b.checked_sub(a).map(u128::from) };
    let count = match count {
        Some(c) if c > 0 => c,
        _ => return Err(usage(format!("--seeds: `{}` is empty", cut(text)))),
    };
    if count > u128::from(MAX_RUNS) {
        return Err(usage(format!(
            "--seeds: `{}` has {count} seeds; at most {} per command (split it into several sweeps)",
            cut(text),
            thousands(MAX_RUNS)
        )));
    }
    Ok(SeedRange { start: a, count: count as u64 })
}

/// Checks `compare`'s size: `seeds` per strategy (from `--seeds`, when
/// given) and strategies x seeds within [`MAX_RUNS`].
pub(super) fn check_runs(seeds_flag: Option<u64>, seeds: u64, strategies: u64) -> anyhow::Result<()> {
    if let Some(n) = seeds_flag {
        if n > MAX_RUNS {
            return Err(usage(format!("--seeds {n}: at most {} seeds per command", thousands(MAX_RUNS))));
        }
    }
    let runs = u128::from(seeds) * u128::from(strategies);
    if runs > u128::from(MAX_RUNS) {
        return Err(usage(format!(
            "{strategies} strategies x {seeds} seeds = {runs} runs; at most {} runs per command (use fewer seeds)",
            thousands(MAX_RUNS)
        )));
    }
    Ok(())
}

/// `--jobs`: at least 1, at most [`MAX_JOBS`]; the machine's parallelism
/// when not given.
pub(super) fn resolve_jobs(flag: Option<usize>) -> anyhow::Result<usize> {
    match flag {
        None => Ok(default_jobs()),
        Some(0) => Err(usage("--jobs must be at least 1")),
        Some(n) if n > MAX_JOBS => Err(usage(format!(
            "--jobs {n}: at most {} worker threads (runs are single-threaded; more threads than CPUs only add memory)",
            thousands(MAX_JOBS as u64)
        ))),
        Some(n) => Ok(n),
    }
}

/// `1000000` -> `1,000,000`.
pub(super) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// At most 60 characters of user input echoed in an error.
fn cut(text: &str) -> String {
    if text.chars().count() <= 60 {
        text.to_owned()
    } else {
        format!("{}...", text.chars().take(57).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{exit, exit_code_of};
    use crate::scenario;
    use crate::strategy::combinations;

    #[test]
    fn seed_ranges() {
        assert_eq!(parse_seed_range("1..4").unwrap(), SeedRange { start: 1, count: 3 });
        assert_eq!(parse_seed_range("1..=3").unwrap(), SeedRange { start: 1, count: 3 });
        assert_eq!(parse_seed_range("1..=3").unwrap().compact(), "1..=3");
        assert_eq!(parse_seed_range("7..=7").unwrap().compact(), "7");
        assert!(parse_seed_range("5..5").is_err());
        assert!(parse_seed_range("6..5").is_err());
        assert!(parse_seed_range("x..3").is_err());
        assert!(parse_seed_range("7").is_err());
    }

    #[test]
    fn caps_are_usage_errors_naming_the_cap() {
        for bad in ["0..=18446744073709551615", "1..1000002", "0..18446744073709551615"] {
            let e = parse_seed_range(bad).unwrap_err();
            assert_eq!(exit_code_of(&e), exit::BAD_INPUT);
            assert!(e.to_string().contains("at most 1,000,000"), "{e}");
        }
        assert_eq!(parse_seed_range("1..=1000000").unwrap().count, 1_000_000);
        let max = parse_seed_range("18446744073709551615..=18446744073709551615").unwrap();
        assert_eq!(max.seed(0), u64::MAX);
        let e = check_runs(Some(u64::MAX), u64::MAX, 4).unwrap_err();
        assert!(e.to_string().contains("--seeds 18446744073709551615: at most 1,000,000"), "{e}");
        let e = check_runs(Some(400_000), 400_000, 4).unwrap_err();
        assert!(e.to_string().contains("1600000 runs; at most 1,000,000"), "{e}");
        check_runs(None, 250_000, 4).unwrap();
        assert_eq!(resolve_jobs(Some(1024)).unwrap(), 1024);
        for bad in [0, 1025, 100_000] {
            let e = resolve_jobs(Some(bad)).unwrap_err();
            assert_eq!(exit_code_of(&e), exit::BAD_INPUT, "{bad}");
        }
        assert!(resolve_jobs(Some(100_000)).unwrap_err().to_string().contains("at most 1,024"));
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
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

    #[test]
    fn variant_and_sweep_labels_round_trip_through_strategy_and_replay_lines() {
        let sc = scenario::parse(
            &SCENARIO.replace(
                "retry = [\"none\", \"fixed\"]",
                "retry = [\"none\", { name = \"exp8\", kind = \"exponential\", max_attempts = 8 }, \
                 { kind = \"fixed\", max_attempts = [2, 4], base_delay = [\"1ms\", \"1.5s\"] }]",
            ),
            "t.toml",
        )
        .unwrap();
        let all = combinations(&sc.strategies);
        assert_eq!(all.len(), 6 * 2);
        for s in &all {
            // The replay line's --strategy parses back to the same point,
            // which resolves to the typed value its label names.
            let line = replay_command(Path::new("t.toml"), 1, s, None);
            let arg = line.split(" --strategy ").nth(1).unwrap();
            assert!(!arg.contains(' ') && !arg.contains('(') && !arg.contains(';'), "{line}");
            assert_eq!(&parse_strategy(&sc, Some(arg)).unwrap(), s, "{line}");
            assert_eq!(all[resolve_baseline(&sc, &all, Some(&strategy_label(s))).unwrap()], *s);
            crate::strategy::resolve(&sc, s).unwrap();
        }
        let s = parse_strategy(&sc, Some("retry=fixed/max_attempts=4/base_delay=1.5s")).unwrap();
        let r = crate::strategy::resolve(&sc, &s).unwrap().retry;
        assert_eq!((r.max_attempts, r.base_delay_ns), (4, 1_500_000_000));
        let r = crate::strategy::resolve(&sc, &parse_strategy(&sc, Some("retry=exp8")).unwrap()).unwrap().retry;
        assert_eq!(r.max_attempts, 8);
        // A label the scenario does not list: a usage error naming its labels.
        let e = parse_strategy(&sc, Some("retry=exp4")).unwrap_err();
        assert_eq!(exit_code_of(&e), exit::BAD_INPUT);
        assert!(e.to_string().contains("exp8") && e.to_string().contains("fixed/max_attempts=2/base_delay=1ms"), "{e}");
        let e = parse_strategy(&sc, Some("retry=exponential")).unwrap_err();
        assert!(e.to_string().contains("add it to `[strategies] retry`"), "{e}");
    }
}
