//! TOML text to a checked [`Scenario`].
//!
//! Two passes: serde deserializes the text into `Raw*` structs that keep the
//! span of every value we check (`#[serde(deny_unknown_fields)]` catches
//! typos), then [`Ctx::scenario`] checks ranges and builds the model. Every
//! error is a [`ScenarioError::Invalid`] located at the offending token.
//! The format is documented in `docs/scenario.md`.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use rehearsal_runtime::OverflowPolicy;
use rehearsal_sim::dist::Dist;
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, SeqAccess, Visitor};
use toml::de::{DeTable, DeValue};

use super::duration::parse_duration;
use super::error::{ScenarioError, clip, echo};
use super::model::*;
use spanned::Spanned;
use strategies::RawStrategies;

pub use schema::schema;

const NS_PER_S: u64 = 1_000_000_000;
/// Upper bound on `seeds = N` and on the length of a `seeds = [...]` list,
/// so a typo cannot allocate gigabytes.
pub const MAX_SEED_COUNT: i64 = 1_000_000;
/// Upper bound on `topology.nodes`: node ids are 16 bits (`NodeId(u16)`),
/// so nodes are numbered 0 to 65,535.
pub const MAX_NODES: u32 = 1 << 16;
/// Upper bound on `topology.agents`: ten million agent actors.
pub const MAX_AGENTS: u32 = 10_000_000;
/// Upper bound on the length of `name` (it becomes a directory name) and of
/// the names of `[llms.NAME]` and `[tools.NAME]`, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Upper bound on `limits.max_queued_events`.
pub const MAX_QUEUED_EVENTS: u64 = 1_000_000_000;
/// Upper bound on every parameter of a token-count distribution
/// (`input_tokens`, `output_tokens`), in tokens per call.
pub const MAX_TOKEN_PARAM: f64 = 10_000_000.0;
/// Upper bound on a price (`cost.input_per_1k`, `cost.output_per_1k`), in
/// currency units per 1,000 tokens. With at most `u32::MAX` tokens per call,
/// one call costs at most about 8.6e12, so no sum of calls reaches infinity.
pub const MAX_COST_PER_1K: f64 = 1e6;
/// `limits.max_queued_events` when the file leaves it out.
pub const DEFAULT_MAX_QUEUED_EVENTS: usize = 2_000_000;
/// The margin the default `max_sim_time` leaves after the run's end
/// (`duration` + `request_timeout`).
const SIM_TIME_MARGIN_NS: u64 = 600 * NS_PER_S;

/// Parses and checks a scenario. `file_name` names the file in error
/// messages, and its directory is where relative paths in the file
/// (`tokens_csv`, `network.latency_csv`) are resolved from: the current
/// directory for a bare file name. Use [`parse_in`] to say where instead.
pub fn parse(source: &str, file_name: &str) -> Result<Scenario, ScenarioError> {
    parse_in(source, file_name, Path::new(file_name).parent().unwrap_or(Path::new("")))
}

/// Parses and checks a scenario whose relative paths (`tokens_csv`,
/// `network.latency_csv`) are resolved from `base` (the scenario file's
/// directory; an empty path is the current directory). The CSV files are
/// read here, once, each at most [`MAX_CSV_BYTES`](super::MAX_CSV_BYTES).
pub fn parse_in(source: &str, file_name: &str, base: &Path) -> Result<Scenario, ScenarioError> {
    parse_for(source, file_name, base, &[])
}

/// [`parse_in`] for a system under test that declares its own strategy
/// axes (`axes`), which `[strategies]` may then list.
pub fn parse_for(
    source: &str,
    file_name: &str,
    base: &Path,
    axes: &[crate::strategy::SystemAxis],
) -> Result<Scenario, ScenarioError> {
    let ctx = Ctx { source, file: file_name, base, system_axes: axes };
    let doc = match DeTable::parse(source) {
        Ok(doc) => doc,
        Err(e) => return Err(ctx.syntax_error(&e)),
    };
    let raw: RawScenario = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(e) => return Err(ctx.serde_error(&e, &doc)),
    };
    ctx.scenario(raw)
}

// ---------------------------------------------------------------------------
// Raw, spanned form: exactly the file's shape.

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Spanned<String>,
    description: Option<String>,
    seeds: Spanned<RawSeeds>,
    duration: Spanned<RawDuration>,
    limits: Option<RawLimits>,
    topology: Spanned<RawTopology>,
    workload: RawWorkload,
    llm: services::RawLlm,
    tool: services::RawTool,
    llms: Option<std::collections::BTreeMap<Spanned<String>, services::RawLlm>>,
    tools: Option<std::collections::BTreeMap<Spanned<String>, services::RawTool>>,
    stores: Option<std::collections::BTreeMap<Spanned<String>, services::RawStore>>,
    policies: Option<std::collections::BTreeMap<Spanned<String>, policies::RawPolicy>>,
    retry: Option<RawRetry>,
    strategies: Option<RawStrategies>,
    supervision: Option<faults::RawSupervision>,
    faults: Option<faults::RawFaults>,
    buggify: Option<faults::RawBuggify>,
    invariants: Option<RawInvariants>,
    roles: Option<Spanned<Vec<roles::RawRole>>>,
    gate: Option<std::collections::BTreeMap<Spanned<String>, Spanned<RawTolerance>>>,
}

