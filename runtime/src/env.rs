//! [`Env`]: everything the runtime needs from outside. The simulator
//! implements it with a virtual clock, seeded streams and a network model;
//! a production driver would implement it with tokio.

use crate::ctx::Entropy;
use crate::envelope::Envelope;
use crate::id::{ActorId, Nanos, NodeId, RequestId, TimerId};
use crate::lifecycle::Signal;
use crate::service::ServiceCall;
use crate::trace::TraceEvent;

/// Why a timer was set: the runtime sets timers of its own for request
/// timeouts.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// [`crate::Ctx::set_timer`] with this tag.
    User { tag: u64 },
    /// The timeout of an ask or a service call.
    RequestTimeout { request: RequestId },
}

/// The driver's side of the runtime (randomness and BUGGIFY fault points
/// come through its [`Entropy`] supertrait).
pub trait Env<M>: Entropy {
    /// Current time.
    fn now(&self) -> Nanos;

    /// Carry `envelope` from `from_node` to actor `to` on `to_node`; the
    /// driver decides when (and whether) it arrives, then calls
    /// [`crate::System::deliver`].
    fn transmit(&mut self, from_node: NodeId, to_node: NodeId, to: ActorId, envelope: Envelope<M>);

    /// Carry a system signal to actor `to` on `to_node`; the driver calls
    /// [`crate::System::deliver_signal`] when it arrives. News of a node's
    /// death ([`Signal::is_node_down`]) reaches other nodes only after the
    /// driver's failure-detection delay
    /// ([`Env::failure_detection_delay`]`(to_node, from_node)`).
    fn signal(&mut self, from_node: NodeId, to_node: NodeId, to: ActorId, signal: Signal);

    /// An actor answered an ask that came from outside the system.
    fn reply_external(&mut self, from: ActorId, request: RequestId, msg: M);

    /// Call [`crate::System::fire_timer`] at `at`.
    fn schedule_timer(&mut self, owner: ActorId, timer: TimerId, kind: TimerKind, at: Nanos);

    /// Start a service call; the driver answers it later with
    /// [`crate::System::complete_call`] (or never: a hang).
    fn call_service(&mut self, caller: ActorId, node: NodeId, request: RequestId, call: ServiceCall);

    /// The caller gave up on service call `request`: its timeout fired, it
    /// cancelled the call ([`crate::Ctx::cancel`]), or it died with the call
    /// pending (its connection is gone). The runtime no longer waits for an
    /// answer (one that still comes is a late reply); the driver may stop
    /// the work. Called at most once per call, and never for a call that
    /// was answered. The default does nothing.
    fn cancel_call(&mut self, caller: ActorId, request: RequestId) {
        let _ = (caller, request);
    }

    /// How long after a node crashes an actor on node `observer` learns it
    /// (the failure detector's delay): node-down news about `subject`
    /// ([`Signal::is_node_down`]), [`crate::Ctx::node_is_up`] and
    /// [`crate::Ctx::whereis`] about actors that died with `subject` follow
    /// it. Should be 0 when `observer == subject`. The default, 0, is a
    /// driver that learns of crashes at once.
    fn failure_detection_delay(&self, observer: NodeId, subject: NodeId) -> Nanos {
        let _ = (observer, subject);
        0
    }

    /// Something happened that a run's trace must record.
    fn trace(&mut self, event: TraceEvent<'_, M>);
}
