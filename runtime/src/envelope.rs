//! What travels between actors: a message plus how to route its answer.

use crate::id::{ActorId, RequestId};

/// A message in transit.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Envelope<M> {
    pub from: ActorId,
    pub route: Route,
    pub msg: M,
}

/// How the receiver treats an envelope.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// Fire and forget.
    Tell,
    /// A request: the receiver may answer with [`crate::Ctx::reply`].
    Ask(RequestId),
    /// The answer to request `RequestId` of the receiver.
    Reply(RequestId),
    /// The receiver's own message, refused by a full mailbox of `from`
    /// and sent back; `request` is set when it was an ask.
    Bounced { request: Option<RequestId> },
}

/// Where an answer goes: captured from an ask, kept as long as needed
/// (an agent may answer after several calls of its own).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReplyTo {
    pub asker: ActorId,
    pub request: RequestId,
}
