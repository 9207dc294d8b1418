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
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let err = |source| ReportError::Write { path: path.to_path_buf(), source };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name")))?;
    let tmp = dir.join(format!(
        ".{}.tmp.{}.{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = write_and_sync(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(err(e));
    }
    // Make the rename itself durable. Not every platform lets a directory be
    // opened and synced; the file content is already safe, so ignore that.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn write_and_sync(tmp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = OpenOptions::new().write(true).create_new(true).open(tmp)?;
    f.write_all(bytes)?;
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
}
