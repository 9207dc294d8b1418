//! The Chrome trace-event format, as much of it as the export uses: events
//! (`X` spans, `i` instants, `s`/`f` flows), the tracks they sit on (a
//! process per node with a thread per actor; processes for the world and
//! the services with a thread per lane), their `M` name events, and the
//! writer.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::io::Write as _;

use rehearsal_runtime::{ActorId, Nanos, NodeId};
use rustc_hash::FxHashMap;

use crate::trace_export::Recording;

/// Where an event is drawn.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Track {
    /// An actor's handler turns and what happens to its messages.
    Actor(ActorId),
    /// One lane of client requests (overlapping requests take several).
    Requests(u32),
    /// One lane of a service's calls.
    Service { service: u16, lane: u32 },
    /// Faults: crashes, partitions, clogs, brownouts.
    Faults,
    /// BUGGIFY fault points that fired.
    Buggify,
}

/// An event's kind (`ph`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// `X`: a span of `dur`.
    Complete { dur: Nanos },
    /// `i`, on its thread.
    Instant,
    /// `s`: a flow leaves the slice it is in.
    FlowStart,
    /// `f` (bound to the enclosing slice): a flow arrives.
    FlowEnd,
}

/// A value in an event's `args`.
#[derive(Clone, Debug)]
pub(super) enum Arg<'a> {
    Text(Cow<'a, str>),
    Int(u64),
    /// Nanoseconds, written as milliseconds.
    Ms(Nanos),
}

/// One event, before it is placed on a process and thread.
#[derive(Clone, Debug)]
pub(super) struct Ev<'a> {
    pub phase: Phase,
    pub ts: Nanos,
    pub track: Track,
    pub name: Cow<'a, str>,
    pub cat: &'static str,
    /// A flow's id (`s` and `f` of one flow share it).
    pub id: u64,
    pub args: Vec<(&'static str, Arg<'a>)>,
}

impl<'a> Ev<'a> {
    pub fn span(ts: Nanos, dur: Nanos, track: Track, name: impl Into<Cow<'a, str>>, cat: &'static str) -> Self {
        Ev { phase: Phase::Complete { dur }, ts, track, name: name.into(), cat, id: 0, args: Vec::new() }
    }

    pub fn instant(ts: Nanos, track: Track, name: impl Into<Cow<'a, str>>, cat: &'static str) -> Self {
        Ev { phase: Phase::Instant, ts, track, name: name.into(), cat, id: 0, args: Vec::new() }
    }

    /// A flow's two ends: from `from` at `from_ts` to `to` at `to_ts`.
    pub fn flow(id: u64, cat: &'static str, from: (Nanos, Track), to: (Nanos, Track)) -> (Self, Self) {
        // Perfetto joins the two ends by (id, cat, name): they share all three.
        let end = |phase, (ts, track)| Ev { phase, ts, track, name: Cow::Borrowed(cat), cat, id, args: Vec::new() };
        (end(Phase::FlowStart, from), end(Phase::FlowEnd, to))
    }

    pub fn arg(mut self, key: &'static str, value: Arg<'a>) -> Self {
        self.args.push((key, value));
        self
    }

    pub fn text(self, key: &'static str, value: impl Into<Cow<'a, str>>) -> Self {
        self.arg(key, Arg::Text(value.into()))
    }
}

/// Process and thread ids for tracks, given out as tracks are first used
/// (so the numbering is the same on every export of a run), and the `M`
/// events that name them.
///
/// Ids start at 1 (Perfetto reads a thread id of 0 as "none"), and thread
/// ids start above every process id, so no thread is taken for a
/// process's main thread.
#[derive(Debug)]
pub(super) struct Tracks {
    /// Each actor's node and its place in spawn order.
    actors: FxHashMap<ActorId, (NodeId, u32)>,
    node_count: u32,
    ids: FxHashMap<Track, u32>,
    /// Tracks in the order they got their thread id.
    used: Vec<(Track, u32, u32)>,
    next_tid: u32,
}

impl Tracks {
    pub fn new(rec: &Recording) -> Tracks {
        let spawns = rec.activity.spawns();
        let actors: FxHashMap<_, _> = spawns.iter().enumerate().map(|(i, s)| (s.child, (s.node, i as u32))).collect();
        let max_node = spawns.iter().map(|s| u32::from(s.node.0) + 1).max().unwrap_or(0);
        let node_count = rec.nodes.max(max_node).max(1);
        Tracks { actors, node_count, ids: FxHashMap::default(), used: Vec::new(), next_tid: node_count + 10 }
    }

    fn world_pid(&self) -> u32 {
        1
    }

