//! A simulated tool (an HTTP API, a database write, a payment...) with a
//! side-effect ledger, as a pure, deterministic state machine.
//!
//! One roll per call picks its fate, in this order of the unit interval:
//!
//! | fate | answer | side effect |
//! |---|---|---|
//! | `error_rate` | `ServerError` after the drawn latency | no (failed before acting) |
//! | `timeout_rate` | none: a hang (the caller's timeout settles it) | no |
//! | `crash_rate` | `Unavailable` after the drawn latency (the process died, the connection dropped) | no |
//! | `timeout_after_effect` | none: a hang | **yes** (it acted, then stalled) |
//! | the rest | `Ok` after the drawn latency | yes |
//!
//! Every call that performs its effect records it in the ledger under the
//! call's idempotency key, at the time of the call; [`ToolService::duplicates`]
//! counts the effects beyond the first per key: the duplicates a retry
//! policy caused by retrying calls whose effect had already happened.
//!
//! Draws per call: the latency, then the roll (always both).

use std::collections::BTreeMap;

use rand_core::Rng;
use rehearsal_runtime::{Nanos, ServiceError, ServiceOutcome};

use crate::dist::{Dist, unit_f64};
use crate::llm::Brownout;
use crate::services::Answer;

/// A tool's behaviour; rates are chances in `[0, 1]` summing to at most 1.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolModel {
    /// Time from the call to its answer (ns).
    pub latency: Dist,
    /// Answered with a server error; no effect.
    pub error_rate: f64,
    /// Never answered; no effect.
    pub timeout_rate: f64,
    /// The tool process crashes: answered as `ServiceError::Unavailable`; no effect.
    pub crash_rate: f64,
    /// The effect happens but no answer comes back.
    pub timeout_after_effect: f64,
}

impl ToolModel {
    /// Check the rates; the message names the bad one.
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("error_rate", self.error_rate),
            ("timeout_rate", self.timeout_rate),
            ("crash_rate", self.crash_rate),
            ("timeout_after_effect", self.timeout_after_effect),
        ];
        for (name, x) in rates {
            if !(0.0..=1.0).contains(&x) {
                return Err(format!("{name} must be in [0, 1], got {x}"));
            }
        }
        let sum: f64 = rates.iter().map(|r| r.1).sum();
        if sum > 1.0 {
            return Err(format!("the rates sum to {sum}, more than 1"));
        }
        Ok(())
    }
}

/// What one tool call does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ToolDecision {
    /// Answered after `answer.latency`.
    Answer(Answer),
    /// Never answered; `effect` tells whether the side effect happened.
    Hang { effect: bool },
}

/// The side effects recorded under one idempotency key.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Effects {
    /// How many times the effect happened.
    pub count: u32,
    /// When it first and last happened (call times).
    pub first_at: Nanos,
    pub last_at: Nanos,
}

/// Counters of one tool.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolStats {
    pub calls: u64,
    pub ok: u64,
    pub errors: u64,
    /// Hangs without effect.
    pub timeouts: u64,
    pub crashes: u64,
    /// Hangs after the effect.
    pub timeouts_after_effect: u64,
}

/// The state of one tool: counters and the side-effect ledger.
#[derive(Clone, Debug)]
pub struct ToolService {
    model: ToolModel,
    brownout: Option<Brownout>,
    ledger: BTreeMap<u64, Effects>,
    stats: ToolStats,
}

impl ToolService {
    pub fn new(model: ToolModel) -> Self {
        debug_assert_eq!(model.validate(), Ok(()));
        ToolService { model, brownout: None, ledger: BTreeMap::new(), stats: ToolStats::default() }
    }

    pub fn model(&self) -> &ToolModel {
        &self.model
    }

    pub fn stats(&self) -> &ToolStats {
        &self.stats
    }

    /// Set or clear a brownout: latencies are multiplied and
    /// `error_rate_add` is added to the server-error rate (taken from the
    /// success share) for calls made while set.
    pub fn set_brownout(&mut self, brownout: Option<Brownout>) {
        self.brownout = brownout;
    }

    /// A call with `idempotency_key` at `now`.
    pub fn call<R: Rng + ?Sized>(&mut self, now: Nanos, rng: &mut R, idempotency_key: u64) -> ToolDecision {
        self.stats.calls += 1;
        let (latency_x, error_add) = self.brownout.map_or((1.0, 0.0), |b| (b.latency_x, b.error_rate_add));
        let latency = self.model.latency.sample(rng) * latency_x;
        let latency = if latency >= u64::MAX as f64 { u64::MAX } else { libm::round(latency) as u64 };
        let roll = unit_f64(rng);
        let m = &self.model;
        // Thresholds in the order of the table in the module docs; a
        // brownout's extra errors come out of the success share (the last).
        let t_error = m.error_rate;
        let t_timeout = t_error + m.timeout_rate;
        let t_crash = t_timeout + m.crash_rate;
        let t_after = t_crash + m.timeout_after_effect;
        let answer = |outcome| ToolDecision::Answer(Answer { latency, outcome, input_tokens: 0, output_tokens: 0 });
        if roll < t_error {
            self.stats.errors += 1;
            answer(ServiceOutcome::Failed(ServiceError::ServerError))
        } else if roll < t_timeout {
            self.stats.timeouts += 1;
            ToolDecision::Hang { effect: false }
        } else if roll < t_crash {
            self.stats.crashes += 1;
            answer(ServiceOutcome::Failed(ServiceError::Unavailable))
        } else if roll < t_after {
            self.stats.timeouts_after_effect += 1;
            self.record(now, idempotency_key);
            ToolDecision::Hang { effect: true }
        } else if roll < t_after + error_add {
            self.stats.errors += 1;
            answer(ServiceOutcome::Failed(ServiceError::ServerError))
        } else {
            self.stats.ok += 1;
            self.record(now, idempotency_key);
            answer(ServiceOutcome::Ok { output_tokens: 0 })
        }
    }

