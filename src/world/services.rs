//! The world's services: each LLM and tool of the scenario as a simulated
//! service (`rehearsal_sim::llm`, `rehearsal_sim::tools`), answering the
//! agents' calls through the kernel, recording each call's span in the
//! request ledger and tallying per service.
//!
//! Common random numbers: every call draws from its own stream, keyed by
//! (seed, service, idempotency key, attempt) ([`call_stream`]), so a call's
//! fate does not depend on the calls that came before it, and two
//! strategies see the same world call by call.

use rehearsal_runtime::{ActorId, Nanos, RequestId, ServiceCall, ServiceOutcome};
use rehearsal_sim::Kernel;
use rehearsal_sim::dist::Dist;
use rehearsal_sim::llm::{
    Brownout, ColdStart, LlmAnswer, LlmDecision, LlmModel, LlmService, RateLimits, Start, TokenSource,
};
use rehearsal_sim::rng::{call_stream, fnv1a64};
use rehearsal_sim::tools::{ToolDecision, ToolModel, ToolService};
use rustc_hash::FxHashMap;

use super::WorldEvent;
use super::tally::Tally;
use rehearsal_runtime::Message;

use crate::fleet::ServiceRef;
use crate::hist;
use crate::ledger::{Ledger, SpanStatus};
use crate::scenario::{OnAbandon, ServiceModel};

/// Who is waiting for a call.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub actor: ActorId,
    pub request: RequestId,
}

impl Caller {
    pub(super) fn key(self) -> (u64, u64) {
        (self.actor.to_bits(), self.request.0)
    }
}

/// An LLM call the world has open (queued or running), by caller.
#[derive(Copy, Clone, Debug)]
struct OpenCall {
    caller: Caller,
    llm: u16,
    span: usize,
    /// When it took a slot, and its answer (`None`: a hang); `None` while
    /// queued.
    running: Option<(Nanos, Option<LlmAnswer>)>,
    /// The caller gave up on it (the service serves it anyway: `finish`).
    abandoned: bool,
}

/// One LLM service in the world.
#[derive(Debug)]
pub struct Llm {
    pub name: String,
    pub service: LlmService<Caller>,
    /// Stream id of `llm:NAME`, for per-call streams.
    stream: u64,
    on_abandon: OnAbandon,
    /// Slot-time integral (ns x calls holding a slot), for busy fraction.
    busy_area: u128,
    last_change: Nanos,
    pub tally: Tally,
}

impl Llm {
    /// Accumulate the slot-time integral up to `now` (call before any
    /// change of the number of calls holding a slot).
    fn advance(&mut self, now: Nanos) {
        let dt = now.saturating_sub(self.last_change);
        self.busy_area += u128::from(dt) * u128::from(self.service.in_flight());
        self.last_change = now;
    }

    /// Mean fraction of the slots busy over `[0, end)`; `None` without a
    /// concurrency limit.
    pub fn busy_fraction(&self, end: Nanos) -> Option<f64> {
        let slots = self.service.model().max_concurrency?;
        let area =
            self.busy_area + u128::from(end.saturating_sub(self.last_change)) * u128::from(self.service.in_flight());
        Some(area as f64 / (end.max(1) as f64 * f64::from(slots.max(1))))
    }
}

/// One tool in the world.
#[derive(Debug)]
pub struct Tool {
    pub name: String,
    pub service: ToolService,
    stream: u64,
    pub tally: Tally,
}

/// Why a scenario's service could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ServiceSetupError {
    #[error("{kind} `{name}`: {message}")]
    Invalid { kind: &'static str, name: String, message: String },
}

/// The simulated LLM model a scenario table describes.
pub fn llm_model(m: &ServiceModel) -> Result<LlmModel, ServiceSetupError> {
    let x = m.llm.clone().unwrap_or_default();
    let base = x.profile.as_deref().and_then(LlmModel::profile);
    let has_profile = base.is_some();
    // Without a profile or `ttft`, `latency` is the whole answer's time.
    let mut model = base.unwrap_or_else(|| LlmModel::new(m.latency.clone(), Dist::Constant { value: 0.0 }));
    if let Some(ttft) = x.ttft {
        model.ttft = ttft;
        model.tpot = x.per_token.clone().unwrap_or(Dist::Constant { value: 0.0 });
    } else if let Some(tpot) = x.per_token {
        model.tpot = tpot;
    } else if !has_profile {
        model.ttft = m.latency.clone();
    }
    if let Some(t) = &m.tokens {
        model.tokens = TokenSource::Dists { input: t.input.clone(), output: t.output.clone() };
    }
    // `tokens_csv` was read when the scenario loaded; no I/O here.
    if let Some(pairs) = &x.token_trace {
        model.tokens = TokenSource::Trace(pairs.clone());
    }
    model.max_concurrency = x.concurrency;
    model.queue_limit = x.queue_limit;
    // A full queue answers 429, as providers do, asking to come back in 1 s.
    model.overload = rehearsal_sim::llm::Overload::TooManyRequests { retry_after: 1_000_000_000 };
    model.rate_limits =
        RateLimits { requests_per_minute: x.rpm.map(f64::from), tokens_per_minute: x.tpm.map(|t| t as f64) };
    model.error_rate = m.error_rate;
    model.hang_rate = x.hang_rate;
    if let Some((probability, extra)) = x.cold_start {
        model.cold_start = Some(ColdStart { probability, extra });
    }
    model.cost_per_1k_input = x.cost_input_per_1k;
    model.cost_per_1k_output = x.cost_output_per_1k;
    model.validate().map_err(|message| ServiceSetupError::Invalid { kind: "LLM", name: m.name.clone(), message })?;
    Ok(model)
}

