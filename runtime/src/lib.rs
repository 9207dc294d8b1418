//! rehearsal-runtime: a sans-IO actor runtime.

mod mailbox;
pub use mailbox::OverflowPolicy;
