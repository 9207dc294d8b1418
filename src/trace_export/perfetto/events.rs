//! A recording as trace events: each kind of record drawn the way a
//! person reading a timeline expects (see `docs/perfetto.md`).
//!
//! The generator is run once to count (when the run may be over the cap)
//! and once to write, through a [`Sink`]; both runs see the same events in
//! the same order.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use rehearsal_runtime::{ActorId, DropReason, ExitReason, FailureKind, Nanos, ResponseKind, Signal};
use rehearsal_sim::Fault;
use rehearsal_sim::activity::{MessageId, TextRef, TurnCause, What};
use rehearsal_sim::net::LossReason;
use rustc_hash::FxHashMap;

use super::json::{Arg, Ev, Track};
use crate::ledger::{Outcome, Span, SpanStatus};
use crate::trace_export::Recording;

/// Where the generated events go.
pub(super) trait Sink<'r> {
    fn event(&mut self, ev: Ev<'r>);
    /// A flow's two ends, kept or dropped together.
    fn flow(&mut self, start: Ev<'r>, end: Ev<'r>);
}

/// Zero-length slices at the same instant on one track stack on top of
/// each other in Perfetto, which refuses to go deeper than 512: past this
/// many on one track at one instant, further ones are left out (their
/// flows still land on the track).
const MAX_STACKED: u32 = 64;

/// Flow ids of service calls start here, apart from messages' (the
/// kernel's sequence numbers, far below); requests' further up.
const CALL_FLOW_IDS: u64 = 1 << 48;
const REQUEST_FLOW_IDS: u64 = 1 << 50;

/// Generate every event of `rec` into `sink`.
pub(super) fn generate<'r>(rec: &'r Recording, sink: &mut impl Sink<'r>) {
    let mut g = Generator::new(rec);
    g.spawns(sink);
    g.activity(sink);
    g.requests(sink);
    g.calls(sink);
    for (at, what) in &rec.world_faults {
        sink.event(Ev::instant(*at, Track::Faults, what.as_str(), "fault"));
    }
}

struct Generator<'r> {
    rec: &'r Recording,
    /// Each message's send: when and by whom.
    sends: FxHashMap<MessageId, (Nanos, ActorId)>,
    /// Each client request's message into the actors, and where and when
    /// it was handled.
    inbound: FxHashMap<u64, (Nanos, ActorId)>,
    /// Each client request's first answer: when and by whom.
    outbound: FxHashMap<u64, (Nanos, ActorId)>,
    /// Per track, the instant of its latest zero-length slices and how
    /// many there are.
    stacked: FxHashMap<Track, (Nanos, u32)>,
}

impl<'r> Generator<'r> {
    fn new(rec: &'r Recording) -> Self {
        let records = rec.activity.records();
        let mut sends = FxHashMap::default();
        let mut requests_by_message = FxHashMap::default();
        let mut outbound = FxHashMap::default();
        for r in records {
            match r.what {
                What::Send { from, message, .. } => {
                    sends.insert(message, (r.at, from));
                }
                What::Inbound { message, request: Some(request), .. } => {
                    requests_by_message.insert(message, request);
                }
                What::Outbound { from, request } => {
                    outbound.entry(request).or_insert((r.at, from));
                }
                _ => {}
            }
        }
        let mut inbound = FxHashMap::default();
        for r in records {
            if let What::Turn { actor, message: Some(message), .. } = r.what
                && let Some(&request) = requests_by_message.get(&message)
            {
                inbound.insert(request, (r.at, actor));
            }
        }
        Generator { rec, sends, inbound, outbound, stacked: FxHashMap::default() }
    }

