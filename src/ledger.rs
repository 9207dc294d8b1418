//! The request ledger: every client request recorded once, outside the
//! actors, by the world. Its intended start (arrival), its end and outcome
//! with a cause, and a span per service call made for it. Every request
//! metric of a run derives from here (and from the service models), never
//! from the actors' own structs: an agent that crashes cannot take its
//! counts with it.

use std::collections::BTreeMap;

use rehearsal_runtime::{ActorId, Nanos};
use serde::{Deserialize, Serialize};

use crate::hist::{self, LatencyHistogram};
use crate::summary::{LatencyMs, TimelineInterval};

/// Why a request failed. The names ([`Cause::name`]) are a contract:
/// `requests.failed_by_cause` in `run --json` uses them.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Cause {
    /// The client stopped waiting (`workload.request_timeout`).
    ClientTimeout,
    /// An LLM call answered a server error (5xx), and retries (if any) did
    /// not save the step.
    LlmError,
    /// A call was answered 429 (provider rate limit or full queue), and
    /// retries did not save the step.
    RateLimited,
    /// A tool call answered an error (or the tool crashed), and retries did
    /// not save the step.
    ToolError,
    /// A service call got no answer within its timeout (a hang, or an
    /// answer slower than the timeout), and retries did not save the step.
    CallTimeout,
    /// A service answered "unavailable".
    ServiceUnavailable,
    /// The agent working on the request died (crash or node loss) and the
    /// request was not retried elsewhere.
    AgentCrashed,
    /// An agent's full mailbox refused the request.
    MailboxFull,
    /// The agent asked did not answer in time: a lost message, a partition,
    /// or a dead agent not yet detected.
    AgentTimeout,
    /// No agent (or first pipeline stage) was known to be up.
    NoAgentAvailable,
    /// Pipeline: a stage finished the work but had no downstream stage to
    /// pass it to (its subscriber died with a restart).
    NoDownstream,
    /// A policy's circuit breaker refused the call (the service failed too
    /// often lately), and no fallback took it.
    CircuitOpen,
    /// A compare-and-set write kept losing to other writers until the step
    /// gave up.
    WriteConflict,
    /// Every node a virtual agent could be activated on was full: its
    /// memory held no more activations.
    NoCapacity,
}

impl Cause {
    /// Every cause, in the order reports list them.
    pub const ALL: [Cause; 14] = [
        Cause::ClientTimeout,
        Cause::LlmError,
        Cause::RateLimited,
        Cause::ToolError,
        Cause::CallTimeout,
        Cause::ServiceUnavailable,
        Cause::AgentCrashed,
        Cause::MailboxFull,
        Cause::AgentTimeout,
        Cause::NoAgentAvailable,
        Cause::NoDownstream,
        Cause::CircuitOpen,
        Cause::WriteConflict,
        Cause::NoCapacity,
    ];

    /// The documented name (`client_timeout`, `llm_error`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Cause::ClientTimeout => "client_timeout",
            Cause::LlmError => "llm_error",
            Cause::RateLimited => "rate_limited",
            Cause::ToolError => "tool_error",
            Cause::CallTimeout => "call_timeout",
            Cause::ServiceUnavailable => "service_unavailable",
            Cause::AgentCrashed => "agent_crashed",
            Cause::MailboxFull => "mailbox_full",
            Cause::AgentTimeout => "agent_timeout",
            Cause::NoAgentAvailable => "no_agent_available",
            Cause::NoDownstream => "no_downstream",
            Cause::CircuitOpen => "circuit_open",
            Cause::WriteConflict => "write_conflict",
            Cause::NoCapacity => "no_capacity",
        }
    }
}

/// How a request ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Succeeded,
    Failed(Cause),
}

impl Outcome {
    pub fn is_ok(self) -> bool {
        self == Outcome::Succeeded
    }
}

/// A time that has not happened (yet).
const NEVER: Nanos = Nanos::MAX;
/// No span.
const NO_SPAN: u32 = u32::MAX;

/// One request's entry (24 bytes: a long run holds millions).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Intended start: the scheduled arrival.
    pub arrived_at: Nanos,
    end_at: Nanos,
    /// The latest span made for the request (`NO_SPAN` if none), the head
    /// of the chain of its spans through [`Span`]'s `prev`.
    last_span: u32,
    outcome: Outcome,
}