/// The simulated tool a scenario table describes.
pub fn tool_model(m: &ServiceModel) -> Result<ToolModel, ServiceSetupError> {
    let x = m.tool.clone().unwrap_or_default();
    let model = ToolModel {
        latency: m.latency.clone(),
        error_rate: m.error_rate,
        timeout_rate: x.timeout_rate,
        crash_rate: x.crash_rate,
        timeout_after_effect: x.timeout_after_effect,
    };
    model.validate().map_err(|message| ServiceSetupError::Invalid { kind: "tool", name: m.name.clone(), message })?;
    Ok(model)
}

/// Every service of a run.
#[derive(Debug)]
pub struct Services {
    seed: u64,
    pub llms: Vec<Llm>,
    pub tools: Vec<Tool>,
    /// LLM calls queued or running, by caller. Looked up, never iterated.
    open: FxHashMap<(u64, u64), OpenCall>,
    /// Tool calls whose answer is still on its way, by caller: (tool, span,
    /// when the answer comes). A caller that cancels one before then
    /// stopped waiting: its span ends as cancelled. Looked up, never
    /// iterated but to sweep out answered calls.
    open_tools: FxHashMap<(u64, u64), (u16, usize, Nanos)>,
}

/// Answered tool calls are swept out of `open_tools` when it grows past
/// this (amortised: a sweep keeps only calls still on their way).
const OPEN_TOOLS_SWEEP: usize = 4_096;

impl Services {
    /// Build the scenario's services.
    pub fn new(seed: u64, llms: &[ServiceModel], tools: &[ServiceModel]) -> Result<Self, ServiceSetupError> {
        let llms = llms
            .iter()
            .map(|m| {
                Ok(Llm {
                    name: m.name.clone(),
                    service: LlmService::new(llm_model(m)?),
                    stream: fnv1a64(format!("llm:{}", m.name).as_bytes()),
                    on_abandon: m.llm.as_ref().map_or(OnAbandon::Cancel, |x| x.on_abandon),
                    busy_area: 0,
                    last_change: 0,
                    tally: Tally::default(),
                })
            })
            .collect::<Result<Vec<_>, ServiceSetupError>>()?;
        let tools = tools
            .iter()
            .map(|m| {
                Ok(Tool {
                    name: m.name.clone(),
                    service: ToolService::new(tool_model(m)?),
                    stream: fnv1a64(format!("tool:{}", m.name).as_bytes()),
                    tally: Tally::default(),
                })
            })
            .collect::<Result<Vec<_>, ServiceSetupError>>()?;
        Ok(Services { seed, llms, tools, open: FxHashMap::default(), open_tools: FxHashMap::default() })
    }

