//! The one error type of the report writer. Every variant names the path
//! that failed, so a CI log says which file could not be written.

use std::path::PathBuf;

/// Writing a report failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Creating the output directory failed.
    #[error("cannot create report directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing (or renaming into place) a report file failed.
    #[error("cannot write report file {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The output path exists and is not a directory.
    #[error("cannot write reports into {}: it is not a directory", path.display())]
    NotADirectory { path: PathBuf },
    /// The output directory holds files rehearsal did not write: a report
    /// set replaces the whole directory, so it is refused.
    #[error(
        "cannot write reports into {}: it holds files rehearsal did not write ({}); reports replace the whole \
         directory, so give a new directory, or one that holds only an earlier report set",
        path.display(),
        list(names)
    )]
    ForeignFiles { path: PathBuf, names: Vec<String> },
    /// Swapping the new report set in (or recovering a killed run's) failed.
    #[error("cannot swap the new report set into {}: {source}", path.display())]
    Swap {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Serialising `report.json` failed.
    #[error("cannot serialise {}: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// Drawing a chart failed (plotters reports these as text).
    #[error("cannot draw chart {}: {message}", path.display())]
    Chart { path: PathBuf, message: String },
}

impl ReportError {
    /// The file or directory the failed operation was about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            ReportError::CreateDir { path, .. }
            | ReportError::Write { path, .. }
            | ReportError::NotADirectory { path }
            | ReportError::ForeignFiles { path, .. }
            | ReportError::Swap { path, .. }
            | ReportError::Json { path, .. }
            | ReportError::Chart { path, .. } => path,
        }
    }
}

impl ReportError {
    /// Whether the error lies in the output path the user gave (exit code
    /// 2): not a directory, under a regular file, not writable, holding
    /// other files. A full disk or a rendering bug is not (exit code 1).
    pub fn is_bad_input(&self) -> bool {
        match self {
            ReportError::NotADirectory { .. } | ReportError::ForeignFiles { .. } => true,
            ReportError::CreateDir { source, .. }
            | ReportError::Write { source, .. }
            | ReportError::Swap { source, .. } => crate::output::is_bad_path(source),
            ReportError::Json { .. } | ReportError::Chart { .. } => false,
        }
    }
}

/// At most five names, then how many more.
fn list(names: &[String]) -> String {
    let mut shown: Vec<String> = names.iter().take(5).map(|n| format!("`{n}`")).collect();
    if names.len() > 5 {
        shown.push(format!("and {} more", names.len() - 5));
    }
    shown.join(", ")
}