impl Entry {
    /// End and outcome; `None` while open.
    pub fn end(&self) -> Option<(Nanos, Outcome)> {
        (self.end_at != NEVER).then_some((self.end_at, self.outcome))
    }
}

/// What happened to one service call.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SpanStatus {
    /// Not decided yet (queued at a service).
    Open,
    /// Answered (success or error) before its caller's timeout.
    Answered { ok: bool },
    /// No answer before the caller's timeout (hang or too slow).
    TimedOut,
    /// The caller cancelled it before it was answered.
    Cancelled,
}

/// One service call made for a request: which service, who called, when,
/// how long it queued and was served, what it produced (72 bytes). Its cost
/// is its tokens at the service's prices.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub request: u64,
    pub caller: ActorId,
    pub called_at: Nanos,
    /// When the caller gives up on it: the call time plus its timeout.
    deadline: Nanos,
    started_at: Nanos,
    ended_at: Nanos,
    pub input_tokens: u32,
    pub output_tokens: u32,
    /// 1 for the first attempt of this (request, part, step) at this
    /// service, 2 for the first retry, ...
    pub attempt: u32,
    /// The request's previous span.
    prev: u32,
    /// Index into the world's services (see [`crate::fleet::ServiceRef`]).
    pub service: u16,
    /// Fan-out part (0 otherwise) and workflow step.
    pub part: u16,
    pub step: u16,
    pub status: SpanStatus,
}

impl Span {
    /// A call made now, not yet started.
    pub fn new(request: u64, caller: ActorId, called_at: Nanos, timeout: Nanos, service: u16) -> Span {
        Span {
            request,
            caller,
            called_at,
            deadline: called_at.saturating_add(timeout),
            started_at: NEVER,
            ended_at: NEVER,
            input_tokens: 0,
            output_tokens: 0,
            attempt: 1,
            prev: NO_SPAN,
            service,
            part: 0,
            step: 0,
            status: SpanStatus::Open,
        }
    }

    /// When the caller gives up on this call.
    pub fn deadline(&self) -> Nanos {
        self.deadline
    }

    /// When it took a slot at the service.
    pub fn started_at(&self) -> Option<Nanos> {
        (self.started_at != NEVER).then_some(self.started_at)
    }

    pub fn set_started(&mut self, at: Nanos) {
        self.started_at = at;
    }

    /// When the caller got its answer or gave up.
    pub fn ended_at(&self) -> Option<Nanos> {
        (self.ended_at != NEVER).then_some(self.ended_at)
    }

    /// It ends at `at` with `status`.
    pub fn end(&mut self, at: Nanos, status: SpanStatus) {
        self.ended_at = at;
        self.status = status;
    }
}

/// The ledger of one run.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: Vec<Entry>,
    spans: Vec<Span>,
    open: u64,
    succeeded: u64,
    failed: u64,
    failed_by_cause: BTreeMap<Cause, u64>,
}

/// Everything a run's summary takes from the ledger.
#[derive(Clone, Debug)]
pub struct LedgerSummary {
    pub arrived: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub open: u64,
    pub failed_by_cause: BTreeMap<String, u64>,
    pub latency: LatencyHistogram,
    pub latency_succeeded: LatencyHistogram,
    pub latency_failed: LatencyHistogram,
    /// Exact mean latency of ended requests, ns (`None` if none ended), and
    /// of succeeded and failed ones.
    pub latency_mean_ns: Option<f64>,
    pub latency_mean_ns_succeeded: Option<f64>,
    pub latency_mean_ns_failed: Option<f64>,
    /// Observation window, ns.
    pub observed_ns: Nanos,
    /// Requests in the system, time average over the window.
    pub in_system_mean: f64,
    pub timeline: Vec<TimelineInterval>,
}

impl Ledger {
    /// A request arrives now; returns its id.
    pub fn arrive(&mut self, now: Nanos) -> u64 {
        self.entries.push(Entry { arrived_at: now, end_at: NEVER, last_span: NO_SPAN, outcome: Outcome::Succeeded });
        self.open += 1;
        self.entries.len() as u64 - 1
    }

