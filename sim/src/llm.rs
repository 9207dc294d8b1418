//! A simulated LLM endpoint: [`LlmModel`] (parameters) and [`LlmService`]
//! (state), as a pure, deterministic state machine.
//!
//! The service takes the current virtual time and a random stream and returns
//! decisions; the world turns them into events. It reads no clock and
//! iterates no hash map.
//!
//! # One call
//!
//! 1. **Tokens.** `(input, output)` are drawn at arrival, from two `Dist`s or
//!    resampled as a pair from a trace of real requests ([`TokenSource`]).
//! 2. **Rate limits** ([`RateLimits`]): requests per minute and tokens per
//!    minute, token buckets refilled continuously, starting full. A call over
//!    either limit is answered at once with
//!    `ServiceError::RateLimited { retry_after }`, `retry_after` being the
//!    time until both buckets have enough; it takes nothing from either
//!    bucket. **What a call counts against TPM**: input tokens + the call's
//!    `max_output_tokens` if the model sets one, else input + the output
//!    tokens the call will produce. This is OpenAI's rule (input + `max_tokens`,
//!    charged when the request is admitted); with no `max_tokens` we charge
//!    the actual output, which the simulator knows in advance. (Anthropic
//!    splits input and output per-minute limits; model that with input-only
//!    accounting in a later version if needed.)
//! 3. **Concurrency**: at most `max_concurrency` calls in progress; the rest
//!    wait in a FIFO queue. If the queue is at `queue_limit`, the call is
//!    rejected at once as chosen by [`Overload`]: a 429
//!    (`RateLimited { retry_after }`) or a 503 (`ServiceError::Unavailable`).
//! 4. **Start** (now, or when a slot frees): time to first token (TTFT), plus
//!    a cold-start extra with some probability; time per output token (TPOT),
//!    one draw per call. Then one roll decides the outcome: a hang (no answer
//!    at all; the caller's timeout settles it), a 5xx (answered after the
//!    TTFT, no output tokens, no cost), or success after
//!    `TTFT + (output - 1) x TPOT`. A brownout multiplies latencies and adds
//!    to the 5xx rate while set.
//!
//! # Slots
//!
//! A call that starts (`Start::Started`, or returned by `finish`) holds a
//! slot until the world calls [`LlmService::finish`]: at the answer's time for
//! an answer, and for a hang when the caller gives up (its timeout closes the
//! connection). A queued call whose caller gives up is removed with
//! [`LlmService::cancel`].
//!
//! # Draws
//!
//! Per arriving call: the tokens (a fixed number of draws for a given
//! model). Per started call: TTFT, TPOT, the cold-start roll and extra (when
//! the model has a cold start), and the outcome roll. So one call's outcome
//! never shifts the number of draws of the next.

use std::collections::VecDeque;
use std::sync::Arc;

use rand_core::Rng;
use rehearsal_runtime::{Nanos, ServiceError, ServiceOutcome};

use crate::dist::{Dist, unit_f64};
use crate::ratelimit::RateLimiter;
pub use crate::ratelimit::RateLimits;

/// Where a call's `(input, output)` token counts come from.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenSource {
    /// Independent draws (rounded; output at least 1).
    Dists { input: Dist, output: Dist },
    /// Resampled uniformly, as pairs, from real requests (see
    /// [`load_token_trace`]). Must not be empty.
    Trace(Arc<[(u32, u32)]>),
}

impl TokenSource {
    /// Draw one call's `(input, output)` tokens; output at least 1.
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> (u32, u32) {
        match self {
            TokenSource::Dists { input, output } => {
                (clamp_u32(input.sample_u64(rng)), clamp_u32(output.sample_u64(rng)).max(1))
            }
            TokenSource::Trace(pairs) => {
                // Multiply-shift: an index in [0, len) from one u64.
                let i = ((rng.next_u64() as u128 * pairs.len() as u128) >> 64) as usize;
                let (input, output) = pairs[i];
                (input, output.max(1))
            }
        }
    }
}

/// A cold-start tail: with `probability`, `extra` (ns) is added to the TTFT.
#[derive(Clone, Debug, PartialEq)]
pub struct ColdStart {
    pub probability: f64,
    pub extra: Dist,
}

/// A degraded period, set and cleared by the world from its fault schedule.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Brownout {
    /// Multiplies every latency of calls started while set (>= 0).
    pub latency_x: f64,
    /// Added to the 5xx rate of calls started while set.
    pub error_rate_add: f64,
}

/// How a call is rejected when the queue is full.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Overload {
    /// HTTP 429 with this `retry_after`.
    TooManyRequests { retry_after: Nanos },
    /// HTTP 503: answered as `ServiceError::Unavailable`.
    Unavailable,
}

