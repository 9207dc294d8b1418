//! rehearsal: scenarios, strategy matrices, sweeps, metrics and reports.

pub mod report;
pub mod scenario;
pub mod strategy;
pub mod summary;
