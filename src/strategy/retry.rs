//! Axis `retry`: how an agent retries a failed service call.
//!
//! | kind | behaviour |
//! |---|---|
//! | `none` | never retry: the first failure is final |
//! | `fixed` | retry after `base_delay` every time |
//! | `exponential` | retry after `min(max_delay, base_delay * 2^(n-1))` |
//! | `exponential_full_jitter` | retry after a uniform draw from `[0, min(max_delay, base_delay * 2^(n-1))]` |
//! | `exponential_equal_jitter` | half that ceiling plus a uniform draw from the other half |
//! | `decorrelated_jitter` | `min(max_delay, uniform[base_delay, 3 x the previous delay])`, the previous delay starting at `base_delay` (Brooker 2015; each call keeps its own) |
//!
//! `n` counts the failures so far: the first retry waits `base_delay` (the
//! exponent of the first retry is 0).
//!
//! Parameters (every kind but `none`; each defaults to the scenario's
//! `[retry]` table):
//!
//! | parameter | type | meaning |
//! |---|---|---|
//! | `max_attempts` | integer, 1 to 4,294,967,295 | attempts per call, the first included (`1` = never retry) |
//! | `base_delay` | duration | first backoff |
//! | `max_delay` | duration, >= `base_delay` | cap on one backoff |
//!
//! A server's Retry-After (a 429) is honoured by every kind: no retry comes
//! sooner.

use rehearsal_runtime::retry::{RetryPolicy, RetryStrategy};

use super::{AxisValue, AxisValues, Defaults, Param, ValueError};

/// One value of the `retry` axis: a kind and its parameters, defaults
/// filled in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Retry {
    pub kind: RetryStrategy,
    pub max_attempts: u32,
    pub base_delay_ns: u64,
    pub max_delay_ns: u64,
}

impl Retry {
    /// The retry policy every agent of the run uses.
    pub fn configure(&self) -> RetryPolicy {
        RetryPolicy {
            strategy: self.kind,
            max_attempts: self.max_attempts,
            base_delay: self.base_delay_ns,
            max_delay: self.max_delay_ns,
        }
    }

    fn of(kind: RetryStrategy, defaults: &Defaults<'_>) -> Retry {
        let r = defaults.retry;
        Retry { kind, max_attempts: r.max_attempts, base_delay_ns: r.base_delay_ns, max_delay_ns: r.max_delay_ns }
    }
}

const KINDS: &[(&str, RetryStrategy)] = &[
    ("none", RetryStrategy::None),
    ("fixed", RetryStrategy::Fixed),
    ("exponential", RetryStrategy::Exponential),
    ("exponential_full_jitter", RetryStrategy::ExponentialFullJitter),
    ("exponential_equal_jitter", RetryStrategy::ExponentialEqualJitter),
    ("decorrelated_jitter", RetryStrategy::DecorrelatedJitter),
];

impl AxisValue for Retry {
    const NAME: &'static str = "retry";
    const KINDS: &'static [&'static str] =
        &["none", "fixed", "exponential", "exponential_full_jitter", "exponential_equal_jitter", "decorrelated_jitter"];
    const PARAMS: &'static [&'static str] = &["max_attempts", "base_delay", "max_delay"];
    const PARAM_DOCS: &'static [&'static str] = &[
        "an integer >= 1 (attempts, the first included)",
        "a duration such as \"100ms\"",
        "a duration such as \"10s\"",
    ];

    fn default_value(defaults: &Defaults<'_>) -> Retry {
        Retry::of(RetryStrategy::None, defaults)
    }

    fn build(kind: &str, params: &[Param], defaults: &Defaults<'_>) -> Result<Retry, ValueError> {
        let Some(&(_, strategy)) = KINDS.iter().find(|(k, _)| *k == kind) else {
            unreachable!("the loader checks kinds against KINDS")
        };
        let mut r = Retry::of(strategy, defaults);
        if strategy == RetryStrategy::None
            && let Some(p) = params.first()
        {
            return Err(ValueError {
                span: p.span.clone(),
                message: format!("retry kind `none` takes no parameter `{}`", p.name),
                expected: "no parameters".into(),
                hint: Some("`none` never retries; remove the parameter, or choose another `kind`".into()),
            });
        }
        let (mut base, mut max) = (None, None);
        for p in params {
            match p.name.as_str() {
                "max_attempts" => {
                    r.max_attempts = p.positive_int(
                        u64::from(u32::MAX),
                        "max_attempts counts the first attempt, so it is at least 1 (1 = no retries)",
                    )? as u32
                }
                "base_delay" => {
                    r.base_delay_ns = p.duration()?;
                    base = Some(p);
                }
                "max_delay" => {
                    r.max_delay_ns = p.duration()?;
                    max = Some(p);
                }
                _ => unreachable!("the loader checks parameters against PARAMS"),
            }
        }
        if r.max_delay_ns < r.base_delay_ns {
            let at = max.or(base).expect("the defaults are checked to be ordered");
            return Err(at.invalid(
                "`max_delay` >= `base_delay`",
                Some(format!(
                    "`max_delay` caps each backoff, so it cannot be below `base_delay` (here {} ns and {} ns; \
                     what a value leaves out comes from `[retry]`)",
                    r.max_delay_ns, r.base_delay_ns
                )),
            ));
        }
        Ok(r)
    }

    fn wrap(values: Vec<Retry>) -> AxisValues {
        AxisValues::Retry(values)
    }

    fn unwrap(values: &AxisValues) -> Option<&[Retry]> {
        match values {
            AxisValues::Retry(v) => Some(v),
            _ => None,
        }
    }
}