/// An LLM endpoint's behaviour. Latencies are in nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct LlmModel {
    /// Time to first token.
    pub ttft: Dist,
    /// Time per output token after the first (one draw per call).
    pub tpot: Dist,
    pub tokens: TokenSource,
    /// The `max_tokens` of the calls: caps the output and is what a call
    /// counts against the TPM limit (with the input). `None`: no cap, and
    /// the actual output counts.
    pub max_output_tokens: Option<u32>,
    /// Calls in progress at once; `None` = unlimited.
    pub max_concurrency: Option<u32>,
    /// Calls waiting for a slot at once; `None` = unlimited.
    pub queue_limit: Option<u32>,
    /// What a call gets when the queue is full.
    pub overload: Overload,
    pub rate_limits: RateLimits,
    /// Chance a started call fails with a 5xx, in `[0, 1]`.
    pub error_rate: f64,
    /// Chance a started call never answers, in `[0, 1]`.
    pub hang_rate: f64,
    pub cold_start: Option<ColdStart>,
    /// Currency units per 1000 input tokens (charged on success only).
    pub cost_per_1k_input: f64,
    /// Currency units per 1000 output tokens (charged on success only).
    pub cost_per_1k_output: f64,
}

/// Seconds to nanoseconds.
const S: f64 = 1e9;

/// A profile fitted to data: TTFT and TPOT (seconds) by median and p90,
/// and an optional cold start (probability, extra median and p90 in seconds).
struct Profile {
    name: &'static str,
    ttft: (f64, f64),
    tpot: (f64, f64),
    cold: Option<(f64, f64, f64)>,
}

/// Cold-start extra (seconds) for replicate: a log-normal with median 15 s,
/// p90 47.5 s (sigma 0.9), chosen by grid search so that the mixture's p90
/// and p99 of TTFT match the data (12.3 s, 63.6 s).
const REPLICATE_COLD_EXTRA: (f64, f64) = (15.0, 47.5);

/// Fitted from `llmperf-leaderboard-2023/<name>.json` (ray-project/llmperf-
/// leaderboard, raw_data/individual, Dec 2023: Llama-2-70B chat, 550 input /
/// 150 output tokens, concurrency 5), successful requests only
/// (`error_code == null`). TTFT = `ttft_s`; TPOT =
/// `(end_to_end_latency_s - ttft_s) / (number_output_tokens - 1)`.
/// Log-normals by the data's median and p90 (linear-interpolated
/// percentiles), which they hit exactly.
///
/// - `lepton_70b`: only 20 successful requests (130 of 150 were 429s at
///   concurrency 5), so its fit is thin.
/// - `replicate_70b`: the TTFT is bimodal plus a heavy tail: 23 of 145
///   requests (0.1586) took >= 1.9 s (up to 71.6 s). Base TTFT = log-normal
///   fitted to the 122 requests under 1.9 s (median 1.0637 s, p90 1.6994 s),
///   plus the cold start `REPLICATE_COLD_EXTRA` with probability 0.1586.
/// - `llama-2-70b`: all eight 70B providers pooled (1,014 successful
///   requests). Replicate's cold starts are 145/1014 of the pool, so the
///   pool has a cold start with probability 0.1586 x 145 / 1014 = 0.0227;
///   the base TTFT (median 0.39 s, p90 0.95 s) was chosen so the mixture's
///   median and p90 match the pool's (0.402 s, 1.033 s). TPOT is pooled
///   across providers (bimodal: 3.7 ms groq to 86 ms replicate), fitted by
///   median and p90 only: its p99 (258 ms) overshoots the data's (90 ms),
///   and the TTFT p99 is 17.5 s vs 12.9 s.
const PROFILES: &[Profile] = &[
    Profile { name: "llama-2-70b", ttft: (0.39, 0.95), tpot: (0.02126, 0.08432), cold: Some((0.0227, 15.0, 47.5)) },
    Profile { name: "anyscale_70b", ttft: (0.2128, 0.3212), tpot: (0.01384, 0.01862), cold: None },
    Profile { name: "bedrock_70b", ttft: (0.3877, 0.4904), tpot: (0.04387, 0.04747), cold: None },
    Profile { name: "fireworks_70b", ttft: (0.5166, 0.6362), tpot: (0.02164, 0.02397), cold: None },
    Profile { name: "groq_70b", ttft: (0.2219, 0.2988), tpot: (0.00374, 0.00433), cold: None },
    Profile { name: "lepton_70b", ttft: (0.9253, 0.9960), tpot: (0.02414, 0.02565), cold: None },
    Profile { name: "perplexity_70b", ttft: (0.3661, 0.6118), tpot: (0.03048, 0.03420), cold: None },
    Profile {
        name: "replicate_70b",
        ttft: (1.0637, 1.6994),
        tpot: (0.08558, 0.08992),
        cold: Some((0.1586, REPLICATE_COLD_EXTRA.0, REPLICATE_COLD_EXTRA.1)),
    },
    Profile { name: "together_70b", ttft: (0.6353, 0.7336), tpot: (0.01151, 0.01393), cold: None },
];

