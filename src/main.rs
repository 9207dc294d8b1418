//! The `rehearsal` command. Everything lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    rehearsal::cli::main()
}