    fn text(&self, text: TextRef) -> &'r str {
        self.rec.activity.text(text)
    }

    /// Whether another zero-length slice fits on `track` at `at`.
    fn room(&mut self, track: Track, at: Nanos) -> bool {
        let entry = self.stacked.entry(track).or_insert((at, 0));
        if entry.0 != at {
            *entry = (at, 0);
        }
        entry.1 += 1;
        entry.1 <= MAX_STACKED
    }

    /// A zero-length slice (a turn or an instant), if it fits.
    fn point(&mut self, sink: &mut impl Sink<'r>, ev: Ev<'r>) {
        if self.room(ev.track, ev.ts) {
            sink.event(ev);
        }
    }

    /// The arrow from `message`'s send to where it arrived.
    fn arrival(&self, sink: &mut impl Sink<'r>, message: Option<MessageId>, to: Track, at: Nanos) {
        let Some(id) = message else { return };
        let Some(&(sent_at, from)) = self.sends.get(&id) else { return };
        if from == ActorId::EXTERNAL {
            return;
        }
        let (start, end) = Ev::flow(id, "message", (sent_at, Track::Actor(from)), (at, to));
        sink.flow(start, end);
    }

    /// Each actor's start (its `on_start` turn), where its track begins.
    fn spawns(&mut self, sink: &mut impl Sink<'r>) {
        let names = &self.rec.names;
        for s in self.rec.activity.spawns() {
            let parent = if s.parent == ActorId::EXTERNAL { Cow::Borrowed("none") } else { names.actor(s.parent) };
            let ev = Ev::span(s.at, 0, Track::Actor(s.child), "start", "turn")
                .text("parent", parent)
                .arg("node", Arg::Int(u64::from(s.node.0)));
            self.point(sink, ev);
        }
    }

    fn activity(&mut self, sink: &mut impl Sink<'r>) {
        let rec = self.rec;
        let names = &rec.names;
        for r in rec.activity.records() {
            let at = r.at;
            match r.what {
                // Drawn with their arrival, or with their request.
                What::Send { .. } | What::Inbound { .. } | What::Outbound { .. } => {}
                What::Turn { actor, from, cause, message, text } => {
                    let track = Track::Actor(actor);
                    let ev = self.turn(at, track, from, cause, text);
                    self.point(sink, ev);
                    self.arrival(sink, message, track, at);
                }
                What::Queued { actor, from, message, text } => {
                    let track = Track::Actor(actor);
                    let ev = Ev::instant(at, track, format!("queued {}", variant(self.text(text))), "mailbox")
                        .text("from", names.actor(from))
                        .text("message", names.rename_text(self.text(text)));
                    self.point(sink, ev);
                    self.arrival(sink, message, track, at);
                }
                What::Dropped { actor, from, reason, message, text } => {
                    let track = Track::Actor(actor);
                    let name = format!("dropped {} ({})", variant(self.text(text)), drop_reason(reason));
                    let ev = Ev::instant(at, track, name, "mailbox")
                        .text("from", names.actor(from))
                        .text("message", names.rename_text(self.text(text)));
                    self.point(sink, ev);
                    self.arrival(sink, message, track, at);
                }
                What::LateReply { actor, message } => {
                    let track = Track::Actor(actor);
                    self.point(sink, Ev::instant(at, track, "late reply (discarded)", "reply"));
                    self.arrival(sink, message, track, at);
                }
                What::Lost { from, to, reason, text } => {
                    let name = format!("lost {} to {} ({})", variant(self.text(text)), names.actor(to), loss(reason));
                    let ev = Ev::instant(at, Track::Actor(from), name, "network")
                        .text("message", names.rename_text(self.text(text)));
                    self.point(sink, ev);
                }
                What::Held { from, to } => {
                    let name = format!("held: link to {} clogged", names.actor(to));
                    self.point(sink, Ev::instant(at, Track::Actor(from), name, "network"));
                }
                What::Stopped { actor, reason } => {
                    let cat = if reason.is_abnormal() { "crash" } else { "lifecycle" };
                    self.point(sink, Ev::instant(at, Track::Actor(actor), exit_reason(reason), cat));
                }
                What::Resumed { actor, kind } => {
                    let name = format!("resumed after {}", failure(kind));
                    self.point(sink, Ev::instant(at, Track::Actor(actor), name, "lifecycle"));
                }
                What::Fault { index } => {
                    if let Some(fault) = rec.activity.fault(index) {
                        let ev = Ev::instant(at, Track::Faults, describe_fault(fault, rec), "fault");
                        self.point(sink, ev);
                    }
                }
                What::Buggify { site } => {
                    let name = format!("BUGGIFY {}", names.site(site));
                    self.point(sink, Ev::instant(at, Track::Buggify, name, "buggify"));
                }
            }
        }
    }

    /// A handler turn: named for what it handled.
    fn turn(&self, at: Nanos, track: Track, from: ActorId, cause: TurnCause, text: TextRef) -> Ev<'r> {
        let names = &self.rec.names;
        let text = self.text(text);
        match cause {
            TurnCause::Message => Ev::span(at, 0, track, variant(text), "turn")
                .text("from", names.actor(from))
                .text("message", names.rename_text(text)),
            TurnCause::Response(kind) => Ev::span(at, 0, track, response(kind), "turn").text("request", text),
            TurnCause::Timer(timer) => Ev::span(at, 0, track, "timer", "turn").arg("timer", Arg::Int(timer.0)),
            TurnCause::Signal(signal) => Ev::span(at, 0, track, signal_name(signal), "turn")
                .text("signal", names.rename_text(&format!("{signal:?}")).into_owned()),
        }
    }

    /// Client requests, from arrival to end, on as many lanes as overlap.
    fn requests(&mut self, sink: &mut impl Sink<'r>) {
        let rec = self.rec;
        let mut lanes = Lanes::default();
        for (id, entry) in rec.ledger.entries().iter().enumerate() {
            let start = entry.arrived_at;
            let (end, name, outcome) = match entry.end() {
                Some((at, Outcome::Succeeded)) => (at, Cow::Borrowed("request ok"), Cow::Borrowed("succeeded")),
                Some((at, Outcome::Failed(cause))) => {
                    (at, Cow::Owned(format!("request failed: {}", cause.name())), Cow::Borrowed(cause.name()))
                }
                None => (rec.end_ns.max(start), Cow::Borrowed("request unfinished"), Cow::Borrowed("in flight")),
            };
            let lane = lanes.place(start, end);
            let track = Track::Requests(lane);
            let mut ev = Ev::span(start, end - start, track, name, "request")
                .arg("request", Arg::Int(id as u64))
                .text("outcome", outcome)
                .arg("latency_ms", Arg::Ms(end - start));
            if rec.request_types.len() > 1 {
                let kind = rec.request_kind(id as u64);
                let type_name = rec.request_types.get(usize::from(kind)).map_or("?", String::as_str);
                ev = ev.text("type", type_name);
            }
            sink.event(ev);
            self.request_flows(sink, id as u64, (start, track), entry.end().map(|(at, _)| at));
        }
    }

    /// Arrows from a request to the turn that took it in, and from the
    /// turn that answered it back to its end.
    fn request_flows(&self, sink: &mut impl Sink<'r>, id: u64, (start, track): (Nanos, Track), end: Option<Nanos>) {
        if let Some(&(at, actor)) = self.inbound.get(&id) {
            let (s, f) = Ev::flow(REQUEST_FLOW_IDS + 2 * id, "request", (start, track), (at, Track::Actor(actor)));
            sink.flow(s, f);
        }
        // Only an answer that ended the request lands on its span (a later
        // one finds the client gone).
        if let Some(&(at, from)) = self.outbound.get(&id)
            && end == Some(at)
        {
            let (s, f) = Ev::flow(REQUEST_FLOW_IDS + 2 * id + 1, "request", (at, Track::Actor(from)), (at, track));
            sink.flow(s, f);
        }
    }

    /// Service calls, on lanes per service: the call (named for its step)
    /// over its queue wait and its service time, with an arrow from the
    /// caller's turn.
    fn calls(&mut self, sink: &mut impl Sink<'r>) {
        let rec = self.rec;
        let mut lanes: BTreeMap<u16, Lanes> = BTreeMap::new();
        for (index, span) in rec.ledger.spans().iter().enumerate() {
            let called = span.called_at;
            let ended = span.ended_at().unwrap_or(rec.end_ns).max(called);
            let started = span.started_at().map(|s| s.clamp(called, ended));
            let lane = lanes.entry(span.service).or_default().place(called, ended);
            let track = Track::Service { service: span.service, lane };
            let step = rec.names.step(rec.request_kind(span.request), span.step);
            sink.event(self.call(span, step, track, called, started, ended));
            let id = CALL_FLOW_IDS + index as u64;
            let (start, end) = Ev::flow(id, "call", (called, Track::Actor(span.caller)), (called, track));
            sink.flow(start, end);
            let queued_until = started.unwrap_or(ended);
            if queued_until > called {
                sink.event(Ev::span(called, queued_until - called, track, "queue wait", "call"));
            }
            if let Some(started) = started.filter(|&s| s < ended) {
                sink.event(Ev::span(started, ended - started, track, "service time", "call"));
            }
        }
    }

    fn call(
        &self,
        span: &Span,
        step: Cow<'r, str>,
        track: Track,
        called: Nanos,
        started: Option<Nanos>,
        ended: Nanos,
    ) -> Ev<'r> {
        let names = &self.rec.names;
        let mut ev = Ev::span(called, ended - called, track, step, "call")
            .arg("request", Arg::Int(span.request))
            .arg("attempt", Arg::Int(u64::from(span.attempt)))
            .text("status", status(span.status))
            .text("service", names.service(span.service))
            .text("caller", names.actor(span.caller))
            .arg("queue_wait_ms", Arg::Ms(started.unwrap_or(ended) - called));
        if let Some(started) = started {
            ev = ev.arg("service_time_ms", Arg::Ms(ended - started));
        }
        if span.input_tokens > 0 || span.output_tokens > 0 {
            ev = ev
                .arg("input_tokens", Arg::Int(u64::from(span.input_tokens)))
                .arg("output_tokens", Arg::Int(u64::from(span.output_tokens)));
        }
        ev
    }
}