/// Default token counts: log-normals fitted by median and p90 to
/// `azure-llm-inference-2023/AzureLLMInferenceTrace_conv.csv` (19,366
/// requests): context tokens p50/p90 = 1020/2734.5, generated 129/424.
/// (Their p99s overshoot the data's: 6,110 vs 4,142 input, 1,118 vs 601
/// output; use `TokenSource::Trace` for the real joint distribution.)
pub fn azure_conv_tokens() -> TokenSource {
    TokenSource::Dists {
        input: Dist::lognormal_from_median_p90(1020.0, 2734.5),
        output: Dist::lognormal_from_median_p90(129.0, 424.0),
    }
}

impl LlmModel {
    /// A model with these latencies and nothing else: Azure conv token
    /// counts, no cap, no concurrency limit or queue (a full queue would
    /// answer 503), no rate limits, errors, hangs, cold starts or cost.
    pub fn new(ttft: Dist, tpot: Dist) -> LlmModel {
        LlmModel {
            ttft,
            tpot,
            tokens: azure_conv_tokens(),
            max_output_tokens: None,
            max_concurrency: None,
            queue_limit: None,
            overload: Overload::Unavailable,
            rate_limits: RateLimits::default(),
            error_rate: 0.0,
            hang_rate: 0.0,
            cold_start: None,
            cost_per_1k_input: 0.0,
            cost_per_1k_output: 0.0,
        }
    }

    /// The names accepted by [`LlmModel::profile`].
    pub fn profile_names() -> impl Iterator<Item = &'static str> {
        PROFILES.iter().map(|p| p.name)
    }

    /// A named profile fitted to real data (see the comment on `PROFILES` in the source, and
    /// [`azure_conv_tokens`]): latencies and cold start from the data; tokens
    /// from the Azure conv trace; no limits, no errors (the LLMPerf data has
    /// no HTTP 5xx among its 2,845 requests; its 429s come from account rate
    /// limits, which a scenario sets in `rate_limits`), no cost.
    pub fn profile(name: &str) -> Option<LlmModel> {
        let p = PROFILES.iter().find(|p| p.name == name)?;
        let ln = |(median, p90): (f64, f64)| Dist::lognormal_from_median_p90(median * S, p90 * S);
        Some(LlmModel {
            cold_start: p.cold.map(|(probability, median, p90)| ColdStart { probability, extra: ln((median, p90)) }),
            ..LlmModel::new(ln(p.ttft), ln(p.tpot))
        })
    }

    /// Check the parameters; the message names the bad one.
    pub fn validate(&self) -> Result<(), String> {
        let unit = |name: &str, x: f64| {
            if (0.0..=1.0).contains(&x) { Ok(()) } else { Err(format!("{name} must be in [0, 1], got {x}")) }
        };
        unit("error_rate", self.error_rate)?;
        unit("hang_rate", self.hang_rate)?;
        unit("error_rate + hang_rate", self.error_rate + self.hang_rate)?;
        if let Some(c) = &self.cold_start {
            unit("cold_start.probability", c.probability)?;
        }
        if matches!(&self.tokens, TokenSource::Trace(t) if t.is_empty()) {
            return Err("the token trace is empty".into());
        }
        if self.max_concurrency == Some(0) {
            return Err("max_concurrency must be at least 1".into());
        }
        for (name, limit) in [
            ("requests_per_minute", self.rate_limits.requests_per_minute),
            ("tokens_per_minute", self.rate_limits.tokens_per_minute),
        ] {
            // NaN is not positive either.
            if let Some(x) = limit
                && x.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
            {
                return Err(format!("{name} must be positive, got {x}"));
            }
        }
        if self.cost_per_1k_input < 0.0 || self.cost_per_1k_output < 0.0 {
            return Err("costs must not be negative".into());
        }
        Ok(())
    }

    /// One call's `(input, output)` tokens, output capped at
    /// `max_output_tokens`.
    pub fn draw_tokens<R: Rng + ?Sized>(&self, rng: &mut R) -> (u32, u32) {
        let (input, output) = self.tokens.draw(rng);
        (input, self.max_output_tokens.map_or(output, |m| output.min(m.max(1))))
    }

    /// One started call's latencies and rolls (no brownout applied).
    pub fn draw_start<R: Rng + ?Sized>(&self, rng: &mut R) -> StartDraw {
        let mut ttft = self.ttft.sample(rng);
        let tpot = self.tpot.sample(rng);
        let mut cold = false;
        if let Some(c) = &self.cold_start {
            let roll = unit_f64(rng);
            let extra = c.extra.sample(rng);
            if roll < c.probability {
                cold = true;
                ttft += extra;
            }
        }
        StartDraw { ttft, tpot, cold, outcome_roll: unit_f64(rng) }
    }
}

/// The random part of one started call (see [`LlmModel::draw_start`]).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct StartDraw {
    /// Time to first token, ns, cold-start extra included.
    pub ttft: f64,
    /// Time per output token, ns.
    pub tpot: f64,
    /// Whether the cold-start extra was added.
    pub cold: bool,
    /// Uniform on `[0, 1)`: hang below `hang_rate`, then 5xx.
    pub outcome_roll: f64,
}

