//! Writing an output file the user named (`--trace-out`, a journal) without
//! ever destroying what the path is.
//!
//! [`write_output`] looks at what the path is before writing:
//!
//! | the path is | what happens |
//! |---|---|
//! | missing, or a regular file | replaced atomically: a temporary file in the same directory, fsync, rename ([`write_atomic`](crate::report::write_atomic)) |
//! | a symlink to a regular (or missing) file | the target is replaced atomically in the target's directory; the symlink stays |
//! | a FIFO or a character device (`/dev/null`, a terminal), directly or through symlinks | a plain write: opened for writing, never created, truncated or renamed |
//! | `/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N` | written to that file descriptor's stream (appended to a regular file) |
//! | a directory, a socket, a block device | an error naming the path and what it is (bad input, exit code 2) |
//!
//! Report sets (a directory of files written together) are swapped in as a
//! whole by [`crate::report::set`].

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::report::atomic::write_atomic_io;

/// Writing an output path failed.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The path is something a file cannot be written over (a directory, a
    /// socket, a block device): bad input.
    #[error("cannot write {}: it is {what}; give the path of a file, a FIFO or a character device", path.display())]
    Unsupported { path: PathBuf, what: &'static str },
    /// The operating system refused.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl OutputError {
    /// Whether the error lies in the path the user gave (exit code 2) rather
    /// than in the machine (a full disk, an I/O error: exit code 1).
    pub fn is_bad_input(&self) -> bool {
        match self {
            OutputError::Unsupported { .. } => true,
            OutputError::Io { source, .. } => is_bad_path(source),
        }
    }

    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            OutputError::Unsupported { path, .. } | OutputError::Io { path, .. } => path,
        }
    }
}

/// Whether an I/O error says the path itself is unusable (missing parent,
/// no permission, not a directory, read-only file system, ...), which is
/// the user's to fix, rather than a failure of the machine.
pub fn is_bad_path(e: &io::Error) -> bool {
    use io::ErrorKind as K;
    matches!(
        e.kind(),
        K::NotFound
            | K::PermissionDenied
            | K::AlreadyExists
            | K::NotADirectory
            | K::IsADirectory
            | K::ReadOnlyFilesystem
            | K::InvalidInput
            | K::InvalidFilename
            | K::DirectoryNotEmpty
            | K::CrossesDevices
    )
}

/// What [`write_output`] does with a path (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Replace this regular (or missing) file atomically.
    Replace(PathBuf),
    /// Open this FIFO or device for writing and write (no create, no rename).
    Stream(PathBuf),
    /// Write to the process's standard output (1) or error (2).
    Std(u8),
    /// Append to this path (a `/proc` file descriptor link to a regular file).
    Append(PathBuf),
}

/// Decides what writing `path` means, following symlinks (at most 40).
pub fn resolve(path: &Path) -> Result<Target, OutputError> {
    let io_err = |source| OutputError::Io { path: path.to_path_buf(), source };
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        if let Some(fd) = std_descriptor(&current) {
            return Ok(Target::Std(fd));
        }
        let meta = match fs::symlink_metadata(&current) {
            Ok(m) => m,
            // Missing: created atomically (the parent must exist).
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Target::Replace(current)),
            Err(e) => return Err(io_err(e)),
        };
        let ft = meta.file_type();
        if ft.is_symlink() {
            let link = fs::read_link(&current).map_err(io_err)?;
            // A link under /proc (`/proc/self/fd/1` -> `pipe:[123]`) names no
            // path: write through it as a stream.
            if current.starts_with("/proc") {
                return stream_target(path, &current, true);
            }
            current = match current.parent() {
                Some(dir) if link.is_relative() => dir.join(link),
                _ => link,
            };
            continue;
        }
        return classify(path, &current, &meta, false);
    }
    Err(io_err(io::Error::new(io::ErrorKind::InvalidInput, "too many levels of symbolic links")))
}

/// `/dev/stdout`, `/dev/stderr`, `/dev/fd/{1,2}`, `/proc/self/fd/{1,2}`.
fn std_descriptor(p: &Path) -> Option<u8> {
    let s = p.to_str()?;
    match s {
        "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1" => Some(1),
        "/dev/stderr" | "/dev/fd/2" | "/proc/self/fd/2" => Some(2),
        _ => None,
    }
}

/// A `/proc` link: what it leads to decides (`fs::metadata` follows it).
fn stream_target(original: &Path, link: &Path, via_proc: bool) -> Result<Target, OutputError> {
    let meta = fs::metadata(link).map_err(|source| OutputError::Io { path: original.to_path_buf(), source })?;
    classify(original, link, &meta, via_proc)
}

