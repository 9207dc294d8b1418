//! A report set (`report.json`, `report.md`, the SVGs, `index.html`)
//! written as a set: a crash at any moment leaves the output directory
//! holding either the old set or the new one, never a mix.
//!
//! The new set is written into a staging directory beside the output
//! directory `D` (in its parent `P`, so renames stay on one file system),
//! then swapped in by two renames:
//!
//! 1. write every file into `P/.D.rehearsal-tmp/`, fsync each;
//! 2. rename it to `P/.D.rehearsal-new/` (the set is complete);
//! 3. rename `D` to `P/.D.rehearsal-old/`;
//! 4. rename `P/.D.rehearsal-new/` to `D`;
//! 5. remove `P/.D.rehearsal-old/`.
//!
//! Between 3 and 4 `D` does not exist (a reader finds no report, not a
//! mixed one). The next [`ReportDir::prepare`] of the same directory
//! finishes or undoes whatever a killed run left: a `-tmp` directory is
//! an unfinished set and is removed; a `-new` directory is a finished set
//! whose swap was cut short and is swapped in; a `-old` directory whose
//! replacement is in place is removed. Temporaries of single files
//! (`.report.json.tmp.PID.N`) of writers that no longer run are removed
//! too.
//!
//! Why a directory swap rather than a `current` symlink switched
//! atomically: the report files stay plain files at the paths users and
//! CI scripts already read (no symlink for an artifact uploader to skip),
//! and the swap needs nothing but `rename`. Its cost: the whole directory
//! is replaced, so `D` may hold only what rehearsal writes there (the
//! report files and the journal, see [`OWNED_FILES`]); a directory holding
//! anything else is refused before any run starts, and nothing else is
//! ever removed. A symlink at `D` is followed: the directory it points to
//! is swapped and the symlink stays. One `compare` at a time per output
//! directory.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::atomic::{remove_stale_temporaries, sync_dir};
use super::error::ReportError;

/// Every file rehearsal writes into a report directory: the report set and
/// the journal of the comparison that made it.
pub const OWNED_FILES: &[&str] = &[
    super::JSON_FILE,
    super::MARKDOWN_FILE,
    super::LATENCY_CHART,
    super::THROUGHPUT_CHART,
    super::SUCCESS_CHART,
    super::HTML_FILE,
    crate::journal::JOURNAL_FILE,
];

const TMP: &str = "rehearsal-tmp";
const NEW: &str = "rehearsal-new";
const OLD: &str = "rehearsal-old";

/// An output directory made ready for a new report set: recovered from any
/// killed run, checked to hold only rehearsal's files, created, with an
/// empty staging directory beside it.
#[derive(Debug)]
pub struct ReportDir {
    /// The directory as the user named it (for messages).
    shown: PathBuf,
    /// The real directory (symlinks resolved).
    dir: PathBuf,
    tmp: PathBuf,
    new: PathBuf,
    old: PathBuf,
}

