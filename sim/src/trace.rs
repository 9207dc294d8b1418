//! The run's trace: every event that matters is folded into a running
//! 64-bit hash (`trace_hash`); optionally each event is also recorded as
//! text, so that two runs can be compared event by event.

use std::fmt;
use std::hash::{Hash, Hasher};

use rehearsal_runtime::Nanos;

/// Kinds of traced event; the code is folded into the hash.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TraceKind {
    Send = 1,
    Deliver,
    Enqueue,
    Drop,
    Response,
    LateReply,
    Timer,
    Spawn,
    Stop,
    NetworkDrop,
    ServiceCall,
    ServiceDone,
    World,
    Fault,
    Signal,
    Resume,
    /// A message held on a clogged link.
    NetworkHold,
    /// A held message leaves its unclogged link.
    NetworkRelease,
    /// The network delivers a second copy of a message.
    NetworkDuplicate,
    /// A service call is cancelled: its caller timed out, cancelled it
    /// or died.
    ServiceCancel,
}

const K: u64 = 0x517c_c1b7_2722_0a95;

/// What a run's trace keeps beyond the running hash.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum TraceMode {
    /// The hash only (the fast default).
    #[default]
    Hash,
    /// Every event's text (memory grows with the run).
    Record,
    /// The hash after every `every` events: a determinism check compares
    /// two runs' checkpoints in constant memory per event.
    Checkpoints { every: u64 },
    /// The text of the events with index in `[from, to)` only: where two
    /// runs' checkpoints first differ.
    Window { from: u64, to: u64 },
}

/// The running hash, plus an optional event-by-event record.
#[derive(Debug, Default)]
pub struct Trace {
    hash: u64,
    events: u64,
    record: Option<Box<Recorder>>,
}

/// What a trace keeps beyond its hash (see [`TraceMode`]).
#[derive(Debug, Default)]
struct Recorder {
    records: Vec<TraceRecord>,
    /// Record the text of events with index in `[from, to)`.
    from: u64,
    to: u64,
    /// Keep the hash after every `every` events (0: never).
    every: u64,
    checkpoints: Vec<u64>,
}

/// One recorded event: its position, time and a description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceRecord {
    pub index: u64,
    pub time: Nanos,
    pub hash: u64,
    pub text: String,
}

impl fmt::Display for TraceRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} at t={}: {}", self.index, crate::fmt_nanos(self.time), self.text)
    }
}

impl Trace {
    /// A trace that also records every event's text (for determinism checks
    /// and replays; slower, and memory grows with the run).
    pub fn recording() -> Trace {
        Trace::new(TraceMode::Record)
    }

    /// A trace in `mode`.
    pub fn new(mode: TraceMode) -> Trace {
        let recorder = |from, to, every| Some(Box::new(Recorder { from, to, every, ..Recorder::default() }));
        let record = match mode {
            TraceMode::Hash => None,
            TraceMode::Record => recorder(0, u64::MAX, 0),
            TraceMode::Checkpoints { every } => recorder(0, 0, every.max(1)),
            TraceMode::Window { from, to } => recorder(from, to, 0),
        };
        Trace { record, ..Trace::default() }
    }

    /// The hash after every `every` events so far (checkpoint mode).
    pub fn take_checkpoints(&mut self) -> Vec<u64> {
        self.record.as_mut().map(|r| std::mem::take(&mut r.checkpoints)).unwrap_or_default()
    }

    /// The hash of everything traced so far.
    #[inline]
    pub fn hash(&self) -> u64 {
        fmix64(self.hash ^ self.events)
    }

    /// Events traced so far.
    pub fn len(&self) -> u64 {
        self.events
    }

    pub fn is_empty(&self) -> bool {
        self.events == 0
    }

    pub fn is_recording(&self) -> bool {
        self.record.is_some()
    }

    /// The recorded events (empty unless recording).
    pub fn records(&self) -> &[TraceRecord] {
        self.record.as_deref().map_or(&[], |r| &r.records)
    }

    pub fn take_records(&mut self) -> Vec<TraceRecord> {
        self.record.as_mut().map(|r| std::mem::take(&mut r.records)).unwrap_or_default()
    }