/// Lanes for spans that may overlap (a Perfetto thread's spans must nest):
/// each span takes the lowest-numbered lane free at its start. Spans come
/// in order of their start (the ledger's order), so this uses the fewest
/// lanes possible.
#[derive(Debug, Default)]
struct Lanes {
    /// Lanes in use, by when they free up.
    busy: BinaryHeap<Reverse<(Nanos, u32)>>,
    free: BinaryHeap<Reverse<u32>>,
    count: u32,
}

impl Lanes {
    fn place(&mut self, start: Nanos, end: Nanos) -> u32 {
        while let Some(&Reverse((until, lane))) = self.busy.peek() {
            if until > start {
                break;
            }
            self.busy.pop();
            self.free.push(Reverse(lane));
        }
        let lane = self.free.pop().map_or_else(
            || {
                self.count += 1;
                self.count - 1
            },
            |Reverse(lane)| lane,
        );
        self.busy.push(Reverse((end.max(start), lane)));
        lane
    }
}

/// A message's variant name from its text (`Work { id: 3, .. }` ->
/// `Work`): what a turn or an instant is called.
fn variant(text: &str) -> &str {
    let end = text.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(text.len());
    match &text[..end] {
        name if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) => "message",
        name => name,
    }
}

fn response(kind: ResponseKind) -> &'static str {
    match kind {
        ResponseKind::Reply => "reply",
        ResponseKind::Service => "service answer",
        ResponseKind::Timeout => "timeout",
        ResponseKind::Undeliverable => "undeliverable",
    }
}