    fn record(&mut self, now: Nanos, key: u64) {
        self.ledger
            .entry(key)
            .and_modify(|e| {
                e.count += 1;
                e.last_at = now;
            })
            .or_insert(Effects { count: 1, first_at: now, last_at: now });
    }

    /// The ledger, by idempotency key (ascending).
    pub fn ledger(&self) -> &BTreeMap<u64, Effects> {
        &self.ledger
    }

    /// How many times the effect of `key` happened.
    pub fn effects(&self, key: u64) -> u32 {
        self.ledger.get(&key).map_or(0, |e| e.count)
    }

    /// Effects in all.
    pub fn total_effects(&self) -> u64 {
        self.ledger.values().map(|e| e.count as u64).sum()
    }

    /// Effects beyond the first per key.
    pub fn duplicates(&self) -> u64 {
        self.ledger.values().map(|e| e.count as u64 - 1).sum()
    }

    /// Keys whose effect happened more than once.
    pub fn duplicated_keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.ledger.iter().filter(|(_, e)| e.count > 1).map(|(&k, _)| k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn model() -> ToolModel {
        ToolModel {
            latency: Dist::Constant { value: 40.0 },
            error_rate: 0.1,
            timeout_rate: 0.05,
            crash_rate: 0.02,
            timeout_after_effect: 0.03,
        }
    }

    #[test]
    fn rates_are_respected_and_effects_recorded() {
        let mut t = ToolService::new(model());
        let mut rng = stream(1, "tool");
        let n = 200_000u64;
        for key in 0..n {
            match t.call(0, &mut rng, key) {
                ToolDecision::Answer(a) => assert_eq!(a.latency, 40),
                ToolDecision::Hang { effect } => assert_eq!(effect, t.effects(key) == 1),
            }
        }
        let s = *t.stats();
        let rate = |x: u64| x as f64 / n as f64;
        for (got, want) in [
            (rate(s.errors), 0.1),
            (rate(s.timeouts), 0.05),
            (rate(s.crashes), 0.02),
            (rate(s.timeouts_after_effect), 0.03),
            (rate(s.ok), 0.8),
        ] {
            assert!((got - want).abs() < 0.003, "{got} vs {want}: {s:?}");
        }
        assert_eq!(t.total_effects(), s.ok + s.timeouts_after_effect);
        assert_eq!(t.duplicates(), 0); // one call per key
    }

    #[test]
    fn ledger_counts_duplicates_of_retried_keys() {
        let always = ToolModel {
            latency: Dist::Constant { value: 1.0 },
            error_rate: 0.0,
            timeout_rate: 0.0,
            crash_rate: 0.0,
            timeout_after_effect: 0.0,
        };
        let mut t = ToolService::new(always);
        let mut rng = stream(2, "tool");
        t.call(10, &mut rng, 7);
        t.call(20, &mut rng, 7); // a retry of 7 whose effect had happened
        t.call(30, &mut rng, 7);
        t.call(40, &mut rng, 8);
        assert_eq!(t.effects(7), 3);
        assert_eq!(t.effects(9), 0);
        assert_eq!(t.duplicates(), 2);
        assert_eq!(t.duplicated_keys().collect::<Vec<_>>(), vec![7]);
        assert_eq!(t.ledger()[&7], Effects { count: 3, first_at: 10, last_at: 30 });
    }

    #[test]
    fn timeout_after_effect_then_retry_is_a_duplicate() {
        let mut m = model();
        (m.error_rate, m.timeout_rate, m.crash_rate, m.timeout_after_effect) = (0.0, 0.0, 0.0, 1.0);
        let mut t = ToolService::new(m);
        let mut rng = stream(3, "tool");
        assert_eq!(t.call(0, &mut rng, 1), ToolDecision::Hang { effect: true });
        assert_eq!(t.call(5, &mut rng, 1), ToolDecision::Hang { effect: true });
        assert_eq!(t.duplicates(), 1);
    }

    #[test]
    fn brownout_slows_and_fails_more() {
        let mut t = ToolService::new(model());
        t.set_brownout(Some(Brownout { latency_x: 2.0, error_rate_add: 0.2 }));
        let mut rng = stream(4, "tool");
        let n = 100_000u64;
        for k in 0..n {
            if let ToolDecision::Answer(a) = t.call(0, &mut rng, k) {
                assert_eq!(a.latency, 80);
            }
        }
        let rate = t.stats().errors as f64 / n as f64;
        assert!((rate - 0.3).abs() < 0.005, "{rate}");
    }

    #[test]
    fn validate_rejects_bad_rates() {
        let mut m = model();
        assert_eq!(m.validate(), Ok(()));
        m.crash_rate = 0.9;
        assert!(m.validate().unwrap_err().contains("sum"));
        m.crash_rate = -0.1;
        assert!(m.validate().unwrap_err().contains("crash_rate"));
    }
}
