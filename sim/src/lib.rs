//! rehearsal-sim: the deterministic kernel and world models.

pub mod dist;