    #[inline]
    fn word(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(5) ^ w).wrapping_mul(K);
    }

    /// Fold one event: its kind, time, two identifying words and a payload
    /// that is hashed through [`Hash`]. `describe` is called only when
    /// recording.
    ///
    /// The fields are first combined with independent multiplies (which the
    /// CPU runs in parallel), then folded into the running hash with one
    /// dependent multiply: a chain of one multiply per word would make the
    /// trace the slowest part of the event loop.
    #[inline(always)]
    pub fn event<P: Hash + ?Sized>(
        &mut self,
        kind: TraceKind,
        time: Nanos,
        a: u64,
        b: u64,
        payload: &P,
        describe: impl FnOnce() -> String,
    ) {
        let mut payload_hash = PayloadHasher(kind as u64);
        payload.hash(&mut payload_hash);
        let fields = time.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ a.wrapping_mul(0xC2B2_AE3D_27D4_EB4F).rotate_left(17)
            ^ b.wrapping_mul(0x1656_67B1_9E37_79F9).rotate_left(41)
            ^ payload_hash.0;
        self.word(fields);
        self.events += 1;
        if let Some(r) = self.record.as_mut() {
            let index = self.events - 1;
            if (r.from..r.to).contains(&index) {
                let hash = fmix64(self.hash);
                r.records.push(TraceRecord { index, time, hash, text: describe() });
            }
            if r.every > 0 && self.events % r.every == 0 {
                r.checkpoints.push(fmix64(self.hash ^ self.events));
            }
        }
    }
}

/// Hashes an event's payload (Fx-style: rotate, xor, multiply per word).
struct PayloadHasher(u64);

impl PayloadHasher {
    #[inline]
    fn word(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
    }
}

impl Hasher for PayloadHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.word(u64::from_le_bytes(buf));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.word(i as u64);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.word(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.word(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.word(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.word(i as u64);
    }
}

/// MurmurHash3's 64-bit finaliser: every input bit affects every output bit.
#[inline]
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// Where two recorded runs of the same seed first differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// Index of the first differing event.
    pub index: u64,
    /// That event in the first run (`None`: the run had ended).
    pub first: Option<TraceRecord>,
    /// That event in the second run.
    pub second: Option<TraceRecord>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "runs diverge at event #{}", self.index)?;
        let show = |r: &Option<TraceRecord>| match r {
            Some(r) => r.to_string(),
            None => "(run had ended)".to_string(),
        };
        writeln!(f, "  first run:  {}", show(&self.first))?;
        write!(f, "  second run: {}", show(&self.second))
    }
}

/// The first event where two recordings differ, if any.
pub fn first_divergence(first: &[TraceRecord], second: &[TraceRecord]) -> Option<Divergence> {
    let n = first.len().max(second.len());
    (0..n).find(|&i| first.get(i) != second.get(i)).map(|i| Divergence {
        index: i as u64,
        first: first.get(i).cloned(),
        second: second.get(i).cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_and_windows() {
        let feed = |t: &mut Trace| {
            for i in 0..10u64 {
                t.event(TraceKind::Send, i, i, 0, &(), || format!("e{i}"));
            }
        };
        let mut all = Trace::recording();
        feed(&mut all);
        let mut cp = Trace::new(TraceMode::Checkpoints { every: 4 });
        feed(&mut cp);
        assert_eq!(cp.take_checkpoints().len(), 2, "after events 4 and 8");
        assert!(cp.records().is_empty());
        assert_eq!(cp.hash(), all.hash(), "keeping more never changes the hash");
        let mut w = Trace::new(TraceMode::Window { from: 3, to: 5 });
        feed(&mut w);
        assert_eq!(w.records(), &all.records()[3..5]);
    }

    #[test]
    fn hash_depends_on_every_field_and_on_order() {
        let h = |events: &[(TraceKind, u64, u64, u64, u32)]| {
            let mut t = Trace::default();
            for &(k, time, a, b, p) in events {
                t.event(k, time, a, b, &p, String::new);
            }
            t.hash()
        };
        let base = [(TraceKind::Send, 1, 2, 3, 4), (TraceKind::Deliver, 5, 6, 7, 8)];
        let reordered = [base[1], base[0]];
        assert_ne!(h(&base), h(&reordered));
        for i in 0..5 {
            let mut changed = base;
            let e = &mut changed[0];
            match i {
                0 => e.0 = TraceKind::Drop,
                1 => e.1 += 1,
                2 => e.2 += 1,
                3 => e.3 += 1,
                _ => e.4 += 1,
            }
            assert_ne!(h(&base), h(&changed), "field {i} not folded");
        }
        assert_ne!(h(&base), h(&base[..1]));
    }

    #[test]
    fn divergence_names_the_first_differing_event() {
        let rec = |i: u64, text: &str| TraceRecord { index: i, time: i, hash: 0, text: text.into() };
        let a = vec![rec(0, "x"), rec(1, "y"), rec(2, "z")];
        let b = vec![rec(0, "x"), rec(1, "Y")];
        let d = first_divergence(&a, &b).unwrap();
        assert_eq!(d.index, 1);
        assert_eq!(d.second.unwrap().text, "Y");
        assert_eq!(first_divergence(&a, &a), None);
        assert_eq!(first_divergence(&a, &a[..2]).unwrap().second, None);
    }
}
