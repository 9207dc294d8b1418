//! rehearsal-runtime: a sans-IO, Erlang/OTP-style actor runtime.
//!
//! Actors are state machines with synchronous handlers ([`Actor`]); every
//! effect they want is data ([`Ctx`]) that a driver applies through [`Env`].
//! The runtime reads no clock, draws no randomness and does no I/O of its
//! own: time, randomness and delivery all come through [`Env`]. The
//! simulator (`rehearsal-sim`) is one driver; a tokio driver is another.
//! `clippy.toml` forbids clocks, OS randomness and randomly-seeded hash maps
//! here, and `tests/runtime.rs` checks the source for them.

mod actor;
mod ctx;
mod env;
mod envelope;
mod id;
mod ids;
mod lifecycle;
mod mailbox;
mod registry;
pub mod retry;
mod service;
pub mod supervisor;
mod system;
pub mod tasks;
mod trace;

pub use actor::{Actor, Message, Response};
pub use ctx::{Ctx, Entropy};
pub use env::{Env, TimerKind};
pub use envelope::{Envelope, ReplyTo, Route};
pub use id::{ActorId, Nanos, NodeId, RequestId, ServiceId, TimerId};
pub use lifecycle::{Decider, Directive, ExitReason, FailureKind, Signal};
pub use mailbox::OverflowPolicy;
pub use service::{ServiceCall, ServiceError, ServiceOutcome};
pub use system::{RuntimeStats, System, SystemConfig};
pub use trace::{DropReason, ResponseKind, TraceEvent};