fn signal_name(signal: Signal) -> &'static str {
    match signal {
        Signal::ChildExited { .. } => "signal: child exited",
        Signal::Down { .. } => "signal: down",
        Signal::Exit { .. } => "signal: exit",
        Signal::Shutdown => "signal: shutdown",
        Signal::Kill => "signal: kill",
    }
}

fn drop_reason(reason: DropReason) -> &'static str {
    match reason {
        DropReason::DeadReceiver => "receiver gone",
        DropReason::MailboxRejected => "mailbox full, refused",
        DropReason::MailboxDroppedNewest => "mailbox full",
        DropReason::MailboxDroppedOldest => "mailbox full, dropped as oldest",
    }
}

fn loss(reason: LossReason) -> Cow<'static, str> {
    match reason {
        LossReason::Random => Cow::Borrowed("random loss"),
        LossReason::Partition(id) => Cow::Owned(format!("partition {}", id.0)),
    }
}

fn failure(kind: FailureKind) -> String {
    format!("{kind:?}").to_ascii_lowercase()
}

fn exit_reason(reason: ExitReason) -> Cow<'static, str> {
    Cow::Borrowed(match reason {
        ExitReason::Normal => "stopped",
        ExitReason::Shutdown => "shut down",
        ExitReason::Killed => "killed",
        ExitReason::Failed(FailureKind::Crash) => "crashed",
        ExitReason::Failed(kind) => return Cow::Owned(format!("failed: {}", failure(kind))),
        ExitReason::NodeDown => "died with its node",
        ExitReason::NoProc => "no process",
    })
}

