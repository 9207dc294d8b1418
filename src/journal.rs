//! The journal of a `sweep` or `compare`: one JSON line per finished run,
//! written as the runs finish, so an interrupted command loses nothing and
//! `--resume` runs only what is missing.
//!
//! `journal.jsonl` in the command's output directory. The first line is a
//! [`Header`]: the command's identity (the scenario's content, the seeds,
//! the strategies, the BUGGIFY setting, rehearsal's version) and how many
//! runs it has. Every other line is one finished run (the command's own
//! record type, with its job index `i`), in the order the runs finished.
//! Lines are appended with one `write` each (no fsync per line): a killed
//! process leaves every line it wrote; a line cut short by a crash of the
//! machine is dropped on resume, and its run runs again.
//!
//! On `--resume` the header must match the command's exactly; otherwise it
//! is a usage error naming what differs.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::output::{OutputError, write_output};

/// The journal's file name in an output directory.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// The journal format's version (`rehearsal_journal` in the header).
pub const FORMAT: u32 = 1;

/// What a journal is the journal of: a resumed command must match it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// [`FORMAT`].
    pub rehearsal_journal: u32,
    /// rehearsal's version: another version may simulate differently.
    pub rehearsal: String,
    /// `sweep` or `compare`.
    pub command: String,
    /// The scenario's name.
    pub scenario: String,
    /// FNV-1a 64 of the scenario as loaded (its file and every file it
    /// reads, the effective BUGGIFY setting), hex.
    pub scenario_hash: String,
    /// The seeds, compact (`1..=12`).
    pub seeds: String,
    /// The strategy labels, in job order.
    pub strategies: Vec<String>,
    /// BUGGIFY fault points on or off.
    pub buggify: bool,
    /// How many runs the command has (strategies x seeds).
    pub runs: u64,
}

impl Header {
    /// What differs between a journal's header (`self`) and the command's
    /// (`now`), one phrase per field.
    pub fn differences(&self, now: &Header) -> Vec<String> {
        let mut d = Vec::new();
        let mut field = |name: &str, was: String, is: String| {
            if was != is {
                d.push(format!("{name} (journal: {}, now: {})", cut(&was), cut(&is)));
            }
        };
        field("journal format", self.rehearsal_journal.to_string(), now.rehearsal_journal.to_string());
        field("rehearsal version", self.rehearsal.clone(), now.rehearsal.clone());
        field("command", self.command.clone(), now.command.clone());
        field("scenario", self.scenario.clone(), now.scenario.clone());
        field("scenario content (hash)", self.scenario_hash.clone(), now.scenario_hash.clone());
        field("seeds", self.seeds.clone(), now.seeds.clone());
        field("strategies", self.strategies.join("; "), now.strategies.join("; "));
        field("BUGGIFY", on_off(self.buggify).into(), on_off(now.buggify).into());
        field("runs", self.runs.to_string(), now.runs.to_string());
        d
    }
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// At most 80 characters of `s`.
fn cut(s: &str) -> String {
    if s.chars().count() <= 80 { s.to_owned() } else { format!("{}...", s.chars().take(77).collect::<String>()) }
}

/// One finished run in a journal.
pub trait Record: Serialize + DeserializeOwned {
    /// The run's job index (0-based, in job order).
    fn index(&self) -> u64;
}

/// Reading or writing a journal failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The journal cannot be written.
    #[error("journal: {0}")]
    Output(#[from] OutputError),
    /// The journal cannot be read or appended to.
    #[error("journal {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The file is not a rehearsal journal (bad input).
    #[error("--resume: {} is not a rehearsal journal ({why}); remove it, or run without --resume to start over", path.display())]
    NotAJournal { path: PathBuf, why: String },
    /// The journal is another command's (bad input).
    #[error(
        "--resume: the journal {} is of a different command: {}; run without --resume to start over (the journal is replaced)",
        path.display(),
        differences.join("; ")
    )]
    Differs { path: PathBuf, differences: Vec<String> },
}

