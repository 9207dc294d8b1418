//! The [`Actor`] trait: a state machine with a synchronous handler.

use std::fmt::{self, Debug};
use std::hash::Hash;

use crate::ctx::Ctx;
use crate::id::{ActorId, RequestId, TimerId};
use crate::lifecycle::Signal;
use crate::service::ServiceOutcome;

/// What an actor's messages must be: hashable (they are folded into the
/// run's trace hash), printable (a divergence report shows them) and
/// cloneable (a network may duplicate a message, as Erlang copies them).
pub trait Message: Clone + Debug + Hash + 'static {}
impl<T: Clone + Debug + Hash + 'static> Message for T {}

/// An actor: one message at a time, no I/O, no waiting. Every effect (send,
/// ask, timer, spawn, stop, service call) is requested through `ctx` and
/// applied by the driver after the handler returns, as in OTP's gen_server
/// where the callback returns and the behaviour does the sending.
///
/// One Rust type is the whole system's actor type (an enum when the system
/// has several kinds of actor), so the driver dispatches with a `match`, not
/// a virtual call, and keeps messages inline in its event queue.
pub trait Actor: Sized + 'static {
    type Msg: Message;

    /// Runs once, right after spawn, before any message.
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        let _ = ctx;
    }

    /// A message from another actor or from outside (`ctx.reply_to()` is
    /// `Some` when it is an ask).
    fn handle(&mut self, msg: Self::Msg, ctx: &mut Ctx<'_, Self>);

    /// Whether `msg` reaches [`Actor::handle`] even while the actor is not
    /// accepting ([`Ctx::set_accepting`]) or has a backlog, instead of
    /// waiting in the mailbox: selective receive, as a `gen_statem`
    /// postpones most events in a busy state yet handles a cancellation at
    /// once. The default: no message is urgent.
    #[inline]
    fn is_urgent(msg: &Self::Msg) -> bool {
        let _ = msg;
        false
    }

    /// This actor's own bound on its mailbox, below the system's
    /// `mailbox_capacity` (the smaller of the two applies); `None`: the
    /// system's. Read when a message has to wait, so it may change with
    /// the actor's state.
    #[inline]
    fn mailbox_capacity(&self) -> Option<u32> {
        None
    }

    /// The answer to one of this actor's own asks or service calls, or the
    /// reason there is none (timeout, the callee was gone or refused it).
    fn on_response(&mut self, request: RequestId, response: Response<Self::Msg>, ctx: &mut Ctx<'_, Self>) {
        let _ = (request, response, ctx);
    }

    /// A timer set with [`Ctx::set_timer`] fired; `tag` is what was given.
    fn on_timer(&mut self, timer: TimerId, tag: u64, ctx: &mut Ctx<'_, Self>) {
        let _ = (timer, tag, ctx);
    }

    /// A system message: a child ended, a watched or linked actor ended,
    /// or the parent asks for shutdown. The default stops on
    /// [`Signal::Shutdown`] and ignores the rest.
    fn on_signal(&mut self, signal: Signal, ctx: &mut Ctx<'_, Self>) {
        if signal == Signal::Shutdown {
            ctx.exit(crate::ExitReason::Shutdown);
        }
    }

    /// A tell to `to` could not be delivered (its mailbox refused it under
    /// [`crate::OverflowPolicy::Reject`], or `to` was gone).
    fn on_undelivered(&mut self, to: ActorId, msg: Self::Msg, ctx: &mut Ctx<'_, Self>) {
        let _ = (to, msg, ctx);
    }

    /// What this actor is, for people reading a trace of the run (OTP's
    /// `proc_lib:set_label`): read once, when it is spawned, and handed to
    /// the driver's trace with the spawn. It never changes what happens.
    /// The default: unlabelled.
    fn label(&self) -> ActorLabel {
        ActorLabel::NONE
    }
}

/// What an actor is, for a trace's reader: a kind and, for one of many, an
/// index (`agent 3`, `stage 0`, `gateway`). Plain data, so that reading it
/// at every spawn costs nothing worth measuring.
#[derive(Copy, Clone, Default, PartialEq, Eq, Hash)]
pub struct ActorLabel {
    /// What kind of actor (`agent`, `gateway`, `supervisor`); empty: unlabelled.
    pub kind: &'static str,
    /// Which one of its kind, if there are several.
    pub index: Option<u32>,
}

impl ActorLabel {
    /// No label.
    pub const NONE: ActorLabel = ActorLabel { kind: "", index: None };

    /// The one actor of its kind (`gateway`).
    pub const fn one(kind: &'static str) -> ActorLabel {
        ActorLabel { kind, index: None }
    }

    /// One of many of its kind (`agent 3`).
    pub const fn nth(kind: &'static str, index: u32) -> ActorLabel {
        ActorLabel { kind, index: Some(index) }
    }

    pub fn is_none(&self) -> bool {
        self.kind.is_empty()
    }
}

/// `agent 3`, `gateway`, or `unlabelled`.
impl fmt::Display for ActorLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_none(), self.index) {
            (true, _) => f.write_str("unlabelled"),
            (false, Some(i)) => write!(f, "{} {i}", self.kind),
            (false, None) => f.write_str(self.kind),
        }
    }
}

impl Debug for ActorLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// How an outstanding ask or service call ended.
#[derive(Debug, PartialEq, Eq, Hash)]
pub enum Response<M> {
    /// The callee answered an ask.
    Reply(M),
    /// A service answered a call.
    Service(ServiceOutcome),
    /// No answer before the timeout; a later answer is dropped and counted.
    Timeout,
    /// The callee was gone or its mailbox refused the request.
    Undeliverable,
}
