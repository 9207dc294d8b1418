//! rehearsal-runtime: a sans-IO, Erlang/OTP-style actor runtime.
//!
//! Actors are state machines with synchronous handlers ([`Actor`]); every
//! effect they want is data ([`Ctx`]) that a driver applies through [`Env`].
//! The runtime reads no clock, draws no randomness and does no I/O of its
//! own: time, randomness and delivery all come through [`Env`]. The
//! simulator (`rehearsal-sim`) is one driver; a tokio driver is another.
//! `clippy.toml` forbids clocks, OS randomness and randomly-seeded hash maps
//! here, and `tests/runtime.rs` checks the source for them.
//!
//! An actor is a type with a message type and handlers; it asks, tells,
//! replies, sets timers and calls services through its [`Ctx`], and learns
//! of answers, timeouts and refusals in [`Actor::on_response`]. Here a
//! client asks a counter on another node three times, driven by the
//! simulator:
//!
//! ```
//! use rehearsal_runtime::{Actor, ActorId, Ctx, NodeId, RequestId, Response, TimerId};
//! use rehearsal_sim::net::{Latency, Network};
//! use rehearsal_sim::{EmptyWorld, Sim, SimBuilder};
//!
//! #[derive(Clone, Debug, Hash, PartialEq, Eq)]
//! enum Msg {
//!     Add(u64),
//!     Total(u64),
//! }
//!
//! #[derive(Debug)]
//! enum Node {
//!     Counter { total: u64 },
//!     Client { counter: ActorId, answers: Vec<u64>, timeouts: u32 },
//! }
//!
//! impl Actor for Node {
//!     type Msg = Msg;
//!
//!     fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
//!         if let Node::Client { .. } = self {
//!             ctx.set_timer(1_000_000, 0); // first ask after 1 ms
//!         }
//!     }
//!
//!     fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, Self>) {
//!         if let (Node::Counter { total }, Msg::Add(n), Some(reply)) = (self, msg, ctx.reply_to()) {
//!             *total += n;
//!             ctx.reply(reply, Msg::Total(*total));
//!         }
//!     }
//!
//!     fn on_timer(&mut self, _: TimerId, _: u64, ctx: &mut Ctx<'_, Self>) {
//!         if let Node::Client { counter, answers, .. } = self {
//!             let n = answers.len() as u64 + 1;
//!             ctx.ask(*counter, Msg::Add(n), 50_000_000); // 50 ms timeout
//!         }
//!     }
//!
//!     fn on_response(&mut self, _: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, Self>) {
//!         let Node::Client { answers, timeouts, .. } = self else { return };
//!         match response {
//!             Response::Reply(Msg::Total(t)) => answers.push(t),
//!             _ => *timeouts += 1,
//!         }
//!         if answers.len() < 3 {
//!             ctx.set_timer(1_000_000, 0);
//!         }
//!     }
//! }
//!
//! // 5 ms each way between nodes.
//! let network = Network { remote: Latency::Fixed(5_000_000), ..Network::default() };
//! let mut sim: Sim<Node, EmptyWorld> = SimBuilder::new().seed(1).network(network).build(EmptyWorld);
//! let counter = sim.spawn(NodeId(1), Node::Counter { total: 0 });
//! let client = sim.spawn(NodeId(0), Node::Client { counter, answers: vec![], timeouts: 0 });
//! sim.run().unwrap();
//! match sim.system().actor(client) {
//!     Some(Node::Client { answers, timeouts, .. }) => {
//!         assert_eq!(answers, &[1, 3, 6]);
//!         assert_eq!(*timeouts, 0);
//!     }
//!     other => panic!("{other:?}"),
//! }
//! // No ask is outstanding; the last event was the settled ask's timeout
//! // timer (sent at 23 ms + 50 ms), which fires as a no-op.
//! assert_eq!(sim.kernel().now(), 73_000_000);
//! ```

mod actor;
mod ctx;
mod env;
mod envelope;
mod id;
mod ids;
mod lifecycle;
mod mailbox;
mod registry;
pub mod resilience;
pub mod retry;
mod service;
pub mod supervisor;
mod system;
pub mod tasks;
mod trace;

pub use actor::{Actor, ActorLabel, Message, Response};
pub use ctx::{Ctx, Entropy};
pub use env::{Env, TimerKind};
pub use envelope::{Envelope, ReplyTo, Route};
pub use id::{ActorId, Nanos, NodeId, RequestId, ServiceId, TimerId};
pub use lifecycle::{Decider, Directive, ExitReason, FailureKind, Signal};
pub use mailbox::OverflowPolicy;
pub use service::{ServiceCall, ServiceError, ServiceOutcome};
pub use system::{RuntimeStats, System, SystemConfig};
pub use trace::{DropReason, ResponseKind, TraceEvent};