impl JournalError {
    /// Whether the error lies in what the user gave (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        match self {
            JournalError::Output(e) => e.is_bad_input(),
            JournalError::Io { source, .. } => crate::output::is_bad_path(source),
            JournalError::NotAJournal { .. } | JournalError::Differs { .. } => true,
        }
    }
}

/// A journal open for appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

/// What [`Journal::resume`] found.
#[derive(Debug)]
pub struct Resumed<R> {
    pub journal: Journal,
    /// The finished runs by job index (the first line of each index).
    pub records: BTreeMap<u64, R>,
    /// Whether there was a journal at all (none: everything runs).
    pub found: bool,
}

impl Journal {
    /// Starts a new journal at `path` (replacing any journal there, through
    /// [`write_output`]) with its header line.
    pub fn start(path: &Path, header: &Header) -> Result<Journal, JournalError> {
        let mut line = serde_json::to_string(header).map_err(|e| io_error(path, e.into()))?;
        line.push('\n');
        write_output(path, line.as_bytes())?;
        let file = OpenOptions::new().append(true).open(path).map_err(|e| io_error(path, e))?;
        Ok(Journal { path: path.to_path_buf(), file })
    }

    /// Opens the journal at `path` to continue it: its header must equal
    /// `header`; its records are returned, a last line cut short is dropped
    /// (and cut from the file). No journal: a new one is started.
    pub fn resume<R: Record>(path: &Path, header: &Header) -> Result<Resumed<R>, JournalError> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let journal = Journal::start(path, header)?;
                return Ok(Resumed { journal, records: BTreeMap::new(), found: false });
            }
            Err(e) => return Err(io_error(path, e)),
        };
        let mut reader = BufReader::new(file);
        let mut line = String::new();
        let not_a_journal = |why: String| JournalError::NotAJournal { path: path.to_path_buf(), why };
        let n = read_line(&mut reader, &mut line).map_err(|e| io_error(path, e))?;
        if n == 0 || !line.ends_with('\n') {
            return Err(not_a_journal("no header line".into()));
        }
        let found: Header = serde_json::from_str(&line).map_err(|e| not_a_journal(format!("header: {e}")))?;
        let differences = found.differences(header);
        if !differences.is_empty() {
            return Err(JournalError::Differs { path: path.to_path_buf(), differences });
        }
        let mut complete_len = n as u64;
        let mut records = BTreeMap::new();
        loop {
            line.clear();
            let n = read_line(&mut reader, &mut line).map_err(|e| io_error(path, e))?;
            if n == 0 || !line.ends_with('\n') {
                break;
            }
            complete_len += n as u64;
            // A line that does not parse (cut short and then appended to, or
            // a summary that cannot be read back) is a run to do again.
            if let Ok(r) = serde_json::from_str::<R>(&line) {
                if r.index() < header.runs {
                    records.entry(r.index()).or_insert(r);
                }
            }
        }
        let file = OpenOptions::new().append(true).open(path).map_err(|e| io_error(path, e))?;
        // Drop a last line cut short, so the next line starts on its own.
        if file.metadata().map_err(|e| io_error(path, e))?.len() != complete_len {
            file.set_len(complete_len).map_err(|e| io_error(path, e))?;
        }
        Ok(Resumed { journal: Journal { path: path.to_path_buf(), file }, records, found: true })
    }

    /// Appends one finished run (one `write` of one line).
    pub fn append<R: Record>(&mut self, record: &R) -> Result<(), JournalError> {
        let mut line = serde_json::to_string(record).map_err(|e| io_error(&self.path, e.into()))?;
        line.push('\n');
        self.file.write_all(line.as_bytes()).map_err(|e| io_error(&self.path, e))
    }

    /// Appends one line already serialised (no newline in it).
    pub fn append_line(&mut self, line: &str) -> Result<(), JournalError> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.file.write_all(&bytes).map_err(|e| io_error(&self.path, e))
    }

    /// Makes every line durable (fsync).
    pub fn sync(&self) -> Result<(), JournalError> {
        self.file.sync_all().map_err(|e| io_error(&self.path, e))
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn io_error(path: &Path, source: io::Error) -> JournalError {
    JournalError::Io { path: path.to_path_buf(), source }
}

/// One line, at most 256 MiB (a journal line is one run's summary).
fn read_line(reader: &mut impl BufRead, line: &mut String) -> io::Result<usize> {
    const MAX: u64 = 256 << 20;
    let n = reader.by_ref().take(MAX).read_line(line)?;
    if n as u64 == MAX && !line.ends_with('\n') {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "a line longer than 256 MiB"));
    }
    Ok(n)
}

