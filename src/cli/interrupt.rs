//! SIGINT and SIGTERM during `sweep` and `compare`: the first one stops
//! starting new runs (the runs in flight finish and are journaled); a
//! second one ends the process at once (the runs in flight are lost; every
//! finished run is already in the journal). Signals only decide when to
//! stop starting runs: a run itself never sees them.
//!
//! Exit codes follow the shell's convention, 128 + the signal's number:
//! 130 for SIGINT, 143 for SIGTERM.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};

/// Whether an interrupt came, and which.
#[derive(Debug)]
pub(super) struct Interrupt {
    flag: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
}

impl Interrupt {
    /// Installs the handlers. A handler that cannot be installed leaves that
    /// signal's default (the process ends; the journal keeps what finished).
    pub(super) fn install() -> Interrupt {
        let flag = Arc::new(AtomicBool::new(false));
        let signal = Arc::new(AtomicUsize::new(0));
        for sig in [SIGINT, SIGTERM] {
            // Handlers run in the order registered: the second signal finds
            // the flag set and exits; the first only sets it.
            let _ = signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&flag));
            let _ = signal_hook::flag::register_usize(sig, Arc::clone(&signal), sig as usize);
            let _ = signal_hook::flag::register(sig, Arc::clone(&flag));
        }
        Interrupt { flag, signal }
    }

    /// The signal that came, if any.
    pub(super) fn requested(&self) -> Option<Signal> {
        if !self.flag.load(Ordering::SeqCst) {
            return None;
        }
        Some(if self.signal.load(Ordering::SeqCst) == SIGTERM as usize { Signal::Term } else { Signal::Int })
    }
}

/// An interrupting signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Signal {
    Int,
    Term,
}

impl Signal {
    pub(super) fn name(self) -> &'static str {
        match self {
            Signal::Int => "SIGINT",
            Signal::Term => "SIGTERM",
        }
    }

    /// 128 + the signal's number.
    pub(super) fn exit_code(self) -> u8 {
        match self {
            Signal::Int => 130,
            Signal::Term => 143,
        }
    }
}

/// The command line that continues this one: `rehearsal` and the same
/// arguments (shell-quoted) with `--resume`.
pub(super) fn resume_command() -> String {
    let mut words = vec!["rehearsal".to_owned()];
    let args: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    words.extend(args.iter().map(|a| shell_quote(a)));
    if !args.iter().any(|a| a == "--resume") {
        words.push("--resume".to_owned());
    }
    words.join(" ")
}

/// `s` as one shell word: as is when it has nothing the shell would read,
/// else in single quotes.
pub(super) fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-./=:,+@%^".contains(c));
    if plain { s.to_owned() } else { format!("'{}'", s.replace('\'', "'\\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("scenarios/a.toml"), "scenarios/a.toml");
        assert_eq!(shell_quote("1..12"), "1..12");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(Signal::Int.exit_code(), 130);
        assert_eq!(Signal::Term.exit_code(), 143);
    }
}
