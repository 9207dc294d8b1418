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
        writeln!(f, "{} | {}", self.line, self.source_line)?;
        // Copy tabs from the source line so the caret lines up.
        let want = self.column.saturating_sub(1);
        let mut caret_pad: String =
            self.source_line.chars().take(want).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
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
