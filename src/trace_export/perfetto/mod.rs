//! A run as Chrome trace-event JSON, the format ui.perfetto.dev and
//! chrome://tracing open (`run --perfetto FILE`; the layout is described
//! in `docs/perfetto.md`).
//!
//! Bounded: at most [`MAX_EVENTS`] events (plus the `M` events naming
//! their tracks). A run with more is cut at a moment of simulated time,
//! so what the file shows before that moment is complete; the file's
//! `metadata` says where and how much was left out.

use rehearsal_runtime::Nanos;
use serde_json::json;

use super::Recording;

mod events;
mod json;

use events::Sink;
use json::{Ev, JsonOut, Phase, Track, Tracks};

/// The most events a file holds (a file of this many is a few hundred
/// megabytes; the Perfetto UI opens it).
pub const MAX_EVENTS: usize = 2_000_000;

/// A run written as trace-event JSON.
#[derive(Debug)]
pub struct ChromeTrace {
    pub json: Vec<u8>,
    /// Events written (not counting the `M` events naming tracks).
    pub events: usize,
    /// Where the file stops, if it does before the run's end.
    pub truncated: Option<Truncation>,
}

/// How a file was cut.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Truncation {
    /// Simulated time from which nothing is shown.
    pub at_ns: Nanos,
    /// Events generated but not written, plus records the run did not keep.
    pub omitted: u64,
}

/// Write `rec` as trace-event JSON, with at most `max_events` events.
pub fn chrome_trace(rec: &Recording, max_events: usize) -> ChromeTrace {
    // The kernel's record may itself be cut: nothing at or after its cut
    // is complete, so the ledger's spans stop there too.
    let mut cutoff = rec.activity.complete_until().unwrap_or(Nanos::MAX);
    if upper_bound(rec) > max_events {
        let mut counter = Counter { cutoff, times: Vec::new() };
        events::generate(rec, &mut counter);
        cutoff = cutoff.min(counter.cutoff_for(max_events));
    }
    let mut writer = Writer { cutoff, tracks: Tracks::new(rec), out: JsonOut::new(), written: 0, skipped: 0 };
    events::generate(rec, &mut writer);
    let truncated =
        (cutoff != Nanos::MAX).then(|| Truncation { at_ns: cutoff, omitted: writer.skipped + rec.activity.omitted() });
    if let Some(t) = truncated {
        // Say so on the timeline too, where the cut is.
        let ev = Ev::instant(t.at_ns, Track::Faults, "trace truncated here", "rehearsal");
        if let Some((pid, tid)) = writer.tracks.ids(ev.track) {
            writer.out.event(&ev, pid, tid);
        }
    }
    let events = writer.written;
    let Writer { tracks, mut out, .. } = writer;
    tracks.write_metadata(rec, &mut out);
    let json = out.finish(&metadata(rec, events, max_events, truncated));
    ChromeTrace { json, events, truncated }
}

/// The file's `metadata`: which run, and whether it was cut.
fn metadata(rec: &Recording, events: usize, max_events: usize, truncated: Option<Truncation>) -> serde_json::Value {
    let about = &rec.about;
    json!({
        "generator": "rehearsal",
        "scenario": about.scenario,
        "seed": about.seed,
        "strategy": about.strategy,
        "trace_hash": about.trace_hash,
        "sim_end_ms": rec.end_ns as f64 / 1e6,
        "events": events,
        "max_events": max_events,
        "truncated": truncated.is_some(),
        "truncated_at_ms": truncated.map(|t| t.at_ns as f64 / 1e6),
        "events_omitted": truncated.map_or(0, |t| t.omitted),
    })
}

/// At least as many events as the generator makes: records make at most
/// three (a turn and a flow's two ends), requests one, calls five.
fn upper_bound(rec: &Recording) -> usize {
    let a = &rec.activity;
    a.records().len() * 3
        + a.spawns().len()
        + rec.ledger.entries().len()
        + rec.ledger.spans().len() * 5
        + rec.world_faults.len()
}

/// The first pass: the time of every event that may be written.
struct Counter {
    cutoff: Nanos,
    times: Vec<Nanos>,
}

impl Counter {
    /// The earliest time such that fewer than `max` events come before it.
    fn cutoff_for(mut self, max: usize) -> Nanos {
        if self.times.len() <= max {
            return Nanos::MAX;
        }
        self.times.sort_unstable();
        self.times[max]
    }
}

impl Sink<'_> for Counter {
    fn event(&mut self, ev: Ev<'_>) {
        if ev.ts < self.cutoff {
            self.times.push(ev.ts);
        }
    }

    fn flow(&mut self, start: Ev<'_>, end: Ev<'_>) {
        // A flow is written whole or not at all, by its end's time.
        let at = start.ts.max(end.ts);
        if at < self.cutoff {
            self.times.extend([at, at]);
        }
    }
}

/// The second pass: every event before the cutoff, as JSON.
struct Writer {
    cutoff: Nanos,
    tracks: Tracks,
    out: JsonOut,
    written: usize,
    skipped: u64,
}

impl Writer {
    fn write(&mut self, ev: &Ev<'_>) {
        match self.tracks.ids(ev.track) {
            Some((pid, tid)) => {
                self.out.event(ev, pid, tid);
                self.written += 1;
            }
            None => self.skipped += 1,
        }
    }
}

impl Sink<'_> for Writer {
    fn event(&mut self, ev: Ev<'_>) {
        if ev.ts < self.cutoff {
            self.write(&ev);
        } else {
            self.skipped += 1;
        }
    }

    fn flow(&mut self, start: Ev<'_>, end: Ev<'_>) {
        debug_assert!(matches!((start.phase, end.phase), (Phase::FlowStart, Phase::FlowEnd)));
        let placed = self.tracks.ids(start.track).is_some() && self.tracks.ids(end.track).is_some();
        if placed && start.ts.max(end.ts) < self.cutoff {
            self.write(&start);
            self.write(&end);
        } else {
            self.skipped += 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_leaves_at_most_the_cap_before_it() {
        let counter = |times: &[Nanos]| Counter { cutoff: Nanos::MAX, times: times.to_vec() };
        assert_eq!(counter(&[5, 1, 3]).cutoff_for(3), Nanos::MAX, "under the cap: no cut");
        assert_eq!(counter(&[5, 1, 3, 3, 9]).cutoff_for(2), 3, "ties at the cut go with it");
        assert_eq!(counter(&[5, 1, 3, 3, 9]).cutoff_for(4), 9);
        assert_eq!(counter(&[2, 2, 2]).cutoff_for(1), 2, "nothing before the first instant");
    }
}
