//! The seed loop for your own system under test: sweep seeds, list the
//! seeds that break an invariant with the one command that replays each,
//! and replay one seed with its story.
//!
//! A user's crate implements [`Experiment`] for its actors (it builds a
//! [`rehearsal_sim::Sim`] for a seed, runs it, and checks its own
//! invariants) and calls [`main`] from its `main`:
//!
//! ```no_run
//! use rehearsal::harness::{self, Experiment, Trial};
//!
//! struct Mine;
//!
//! impl Experiment for Mine {
//!     fn name(&self) -> &str {
//!         "mine"
//!     }
//!     fn run(&self, seed: u64) -> Trial {
//!         // Build the simulation for `seed`, run it, check invariants.
//!         Trial { trace_hash: seed, broken: Vec::new(), story: Vec::new() }
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     harness::main(&Mine)
//! }
//! ```
//!
//! The command line it gives (`BIN` is how the binary was invoked, so a
//! replay line names the user's own binary):
//!
//! - `BIN` or `BIN sweep [--seeds A..B]`: run every seed (default
//!   [`Experiment::default_seeds`]); print each failing seed with its
//!   broken invariants and `replay: BIN run --seed N`; exit 1 if any seed
//!   failed, 0 otherwise;
//! - `BIN run --seed N`: run one seed, print its trace hash and its story;
//!   exit 1 if it breaks an invariant;
//! - bad arguments: a message and exit 2.

use std::ops::RangeInclusive;
use std::process::ExitCode;

/// One seed's run of a system under test.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trial {
    /// The simulation's trace hash: a replay of the same seed must match it.
    pub trace_hash: u64,
    /// Each broken invariant, described; empty when the run is good.
    pub broken: Vec<String>,
    /// What happened, for a person reading a replay (printed by `run`).
    pub story: Vec<String>,
}

/// A system under test the harness can run by seed.
pub trait Experiment {
    /// Names the experiment in output.
    fn name(&self) -> &str;

    /// The seeds `sweep` runs without `--seeds`.
    fn default_seeds(&self) -> RangeInclusive<u64> {
        1..=100
    }

    /// Run seed `seed` from scratch: the same seed must give the same
    /// trial (trace hash included).
    fn run(&self, seed: u64) -> Trial;
}

/// What the command line asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Command {
    Sweep(RangeInclusive<u64>),
    Run(u64),
}

/// The most seeds one sweep runs.
pub const MAX_SEEDS: u64 = 1_000_000;

/// Parse the arguments after the binary's name.
fn parse(args: &[String], default: RangeInclusive<u64>) -> Result<Command, String> {
    let value = |i: usize, flag: &str| args.get(i + 1).cloned().ok_or_else(|| format!("{flag} needs a value"));
    match args.first().map(String::as_str) {
        None => Ok(Command::Sweep(default)),
        Some("sweep") => {
            let mut seeds = default;
            let mut i = 1;
            while i < args.len() {
                match args[i].as_str() {
                    "--seeds" => seeds = parse_range(&value(i, "--seeds")?)?,
                    other => return Err(format!("unknown argument `{other}` (expected --seeds A..B)")),
                }
                i += 2;
            }
            Ok(Command::Sweep(seeds))
        }
        Some("run") => match (args.get(1).map(String::as_str), args.len()) {
            (Some("--seed"), 3) => {
                let v = value(1, "--seed")?;
                v.parse().map(Command::Run).map_err(|_| format!("--seed takes an integer, got `{v}`"))
            }
            _ => Err("usage: run --seed N".to_owned()),
        },
        Some(other) => Err(format!("unknown command `{other}` (expected `sweep` or `run`)")),
    }
}

fn parse_range(text: &str) -> Result<RangeInclusive<u64>, String> {
    let bad = || format!("--seeds takes A..B (inclusive, A <= B), got `{text}`");
    let (a, b) = text.split_once("..").ok_or_else(bad)?;
    let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if a > b {
        return Err(bad());
    }
    if b - a >= MAX_SEEDS {
        return Err(format!("at most {MAX_SEEDS} seeds per sweep, got {text}"));
    }
    Ok(a..=b)
}

