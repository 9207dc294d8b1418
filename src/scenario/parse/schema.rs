//! The JSON Schema of scenario files (`rehearsal schema`), generated from
//! the loader's own `Raw*` types, so that the two cannot drift apart.
//!
//! The raw structs derive [`JsonSchema`]: their keys, which ones are
//! required and `#[serde(deny_unknown_fields)]` (`additionalProperties:
//! false`) come from the same definitions serde deserializes with. The
//! types the loader reads by hand get their schema here: durations,
//! `seeds`, `[strategies]` (built from the axes' own definitions, plus the
//! system's axes) and the strategy-valued keys of roles and steps. Then the
//! generated schema is tidied for editors: no `null` (TOML has none),
//! definitions named after the tables rather than the Rust types, the
//! choices of the keys that take one of a few strings, and a description
//! of every key (a test checks that each one names a real key).
//!
//! The schema is draft-07, which editors (taplo, VS Code) and validators
//! support best. It checks the shape of a file, not everything the loader
//! checks (ranges, cross-references between tables): a file it rejects is
//! rejected by the loader, not always the other way round.

use std::borrow::Cow;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value, json};

use super::arrivals::PROCESSES;
use super::strategies::RawStrategies;
use super::{DISTS, MAX_NAME_CHARS, MAX_SEED_COUNT, RawDuration, RawScenario, RawSeeds};
use crate::strategy::{AXES, AxisValue, AxisVisitor, SystemAxis, visit_axis};

/// Where the definitions live in the generated schema (draft-07).
const DEFINITIONS: &str = "definitions";

/// The JSON Schema (draft-07) of the scenario files that
/// [`parse_for`](super::parse_for) accepts with the system's `axes` (none
/// for the built-in fleet): a JSON document, which `rehearsal schema`
/// prints. Scenario files are TOML; editors check TOML against a JSON
/// Schema (taplo, Even Better TOML), and so can any validator once the
/// TOML is read into JSON values.
pub fn schema(axes: &[SystemAxis]) -> Value {
    let generator = SchemaGenerator::new(SchemaSettings::draft07());
    let mut root = generator.into_root_schema_for::<RawScenario>().to_value();
    tidy(&mut root);
    let definitions = root.get_mut(DEFINITIONS).and_then(Value::as_object_mut).expect("the raw types are tables");
    if let Some(strategies) = definitions.get_mut("Strategies") {
        *strategies = strategies_schema(axes);
    }
    for (table, key, description) in DESCRIPTIONS {
        let target =
            if *table == ROOT { Some(&mut root) } else { root.get_mut(DEFINITIONS).and_then(|d| d.get_mut(*table)) };
        let target = target.unwrap_or_else(|| panic!("no table `{table}` in the scenario schema"));
        describe(target, key, description);
    }
    root["title"] = json!("rehearsal scenario");
    root
}

/// The name [`DESCRIPTIONS`] gives the document itself.
const ROOT: &str = "";

/// Strips what editors do not need, names definitions after the tables,
/// and adds the choices of the string keys that take a few values.
fn tidy(root: &mut Value) {
    visit_schemas(root, &mut strip);
    rename_definitions(root);
    name_rule(&mut root["properties"]["name"]);
    let definitions = root.get_mut(DEFINITIONS).and_then(Value::as_object_mut).expect("the raw types are tables");
    for (table, key, values) in CHOICES {
        property(definitions, table, key)["enum"] = json!(values);
    }
    let profiles: Vec<&str> = rehearsal_sim::llm::LlmModel::profile_names().collect();
    property(definitions, "Llm", "profile")["enum"] = json!(profiles);
    for table in ["Role", "RequestType", "Step"] {
        name_rule(property(definitions, table, "name"));
    }
    if let Some(arrivals) = definitions.get_mut("Arrivals") {
        tagged(arrivals, "process", PROCESSES.iter().map(|(name, required, keys)| (*name, &keys[..*required], *keys)));
    }
    for dist in ["DurationDist", "NumberDist"] {
        if let Some(d) = definitions.get_mut(dist) {
            tagged(d, "dist", DISTS.iter().map(|(name, needs)| (*name, *needs, *needs)));
        }
    }
}

/// The schema of `key` in the definition of `table`.
fn property<'a>(definitions: &'a mut Map<String, Value>, table: &str, key: &str) -> &'a mut Value {
    definitions
        .get_mut(table)
        .and_then(|t| t.get_mut("properties"))
        .and_then(|p| p.get_mut(key))
        .unwrap_or_else(|| panic!("no key `{key}` in `{table}`"))
}

/// A name that may become part of a path or a report key: the scenario's,
/// a role's, a request type's, a step's.
fn name_rule(name: &mut Value) {
    name["pattern"] = json!("^[a-z0-9_-]+$");
    name["minLength"] = json!(1);
    name["maxLength"] = json!(MAX_NAME_CHARS);
}

/// The string keys with a fixed set of values: (table, key, values). The
/// loader rejects any other value (a test checks both lists agree).
const CHOICES: &[(&str, &str, &[&str])] = &[
    ("Limits", "mailbox_overflow", &["reject", "drop_newest", "drop_oldest"]),
    ("Workload", "shape", &["pool", "pipeline", "fanout"]),
    ("Arrivals", "switching", &["fixed", "markov"]),
    ("Llm", "on_abandon", &["cancel", "finish"]),
    ("Supervision", "restart", &["permanent", "transient", "temporary"]),
    ("RequestKey", "dist", &["uniform", "zipf"]),
];