    /// An agent called a service: attempt `attempt` of the logical call,
    /// recorded as ledger span `span`.
    pub fn call<M: Message>(
        &mut self,
        caller: Caller,
        call: ServiceCall,
        attempt: u32,
        span: usize,
        ledger: &mut Ledger,
        kernel: &mut Kernel<M, WorldEvent>,
    ) {
        let now = kernel.now();
        match ServiceRef::of(call.service) {
            ServiceRef::Llm(i) => {
                let seed = self.seed;
                let Some(llm) = self.llms.get_mut(i as usize) else { return };
                llm.tally.calls += 1;
                let mut rng = call_stream(seed, llm.stream, call.idempotency_key, attempt);
                llm.advance(now);
                match llm.service.start_with_context(now, &mut rng, caller, call.input_tokens) {
                    Start::Started(decision) => {
                        self.open
                            .insert(caller.key(), OpenCall { caller, llm: i, span, running: None, abandoned: false });
                        self.started(i, caller, span, decision, ledger, kernel);
                    }
                    Start::Queued => {
                        self.open
                            .insert(caller.key(), OpenCall { caller, llm: i, span, running: None, abandoned: false });
                    }
                    Start::Rejected(c, answer) => {
                        llm.tally.answer(answer.outcome, false);
                        if let Some(s) = ledger.span_mut(span) {
                            s.set_started(now);
                            s.end(now, SpanStatus::Answered { ok: false });
                        }
                        kernel.complete_call(now, c.actor, c.request, answer.outcome);
                    }
                }
            }
            // The world routes store calls to its stores before this.
            ServiceRef::Store(_) => {}
            ServiceRef::Tool(i) => {
                let seed = self.seed;
                let Some(tool) = self.tools.get_mut(i as usize) else { return };
                tool.tally.calls += 1;
                let mut rng = call_stream(seed, tool.stream, call.idempotency_key, attempt);
                let Some(s) = ledger.span_mut(span) else { return };
                s.set_started(now);
                let deadline = s.deadline();
                match tool.service.call(now, &mut rng, call.idempotency_key) {
                    ToolDecision::Answer(a) => {
                        let at = now.saturating_add(a.latency);
                        tool.tally.answer(a.outcome, true);
                        hist::record_ns(&mut tool.tally.service_time, a.latency);
                        if at >= deadline {
                            tool.tally.timeouts += 1;
                            s.end(deadline, SpanStatus::TimedOut);
                        } else {
                            s.end(at, SpanStatus::Answered { ok: matches!(a.outcome, ServiceOutcome::Ok { .. }) });
                            if at > now {
                                if self.open_tools.len() >= OPEN_TOOLS_SWEEP {
                                    self.open_tools.retain(|_, &mut (_, _, end)| end > now);
                                }
                                self.open_tools.insert(caller.key(), (i, span, at));
                            }
                        }
                        kernel.complete_call(at, caller.actor, caller.request, a.outcome);
                    }
                    // No answer: the caller's timeout settles it.
                    ToolDecision::Hang { .. } => {
                        tool.tally.hang();
                        tool.tally.timeouts += 1;
                        s.end(deadline, SpanStatus::TimedOut);
                    }
                }
            }
        }
    }

    /// An LLM call of LLM `i` took a slot now: decide when it answers (or
    /// that it hangs), record its span, and schedule its end.
    fn started<M: Message>(
        &mut self,
        i: u16,
        caller: Caller,
        span: usize,
        decision: LlmDecision,
        ledger: &mut Ledger,
        kernel: &mut Kernel<M, WorldEvent>,
    ) {
        let now = kernel.now();
        let Some(llm) = self.llms.get_mut(i as usize) else { return };
        let Some(s) = ledger.span_mut(span) else { return };
        let Some(open) = self.open.get_mut(&caller.key()) else { return };
        let abandoned = open.abandoned;
        s.set_started(now);
        let deadline = s.deadline();
        hist::record_ns(&mut llm.tally.queue_wait, now - s.called_at);
        // Its caller gave up before it started: the work is wasted.
        if abandoned || deadline <= now {
            llm.tally.served_after_abandon += 1;
        }
        let (answer, end) = match decision {
            LlmDecision::Answer(a) => {
                let at = now.saturating_add(a.latency);
                llm.tally.answer(a.outcome, false);
                hist::record_ns(&mut llm.tally.service_time, a.latency);
                if let ServiceOutcome::Ok { output_tokens } = a.outcome {
                    hist::record_ns(&mut llm.tally.ttft, a.ttft);
                    if output_tokens > 1 {
                        hist::record_ns(
                            &mut llm.tally.time_per_token,
                            (a.latency - a.ttft) / u64::from(output_tokens - 1),
                        );
                    }
                }
                llm.tally.input_tokens += u64::from(a.input_tokens) * u64::from(a.output_tokens > 0);
                llm.tally.output_tokens += u64::from(a.output_tokens);
                llm.tally.cost += a.cost;
                s.input_tokens = a.input_tokens;
                s.output_tokens = a.output_tokens;
                if !abandoned {
                    if at >= deadline {
                        llm.tally.timeouts += 1;
                        s.end(deadline.max(s.called_at), SpanStatus::TimedOut);
                    } else {
                        s.end(at, SpanStatus::Answered { ok: matches!(a.outcome, ServiceOutcome::Ok { .. }) });
                    }
                }
                (Some(a), at)
            }
            LlmDecision::Hang { .. } => {
                llm.tally.hang();
                if !abandoned {
                    llm.tally.timeouts += 1;
                    s.end(deadline, SpanStatus::TimedOut);
                }
                // A hung call holds its slot as long as its caller waits
                // (a real client closes the connection then).
                (None, now.saturating_add(deadline - s.called_at))
            }
        };
        open.running = Some((now, answer));
        let (actor, request) = caller.key();
        kernel.schedule(end, WorldEvent::LlmDone { llm: i, actor, request });
    }

