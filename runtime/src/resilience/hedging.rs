//! Hedging with Polly's semantics: start the call; if no attempt has
//! answered after `delay`, start another, and so on up to
//! `max_hedged_attempts` extra attempts. The first success wins and the
//! policy names the attempts still in flight, for the caller to cancel.
//!
//! A failed answer starts the next hedge at once (Polly: a handled outcome
//! does not wait for the delay), if any is left; the delay of the hedge
//! after it runs from then. `delay = 0` starts every attempt at once
//! (Polly's parallel mode); [`HedgingConfig::ON_FAILURE_ONLY`] as the delay
//! starts a hedge only when an attempt fails (Polly's `InfiniteTimeSpan`,
//! fallback mode). The call fails when every attempt failed and none is
//! left: its outcome is the last failure.
//!
//! Attempts are numbered from 0 (the primary); sets of them are bit masks,
//! so the policy allocates nothing (hence at most 63 hedged attempts).

use crate::id::Nanos;

/// One attempt of a hedged call: 0 is the primary.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Attempt(pub u32);

/// A set of attempts.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Attempts(u64);

impl Attempts {
    /// Whether `a` is in the set.
    pub fn contains(self, a: Attempt) -> bool {
        a.0 < 64 && self.0 & (1 << a.0) != 0
    }

    /// How many attempts.
    pub fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The attempts, in order.
    pub fn iter(self) -> impl Iterator<Item = Attempt> {
        (0..64).filter(move |i| self.0 & (1 << i) != 0).map(Attempt)
    }

    fn insert(&mut self, a: Attempt) {
        self.0 |= 1 << a.0;
    }

    fn remove(&mut self, a: Attempt) -> bool {
        let had = self.contains(a);
        self.0 &= !(1u64 << (a.0 & 63));
        had
    }
}

/// A call site's hedging policy.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct HedgingConfig {
    /// Wait before each further attempt while none has answered.
    pub delay: Nanos,
    /// Attempts beyond the primary (Polly: 1..=10, default 1; here <= 63).
    pub max_hedged_attempts: u32,
}

impl HedgingConfig {
    /// A delay that never elapses: hedge only on failure.
    pub const ON_FAILURE_ONLY: Nanos = Nanos::MAX;
}

impl Default for HedgingConfig {
    /// Polly's defaults: 2 s, one hedged attempt.
    fn default() -> HedgingConfig {
        HedgingConfig { delay: 2_000_000_000, max_hedged_attempts: 1 }
    }
}

/// What a failed answer leads to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AfterFailure {
    /// Start this attempt now.
    Launch(Attempt),
    /// Other attempts are in flight (or a late answer): wait for them.
    Wait,
    /// Every attempt failed and none is left: the call failed.
    Failed,
}

/// The winning answer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Won {
    /// The attempt that succeeded.
    pub winner: Attempt,
    /// The attempts still in flight: cancel them.
    pub cancel: Attempts,
}

/// One hedged call's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hedging {
    config: HedgingConfig,
    /// Attempts started so far (the next one's number).
    started: u32,
    in_flight: Attempts,
    /// When the next hedge is due (`None`: not by time).
    next_at: Option<Nanos>,
    finished: bool,
}

impl Hedging {
    /// A call that has not started: [`poll`](Self::poll) starts the primary.
    ///
    /// # Panics
    /// If `max_hedged_attempts > 63`.
    pub fn new(config: HedgingConfig, now: Nanos) -> Hedging {
        assert!(config.max_hedged_attempts <= 63, "at most 63 hedged attempts");
        Hedging { config, started: 0, in_flight: Attempts::default(), next_at: Some(now), finished: false }
    }

    fn total(&self) -> u32 {
        self.config.max_hedged_attempts + 1
    }

    fn launch(&mut self, now: Nanos) -> Attempt {
        let a = Attempt(self.started);
        self.started += 1;
        self.in_flight.insert(a);
        self.next_at = match self.config.delay {
            HedgingConfig::ON_FAILURE_ONLY => None,
            d => Some(now.saturating_add(d)),
        };
        a
    }

    /// The attempt to start at `now`, if one is due: call until `None`
    /// (with `delay = 0` every attempt is due at once), then set a timer for
    /// [`next_at`](Self::next_at).
    pub fn poll(&mut self, now: Nanos) -> Option<Attempt> {
        let due = self.next_at.is_some_and(|at| now >= at);
        (due && !self.finished && self.started < self.total()).then(|| self.launch(now))
    }