    fn node_pid(&self, node: NodeId) -> u32 {
        2 + u32::from(node.0)
    }

    fn services_pid(&self) -> u32 {
        2 + self.node_count
    }

    /// The process of `track`; `None` for an actor the run did not record.
    fn pid(&self, track: Track) -> Option<u32> {
        Some(match track {
            Track::Actor(actor) => self.node_pid(self.actors.get(&actor)?.0),
            Track::Requests(_) | Track::Faults | Track::Buggify => self.world_pid(),
            Track::Service { .. } => self.services_pid(),
        })
    }

    /// `track`'s (process, thread), numbering it if it is new.
    pub fn ids(&mut self, track: Track) -> Option<(u32, u32)> {
        let pid = self.pid(track)?;
        let tid = match self.ids.get(&track) {
            Some(&tid) => tid,
            None => {
                let tid = self.next_tid;
                self.next_tid += 1;
                self.ids.insert(track, tid);
                self.used.push((track, pid, tid));
                tid
            }
        };
        Some((pid, tid))
    }

    /// Name and order every process and thread that was used.
    pub fn write_metadata(&self, rec: &Recording, out: &mut JsonOut) {
        let pids: BTreeSet<u32> = self.used.iter().map(|&(_, pid, _)| pid).collect();
        for pid in pids {
            let (name, order) = if pid == self.world_pid() {
                (Cow::Borrowed("world"), 0)
            } else if pid == self.services_pid() {
                (Cow::Borrowed("services"), u64::from(pid))
            } else {
                (Cow::Owned(format!("node {}", pid - 2)), u64::from(pid))
            };
            out.metadata("process_name", pid, None, Arg::Text(name));
            out.metadata("process_sort_index", pid, None, Arg::Int(order));
        }
        for &(track, pid, tid) in &self.used {
            let (name, order) = self.thread_name(rec, track);
            out.metadata("thread_name", pid, Some(tid), Arg::Text(name));
            out.metadata("thread_sort_index", pid, Some(tid), Arg::Int(order));
        }
    }

    /// A thread's name and its place within its process.
    fn thread_name<'r>(&self, rec: &'r Recording, track: Track) -> (Cow<'r, str>, u64) {
        let lane_suffix = |lane: u32| if lane == 0 { String::new() } else { format!(" lane {}", lane + 1) };
        match track {
            Track::Actor(actor) => {
                (rec.names.actor(actor), self.actors.get(&actor).map_or(0, |&(_, order)| u64::from(order)))
            }
            Track::Faults => (Cow::Borrowed("faults"), 0),
            Track::Buggify => (Cow::Borrowed("BUGGIFY"), 1),
            Track::Requests(lane) => (Cow::Owned(format!("requests{}", lane_suffix(lane))), 2 + u64::from(lane)),
            Track::Service { service, lane } => (
                Cow::Owned(format!("{}{}", rec.names.service(service), lane_suffix(lane))),
                (u64::from(service) << 32) | u64::from(lane),
            ),
        }
    }
}

/// The JSON being written: the `traceEvents` array, then the rest.
#[derive(Debug)]
pub(super) struct JsonOut {
    buf: Vec<u8>,
    first: bool,
}

impl JsonOut {
    pub fn new() -> JsonOut {
        let mut buf = Vec::with_capacity(1 << 16);
        buf.extend_from_slice(b"{\"traceEvents\":[");
        JsonOut { buf, first: true }
    }

    fn begin_event(&mut self) {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        self.buf.push(b'\n');
    }

    /// One event on process `pid`, thread `tid`.
    pub fn event(&mut self, ev: &Ev<'_>, pid: u32, tid: u32) {
        self.begin_event();
        self.buf.extend_from_slice(b"{\"name\":");
        self.string(&ev.name);
        self.buf.extend_from_slice(b",\"cat\":");
        self.string(ev.cat);
        let ph = match ev.phase {
            Phase::Complete { .. } => "X",
            Phase::Instant => "i",
            Phase::FlowStart => "s",
            Phase::FlowEnd => "f",
        };
        let _ = write!(self.buf, ",\"ph\":\"{ph}\",\"ts\":");
        write_us(&mut self.buf, ev.ts);
        match ev.phase {
            Phase::Complete { dur } => {
                self.buf.extend_from_slice(b",\"dur\":");
                write_us(&mut self.buf, dur);
            }
            Phase::Instant => self.buf.extend_from_slice(b",\"s\":\"t\""),
            Phase::FlowStart => {
                let _ = write!(self.buf, ",\"id\":{}", ev.id);
            }
            Phase::FlowEnd => {
                let _ = write!(self.buf, ",\"id\":{},\"bp\":\"e\"", ev.id);
            }
        }
        let _ = write!(self.buf, ",\"pid\":{pid},\"tid\":{tid}");
        if !ev.args.is_empty() {
            self.buf.extend_from_slice(b",\"args\":{");
            for (i, (key, value)) in ev.args.iter().enumerate() {
                if i > 0 {
                    self.buf.push(b',');
                }
                self.string(key);
                self.buf.push(b':');
                self.arg(value);
            }
            self.buf.push(b'}');
        }
        self.buf.push(b'}');
    }