/// Run the harness's command line over `experiment` (see the module docs)
/// with the process's arguments.
pub fn main<E: Experiment + ?Sized>(experiment: &E) -> ExitCode {
    let mut args = std::env::args();
    let bin = args.next().unwrap_or_else(|| experiment.name().to_owned());
    let rest: Vec<String> = args.collect();
    let mut out = std::io::stdout().lock();
    ExitCode::from(run_command(experiment, &bin, &rest, &mut out))
}

/// [`main`] with the binary's name, arguments and output given: the exit
/// code (0 all good, 1 an invariant broke, 2 bad arguments).
pub fn run_command<E: Experiment + ?Sized>(
    experiment: &E,
    bin: &str,
    args: &[String],
    out: &mut dyn std::io::Write,
) -> u8 {
    let command = match parse(args, experiment.default_seeds()) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(out, "error: {e}\nusage: {bin} [sweep [--seeds A..B] | run --seed N]");
            return 2;
        }
    };
    match command {
        Command::Sweep(seeds) => {
            let (first, last) = (*seeds.start(), *seeds.end());
            let mut failing = 0u64;
            for seed in seeds {
                let trial = experiment.run(seed);
                if !trial.broken.is_empty() {
                    failing += 1;
                    let _ = writeln!(out, "seed {seed}: {}", trial.broken.join("; "));
                    let _ = writeln!(out, "  replay: {bin} run --seed {seed}");
                }
            }
            let _ = writeln!(
                out,
                "{}: {failing} of {} seeds ({first}..{last}) broke an invariant",
                experiment.name(),
                last - first + 1
            );
            u8::from(failing > 0)
        }
        Command::Run(seed) => {
            let trial = experiment.run(seed);
            for line in &trial.story {
                let _ = writeln!(out, "{line}");
            }
            let _ = writeln!(out, "seed {seed}: trace hash {:#018x}", trial.trace_hash);
            if trial.broken.is_empty() {
                let _ = writeln!(out, "every invariant holds");
                0
            } else {
                for b in &trial.broken {
                    let _ = writeln!(out, "broken: {b}");
                }
                let _ = writeln!(out, "replay: {bin} run --seed {seed}");
                1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Breaks its invariant on seeds divisible by 3.
    struct Thirds;

    impl Experiment for Thirds {
        fn name(&self) -> &str {
            "thirds"
        }
        fn default_seeds(&self) -> RangeInclusive<u64> {
            1..=9
        }
        fn run(&self, seed: u64) -> Trial {
            let broken = if seed % 3 == 0 { vec![format!("{seed} is a multiple of 3")] } else { vec![] };
            Trial { trace_hash: seed * 31, broken, story: vec![format!("ran {seed}")] }
        }
    }

    fn call(args: &[&str]) -> (u8, String) {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        let mut out = Vec::new();
        let code = run_command(&Thirds, "bin/thirds", &args, &mut out);
        (code, String::from_utf8(out).unwrap())
    }

    #[test]
    fn a_sweep_lists_failing_seeds_with_replay_lines() {
        let (code, out) = call(&[]);
        assert_eq!(code, 1);
        assert_eq!(out.matches("replay: bin/thirds run --seed ").count(), 3, "{out}");
        assert!(out.contains("3 of 9 seeds (1..9)"), "{out}");
        let (code, out) = call(&["sweep", "--seeds", "4..5"]);
        assert_eq!((code, out.contains("0 of 2 seeds")), (0, true), "{out}");
    }

    #[test]
    fn a_replay_tells_its_story_and_fails_like_the_sweep() {
        let (code, out) = call(&["run", "--seed", "6"]);
        assert_eq!(code, 1);
        assert!(out.contains("ran 6") && out.contains("trace hash 0x00000000000000ba"), "{out}");
        assert_eq!(call(&["run", "--seed", "5"]).0, 0);
    }

    #[test]
    fn bad_arguments_exit_2() {
        for args in
            [&["run"][..], &["run", "--seed", "x"], &["sweep", "--seeds", "9..1"], &["fly"], &["sweep", "--jobs", "2"]]
        {
            let (code, out) = call(args);
            assert_eq!(code, 2, "{args:?}: {out}");
            assert!(out.contains("usage:"), "{out}");
        }
    }
}
