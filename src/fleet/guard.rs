//! An agent's resilience policy at its call sites (see
//! [`crate::scenario::policy`]): a circuit breaker per service, a retry
//! budget for the agent (one client), and fallback routing across LLMs,
//! built from the runtime's pure policies
//! ([`rehearsal_runtime::resilience`]). What a real client knows: the
//! answers to its own calls, nothing else.

use std::rc::Rc;

use rehearsal_runtime::resilience::{BreakerConfig, CircuitBreaker, FinagleBudget, GrpcThrottle, Permit};
use rehearsal_runtime::{Nanos, ServiceId};

use super::telemetry::Telemetry;
use crate::scenario::policy::BudgetSpec;

/// A policy as agents apply it.
#[derive(Debug)]
pub struct PolicyRuntime {
    pub breaker: Option<BreakerConfig>,
    pub budget: Option<BudgetSpec>,
    /// LLMs to fall back to, in order.
    pub fallback: Vec<ServiceId>,
}

#[derive(Debug)]
enum Budget {
    Grpc(GrpcThrottle),
    Finagle(FinagleBudget),
}

/// One agent's policy state.
#[derive(Debug)]
pub struct Guard {
    policy: Rc<PolicyRuntime>,
    breakers: Vec<(ServiceId, CircuitBreaker)>,
    /// When each open breaker opened (for the time spent open).
    open_since: Vec<(ServiceId, Nanos)>,
    budget: Option<Budget>,
    telemetry: Telemetry,
}

impl Guard {
    pub fn new(policy: Rc<PolicyRuntime>, telemetry: Telemetry) -> Guard {
        let budget = policy.budget.map(|b| match b {
            BudgetSpec::Grpc { max_tokens, token_ratio_milli } => {
                Budget::Grpc(GrpcThrottle::new(max_tokens, token_ratio_milli))
            }
            BudgetSpec::Finagle { ttl_ns, min_per_s, percent } => {
                Budget::Finagle(FinagleBudget::new(ttl_ns, min_per_s, percent))
            }
        });
        Guard { policy, breakers: Vec::new(), open_since: Vec::new(), budget, telemetry }
    }

    fn breaker(&mut self, service: ServiceId) -> Option<&mut CircuitBreaker> {
        let config = self.policy.breaker?;
        let i = match self.breakers.iter().position(|(s, _)| *s == service) {
            Some(i) => i,
            None => {
                self.breakers.push((service, CircuitBreaker::new(config)));
                self.breakers.len() - 1
            }
        };
        Some(&mut self.breakers[i].1)
    }

    /// A new piece of work starts (Finagle deposits per request).
    pub fn on_request(&mut self, now: Nanos) {
        if let Some(Budget::Finagle(b)) = &mut self.budget {
            b.deposit(now);
        }
    }

    /// May a call to `service` go out now? `Err(())`: its breaker is open
    /// (the call fails at once, costing the service nothing).
    #[allow(clippy::result_unit_err)]
    pub fn admit(&mut self, service: ServiceId, now: Nanos) -> Result<Option<Permit>, ()> {
        let Some(b) = self.breaker(service) else { return Ok(None) };
        let result = b.try_acquire(now);
        self.drain(service);
        match result {
            Ok(p) => Ok(Some(p)),
            Err(_) => {
                self.telemetry.borrow_mut().breaker(service.0).rejected += 1;
                Err(())
            }
        }
    }

    /// The answer to a call admitted with `permit`, `duration` after it went out.
    pub fn record(&mut self, service: ServiceId, permit: Option<Permit>, now: Nanos, duration: Nanos, ok: bool) {
        match &mut self.budget {
            Some(Budget::Grpc(b)) if ok => b.on_success(),
            Some(Budget::Grpc(b)) => b.on_failure(),
            _ => {}
        }
        let (Some(permit), Some(b)) = (permit, self.breaker(service)) else { return };
        if ok {
            b.on_success(permit, now, duration);
        } else {
            b.on_failure(permit, now, duration);
        }
        self.drain(service);
    }

    /// Export `service`'s breaker transitions, and the time it spent open.
    fn drain(&mut self, service: ServiceId) {
        let Some(i) = self.breakers.iter().position(|(s, _)| *s == service) else { return };
        let transitions: Vec<_> = self.breakers[i].1.take_transitions().collect();
        let mut t = self.telemetry.borrow_mut();
        let tally = t.breaker(service.0);
        for tr in transitions {
            *tally.transitions.entry(format!("{}->{}", tr.from.as_str(), tr.to.as_str())).or_default() += 1;
            if tr.from.as_str() == "open"
                && let Some(j) = self.open_since.iter().position(|(s, _)| *s == service)
            {
                tally.time_open_ns += u128::from(tr.at.saturating_sub(self.open_since.swap_remove(j).1));
            }
            if tr.to.as_str() == "open" {
                self.open_since.push((service, tr.at));
            }
        }
    }

    /// A call admitted with `permit` was abandoned (cancelled) before its answer.
    pub fn release(&mut self, service: ServiceId, permit: Option<Permit>) {
        if let (Some(permit), Some(b)) = (permit, self.breaker(service)) {
            b.release(permit);
        }
    }

    /// Does the budget allow one more retry now? (Counts a denial.)
    pub fn retry_allowed(&mut self, now: Nanos) -> bool {
        let allowed = match &mut self.budget {
            None => true,
            Some(Budget::Grpc(b)) => b.allows_retry(),
            Some(Budget::Finagle(b)) => b.try_withdraw(now),
        };
        if !allowed {
            self.telemetry.borrow_mut().budget_denied += 1;
        }
        allowed
    }

    /// The LLM to fall back to after `service` failed for good, if any.
    pub fn fallback_after(&self, service: ServiceId, original: ServiceId) -> Option<ServiceId> {
        let list = &self.policy.fallback;
        let next = if service == original { 0 } else { list.iter().position(|&s| s == service)? + 1 };
        let to = list.get(next).copied()?;
        self.telemetry.borrow_mut().fallback_calls += 1;
        Some(to)
    }
}