    /// The running call of `caller` at LLM `i` is due to end: answer it
    /// (unless it hung) and pass its slot on.
    pub fn llm_done<M: Message>(
        &mut self,
        i: u16,
        caller: (u64, u64),
        ledger: &mut Ledger,
        kernel: &mut Kernel<M, WorldEvent>,
    ) {
        let now = kernel.now();
        // Gone if it was cancelled (and its slot freed) before.
        let Some(open) = self.open.remove(&caller) else { return };
        if let Some((_, Some(a))) = open.running {
            kernel.complete_call(now, open.caller.actor, open.caller.request, a.outcome);
        }
        self.free_slot(i, ledger, kernel);
    }

    /// A slot of LLM `i` is free: the next queued call, if any, starts now.
    fn free_slot<M: Message>(&mut self, i: u16, ledger: &mut Ledger, kernel: &mut Kernel<M, WorldEvent>) {
        let now = kernel.now();
        let Some(llm) = self.llms.get_mut(i as usize) else { return };
        llm.advance(now);
        if let Some((caller, decision)) = llm.service.finish(now) {
            let span = self.open.get(&caller.key()).map(|o| o.span);
            if let Some(span) = span {
                self.started(i, caller, span, decision, ledger, kernel);
            }
        }
    }

    /// The caller gave up on a call (its timeout ran out, it cancelled, or
    /// it died). LLMs with `on_abandon = "cancel"` drop a queued call and
    /// stop a running one; tools cannot take back what they did.
    pub fn cancel<M: Message>(&mut self, caller: Caller, ledger: &mut Ledger, kernel: &mut Kernel<M, WorldEvent>) {
        let now = kernel.now();
        if let Some((tool, span, end)) = self.open_tools.remove(&caller.key()) {
            // The tool still does its work (its side effect happens); the
            // caller no longer waits for the answer.
            if end > now
                && let Some(s) = ledger.span_mut(span)
            {
                s.end(now, SpanStatus::Cancelled);
                if let Some(t) = self.tools.get_mut(usize::from(tool)) {
                    t.tally.cancelled += 1;
                }
            }
            return;
        }
        let Some(open) = self.open.get_mut(&caller.key()) else { return };
        if open.abandoned {
            return;
        }
        let (i, span, running) = (open.llm, open.span, open.running);
        let Some(llm) = self.llms.get_mut(i as usize) else { return };
        let Some(s) = ledger.span_mut(span) else { return };
        let timed_out = now >= s.deadline();
        if s.status == SpanStatus::Open {
            // Queued: it ends now, by timeout or by cancellation.
            s.end(now, if timed_out { SpanStatus::TimedOut } else { SpanStatus::Cancelled });
            llm.tally.timeouts += u64::from(timed_out);
        } else if !timed_out && s.ended_at().is_some_and(|end| end > now) {
            s.end(now, SpanStatus::Cancelled);
        }
        if llm.on_abandon == OnAbandon::Finish {
            llm.tally.served_after_abandon += u64::from(running.is_some());
            open.abandoned = true;
            return;
        }
        llm.tally.cancelled += 1;
        self.open.remove(&caller.key());
        match running {
            None => {
                llm.service.cancel(|c| *c == caller);
            }
            Some((started_at, answer)) => {
                charge_partial(llm, started_at, answer, span, now, ledger);
                self.free_slot(i, ledger, kernel);
            }
        }
    }

    /// A brownout of LLM `i` begins (`Some`) or ends (`None`).
    pub fn set_brownout(&mut self, i: u16, brownout: Option<Brownout>) {
        if let Some(llm) = self.llms.get_mut(i as usize) {
            llm.service.set_brownout(brownout);
        }
    }
}

/// A running call stopped at `now`, before its answer: only the output
/// tokens generated so far are charged (a streaming API bills what it sent
/// before the client closed the connection).
fn charge_partial(
    llm: &mut Llm,
    started_at: Nanos,
    answer: Option<LlmAnswer>,
    span: usize,
    now: Nanos,
    ledger: &mut Ledger,
) {
    let Some(a) = answer else { return };
    let ServiceOutcome::Ok { output_tokens } = a.outcome else { return };
    if output_tokens == 0 {
        return;
    }
    let elapsed = now.saturating_sub(started_at);
    let generated = if elapsed < a.ttft {
        0
    } else if output_tokens == 1 {
        1
    } else {
        let per_token = (a.latency - a.ttft) / u64::from(output_tokens - 1);
        let after_first = (elapsed - a.ttft).checked_div(per_token).unwrap_or(u64::from(output_tokens));
        (1 + after_first).min(u64::from(output_tokens)) as u32
    };
    let model = llm.service.model();
    let unsent = output_tokens - generated;
    let refund = f64::from(unsent) / 1000.0 * model.cost_per_1k_output;
    llm.tally.output_tokens -= u64::from(unsent);
    llm.tally.cost -= refund;
    if let Some(s) = ledger.span_mut(span) {
        s.output_tokens = generated;
    }
}