/// A table tagged by one key (`process`, `dist`): the tag is one of the
/// kinds, each kind requires some keys and accepts only its own.
fn tagged<'a>(table: &mut Value, tag: &str, kinds: impl Iterator<Item = (&'a str, &'a [&'a str], &'a [&'a str])>) {
    let mut names = Vec::new();
    let mut rules = Vec::new();
    for (name, required, accepted) in kinds {
        names.push(name);
        let mut keys = vec![tag];
        keys.extend(accepted);
        rules.push(json!({
            "if": { "properties": { tag: { "const": name } }, "required": [tag] },
            "then": { "required": required, "propertyNames": { "enum": keys } },
        }));
    }
    table["properties"][tag]["enum"] = json!(names);
    table["allOf"] = Value::Array(rules);
}

/// Removes from one schema what the derive adds and TOML cannot use:
/// `null` (an optional key is left out, never null), number formats, and
/// the Rust doc comments (the descriptions come from [`DESCRIPTIONS`]).
fn strip(schema: &mut Map<String, Value>) {
    schema.remove("description");
    schema.remove("format");
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            schema.insert("type".into(), only);
        }
    }
    let Some(Value::Array(options)) = schema.get_mut("anyOf") else { return };
    options.retain(|o| o.get("type").is_none_or(|t| t != "null"));
    if options.len() == 1 {
        let Some(Value::Object(only)) = options.pop() else { return };
        schema.remove("anyOf");
        if only.keys().any(|k| schema.contains_key(k)) {
            schema.insert("allOf".into(), Value::Array(vec![Value::Object(only)]));
        } else {
            schema.extend(only);
        }
    }
}

/// The definitions' names: the table they describe, not the Rust type
/// (`RawLlm` -> `Llm`); `$ref`s follow.
fn rename_definitions(root: &mut Value) {
    let renamed = |name: &str| -> String {
        match name {
            "RawDist_for_Duration" => "DurationDist".into(),
            "RawDist_for_double" => "NumberDist".into(),
            "RawScheduled" => "ScheduledFault".into(),
            "RawOption" => "BranchOption".into(),
            "RawKey" => "RequestKey".into(),
            other => other.strip_prefix("Raw").unwrap_or(other).to_owned(),
        }
    };
    if let Some(Value::Object(definitions)) = root.get_mut(DEFINITIONS) {
        let old = std::mem::take(definitions);
        definitions.extend(old.into_iter().map(|(k, v)| (renamed(&k), v)));
    }
    let prefix = format!("#/{DEFINITIONS}/");
    visit_schemas(root, &mut |schema| {
        if let Some(Value::String(r)) = schema.get_mut("$ref")
            && let Some(name) = r.strip_prefix(&prefix)
        {
            *r = format!("{prefix}{}", renamed(name));
        }
    });
}

/// Calls `f` on `schema` and on every schema inside it (depth first,
/// children before parents, so `f` sees its subschemas already visited).
fn visit_schemas(schema: &mut Value, f: &mut impl FnMut(&mut Map<String, Value>)) {
    let Value::Object(map) = schema else { return };
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "properties" | "definitions" | "$defs" | "patternProperties" => {
                if let Value::Object(children) = value {
                    children.values_mut().for_each(|c| visit_schemas(c, f));
                }
            }
            "items" | "additionalProperties" | "not" | "if" | "then" | "else" | "propertyNames" | "contains" => {
                match value {
                    Value::Array(children) => children.iter_mut().for_each(|c| visit_schemas(c, f)),
                    child => visit_schemas(child, f),
                }
            }
            "anyOf" | "allOf" | "oneOf" => {
                if let Value::Array(children) = value {
                    children.iter_mut().for_each(|c| visit_schemas(c, f));
                }
            }
            _ => {}
        }
    }
    f(map);
}

/// Sets the description of `table` (an empty `key`) or of its `key`.
fn describe(table: &mut Value, key: &str, description: &str) {
    let target = if key.is_empty() {
        table
    } else {
        table
            .get_mut("properties")
            .and_then(|p| p.get_mut(key))
            .unwrap_or_else(|| panic!("a description for `{key}`, which is not a key of its table"))
    };
    let Value::Object(map) = target else { return };
    if let Some(reference) = map.remove("$ref") {
        // Draft-07 ignores the siblings of a `$ref`.
        map.insert("allOf".into(), json!([{ "$ref": reference }]));
    }
    map.insert("description".into(), json!(description));
}

// ---------------------------------------------------------------------------
// The types read by hand.

impl JsonSchema for RawDuration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A duration: a number and a unit, several parts written together: \"450ms\", \
                \"1.5s\", \"1m30s\". Units: ns, us (or µs), ms, s, m (minutes), h.",
            "pattern": DURATION_PATTERN,
        })
    }
}

/// What [`parse_duration`](crate::scenario::parse_duration) accepts, less
/// its range checks: `<number><unit>` parts with nothing between them.
const DURATION_PATTERN: &str = r"^\s*(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:ns|us|µs|ms|s|m|h))+\s*$";

impl JsonSchema for RawSeeds {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Seeds".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "integer", "minimum": 1, "maximum": MAX_SEED_COUNT },
                {
                    "type": "array",
                    "items": { "type": "integer", "minimum": 0 },
                    "minItems": 1,
                    "maxItems": MAX_SEED_COUNT,
                    "uniqueItems": true,
                },
            ]
        })
    }
}

impl JsonSchema for RawStrategies {
    fn schema_name() -> Cow<'static, str> {
        "Strategies".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // Replaced in [`schema`], which knows the system's axes.
        json_schema!({ "type": "object" })
    }
}

/// A value of the `retry` axis, as `retry` of a role or a step takes it:
/// one value, no sweep.
pub(super) struct RetryValue;

