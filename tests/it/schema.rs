//! `rehearsal schema`: the JSON Schema of scenario files agrees with the
//! loader. Every bundled scenario validates; an unknown key is rejected
//! by both wherever the loader rejects it; the keys that take one of a few
//! strings list the loader's own choices. Validated here by a small
//! validator of the keywords the schema uses (it fails on any other, so it
//! cannot skip a rule silently), and, where Python's `jsonschema` is
//! installed, by that too, as the editors and CI scripts would.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{rehearsal, root};
use rehearsal::scenario::{self, schema};
use rehearsal::strategy::SystemAxis;
use serde_json::{Value, json};

/// `examples/own_agents.toml` lists the axis its system declares.
const OWN_AGENTS_AXES: &[SystemAxis] =
    &[SystemAxis { name: "failover", values: &["naive", "never"], doc: "the payments system's failover" }];

/// Every bundled scenario, with the axes its system declares.
fn bundled() -> Vec<(PathBuf, &'static [SystemAxis])> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "{paths:?}");
    let mut out: Vec<(PathBuf, &'static [SystemAxis])> = paths.into_iter().map(|p| (p, &[][..])).collect();
    out.push((root().join("examples/own_agents.toml"), OWN_AGENTS_AXES));
    out
}

fn read_toml(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).expect("readable");
    text.parse::<toml::Table>().unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn to_json(table: &toml::Table) -> Value {
    serde_json::to_value(table).expect("TOML values are JSON values")
}

/// What the loader says about a table (written back as TOML).
fn load(table: &toml::Table, path: &Path, axes: &[SystemAxis]) -> Result<(), String> {
    let text = toml::to_string(table).expect("a table serializes");
    let dir = path.parent().expect("a directory");
    scenario::parse_for(&text, &path.display().to_string(), dir, axes).map(|_| ()).map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------
// A validator of the draft-07 keywords the schema uses.

struct Validator<'a> {
    root: &'a Value,
}

impl Validator<'_> {
    /// The errors of `value` against `schema`, each with its path.
    fn errors(&self, schema: &Value, value: &Value, at: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.check(schema, value, at, &mut out);
        out
    }

    fn valid(&self, schema: &Value, value: &Value) -> bool {
        self.errors(schema, value, "").is_empty()
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
        let schema = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => return out.push(format!("{at}: nothing is allowed here")),
            Value::Object(o) => o,
            other => panic!("not a schema: {other}"),
        };
        for (keyword, rule) in schema {
            match keyword.as_str() {
                "$schema" | "title" | "description" | "then" | "else" => {}
                // Checked by the Python test; a regex engine is not worth a dependency here.
                "pattern" => {}
                "$ref" => {
                    let name = rule.as_str().and_then(|r| r.strip_prefix("#/definitions/")).expect("a local $ref");
                    self.check(&self.root["definitions"][name], value, at, out);
                }
                "definitions" => {}
                "type" => {
                    let types: Vec<&str> = match rule {
                        Value::String(t) => vec![t.as_str()],
                        Value::Array(ts) => ts.iter().map(|t| t.as_str().expect("a type name")).collect(),
                        other => panic!("bad type {other}"),
                    };
                    if !types.iter().any(|t| has_type(value, t)) {
                        out.push(format!("{at}: {value} is not of type {types:?}"));
                    }
                }
                "enum" => {
                    if !rule.as_array().expect("a list").contains(value) {
                        out.push(format!("{at}: {value} is not one of {rule}"));
                    }
                }
                "const" => {
                    if rule != value {
                        out.push(format!("{at}: {value} is not {rule}"));
                    }
                }
                "properties" => {
                    if let Value::Object(v) = value {
                        for (k, s) in rule.as_object().expect("a map") {
                            if let Some(x) = v.get(k) {
                                self.check(s, x, &format!("{at}.{k}"), out);
                            }
                        }
                    }
                }
                "required" => {
                    if let Value::Object(v) = value {
                        for k in rule.as_array().expect("a list") {
                            if !v.contains_key(k.as_str().expect("a key")) {
                                out.push(format!("{at}: missing {k}"));
                            }
                        }
                    }
                }
                "additionalProperties" => {
                    if let Value::Object(v) = value {
                        let known = schema.get("properties").and_then(Value::as_object);
                        for (k, x) in v {
                            if !known.is_some_and(|p| p.contains_key(k)) {
                                let mut errors = Vec::new();
                                self.check(rule, x, &format!("{at}.{k}"), &mut errors);
                                if !errors.is_empty() {
                                    out.push(format!("{at}: key {k:?} is not allowed ({})", errors.join("; ")));
                                }
                            }
                        }
                    }
                }
                "propertyNames" => {
                    if let Value::Object(v) = value {
                        for k in v.keys() {
                            self.check(rule, &json!(k), &format!("{at} (key {k:?})"), out);
                        }
                    }
                }
                "items" => {
                    if let Value::Array(items) = value {
                        for (i, x) in items.iter().enumerate() {
                            self.check(rule, x, &format!("{at}[{i}]"), out);
                        }
                    }
                }
                "minItems" | "maxItems" => {
                    if let Value::Array(items) = value {
                        let n = rule.as_u64().expect("a count") as usize;
                        if (keyword == "minItems" && items.len() < n) || (keyword == "maxItems" && items.len() > n) {
                            out.push(format!("{at}: {} items, {keyword} {n}", items.len()));
                        }
                    }
                }
                "uniqueItems" => {
                    if let Value::Array(items) = value {
                        for (i, x) in items.iter().enumerate() {
                            if items[..i].contains(x) {
                                out.push(format!("{at}: {x} twice"));
                            }
                        }
                    }
                }
                "minLength" | "maxLength" => {
                    if let Value::String(s) = value {
                        let n = rule.as_u64().expect("a length") as usize;
                        let len = s.chars().count();
                        if (keyword == "minLength" && len < n) || (keyword == "maxLength" && len > n) {
                            out.push(format!("{at}: {len} characters, {keyword} {n}"));
                        }
                    }
                }
                "minimum" | "maximum" => {
                    if let Some(x) = value.as_f64() {
                        let n = rule.as_f64().expect("a number");
                        if (keyword == "minimum" && x < n) || (keyword == "maximum" && x > n) {
                            out.push(format!("{at}: {x}, {keyword} {n}"));
                        }
                    }
                }
                "anyOf" | "oneOf" => {
                    let options = rule.as_array().expect("a list");
                    let passing = options.iter().filter(|s| self.valid(s, value)).count();
                    if passing == 0 || (keyword == "oneOf" && passing > 1) {
                        out.push(format!("{at}: {value} matches {passing} of the {keyword} options"));
                    }
                }
                "allOf" => {
                    for s in rule.as_array().expect("a list") {
                        self.check(s, value, at, out);
                    }
                }
                "if" => {
                    let branch = if self.valid(rule, value) { "then" } else { "else" };
                    if let Some(s) = schema.get(branch) {
                        self.check(s, value, at, out);
                    }
                }
                other => panic!("the test validator does not know the keyword `{other}`: teach it"),
            }
        }
    }
}

