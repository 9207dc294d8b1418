//! rehearsal: scenarios, strategy matrices, sweeps, metrics and reports.

pub mod scenario;
pub mod strategy;
pub mod summary;