    /// Request `id` ends now with `outcome`. Returns its arrival time, or
    /// `None` if it had ended already (a late answer) or is unknown.
    pub fn close(&mut self, id: u64, now: Nanos, outcome: Outcome) -> Option<Nanos> {
        let entry = self.entries.get_mut(id as usize)?;
        if entry.end_at != NEVER {
            return None;
        }
        entry.end_at = now;
        entry.outcome = outcome;
        self.open -= 1;
        match outcome {
            Outcome::Succeeded => self.succeeded += 1,
            Outcome::Failed(cause) => {
                self.failed += 1;
                *self.failed_by_cause.entry(cause).or_insert(0) += 1;
            }
        }
        Some(entry.arrived_at)
    }

    pub fn entry(&self, id: u64) -> Option<&Entry> {
        self.entries.get(id as usize)
    }

    /// From the first arrival to the last end; `None` when no request ended.
    pub fn makespan_ns(&self) -> Option<Nanos> {
        let first = self.entries.first()?.arrived_at;
        let last = self.entries.iter().filter_map(|e| e.end().map(|(at, _)| at)).max()?;
        Some(last.saturating_sub(first))
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Record a call made for a request, as attempt 1 + the number of
    /// earlier spans of the request with the same service, part and step
    /// (found along the request's chain of spans: a request has few);
    /// returns the span's index.
    pub fn open_span(&mut self, mut span: Span) -> usize {
        let index = u32::try_from(self.spans.len()).unwrap_or(NO_SPAN - 1);
        if let Some(e) = self.entries.get_mut(span.request as usize) {
            let mut at = e.last_span;
            while let Some(earlier) = self.spans.get(at as usize) {
                if (earlier.service, earlier.part, earlier.step) == (span.service, span.part, span.step) {
                    span.attempt = earlier.attempt.saturating_add(1);
                    break;
                }
                at = earlier.prev;
            }
            span.prev = e.last_span;
            e.last_span = index;
        }
        self.spans.push(span);
        self.spans.len() - 1
    }

    /// Service calls made for request `id` (retries included).
    pub fn attempts(&self, id: u64) -> u32 {
        let mut n = 0;
        let mut at = self.entries.get(id as usize).map_or(NO_SPAN, |e| e.last_span);
        while let Some(s) = self.spans.get(at as usize) {
            n += 1;
            at = s.prev;
        }
        n
    }

    pub fn span_mut(&mut self, index: usize) -> Option<&mut Span> {
        self.spans.get_mut(index)
    }

    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// Requests still open.
    pub fn open_count(&self) -> u64 {
        self.open
    }

    /// Summarise the ledger for a run that ended at `end_ns`, whose
    /// arrivals stopped at `arrivals_end_ns`; the timeline's intervals are
    /// [`timeline_interval_ns`] of the observation window.
    pub fn summarize(&self, end_ns: Nanos, arrivals_end_ns: Nanos) -> LedgerSummary {
        let mut latency = hist::new_latency_histogram();
        let mut latency_succeeded = hist::new_latency_histogram();
        let mut latency_failed = hist::new_latency_histogram();
        let mut last_end = 0;
        // (sum, count) of latencies: all, succeeded, failed.
        let mut sums = [(0u128, 0u64); 3];
        for e in &self.entries {
            if let Some((at, outcome)) = e.end() {
                let l = at - e.arrived_at;
                hist::record_ns(&mut latency, l);
                let by_outcome = if outcome.is_ok() {
                    hist::record_ns(&mut latency_succeeded, l);
                    1
                } else {
                    hist::record_ns(&mut latency_failed, l);
                    2
                };
                for i in [0, by_outcome] {
                    sums[i].0 += u128::from(l);
                    sums[i].1 += 1;
                }
                last_end = last_end.max(at);
            }
        }
        // The window: to the end of arrivals or of the last request; to the
        // end of the run if a request is still open.
        let observed_ns = if self.open > 0 { end_ns } else { arrivals_end_ns.max(last_end) }.max(1);
        // Area under N(t) over [0, observed]: each request contributes its
        // time in the system within the window.
        let area: u128 = self
            .entries
            .iter()
            .map(|e| {
                let end = e.end().map_or(observed_ns, |(at, _)| at).min(observed_ns);
                u128::from(end.saturating_sub(e.arrived_at))
            })
            .sum();
        let in_system_mean = area as f64 / observed_ns as f64;
        let mean = |(sum, n): (u128, u64)| (n > 0).then(|| sum as f64 / n as f64);
        LedgerSummary {
            arrived: self.entries.len() as u64,
            succeeded: self.succeeded,
            failed: self.failed,
            open: self.open,
            failed_by_cause: self.failed_by_cause.iter().map(|(c, &n)| (c.name().to_owned(), n)).collect(),
            latency,
            latency_succeeded,
            latency_failed,
            latency_mean_ns: mean(sums[0]),
            latency_mean_ns_succeeded: mean(sums[1]),
            latency_mean_ns_failed: mean(sums[2]),
            observed_ns,
            in_system_mean,
            timeline: self.timeline(observed_ns, timeline_interval_ns(observed_ns)),
        }
    }

    /// Arrivals, ends by outcome and time-averaged requests in the system
    /// per interval of `[0, observed_ns)`.
    fn timeline(&self, observed_ns: Nanos, interval_ns: Nanos) -> Vec<TimelineInterval> {
        let interval_ns = interval_ns.max(1);
        let count = observed_ns.div_ceil(interval_ns).max(1) as usize;
        let mut out: Vec<TimelineInterval> = (0..count)
            .map(|i| TimelineInterval { t_s: (i as u64 * interval_ns) as f64 / 1e9, ..Default::default() })
            .collect();
        let mut area = vec![0u128; count];
        let bucket = |t: Nanos| ((t / interval_ns) as usize).min(count - 1);
        for e in &self.entries {
            out[bucket(e.arrived_at)].offered += 1;
            let end = match e.end() {
                Some((at, outcome)) => {
                    let b = &mut out[bucket(at)];
                    if outcome.is_ok() {
                        b.succeeded += 1;
                    } else {
                        b.failed += 1;
                    }
                    at.min(observed_ns)
                }
                None => observed_ns,
            };
            // Spread the request's time in the system over the intervals
            // it overlaps.
            let mut t = e.arrived_at;
            while t < end {
                let i = bucket(t);
                let stop = ((i as u64 + 1) * interval_ns).min(end);
                area[i] += u128::from(stop - t);
                if stop <= t {
                    break;
                }
                t = stop;
            }
        }
        for (i, b) in out.iter_mut().enumerate() {
            let start = i as u64 * interval_ns;
            let len = (start + interval_ns).min(observed_ns).saturating_sub(start).max(1);
            b.in_system = round6(area[i] as f64 / len as f64);
        }
        out
    }
}

impl Ledger {
    /// Succeeded requests per second of simulated time, from 0 to the
    /// later of `from_ns` and the last success, at most `max_seconds`
    /// buckets: storage follows what happened, not the run's horizon.
    pub fn successes_per_second(&self, from_ns: Nanos, max_seconds: usize) -> Vec<u32> {
        const S: Nanos = 1_000_000_000;
        let last = self
            .entries
            .iter()
            .filter_map(|e| e.end().filter(|(_, o)| o.is_ok()).map(|(at, _)| at))
            .max()
            .unwrap_or(0)
            .max(from_ns);
        let len = ((last / S) as usize).saturating_add(1).min(max_seconds);
        let mut out = vec![0u32; len];
        for (at, _) in self.entries.iter().filter_map(|e| e.end()).filter(|(_, o)| o.is_ok()) {
            if let Some(b) = out.get_mut((at / S) as usize) {
                *b = b.saturating_add(1);
            }
        }
        out
    }
}

/// Percentiles of an exact histogram with the exact mean replacing the
/// histogram's (which is only 3 significant figures per value).
pub fn latency_with_mean(h: &LatencyHistogram, mean_ns: Option<f64>) -> Option<LatencyMs> {
    let mut l = hist::latency_ms(h)?;
    if let Some(m) = mean_ns {
        l.mean = libm::round(m / 1_000.0) / 1_000.0;
    }
    Some(l)
}

fn round6(x: f64) -> f64 {
    libm::round(x * 1e6) / 1e6
}

/// A timeline interval for a run of `observed_ns`: 1 s for runs up to 10
/// minutes, then the smallest of 1, 2, 5 x 10^k seconds that keeps the
/// timeline within 600 intervals.
pub fn timeline_interval_ns(observed_ns: Nanos) -> Nanos {
    const S: Nanos = 1_000_000_000;
    let mut unit = S;
    loop {
        for m in [1, 2, 5] {
            let step = unit.saturating_mul(m);
            if observed_ns.div_ceil(step) <= 600 || step == Nanos::MAX {
                return step;
            }
        }
        unit = unit.saturating_mul(10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Nanos = 1_000_000;
    const S: Nanos = 1_000_000_000;

    #[test]
    fn littles_law_by_hand() {
        // Two requests: [0, 2 s) and [1 s, 2 s): area 3 s over 2 s.
        let mut l = Ledger::default();
        let a = l.arrive(0);
        assert_eq!(l.close(a, 2 * S, Outcome::Succeeded), Some(0));
        let b = l.arrive(S);
        l.close(b, 2 * S, Outcome::Failed(Cause::ClientTimeout));
        assert_eq!(l.close(b, 3 * S, Outcome::Succeeded), None, "a second end is a late answer");
        let s = l.summarize(5 * S, 2 * S);
        assert_eq!((s.arrived, s.succeeded, s.failed, s.open), (2, 1, 1, 0));
        assert_eq!(s.observed_ns, 2 * S);
        assert!((s.in_system_mean - 1.5).abs() < 1e-12);
        // lambda = 1/s, W = 1.5 s.
        assert_eq!(s.latency_mean_ns, Some(1.5e9));
        assert_eq!(s.failed_by_cause.get("client_timeout"), Some(&1));
        assert_eq!(s.timeline.len(), 2);
        assert_eq!(s.timeline[0].offered, 1);
        assert_eq!(s.timeline[1].offered, 1);
        assert_eq!(s.timeline[1].succeeded + s.timeline[1].failed, 2, "ends at 2 s fall in the last interval");
        assert!((s.timeline[0].in_system - 1.0).abs() < 1e-12);
        assert!((s.timeline[1].in_system - 2.0).abs() < 1e-12);
    }

    #[test]
    fn attempts_count_along_the_requests_chain() {
        let mut l = Ledger::default();
        let (a, b) = (l.arrive(0), l.arrive(0));
        let caller = ActorId::EXTERNAL;
        let span = |request, service, step| {
            let mut s = Span::new(request, caller, 0, S, service);
            s.step = step;
            s
        };
        let first = l.open_span(span(a, 0, 0));
        l.open_span(span(b, 0, 0));
        let retry = l.open_span(span(a, 0, 0));
        let next_step = l.open_span(span(a, 0, 1));
        let third = l.open_span(span(a, 0, 0));
        let attempts: Vec<u32> = [first, retry, next_step, third].iter().map(|&i| l.spans()[i].attempt).collect();
        assert_eq!(attempts, [1, 2, 1, 3]);
        assert_eq!((l.attempts(a), l.attempts(b)), (4, 1));
        assert_eq!(size_of::<Span>(), 72);
        assert_eq!(size_of::<Entry>(), 24);
    }

    #[test]
    fn open_requests_extend_the_window() {
        let mut l = Ledger::default();
        l.arrive(100 * MS);
        let s = l.summarize(10 * S, S);
        assert_eq!(s.open, 1);
        assert_eq!(s.observed_ns, 10 * S);
        assert!(s.latency_mean_ns.is_none());
        assert!(hist::latency_ms(&s.latency).is_none());
        assert!((s.in_system_mean - 0.99).abs() < 1e-12);
    }

    #[test]
    fn cause_names_are_distinct() {
        let mut names: Vec<&str> = Cause::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Cause::ALL.len());
    }

    #[test]
    fn timeline_intervals_stay_bounded() {
        assert_eq!(timeline_interval_ns(60 * S), S);
        assert_eq!(timeline_interval_ns(600 * S), S);
        assert_eq!(timeline_interval_ns(601 * S), 2 * S);
        assert_eq!(timeline_interval_ns(3_600 * S), 10 * S);
        assert!(timeline_interval_ns(Nanos::MAX / 2).saturating_mul(600) >= Nanos::MAX / 2);
    }
}