impl JsonSchema for RetryValue {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "RetryValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let value = visit_axis(crate::strategy::retry::Retry::NAME, AxisSchema { sweep: false }).expect("an axis");
        Schema::try_from(value).expect("an object")
    }
}

/// `join` of a parallel step: `"all"`, `"quorum"`, `"first"` or a count.
pub(super) struct Join;

impl JsonSchema for Join {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Join".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "enum": ["all", "quorum", "first"] },
                { "type": "integer", "minimum": 1 },
            ]
        })
    }
}

/// `[strategies]`: the built-in axes and the system's own; no other key
/// (the loader rejects an unknown axis).
fn strategies_schema(axes: &[SystemAxis]) -> Value {
    let mut properties = Map::new();
    for name in AXES {
        let value = visit_axis(name, AxisSchema { sweep: true }).expect("a built-in axis");
        let kinds = crate::strategy::kinds(name).join(", ");
        // A list of plain values and tables, or one table (a sweep).
        let axis = json!({
            "description": format!("The `{name}` values to compare ({kinds}): a list of values and sweeps, or one sweep table."),
            "anyOf": [
                { "type": "array", "minItems": 1, "items": value },
                value["anyOf"][1],
            ],
        });
        properties.insert((*name).to_owned(), axis);
    }
    properties.insert(
        "policy".to_owned(),
        json!({
            "description": "The `[policies.NAME]` to compare, by name.",
            "type": "array",
            "minItems": 1,
            "uniqueItems": true,
            "items": { "type": "string" },
        }),
    );
    for axis in axes {
        properties.insert(
            axis.name.to_owned(),
            json!({
                "description": axis.doc,
                "type": "array",
                "minItems": 1,
                "uniqueItems": true,
                "items": { "enum": axis.values },
            }),
        );
    }
    json!({
        "description": "The strategy matrix: each key an axis, its values the strategies to compare; a run covers \
            every combination. The first value of each axis is the baseline. Default: retry = [\"none\"].",
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
    })
}

/// The schema of one value of an axis: a kind, or a table with a `kind`,
/// an optional `name` and the axis's parameters (each a list, with
/// `sweep`, to sweep it).
struct AxisSchema {
    sweep: bool,
}

impl AxisVisitor for AxisSchema {
    type Output = Value;

    fn visit<A: AxisValue>(self) -> Value {
        let plain = json!({ "enum": A::KINDS });
        let scalar = json!({ "type": ["string", "number", "boolean"] });
        let mut properties = Map::new();
        properties.insert(
            "name".into(),
            json!({
                "description": "The value's label in reports, `--strategy` and replay lines \
                    (default: the kind and the parameters given).",
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "pattern": r"^[A-Za-z0-9_\-./=+:]+$",
            }),
        );
        properties.insert("kind".into(), json!({ "description": "The kind of value.", "enum": A::KINDS }));
        for (i, param) in A::PARAMS.iter().enumerate() {
            let mut p = if self.sweep {
                json!({ "anyOf": [scalar, { "type": "array", "minItems": 1, "items": scalar }] })
            } else {
                scalar.clone()
            };
            let doc = A::PARAM_DOCS.get(i).copied().unwrap_or("");
            let sweep = if self.sweep { " A list sweeps it: one value per element." } else { "" };
            p["description"] = json!(format!("{doc}{sweep}").trim());
            properties.insert((*param).to_owned(), p);
        }
        let table = json!({
            "type": "object",
            "properties": properties,
            "required": ["kind"],
            "additionalProperties": false,
        });
        json!({ "anyOf": [plain, table] })
    }
}

