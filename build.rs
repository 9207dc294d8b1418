//! Records the git commit rehearsal is built from, for the provenance of
//! reports (`REHEARSAL_GIT_COMMIT`, read with `option_env!`).
//!
//! Never fails a build: outside a git checkout (a crate tarball, a vendored
//! copy, no `git` installed) the variable is simply not set and reports say
//! the commit is unknown. A checkout is used only when its top level is
//! this package's own directory (not some repository the source happens to
//! sit in). `REHEARSAL_GIT_COMMIT` set in the environment wins (builds from
//! an exported tree can name their commit). Only the files that move when
//! HEAD does are watched, so the build script reruns on a commit or a
//! checkout, not on every edit; uncommitted changes are not recorded.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=REHEARSAL_GIT_COMMIT");
    if let Some(commit) = std::env::var("REHEARSAL_GIT_COMMIT").ok().filter(|c| !c.trim().is_empty()) {
        println!("cargo:rustc-env=REHEARSAL_GIT_COMMIT={}", commit.trim());
        return;
    }
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else { return };
    if let Some(commit) = git_commit(&manifest_dir) {
        println!("cargo:rustc-env=REHEARSAL_GIT_COMMIT={commit}");
    }
}

/// `git` in `dir` with `args`: its trimmed stdout, if it ran and succeeded.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(dir).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn git_commit(dir: &Path) -> Option<String> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same(Path::new(&top), dir) {
        return None;
    }
    let commit = git(dir, &["rev-parse", "--verify", "HEAD"])?;
    if !(commit.len() >= 40 && commit.chars().all(|c| c.is_ascii_hexdigit())) {
        return None;
    }
    // Rerun when HEAD moves: HEAD itself (a checkout), the branch's ref (a
    // commit) or packed-refs. Only existing files: a missing one would make
    // the script rerun on every build.
    let absolute = |p: String| {
        let p = PathBuf::from(p);
        if p.is_absolute() { p } else { dir.join(p) }
    };
    let mut watched = Vec::new();
    if let Some(head) = git(dir, &["rev-parse", "--git-path", "HEAD"]) {
        watched.push(absolute(head));
    }
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        if let Some(r) = git(dir, &["rev-parse", "--git-path", &branch]) {
            watched.push(absolute(r));
        }
    }
    if let Some(packed) = git(dir, &["rev-parse", "--git-path", "packed-refs"]) {
        watched.push(absolute(packed));
    }
    for path in watched.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    Some(commit)
}
