//! `rehearsal completions SHELL`: the shell's completion script, from the
//! same clap command the program parses with (so it knows every command
//! and flag, and the program's own name).

use clap::Args;

#[derive(Debug, Args)]
pub(super) struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Prints the completion script on stdout.
pub(super) fn print(args: &CompletionsArgs, program: &str) -> anyhow::Result<u8> {
    let name = super::help::bin_name(program);
    let mut command = super::help::command(name);
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    outln!("{}", String::from_utf8_lossy(&script).trim_end());
    Ok(super::exit::OK)
}