/// Descriptions: (table, key, text); an empty key describes the table, the
/// table [`ROOT`] is the document. Every key named must exist (a test
/// builds the schema).
const DESCRIPTIONS: &[(&str, &str, &str)] = &[
    (ROOT, "", "A rehearsal scenario: one simulated system and the strategies to compare on it (docs/scenario.md)."),
    (ROOT, "name", "Used in report paths (reports/out/<name>/): 1 to 64 of a-z, 0-9, `_`, `-`."),
    (ROOT, "description", "Free text shown in reports."),
    (
        ROOT,
        "gate",
        "Per-metric tolerances of `rehearsal check`: METRIC = { relative = x } or { absolute = x } (docs/ci.md).",
    ),
    (
        ROOT,
        "policies",
        "Named resilience policies the `policy` strategy axis compares: [policies.NAME] with retry, budget, breaker, fallback.",
    ),
    ("Policy", "", "A resilience policy applied at every service call of the fleet."),
    ("Policy", "retry", "The policy's retry, over the `retry` axis: a retry value as in [strategies]."),
    (
        "Policy",
        "budget",
        "A retry budget per agent: { kind = \"grpc\", max_tokens, token_ratio } or { kind = \"finagle\", percent, min_per_s, ttl }.",
    ),
    (
        "Policy",
        "breaker",
        "A circuit breaker per agent and service: { failures = N } or { window = N, failure_rate }, with wait, half_open_calls.",
    ),
    ("Policy", "fallback", "LLMs to fall back to, in order, when a call fails for good: [\"llm:backup\"]."),
    ("Budget", "", "A retry budget."),
    ("Budget", "kind", "\"grpc\" (token bucket) or \"finagle\" (a percent of requests plus a minimum per second)."),
    ("Budget", "max_tokens", "gRPC: the bucket's tokens (default 10); retries only while above half."),
    ("Budget", "token_ratio", "gRPC: tokens credited per success (default 0.1)."),
    ("Budget", "percent", "Finagle: retries allowed as a percent of requests (default 20)."),
    ("Budget", "min_per_s", "Finagle: retries always allowed per second (default 10)."),
    ("Budget", "ttl", "Finagle: the window requests are counted over (default \"10s\")."),
    ("Breaker", "", "A circuit breaker (resilience4j semantics)."),
    ("Breaker", "failures", "Consecutive failures that open it."),
    ("Breaker", "window", "A count-based window of this many calls (with failure_rate)."),
    ("Breaker", "failure_rate", "Percent of failed calls in the window that opens it (default 50)."),
    ("Breaker", "min_calls", "Calls the window must hold before its rates count (default 10)."),
    ("Breaker", "slow_call", "A call longer than this is slow (default \"60s\")."),
    ("Breaker", "slow_rate", "Percent of slow calls that opens it (default 100)."),
    ("Breaker", "wait", "How long it stays open before trial calls (default \"5s\")."),
    ("Breaker", "half_open_calls", "Trial calls while half open (default 3)."),
    (ROOT, "stores", "Stores of one versioned row each, read and written with compare-and-set: [stores.NAME]."),
    (ROOT, "seeds", "N (1 to 1,000,000) for seeds 1..=N, or a list of distinct seeds such as [1, 7, 42]."),
    (ROOT, "duration", "How long requests keep arriving (simulated time), e.g. \"60s\"."),
    (ROOT, "limits", "Limits that stop a run with an error naming them."),
    (ROOT, "topology", "Nodes, agents and the network between the nodes."),
    (ROOT, "workload", "What clients send and when."),
    (ROOT, "llm", "The LLM service named `llm`."),
    (ROOT, "tool", "The tool service named `tool`."),
    (ROOT, "llms", "More LLMs, `[llms.NAME]`, which steps call as \"llm:NAME\"."),
    (ROOT, "tools", "More tools, `[tools.NAME]`, which steps call as \"tool:NAME\"."),
    (ROOT, "retry", "Defaults of the retry values' parameters."),
    (ROOT, "strategies", "The strategy matrix: axis = [values to compare]."),
    (ROOT, "supervision", "Parameters of the supervision strategies."),
    (ROOT, "faults", "Crashes, partitions and clogs, at fixed times and at random."),
    (ROOT, "buggify", "BUGGIFY fault points: rare but legal events in the agents' code."),
    (ROOT, "invariants", "Checks every run must pass (request accounting is always checked)."),
    (ROOT, "roles", "Roles: groups of identical agents running a workflow (instead of `workload.steps`)."),
    (
        "Duration",
        "",
        "A duration: a number and a unit, several parts written together: \"450ms\", \"1.5s\", \"1m30s\". Units: ns, us (or µs), ms, s, m (minutes), h.",
    ),
    (
        "DurationDist",
        "",
        "A distribution of durations: { dist = \"lognormal\", median = \"2ms\", p99 = \"20ms\" }; exactly the parameters of its kind.",
    ),
    (
        "NumberDist",
        "",
        "A distribution of numbers: { dist = \"lognormal\", median = 1020, p99 = 4142 }; exactly the parameters of its kind.",
    ),
    (
        "DurationDist",
        "dist",
        "constant (value), uniform (min, max), normal (mean, std_dev), exponential (mean), lognormal (median, p99).",
    ),
    (
        "NumberDist",
        "dist",
        "constant (value), uniform (min, max), normal (mean, std_dev), exponential (mean), lognormal (median, p99).",
    ),
    ("DurationDist", "value", "`constant`: always this."),
    ("NumberDist", "value", "`constant`: always this."),
    ("DurationDist", "min", "`uniform`: the lower bound."),
    ("NumberDist", "min", "`uniform`: the lower bound."),
    ("DurationDist", "max", "`uniform`: the upper bound (excluded), at least `min`."),
    ("NumberDist", "max", "`uniform`: the upper bound (excluded), at least `min`."),
    ("DurationDist", "mean", "`normal` or `exponential`: the mean."),
    ("NumberDist", "mean", "`normal` or `exponential`: the mean."),
    ("DurationDist", "std_dev", "`normal`: the standard deviation (draws below 0 count as 0)."),
    ("NumberDist", "std_dev", "`normal`: the standard deviation (draws below 0 count as 0)."),
    ("DurationDist", "median", "`lognormal`: the median, > 0."),
    ("NumberDist", "median", "`lognormal`: the median, > 0."),
    ("DurationDist", "p99", "`lognormal`: the 99th percentile, at least the median."),
    ("NumberDist", "p99", "`lognormal`: the 99th percentile, at least the median."),
    ("Limits", "", "Limits that stop a run with an error naming them."),
    ("Limits", "max_events", "Events processed per run (default 50_000_000)."),
    (
        "Limits",
        "max_sim_time",
        "Simulated time per run (default: duration + request_timeout + 10m); at least `duration`.",
    ),
    (
        "Limits",
        "max_queued_events",
        "Events queued plus messages in mailboxes at once, 1 to 1,000,000,000 (default 2_000_000).",
    ),
    ("Limits", "mailbox_capacity", "Messages queued per actor (default 1024)."),
    (
        "Limits",
        "mailbox_overflow",
        "What a full mailbox does: reject (bounce to the sender, default), drop_newest, drop_oldest.",
    ),
    ("Topology", "", "Nodes, agents and the network between the nodes."),
    ("Topology", "nodes", "Simulated machines, numbered from 0 (1 to 65,536; default 1)."),
    (
        "Topology",
        "agents",
        "Agent actors, spread round-robin over the nodes (1 to 10,000,000); leave out with [[roles]].",
    ),
    ("Topology", "network", "The network between two different nodes."),
    ("Topology", "links", "Per directed link: `from`, `to` and what differs from `network`."),
    ("Topology", "capacity", "Every node's CPU slots and memory for agents ({ cpu, memory_mb }); default unlimited."),
    ("Topology", "node_capacity", "Nodes with a capacity of their own: [{ node, cpu, memory_mb }], over `capacity`."),
    ("Capacity", "", "What a node offers the agents on it."),
    ("Capacity", "cpu", "CPU slots: pieces of work (a role's `cpu`) that run at once; more wait."),
    ("Capacity", "memory_mb", "Memory for agents and activations (a role's `memory_mb` each), MB."),
    ("NodeCapacity", "", "One node's own capacity."),
    ("NodeCapacity", "node", "The node's index."),
    ("NodeCapacity", "cpu", "Its CPU slots."),
    ("NodeCapacity", "memory_mb", "Its memory, MB."),
    ("Network", "", "The network between two different nodes (messages within a node take no time)."),
    ("Network", "latency", "One-way latency between two nodes (default: constant 1ms)."),
    (
        "Network",
        "latency_csv",
        "Instead of `latency`: a CSV whose first column holds latencies in nanoseconds (relative to the scenario's directory).",
    ),
    ("Network", "loss", "Chance a message between two nodes is lost, 0 to 1."),
    ("Network", "duplicate", "Chance a message between two nodes is delivered twice, 0 to 1."),
    ("Network", "reorder", "Chance a message is held back 1 ms so that later ones overtake it, 0 to 1."),
    ("Link", "", "One directed link between two nodes, overriding `network`."),
    ("Link", "from", "The sending node."),
    ("Link", "to", "The receiving node (not `from`)."),
    ("Link", "latency", "This link's one-way latency."),
    ("Link", "loss", "Chance a message on this link is lost, 0 to 1."),
    ("Link", "duplicate", "Chance a message on this link is delivered twice, 0 to 1."),
    ("Link", "reorder", "Chance a message on this link is held back so that later ones overtake it, 0 to 1."),
    ("Link", "ordered", "true: TCP-like, never reordered."),
    ("Workload", "", "What clients send and when."),
    ("Workload", "arrivals", "When requests arrive: { process = \"poisson\", rate_per_s = 20 } or another process."),
    (
        "Workload",
        "steps",
        "The calls each request makes, in order: \"llm\", \"llm:NAME\", \"tool\", \"tool:NAME\" (default [\"llm\", \"tool\", \"llm\"]).",
    ),
    ("Workload", "request_timeout", "The client gives up on a request after this (default \"2m\")."),
    (
        "Workload",
        "shape",
        "pool (default): agents run every step; pipeline: one stage per step; fanout: `fanout` agents per request.",
    ),
    ("Workload", "fanout", "shape = \"fanout\": agents asked per request (default 3)."),
    (
        "Workload",
        "subtask_timeout",
        "shape = \"fanout\": how long the gateway waits for each part (default: half of request_timeout).",
    ),
    ("Workload", "requests", "A request mix, instead of `steps`: [[workload.requests]] types with weights."),
    ("Arrivals", "", "An arrival process, tagged by `process`; each process takes its own keys."),
    ("Arrivals", "process", "poisson, constant, bursts, daily, ramp, closed, population or trace."),
    ("Arrivals", "rate_per_s", "poisson, constant: requests per simulated second, > 0."),
    ("Arrivals", "on_rate_per_s", "bursts: the rate while on, > 0."),
    ("Arrivals", "off_rate_per_s", "bursts: the rate while off (default 0)."),
    ("Arrivals", "on", "bursts: how long on (the mean, with switching = \"markov\")."),
    ("Arrivals", "off", "bursts: how long off (the mean, with switching = \"markov\")."),
    ("Arrivals", "switching", "bursts: fixed (default) or markov (exponential stays)."),
    ("Arrivals", "mean_rate_per_s", "daily: the mean rate, > 0."),
    ("Arrivals", "amplitude_per_s", "daily: the sinusoid's amplitude, 0 to the mean."),
    ("Arrivals", "period", "daily: the cycle (default \"24h\", at most a year)."),
    ("Arrivals", "phase", "daily: where in the cycle t = 0 falls (default \"0s\")."),
    ("Arrivals", "from_rate_per_s", "ramp: the rate at t = 0."),
    ("Arrivals", "to_rate_per_s", "ramp: the rate at `duration`."),
    ("Arrivals", "users", "closed: users, each sending again after its answer and a think time (1 to 1,000,000)."),
    ("Arrivals", "think", "closed: the think time between an answer and the next request."),
    ("Arrivals", "clients", "population: requests all sent at t = 0 (1 to 1,000,000)."),
    ("Arrivals", "repeat", "population: each client sends again the instant its request ends (default false)."),
    ("Arrivals", "csv", "trace: a CSV of arrival times (timestamps or seconds), relative to the scenario's directory."),
    ("Arrivals", "time_scale", "trace: multiplies the times (0.5 plays twice as fast; default 1)."),
    ("RequestType", "", "One request type of a mix."),
    ("RequestType", "name", "1 to 64 of a-z, 0-9, `_`, `-`; unique."),
    ("RequestType", "weight", "> 0: P(type) = weight / sum of weights."),
    ("RequestType", "steps", "This type's calls, as `workload.steps`."),
    ("RequestType", "workflow", "With [[roles]]: this type's workflow for the entry role."),
    ("RequestType", "deadline", "This type's client timeout (default: request_timeout)."),
    (
        "RequestType",
        "key",
        "A session key drawn per request: { dist = \"uniform\", keys = K } or { dist = \"zipf\", keys = K, s = S }.",
    ),
    ("RequestKey", "", "How a request's key is drawn."),
    ("RequestKey", "dist", "uniform or zipf."),
    ("RequestKey", "keys", "Keys 1..=K (K from 1 to 10,000,000)."),
    ("RequestKey", "s", "zipf: the exponent, 0 to 100."),
    ("Llm", "", "A simulated LLM: latency = time to first token + (output tokens - 1) x time per token."),
    ("Llm", "profile", "Defaults fitted to real providers' data."),
    ("Llm", "latency", "The whole answer's time, when not streaming; required without `profile` or `ttft`."),
    ("Llm", "ttft", "Time to first token."),
    ("Llm", "per_token", "Time per output token after the first (one draw per call)."),
    ("Llm", "input_tokens", "Prompt tokens per call (default: fitted to the Azure LLM trace)."),
    ("Llm", "output_tokens", "Completion tokens per call (default: fitted to the Azure LLM trace)."),
    ("Llm", "tokens_csv", "Instead: (input, output) pairs resampled from a CSV, relative to the scenario's directory."),
    ("Llm", "concurrency", "Calls served at once; others wait in a FIFO queue (default unlimited)."),
    ("Llm", "queue_limit", "Calls that may wait; more are answered 429 (default unlimited)."),
    (
        "Llm",
        "rate_limit",
        "Provider limits per minute: { rpm, tpm }; a call over one is answered 429 with a Retry-After.",
    ),
    ("Llm", "error_rate", "Chance a call fails (a 5xx), 0 to 1."),
    ("Llm", "hang_rate", "Chance a call never answers, 0 to 1; error_rate + hang_rate <= 1."),
    ("Llm", "cold_start", "Now and then an extra time to first token: { probability, extra }."),
    ("Llm", "cost", "Price per 1,000 tokens: { input_per_1k, output_per_1k }, charged on success."),
    ("Llm", "timeout", "The caller's per-attempt timeout (default \"30s\")."),
    (
        "Llm",
        "on_abandon",
        "A call whose caller gave up: cancel (default: stop it, charge what streamed) or finish (serve and charge it anyway).",
    ),
    ("RateLimit", "", "Provider limits per minute, as token buckets."),
    ("RateLimit", "rpm", "Requests per minute."),
    ("RateLimit", "tpm", "Tokens (input + output) per minute."),
    ("ColdStart", "", "Now and then an extra time to first token."),
    ("ColdStart", "probability", "Chance of a cold start, 0 to 1."),
    ("ColdStart", "extra", "The extra time."),
    ("Cost", "", "Price per 1,000 tokens, charged on success."),
    ("Cost", "input_per_1k", "Per 1,000 input tokens, 0 to 1,000,000."),
    ("Cost", "output_per_1k", "Per 1,000 output tokens, 0 to 1,000,000."),
    ("Tool", "", "A simulated tool, with a ledger of side effects by idempotency key."),
    (
        "Store",
        "",
        "A store of one versioned row: reads, and writes that succeed only if the row is at the version read.",
    ),
    ("Store", "hop", "One message's way to or from the store (default constant \"1ms\")."),
    ("Store", "timeout", "The caller's per-operation timeout (default \"30s\")."),
    ("Tolerance", "", "How far a metric may move in its worse direction before `rehearsal check` fails."),
    ("Tolerance", "relative", "A fraction of the baseline's value (0.05 = 5%)."),
    ("Tolerance", "absolute", "An amount in the metric's own unit."),
    ("Tool", "latency", "Time from call to answer."),
    ("Tool", "error_rate", "Chance a call fails, 0 to 1."),
    ("Tool", "timeout_rate", "Chance a call never answers, 0 to 1."),
    ("Tool", "crash_rate", "Chance the tool crashes (answered as unavailable), 0 to 1."),
    (
        "Tool",
        "timeout_after_effect",
        "Chance the side effect happens but no answer comes, so a retry repeats it; the four chances sum to at most 1.",
    ),
    ("Tool", "timeout", "The caller's per-attempt timeout (default \"30s\")."),
    ("Retry", "", "Defaults of every retry value's parameters."),
    ("Retry", "max_attempts", "Attempts per call, the first included (default 4; 1 = never retry)."),
    ("Retry", "base_delay", "The first backoff (default \"100ms\")."),
    ("Retry", "max_delay", "The cap on one backoff (default \"10s\"), at least base_delay."),
    ("Supervision", "", "Parameters shared by the supervision strategies."),
    (
        "Supervision",
        "intensity",
        "More than max_restarts within period and the supervisor gives up (default 10 in 60s).",
    ),
    ("Supervision", "shutdown", "A child's time to stop before it is killed (default \"5s\"; \"0s\": at once)."),
    ("Supervision", "restart", "Restart type of every child: permanent (default), transient, temporary."),
    ("Supervision", "max_restarts_per_child", "After that many restarts a child stays down (default unlimited)."),
    ("Supervision", "max_task_retries", "How often the gateway re-sends a request whose agent died on it (default 0)."),
    ("Supervision", "backoff", "one_for_one_backoff: { min, max, random_factor, reset_after }."),
    ("Intensity", "", "OTP intensity and period."),
    ("Intensity", "max_restarts", "Restarts allowed within `period`."),
    ("Intensity", "period", "The window restarts are counted in."),
    (
        "Backoff",
        "",
        "Akka-style restart backoff: the n-th restart waits min(max, min * 2^n) * (1 + random_factor * u).",
    ),
    ("Backoff", "min", "The first backoff (default \"200ms\")."),
    ("Backoff", "max", "The longest backoff (default \"10s\")."),
    ("Backoff", "random_factor", "Random extra, as a fraction (default 0.2)."),
    ("Backoff", "reset_after", "A child up this long starts the backoff over (default \"30s\")."),
    ("Faults", "", "Crashes, partitions and clogs: scheduled, and at random during `duration`."),
    ("Faults", "failure_detection", "How long until other nodes learn that a node died (default \"5s\")."),
    ("Faults", "agent_crash_mtbf", "Each agent crashes at random with this mean time between failures."),
    ("Faults", "node_crash_mtbf", "Each node but 0 crashes at random with this mean time between failures."),
    ("Faults", "node_mttr", "Mean time to repair a crashed node (default \"30s\")."),
    ("Faults", "partition_mtbf", "Random partitions cutting one node off, this often on average."),
    ("Faults", "partition_mttr", "How long a random partition lasts on average (default \"30s\")."),
    ("Faults", "clog_mtbf", "Random clogs of one node, this often on average."),
    ("Faults", "clog_mttr", "How long a random clog lasts on average (default \"30s\")."),
    ("Faults", "schedule", "Faults at fixed times: [[faults.schedule]] with `at` and one fault."),
    (
        "ScheduledFault",
        "",
        "A fault at a fixed time: `at` and exactly one of crash_agent, crash_node, partition, clog_node, clog_link, brownout.",
    ),
    ("ScheduledFault", "at", "When, since the start."),
    ("ScheduledFault", "crash_agent", "This agent (or stage), from 0, crashes."),
    ("ScheduledFault", "crash_node", "This node crashes (back up after `for`, if given)."),
    ("ScheduledFault", "join_node", "This node is out of the cluster (every node knows it) until `at`, when it joins."),
    (
        "ScheduledFault",
        "partition",
        "Groups of nodes, e.g. [[0, 1], [2, 3]]: messages between groups are lost for `for`.",
    ),
    ("ScheduledFault", "one_way", "partition: only messages from earlier groups to later ones are lost."),
    ("ScheduledFault", "clog_node", "This node's messages are held for `for`, then released in order."),
    ("ScheduledFault", "clog_link", "[A, B]: messages from A to B are held for `for`, then released in order."),
    (
        "ScheduledFault",
        "brownout",
        "{ llm = \"NAME\", latency_x, error_rate }: the LLM is slower and fails more for `for`.",
    ),
    ("ScheduledFault", "for", "How long the fault lasts."),
    ("Brownout", "", "An LLM slower and failing more for a while."),
    ("Brownout", "llm", "The LLM: \"llm\" or a NAME of [llms.NAME]."),
    ("Brownout", "latency_x", "Latency multiplied by this."),
    ("Brownout", "error_rate", "Extra chance a call fails, 0 to 1."),
    ("Buggify", "", "BUGGIFY fault points: each site enabled per run from the seed, then firing at random."),
    (
        "Buggify",
        "enabled",
        "Turns every fault point on or off for every command (default: off for compare, on for run and sweep).",
    ),
    ("Buggify", "site_probability", "Chance a site is enabled for a run (default 0.25)."),
    ("Buggify", "fire_probability", "Chance an enabled site fires (default 0.25)."),
    ("Invariants", "", "Checks every run must pass."),
    (
        "Invariants",
        "tool_effects_at_most_once",
        "No tool side effect happens twice for the same idempotency key (default false).",
    ),
    ("Role", "", "A group of identical agents running one workflow."),
    ("Role", "name", "1 to 64 of a-z, 0-9, `_`, `-`; unique."),
    ("Role", "count", "Agents of this role (default 1)."),
    ("Role", "concurrency", "Pieces of work one agent runs at once (default 1)."),
    ("Role", "mailbox", "Bound on work waiting at one agent (default: limits.mailbox_capacity)."),
    ("Role", "nodes", "Where its agents run, round-robin (default every node)."),
    ("Role", "entry", "Receives client requests (default: the first role)."),
    (
        "Role",
        "virtual",
        "Virtual agents: one per request key, activated on its first message on the node `placement` picks, found through a directory, passivated when idle.",
    ),
    ("Role", "idle_timeout", "Virtual roles: an activation idle this long passivates (default \"60s\")."),
    ("Role", "passivation", "Virtual roles: false never passivates (default true)."),
    ("Role", "state_load", "Virtual roles: the time an activation takes to load its state before its first work."),
    (
        "Role",
        "reminder",
        "Virtual roles: a durable reminder per agent, every this long; it survives passivation and node loss and activates the agent again.",
    ),
    (
        "Role",
        "directory",
        "Virtual roles: \"central\" (one directory on node 0, default) or \"distributed\" (a partition per node, found by a ring of the partitions believed up; a network partition may then leave two activations of a key).",
    ),
    (
        "Role",
        "state",
        "Virtual roles: durable state in a store service ({ store = \"tool:NAME\", kind, persist }): loaded before the first work, changed by each piece of work, written by `persist`; unwritten changes die with the node.",
    ),
    ("Role", "cpu", "CPU time each piece of work takes on its agent's node before the workflow (default 0)."),
    ("Role", "memory_mb", "Memory each agent or activation holds on its node, MB (default 0)."),
    (
        "Role",
        "rebalance",
        "Virtual roles: every `every`, stop activations so their next message activates them where the placement says (at most `max_moves` at once; load placements only above `threshold`).",
    ),
    ("Rebalance", "", "Moving activations where the placement now puts them."),
    ("Rebalance", "every", "How often the directory looks (default \"10s\")."),
    (
        "Rebalance",
        "threshold",
        "Load placements: move while the busiest node holds more than this many activations above the least busy (default 1).",
    ),
    ("Rebalance", "max_moves", "The most moves under way at once (default 10)."),
    ("State", "", "A virtual agent's durable state in a store service."),
    ("State", "store", "The store: \"tool\" or \"tool:NAME\" (its latency, error_rate and timeout model the store)."),
    (
        "State",
        "kind",
        "\"durable\" (default: loading is one read) or \"event_sourced\" (a journal with snapshots: loading replays the events since the last snapshot).",
    ),
    (
        "State",
        "persist",
        "\"each_turn\" (default: a write after every piece of work) or a period such as \"10s\" (and on passivation).",
    ),
    ("State", "snapshot_every", "Event sourced: a snapshot every this many events (default 100)."),
    ("State", "replay_per_event", "Event sourced: the time to replay one event on load (default \"1ms\")."),
    (
        "Role",
        "retry",
        "This role's retry policy: a `retry` value such as \"none\" or { kind = \"exponential\", max_attempts = 2 }.",
    ),
    ("Role", "workflow", "The steps each piece of work runs."),
    ("Step", "", "A named step: exactly one of call, ask, sequence, parallel, loop, branch."),
    ("Step", "name", "a-z, 0-9, `_`, `-`; unique in its workflow."),
    ("Step", "call", "A service call: \"llm\", \"llm:NAME\", \"tool\", \"tool:NAME\"."),
    ("Step", "ask", "A message to one of this role's agents; succeeds when its workflow does."),
    (
        "Step",
        "occ",
        "An optimistic-concurrency update of a store's row (\"store:NAME\"): read, write conditioned on the version read, back off on a conflict and read again.",
    ),
    ("Step", "attempts", "occ: the most reads-then-writes (default 10,000)."),
    ("Step", "sequence", "Steps one after the other; the first failure fails it."),
    ("Step", "parallel", "Steps at once, decided by `join`; the rest are cancelled."),
    ("Step", "loop", "Steps again and again, until done, `count` turns or `max`."),
    ("Step", "branch", "One option, drawn by weight: [{ weight, steps }, ...]."),
    ("Step", "copies", "On a call or an ask: N of it at once, decided by `join`."),
    ("Step", "join", "How a parallel is decided: \"all\" (default), \"quorum\", \"first\", or K successes."),
    ("Step", "max", "loop: the most turns (at most 10,000)."),
    ("Step", "done_probability", "loop: the chance the model is done after each turn."),
    ("Step", "count", "loop: turns, drawn when the loop starts (rounded, at least 1)."),
    ("Step", "timeout", "call: per attempt (default the service's); ask: default the longest request deadline."),
    (
        "Step",
        "retry",
        "call: a `retry` value such as \"none\" or { kind = \"exponential\", max_attempts = 2 } (default: the role's).",
    ),
    ("Step", "context", "The call's prompt also carries the work's context (earlier output tokens)."),
    ("BranchOption", "", "One option of a branch."),
    ("BranchOption", "weight", "> 0: chance = weight / sum of weights."),
    ("BranchOption", "steps", "The steps this option runs."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_is_draft_07_with_named_tables() {
        let s = schema(&[]);
        assert_eq!(s["$schema"], "http://json-schema.org/draft-07/schema#");
        let defs = s[DEFINITIONS].as_object().expect("definitions");
        for name in ["Topology", "Workload", "Llm", "Tool", "Arrivals", "Step", "Role", "DurationDist", "Duration"] {
            assert!(defs.contains_key(name), "{name}: {:?}", defs.keys().collect::<Vec<_>>());
        }
        assert!(!defs.keys().any(|k| k.starts_with("Raw")), "{:?}", defs.keys().collect::<Vec<_>>());
        assert!(!s.to_string().contains("\"null\""), "TOML has no null");
    }

    #[test]
    fn every_table_rejects_unknown_keys_but_the_open_maps() {
        let s = schema(&[]);
        let mut closed = 0;
        for (name, def) in s[DEFINITIONS].as_object().expect("definitions") {
            if def.get("properties").is_some() {
                assert_eq!(def["additionalProperties"], json!(false), "{name}");
                closed += 1;
            }
        }
        assert!(closed > 20, "{closed}");
        assert_eq!(s["additionalProperties"], json!(false));
    }

    /// Editors show the descriptions on hover: a new key needs one in
    /// [`DESCRIPTIONS`].
    #[test]
    fn every_table_and_key_is_described() {
        let s = schema(&[]);
        let mut tables: Vec<(&str, &Value)> = vec![("the document", &s)];
        tables.extend(s[DEFINITIONS].as_object().expect("definitions").iter().map(|(k, v)| (k.as_str(), v)));
        for (name, table) in tables {
            assert!(table["description"].is_string(), "add a description of `{name}` to DESCRIPTIONS");
            for (key, property) in table["properties"].as_object().into_iter().flatten() {
                assert!(property["description"].is_string(), "add a description of `{name}.{key}` to DESCRIPTIONS");
            }
        }
    }

    #[test]
    fn a_system_axis_is_listed_with_its_values() {
        const AXES: &[SystemAxis] = &[SystemAxis { name: "failover", values: &["naive", "never"], doc: "how" }];
        let s = schema(AXES);
        let axis = &s[DEFINITIONS]["Strategies"]["properties"]["failover"];
        assert_eq!(axis["items"]["enum"], json!(["naive", "never"]));
        assert_eq!(axis["description"], "how");
        for name in AXES.iter().map(|a| a.name).chain(crate::strategy::AXES.iter().copied()) {
            assert!(s[DEFINITIONS]["Strategies"]["properties"][name].is_object(), "{name}");
        }
    }
}
