//! A structured record of what happened in a run, for timeline viewers
//! (Perfetto, Chrome tracing): which handler ran when, which message went
//! from whom to whom, spawns, stops, faults.
//!
//! It is off unless a run asks for it ([`crate::SimBuilder::activity`]).
//! When on, the kernel fills it at the points where it folds the trace
//! hash, and it only observes: a run that keeps it is the same run, event
//! for event and hash for hash. When off, the kernel pays one
//! well-predicted branch per traced event and allocates nothing.
//!
//! Records are plain data (no message payloads: a short text of each
//! handled message lives in one shared arena), and the log is bounded:
//! past its limit, records are counted, not kept, so a long run keeps the
//! start of its story and says where it stopped.

use std::fmt::{self, Debug, Write as _};

use rehearsal_runtime::{
    ActorId, ActorLabel, DropReason, ExitReason, FailureKind, Nanos, NodeId, ResponseKind, Signal, TimerId, TraceEvent,
};

use crate::kernel::Fault;
use crate::net::LossReason;

/// What links a message's send to its arrival: the sequence number of its
/// delivery event in the kernel's queue (unique within a run).
pub type MessageId = u64;

/// Longest text kept for one message (longer ones are cut, marked `…`).
pub const MAX_TEXT_BYTES: usize = 240;

/// The arena of texts stops growing here (its offsets are 32-bit).
const MAX_ARENA_BYTES: usize = 1 << 30;

/// Spawns kept at most (every actor's name comes from its spawn, so they
/// are kept past the record limit, up to this many).
pub const MAX_SPAWNS: usize = 1_000_000;

/// One thing that happened, at simulated time `at`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Activity {
    pub at: Nanos,
    pub what: What,
}

/// What happened (see [`Activity`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// `from` sent a message to `to` that arrives at `arrives_at`; the
    /// arrival's record carries the same `message`. For a message a clog
    /// held, `at` is when it was first sent.
    Send { from: ActorId, to: ActorId, message: MessageId, arrives_at: Nanos, how: SendKind },
    /// A message from outside the actors (a client's request) is on its
    /// way to `to`; `request` is the ask's id, if it is one.
    Inbound { to: ActorId, message: MessageId, request: Option<u64> },
    /// `from` answered outside request `request`.
    Outbound { from: ActorId, request: u64 },
    /// The network lost a message from `from` to `to`.
    Lost { from: ActorId, to: ActorId, reason: LossReason, text: TextRef },
    /// A clogged link holds a message (sent again when the link unclogs:
    /// then a [`What::Send`] with [`SendKind::Released`]).
    Held { from: ActorId, to: ActorId },
    /// A handler of `actor` ran (handlers take no simulated time).
    /// `message` links a message's turn to its send when the turn handles
    /// the message as it arrives (not from the mailbox later).
    Turn { actor: ActorId, from: ActorId, cause: TurnCause, message: Option<MessageId>, text: TextRef },
    /// A message waits in `actor`'s mailbox.
    Queued { actor: ActorId, from: ActorId, message: Option<MessageId>, text: TextRef },
    /// A message to `actor` was dropped.
    Dropped { actor: ActorId, from: ActorId, reason: DropReason, message: Option<MessageId>, text: TextRef },
    /// A reply reached `actor` after its ask had ended, and was discarded.
    LateReply { actor: ActorId, message: Option<MessageId> },
    /// `actor` ended.
    Stopped { actor: ActorId, reason: ExitReason },
    /// `actor` failed and its decider resumed it.
    Resumed { actor: ActorId, kind: FailureKind },
    /// A fault was applied: [`ActivityLog::fault`]`(index)`.
    Fault { index: u32 },
    /// A BUGGIFY fault point fired.
    Buggify { site: u64 },
}

/// How a message was put on its way.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SendKind {
    /// Sent by its actor.
    Sent,
    /// A second copy the network made.
    Duplicate,
    /// Held on a clogged link, released at `at`.
    Released { at: Nanos },
}

/// Which handler a turn ran.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TurnCause {
    /// `handle`, for a message.
    Message,
    /// `on_response`: a reply, a service's answer, a timeout.
    Response(ResponseKind),
    /// `on_timer`.
    Timer(TimerId),
    /// A system signal.
    Signal(Signal),
}

/// Where a text lives in the log's arena ([`ActivityLog::text`]).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TextRef {
    start: u32,
    len: u32,
}

/// An actor's spawn: where it runs and what it says it is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Spawned {
    pub at: Nanos,
    pub parent: ActorId,
    pub child: ActorId,
    pub node: NodeId,
    pub label: ActorLabel,
}

