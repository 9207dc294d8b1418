//! `[policies.NAME]` (see [`crate::scenario::policy`]).

use std::collections::BTreeMap;

use rehearsal_runtime::Nanos;
use rehearsal_runtime::resilience::{BreakerConfig, Trip};
use schemars::JsonSchema;
use serde::Deserialize;

use super::strategies::RawItem;
use super::{Ctx, RawDuration, Result, Spanned};
use crate::scenario::model::{ServiceModel, Step};
use crate::scenario::policy::{BudgetSpec, PolicySpec};
use crate::strategy::Defaults;
use crate::strategy::retry::Retry;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    #[schemars(with = "Option<super::schema::RetryValue>")]
    retry: Option<Spanned<RawItem>>,
    budget: Option<Spanned<RawBudget>>,
    breaker: Option<Spanned<RawBreaker>>,
    fallback: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBudget {
    kind: Spanned<String>,
    max_tokens: Option<Spanned<i64>>,
    token_ratio: Option<Spanned<f64>>,
    percent: Option<Spanned<i64>>,
    min_per_s: Option<Spanned<i64>>,
    ttl: Option<Spanned<RawDuration>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBreaker {
    /// Consecutive failures that open it (Dapr style); or `window`.
    failures: Option<Spanned<i64>>,
    /// A count-based window of this many calls.
    window: Option<Spanned<i64>>,
    failure_rate: Option<Spanned<i64>>,
    min_calls: Option<Spanned<i64>>,
    slow_call: Option<Spanned<RawDuration>>,
    slow_rate: Option<Spanned<i64>>,
    wait: Option<Spanned<RawDuration>>,
    half_open_calls: Option<Spanned<i64>>,
}

impl Ctx<'_> {
    pub(super) fn policies(
        &self,
        raw: Option<&BTreeMap<Spanned<String>, RawPolicy>>,
        llms: &[ServiceModel],
        tools: &[ServiceModel],
        defaults: &Defaults<'_>,
    ) -> Result<Vec<PolicySpec>> {
        let mut out = Vec::new();
        for (name, p) in raw.into_iter().flatten() {
            let name = self.short_name(name, "policies")?;
            let retry = p.retry.as_ref().map(|r| self.one_value::<Retry>(r, defaults)).transpose()?;
            let budget = p.budget.as_ref().map(|b| self.budget(b)).transpose()?;
            let breaker = p.breaker.as_ref().map(|b| self.breaker(b)).transpose()?;
            let mut fallback = Vec::new();
            for f in p.fallback.iter().flatten() {
                let step = self.step(f, llms, tools)?;
                if !matches!(step, Step::Llm(_)) {
                    return Err(self.bad(f, "policies.fallback", "an LLM: \"llm\" or \"llm:NAME\"", None));
                }
                fallback.push(step);
            }
            out.push(PolicySpec { name, retry, budget, breaker, fallback });
        }
        Ok(out)
    }

    fn budget(&self, v: &Spanned<RawBudget>) -> Result<BudgetSpec> {
        let b = v.get_ref();
        let int = |x: &Option<Spanned<i64>>, path: &str, default: u64, max: u64| -> Result<u64> {
            x.as_ref().map_or(Ok(default), |x| self.positive_int(x, path, max, "at least 1"))
        };
        match b.kind.get_ref().as_str() {
            "grpc" => {
                let ratio = b.token_ratio.as_ref().map_or(0.1, |r| *r.get_ref());
                if !(ratio.is_finite() && (0.0..=1000.0).contains(&ratio)) {
                    return Err(self.bad(v, "policies.budget.token_ratio", "a number from 0 to 1000", None));
                }
                Ok(BudgetSpec::Grpc {
                    max_tokens: int(&b.max_tokens, "policies.budget.max_tokens", 10, 1_000_000)? as u32,
                    token_ratio_milli: (ratio * 1000.0).round() as u32,
                })
            }
            "finagle" => Ok(BudgetSpec::Finagle {
                ttl_ns: b
                    .ttl
                    .as_ref()
                    .map_or(Ok(10_000_000_000), |t| self.positive_duration(t, "policies.budget.ttl"))?,
                min_per_s: int(&b.min_per_s, "policies.budget.min_per_s", 10, 1_000_000)? as u32,
                percent: int(&b.percent, "policies.budget.percent", 20, 1_000)? as u32,
            }),
            other => Err(self.bad(
                &b.kind,
                "policies.budget.kind",
                "\"grpc\" or \"finagle\"",
                Some(super::choice_hint(other, &["grpc", "finagle"])),
            )),
        }
    }

    fn breaker(&self, v: &Spanned<RawBreaker>) -> Result<BreakerConfig> {
        let b = v.get_ref();
        let int = |x: &Option<Spanned<i64>>, path: &str, default: u64, max: u64| -> Result<u64> {
            x.as_ref().map_or(Ok(default), |x| self.positive_int(x, path, max, "at least 1"))
        };
        let trip = match (&b.failures, &b.window) {
            (Some(f), None) => Trip::ConsecutiveFailures {
                threshold: self.positive_int(f, "policies.breaker.failures", 100_000, "at least 1")? as u32,
            },
            (None, Some(w)) => Trip::CountBased {
                size: self.positive_int(w, "policies.breaker.window", 100_000, "at least 1")? as u32,
            },
            _ => {
                return Err(self.bad(
                    v,
                    "policies.breaker",
                    "either `failures = N` (consecutive) or `window = N` (count-based, with `failure_rate`)",
                    None,
                ));
            }
        };
        let duration = |x: &Option<Spanned<RawDuration>>, path: &str, default: Nanos| -> Result<Nanos> {
            x.as_ref().map_or(Ok(default), |x| self.positive_duration(x, path))
        };
        Ok(BreakerConfig {
            trip,
            failure_rate_threshold: int(&b.failure_rate, "policies.breaker.failure_rate", 50, 100)? as u32,
            slow_call_rate_threshold: int(&b.slow_rate, "policies.breaker.slow_rate", 100, 100)? as u32,
            slow_call_duration: duration(&b.slow_call, "policies.breaker.slow_call", 60_000_000_000)?,
            minimum_number_of_calls: int(&b.min_calls, "policies.breaker.min_calls", 10, 1_000_000)? as u32,
            wait_duration_in_open: duration(&b.wait, "policies.breaker.wait", 5_000_000_000)?,
            permitted_calls_in_half_open: int(&b.half_open_calls, "policies.breaker.half_open_calls", 3, 10_000)?
                as u32,
        })
    }
}
