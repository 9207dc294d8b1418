//! rehearsal: scenarios, strategy matrices, sweeps, metrics and reports,
//! over the deterministic kernel of `rehearsal-sim` and the actor runtime
//! of `rehearsal-runtime`. See ARCHITECTURE.md for the map.

pub mod cli;
pub mod determinism;
pub mod fleet;
pub mod gate;
pub mod hist;
pub mod journal;
pub mod ledger;
pub mod output;
pub mod parallel;
pub mod report;
pub mod run;
pub mod scenario;
pub mod strategy;
pub mod summarize;
pub mod summary;
pub mod system;
pub mod trace_export;
pub mod world;
