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
            | ReportError::Json { path, .. }
            | ReportError::Chart { path, .. } => path,
        }
    }
}
