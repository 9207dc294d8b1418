//! Scenario files: TOML in, a checked [`Scenario`] out.

mod model;
pub use model::*;