/// The structured record of one run (see the module docs).
///
/// What fills it is out of line and marked cold: the kernel's hot path
/// only checks whether a log is kept.
#[derive(Debug, Default)]
pub struct ActivityLog {
    records: Vec<Activity>,
    spawns: Vec<Spawned>,
    faults: Vec<Fault>,
    texts: String,
    limit: usize,
    omitted: u64,
    omitted_from: Option<Nanos>,
    /// The delivery event being dispatched and its receiver: the first
    /// record about that receiver takes the message id.
    arriving: Option<(MessageId, ActorId)>,
}

impl ActivityLog {
    /// A log that keeps at most `limit` records (spawns apart).
    pub fn new(limit: usize) -> ActivityLog {
        ActivityLog { limit, ..ActivityLog::default() }
    }

    /// The records kept, in the order they happened (a released message's
    /// send is recorded when it is released, with its first send time).
    pub fn records(&self) -> &[Activity] {
        &self.records
    }

    /// Every spawn (up to [`MAX_SPAWNS`]), in order.
    pub fn spawns(&self) -> &[Spawned] {
        &self.spawns
    }

    /// The fault a [`What::Fault`] record names.
    pub fn fault(&self, index: u32) -> Option<&Fault> {
        self.faults.get(index as usize)
    }

    /// The text a record names.
    pub fn text(&self, text: TextRef) -> &str {
        let start = text.start as usize;
        self.texts.get(start..start + text.len as usize).unwrap_or("")
    }

    /// Records not kept because the log was full.
    pub fn omitted(&self) -> u64 {
        self.omitted
    }

    /// When the first record that was not kept happened: the log is
    /// complete before that time.
    pub fn complete_until(&self) -> Option<Nanos> {
        self.omitted_from
    }

    /// The most records it keeps.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Whether a record at `at` would be kept; counts it if not.
    fn room(&mut self, at: Nanos) -> bool {
        if self.records.len() < self.limit {
            return true;
        }
        self.omitted += 1;
        self.omitted_from.get_or_insert(at);
        false
    }

    /// Keep `what`, if there is room.
    #[cold]
    #[inline(never)]
    pub(crate) fn push(&mut self, at: Nanos, what: What) {
        if self.room(at) {
            self.records.push(Activity { at, what });
        }
    }