impl ReportDir {
    /// Prepares `out` (see the module docs). Every error names the path;
    /// those about the path itself (under a regular file, not writable,
    /// holding other files) are bad input ([`ReportError::is_bad_input`]).
    pub fn prepare(out: &Path) -> Result<ReportDir, ReportError> {
        let create = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ReportError::CreateDir { path, source }
        };
        let dir = match fs::symlink_metadata(out) {
            Ok(_) => {
                let meta = fs::metadata(out).map_err(create(out))?;
                if !meta.is_dir() {
                    return Err(ReportError::NotADirectory { path: out.to_path_buf() });
                }
                fs::canonicalize(out).map_err(create(out))?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let name = out.file_name().ok_or_else(|| ReportError::NotADirectory { path: out.to_path_buf() })?;
                let parent = match out.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
                fs::create_dir_all(parent).map_err(create(out))?;
                fs::canonicalize(parent).map_err(create(out))?.join(name)
            }
            Err(e) => return Err(create(out)(e)),
        };
        let parent = dir.parent().ok_or_else(|| ReportError::NotADirectory { path: out.to_path_buf() })?;
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let beside = |kind: &str| parent.join(format!(".{name}.{kind}"));
        let set = ReportDir { shown: out.to_path_buf(), tmp: beside(TMP), new: beside(NEW), old: beside(OLD), dir };
        set.recover()?;
        set.check_owned()?;
        if !set.dir.exists() {
            fs::create_dir(&set.dir).map_err(create(out))?;
        }
        for name in OWNED_FILES {
            remove_stale_temporaries(&set.dir, name);
        }
        fs::create_dir(&set.tmp).map_err(create(&set.tmp))?;
        Ok(set)
    }

    /// The real output directory (it exists once prepared).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Finishes or undoes what a killed run left (module docs).
    fn recover(&self) -> Result<(), ReportError> {
        let swap = |source| ReportError::Swap { path: self.shown.clone(), source };
        if self.tmp.exists() {
            fs::remove_dir_all(&self.tmp).map_err(swap)?;
        }
        if self.new.exists() {
            // A finished set whose swap was cut short: swap it in.
            if self.dir.exists() {
                self.remove_old()?;
                fs::rename(&self.dir, &self.old).map_err(swap)?;
            }
            fs::rename(&self.new, &self.dir).map_err(swap)?;
            sync_dir(self.dir.parent().unwrap_or(Path::new(".")));
        } else if self.old.exists() && !self.dir.exists() {
            // Cannot happen through `commit` (the new set exists until it
            // is in place), but a directory removed by hand gets its set back.
            fs::rename(&self.old, &self.dir).map_err(swap)?;
        }
        self.remove_old()
    }

    /// Removes `-old` if it holds only rehearsal's files.
    fn remove_old(&self) -> Result<(), ReportError> {
        if !self.old.exists() {
            return Ok(());
        }
        remove_owned_dir(&self.old).map_err(|source| ReportError::Swap { path: self.old.clone(), source })
    }

    /// Refuses a directory holding files rehearsal did not write.
    fn check_owned(&self) -> Result<(), ReportError> {
        let Ok(entries) = fs::read_dir(&self.dir) else { return Ok(()) };
        let mut foreign: Vec<String> =
            entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| !is_owned(n)).collect();
        if foreign.is_empty() {
            return Ok(());
        }
        foreign.sort();
        Err(ReportError::ForeignFiles { path: self.shown.clone(), names: foreign })
    }

    /// Writes `files` (name, content) as the new set, carrying `carry` (names
    /// of files already in the directory, e.g. the journal) over, and swaps
    /// it in. On error the directory keeps its old set.
    pub fn commit(self, files: &[(&str, &[u8])], carry: &[&str]) -> Result<(), ReportError> {
        self.commit_steps(files, carry, usize::MAX)
    }

    /// [`ReportDir::commit`] stopped after `steps` steps (a crash, for tests).
    fn commit_steps(&self, files: &[(&str, &[u8])], carry: &[&str], steps: usize) -> Result<(), ReportError> {
        let parent = self.dir.parent().unwrap_or(Path::new("."));
        let swap = |source| ReportError::Swap { path: self.shown.clone(), source };
        let mut step = 0;
        let mut go = || {
            step += 1;
            step <= steps
        };
        for (name, bytes) in files {
            if !go() {
                return Ok(());
            }
            let path = self.tmp.join(name);
            write_new(&path, bytes).map_err(|source| ReportError::Write { path: self.shown.join(name), source })?;
        }
        for name in carry {
            let from = self.dir.join(name);
            if from.exists() {
                if !go() {
                    return Ok(());
                }
                let to = self.tmp.join(name);
                fs::copy(&from, &to)
                    .and_then(|_| fs::File::open(&to)?.sync_all())
                    .map_err(|source| ReportError::Write { path: self.shown.join(name), source })?;
            }
        }
        sync_dir(&self.tmp);
        if !go() {
            return Ok(());
        }
        fs::rename(&self.tmp, &self.new).map_err(swap)?;
        sync_dir(parent);
        if self.dir.exists() {
            if !go() {
                return Ok(());
            }
            fs::rename(&self.dir, &self.old).map_err(swap)?;
        }
        if !go() {
            return Ok(());
        }
        fs::rename(&self.new, &self.dir).map_err(swap)?;
        sync_dir(parent);
        if !go() {
            return Ok(());
        }
        self.remove_old()
    }

    /// Gives up on a new set (nothing to write): the staging directory goes,
    /// the output directory keeps its old set.
    pub fn abandon(self) {
        let _ = fs::remove_dir_all(&self.tmp);
    }
}

/// Whether `name` is one of rehearsal's files in a report directory, or a
/// temporary of one.
fn is_owned(name: &str) -> bool {
    OWNED_FILES.iter().any(|f| {
        name == *f || name.strip_prefix('.').and_then(|r| r.strip_prefix(f)).is_some_and(|r| r.starts_with(".tmp."))
    })
}

/// Removes a directory holding only rehearsal's files; a directory holding
/// anything else is left as it is (an error naming the first such file).
fn remove_owned_dir(dir: &Path) -> io::Result<()> {
    let mut foreign = None;
    for entry in fs::read_dir(dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_owned(&name) && entry.file_type().is_ok_and(|t| !t.is_dir()) {
            fs::remove_file(entry.path())?;
        } else {
            foreign.get_or_insert(name);
        }
    }
    match foreign {
        None => fs::remove_dir(dir),
        Some(name) => {
            Err(io::Error::other(format!("it holds `{name}`, which rehearsal did not write; remove it by hand")))
        }
    }
}

fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).create_new(true).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::TempDir;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    fn set(tag: &str) -> Vec<(&'static str, Vec<u8>)> {
        ["report.json", "report.md", "latency.svg"].iter().map(|n| (*n, format!("{tag} {n}").into_bytes())).collect()
    }

    fn commit(dir: &ReportDir, files: &[(&'static str, Vec<u8>)], steps: usize) {
        let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
        dir.commit_steps(&files, &["journal.jsonl"], steps).unwrap();
    }

    /// Which set `dir` holds: "old", "new", or None when missing. Panics on a mix.
    fn which(dir: &Path) -> Option<&'static str> {
        if !dir.exists() {
            return None;
        }
        let mut seen = None;
        for (name, _) in set("x") {
            let text = fs::read_to_string(dir.join(name)).unwrap();
            let tag = if text.starts_with("old ") { "old" } else { "new" };
            assert!(seen.is_none_or(|s| s == tag), "a mix of sets in {}", dir.display());
            seen = Some(tag);
        }
        seen
    }

    #[test]
    fn a_crash_at_any_step_leaves_one_set_and_the_next_run_recovers() {
        for steps in 0..=8 {
            let root = TempDir::new("set-crash");
            let out = root.path().join("out");
            let first = ReportDir::prepare(&out).unwrap();
            fs::write(out.join("journal.jsonl"), b"journal\n").unwrap();
            commit(&first, &set("old"), usize::MAX);
            assert_eq!(which(&out), Some("old"));
            assert_eq!(names(root.path()), vec!["out"], "nothing left beside");

            let second = ReportDir::prepare(&out).unwrap();
            commit(&second, &set("new"), steps);
            // After a crash: the old set, the new one, or (between the two
            // renames) no directory; never a mix.
            let now = which(&out);
            // The next run recovers: the directory holds one whole set again.
            let third = ReportDir::prepare(&out).unwrap();
            let after = which(&out).expect("a set after recovery");
            // Once the new set is complete (step 5: written, carried,
            // renamed to `-new`) recovery swaps it in; before, the old set stays.
            let expected = if steps >= 5 { "new" } else { "old" };
            assert_eq!(after, expected, "steps {steps} (before recovery: {now:?})");
            third.abandon();
            assert_eq!(names(root.path()), vec!["out"], "steps {steps}: temporaries removed");
            assert_eq!(fs::read(out.join("journal.jsonl")).unwrap(), b"journal\n", "the journal is carried over");
        }
    }

    #[test]
    fn foreign_files_are_refused_and_never_removed() {
        let root = TempDir::new("set-foreign");
        let out = root.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("notes.txt"), b"mine").unwrap();
        let e = ReportDir::prepare(&out).unwrap_err();
        assert!(e.is_bad_input());
        assert!(e.to_string().contains("notes.txt"), "{e}");
        assert_eq!(names(&out), vec!["notes.txt"]);
        // Stale temporaries of rehearsal's own files are fine (and go).
        fs::remove_file(out.join("notes.txt")).unwrap();
        fs::write(out.join(".report.json.tmp.0.1"), b"partial").unwrap();
        fs::create_dir(root.path().join(".out.rehearsal-tmp")).unwrap();
        fs::write(root.path().join(".out.rehearsal-tmp").join("report.json"), b"partial").unwrap();
        let dir = ReportDir::prepare(&out).unwrap();
        dir.abandon();
        if Path::new("/proc/self").exists() {
            assert!(names(&out).is_empty(), "{:?}", names(&out));
        }
        assert_eq!(names(root.path()), vec!["out"]);
    }

    #[test]
    fn not_a_directory_and_under_a_file_are_bad_input() {
        let root = TempDir::new("set-bad");
        let file = root.path().join("file");
        fs::write(&file, b"x").unwrap();
        for out in [file.clone(), file.join("sub")] {
            let e = ReportDir::prepare(&out).unwrap_err();
            assert!(e.is_bad_input(), "{e}");
            assert_eq!(e.path(), out.as_path());
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_directory_stays_a_symlink() {
        let root = TempDir::new("set-link");
        let real = root.path().join("real");
        fs::create_dir(&real).unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        for tag in ["old", "new"] {
            let dir = ReportDir::prepare(&link).unwrap();
            commit(&dir, &set(tag), usize::MAX);
        }
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(which(&real), Some("new"));
    }
}