fn status(status: SpanStatus) -> &'static str {
    match status {
        SpanStatus::Open => "open",
        SpanStatus::Answered { ok: true } => "ok",
        SpanStatus::Answered { ok: false } => "error",
        SpanStatus::TimedOut => "timed out",
        SpanStatus::Cancelled => "cancelled",
    }
}

/// A fault, with names for what it hits.
fn describe_fault(fault: &Fault, rec: &Recording) -> String {
    let groups = |groups: &[Vec<rehearsal_runtime::NodeId>]| {
        groups
            .iter()
            .map(|g| g.iter().map(|n| n.0.to_string()).collect::<Vec<_>>().join(","))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    match fault {
        Fault::CrashActor(actor) => format!("crash {}", rec.names.actor(*actor)),
        Fault::CrashNamed(name) => format!("crash {}", rec.names.registered(*name)),
        Fault::CrashNode(node) => format!("crash node {}", node.0),
        Fault::RestartNode(node) => format!("restart node {}", node.0),
        Fault::RemoveNode(node) => format!("node {} out of the cluster", node.0),
        Fault::Partition { id, groups: g, one_way } => {
            let way = if *one_way { " (one way)" } else { "" };
            format!("partition {id}: nodes {}{way}", groups(g))
        }
        Fault::Heal { id } => format!("heal partition {id}"),
        Fault::ClogLink { from, to } => format!("clog link {} -> {}", from.0, to.0),
        Fault::UnclogLink { from, to } => format!("unclog link {} -> {}", from.0, to.0),
        Fault::ClogNode(node) => format!("clog node {}", node.0),
        Fault::UnclogNode(node) => format!("unclog node {}", node.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_reuse_the_lowest_free_lane_and_never_overlap() {
        let mut lanes = Lanes::default();
        let spans = [(0, 10), (2, 5), (5, 8), (6, 20), (10, 12), (12, 12), (12, 13)];
        let placed: Vec<u32> = spans.iter().map(|&(s, e)| lanes.place(s, e)).collect();
        assert_eq!(placed, [0, 1, 1, 2, 0, 0, 0]);
        for (i, &(s, e)) in spans.iter().enumerate() {
            for (j, &(s2, e2)) in spans.iter().enumerate() {
                if i < j && placed[i] == placed[j] {
                    assert!(e <= s2 || e2 <= s, "{:?} and {:?} overlap on lane {}", spans[i], spans[j], placed[i]);
                }
            }
        }
    }

    #[test]
    fn variants_name_messages() {
        assert_eq!(variant("Work { id: 3, part: 0 }"), "Work");
        assert_eq!(variant("Ping(4)"), "Ping");
        assert_eq!(variant("Cancel"), "Cancel");
        assert_eq!(variant("()"), "message");
        assert_eq!(variant("42"), "message");
        assert_eq!(variant(""), "message");
    }
}