    /// Keep `what`, built with the text of `value`, if there is room (the
    /// text is formatted only then).
    #[cold]
    #[inline(never)]
    pub(crate) fn push_with_text(&mut self, at: Nanos, value: &dyn Debug, what: impl FnOnce(TextRef) -> What) {
        if self.room(at) {
            let text = self.store_text(value);
            self.records.push(Activity { at, what: what(text) });
        }
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn spawn(&mut self, spawned: Spawned) {
        if self.spawns.len() < MAX_SPAWNS {
            self.spawns.push(spawned);
        }
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn push_fault(&mut self, at: Nanos, fault: &Fault) {
        if self.room(at) {
            let index = self.faults.len() as u32;
            self.faults.push(fault.clone());
            self.records.push(Activity { at, what: What::Fault { index } });
        }
    }

    /// Keep a runtime event (the kernel calls this for every event it
    /// traces, when the run keeps a log).
    #[cold]
    #[inline(never)]
    pub(crate) fn record<M: Debug>(&mut self, at: Nanos, event: &TraceEvent<'_, M>) {
        match *event {
            TraceEvent::Deliver { to, from, msg } => {
                let message = self.take_arrival(to);
                self.push_with_text(at, msg, |text| What::Turn {
                    actor: to,
                    from,
                    cause: TurnCause::Message,
                    message,
                    text,
                });
            }
            TraceEvent::Enqueue { to, from, msg } => {
                let message = self.take_arrival(to);
                self.push_with_text(at, msg, |text| What::Queued { actor: to, from, message, text });
            }
            TraceEvent::Drop { to, from, reason, msg } => {
                let message = self.take_arrival(to);
                self.push_with_text(at, msg, |text| What::Dropped { actor: to, from, reason, message, text });
            }
            TraceEvent::Response { to, request, kind } => {
                let message = self.take_arrival(to);
                self.push_with_text(at, &request, |text| What::Turn {
                    actor: to,
                    from: ActorId::EXTERNAL,
                    cause: TurnCause::Response(kind),
                    message,
                    text,
                });
            }
            TraceEvent::LateReply { to, .. } => {
                let message = self.take_arrival(to);
                self.push(at, What::LateReply { actor: to, message });
            }
            TraceEvent::Timer { owner, timer } => self.push(
                at,
                What::Turn {
                    actor: owner,
                    from: ActorId::EXTERNAL,
                    cause: TurnCause::Timer(timer),
                    message: None,
                    text: Default::default(),
                },
            ),
            TraceEvent::Spawn { parent, child, node, label } => self.spawn(Spawned { at, parent, child, node, label }),
            TraceEvent::Stop { actor, reason } => self.push(at, What::Stopped { actor, reason }),
            TraceEvent::Signal { to, signal } => self.push(
                at,
                What::Turn {
                    actor: to,
                    from: ActorId::EXTERNAL,
                    cause: TurnCause::Signal(signal),
                    message: None,
                    text: Default::default(),
                },
            ),
            TraceEvent::Resume { actor, kind } => self.push(at, What::Resumed { actor, kind }),
        }
    }

    /// A delivery of `message` to `to` is being dispatched.
    pub(crate) fn arriving(&mut self, message: Option<(MessageId, ActorId)>) {
        self.arriving = message;
    }

    /// The id of the message arriving at `actor`, once: the first record
    /// about the receiver of the delivery being dispatched takes it.
    pub(crate) fn take_arrival(&mut self, actor: ActorId) -> Option<MessageId> {
        match self.arriving {
            Some((message, to)) if to == actor => {
                self.arriving = None;
                Some(message)
            }
            _ => None,
        }
    }

    /// Format `value` into the arena, cut at [`MAX_TEXT_BYTES`].
    fn store_text(&mut self, value: &dyn Debug) -> TextRef {
        if self.texts.len() >= MAX_ARENA_BYTES {
            return TextRef::default();
        }
        let start = self.texts.len();
        let mut out = Bounded { out: &mut self.texts, left: MAX_TEXT_BYTES, cut: false };
        let _ = write!(out, "{value:?}");
        if out.cut {
            self.texts.push('…');
        }
        TextRef { start: start as u32, len: (self.texts.len() - start) as u32 }
    }
}

/// A writer that keeps the first `left` bytes (on a character boundary)
/// and drops the rest, so a huge message costs no more than a short one.
struct Bounded<'a> {
    out: &'a mut String,
    left: usize,
    cut: bool,
}

impl fmt::Write for Bounded<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if s.len() <= self.left {
            self.out.push_str(s);
            self.left -= s.len();
            return Ok(());
        }
        let mut end = self.left;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.out.push_str(&s[..end]);
        self.left = 0;
        self.cut = true;
        // An error would stop the formatting early: the rest is not wanted.
        Err(fmt::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(text: TextRef) -> What {
        What::Turn { actor: ActorId::EXTERNAL, from: ActorId::EXTERNAL, cause: TurnCause::Message, message: None, text }
    }

    #[test]
    fn keeps_records_up_to_its_limit_and_says_where_it_stopped() {
        let mut log = ActivityLog::new(2);
        for at in [5, 6, 7, 8] {
            log.push(at, What::Buggify { site: at });
        }
        assert_eq!(log.records().len(), 2);
        assert_eq!(log.omitted(), 2);
        assert_eq!(log.complete_until(), Some(7));
    }

    #[test]
    fn texts_are_cut_at_the_bound_on_a_character_boundary() {
        let mut log = ActivityLog::new(10);
        log.push_with_text(1, &"short", turn);
        let long = "é".repeat(MAX_TEXT_BYTES);
        log.push_with_text(2, &long, turn);
        let text = |i: usize| match log.records()[i].what {
            What::Turn { text, .. } => log.text(text).to_owned(),
            _ => unreachable!(),
        };
        assert_eq!(text(0), "\"short\"");
        let cut = text(1);
        assert!(cut.ends_with('…') && cut.len() <= MAX_TEXT_BYTES + '…'.len_utf8(), "{cut}");
    }

    #[test]
    fn an_arrival_is_taken_once_and_only_by_its_receiver() {
        let mut log = ActivityLog::new(10);
        let (a, b) = (ActorId::EXTERNAL, {
            // Any id other than EXTERNAL: a spawned actor's.
            let mut sim: crate::Sim<Idle, crate::EmptyWorld> = crate::SimBuilder::new().build(crate::EmptyWorld);
            sim.spawn(NodeId(0), Idle)
        });
        log.arriving(Some((42, b)));
        assert_eq!(log.take_arrival(a), None);
        assert_eq!(log.take_arrival(b), Some(42));
        assert_eq!(log.take_arrival(b), None);
    }

    #[derive(Debug)]
    struct Idle;
    impl rehearsal_runtime::Actor for Idle {
        type Msg = ();
        fn handle(&mut self, _: (), _: &mut rehearsal_runtime::Ctx<'_, Self>) {}
    }
}
