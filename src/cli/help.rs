//! What `--help` says beyond the flags: the exit codes, an example per
//! command, and the colours (clap's own styling, on a terminal only, off
//! with `NO_COLOR`).

use std::path::Path;

use clap::CommandFactory;
use clap::builder::styling::{AnsiColor, Style, Styles};
use signal_hook::consts::{SIGINT, SIGTERM};

use super::{Cli, exit};

/// Headers bold green, flags and commands bold cyan, values cyan (as
/// cargo's). clap writes through `anstream`, which drops the colours when
/// the output is not a terminal or `NO_COLOR` is set.
const STYLES: Styles = Styles::styled()
    .header(AnsiColor::Green.on_default().bold())
    .usage(AnsiColor::Green.on_default().bold())
    .literal(AnsiColor::Cyan.on_default().bold())
    .placeholder(AnsiColor::Cyan.on_default())
    .valid(AnsiColor::Cyan.on_default().bold())
    .invalid(AnsiColor::Yellow.on_default().bold())
    .error(AnsiColor::Red.on_default().bold());

const HEADER: Style = AnsiColor::Green.on_default().bold();

/// The program's name as clap shows it: the file name of `program` (clap
/// names a command with a `'static` string: one short string, leaked once
/// or twice per process).
pub(super) fn bin_name(program: &str) -> &'static str {
    let name = Path::new(program).file_name().and_then(|n| n.to_str()).unwrap_or("rehearsal");
    Box::leak(name.to_owned().into_boxed_str())
}

/// The clap command the program parses with, named `name`: the derived
/// one, with the exit codes and examples in its help, and colours.
pub(super) fn command(name: &'static str) -> clap::Command {
    let mut command = Cli::command().name(name).styles(STYLES);
    let subcommands: Vec<String> = command.get_subcommands().map(|c| c.get_name().to_owned()).collect();
    let mut all = String::new();
    for sub in subcommands {
        let examples: Vec<String> = EXAMPLES
            .iter()
            .filter(|(s, _)| *s == sub)
            .flat_map(|(_, examples)| examples.iter())
            .map(|e| format!("  {name} {sub} {e}"))
            .collect();
        let mut text = String::new();
        if let Some(first) = examples.first() {
            all.push_str(first);
            all.push('\n');
            text = format!("{HEADER}Examples:{HEADER:#}\n{}\n\n", examples.join("\n"));
        }
        text.push_str(&exit_codes());
        command = command.mut_subcommand(&sub, |c| c.after_help(text));
    }
    command.after_help(format!("{HEADER}Examples:{HEADER:#}\n{all}\n{}", exit_codes()))
}

/// An example or two per command, after the program's name and the
/// command's (the first one is also shown in the program's help).
const EXAMPLES: &[(&str, &[&str])] = &[
    ("run", &["scenarios/quickstart.toml --seed 3", "scenarios/quickstart.toml --seed 3 --json > run.json"]),
    ("sweep", &["scenarios/quickstart.toml --seeds 1..200", "scenarios/quickstart.toml --seeds 1..200 --resume"]),
    ("compare", &["scenarios/retry-tuning.toml --seeds 20", "scenarios/retry-tuning.toml --out reports/out/tuning"]),
    (
        "check",
        &[
            "scenarios/quickstart.toml --baseline reports/baselines/quickstart.json",
            "scenarios/quickstart.toml --baseline reports/baselines/quickstart.json --update",
        ],
    ),
    ("merge", &["part-1.jsonl part-2.jsonl part-3.jsonl"]),
    ("schema", &["> schema.json"]),
    ("completions", &["bash > ~/.local/share/bash-completion/completions/rehearsal", "zsh > ~/.zfunc/_rehearsal"]),
];

/// The exit codes, the contract with scripts and CI.
fn exit_codes() -> String {
    format!(
        "{HEADER}Exit codes:{HEADER:#}\n  \
         {:<4} everything ran and every check passed\n  \
         {:<4} a check or an invariant failed, or a run hit a limit\n  \
         {:<4} bad input or usage: the scenario, an argument, an output path\n  \
         {:<4} interrupted by SIGINT (sweep and compare keep finished runs: add --resume)\n  \
         {:<4} interrupted by SIGTERM",
        exit::OK,
        exit::CHECK_FAILED,
        exit::BAD_INPUT,
        128 + SIGINT,
        128 + SIGTERM,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_an_example_and_the_exit_codes() {
        let mut command = command("rehearsal");
        command.build();
        for sub in command.get_subcommands() {
            let name = sub.get_name();
            if name == "help" {
                continue;
            }
            let help = sub.get_after_help().map(ToString::to_string).unwrap_or_default();
            assert!(help.contains(&format!("rehearsal {name} ")), "no example for `{name}`: {help}");
            assert!(help.contains("130") && help.contains("143"), "{name}: {help}");
        }
    }

    #[test]
    fn the_examples_parse() {
        for (sub, examples) in EXAMPLES {
            for e in *examples {
                let args: Vec<&str> = e.split_whitespace().take_while(|a| *a != ">").collect();
                let argv = ["rehearsal", sub].into_iter().chain(args);
                if let Err(err) = command("rehearsal").try_get_matches_from(argv) {
                    panic!("`{sub} {e}`: {err}");
                }
            }
        }
    }
}