/// `[gate] METRIC = { relative = x }` or `{ absolute = x }`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawTolerance {
    relative: Option<Spanned<f64>>,
    absolute: Option<Spanned<f64>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawInvariants {
    tool_effects_at_most_once: Option<bool>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_events: Option<Spanned<i64>>,
    max_sim_time: Option<Spanned<RawDuration>>,
    max_queued_events: Option<Spanned<i64>>,
    mailbox_capacity: Option<Spanned<i64>>,
    mailbox_overflow: Option<Spanned<String>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawTopology {
    nodes: Option<Spanned<i64>>,
    agents: Option<Spanned<i64>>,
    network: Option<RawNetwork>,
    links: Option<Vec<RawLink>>,
    /// Every node's CPU slots and memory.
    capacity: Option<Spanned<capacity::RawCapacity>>,
    /// Nodes with a capacity of their own.
    node_capacity: Option<Vec<Spanned<capacity::RawNodeCapacity>>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    latency: Option<Spanned<RawDist<RawDuration>>>,
    latency_csv: Option<Spanned<String>>,
    loss: Option<Spanned<f64>>,
    duplicate: Option<Spanned<f64>>,
    reorder: Option<Spanned<f64>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawLink {
    from: Spanned<i64>,
    to: Spanned<i64>,
    latency: Option<Spanned<RawDist<RawDuration>>>,
    loss: Option<Spanned<f64>>,
    duplicate: Option<Spanned<f64>>,
    reorder: Option<Spanned<f64>>,
    ordered: Option<bool>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawWorkload {
    arrivals: arrivals::RawArrivals,
    steps: Option<Spanned<Vec<Spanned<String>>>>,
    request_timeout: Option<Spanned<RawDuration>>,
    shape: Option<Spanned<String>>,
    fanout: Option<Spanned<i64>>,
    subtask_timeout: Option<Spanned<RawDuration>>,
    requests: Option<Spanned<Vec<mix::RawRequestType>>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    max_attempts: Option<Spanned<i64>>,
    base_delay: Option<Spanned<RawDuration>>,
    max_delay: Option<Spanned<RawDuration>>,
}

/// `{ dist = "...", <params> }`: every parameter optional here; which ones
/// a kind needs is checked in [`Ctx::dist`]. (A serde-tagged enum would lose
/// the spans.)
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "RawDist_for_{V}")]
struct RawDist<V> {
    dist: Spanned<String>,
    value: Option<Spanned<V>>,
    min: Option<Spanned<V>>,
    max: Option<Spanned<V>>,
    mean: Option<Spanned<V>>,
    std_dev: Option<Spanned<V>>,
    median: Option<Spanned<V>>,
    p99: Option<Spanned<V>>,
}

/// The kinds of distribution (`dist = "..."`) and the parameters each
/// takes, all required.
const DISTS: &[(&str, &[&str])] = &[
    ("constant", &["value"]),
    ("uniform", &["min", "max"]),
    ("normal", &["mean", "std_dev"]),
    ("exponential", &["mean"]),
    ("lognormal", &["median", "p99"]),
];

/// `seeds = N` or `seeds = [a, b, c]`.
enum RawSeeds {
    Count(i64),
    List(Vec<Spanned<i64>>),
}

impl<'de> Deserialize<'de> for RawSeeds {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawSeeds;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a seed count or a list of seeds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawSeeds, E> {
                Ok(RawSeeds::Count(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawSeeds, E> {
                Ok(RawSeeds::Count(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawSeeds, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<Spanned<i64>>()? {
                    out.push(s);
                }
                Ok(RawSeeds::List(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration as written: normally a string; a bare number is kept so the
/// checker can say "add a unit" at the right place.
enum RawDuration {
    Text(String),
    Number(String),
}

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"450ms\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDuration, E> {
                Ok(RawDuration::Text(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawDuration, E> {
                Ok(RawDuration::Number(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawDuration, E> {
                Ok(RawDuration::Number(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawDuration, E> {
                Ok(RawDuration::Number(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------
// Checking.

type Result<T, E = ScenarioError> = std::result::Result<T, E>;

struct Ctx<'a> {
    source: &'a str,
    file: &'a str,
    /// Where relative paths in the file are resolved from.
    base: &'a Path,
    /// Strategy axes the system under test adds.
    system_axes: &'a [crate::strategy::SystemAxis],
}

/// Which unit a distribution's parameters are in.
#[derive(Copy, Clone, PartialEq)]
enum DistKind {
    Latency,
    Tokens,
}

impl Ctx<'_> {
    /// An `Invalid` error at byte offset `at`.
    fn err(
        &self,
        at: usize,
        message: impl Into<String>,
        expected: impl Into<String>,
        hint: Option<String>,
    ) -> ScenarioError {
        let (line, column, source_line) = locate(self.source, at);
        // Quoted input is cut where it is quoted; this bounds the rest.
        ScenarioError::Invalid {
            file: self.file.to_owned(),
            line,
            column,
            message: clip(&message.into(), 2 * super::error::MAX_ECHO_CHARS),
            expected: clip(&expected.into(), 2 * super::error::MAX_ECHO_CHARS),
            hint: hint.map(|h| clip(&h, 4 * super::error::MAX_ECHO_CHARS)),
            source_line: source_line.to_owned(),
        }
    }

    /// The source text of a span, shortened for messages.
    fn text(&self, span: &Range<usize>) -> String {
        let s = self.source.get(span.clone()).unwrap_or("").trim();
        let s = s.lines().next().unwrap_or("");
        if s.chars().count() > 40 {
            let short: String = s.chars().take(37).collect();
            format!("{short}...")
        } else {
            s.to_owned()
        }
    }

    /// `invalid value for `path`: <source text>`, at the value.
    fn bad<T>(&self, v: &Spanned<T>, path: &str, expected: impl Into<String>, hint: Option<String>) -> ScenarioError {
        self.err(v.span().start, format!("invalid value for `{path}`: {}", self.text(&v.span())), expected, hint)
    }

    fn syntax_error(&self, e: &toml::de::Error) -> ScenarioError {
        let at = e.span().map_or(0, |s| s.start);
        let msg = e.message().trim();
        let (what, expected) = match msg.split_once(", expected ") {
            Some((w, x)) => (w, x.to_owned()),
            None => (msg, "valid TOML".to_owned()),
        };
        let hint = if what.contains("string") || what.contains("invalid") && expected.contains('"') {
            "text values need double quotes, e.g. name = \"quickstart\"".to_owned()
        } else {
            "TOML is `key = value` lines under `[table]` headers; strings need double \
             quotes, lists use `[a, b]`, inline tables `{ k = v }` (see docs/scenario.md)"
                .to_owned()
        };
        self.err(at, format!("TOML syntax error: {}", echo(what)), echo(&expected), Some(hint))
    }

    /// Maps a serde error (unknown key, wrong type, missing key...) to a
    /// located, hinted error.
    fn serde_error(&self, e: &toml::de::Error, doc: &toml::Spanned<DeTable<'_>>) -> ScenarioError {
        let span = e.span().unwrap_or(0..0);
        let at = span.start;
        let msg = e.message().trim();
        let path = path_at(doc, &span);

        if let Some(rest) = msg.strip_prefix("unknown field `") {
            let (key, tail) = rest.split_once('`').unwrap_or((rest, ""));
            let valid = backticked(tail);
            let shown_key = echo(key);
            let table = &path[..path.len().saturating_sub(1)];
            let table_name = table_display(table);
            let mut hint = String::new();
            if let Some(best) = did_you_mean(key, valid.iter().map(String::as_str)) {
                hint.push_str(&format!("did you mean `{best}`? "));
            }
            if (key == "input_tokens" || key == "output_tokens") && table.first().is_some_and(|t| t == "tool") {
                hint.push_str("token counts apply only to `[llm]`; ");
            }
            if valid.is_empty() {
                hint.push_str(&format!("{table_name} takes no keys"));
            } else {
                hint.push_str(&format!("valid keys in {table_name}: {}", list(&valid)));
            }
            return self.err(
                at,
                format!("unknown key `{shown_key}` in {table_name}"),
                format!("one of the keys of {table_name}"),
                Some(hint),
            );
        }

        if let Some(rest) = msg.strip_prefix("missing field `") {
            let key = rest.split_once('`').map_or(rest, |(k, _)| k);
            let mut full = path.clone();
            full.push(key.to_owned());
            let table_name = table_display(&path);
            let expected = expected_for(&full).unwrap_or_else(|| "a value".to_owned());
            let hint = example_for(&full).map(|ex| {
                if path.is_empty() {
                    format!("add `{ex}` near the top of the file, before any `[table]`")
                } else {
                    format!("add `{ex}` to {table_name}")
                }
            });
            if path.is_empty() && ["topology", "workload", "llm", "tool"].contains(&key) {
                // A whole table missing is reported at the start of the file.
                let body = example_for(&full).unwrap_or_default();
                let body = body.split_once(" with ").map_or("", |(_, b)| b);
                return self.err(
                    at,
                    format!("missing required table `[{key}]`"),
                    format!("a `[{key}]` table"),
                    Some(format!("add a `[{key}]` table, e.g. `[{key}]` then `{body}`")),
                );
            }
            return self.err(at, format!("missing required key `{key}` in {table_name}"), expected, hint);
        }

        let path_s = echo(&path.join("."));
        let where_ = if path_s.is_empty() { String::new() } else { format!(" for `{path_s}`") };
        if let Some(rest) = msg.strip_prefix("invalid type: ") {
            let (found, serde_expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
            let expected = expected_for(&path).unwrap_or_else(|| plain_type(serde_expected));
            let mut hint = None;
            if let Some(inner) = found.strip_prefix("string \"").and_then(|s| s.strip_suffix('"'))
                && inner.trim().parse::<f64>().is_ok()
                && !expected.contains("duration")
                && !expected.contains("name")
            {
                hint = Some(format!("write the number without quotes: {}", echo(inner.trim())));
            }
            if hint.is_none() {
                hint = Some(match example_for(&path) {
                    Some(ex) => format!("for example: {ex}"),
                    None => "see docs/scenario.md for the type of each key".to_owned(),
                });
            }
            return self.err(at, format!("wrong type{where_}: found {}", echo(&found_display(found))), expected, hint);
        }

        // Anything else (custom visitor messages, integer overflow...).
        let expected = expected_for(&path).unwrap_or_else(|| "a valid value".to_owned());
        self.err(
            at,
            format!("invalid value{where_}: {}", echo(msg)),
            expected,
            example_for(&path).map(|ex| format!("for example: {ex}")),
        )
    }

    fn scenario(&self, raw: RawScenario) -> Result<Scenario> {
        let name = self.name(&raw.name)?;
        let seeds = self.seeds(&raw.seeds)?;
        let duration_ns = self.duration(&raw.duration, "duration")?;
        if duration_ns == 0 {
            return Err(self.bad(
                &raw.duration,
                "duration",
                "a positive duration such as \"60s\"",
                Some("`duration` is how long requests keep arriving; it must be > 0".into()),
            ));
        }
        let mut topology = self.topology(raw.topology.get_ref())?;
        let llms = self.llms(&raw.llm, raw.llms.as_ref())?;
        let tools = self.tools(&raw.tool, raw.tools.as_ref())?;
        let stores = self.stores(raw.stores.as_ref())?;
        let mut workload =
            self.workload(&raw.workload, &llms, &tools, &raw.duration, duration_ns, raw.roles.is_some())?;
        let limits = self.limits(raw.limits.as_ref(), duration_ns, workload.max_deadline_ns())?;
        let retry = self.retry(raw.retry.as_ref())?;
        let defaults = crate::strategy::Defaults { retry: &retry, shape: workload.shape };
        let (roles, workflows, entry_role) = match &raw.roles {
            None => {
                if topology.agents == 0 {
                    return Err(self.err(
                        raw.topology.span().start,
                        "missing required key `agents` in `[topology]`",
                        "`agents = N` in `[topology]`, or `[[roles]]` tables",
                        Some(
                            "add `agents = 16` (the simple form), or declare `[[roles]]`, each with its `count`".into(),
                        ),
                    ));
                }
                (Vec::new(), Default::default(), 0)
            }
            Some(list) => {
                if let Some(v) = &raw.topology.get_ref().agents {
                    return Err(self.bad(
                        v,
                        "topology.agents",
                        "no `agents` with `[[roles]]`",
                        Some("with roles, each role's `count` says how many agents it has".into()),
                    ));
                }
                let raw_types = raw.workload.requests.as_ref().map(|r| r.get_ref().as_slice()).unwrap_or(&[]);
                let types: Vec<_> = workload
                    .types
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (t.clone(), raw_types.get(i).and_then(|r| r.workflow.as_ref())))
                    .collect();
                let input = roles::RolesInput {
                    llms: &llms,
                    tools: &tools,
                    stores: &stores,
                    defaults: &defaults,
                    topology: &topology,
                    types: &types,
                    max_deadline_ns: workload.max_deadline_ns(),
                };
                let out = self.roles(list, &input)?;
                topology.agents = out.roles.iter().map(|r| r.count).sum();
                for (t, w) in workload.types.iter_mut().zip(out.type_workflows) {
                    t.workflow = w;
                }
                (out.roles, out.workflows, out.entry)
            }
        };
        let policies = self.policies(raw.policies.as_ref(), &llms, &tools, &defaults)?;
        let policy_names: Vec<String> = policies.iter().map(|p| p.name.clone()).collect();
        let strategies = self.strategies(raw.strategies.as_ref(), &defaults, &policy_names)?;
        let supervision = self.supervision(raw.supervision.as_ref())?;
        let faults = self.faults(raw.faults.as_ref(), &topology, &workload, &llms)?;
        let buggify = self.buggify(raw.buggify.as_ref())?;
        Ok(Scenario {
            name,
            description: raw.description.unwrap_or_default(),
            seeds,
            duration_ns,
            limits,
            topology,
            workload,
            llms,
            tools,
            stores: stores.clone(),
            policies,
            retry,
            strategies,
            supervision,
            faults,
            buggify,
            buggify_enabled: raw.buggify.as_ref().and_then(|b| b.enabled),
            roles,
            workflows,
            entry_role,
            gate: self.gate(raw.gate.as_ref())?,
            invariants: Invariants {
                tool_effects_at_most_once: raw
                    .invariants
                    .as_ref()
                    .and_then(|i| i.tool_effects_at_most_once)
                    .unwrap_or(false),
            },
        })
    }

    /// `[gate]`: per-metric tolerances of `rehearsal check`.
    fn gate(
        &self,
        raw: Option<&std::collections::BTreeMap<Spanned<String>, Spanned<RawTolerance>>>,
    ) -> Result<std::collections::BTreeMap<String, crate::gate::Tolerance>> {
        use crate::gate::Tolerance;
        let mut out = std::collections::BTreeMap::new();
        let Some(raw) = raw else { return Ok(out) };
        let names = crate::gate::gate_metric_names();
        for (key, value) in raw {
            if !names.contains(&key.get_ref().as_str()) {
                let hint = match did_you_mean(key.get_ref(), names.iter().copied()) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => format!("gated metrics: {}", names.join(", ")),
                };
                return Err(self.bad(key, "gate", format!("one of {}", list(&names)), Some(hint)));
            }
            let t = value.get_ref();
            let tolerance = match (&t.relative, &t.absolute) {
                (Some(x), None) => Tolerance::Relative(self.gate_amount(x)?),
                (None, Some(x)) => Tolerance::Absolute(self.gate_amount(x)?),
                _ => {
                    return Err(self.bad(
                        value,
                        "gate",
                        "{ relative = FRACTION } or { absolute = AMOUNT }",
                        Some("e.g. latency_ms_p99 = { relative = 0.05 } allows 5% worse than the baseline".into()),
                    ));
                }
            };
            out.insert(key.get_ref().clone(), tolerance);
        }
        Ok(out)
    }

    fn gate_amount(&self, v: &Spanned<f64>) -> Result<f64> {
        let x = *v.get_ref();
        if x.is_finite() && x >= 0.0 { Ok(x) } else { Err(self.bad(v, "gate", "a finite number >= 0", None)) }
    }

    /// A name of 1 to 64 characters from `[a-z0-9_-]` (request types,
    /// roles, workflow steps, policies), at `path` in messages.
    fn short_name(&self, v: &Spanned<String>, path: &str) -> Result<String> {
        let s = v.get_ref();
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok { Ok(s.clone()) } else { Err(self.bad(v, path, "a name of 1 to 64 characters from [a-z0-9_-]", None)) }
    }

    fn name(&self, v: &Spanned<String>) -> Result<String> {
        let s = v.get_ref();
        let chars = s.chars().count();
        if chars > MAX_NAME_CHARS {
            return Err(self.bad(
                v,
                "name",
                format!("a name of at most {MAX_NAME_CHARS} characters"),
                Some(format!(
                    "this one has {chars}; the name becomes a directory name in report paths \
                     (reports/out/<name>/), so keep it short, e.g. name = \"{}\"",
                    slug(s).chars().take(24).collect::<String>().trim_end_matches('-')
                )),
            ));
        }
        let ok =
            !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            return Ok(s.clone());
        }
        let slug = slug(s);
        let slug = slug.trim_matches('-');
        let hint = if slug.is_empty() {
            "the name is used in report paths; e.g. name = \"my-scenario\"".to_owned()
        } else {
            format!("the name is used in report paths; e.g. name = \"{slug}\"")
        };
        Err(self.bad(v, "name", expected_text("name"), Some(hint)))
    }

    fn seeds(&self, v: &Spanned<RawSeeds>) -> Result<Vec<u64>> {
        match v.get_ref() {
            RawSeeds::Count(n) => {
                if *n < 1 {
                    Err(self.bad(
                        v,
                        "seeds",
                        expected_text("seeds"),
                        Some("a count N runs seeds 1..=N; use at least 1, e.g. seeds = 20".into()),
                    ))
                } else if *n > MAX_SEED_COUNT {
                    Err(self.bad(
                        v,
                        "seeds",
                        expected_text("seeds"),
                        Some(format!("at most {MAX_SEED_COUNT} seeds per scenario")),
                    ))
                } else {
                    Ok((1..=*n as u64).collect())
                }
            }
            RawSeeds::List(list) => {
                if list.is_empty() {
                    return Err(self.bad(
                        v,
                        "seeds",
                        expected_text("seeds"),
                        Some("list at least one seed, e.g. seeds = [1, 7, 42]".into()),
                    ));
                }
                if list.len() as u64 > MAX_SEED_COUNT as u64 {
                    return Err(self.bad(
                        v,
                        "seeds",
                        expected_text("seeds"),
                        Some(format!("this list has {} seeds; at most {MAX_SEED_COUNT} per scenario", list.len())),
                    ));
                }
                let mut out: Vec<u64> = Vec::with_capacity(list.len());
                let mut seen = std::collections::HashSet::with_capacity(list.len());
                for s in list {
                    let Ok(seed) = u64::try_from(*s.get_ref()) else {
                        return Err(self.bad(
                            s,
                            "seeds",
                            "a non-negative integer seed",
                            Some("seeds are non-negative integers".into()),
                        ));
                    };
                    if !seen.insert(seed) {
                        return Err(self.bad(
                            s,
                            "seeds",
                            "each seed at most once",
                            Some(format!("seed {seed} is listed twice; remove one")),
                        ));
                    }
                    out.push(seed);
                }
                Ok(out)
            }
        }
    }

    fn duration(&self, v: &Spanned<RawDuration>, path: &str) -> Result<u64> {
        let text = match v.get_ref() {
            RawDuration::Text(t) | RawDuration::Number(t) => t,
        };
        parse_duration(text).map_err(|e| {
            let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
            let expected = expected_for(&segments).unwrap_or_else(|| "a duration such as \"250ms\"".to_owned());
            self.err(v.span().start, format!("invalid duration for `{path}`: {}", e.message), expected, e.hint)
        })
    }

    fn positive_duration(&self, v: &Spanned<RawDuration>, path: &str) -> Result<u64> {
        let ns = self.duration(v, path)?;
        if ns == 0 {
            return Err(self.bad(v, path, expected_text(path), Some("use a duration > 0".into())));
        }
        Ok(ns)
    }

    /// An integer in `1..=max`.
    fn positive_int(&self, v: &Spanned<i64>, path: &str, max: u64, low_hint: &str) -> Result<u64> {
        let n = *v.get_ref();
        if n < 1 {
            return Err(self.bad(v, path, expected_text(path), Some(low_hint.to_owned())));
        }
        let n = n as u64;
        if n > max {
            return Err(self.bad(v, path, expected_text(path), Some(format!("it can be at most {max}"))));
        }
        Ok(n)
    }

    /// An integer in `1..=max`, with a hint saying why it is capped.
    fn capped_int(&self, v: &Spanned<i64>, path: &str, max: u64, low_hint: &str, why: &str) -> Result<u64> {
        let n = *v.get_ref();
        if n >= 1 && n as u64 > max {
            return Err(self.bad(v, path, expected_text(path), Some(format!("it can be at most {max}: {why}"))));
        }
        self.positive_int(v, path, max, low_hint)
    }

    fn limits(&self, raw: Option<&RawLimits>, duration_ns: u64, request_timeout_ns: u64) -> Result<Limits> {
        // A run lasts until `duration` + `request_timeout` (every request
        // answered or given up on); the default leaves 10 minutes more.
        let default_sim_time = duration_ns.saturating_add(request_timeout_ns).saturating_add(SIM_TIME_MARGIN_NS);
        let Some(raw) = raw else {
            return Ok(Limits {
                max_events: 50_000_000,
                max_sim_time_ns: default_sim_time,
                max_queued_events: DEFAULT_MAX_QUEUED_EVENTS,
                mailbox_capacity: 1024,
                mailbox_overflow: OverflowPolicy::Reject,
            });
        };
        let max_events = match &raw.max_events {
            Some(v) => self.positive_int(v, "limits.max_events", i64::MAX as u64, "max_events must be at least 1")?,
            None => 50_000_000,
        };
        let max_sim_time_ns = match &raw.max_sim_time {
            Some(v) => {
                let ns = self.duration(v, "limits.max_sim_time")?;
                if ns < duration_ns {
                    return Err(self.bad(
                        v,
                        "limits.max_sim_time",
                        expected_text("limits.max_sim_time"),
                        Some(
                            "every run would stop before requests stop arriving; make it at \
                             least `duration` (the default is `duration` + `request_timeout` + 10m)"
                                .into(),
                        ),
                    ));
                }
                ns
            }
            None => default_sim_time,
        };
        let max_queued_events = match &raw.max_queued_events {
            Some(v) => self.positive_int(
                v,
                "limits.max_queued_events",
                MAX_QUEUED_EVENTS,
                "max_queued_events must be at least 1 event",
            )? as usize,
            None => DEFAULT_MAX_QUEUED_EVENTS,
        };
        let mailbox_capacity = match &raw.mailbox_capacity {
            Some(v) => self.positive_int(
                v,
                "limits.mailbox_capacity",
                u64::from(u32::MAX),
                "mailbox_capacity must be at least 1 message",
            )? as u32,
            None => 1024,
        };
        let mailbox_overflow = match &raw.mailbox_overflow {
            Some(v) => match v.get_ref().as_str() {
                "reject" => OverflowPolicy::Reject,
                "drop_newest" => OverflowPolicy::DropNewest,
                "drop_oldest" => OverflowPolicy::DropOldest,
                other => {
                    let options = ["reject", "drop_newest", "drop_oldest"];
                    return Err(self.bad(
                        v,
                        "limits.mailbox_overflow",
                        expected_text("limits.mailbox_overflow"),
                        Some(choice_hint(other, &options)),
                    ));
                }
            },
            None => OverflowPolicy::Reject,
        };
        Ok(Limits { max_events, max_sim_time_ns, max_queued_events, mailbox_capacity, mailbox_overflow })
    }

    fn topology(&self, raw: &RawTopology) -> Result<Topology> {
        let nodes = match &raw.nodes {
            Some(v) => self.capped_int(
                v,
                "topology.nodes",
                u64::from(MAX_NODES),
                "a topology needs at least 1 node",
                "node ids are 16 bits, so nodes are numbered 0 to 65535",
            )? as u32,
            None => 1,
        };
        // With `[[roles]]`, the roles' counts say how many agents there
        // are (checked, and written here, by the caller).
        let agents = match &raw.agents {
            Some(v) => self.capped_int(
                v,
                "topology.agents",
                u64::from(MAX_AGENTS),
                "a topology needs at least 1 agent",
                "a fleet has at most 10,000,000 agents",
            )? as u32,
            None => 0,
        };
        let net = raw.network.as_ref();
        let network_latency = match (net.and_then(|n| n.latency.as_ref()), net.and_then(|n| n.latency_csv.as_ref())) {
            (Some(d), None) => self.dist(d, "topology.network.latency", DistKind::Latency)?,
            (None, Some(path)) => self.empirical_csv(path, "topology.network.latency_csv")?,
            (None, None) => Dist::Constant { value: 1e6 },
            (Some(_), Some(path)) => {
                return Err(self.bad(
                    path,
                    "topology.network.latency_csv",
                    "either `latency` or `latency_csv`, not both",
                    Some("keep one of them".into()),
                ));
            }
        };
        let rate = |v: Option<&Spanned<f64>>, path: &str| match v {
            Some(v) => self.probability(v, path),
            None => Ok(0.0),
        };
        let loss = rate(net.and_then(|n| n.loss.as_ref()), "topology.network.loss")?;
        let duplicate = rate(net.and_then(|n| n.duplicate.as_ref()), "topology.network.duplicate")?;
        let reorder = rate(net.and_then(|n| n.reorder.as_ref()), "topology.network.reorder")?;
        let mut links: Vec<LinkSpec> = Vec::new();
        for l in raw.links.iter().flatten() {
            let node = |v: &Spanned<i64>, path: &str| -> Result<u32> {
                match u32::try_from(*v.get_ref()) {
                    Ok(n) if n < nodes => Ok(n),
                    _ => Err(self.bad(
                        v,
                        path,
                        format!("a node index below {nodes}"),
                        Some(format!("nodes are numbered from 0; this topology has {nodes}")),
                    )),
                }
            };
            let from = node(&l.from, "topology.links.from")?;
            let to = node(&l.to, "topology.links.to")?;
            if from == to {
                return Err(self.bad(
                    &l.to,
                    "topology.links.to",
                    format!("a node other than `from` ({from})"),
                    Some(
                        "a link joins two different nodes; messages within one node never cross the \
                         network (they take no time and are never lost)"
                            .into(),
                    ),
                ));
            }
            if links.iter().any(|x| x.from == from && x.to == to) {
                return Err(self.bad(
                    &l.from,
                    "topology.links",
                    "each directed link at most once",
                    Some(format!(
                        "the link {from} -> {to} is already set above; merge the two entries (the \
                         reverse direction, {to} -> {from}, is a separate link)"
                    )),
                ));
            }
            links.push(LinkSpec {
                from,
                to,
                latency: match &l.latency {
                    Some(d) => Some(self.dist(d, "topology.links.latency", DistKind::Latency)?),
                    None => None,
                },
                loss: rate(l.loss.as_ref(), "topology.links.loss")?,
                duplicate: rate(l.duplicate.as_ref(), "topology.links.duplicate")?,
                reorder: rate(l.reorder.as_ref(), "topology.links.reorder")?,
                ordered: l.ordered.unwrap_or(false),
            });
        }
        let capacity = self.capacities(raw.capacity.as_ref(), raw.node_capacity.as_deref(), nodes)?;
        Ok(Topology { nodes, agents, network_latency, loss, duplicate, reorder, links, capacity })
    }

    fn workload(
        &self,
        raw: &RawWorkload,
        llms: &[ServiceModel],
        tools: &[ServiceModel],
        duration: &Spanned<RawDuration>,
        duration_ns: u64,
        with_roles: bool,
    ) -> Result<Workload> {
        let arrivals = self.arrivals(&raw.arrivals)?;
        let steps = match &raw.steps {
            // With roles, the entry role's workflow is what a request does.
            None if with_roles => Vec::new(),
            Some(v) if with_roles => {
                return Err(self.bad(
                    v,
                    "workload.steps",
                    "no `workload.steps` with `[[roles]]`",
                    Some("with roles, the entry role's `workflow` says what a request does".into()),
                ));
            }
            None => vec![Step::Llm(0), Step::Tool(0), Step::Llm(0)],
            Some(list) => {
                if list.get_ref().is_empty() {
                    return Err(self.bad(
                        list,
                        "workload.steps",
                        expected_text("workload.steps"),
                        Some("each request needs at least one call, e.g. steps = [\"llm\"]".into()),
                    ));
                }
                let mut out = Vec::with_capacity(list.get_ref().len());
                for s in list.get_ref() {
                    out.push(self.step(s, llms, tools)?);
                }
                out
            }
        };
        let request_timeout_ns = match &raw.request_timeout {
            Some(v) => self.positive_duration(v, "workload.request_timeout")?,
            None => 120 * NS_PER_S,
        };
        // A run lasts until `duration` + `request_timeout`: the sum must be
        // a time.
        if duration_ns.checked_add(request_timeout_ns).is_none() {
            let hint = Some(format!(
                "a run lasts until `duration` + `request_timeout`, which must be at most about 584 years \
                 (2^64 - 1 ns); `duration` is {}",
                self.text(&duration.span())
            ));
            return Err(match &raw.request_timeout {
                Some(v) => self.bad(v, "workload.request_timeout", "a shorter duration", hint),
                None => self.bad(duration, "duration", "a shorter duration", hint),
            });
        }
        if with_roles {
            let stray =
                [("shape", raw.shape.as_ref().map(|v| v.span())), ("fanout", raw.fanout.as_ref().map(|v| v.span()))];
            if let Some((key, Some(span))) = stray.into_iter().find(|(_, s)| s.is_some()) {
                return Err(self.err(
                    span.start,
                    format!("`workload.{key}` does not apply with `[[roles]]`"),
                    "roles and workflows in place of `shape`",
                    Some("with roles, a fan-out is a `parallel` step (or `copies`) in a role's workflow".into()),
                ));
            }
        }
        let shape = match &raw.shape {
            None => Shape::Pool,
            Some(v) => match v.get_ref().as_str() {
                "pool" => Shape::Pool,
                "pipeline" => Shape::Pipeline,
                "fanout" => Shape::FanOut,
                other => {
                    return Err(self.bad(
                        v,
                        "workload.shape",
                        "\"pool\", \"pipeline\" or \"fanout\"",
                        Some(choice_hint(other, &["pool", "pipeline", "fanout"])),
                    ));
                }
            },
        };
        let fanout = match &raw.fanout {
            Some(v) => self.positive_int(v, "workload.fanout", 1_000, "a fan-out asks at least 1 agent")? as u32,
            None => 3,
        };
        let subtask_timeout_ns = match &raw.subtask_timeout {
            Some(v) => self.positive_duration(v, "workload.subtask_timeout")?,
            None => request_timeout_ns / 2,
        };
        let types = match &raw.requests {
            None => vec![RequestType {
                name: "default".into(),
                weight: 1.0,
                steps: steps.clone(),
                deadline_ns: request_timeout_ns,
                key: None,
                workflow: None,
            }],
            Some(list) => {
                if let Some(v) = &raw.steps {
                    return Err(self.bad(
                        v,
                        "workload.steps",
                        "either `steps` or `[[workload.requests]]`, not both",
                        Some("with request types, each `[[workload.requests]]` has its own `steps`".into()),
                    ));
                }
                if list.get_ref().is_empty() {
                    return Err(self.bad(list, "workload.requests", "at least one request type", None));
                }
                if let (Shape::Pipeline, Some(v)) = (shape, &raw.shape) {
                    return Err(self.bad(
                        v,
                        "workload.shape",
                        "\"pool\" or \"fanout\" with `[[workload.requests]]`",
                        Some("a pipeline has one stage per step of a single workflow: it runs one request type".into()),
                    ));
                }
                let types = self.request_types(list.get_ref(), llms, tools, request_timeout_ns, with_roles)?;
                for (t, r) in types.iter().zip(list.get_ref()) {
                    if duration_ns.checked_add(t.deadline_ns).is_none() {
                        return Err(self.bad(
                            &r.name,
                            "workload.requests.deadline",
                            "a shorter deadline",
                            Some("`duration` + `deadline` must be at most about 584 years".into()),
                        ));
                    }
                }
                types
            }
        };
        // The simple form's `steps` stays the first type's.
        let steps = types[0].steps.clone();
        Ok(Workload { arrivals, steps, request_timeout_ns, shape, fanout, subtask_timeout_ns, types })
    }

    fn retry(&self, raw: Option<&RawRetry>) -> Result<RetryParams> {
        let mut p = RetryParams { max_attempts: 4, base_delay_ns: 100_000_000, max_delay_ns: 10 * NS_PER_S };
        let Some(raw) = raw else { return Ok(p) };
        if let Some(v) = &raw.max_attempts {
            p.max_attempts = self.positive_int(
                v,
                "retry.max_attempts",
                u64::from(u32::MAX),
                "max_attempts counts the first attempt, so it must be at least 1 (1 = no retries)",
            )? as u32;
        }
        if let Some(v) = &raw.base_delay {
            p.base_delay_ns = self.duration(v, "retry.base_delay")?;
        }
        if let Some(v) = &raw.max_delay {
            p.max_delay_ns = self.duration(v, "retry.max_delay")?;
        }
        if p.max_delay_ns < p.base_delay_ns {
            let (v, path) = match (&raw.max_delay, &raw.base_delay) {
                (Some(v), _) => (v, "retry.max_delay"),
                (None, Some(v)) => (v, "retry.base_delay"),
                (None, None) => unreachable!("defaults are ordered"),
            };
            return Err(self.bad(
                v,
                path,
                "`max_delay` >= `base_delay`",
                Some(
                    "`max_delay` caps each backoff, so it cannot be below `base_delay` (defaults: 100ms and 10s)"
                        .into(),
                ),
            ));
        }
        Ok(p)
    }

    fn dist<V: DistParam>(&self, raw: &Spanned<RawDist<V>>, path: &str, kind: DistKind) -> Result<Dist> {
        let d = raw.get_ref();
        let tag = d.dist.get_ref().as_str();
        let params: [(&str, &Option<Spanned<V>>); 7] = [
            ("value", &d.value),
            ("min", &d.min),
            ("max", &d.max),
            ("mean", &d.mean),
            ("std_dev", &d.std_dev),
            ("median", &d.median),
            ("p99", &d.p99),
        ];
        let needs: &[&str] = match DISTS.iter().find(|(k, _)| *k == tag) {
            Some((_, needs)) => needs,
            None => {
                let kinds: Vec<&str> = DISTS.iter().map(|(k, _)| *k).collect();
                return Err(self.bad(
                    &d.dist,
                    &format!("{path}.dist"),
                    format!("one of {}", list(&kinds)),
                    Some(choice_hint(tag, &kinds)),
                ));
            }
        };
        let takes = needs.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" and ");
        let example = dist_example(tag, kind);
        for (pname, pval) in params {
            if let Some(v) = pval
                && !needs.contains(&pname)
            {
                return Err(self.err(
                    v.span().start,
                    format!("`{pname}` is not a parameter of a `{tag}` distribution (`{path}`)"),
                    format!("`{tag}` takes {takes}"),
                    Some(format!("remove `{pname}`; e.g. {path} = {example}")),
                ));
            }
        }
        let mut vals = [0.0f64; 2];
        for (i, n) in needs.iter().enumerate() {
            let (_, pval) = params.iter().find(|(p, _)| p == n).expect("listed above");
            let Some(v) = pval else {
                return Err(self.err(
                    raw.span().start,
                    format!("missing `{n}` for `{path}` (a `{tag}` distribution)"),
                    format!("`{tag}` takes {takes}"),
                    Some(format!("e.g. {path} = {example}")),
                ));
            };
            vals[i] = V::value(self, v, &format!("{path}.{n}"), kind)?;
        }
        let param =
            |n: &str| params.iter().find(|(p, _)| *p == n).and_then(|(_, v)| v.as_ref()).expect("checked present");
        let unit = match kind {
            DistKind::Latency => "duration",
            DistKind::Tokens => "token count",
        };
        let dist = match tag {
            "constant" => Dist::Constant { value: vals[0] },
            "uniform" => {
                if vals[0] > vals[1] {
                    return Err(self.bad(
                        param("max"),
                        &format!("{path}.max"),
                        format!("a {unit} >= `min`"),
                        Some("`min` must not exceed `max`; swap them?".into()),
                    ));
                }
                Dist::Uniform { min: vals[0], max: vals[1] }
            }
            "normal" => Dist::Normal { mean: vals[0], std_dev: vals[1] },
            "exponential" => {
                if vals[0] <= 0.0 {
                    return Err(self.bad(
                        param("mean"),
                        &format!("{path}.mean"),
                        format!("a positive {unit}"),
                        Some("an exponential distribution needs a mean > 0; for always-zero use { dist = \"constant\", value = ... }".into()),
                    ));
                }
                Dist::Exponential { mean: vals[0] }
            }
            _ => {
                if vals[0] <= 0.0 {
                    return Err(self.bad(
                        param("median"),
                        &format!("{path}.median"),
                        format!("a positive {unit}"),
                        Some("a log-normal needs 0 < median <= p99".into()),
                    ));
                }
                if vals[0] > vals[1] {
                    return Err(self.bad(
                        param("p99"),
                        &format!("{path}.p99"),
                        format!("a {unit} >= `median`"),
                        Some(format!(
                            "the 99th percentile cannot be below the median ({}); swap them?",
                            self.text(&param("median").span())
                        )),
                    ));
                }
                Dist::lognormal_from_median_p99(vals[0], vals[1])
            }
        };
        // Token counts are `u32`: a draw above is clamped to `u32::MAX`.
        // Only a log-normal's tail reaches that from parameters within
        // `MAX_TOKEN_PARAM`; reject one that does more than once in a
        // million calls, rather than clamp it silently.
        // (The other kinds stay below 2e8 when their parameters are within
        // `MAX_TOKEN_PARAM`.)
        if kind == DistKind::Tokens && tag == "lognormal" && dist.quantile(1.0 - 1e-6) > f64::from(u32::MAX) {
            return Err(self.bad(
                param("p99"),
                &format!("{path}.p99"),
                "a token-count distribution whose draws fit 32 bits",
                Some(format!(
                    "with this median and p99, more than one call in a million would draw over {} tokens \
                     (the most a call can have); bring `median` and `p99` closer together",
                    u32::MAX
                )),
            ));
        }
        Ok(dist)
    }
}

/// A distribution parameter's value type (duration text or plain number).
trait DistParam: Sized {
    fn value(ctx: &Ctx<'_>, v: &Spanned<Self>, path: &str, kind: DistKind) -> Result<f64>;
}

impl DistParam for RawDuration {
    fn value(ctx: &Ctx<'_>, v: &Spanned<Self>, path: &str, _: DistKind) -> Result<f64> {
        Ok(ctx.duration(v, path)? as f64)
    }
}

impl DistParam for f64 {
    fn value(ctx: &Ctx<'_>, v: &Spanned<Self>, path: &str, _: DistKind) -> Result<f64> {
        let x = *v.get_ref();
        if !(x.is_finite() && x >= 0.0) {
            return Err(ctx.bad(
                v,
                path,
                "a non-negative number of tokens",
                Some("token counts are plain numbers >= 0, e.g. 1020".into()),
            ));
        }
        if x > MAX_TOKEN_PARAM {
            return Err(ctx.bad(
                v,
                path,
                "a number of tokens from 0 to 10000000",
                Some(
                    "a call has at most 10,000,000 tokens in and out (the largest context windows are a few million)"
                        .into(),
                ),
            ));
        }
        Ok(x)
    }
}

fn dist_example(tag: &str, kind: DistKind) -> &'static str {
    match (tag, kind) {
        ("constant", DistKind::Latency) => "{ dist = \"constant\", value = \"1ms\" }",
        ("uniform", DistKind::Latency) => "{ dist = \"uniform\", min = \"10ms\", max = \"50ms\" }",
        ("normal", DistKind::Latency) => "{ dist = \"normal\", mean = \"100ms\", std_dev = \"20ms\" }",
        ("exponential", DistKind::Latency) => "{ dist = \"exponential\", mean = \"250ms\" }",
        (_, DistKind::Latency) => "{ dist = \"lognormal\", median = \"800ms\", p99 = \"6s\" }",
        ("constant", DistKind::Tokens) => "{ dist = \"constant\", value = 500 }",
        ("uniform", DistKind::Tokens) => "{ dist = \"uniform\", min = 100, max = 2000 }",
        ("normal", DistKind::Tokens) => "{ dist = \"normal\", mean = 1000, std_dev = 200 }",
        ("exponential", DistKind::Tokens) => "{ dist = \"exponential\", mean = 1000 }",
        (_, DistKind::Tokens) => "{ dist = \"lognormal\", median = 1020, p99 = 4142 }",
    }
}

// ---------------------------------------------------------------------------
// Per-key documentation used in messages.

/// What a key accepts, by its dotted path (for paths we know).
fn expected_for(path: &[String]) -> Option<String> {
    let joined = path.join(".");
    let last = path.last().map(String::as_str).unwrap_or("");
    let parent = path.len().checked_sub(2).map(|i| path[i].as_str());
    let is_latency_dist = joined == "topology.network.latency"
        || joined == "llm.latency"
        || joined == "tool.latency"
        || joined == "workload.arrivals.think";
    let is_token_dist = joined == "llm.input_tokens" || joined == "llm.output_tokens";
    let in_dist = path.len() >= 2 && {
        let p = path[..path.len() - 1].join(".");
        matches!(
            p.as_str(),
            "topology.network.latency"
                | "llm.latency"
                | "tool.latency"
                | "llm.input_tokens"
                | "llm.output_tokens"
                | "workload.arrivals.think"
        )
    };
    let s = if is_latency_dist {
        "a latency distribution, e.g. { dist = \"lognormal\", median = \"2ms\", p99 = \"20ms\" }"
    } else if is_token_dist {
        "a token-count distribution, e.g. { dist = \"lognormal\", median = 1020, p99 = 4142 }"
    } else if in_dist && last == "dist" {
        "one of \"constant\", \"uniform\", \"normal\", \"exponential\", \"lognormal\""
    } else if in_dist && parent.is_some_and(|p| p.ends_with("tokens")) {
        "a non-negative number of tokens"
    } else if in_dist {
        "a duration such as \"250ms\""
    } else if parent == Some("strategies") {
        "a non-empty list of strategy names, e.g. [\"none\", \"exponential\"]"
    } else if path.len() >= 2 && (path[0] == "llm" || path[0] == "tool") && path.len() == 2 {
        return Some(expected_text(last).to_owned());
    } else {
        let t = expected_text(&joined);
        if t == GENERIC {
            return None;
        }
        t
    };
    Some(s.to_owned())
}

const GENERIC: &str = "a valid value";

fn expected_text(path: &str) -> &'static str {
    let last = path.rsplit('.').next().unwrap_or(path);
    match path {
        "name" => "a name made of lowercase letters, digits, `_` and `-`",
        "description" => "a string",
        "seeds" => "a seed count >= 1 (e.g. 20) or a non-empty list of seeds (e.g. [1, 7, 42])",
        "duration" => "a positive duration such as \"60s\"",
        "limits" | "topology" | "workload" | "llm" | "tool" | "retry" | "strategies" | "supervision" | "faults"
        | "buggify" | "invariants" => "a table",
        "workload.shape" => "\"pool\", \"pipeline\" or \"fanout\"",
        "workload.fanout" => "a positive number of agents",
        "workload.subtask_timeout" => "a positive duration such as \"30s\"",
        "supervision.intensity" => "an inline table { max_restarts = <integer>, period = \"60s\" }",
        "supervision.intensity.max_restarts" => "a non-negative integer number of restarts (OTP MaxR)",
        "supervision.intensity.period" => "a positive duration such as \"60s\" (OTP MaxT)",
        "supervision.shutdown" => "a duration such as \"5s\" (0 kills at once)",
        "supervision.restart" => "one of \"permanent\", \"transient\", \"temporary\"",
        "supervision.max_restarts_per_child" => "a non-negative integer (Ray max_restarts)",
        "supervision.max_task_retries" => "a non-negative integer (Ray max_task_retries)",
        "supervision.backoff" => "an inline table { min, max, random_factor, reset_after }",
        "supervision.backoff.random_factor" => "a number between 0 and 10",
        "faults.failure_detection" => "a duration such as \"5s\"",
        "faults.agent_crash_mtbf" | "faults.node_crash_mtbf" | "faults.node_mttr" => {
            "a positive duration such as \"5m\""
        }
        "faults.schedule" => "a list of [[faults.schedule]] tables",
        "buggify.enabled" => "true or false",
        "buggify.site_probability" | "buggify.fire_probability" => "a probability between 0 and 1",
        "faults.schedule.at" => "a duration since the start such as \"20s\"",
        "faults.schedule.crash_agent" => "an agent index, from 0",
        "faults.schedule.crash_node" => "a node index, from 0",
        "faults.schedule.for" => "a positive duration such as \"30s\"",
        "limits.max_events" => "a positive integer number of events",
        "limits.max_sim_time" => "a duration such as \"15m\", at least `duration`",
        "limits.max_queued_events" => "a positive integer number of events, at most 1_000_000_000",
        "limits.mailbox_capacity" => "a positive integer number of messages",
        "limits.mailbox_overflow" => "one of \"reject\", \"drop_newest\", \"drop_oldest\"",
        "topology.nodes" => "an integer number of nodes from 1 to 65536",
        "topology.agents" => "an integer number of agents from 1 to 10000000",
        "topology.network" => "a table with a `latency` distribution",
        "workload.arrivals" => "an inline table { process = \"poisson\", rate_per_s = <number> } (or another process)",
        "workload.arrivals.process" => {
            "one of \"poisson\", \"constant\", \"bursts\", \"daily\", \"ramp\", \"closed\", \"population\", \"trace\""
        }
        "workload.arrivals.rate_per_s" | "workload.arrivals.on_rate_per_s" | "workload.arrivals.mean_rate_per_s" => {
            "a positive number of requests per second"
        }
        "workload.arrivals.off_rate_per_s"
        | "workload.arrivals.amplitude_per_s"
        | "workload.arrivals.from_rate_per_s"
        | "workload.arrivals.to_rate_per_s" => "a number of requests per second, 0 or more",
        "workload.arrivals.on" | "workload.arrivals.off" => "a positive duration such as \"10s\"",
        "workload.arrivals.switching" => "\"fixed\" or \"markov\"",
        "workload.arrivals.period" => "a positive duration such as \"24h\", at most a year",
        "workload.arrivals.phase" => "a duration such as \"6h\"",
        "workload.arrivals.users" | "workload.arrivals.clients" => "an integer number of users from 1 to 1000000",
        "workload.arrivals.repeat" => "true or false",
        "workload.arrivals.csv" => "the path of a CSV file of arrival times",
        "workload.arrivals.time_scale" => "a number > 0 and at most 1000000 (0.5 plays twice as fast)",
        "workload.steps" => "a non-empty list of \"llm\" and \"tool\"",
        "workload.request_timeout" => "a positive duration such as \"2m\"",
        "workload.requests.key.keys" => "an integer number of keys from 1 to 10000000",
        "retry.max_attempts" => "a positive integer number of attempts (the first one included)",
        "retry.base_delay" => "a duration such as \"100ms\"",
        "retry.max_delay" => "a duration such as \"10s\", at least `base_delay`",
        _ => match last {
            "error_rate" => "a probability between 0 and 1",
            "timeout" => "a positive duration such as \"10s\"",
            "latency" => "a latency distribution, e.g. { dist = \"lognormal\", median = \"2ms\", p99 = \"20ms\" }",
            "input_tokens" | "output_tokens" => {
                "a token-count distribution, e.g. { dist = \"lognormal\", median = 1020, p99 = 4142 }"
            }
            _ => GENERIC,
        },
    }
}

/// A sample `key = value` line for a key, for "add ..." hints.
fn example_for(path: &[String]) -> Option<String> {
    let joined = path.join(".");
    let s = match joined.as_str() {
        "name" => "name = \"quickstart\"",
        "description" => "description = \"free text\"",
        "seeds" => "seeds = 20",
        "duration" => "duration = \"60s\"",
        "topology" => "[topology] with agents = 16",
        "workload" => "[workload] with arrivals = { process = \"poisson\", rate_per_s = 20 }",
        "llm" => "[llm] with latency = { dist = \"lognormal\", median = \"800ms\", p99 = \"6s\" }",
        "tool" => "[tool] with latency = { dist = \"exponential\", mean = \"250ms\" }",
        "topology.agents" => "agents = 16",
        "topology.nodes" => "nodes = 4",
        "workload.arrivals" => "arrivals = { process = \"poisson\", rate_per_s = 20 }",
        "workload.arrivals.process" => "process = \"poisson\"",
        "workload.arrivals.rate_per_s" => "rate_per_s = 20",
        "workload.steps" => "steps = [\"llm\", \"tool\", \"llm\"]",
        "llm.latency" => "latency = { dist = \"lognormal\", median = \"800ms\", p99 = \"6s\" }",
        "tool.latency" => "latency = { dist = \"exponential\", mean = \"250ms\" }",
        "limits.max_events" => "max_events = 50_000_000",
        "limits.max_queued_events" => "max_queued_events = 2_000_000",
        "limits.mailbox_capacity" => "mailbox_capacity = 1024",
        "limits.mailbox_overflow" => "mailbox_overflow = \"reject\"",
        "retry.max_attempts" => "max_attempts = 4",
        _ => match path.last().map(String::as_str) {
            Some("dist") => "dist = \"lognormal\"",
            Some("error_rate") => "error_rate = 0.05",
            Some("timeout") => "timeout = \"10s\"",
            Some("max_sim_time") => "max_sim_time = \"15m\"",
            Some("request_timeout") => "request_timeout = \"2m\"",
            Some("base_delay") => "base_delay = \"100ms\"",
            Some("max_delay") => "max_delay = \"10s\"",
            Some("retry") if path.len() == 2 => "retry = [\"none\", \"exponential_full_jitter\"]",
            _ => return None,
        },
    };
    Some(s.to_owned())
}

// ---------------------------------------------------------------------------
// Helpers.

/// The error for a scenario file that is not UTF-8: located at the first
/// invalid byte, `valid_up_to` (the line's text up to there is shown).
pub(crate) fn not_utf8(bytes: &[u8], valid_up_to: usize, file: &str) -> ScenarioError {
    let valid = std::str::from_utf8(&bytes[..valid_up_to]).unwrap_or("");
    let (line, column, _) = locate(valid, valid.len());
    let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
    let byte = bytes.get(valid_up_to).copied().unwrap_or(0);
    ScenarioError::Invalid {
        file: file.to_owned(),
        line,
        column,
        message: format!("the file is not UTF-8 text: invalid byte 0x{byte:02X}"),
        expected: "UTF-8 text".to_owned(),
        hint: Some("save the file as UTF-8 (scenario files are TOML, which is UTF-8)".to_owned()),
        source_line: valid[line_start..].trim_end_matches('\r').to_owned(),
    }
}

/// 1-based line and column (in characters) of byte offset `at`, and the
/// text of that line. Offsets past the end point just after the last char.
pub(crate) fn locate(source: &str, at: usize) -> (usize, usize, &str) {
    let mut at = at.min(source.len());
    while !source.is_char_boundary(at) {
        at -= 1;
    }
    let line_start = source[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[at..].find('\n').map_or(source.len(), |i| at + i);
    let line = source[..line_start].matches('\n').count() + 1;
    let column = source[line_start..at].chars().count() + 1;
    let text = source[line_start..line_end].trim_end_matches('\r');
    (line, column, text)
}

/// The dotted key path of the innermost key whose key or value span holds
/// `span.start`, e.g. `["workload", "arrivals", "rate_per_s"]`. Empty for
/// the document itself.
fn path_at(doc: &toml::Spanned<DeTable<'_>>, span: &Range<usize>) -> Vec<String> {
    if doc.span() == *span {
        return Vec::new();
    }
    path_in(doc.get_ref(), span.start).unwrap_or_default()
}

fn path_in(table: &DeTable<'_>, at: usize) -> Option<Vec<String>> {
    let holds = |r: Range<usize>| r.start <= at && at < r.end.max(r.start + 1);
    for (k, v) in table.iter() {
        let deeper = match v.get_ref() {
            DeValue::Table(t) => path_in(t, at),
            DeValue::Array(a) => a.iter().find_map(|e| match e.get_ref() {
                DeValue::Table(t) => path_in(t, at),
                _ => None,
            }),
            _ => None,
        };
        if let Some(mut p) = deeper {
            p.insert(0, k.get_ref().to_string());
            return Some(p);
        }
        if holds(k.span()) || holds(v.span()) {
            return Some(vec![k.get_ref().to_string()]);
        }
    }
    None
}

/// `s` as a name made of `[a-z0-9_-]`: lowercase, with a `-` for each run
/// of other characters.
fn slug(s: &str) -> String {
    let mut slug = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug
}

/// The names in backticks in `text`, e.g. from "expected one of `a`, `b`".
fn backticked(text: &str) -> Vec<String> {
    text.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

fn list<S: AsRef<str>>(items: &[S]) -> String {
    items.iter().map(|s| format!("`{}`", s.as_ref())).collect::<Vec<_>>().join(", ")
}

fn table_display(table: &[String]) -> String {
    if table.is_empty() { "the top level".to_owned() } else { format!("`[{}]`", echo(&table.join("."))) }
}

/// "did you mean `x`? valid values: ..." for a closed set of choices.
fn choice_hint(got: &str, options: &[&str]) -> String {
    match did_you_mean(got, options.iter().copied()) {
        Some(best) => format!("did you mean `{best}`? valid values: {}", list(options)),
        None => format!("valid values: {}", list(options)),
    }
}

/// The closest candidate, if it is close enough to be a likely typo (a few
/// edits, or a prefix of at least three characters).
fn did_you_mean<'a>(got: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    // Nothing we suggest is this long; and the edit distance's table grows
    // with the product of the lengths.
    if got.len() > 2 * MAX_NAME_CHARS {
        return None;
    }
    let got_l = got.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = if got_l.len() >= 3 && c.starts_with(&got_l) { 1 } else { edit_distance(&got_l, c) };
        let limit = (c.chars().count().max(got.chars().count()) / 3).clamp(1, 3);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Edit distance over chars, counting a swap of two neighbours as one edit
/// (optimal string alignment).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * w + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut v = (d[(i - 1) * w + j] + 1).min(d[i * w + j - 1] + 1).min(d[(i - 1) * w + j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    v = v.min(d[(i - 2) * w + j - 2] + 1);
                }
                v
            };
        }
    }
    d[a.len() * w + b.len()]
}

/// serde's type names to words.
fn plain_type(serde_expected: &str) -> String {
    match serde_expected {
        "i64" | "u64" | "u32" | "i32" => "an integer".to_owned(),
        "f64" | "f32" => "a number".to_owned(),
        "a string" | "string" => "a string".to_owned(),
        "a sequence" => "a list".to_owned(),
        "" => "a different type".to_owned(),
        other => other.to_owned(),
    }
}

fn found_display(found: &str) -> String {
    match found {
        "sequence" => "a list".to_owned(),
        "map" => "a table".to_owned(),
        other => other.replace("floating point", "number"),
    }
}

mod arrivals;
mod capacity;
mod faults;
mod mix;
mod policies;
mod roles;
mod schema;
mod services;
mod spanned;
mod strategies;
#[cfg(test)]
mod tests;
