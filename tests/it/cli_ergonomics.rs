//! The command line's conveniences: shell completions, `--quiet`, the exit
//! codes and examples in `--help`, and colours only where asked for.

use crate::common::{rehearsal, stderr, stdout};

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = rehearsal(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains("rehearsal"), "{shell}: {script}");
        for word in ["sweep", "compare", "schema", "quiet"] {
            assert!(script.contains(word), "{shell}: no `{word}`");
        }
    }
    let out = rehearsal(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "an unknown shell is a usage error");
}

#[test]
fn help_lists_the_exit_codes_and_an_example_per_command() {
    let out = rehearsal(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    assert!(help.contains("Exit codes:"), "{help}");
    for code in ["0 ", "1 ", "2 ", "130", "143"] {
        assert!(help.contains(&format!("  {code}")), "exit code {code}: {help}");
    }
    for command in ["run", "sweep", "compare", "schema", "completions"] {
        assert!(help.contains(&format!("rehearsal {command} ")), "an example of `{command}`: {help}");
        let out = rehearsal(&[command, "--help"]);
        let sub = stdout(&out);
        assert!(sub.contains("Examples:") && sub.contains("Exit codes:"), "{command}: {sub}");
    }
    // Not a terminal: no colour.
    assert!(!help.contains('\u{1b}'), "{help}");
    // `-h` too.
    assert!(stdout(&rehearsal(&["-h"])).contains("Exit codes:"));
}

/// `--quiet` drops the notes, never the results or the errors; it goes
/// before or after the command.
#[test]
fn quiet_keeps_results_and_errors_only() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let trace = dir.path().join("trace.txt");
    let trace = trace.to_str().expect("UTF-8");
    let args = ["run", "scenarios/quickstart.toml", "--seed", "1", "--trace-out", trace];
    let loud = rehearsal(&args);
    assert_eq!(loud.status.code(), Some(0), "{}", stderr(&loud));
    assert!(stderr(&loud).contains("trace:") && stderr(&loud).contains("replay:"), "{}", stderr(&loud));
    for quiet in [["--quiet"].as_slice(), &["-q"]] {
        for before in [true, false] {
            let argv: Vec<&str> = if before {
                quiet.iter().chain(&args).copied().collect()
            } else {
                args.iter().chain(quiet).copied().collect()
            };
            let out = rehearsal(&argv);
            assert_eq!(out.status.code(), Some(0), "{argv:?}: {}", stderr(&out));
            assert_eq!(stderr(&out), "", "{argv:?}");
            assert_eq!(stdout(&out), stdout(&loud), "{argv:?}: the results stay");
        }
    }
    let out = rehearsal(&["--quiet", "run", "scenarios/no-such-file.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("error:"), "errors stay: {}", stderr(&out));
}

#[test]
fn quiet_sweep_prints_its_result_and_no_notes() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out_dir = dir.path().to_str().expect("UTF-8");
    let args = ["sweep", "scenarios/quickstart.toml", "--seeds", "1..3", "--jobs", "1", "--out", out_dir, "--quiet"];
    let out = rehearsal(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("2 passed, 0 failed"), "{}", stdout(&out));
    // A resume of a finished journal says so, except with --quiet.
    let mut resume = args.to_vec();
    resume.push("--resume");
    let out = rehearsal(&resume);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    resume.retain(|a| *a != "--quiet");
    let out = rehearsal(&resume);
    assert!(stderr(&out).contains("resuming:"), "{}", stderr(&out));
}
