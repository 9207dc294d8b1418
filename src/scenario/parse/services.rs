//! `[llm]`, `[llms.NAME]`, `[tool]`, `[tools.NAME]` and workflow steps.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rehearsal_sim::dist::Dist;
use rehearsal_sim::llm::{LlmModel, load_token_trace};
use schemars::JsonSchema;
use serde::Deserialize;

use super::{
    Ctx, DistKind, MAX_COST_PER_1K, MAX_NAME_CHARS, NS_PER_S, RawDist, RawDuration, Result, Spanned, choice_hint, echo,
    expected_text,
};
use crate::scenario::model::*;
use crate::scenario::{MAX_CSV_BYTES, read_capped};

/// `(input, output)` token pairs of a `tokens_csv` file.
type TokenTrace = std::sync::Arc<[(u32, u32)]>;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLlm {
    latency: Option<Spanned<RawDist<RawDuration>>>,
    error_rate: Option<Spanned<f64>>,
    timeout: Option<Spanned<RawDuration>>,
    input_tokens: Option<Spanned<RawDist<f64>>>,
    output_tokens: Option<Spanned<RawDist<f64>>>,
    profile: Option<Spanned<String>>,
    ttft: Option<Spanned<RawDist<RawDuration>>>,
    per_token: Option<Spanned<RawDist<RawDuration>>>,
    tokens_csv: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
    queue_limit: Option<Spanned<i64>>,
    rate_limit: Option<RawRateLimit>,
    hang_rate: Option<Spanned<f64>>,
    cold_start: Option<RawColdStart>,
    cost: Option<RawCost>,
    on_abandon: Option<Spanned<String>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    rpm: Option<Spanned<i64>>,
    tpm: Option<Spanned<i64>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawColdStart {
    probability: Spanned<f64>,
    extra: Spanned<RawDist<RawDuration>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawCost {
    input_per_1k: Option<Spanned<f64>>,
    output_per_1k: Option<Spanned<f64>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTool {
    latency: Spanned<RawDist<RawDuration>>,
    error_rate: Option<Spanned<f64>>,
    timeout: Option<Spanned<RawDuration>>,
    timeout_rate: Option<Spanned<f64>>,
    crash_rate: Option<Spanned<f64>>,
    timeout_after_effect: Option<Spanned<f64>>,
}

/// `[stores.NAME]`: a store holding one versioned row.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    hop: Option<Spanned<RawDist<RawDuration>>>,
    timeout: Option<Spanned<RawDuration>>,
}

impl Ctx<'_> {
    /// Every `[stores.NAME]`, by name.
    pub(super) fn stores(&self, raw: Option<&BTreeMap<Spanned<String>, RawStore>>) -> Result<Vec<StoreModel>> {
        let mut out = Vec::new();
        for (name, r) in raw.into_iter().flatten() {
            let name = self.service_name(name, "store", "store")?;
            let table = format!("stores.{name}");
            let hop = match &r.hop {
                Some(d) => self.dist(d, &format!("{table}.hop"), DistKind::Latency)?,
                None => Dist::Constant { value: 1e6 },
            };
            out.push(StoreModel {
                name,
                hop,
                timeout_ns: self.timeout_or_default(r.timeout.as_ref(), &format!("{table}.timeout"))?,
            });
        }
        Ok(out)
    }

    /// A probability in `[0, 1]`.
    pub(super) fn probability(&self, v: &Spanned<f64>, path: &str) -> Result<f64> {
        let p = *v.get_ref();
        if (0.0..=1.0).contains(&p) {
            Ok(p)
        } else {
            Err(self.bad(
                v,
                path,
                "a probability between 0 and 1",
                Some("a fraction, not a percentage: 5% is 0.05".into()),
            ))
        }
    }

    /// Chances of outcomes of one call that exclude each other (an error, a
    /// hang...): each is a probability (checked before), and they sum to at
    /// most 1. The error is at the last of them in the file.
    fn exclusive_rates(&self, rates: &[(&str, Option<&Spanned<f64>>)], table: &str) -> Result<()> {
        let given: Vec<(&str, &Spanned<f64>)> = rates.iter().filter_map(|(k, v)| v.map(|v| (*k, v))).collect();
        let sum: f64 = given.iter().map(|(_, v)| *v.get_ref()).sum();
        if sum <= 1.0 {
            return Ok(());
        }
        let Some(&(key, last)) = given.iter().max_by_key(|(_, v)| v.span().start) else { return Ok(()) };
        let keys: Vec<String> = given.iter().map(|(k, _)| format!("`{k}`")).collect();
        Err(self.bad(
            last,
            &format!("{table}.{key}"),
            "chances that sum to at most 1",
            Some(format!(
                "{} are chances of different outcomes of one call, so together at most 1; here they sum to {sum}",
                keys.join(" + ")
            )),
        ))
    }

    fn rate_opt(&self, v: Option<&Spanned<f64>>, path: &str) -> Result<f64> {
        v.map_or(Ok(0.0), |v| self.probability(v, path))
    }

    fn timeout_or_default(&self, v: Option<&Spanned<RawDuration>>, path: &str) -> Result<u64> {
        match v {
            Some(v) => self.positive_duration(v, path),
            None => Ok(30 * NS_PER_S),
        }
    }

    /// The text of the CSV file named by `v` (key `path`), resolved from the
    /// scenario's directory (an absolute path stays as is) and read through
    /// a reader capped at [`MAX_CSV_BYTES`]. Errors are located at `v`.
    pub(super) fn read_csv(&self, v: &Spanned<String>, path: &str, what: &str) -> Result<(PathBuf, String)> {
        let file = self.base.join(v.get_ref());
        let shown = echo(&file.display().to_string());
        let expected = format!("a readable CSV file of {what}");
        let bytes = read_capped(&file, MAX_CSV_BYTES, "CSV files").map_err(|e| {
            let mut hint = format!("cannot read `{shown}`: {e}");
            if e.kind() == std::io::ErrorKind::NotFound && std::path::Path::new(v.get_ref()).is_relative() {
                hint.push_str("; a relative path is resolved from the scenario file's directory");
            }
            self.bad(v, path, expected.as_str(), Some(hint))
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let line = e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
            self.bad(v, path, expected.as_str(), Some(format!("`{shown}` line {line}: not UTF-8 text")))
        })?;
        Ok((file, text))
    }

    /// An empirical distribution read from a CSV file named in the scenario.
    pub(super) fn empirical_csv(&self, v: &Spanned<String>, path: &str) -> Result<Dist> {
        let (file, text) = self.read_csv(v, path, "latencies in nanoseconds")?;
        rehearsal_sim::dist::empirical_from_csv(&text, None).map_err(|e| {
            let shown = echo(&file.display().to_string());
            self.bad(
                v,
                path,
                "a CSV file of latencies in nanoseconds",
                Some(format!("`{shown}`: {}", echo(&e.to_string()))),
            )
        })
    }

    /// `(input, output)` token pairs read from the CSV file of `tokens_csv`,
    /// and the file's resolved path.
    fn token_trace(&self, v: &Spanned<String>, path: &str) -> Result<(PathBuf, TokenTrace)> {
        let (file, text) = self.read_csv(v, path, "token counts")?;
        let pairs = load_token_trace(&text).map_err(|e| {
            let shown = echo(&file.display().to_string());
            self.bad(
                v,
                path,
                "a CSV file of token counts: `TIMESTAMP,ContextTokens,GeneratedTokens` or `input,output` rows",
                Some(format!("`{shown}` line {}: {}", e.line, echo(&e.message))),
            )
        })?;
        Ok((file, pairs))
    }

    /// A service's name (`[llms.NAME]`, `[tools.NAME]`): at most
    /// [`MAX_NAME_CHARS`] characters, not empty, and not the name of the
    /// default service (`default`), which `"kind"` steps call.
    fn service_name(&self, v: &Spanned<String>, kind: &str, default: &str) -> Result<String> {
        let name = v.get_ref();
        let table = format!("{kind}s");
        let problem = if name.is_empty() {
            Some("the name is empty".to_owned())
        } else if name.chars().count() > MAX_NAME_CHARS {
            Some(format!("the name has {} characters, more than {MAX_NAME_CHARS}", name.chars().count()))
        } else if name == default {
            Some(format!("`[{kind}]` is already the service named `{default}`; steps call it as \"{kind}\""))
        } else {
            None
        };
        match problem {
            None => Ok(name.clone()),
            Some(p) => Err(self.err(
                v.span().start,
                format!("invalid name for `[{table}.NAME]`: `{}`", echo(name)),
                format!("a name of 1 to {MAX_NAME_CHARS} characters, other than `{default}`"),
                Some(format!("{p}; steps name this service as \"{kind}:NAME\", e.g. [{table}.planner]")),
            )),
        }
    }

    fn llm(&self, name: &str, table: &str, raw: &RawLlm) -> Result<ServiceModel> {
        let p = |key: &str| format!("{table}.{key}");
        let known: Vec<&str> = LlmModel::profile_names().collect();
        let profile = match &raw.profile {
            Some(v) if known.contains(&v.get_ref().as_str()) => Some(v.get_ref().clone()),
            Some(v) => {
                return Err(self.bad(
                    v,
                    &p("profile"),
                    format!("one of {}", known.join(", ")),
                    Some(choice_hint(v.get_ref(), &known)),
                ));
            }
            None => None,
        };
        let ttft = raw.ttft.as_ref().map(|d| self.dist(d, &p("ttft"), DistKind::Latency)).transpose()?;
        let per_token = raw.per_token.as_ref().map(|d| self.dist(d, &p("per_token"), DistKind::Latency)).transpose()?;
        let latency = match &raw.latency {
            Some(d) => self.dist(d, &p("latency"), DistKind::Latency)?,
            // Without `latency`, the streaming model (or the profile) decides;
            // this total is only the fallback of the model.
            None if ttft.is_some() || profile.is_some() => Dist::Constant { value: 0.0 },
            None => {
                return Err(self.err(
                    0,
                    format!("`[{table}]` needs a latency"),
                    "`latency`, or `ttft` and `per_token`, or a `profile`",
                    Some(format!("e.g. profile = \"llama-2-70b\" (known: {})", known.join(", "))),
                ));
            }
        };
        // Without both token keys, the model's defaults apply (fitted to the
        // Azure LLM inference trace 2023, conv; see `rehearsal_sim::llm`).
        let tokens = match (&raw.input_tokens, &raw.output_tokens) {
            (None, None) => None,
            (input, output) => {
                let dist = |d: &Option<Spanned<RawDist<f64>>>, key: &str, median: f64, p90: f64| match d {
                    Some(d) => self.dist(d, &p(key), DistKind::Tokens),
                    None => Ok(Dist::lognormal_from_median_p90(median, p90)),
                };
                Some(TokenModel {
                    input: dist(input, "input_tokens", 1020.0, 2734.5)?,
                    output: dist(output, "output_tokens", 129.0, 424.0)?,
                })
            }
        };
        let count = |v: &Spanned<i64>, key: &str| -> Result<u64> {
            u64::try_from(*v.get_ref())
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| self.bad(v, &p(key), "a positive whole number", Some("use at least 1".into())))
        };
        // Counts the model keeps in 32 bits.
        let count32 = |v: &Spanned<i64>, key: &str| -> Result<u32> {
            let n = count(v, key)?;
            u32::try_from(n).map_err(|_| {
                self.bad(
                    v,
                    &p(key),
                    format!("a positive whole number up to {}", u32::MAX),
                    Some(format!("it can be at most {}; leave the key out for no limit", u32::MAX)),
                )
            })
        };
        let concurrency = raw.concurrency.as_ref().map(|v| count32(v, "concurrency")).transpose()?;
        let queue_limit = raw.queue_limit.as_ref().map(|v| count32(v, "queue_limit")).transpose()?;
        let (rpm, tpm) = match &raw.rate_limit {
            Some(r) => (
                r.rpm.as_ref().map(|v| count32(v, "rate_limit.rpm")).transpose()?,
                r.tpm.as_ref().map(|v| count(v, "rate_limit.tpm")).transpose()?,
            ),
            None => (None, None),
        };
        let cold_start = match &raw.cold_start {
            Some(c) => Some((
                self.probability(&c.probability, &p("cold_start.probability"))?,
                self.dist(&c.extra, &p("cold_start.extra"), DistKind::Latency)?,
            )),
            None => None,
        };
        // Prices are capped so that no cost, summed over every call of a
        // run, can reach infinity (`MAX_COST_PER_1K`).
        let cost_of = |v: Option<&Spanned<f64>>, key: &str| -> Result<f64> {
            match v {
                Some(v) if (0.0..=MAX_COST_PER_1K).contains(v.get_ref()) => Ok(*v.get_ref()),
                Some(v) => Err(self.bad(
                    v,
                    &p(key),
                    "a price per 1,000 tokens from 0 to 1000000",
                    Some("a price in currency units per 1,000 tokens, e.g. 0.0007; at most 1e6".into()),
                )),
                None => Ok(0.0),
            }
        };
        let (cost_input_per_1k, cost_output_per_1k) = match &raw.cost {
            Some(c) => (
                cost_of(c.input_per_1k.as_ref(), "cost.input_per_1k")?,
                cost_of(c.output_per_1k.as_ref(), "cost.output_per_1k")?,
            ),
            None => (0.0, 0.0),
        };
        let on_abandon = match raw.on_abandon.as_ref() {
            None => OnAbandon::Cancel,
            Some(v) => match v.get_ref().as_str() {
                "cancel" => OnAbandon::Cancel,
                "finish" => OnAbandon::Finish,
                other => {
                    return Err(self.bad(
                        v,
                        &p("on_abandon"),
                        "\"cancel\" or \"finish\"",
                        Some(choice_hint(other, &["cancel", "finish"])),
                    ));
                }
            },
        };
        let error_rate = self.rate_opt(raw.error_rate.as_ref(), &p("error_rate"))?;
        let hang_rate = self.rate_opt(raw.hang_rate.as_ref(), &p("hang_rate"))?;
        self.exclusive_rates(&[("error_rate", raw.error_rate.as_ref()), ("hang_rate", raw.hang_rate.as_ref())], table)?;
        let (tokens_csv, token_trace) = match &raw.tokens_csv {
            Some(v) => {
                let (file, pairs) = self.token_trace(v, &p("tokens_csv"))?;
                (Some(file), Some(pairs))
            }
            None => (None, None),
        };
        Ok(ServiceModel {
            name: name.to_owned(),
            latency,
            error_rate,
            timeout_ns: self.timeout_or_default(raw.timeout.as_ref(), &p("timeout"))?,
            tokens,
            llm: Some(LlmExtras {
                profile,
                ttft,
                per_token,
                tokens_csv,
                token_trace,
                concurrency,
                queue_limit,
                rpm,
                tpm,
                hang_rate,
                cold_start,
                cost_input_per_1k,
                cost_output_per_1k,
                on_abandon,
            }),
            tool: None,
        })
    }

    fn tool(&self, name: &str, table: &str, raw: &RawTool) -> Result<ServiceModel> {
        let p = |key: &str| format!("{table}.{key}");
        let rates = [
            ("error_rate", raw.error_rate.as_ref()),
            ("timeout_rate", raw.timeout_rate.as_ref()),
            ("crash_rate", raw.crash_rate.as_ref()),
            ("timeout_after_effect", raw.timeout_after_effect.as_ref()),
        ];
        for (key, v) in rates {
            self.rate_opt(v, &p(key))?;
        }
        self.exclusive_rates(&rates, table)?;
        Ok(ServiceModel {
            name: name.to_owned(),
            latency: self.dist(&raw.latency, &p("latency"), DistKind::Latency)?,
            error_rate: self.rate_opt(raw.error_rate.as_ref(), &p("error_rate"))?,
            timeout_ns: self.timeout_or_default(raw.timeout.as_ref(), &p("timeout"))?,
            tokens: None,
            llm: None,
            tool: Some(ToolExtras {
                timeout_rate: self.rate_opt(raw.timeout_rate.as_ref(), &p("timeout_rate"))?,
                crash_rate: self.rate_opt(raw.crash_rate.as_ref(), &p("crash_rate"))?,
                timeout_after_effect: self.rate_opt(raw.timeout_after_effect.as_ref(), &p("timeout_after_effect"))?,
            }),
        })
    }

    pub(super) fn llms(
        &self,
        default: &RawLlm,
        named: Option<&BTreeMap<Spanned<String>, RawLlm>>,
    ) -> Result<Vec<ServiceModel>> {
        let mut out = vec![self.llm("llm", "llm", default)?];
        for (name, raw) in named.into_iter().flatten() {
            let name = self.service_name(name, "llm", "llm")?;
            out.push(self.llm(&name, &format!("llms.{name}"), raw)?);
        }
        Ok(out)
    }

    pub(super) fn tools(
        &self,
        default: &RawTool,
        named: Option<&BTreeMap<Spanned<String>, RawTool>>,
    ) -> Result<Vec<ServiceModel>> {
        let mut out = vec![self.tool("tool", "tool", default)?];
        for (name, raw) in named.into_iter().flatten() {
            let name = self.service_name(name, "tool", "tool")?;
            out.push(self.tool(&name, &format!("tools.{name}"), raw)?);
        }
        Ok(out)
    }

    /// `"llm"`, `"llm:NAME"`, `"tool"` or `"tool:NAME"`.
    pub(super) fn step(&self, v: &Spanned<String>, llms: &[ServiceModel], tools: &[ServiceModel]) -> Result<Step> {
        let text = v.get_ref().as_str();
        let (kind, name) = text.split_once(':').unwrap_or((text, ""));
        let find = |services: &[ServiceModel], default: &str| -> Option<u16> {
            let wanted = if name.is_empty() { default } else { name };
            services.iter().position(|s| s.name == wanted).map(|i| i as u16)
        };
        let names = |services: &[ServiceModel], kind: &str| -> String {
            services.iter().skip(1).map(|s| format!("\"{kind}:{}\"", s.name)).collect::<Vec<_>>().join(", ")
        };
        let step = match kind {
            "llm" => find(llms, "llm").map(Step::Llm),
            "tool" => find(tools, "tool").map(Step::Tool),
            _ => None,
        };
        step.ok_or_else(|| {
            let mut known = vec!["\"llm\"".to_owned(), "\"tool\"".to_owned()];
            known.extend([names(llms, "llm"), names(tools, "tool")].into_iter().filter(|s| !s.is_empty()));
            let hint = if kind == "llm" || kind == "tool" {
                format!("no `[{kind}s.{}]` table; steps can name: {}", echo(name), known.join(", "))
            } else {
                choice_hint(kind, &["llm", "tool"])
            };
            self.bad(v, "workload.steps", expected_text("workload.steps"), Some(hint))
        })
    }
}