    /// When the next hedge is due if nothing answers (`None`: no more by time).
    pub fn next_at(&self) -> Option<Nanos> {
        if self.finished || self.started >= self.total() { None } else { self.next_at }
    }

    /// Attempt `a` succeeded: it wins if nothing won before (else `None`: a
    /// late answer, already cancelled).
    pub fn on_success(&mut self, a: Attempt) -> Option<Won> {
        if self.finished || !self.in_flight.remove(a) {
            return None;
        }
        self.finished = true;
        Some(Won { winner: a, cancel: std::mem::take(&mut self.in_flight) })
    }

    /// Attempt `a` failed at `now`.
    pub fn on_failure(&mut self, a: Attempt, now: Nanos) -> AfterFailure {
        if self.finished || !self.in_flight.remove(a) {
            return AfterFailure::Wait;
        }
        if self.started < self.total() {
            return AfterFailure::Launch(self.launch(now));
        }
        if self.in_flight.is_empty() {
            self.finished = true;
            return AfterFailure::Failed;
        }
        AfterFailure::Wait
    }

    /// The caller gives up (its deadline): the attempts to cancel.
    pub fn abandon(&mut self) -> Attempts {
        self.finished = true;
        std::mem::take(&mut self.in_flight)
    }

    /// Attempts in flight.
    pub fn in_flight(&self) -> Attempts {
        self.in_flight
    }

    /// Attempts started, the primary included.
    pub fn started(&self) -> u32 {
        self.started
    }

    /// Whether the call has ended (won, failed or abandoned).
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Nanos = 1_000_000;

    fn hedging(delay: Nanos, max: u32) -> Hedging {
        Hedging::new(HedgingConfig { delay, max_hedged_attempts: max }, 0)
    }

    #[test]
    fn hedges_after_each_delay_and_the_first_success_cancels_the_rest() {
        let mut h = hedging(100 * MS, 2);
        assert_eq!((h.poll(0), h.poll(0)), (Some(Attempt(0)), None));
        assert_eq!(h.next_at(), Some(100 * MS));
        assert_eq!(h.poll(99 * MS), None);
        assert_eq!(h.poll(100 * MS), Some(Attempt(1)));
        assert_eq!(h.poll(250 * MS), Some(Attempt(2)));
        assert_eq!((h.poll(1_000 * MS), h.next_at()), (None, None));
        let won = h.on_success(Attempt(1)).unwrap();
        assert_eq!(won.winner, Attempt(1));
        assert_eq!(won.cancel.iter().collect::<Vec<_>>(), vec![Attempt(0), Attempt(2)]);
        assert_eq!(h.on_success(Attempt(0)), None, "late answers lose");
        assert_eq!(h.on_failure(Attempt(2), 0), AfterFailure::Wait);
        assert!(h.is_finished() && h.in_flight().is_empty());
    }

    #[test]
    fn a_failure_hedges_at_once_and_the_last_failure_fails_the_call() {
        let mut h = hedging(100 * MS, 1);
        assert_eq!(h.poll(0), Some(Attempt(0)));
        assert_eq!(h.on_failure(Attempt(0), 30 * MS), AfterFailure::Launch(Attempt(1)));
        assert_eq!((h.next_at(), h.started()), (None, 2));
        assert_eq!(h.on_failure(Attempt(1), 40 * MS), AfterFailure::Failed);
        assert!(h.is_finished());
    }

    #[test]
    fn a_failure_waits_for_attempts_still_in_flight() {
        let mut h = hedging(10 * MS, 1);
        h.poll(0);
        h.poll(10 * MS);
        assert_eq!(h.on_failure(Attempt(1), 11 * MS), AfterFailure::Wait);
        assert_eq!(h.on_failure(Attempt(0), 12 * MS), AfterFailure::Failed);
    }

    #[test]
    fn parallel_and_fallback_modes() {
        let mut all = hedging(0, 3);
        let started: Vec<_> = std::iter::from_fn(|| all.poll(0)).collect();
        assert_eq!(started.len(), 4);
        assert_eq!(all.in_flight().len(), 4);
        assert_eq!(all.abandon().len(), 4);

        let mut fallback = hedging(HedgingConfig::ON_FAILURE_ONLY, 2);
        assert_eq!(fallback.poll(0), Some(Attempt(0)));
        assert_eq!((fallback.poll(Nanos::MAX), fallback.next_at()), (None, None));
        assert_eq!(fallback.on_failure(Attempt(0), 5), AfterFailure::Launch(Attempt(1)));
        assert!(fallback.in_flight().contains(Attempt(1)) && !fallback.in_flight().contains(Attempt(0)));
    }
}