    /// An `M` event: `name` (`process_name`, `thread_sort_index`, ...)
    /// with its one argument.
    pub fn metadata(&mut self, name: &str, pid: u32, tid: Option<u32>, value: Arg<'_>) {
        self.begin_event();
        self.buf.extend_from_slice(b"{\"name\":");
        self.string(name);
        let _ = write!(self.buf, ",\"ph\":\"M\",\"pid\":{pid}");
        if let Some(tid) = tid {
            let _ = write!(self.buf, ",\"tid\":{tid}");
        }
        let key = if name.ends_with("_name") { "name" } else { "sort_index" };
        let _ = write!(self.buf, ",\"args\":{{\"{key}\":");
        self.arg(&value);
        self.buf.extend_from_slice(b"}}");
    }

    /// Close the events and add the top-level keys: `metadata` says which
    /// run this is and whether it was cut.
    pub fn finish(mut self, metadata: &serde_json::Value) -> Vec<u8> {
        self.buf.extend_from_slice(b"\n],\n\"displayTimeUnit\":\"ms\",\n\"metadata\":");
        let _ = serde_json::to_writer(&mut self.buf, metadata);
        self.buf.extend_from_slice(b"\n}\n");
        self.buf
    }

    fn string(&mut self, s: &str) {
        // serde_json escapes exactly as JSON requires (quotes, control
        // characters), and writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.buf, s);
    }

    fn arg(&mut self, value: &Arg<'_>) {
        match value {
            Arg::Text(s) => self.string(s),
            Arg::Int(n) => {
                let _ = write!(self.buf, "{n}");
            }
            Arg::Ms(ns) => {
                let _ = write!(self.buf, "{}.{:06}", ns / 1_000_000, ns % 1_000_000);
            }
        }
    }
}

/// Nanoseconds as the format's microseconds, exactly (integer arithmetic:
/// no float formatting, the same bytes on every machine).
fn write_us(buf: &mut Vec<u8>, ns: Nanos) {
    let _ = write!(buf, "{}.{:03}", ns / 1_000, ns % 1_000);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microseconds_are_exact() {
        let us = |ns| {
            let mut b = Vec::new();
            write_us(&mut b, ns);
            String::from_utf8(b).unwrap()
        };
        assert_eq!(us(0), "0.000");
        assert_eq!(us(40_250_677), "40250.677");
        assert_eq!(us(u64::MAX), "18446744073709551.615");
    }

    #[test]
    fn events_are_valid_json_with_the_fields_of_their_phase() {
        let mut out = JsonOut::new();
        let span = Ev::span(1_500, 2_000, Track::Faults, "a \"quoted\"\nname", "call")
            .arg("n", Arg::Int(3))
            .arg("wait", Arg::Ms(1_234_567))
            .text("who", "agent 1");
        out.event(&span, 1, 20);
        let (s, f) = Ev::flow(7, "message", (1_500, Track::Faults), (2_000, Track::Buggify));
        out.event(&s, 1, 20);
        out.event(&f, 1, 21);
        out.event(&Ev::instant(9, Track::Faults, "crash", "fault"), 1, 20);
        out.metadata("thread_name", 1, Some(20), Arg::Text("faults".into()));
        let json: serde_json::Value =
            serde_json::from_slice(&out.finish(&serde_json::json!({"seed": 1}))).expect("valid JSON");
        let events = json["traceEvents"].as_array().unwrap();
        assert_eq!(events.len(), 5);
        assert_eq!(events[0]["ph"], "X");
        assert_eq!(events[0]["name"], "a \"quoted\"\nname");
        assert_eq!(events[0]["dur"], 2.0);
        assert_eq!(events[0]["args"]["wait"], 1.234567);
        assert_eq!((events[1]["ph"].as_str(), events[2]["ph"].as_str()), (Some("s"), Some("f")));
        assert_eq!(events[1]["id"], events[2]["id"]);
        assert_eq!(events[2]["bp"], "e");
        assert_eq!(events[3]["s"], "t");
        assert_eq!(events[4]["args"]["name"], "faults");
        assert_eq!(json["displayTimeUnit"], "ms");
        assert_eq!(json["metadata"]["seed"], 1);
    }
}
