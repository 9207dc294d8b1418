//! `--quiet`: whether progress and notes go to stderr. One command runs per
//! process, so the flag is process-wide, set once the arguments are parsed.

use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);

/// Silences (or not) progress and notes from now on.
pub(super) fn set(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `--quiet` was given.
pub(crate) fn is_quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}