fn has_type(value: &Value, t: &str) -> bool {
    match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "null" => value.is_null(),
        other => panic!("unknown type {other}"),
    }
}

fn validate(schema: &Value, value: &Value) -> Vec<String> {
    Validator { root: schema }.errors(schema, value, "$")
}

// ---------------------------------------------------------------------------

#[test]
fn every_bundled_scenario_validates_against_its_systems_schema() {
    for (path, axes) in bundled() {
        let table = read_toml(&path);
        load(&table, &path, axes).unwrap_or_else(|e| panic!("{}: the loader rejects it: {e}", path.display()));
        let errors = validate(&schema(axes), &to_json(&table));
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn an_axis_the_system_does_not_declare_is_rejected_by_both() {
    let path = root().join("examples/own_agents.toml");
    let table = read_toml(&path);
    // The built-in fleet has no `failover` axis.
    let errors = validate(&schema(&[]), &to_json(&table));
    assert!(errors.iter().any(|e| e.contains("failover")), "{errors:?}");
    let loaded = load(&table, &path, &[]);
    assert!(loaded.as_ref().is_err_and(|e| e.contains("unknown strategy axis `failover`")), "{loaded:?}");
}

/// Adds an unknown key to every table of every bundled scenario, one at a
/// time: the loader and the schema both reject each.
#[test]
fn an_unknown_key_is_rejected_wherever_the_loader_rejects_it() {
    let mut checked = 0;
    for (path, axes) in bundled() {
        let schema = schema(axes);
        let table = read_toml(&path);
        let mut tables = Vec::new();
        table_paths(&toml::Value::Table(table.clone()), &mut Vec::new(), &mut tables);
        for at in tables {
            let mut changed = toml::Value::Table(table.clone());
            table_at(&mut changed, &at).insert("zz_unknown_key".into(), toml::Value::Integer(1));
            let toml::Value::Table(changed) = changed else { unreachable!("a table stays a table") };
            let shown = format!("{} at {at:?}", path.display());
            let loaded = load(&changed, &path, axes);
            assert!(loaded.is_err(), "{shown}: the loader accepts an unknown key");
            let errors = validate(&schema, &to_json(&changed));
            assert!(errors.iter().any(|e| e.contains("zz_unknown_key")), "{shown}: the schema accepts it: {errors:?}");
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
}

/// A step on the way to a table: a key, or an element of a list.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// The path of every table in `value` (itself included).
fn table_paths(value: &toml::Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match value {
        toml::Value::Table(t) => {
            out.push(at.clone());
            for (k, v) in t {
                at.push(Step::Key(k.clone()));
                table_paths(v, at, out);
                at.pop();
            }
        }
        toml::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(Step::Index(i));
                table_paths(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn table_at<'a>(value: &'a mut toml::Value, at: &[Step]) -> &'a mut toml::Table {
    match at.split_first() {
        None => value.as_table_mut().expect("a table"),
        Some((Step::Key(k), rest)) => table_at(value.get_mut(k).expect("the key exists"), rest),
        Some((Step::Index(i), rest)) => table_at(value.get_mut(*i).expect("the element exists"), rest),
    }
}

/// A small scenario that loads, to change one key at a time.
const BASE: &str = r#"
name = "base"
seeds = 2
duration = "10s"
[limits]
mailbox_overflow = "reject"
[topology]
agents = 2
[workload]
arrivals = { process = "bursts", on_rate_per_s = 5, on = "1s", off = "1s", switching = "fixed" }
shape = "pool"
[[workload.requests]]
name = "chat"
weight = 1
steps = ["llm"]
key = { dist = "uniform", keys = 10 }
[llm]
latency = { dist = "constant", value = "10ms" }
on_abandon = "cancel"
profile = "llama-2-70b"
[tool]
latency = { dist = "constant", value = "10ms" }
[supervision]
restart = "permanent"
"#;

/// The string keys that take one of a few values list exactly what the
/// loader accepts: the loader's error for a bad value lists its choices.
#[test]
fn the_choices_of_string_keys_are_the_loaders() {
    let schema = schema(&[]);
    let base: toml::Table = BASE.parse().expect("TOML");
    let base_path = root().join("scenarios/base.toml");
    load(&base, &base_path, &[]).unwrap_or_else(|e| panic!("the base loads: {e}"));
    let cases: &[(&[&str], &str, &str)] = &[
        (&["limits", "mailbox_overflow"], "Limits", "mailbox_overflow"),
        (&["workload", "shape"], "Workload", "shape"),
        (&["workload", "arrivals", "process"], "Arrivals", "process"),
        (&["workload", "arrivals", "switching"], "Arrivals", "switching"),
        (&["llm", "on_abandon"], "Llm", "on_abandon"),
        (&["llm", "profile"], "Llm", "profile"),
        (&["llm", "latency", "dist"], "DurationDist", "dist"),
        (&["supervision", "restart"], "Supervision", "restart"),
    ];
    for (path, table, key) in cases {
        let listed: Vec<String> = schema["definitions"][table]["properties"][key]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{table}.{key} lists its choices"))
            .iter()
            .map(|v| v.as_str().expect("a string").to_owned())
            .collect();
        let mut changed = base.clone();
        let (last, parents) = path.split_last().expect("a path");
        let mut t = &mut changed;
        for p in parents {
            t = t.get_mut(*p).and_then(toml::Value::as_table_mut).expect("a table");
        }
        t.insert((*last).to_owned(), toml::Value::String("zz_bad".into()));
        let error = load(&changed, &base_path, &[]).expect_err("a bad choice");
        let hint = error.split("valid values: ").nth(1).unwrap_or_else(|| panic!("{path:?}: {error}"));
        let accepted: Vec<String> =
            hint.lines().next().unwrap_or("").split('`').skip(1).step_by(2).map(str::to_owned).collect();
        assert_eq!(listed, accepted, "{path:?}");
    }
    // And the request key's, in a request mix.
    let listed = &schema["definitions"]["RequestKey"]["properties"]["dist"]["enum"];
    assert_eq!(listed, &json!(["uniform", "zipf"]));
}

#[test]
fn durations_are_strings_with_units_and_distributions_take_their_own_parameters() {
    let schema = schema(&[]);
    let base: toml::Table = BASE.parse().expect("TOML");
    let with = |key: &str, value: toml::Value| {
        let mut t = base.clone();
        t.insert(key.to_owned(), value);
        to_json(&t)
    };
    assert!(validate(&schema, &with("duration", "1m30s".into())).is_empty());
    assert!(!validate(&schema, &with("duration", 60.into())).is_empty(), "a number is not a duration");
    assert!(validate(&schema, &with("seeds", toml::Value::Array(vec![1.into(), 7.into()]))).is_empty());
    assert!(!validate(&schema, &with("seeds", toml::Value::Array(vec![1.into(), 1.into()]))).is_empty());
    assert!(!validate(&schema, &with("seeds", 0.into())).is_empty());
    let mut t = base.clone();
    let llm = t.get_mut("llm").and_then(toml::Value::as_table_mut).expect("[llm]");
    llm.insert("latency".into(), toml::toml! { dist = "lognormal" median = "1s" }.into());
    let errors = validate(&schema, &to_json(&t));
    assert!(errors.iter().any(|e| e.contains("p99")), "{errors:?}");
    assert!(load(&t, &root().join("x.toml"), &[]).is_err());
}

// ---------------------------------------------------------------------------
// The command.

#[test]
fn the_schema_command_prints_the_schema() {
    let out = rehearsal(&["schema"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(printed, schema(&[]));
    assert_eq!(printed["$schema"], "http://json-schema.org/draft-07/schema#");
}

/// The acceptance check, as a CI script or an editor would run it: Python's
/// `jsonschema` on the printed schema. Skipped where it is not installed.
#[test]
fn pythons_jsonschema_accepts_the_schema_and_every_bundled_scenario() {
    let probe = Command::new("python3").args(["-c", "import jsonschema, tomllib"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: python3 with jsonschema and tomllib is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = rehearsal(&["schema"]);
    let schema_path = dir.path().join("schema.json");
    std::fs::write(&schema_path, &out.stdout).expect("written");
    let script = r#"
import glob, json, sys, tomllib, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
for f in sorted(glob.glob("scenarios/*.toml")):
    jsonschema.validate(tomllib.load(open(f, "rb")), schema)
def rejects(text):
    try:
        jsonschema.validate(tomllib.loads(text), schema)
    except jsonschema.ValidationError:
        return True
    return False
base = open("scenarios/quickstart.toml").read()
assert rejects(base + "\nbogus = 1\n"), "an unknown key"
assert rejects(base.replace('duration = "60s"', 'duration = "60"')), "a duration without a unit"
assert rejects(base.replace('duration = "60s"', 'duration = "60 s"')), "a space in a duration"
assert not rejects(base.replace('duration = "60s"', 'duration = "1m0.5s"')), "a duration in parts"
assert rejects(base.replace('name = "quickstart"', 'name = "Quick Start"')), "a bad name"
import re
pattern = re.compile(schema["definitions"]["Duration"]["pattern"])
for text, parses in json.loads(sys.argv[2]):
    assert bool(pattern.search(text)) == parses, (text, parses)
print("ok")
"#;
    // The duration pattern against the parser, on examples.
    let examples = [
        "450ms",
        "1.5s",
        "1m30s",
        "250us",
        "250µs",
        "0s",
        " 2h ",
        ".5s",
        "10ns",
        "1h2m3s4ms",
        "60",
        "5 s",
        "-1s",
        "1x",
        "",
        "1.2.3s",
        "s",
        "1ms2",
        "1.s",
        "1sm",
    ];
    let durations: Vec<(&str, bool)> = examples.iter().map(|e| (*e, scenario::parse_duration(e).is_ok())).collect();
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&schema_path)
        .arg(serde_json::to_string(&durations).expect("JSON"))
        .current_dir(root())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ok"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