/// The answer to one call.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct LlmAnswer {
    /// From the call's start (not its arrival) to the answer.
    pub latency: Nanos,
    /// Time to first token from the start (equal to `latency` for a 5xx, 0
    /// for a rejection).
    pub ttft: Nanos,
    /// Time the call waited in the queue before starting.
    pub queued: Nanos,
    pub outcome: ServiceOutcome,
    pub input_tokens: u32,
    /// 0 unless the call succeeded.
    pub output_tokens: u32,
    /// Currency units; 0 unless the call succeeded.
    pub cost: f64,
    pub cold_start: bool,
}

/// What a started call does.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum LlmDecision {
    /// Answered after `latency` (the call holds its slot until then).
    Answer(LlmAnswer),
    /// Never answered: the caller's timeout settles it; the call holds its
    /// slot until the world calls `finish`.
    Hang { queued: Nanos, input_tokens: u32 },
}

/// What [`LlmService::start`] decided.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Start<T> {
    /// Started now; holds a slot until `finish`.
    Started(LlmDecision),
    /// Waiting for a slot; a later `finish` starts it.
    Queued,
    /// Answered at once without taking a slot: rate limited (429) or queue
    /// full ([`Overload`]). The caller handle is given back.
    Rejected(T, LlmAnswer),
}

/// Counters of one service.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct LlmStats {
    /// Calls that arrived.
    pub calls: u64,
    /// Calls that started (got a slot).
    pub started: u64,
    pub ok: u64,
    /// 5xx answers.
    pub errors: u64,
    /// 429s from the provider rate limits.
    pub rate_limited: u64,
    /// Rejected because the queue was full.
    pub overloaded: u64,
    pub hangs: u64,
    /// Calls that had to wait for a slot.
    pub queued: u64,
    pub max_queue_len: u64,
    pub cold_starts: u64,
    /// Tokens of successful calls.
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Total cost of successful calls.
    pub cost: f64,
}

#[derive(Clone, Debug)]
struct Waiting<T> {
    caller: T,
    arrival: Nanos,
    input: u32,
    output: u32,
    draw: StartDraw,
}

/// The state of one LLM endpoint. `T` is the world's opaque caller handle.
#[derive(Clone, Debug)]
pub struct LlmService<T> {
    model: LlmModel,
    limiter: RateLimiter,
    in_flight: u32,
    queue: VecDeque<Waiting<T>>,
    brownout: Option<Brownout>,
    stats: LlmStats,
}

impl<T> LlmService<T> {
    pub fn new(model: LlmModel) -> Self {
        debug_assert_eq!(model.validate(), Ok(()));
        LlmService {
            limiter: RateLimiter::new(&model.rate_limits),
            model,
            in_flight: 0,
            queue: VecDeque::new(),
            brownout: None,
            stats: LlmStats::default(),
        }
    }

    pub fn model(&self) -> &LlmModel {
        &self.model
    }

    pub fn stats(&self) -> &LlmStats {
        &self.stats
    }

    /// Calls holding a slot.
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// Calls waiting for a slot.
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Set or clear a brownout; it applies to calls started while set.
    pub fn set_brownout(&mut self, brownout: Option<Brownout>) {
        self.brownout = brownout;
    }

    pub fn brownout(&self) -> Option<Brownout> {
        self.brownout
    }

    /// A call arrives at `now`. Everything random about it (tokens,
    /// latencies, outcome roll) is drawn now from `rng`, even if it has to
    /// wait for a slot: give each call its own stream
    /// ([`crate::rng::call_stream`]) and its fate does not depend on the
    /// calls before it.
    pub fn start<R: Rng + ?Sized>(&mut self, now: Nanos, rng: &mut R, caller: T) -> Start<T> {
        self.start_with_context(now, rng, caller, 0)
    }

    /// [`LlmService::start`] for a call whose prompt carries `context`
    /// tokens beyond the drawn input: the conversation so far (an agent's
    /// earlier turns), which costs, counts against the token rate limit,
    /// and grows turn by turn.
    pub fn start_with_context<R: Rng + ?Sized>(
        &mut self,
        now: Nanos,
        rng: &mut R,
        caller: T,
        context: u32,
    ) -> Start<T> {
        self.stats.calls += 1;
        let (input, output) = self.model.draw_tokens(rng);
        let input = input.saturating_add(context);
        let draw = self.model.draw_start(rng);
        let counted = input as u64 + self.model.max_output_tokens.unwrap_or(output) as u64;
        if let Err(retry_after) = self.limiter.admit(now, counted) {
            self.stats.rate_limited += 1;
            return Start::Rejected(caller, rejection(ServiceError::RateLimited { retry_after }, input));
        }
        let free = self.model.max_concurrency.is_none_or(|m| self.in_flight < m);
        if free {
            self.in_flight += 1;
            return Start::Started(self.begin(now, draw, now, input, output));
        }
        if self.model.queue_limit.is_some_and(|l| self.queue.len() >= l as usize) {
            self.stats.overloaded += 1;
            let error = match self.model.overload {
                Overload::TooManyRequests { retry_after } => ServiceError::RateLimited { retry_after },
                Overload::Unavailable => ServiceError::Unavailable,
            };
            return Start::Rejected(caller, rejection(error, input));
        }
        self.queue.push_back(Waiting { caller, arrival: now, input, output, draw });
        self.stats.queued += 1;
        self.stats.max_queue_len = self.stats.max_queue_len.max(self.queue.len() as u64);
        Start::Queued
    }