fn classify(original: &Path, at: &Path, meta: &fs::Metadata, via_proc: bool) -> Result<Target, OutputError> {
    let ft = meta.file_type();
    let unsupported = |what| Err(OutputError::Unsupported { path: original.to_path_buf(), what });
    if ft.is_file() {
        return Ok(if via_proc { Target::Append(at.to_path_buf()) } else { Target::Replace(at.to_path_buf()) });
    }
    if ft.is_dir() {
        return unsupported("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() || ft.is_char_device() {
            return Ok(Target::Stream(at.to_path_buf()));
        }
        if ft.is_socket() {
            return unsupported("a socket");
        }
        if ft.is_block_device() {
            return unsupported("a block device");
        }
    }
    unsupported("not a regular file, a FIFO or a character device")
}

/// Writes `bytes` to `path` without destroying what the path is (see the
/// module docs): regular files are replaced atomically (through symlinks),
/// FIFOs and character devices are written to, anything else is an error.
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let io_err = |source| OutputError::Io { path: path.to_path_buf(), source };
    match resolve(path)? {
        Target::Replace(target) => write_atomic_io(&target, bytes).map_err(io_err),
        Target::Stream(target) => {
            let mut f = OpenOptions::new().write(true).open(&target).map_err(io_err)?;
            f.write_all(bytes).and_then(|()| f.flush()).map_err(io_err)
        }
        Target::Append(target) => {
            let mut f = OpenOptions::new().append(true).open(&target).map_err(io_err)?;
            f.write_all(bytes).and_then(|()| f.flush()).map_err(io_err)
        }
        Target::Std(1) => {
            let mut out = io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush()).map_err(io_err)
        }
        Target::Std(_) => {
            let mut err = io::stderr().lock();
            err.write_all(bytes).and_then(|()| err.flush()).map_err(io_err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::TempDir;

    #[test]
    fn regular_and_missing_files_are_replaced() {
        let dir = TempDir::new("output-regular");
        let p = dir.path().join("a.txt");
        write_output(&p, b"one").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        write_output(&p, b"two, longer").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two, longer");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary left");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_stays_and_its_target_gets_the_bytes() {
        let dir = TempDir::new("output-symlink");
        let sub = dir.path().join("elsewhere");
        fs::create_dir(&sub).unwrap();
        let real = sub.join("real.txt");
        fs::write(&real, b"keep").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        // A chain of two links, the second relative.
        let link2 = dir.path().join("link2.txt");
        std::os::unix::fs::symlink("link.txt", &link2).unwrap();
        write_output(&link2, b"new").unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert!(fs::symlink_metadata(&link2).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(&real).unwrap(), b"new");
        // The temporary file was made (and is gone) in the target's directory.
        assert_eq!(fs::read_dir(&sub).unwrap().count(), 1);
        // A dangling link: its target is created, the link stays.
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(sub.join("later.txt"), &dangling).unwrap();
        write_output(&dangling, b"later").unwrap();
        assert!(fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(sub.join("later.txt")).unwrap(), b"later");
    }

    #[test]
    fn a_directory_is_bad_input() {
        let dir = TempDir::new("output-dir");
        let e = write_output(dir.path(), b"x").unwrap_err();
        assert!(matches!(e, OutputError::Unsupported { what: "a directory", .. }), "{e}");
        assert!(e.is_bad_input());
        assert!(e.to_string().contains(&dir.path().display().to_string()), "{e}");
        // A missing parent directory is bad input too.
        let e = write_output(&dir.path().join("no").join("x"), b"x").unwrap_err();
        assert!(e.is_bad_input(), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_streams() {
        use std::os::unix::fs::FileTypeExt;
        // Resolved only: writing the real /dev/null would replace it for the
        // whole machine if this code regressed.
        assert_eq!(resolve(Path::new("/dev/null")).unwrap(), Target::Stream("/dev/null".into()));
        assert_eq!(resolve(Path::new("/dev/stdout")).unwrap(), Target::Std(1));
        assert_eq!(resolve(Path::new("/dev/stderr")).unwrap(), Target::Std(2));
        // A device node of our own (root only).
        let dir = TempDir::new("output-device");
        let node = dir.path().join("null");
        let made = std::process::Command::new("mknod").arg(&node).args(["c", "1", "3"]).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("skipped the write: mknod needs root");
            return;
        }
        write_output(&node, b"nothing").unwrap();
        assert!(fs::symlink_metadata(&node).unwrap().file_type().is_char_device());
    }
}
