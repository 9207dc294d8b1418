//! What can go wrong loading a scenario, rendered like a compiler diagnostic.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A scenario file that could not be loaded. Every variant says where and
/// why, and the CLI exits with [`ScenarioError::exit_code`].
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read (missing, a directory, no permission, not UTF-8...).
    #[error("{}: cannot read scenario file: {source}\n  hint: {}", path.display(), read_hint(source))]
    Unreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The file was read but is not a valid scenario. Rendered as
    ///
    /// ```text
    /// scenarios/x.toml:12:15: invalid value for `workload.arrivals.rate_per_s`: -3
    ///    |
    /// 12 | arrivals = { process = "poisson", rate_per_s = -3 }
    ///    |                                                ^
    ///   expected: a positive number of requests per second
    ///   hint: ...
    /// ```
    #[error("{}", Invalid { file, line: *line, column: *column, message, expected, hint: hint.as_deref(), source_line })]
    Invalid {
        /// The file name as given to [`parse`](super::parse) / [`load`](super::load).
        file: String,
        /// 1-based line of the offending token.
        line: usize,
        /// 1-based column (in characters) of the offending token.
        column: usize,
        /// What is wrong, naming the key, e.g. ``invalid value for `llm.error_rate`: 1.5``.
        message: String,
        /// What would have been accepted there.
        expected: String,
        /// How to fix it, when there is something more useful to say.
        hint: Option<String>,
        /// The text of line `line` (without its line terminator), shown with
        /// a caret under `column`.
        source_line: String,
    },
}

impl ScenarioError {
    /// The process exit code for a bad scenario (usage error): always 2.
    pub fn exit_code(&self) -> i32 {
        2
    }
}

fn read_hint(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::NotFound => "check the path; relative paths are resolved from the current directory",
        io::ErrorKind::FileTooLarge => "a scenario is a short text file; check that the path names the right file",
        io::ErrorKind::PermissionDenied => "check the file's permissions",
        io::ErrorKind::InvalidData => "scenario files must be UTF-8 text",
        io::ErrorKind::IsADirectory => "pass the path of a `.toml` file, not a directory",
        _ => "pass the path of a readable `.toml` scenario file",
    }
}

/// Borrowed view of `ScenarioError::Invalid`, for rendering.
struct Invalid<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    message: &'a str,
    expected: &'a str,
    hint: Option<&'a str>,
    source_line: &'a str,
}

impl fmt::Display for Invalid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)?;
        let gutter = self.line.to_string().len();
        let pad = " ".repeat(gutter);
        writeln!(f, "{pad} |")?;
        let (shown, column) = window(self.source_line, self.column);
        writeln!(f, "{} | {}", self.line, shown)?;
        // Copy tabs from the source line so the caret lines up.
        let want = column.saturating_sub(1);
        let mut caret_pad: String = shown.chars().take(want).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        let have = caret_pad.chars().count();
        caret_pad.extend(std::iter::repeat_n(' ', want.saturating_sub(have)));
        writeln!(f, "{pad} | {caret_pad}^")?;
        write!(f, "  expected: {}", self.expected)?;
        if let Some(hint) = self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// At most this many characters of the input are echoed in an error: the
/// source line under the caret, and any value, key or name quoted in the
/// message or the hint. Longer text is cut, with `…` where it was cut.
pub const MAX_ECHO_CHARS: usize = 200;

/// `s` cut to at most `max` characters (the last one `…` when cut).
pub(crate) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some(_) => {
            let keep = max.saturating_sub(1);
            let end = s.char_indices().nth(keep).map_or(s.len(), |(i, _)| i);
            format!("{}…", &s[..end])
        }
    }
}

/// `s` cut to [`MAX_ECHO_CHARS`]: for input quoted in a message.
pub(crate) fn echo(s: &str) -> String {
    clip(s, MAX_ECHO_CHARS)
}

/// The part of `line` shown under an error's header, and the 1-based
/// column of the caret in it: the whole line when it is at most
/// [`MAX_ECHO_CHARS`] characters long; otherwise that many characters
/// around `column`, with `…` at each end that was cut. Control characters
/// but tabs are shown as `�` (one character for one, so the caret still
/// lines up), never sent to the terminal.
pub(crate) fn window(line: &str, column: usize) -> (std::borrow::Cow<'_, str>, usize) {
    let visible = |c: char| if c.is_control() && c != '\t' { '\u{FFFD}' } else { c };
    let n = line.chars().count();
    if n <= MAX_ECHO_CHARS {
        if line.chars().any(|c| c.is_control() && c != '\t') {
            return (line.chars().map(visible).collect::<String>().into(), column);
        }
        return (line.into(), column);
    }
    let at = column.saturating_sub(1).min(n);
    let start = at.saturating_sub(MAX_ECHO_CHARS / 2).min(n - MAX_ECHO_CHARS);
    let end = start + MAX_ECHO_CHARS;
    let mut shown = String::with_capacity(MAX_ECHO_CHARS * 4 + 6);
    let mut caret = at - start + 1;
    if start > 0 {
        shown.push('…');
        caret += 1;
    }
    shown.extend(line.chars().skip(start).take(MAX_ECHO_CHARS).map(visible));
    if end < n {
        shown.push('…');
    }
    (shown.into(), caret)
}