    /// A call holding a slot ended at `now` (answered, or its caller gave up
    /// on a hang). If a call is waiting, it starts now and is returned.
    pub fn finish(&mut self, now: Nanos) -> Option<(T, LlmDecision)> {
        debug_assert!(self.in_flight > 0, "finish without a call in flight");
        match self.queue.pop_front() {
            // The freed slot passes straight to the next call.
            Some(w) => {
                let decision = self.begin(now, w.draw, w.arrival, w.input, w.output);
                Some((w.caller, decision))
            }
            None => {
                self.in_flight = self.in_flight.saturating_sub(1);
                None
            }
        }
    }

    /// Remove the first queued call whose handle matches (its caller gave
    /// up before it started). Returns it, or `None` if none matched.
    pub fn cancel(&mut self, mut matches: impl FnMut(&T) -> bool) -> Option<T> {
        let i = self.queue.iter().position(|w| matches(&w.caller))?;
        self.queue.remove(i).map(|w| w.caller)
    }

    fn begin(&mut self, now: Nanos, d: StartDraw, arrival: Nanos, input: u32, output: u32) -> LlmDecision {
        self.stats.started += 1;
        let queued = now - arrival;
        if d.cold {
            self.stats.cold_starts += 1;
        }
        let (latency_x, error_add) = self.brownout.map_or((1.0, 0.0), |b| (b.latency_x, b.error_rate_add));
        if d.outcome_roll < self.model.hang_rate {
            self.stats.hangs += 1;
            return LlmDecision::Hang { queued, input_tokens: input };
        }
        let ttft = to_nanos(d.ttft * latency_x);
        if d.outcome_roll < self.model.hang_rate + self.model.error_rate + error_add {
            self.stats.errors += 1;
            return LlmDecision::Answer(LlmAnswer {
                latency: ttft,
                ttft,
                queued,
                outcome: ServiceOutcome::Failed(ServiceError::ServerError),
                input_tokens: input,
                output_tokens: 0,
                cost: 0.0,
                cold_start: d.cold,
            });
        }
        let latency = to_nanos((d.ttft + (output - 1) as f64 * d.tpot) * latency_x);
        let cost = input as f64 / 1000.0 * self.model.cost_per_1k_input
            + output as f64 / 1000.0 * self.model.cost_per_1k_output;
        self.stats.ok += 1;
        self.stats.input_tokens += input as u64;
        self.stats.output_tokens += output as u64;
        self.stats.cost += cost;
        LlmDecision::Answer(LlmAnswer {
            latency,
            ttft,
            queued,
            outcome: ServiceOutcome::Ok { output_tokens: output },
            input_tokens: input,
            output_tokens: output,
            cost,
            cold_start: d.cold,
        })
    }
}

fn rejection(error: ServiceError, input: u32) -> LlmAnswer {
    LlmAnswer {
        latency: 0,
        ttft: 0,
        queued: 0,
        outcome: ServiceOutcome::Failed(error),
        input_tokens: input,
        output_tokens: 0,
        cost: 0.0,
        cold_start: false,
    }
}

fn to_nanos(x: f64) -> Nanos {
    if x >= u64::MAX as f64 {
        u64::MAX
    } else if x > 0.0 {
        libm::round(x) as u64
    } else {
        0
    }
}

fn clamp_u32(x: u64) -> u32 {
    x.min(u32::MAX as u64) as u32
}

/// A malformed token trace; `line` is 1-based.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("token trace, line {line}: {message}")]
pub struct TraceError {
    pub line: usize,
    pub message: String,
}

