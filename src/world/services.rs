//! The world's services: each LLM and tool of the scenario as a simulated
//! service (`rehearsal_sim::llm`, `rehearsal_sim::tools`) with its own
//! random stream, answering the agents' calls through the kernel.

use rehearsal_runtime::{ActorId, Nanos, RequestId, ServiceCall};
use rehearsal_sim::Kernel;
use rehearsal_sim::dist::Dist;
use rehearsal_sim::llm::{
    Brownout, ColdStart, LlmDecision, LlmModel, LlmService, RateLimits, Start, TokenSource, load_token_trace,
};
use rehearsal_sim::rng::{StreamRng, stream};
use rehearsal_sim::tools::{ToolDecision, ToolModel, ToolService};

use super::WorldEvent;
use crate::fleet::{Msg, ServiceRef};
use crate::scenario::ServiceModel;

/// Who is waiting for an LLM call.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub actor: ActorId,
    pub request: RequestId,
}

/// One LLM service and its stream.
#[derive(Debug)]
pub struct Llm {
    pub name: String,
    pub service: LlmService<Caller>,
    rng: StreamRng,
    /// How long a hung call holds its slot: the caller's timeout (after
    /// which a real client would have closed the connection).
    hang_hold: Nanos,
}

/// One tool and its stream.
#[derive(Debug)]
pub struct Tool {
    pub name: String,
    pub service: ToolService,
    rng: StreamRng,
}

/// Why a scenario's service could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ServiceSetupError {
    #[error("LLM `{name}`: cannot read `{path}`: {source}")]
    TokensCsvUnreadable {
        name: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("LLM `{name}`: `{path}` line {line}: {message}")]
    TokensCsvInvalid { name: String, path: String, line: usize, message: String },
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
    if let Some(path) = &x.tokens_csv {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ServiceSetupError::TokensCsvUnreadable {
            name: m.name.clone(),
            path: shown.clone(),
            source,
        })?;
        let pairs = load_token_trace(&text).map_err(|e| ServiceSetupError::TokensCsvInvalid {
            name: m.name.clone(),
            path: shown,
            line: e.line,
            message: e.message,
        })?;
        model.tokens = TokenSource::Trace(pairs);
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
    pub llms: Vec<Llm>,
    pub tools: Vec<Tool>,
}

impl Services {
    /// Build the scenario's services; each draws from its own stream
    /// (`llm:NAME`, `tool:NAME`), so adding a service shifts no other's draws.
    pub fn new(seed: u64, llms: &[ServiceModel], tools: &[ServiceModel]) -> Result<Self, ServiceSetupError> {
        let llms = llms
            .iter()
            .map(|m| {
                Ok(Llm {
                    name: m.name.clone(),
                    service: LlmService::new(llm_model(m)?),
                    rng: stream(seed, &format!("llm:{}", m.name)),
                    hang_hold: m.timeout_ns,
                })
            })
            .collect::<Result<Vec<_>, ServiceSetupError>>()?;
        let tools = tools
            .iter()
            .map(|m| {
                Ok(Tool {
                    name: m.name.clone(),
                    service: ToolService::new(tool_model(m)?),
                    rng: stream(seed, &format!("tool:{}", m.name)),
                })
            })
            .collect::<Result<Vec<_>, ServiceSetupError>>()?;
        Ok(Services { llms, tools })
    }

    /// An agent called a service.
    pub fn call(&mut self, caller: Caller, call: ServiceCall, kernel: &mut Kernel<Msg, WorldEvent>) {
        let now = kernel.now();
        match ServiceRef::of(call.service) {
            ServiceRef::Llm(i) => {
                let Some(llm) = self.llms.get_mut(i as usize) else { return };
                match llm.service.start(now, &mut llm.rng, caller) {
                    Start::Started(decision) => started(llm, i, caller, decision, kernel),
                    Start::Queued => {}
                    Start::Rejected(c, answer) => kernel.complete_call(now, c.actor, c.request, answer.outcome),
                }
            }
            ServiceRef::Tool(i) => {
                let Some(tool) = self.tools.get_mut(i as usize) else { return };
                match tool.service.call(now, &mut tool.rng, call.idempotency_key) {
                    ToolDecision::Answer(a) => {
                        kernel.complete_call(now.saturating_add(a.latency), caller.actor, caller.request, a.outcome);
                    }
                    // No answer: the caller's timeout settles it.
                    ToolDecision::Hang { .. } => {}
                }
            }
        }
    }

    /// An LLM call holding a slot of LLM `i` ended: the next queued call,
    /// if any, starts now.
    pub fn slot_freed(&mut self, i: u16, kernel: &mut Kernel<Msg, WorldEvent>) {
        let now = kernel.now();
        let Some(llm) = self.llms.get_mut(i as usize) else { return };
        if let Some((caller, decision)) = llm.service.finish(now, &mut llm.rng) {
            started(llm, i, caller, decision, kernel);
        }
    }

    /// A brownout of LLM `i` begins (`Some`) or ends (`None`).
    pub fn set_brownout(&mut self, i: u16, brownout: Option<Brownout>) {
        if let Some(llm) = self.llms.get_mut(i as usize) {
            llm.service.set_brownout(brownout);
        }
    }
}

/// A call of LLM `i` took a slot: answer it (or not: a hang), and free the
/// slot when it is done.
fn started(llm: &mut Llm, i: u16, caller: Caller, decision: LlmDecision, kernel: &mut Kernel<Msg, WorldEvent>) {
    let now = kernel.now();
    let hold = match decision {
        LlmDecision::Answer(a) => {
            kernel.complete_call(now.saturating_add(a.latency), caller.actor, caller.request, a.outcome);
            a.latency
        }
        LlmDecision::Hang { .. } => llm.hang_hold,
    };
    kernel.schedule(now.saturating_add(hold), WorldEvent::LlmSlotFreed { llm: i });
}
