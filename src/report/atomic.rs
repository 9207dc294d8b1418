//! Atomic file replacement: write a temporary file next to the target, fsync
//! it, then rename it over the target. A reader sees either the old file or
//! the new one, never a half-written report.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::ReportError;

/// Distinguishes temporary files of concurrent writers in one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes` atomically (on POSIX file systems: rename is
/// atomic within a directory). The parent directory must exist. On error
/// the temporary file is removed and the target is left untouched.
///
/// `path` is taken as a regular file: a symlink at `path` would be replaced
/// by a regular file. Paths the user names go through
/// [`crate::output::write_output`], which follows symlinks and never renames
/// over a FIFO or a device.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    write_atomic_io(path, bytes).map_err(|source| ReportError::Write { path: path.to_path_buf(), source })
}

/// [`write_atomic`] with a plain I/O error. A replaced file keeps its
/// permission bits. Temporaries of an earlier process that was killed
/// while writing the same file (`.NAME.tmp.PID.N`, PID no longer running)
/// are removed first.
pub fn write_atomic_io(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name"))?
        .to_string_lossy()
        .into_owned();
    remove_stale_temporaries(&dir, &name);
    let tmp = dir.join(format!(".{name}{TMP_INFIX}{}.{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let permissions = fs::metadata(path).ok().filter(fs::Metadata::is_file).map(|m| m.permissions());
    let result = write_and_sync(&tmp, bytes, permissions).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // Make the rename itself durable. Not every platform lets a directory be
    // opened and synced; the file content is already safe, so ignore that.
    sync_dir(&dir);
    Ok(())
}

/// What sits between a file's name and the writer's pid in its temporaries.
const TMP_INFIX: &str = ".tmp.";

/// Fsyncs a directory (its entries), where the platform allows it.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Removes `dir/.NAME.tmp.PID.N` left by a process that no longer runs
/// (killed while writing `dir/NAME`). Only where the running processes can
/// be seen (`/proc`); elsewhere nothing is removed.
pub fn remove_stale_temporaries(dir: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let prefix = format!(".{name}{TMP_INFIX}");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if process_gone(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Whether process `pid` has ended (false when that cannot be known).
pub fn process_gone(pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    let proc = Path::new("/proc");
    proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}

fn write_and_sync(tmp: &Path, bytes: &[u8], permissions: Option<fs::Permissions>) -> std::io::Result<()> {
    let mut f = OpenOptions::new().write(true).create_new(true).open(tmp)?;
    f.write_all(bytes)?;
    if let Some(p) = permissions {
        f.set_permissions(p)?;
    }
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::TempDir;

    #[test]
    fn writes_and_overwrites() {
        let dir = TempDir::new("atomic-overwrite");
        let p = dir.path().join("a.txt");
        write_atomic(&p, b"first").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"first");
        write_atomic(&p, b"second, longer").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second, longer");
        write_atomic(&p, b"").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"");
        // No temporary files are left behind.
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.txt")]);
    }

    #[test]
    fn missing_directory_is_an_error_naming_the_path() {
        let dir = TempDir::new("atomic-missing");
        let p = dir.path().join("no-such-dir").join("a.txt");
        let e = write_atomic(&p, b"x").unwrap_err();
        assert_eq!(e.path(), p.as_path());
        assert!(e.to_string().contains("a.txt"), "{e}");
    }

    #[test]
    fn reader_never_sees_a_partial_file() {
        let dir = TempDir::new("atomic-reader");
        let p = dir.path().join("big.bin");
        let a = vec![b'a'; 256 * 1024];
        let b = vec![b'b'; 300 * 1024];
        write_atomic(&p, &a).unwrap();
        std::thread::scope(|s| {
            let reader = s.spawn(|| {
                for _ in 0..200 {
                    let got = fs::read(&p).unwrap();
                    assert!(got == a || got == b, "partial read: {} bytes", got.len());
                }
            });
            for i in 0..40 {
                write_atomic(&p, if i % 2 == 0 { &b } else { &a }).unwrap();
            }
            reader.join().unwrap();
        });
    }

    #[test]
    fn stale_temporaries_of_dead_writers_are_removed() {
        let dir = TempDir::new("atomic-stale");
        let p = dir.path().join("report.json");
        // pid 0 never names a user process; our own pid is alive.
        let dead = dir.path().join(".report.json.tmp.0.3");
        let alive = dir.path().join(format!(".report.json.tmp.{}.99", std::process::id()));
        let other = dir.path().join(".other.json.tmp.0.1");
        for f in [&dead, &alive, &other] {
            fs::write(f, b"partial").unwrap();
        }
        write_atomic(&p, b"{}").unwrap();
        assert!(!dead.exists() || !Path::new("/proc/self").exists(), "a dead writer's temporary stays");
        assert!(alive.exists(), "a live writer's temporary is removed");
        assert!(other.exists(), "another file's temporary is removed");
    }

    #[cfg(unix)]
    #[test]
    fn permissions_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("atomic-mode");
        let p = dir.path().join("x.sh");
        fs::write(&p, b"old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o750)).unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o750);
    }
}