/// Parse a CSV of real requests into `(input, output)` token pairs.
///
/// Accepted: the Azure LLM inference trace format
/// `TIMESTAMP,ContextTokens,GeneratedTokens` (3 columns; the timestamp is
/// ignored) and 2-column `input,output`. A first line whose token fields are
/// not numbers is a header; blank lines are skipped; `\r\n` is accepted.
/// Every data line must have the same number of columns as the first.
pub fn load_token_trace(text: &str) -> Result<Arc<[(u32, u32)]>, TraceError> {
    let mut pairs = Vec::new();
    let mut columns = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let row = raw.trim();
        if row.is_empty() {
            continue;
        }
        let fields: Vec<&str> = row.split(',').map(str::trim).collect();
        let n = *columns.get_or_insert(fields.len());
        if n != 2 && n != 3 {
            return Err(TraceError {
                line,
                message: format!(
                    "expected 3 columns (TIMESTAMP,ContextTokens,GeneratedTokens) or 2 (input,output), got {}",
                    fields.len()
                ),
            });
        }
        if fields.len() != n {
            return Err(TraceError { line, message: format!("expected {n} columns, got {}", fields.len()) });
        }
        let (a, b) = (fields[n - 2], fields[n - 1]);
        match (a.parse::<u32>(), b.parse::<u32>()) {
            (Ok(input), Ok(output)) => pairs.push((input, output)),
            _ if pairs.is_empty() && line_is_first(text, i) => {} // header
            (Err(_), _) => return Err(TraceError { line, message: format!("input tokens: not a count: {a:?}") }),
            (_, Err(_)) => return Err(TraceError { line, message: format!("output tokens: not a count: {b:?}") }),
        }
    }
    if pairs.is_empty() {
        return Err(TraceError { line: text.lines().count().max(1), message: "no requests in the trace".into() });
    }
    Ok(pairs.into())
}

