//! What the runtime reports to the driver's trace, one variant per kind of
//! event that a replay must reproduce.

use crate::actor::ActorLabel;
use crate::id::{ActorId, NodeId, RequestId, TimerId};
use crate::lifecycle::{ExitReason, FailureKind, Signal};

/// One runtime event, borrowed: the driver folds it into its hash (and, when
/// asked to, records it) without the runtime cloning anything.
#[derive(Debug)]
pub enum TraceEvent<'a, M> {
    /// A handler ran for a message.
    Deliver { to: ActorId, from: ActorId, msg: &'a M },
    /// A message was queued in a mailbox (the actor was not accepting).
    Enqueue { to: ActorId, from: ActorId, msg: &'a M },
    /// A message was dropped (full mailbox, dead receiver).
    Drop { to: ActorId, from: ActorId, reason: DropReason, msg: &'a M },
    /// A response (reply, service outcome, timeout) reached its asker.
    Response { to: ActorId, request: RequestId, kind: ResponseKind },
    /// A reply arrived after its ask had timed out, and was discarded.
    LateReply { to: ActorId, request: RequestId },
    /// A timer fired into a handler.
    Timer { owner: ActorId, timer: TimerId },
    /// An actor was spawned; `label` is what it says it is
    /// ([`crate::Actor::label`]), for a trace's reader only: a driver does
    /// not fold it into its hash.
    Spawn { parent: ActorId, child: ActorId, node: NodeId, label: ActorLabel },
    /// An actor ended.
    Stop { actor: ActorId, reason: ExitReason },
    /// A system signal reached an actor.
    Signal { to: ActorId, signal: Signal },
    /// An actor failed and its decider said resume: it keeps its state.
    Resume { actor: ActorId, kind: FailureKind },
}

/// Why a message was dropped.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The receiver had stopped.
    DeadReceiver,
    /// The mailbox was full and refused it (bounced to the sender).
    MailboxRejected,
    /// The mailbox was full and dropped the new message.
    MailboxDroppedNewest,
    /// The mailbox was full and dropped its oldest message for this one.
    MailboxDroppedOldest,
}

/// Which kind of response reached an actor.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ResponseKind {
    Reply,
    Service,
    Timeout,
    Undeliverable,
}

impl DropReason {
    pub fn code(self) -> u64 {
        self as u64
    }
}

impl ResponseKind {
    pub fn code(self) -> u64 {
        self as u64
    }
}