/// FNV-1a 64 of the scenario as loaded, hex: its `Debug` form covers every
/// setting and the data of every file it read.
pub fn scenario_hash(scenario: &crate::scenario::Scenario) -> String {
    format!("{:016x}", rehearsal_sim::rng::fnv1a64(format!("{scenario:?}").as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::TempDir;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Rec {
        i: u64,
        v: String,
    }

    impl Record for Rec {
        fn index(&self) -> u64 {
            self.i
        }
    }

    fn header() -> Header {
        Header {
            rehearsal_journal: FORMAT,
            rehearsal: "0.1.0".into(),
            command: "sweep".into(),
            scenario: "s".into(),
            scenario_hash: "00ff".into(),
            seeds: "1..=4".into(),
            strategies: vec!["retry=none".into()],
            buggify: true,
            runs: 4,
        }
    }

    #[test]
    fn resume_reads_what_was_appended_and_drops_a_cut_line() {
        let dir = TempDir::new("journal");
        let p = dir.path().join(JOURNAL_FILE);
        let mut j = Journal::start(&p, &header()).unwrap();
        j.append(&Rec { i: 2, v: "two".into() }).unwrap();
        j.append(&Rec { i: 0, v: "zero".into() }).unwrap();
        j.append(&Rec { i: 9, v: "out of range".into() }).unwrap();
        drop(j);
        // A line cut short by a crash.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"i\":1,\"v\":\"o").unwrap();
        drop(f);
        let r = Journal::resume::<Rec>(&p, &header()).unwrap();
        assert!(r.found);
        assert_eq!(r.records.keys().copied().collect::<Vec<_>>(), vec![0, 2]);
        let mut j = r.journal;
        j.append(&Rec { i: 1, v: "one".into() }).unwrap();
        drop(j);
        let r = Journal::resume::<Rec>(&p, &header()).unwrap();
        assert_eq!(r.records[&1], Rec { i: 1, v: "one".into() });
        assert_eq!(r.records.len(), 3);
    }

    #[test]
    fn another_commands_journal_is_refused_naming_what_differs() {
        let dir = TempDir::new("journal-differs");
        let p = dir.path().join(JOURNAL_FILE);
        Journal::start(&p, &header()).unwrap();
        let other = Header { seeds: "1..=9".into(), buggify: false, ..header() };
        let e = Journal::resume::<Rec>(&p, &other).unwrap_err();
        assert!(e.is_bad_input());
        let text = e.to_string();
        assert!(text.contains("seeds (journal: 1..=4, now: 1..=9)"), "{text}");
        assert!(text.contains("BUGGIFY (journal: on, now: off)"), "{text}");
        // Not a journal at all.
        std::fs::write(&p, b"hello\n").unwrap();
        let e = Journal::resume::<Rec>(&p, &header()).unwrap_err();
        assert!(matches!(e, JournalError::NotAJournal { .. }) && e.is_bad_input(), "{e}");
    }

    #[test]
    fn no_journal_starts_one() {
        let dir = TempDir::new("journal-none");
        let p = dir.path().join(JOURNAL_FILE);
        let r = Journal::resume::<Rec>(&p, &header()).unwrap();
        assert!(!r.found && r.records.is_empty());
        assert!(std::fs::read_to_string(&p).unwrap().starts_with("{\"rehearsal_journal\":1,"));
    }
}