/// Whether line index `i` is the first non-blank line of `text`.
fn line_is_first(text: &str, i: usize) -> bool {
    text.lines().position(|l| !l.trim().is_empty()) == Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn constant(ns: f64) -> Dist {
        Dist::Constant { value: ns }
    }

    fn simple() -> LlmModel {
        LlmModel {
            tokens: TokenSource::Dists { input: constant(50.0), output: constant(11.0) },
            cost_per_1k_input: 1.0,
            cost_per_1k_output: 2.0,
            ..LlmModel::new(constant(100.0), constant(10.0))
        }
    }

    fn answer<T>(s: Start<T>) -> LlmAnswer {
        match s {
            Start::Started(LlmDecision::Answer(a)) => a,
            Start::Rejected(_, a) => a,
            _ => panic!("no answer"),
        }
    }

    #[test]
    fn latency_is_ttft_plus_tpot_per_later_token_and_cost_is_charged() {
        let mut s = LlmService::new(simple());
        let mut rng = stream(1, "llm");
        let a = answer(s.start(0, &mut rng, ()));
        assert_eq!(a.latency, 100 + 10 * 10);
        assert_eq!(a.ttft, 100);
        assert_eq!(a.outcome, ServiceOutcome::Ok { output_tokens: 11 });
        assert!((a.cost - (0.05 + 0.022)).abs() < 1e-12);
        assert_eq!(s.stats().ok, 1);
    }

    #[test]
    fn brownout_multiplies_latency_and_adds_errors() {
        let mut s = LlmService::new(simple());
        let mut rng = stream(1, "llm");
        s.set_brownout(Some(Brownout { latency_x: 3.0, error_rate_add: 0.5 }));
        let n = 20_000;
        let mut errors = 0;
        for _ in 0..n {
            let a = answer(s.start(0, &mut rng, ()));
            s.finish(0);
            match a.outcome {
                ServiceOutcome::Ok { .. } => assert_eq!(a.latency, 600),
                ServiceOutcome::Failed(ServiceError::ServerError) => {
                    assert_eq!(a.latency, 300);
                    errors += 1
                }
                o => panic!("{o:?}"),
            }
        }
        assert!((errors as f64 / n as f64 - 0.5).abs() < 0.01, "{errors}");
        s.set_brownout(None);
        assert_eq!(answer(s.start(0, &mut rng, ())).latency, 200);
    }

    #[test]
    fn rates_of_errors_hangs_and_cold_starts() {
        let mut m = simple();
        m.error_rate = 0.1;
        m.hang_rate = 0.05;
        m.cold_start = Some(ColdStart { probability: 0.2, extra: constant(1000.0) });
        let mut s = LlmService::new(m);
        let mut rng = stream(2, "llm");
        let n = 100_000;
        let mut cold_answers = 0;
        for _ in 0..n {
            if let Start::Started(LlmDecision::Answer(a)) = s.start(0, &mut rng, ()) {
                assert_eq!(a.ttft, if a.cold_start { 1100 } else { 100 });
                cold_answers += a.cold_start as u64;
            }
            s.finish(0);
        }
        let st = s.stats();
        let rate = |x: u64| x as f64 / n as f64;
        assert!((rate(st.errors) - 0.1).abs() < 0.005, "{st:?}");
        assert!((rate(st.hangs) - 0.05).abs() < 0.005, "{st:?}");
        assert!((rate(st.cold_starts) - 0.2).abs() < 0.005, "{st:?}");
        assert_eq!(st.ok + st.errors + st.hangs, n);
        assert!(cold_answers > 0 && cold_answers <= st.cold_starts);
    }

    #[test]
    fn concurrency_limit_queues_fifo_then_rejects() {
        let mut m = simple();
        m.max_concurrency = Some(2);
        m.queue_limit = Some(2);
        m.overload = Overload::TooManyRequests { retry_after: 7 };
        let mut s = LlmService::new(m);
        let mut rng = stream(3, "llm");
        assert!(matches!(s.start(0, &mut rng, 1), Start::Started(_)));
        assert!(matches!(s.start(0, &mut rng, 2), Start::Started(_)));
        assert!(matches!(s.start(5, &mut rng, 3), Start::Queued));
        assert!(matches!(s.start(6, &mut rng, 4), Start::Queued));
        match s.start(7, &mut rng, 5) {
            Start::Rejected(5, a) => {
                assert_eq!(a.outcome, ServiceOutcome::Failed(ServiceError::RateLimited { retry_after: 7 }))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.in_flight(), 2);
        // FIFO: 3 starts first, having waited 10 - 5.
        match s.finish(10) {
            Some((3, LlmDecision::Answer(a))) => assert_eq!(a.queued, 5),
            other => panic!("{other:?}"),
        }
        // 4's caller gives up while queued.
        assert_eq!(s.cancel(|&c| c == 4), Some(4));
        assert_eq!(s.finish(20).map(|x| x.0), None);
        assert_eq!(s.in_flight(), 1);
        assert_eq!(s.finish(20).map(|x| x.0), None);
        assert_eq!(s.in_flight(), 0);
        let st = s.stats();
        assert_eq!((st.calls, st.started, st.queued, st.max_queue_len, st.overloaded), (5, 3, 2, 2, 1));
    }

    #[test]
    fn overload_503_is_unavailable() {
        let mut m = simple();
        m.max_concurrency = Some(1);
        m.queue_limit = Some(0);
        let mut s = LlmService::new(m);
        let mut rng = stream(3, "llm");
        assert!(matches!(s.start(0, &mut rng, ()), Start::Started(_)));
        let a = answer(s.start(0, &mut rng, ()));
        assert_eq!(a.outcome, ServiceOutcome::Failed(ServiceError::Unavailable));
    }

    /// Offered load 3x the limit, Poisson arrivals, for 500 simulated
    /// minutes: the accepted rate is the configured one within 1%.
    fn accepted_rate(limits: RateLimits, offered_per_min: f64, counted_per_call: f64) -> f64 {
        let mut m = simple();
        m.rate_limits = limits;
        m.tokens = TokenSource::Dists { input: constant(counted_per_call - 11.0), output: constant(11.0) };
        let mut s = LlmService::new(m);
        let mut rng = stream(4, "llm");
        let mut arr = stream(4, "workload");
        let minutes = 500.0;
        let end = (minutes * 60e9) as Nanos;
        let process = crate::arrivals::Process::Poisson { rate_per_s: offered_per_min / 60.0 };
        let mut arrivals = crate::arrivals::Arrivals::new(&process, end, &mut arr);
        let mut accepted = 0u64;
        let mut min_retry = u64::MAX;
        while let Some(now) = arrivals.next(&mut arr) {
            match s.start(now, &mut rng, ()) {
                Start::Started(_) => {
                    accepted += 1;
                    s.finish(now);
                }
                Start::Rejected(_, a) => match a.outcome {
                    ServiceOutcome::Failed(ServiceError::RateLimited { retry_after }) => {
                        min_retry = min_retry.min(retry_after)
                    }
                    o => panic!("{o:?}"),
                },
                Start::Queued => panic!("no concurrency limit"),
            }
        }
        assert!(min_retry > 0);
        accepted as f64 / minutes
    }

    #[test]
    fn rpm_limit_holds_under_3x_load() {
        let rate =
            accepted_rate(RateLimits { requests_per_minute: Some(120.0), tokens_per_minute: None }, 360.0, 100.0);
        assert!((rate / 120.0 - 1.0).abs() < 0.01, "{rate}");
    }

    #[test]
    fn tpm_limit_holds_under_3x_load() {
        // 100 tokens per call (input + output), 12,000 TPM = 120 calls/min.
        let rate = accepted_rate(
            RateLimits { requests_per_minute: Some(1000.0), tokens_per_minute: Some(12_000.0) },
            360.0,
            100.0,
        );
        assert!((rate / 120.0 - 1.0).abs() < 0.01, "{rate}");
    }

    #[test]
    fn retry_after_is_when_the_bucket_has_enough() {
        let mut m = simple();
        m.rate_limits = RateLimits { requests_per_minute: Some(1.0), tokens_per_minute: None };
        let mut s = LlmService::new(m);
        let mut rng = stream(5, "llm");
        assert!(matches!(s.start(0, &mut rng, ()), Start::Started(_)));
        let a = answer(s.start(15_000_000_000, &mut rng, ()));
        assert_eq!(a.outcome, ServiceOutcome::Failed(ServiceError::RateLimited { retry_after: 45_000_000_000 }));
        assert!(matches!(s.start(60_000_000_000, &mut rng, ()), Start::Started(_)));
        assert_eq!(s.stats().rate_limited, 1);
    }

    #[test]
    fn context_adds_to_input_tokens_cost_and_tpm() {
        let mut m = simple();
        // 50 drawn + 30 context + 5 output = 85 of 100 TPM: a second call
        // with context does not fit, as one without it would.
        m.max_output_tokens = Some(5);
        m.rate_limits = RateLimits { requests_per_minute: None, tokens_per_minute: Some(100.0) };
        let mut s = LlmService::new(m);
        let mut rng = stream(6, "llm");
        let a = answer(s.start_with_context(0, &mut rng, (), 30));
        assert_eq!(a.input_tokens, 80);
        // 80 input tokens at 1 per 1k, 5 output at 2 per 1k.
        assert!((a.cost - 0.09).abs() < 1e-12, "cost {}", a.cost);
        assert!(matches!(answer(s.start_with_context(0, &mut rng, (), 30)).outcome, ServiceOutcome::Failed(_)));
    }

    #[test]
    fn max_output_tokens_caps_output_and_counts_against_tpm() {
        let mut m = simple();
        m.max_output_tokens = Some(5);
        // Each call counts 50 + 5 = 55 tokens: one fits in 100 TPM, not two.
        m.rate_limits = RateLimits { requests_per_minute: None, tokens_per_minute: Some(100.0) };
        let mut s = LlmService::new(m);
        let mut rng = stream(6, "llm");
        assert_eq!(answer(s.start(0, &mut rng, ())).output_tokens, 5);
        assert!(matches!(answer(s.start(0, &mut rng, ())).outcome, ServiceOutcome::Failed(_)));
    }

    #[test]
    fn same_seed_same_decisions() {
        let run = || {
            let mut m = LlmModel::profile("replicate_70b").unwrap();
            m.max_concurrency = Some(3);
            m.error_rate = 0.1;
            let mut s = LlmService::new(m);
            let mut rng = stream(9, "llm");
            let mut out = Vec::new();
            for i in 0..200u64 {
                out.push(format!("{:?}", s.start(i * 1000, &mut rng, i)));
                if i % 2 == 0 {
                    out.push(format!("{:?}", s.finish(i * 1000 + 1)));
                }
            }
            out
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn trace_loader_accepts_azure_and_two_column_csv() {
        let azure = "TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:15:46.6805900,374,44\r\n\r\n2023-11-16 18:15:50.9951690,396,109\r\n";
        assert_eq!(&*load_token_trace(azure).unwrap(), &[(374, 44), (396, 109)]);
        assert_eq!(&*load_token_trace("input,output\n1,2\n3,4\n").unwrap(), &[(1, 2), (3, 4)]);
        assert_eq!(&*load_token_trace("1,2\n").unwrap(), &[(1, 2)]);
    }

    #[test]
    fn trace_loader_errors_name_the_line() {
        let e = load_token_trace("input,output\n1,2\n3,x\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().contains("line 3"), "{e}");
        assert_eq!(load_token_trace("a,b\n1,2\n1,2,3\n").unwrap_err().line, 3);
        assert_eq!(load_token_trace("1\n").unwrap_err().line, 1);
        assert_eq!(load_token_trace("input,output\n").unwrap_err().message, "no requests in the trace");
        assert_eq!(load_token_trace("").unwrap_err().line, 1);
        // A non-numeric line after data is an error, not a header.
        assert_eq!(load_token_trace("1,2\ninput,output\n").unwrap_err().line, 2);
    }

    #[test]
    fn trace_source_resamples_pairs() {
        let t = TokenSource::Trace(load_token_trace("10,1\n20,2\n30,3\n").unwrap());
        let mut rng = stream(1, "llm");
        let mut seen = [0u32; 3];
        for _ in 0..30_000 {
            let (i, o) = t.draw(&mut rng);
            assert_eq!(i, o * 10);
            seen[o as usize - 1] += 1;
        }
        assert!(seen.iter().all(|&c| (c as i64 - 10_000).abs() < 400), "{seen:?}");
    }

    #[test]
    fn validate_names_the_bad_parameter() {
        let mut m = simple();
        m.error_rate = 0.7;
        m.hang_rate = 0.5;
        assert!(m.validate().unwrap_err().contains("error_rate + hang_rate"));
        let mut m = simple();
        m.rate_limits.tokens_per_minute = Some(0.0);
        assert!(m.validate().unwrap_err().contains("tokens_per_minute"));
        let mut m = simple();
        m.max_concurrency = Some(0);
        assert!(m.validate().unwrap_err().contains("max_concurrency"));
        let mut m = simple();
        m.tokens = TokenSource::Trace(Arc::from(Vec::new()));
        assert!(m.validate().unwrap_err().contains("empty"));
    }

    #[test]
    fn every_profile_is_valid() {
        let names: Vec<_> = LlmModel::profile_names().collect();
        assert!(names.contains(&"llama-2-70b") && names.contains(&"groq_70b") && names.contains(&"replicate_70b"));
        for n in names {
            assert_eq!(LlmModel::profile(n).unwrap().validate(), Ok(()), "{n}");
        }
        assert!(LlmModel::profile("gpt-5").is_none());
    }
}
