//! `[strategies]`: the axes of the strategy matrix and their values.
//!
//! Generic over axes: what an axis accepts (kinds, parameters, how a value
//! is built and checked) is its module's in `crate::strategy`; this module
//! reads the file's forms and turns every error into a located one.
//!
//! - `axis = ["a", "b"]`: plain values (kinds), labelled by their kind;
//! - `axis = ["a", { name = "n", kind = "k", p = 1 }]`: a variant with
//!   parameters, labelled `n` (or, unnamed, `k/p=1`);
//! - `axis = { kind = "k", p = [1, 2], q = ["x", "y"] }` (or such a table in
//!   the list): a sweep, one value per point of the product of the listed
//!   parameters (the first varying slowest), labelled `k/p=1/q=x` (or
//!   `n/p=1/q=x` when named).

use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};

use super::{Ctx, Result, Spanned, choice_hint, did_you_mean, echo, list};
use crate::scenario::model::Axis;
use crate::strategy::{
    AXES, AxisValue, AxisValues, AxisVisitor, Defaults, NotApplicable, Param, ParamValue, ValueError, label,
    label_char, visit_axis,
};

/// The most values one axis may have, sweeps expanded.
pub const MAX_AXIS_VALUES: usize = 1000;
/// The longest value label, in characters.
pub const MAX_LABEL_CHARS: usize = 128;

type RawAxis = (Spanned<String>, Spanned<RawItem>);

/// `[strategies]`, in file order (entries are sorted by key position, since
/// `toml` without `preserve_order` hands tables over sorted by name).
pub(super) struct RawStrategies(pub(super) Vec<RawAxis>);

impl<'de> Deserialize<'de> for RawStrategies {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawStrategies;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table of `axis = [values]`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawStrategies, A::Error> {
                let mut out: Vec<RawAxis> = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                out.sort_by_key(|(k, _)| k.span().start);
                Ok(RawStrategies(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Any TOML value under `[strategies]`, spanned all the way down; the
/// checker says what is wrong where.
pub(super) enum RawItem {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(Vec<Spanned<RawItem>>),
    /// Entries in file order.
    Table(Vec<(Spanned<String>, Spanned<RawItem>)>),
}

impl RawItem {
    fn type_name(&self) -> &'static str {
        match self {
            RawItem::Str(_) => "a string",
            RawItem::Int(_) => "an integer",
            RawItem::Float(_) => "a number",
            RawItem::Bool(_) => "a boolean",
            RawItem::List(_) => "a list",
            RawItem::Table(_) => "a table",
        }
    }

    fn scalar(&self) -> Option<ParamValue> {
        Some(match self {
            RawItem::Str(s) => ParamValue::Str(s.clone()),
            RawItem::Int(i) => ParamValue::Int(*i),
            RawItem::Float(x) => ParamValue::Float(*x),
            RawItem::Bool(b) => ParamValue::Bool(*b),
            RawItem::List(_) | RawItem::Table(_) => return None,
        })
    }
}

impl<'de> Deserialize<'de> for RawItem {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawItem;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a strategy value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawItem, E> {
                Ok(RawItem::Str(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawItem, E> {
                Ok(RawItem::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawItem, E> {
                Ok(RawItem::Int(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawItem, E> {
                Ok(RawItem::Float(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawItem, E> {
                Ok(RawItem::Bool(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawItem, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element()? {
                    out.push(item);
                }
                Ok(RawItem::List(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawItem, A::Error> {
                let mut out: Vec<(Spanned<String>, Spanned<RawItem>)> = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                out.sort_by_key(|(k, _)| k.span().start);
                Ok(RawItem::Table(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// The axis that compares `[policies.NAME]`.
pub const POLICY_AXIS: &str = "policy";

impl Ctx<'_> {
    /// `[strategies]` checked against the axes' definitions; without it (or
    /// with an empty one) the matrix is `retry = ["none"]`.
    pub(super) fn strategies(
        &self,
        raw: Option<&RawStrategies>,
        defaults: &Defaults<'_>,
        policies: &[String],
    ) -> Result<Vec<Axis>> {
        let axes = match raw {
            Some(RawStrategies(axes)) if !axes.is_empty() => axes,
            _ => {
                use crate::strategy::retry::Retry;
                let none = Retry::build("none", &[], defaults).expect("`none` takes no parameters");
                return Ok(vec![Axis {
                    name: Retry::NAME.into(),
                    values: vec!["none".into()],
                    typed: Retry::wrap(vec![none]),
                }]);
            }
        };
        let mut out = Vec::with_capacity(axes.len());
        for (key, value) in axes {
            let parser = AxisParser { ctx: self, key, value, defaults };
            if key.get_ref() == POLICY_AXIS {
                out.push(self.policy_axis(value, policies)?);
                continue;
            }
            match visit_axis(key.get_ref(), parser) {
                Some(axis) => out.push(axis?),
                None => match self.system_axes.iter().find(|a| a.name == key.get_ref()) {
                    Some(axis) => out.push(self.system_axis(axis, value)?),
                    None => return Err(self.unknown_axis(key)),
                },
            }
        }
        Ok(out)
    }

    /// The `policy` axis: names of `[policies.NAME]` tables.
    fn policy_axis(&self, value: &Spanned<RawItem>, policies: &[String]) -> Result<Axis> {
        let names: Vec<&str> = policies.iter().map(String::as_str).collect();
        let items = match value.get_ref() {
            RawItem::List(items) if !items.is_empty() => items,
            _ => {
                return Err(self.err(
                    value.span().start,
                    "invalid `strategies.policy`",
                    "a non-empty list of `[policies.NAME]` names",
                    Some("e.g. policy = [\"retries_only\", \"protected\"] with [policies.retries_only] and [policies.protected]".into()),
                ));
            }
        };
        let mut values: Vec<String> = Vec::new();
        for item in items {
            match item.get_ref() {
                RawItem::Str(v) if names.contains(&v.as_str()) && !values.contains(v) => values.push(v.clone()),
                other => {
                    let got = match other {
                        RawItem::Str(v) if values.contains(v) => format!("`{}` is listed twice", echo(v)),
                        RawItem::Str(v) => format!("no `[policies.{}]`", echo(v)),
                        other => format!("wrong type: found {}", other.type_name()),
                    };
                    return Err(self.err(
                        item.span().start,
                        format!("strategy axis `policy`: {got}"),
                        if names.is_empty() {
                            "`[policies.NAME]` tables to compare".to_owned()
                        } else {
                            format!("one of {}", list(&names))
                        },
                        None,
                    ));
                }
            }
        }
        Ok(Axis { name: POLICY_AXIS.to_owned(), typed: AxisValues::System(values.clone()), values })
    }

    /// An axis the system under test declares: a list of its plain values.
    fn system_axis(&self, axis: &crate::strategy::SystemAxis, value: &Spanned<RawItem>) -> Result<Axis> {
        let expected = format!("a non-empty list of {}", list(axis.values));
        let items = match value.get_ref() {
            RawItem::List(items) if !items.is_empty() => items,
            _ => {
                return Err(self.err(
                    value.span().start,
                    format!("invalid `strategies.{}`", axis.name),
                    expected,
                    Some(axis.doc.to_owned()),
                ));
            }
        };
        let mut values: Vec<String> = Vec::with_capacity(items.len());
        for item in items {
            match item.get_ref() {
                RawItem::Str(v) if axis.values.contains(&v.as_str()) && !values.contains(v) => values.push(v.clone()),
                RawItem::Str(v) if values.contains(v) => {
                    return Err(self.err(
                        item.span().start,
                        format!("`{}` is listed twice for strategy axis `{}`", echo(v), axis.name),
                        "each value at most once",
                        None,
                    ));
                }
                other => {
                    let got = match other {
                        RawItem::Str(v) => format!("unknown value `{}`", echo(v)),
                        other => format!("wrong type: found {}", other.type_name()),
                    };
                    return Err(self.err(
                        item.span().start,
                        format!("strategy axis `{}`: {got}", axis.name),
                        format!("one of {}", list(axis.values)),
                        Some(axis.doc.to_owned()),
                    ));
                }
            }
        }
        let typed = AxisValues::System(values.clone());
        Ok(Axis { name: axis.name.to_owned(), values, typed })
    }

    fn unknown_axis(&self, key: &Spanned<String>) -> super::ScenarioError {
        let name = key.get_ref();
        let mut hint = String::new();
        if let Some(best) = did_you_mean(name, AXES.iter().copied()) {
            hint.push_str(&format!("did you mean `{best}`? "));
        }
        hint.push_str("known axes: ");
        hint.push_str(
            &AXES
                .iter()
                .map(|a| format!("`{a}` ({})", crate::strategy::kinds(a).join(", ")))
                .collect::<Vec<_>>()
                .join("; "),
        );
        self.err(
            key.span().start,
            format!("unknown strategy axis `{}`", echo(name)),
            format!("one of the known axes: {}", list(AXES)),
            Some(hint),
        )
    }

    /// A [`ValueError`] of axis `axis`, located.
    fn value_error(&self, axis: &str, e: ValueError) -> super::ScenarioError {
        self.err(e.span.start, format!("strategy axis `{axis}`: {}", e.message), e.expected, e.hint)
    }

    /// One axis's values, sweeps expanded, labels checked and distinct.
    fn axis<A: AxisValue>(
        &self,
        key: &Spanned<String>,
        value: &Spanned<RawItem>,
        defaults: &Defaults<'_>,
    ) -> Result<Axis> {
        let name = A::NAME;
        if let Err(NotApplicable { message, expected, hint }) = A::applies(defaults) {
            return Err(self.err(key.span().start, message, expected, Some(hint)));
        }
        let entries: Vec<&Spanned<RawItem>> = match value.get_ref() {
            RawItem::List(items) => items.iter().collect(),
            RawItem::Table(_) => vec![value],
            other => {
                return Err(self.err(
                    value.span().start,
                    format!("wrong type for `strategies.{name}`: found {}", other.type_name()),
                    format!(
                        "a non-empty list of `{name}` values, e.g. [\"{}\"], or a sweep table {{ kind = \"...\", PARAM = [...] }}",
                        A::KINDS.join("\", \"")
                    ),
                    Some(format!("for example: {name} = [\"{}\"]", A::KINDS.join("\", \""))),
                ));
            }
        };
        if entries.is_empty() {
            return Err(self.err(
                value.span().start,
                format!("empty list of values for strategy axis `{name}`"),
                "a non-empty list of strategy names",
                Some(format!("list at least one of: {}", list(A::KINDS))),
            ));
        }
        let mut labels: Vec<String> = Vec::new();
        let mut typed: Vec<A> = Vec::new();
        for entry in entries {
            for (label, v, at) in self.entry::<A>(entry, defaults)? {
                if labels.contains(&label) {
                    return Err(self.err(
                        at.start,
                        format!("`{}` is listed twice for strategy axis `{name}`", echo(&label)),
                        "each value at most once (distinct labels)",
                        Some(
                            "remove the duplicate; two variants of one kind need distinct parameters or a distinct \
                             `name`"
                                .into(),
                        ),
                    ));
                }
                if labels.len() == MAX_AXIS_VALUES {
                    return Err(self.err(
                        entry.span().start,
                        format!("strategy axis `{name}` has more than {MAX_AXIS_VALUES} values"),
                        format!("at most {MAX_AXIS_VALUES} values per axis, sweeps expanded"),
                        Some("sweep fewer parameter values: every value multiplies the runs".into()),
                    ));
                }
                labels.push(label);
                typed.push(v);
            }
        }
        Ok(Axis { name: name.to_owned(), values: labels, typed: A::wrap(typed) })
    }

    /// The values of one entry of an axis's list: one for a plain string or
    /// a variant, one per point for a sweep. Each with its label and the
    /// span to point at if the label is a duplicate.
    fn entry<A: AxisValue>(
        &self,
        entry: &Spanned<RawItem>,
        defaults: &Defaults<'_>,
    ) -> Result<Vec<(String, A, Range<usize>)>> {
        let axis = A::NAME;
        let kind_error = |kind: &str, at: usize| {
            self.err(
                at,
                format!("unknown value `{}` for strategy axis `{axis}`", echo(kind)),
                format!("one of {}", list(A::KINDS)),
                Some(choice_hint(kind, A::KINDS)),
            )
        };
        let fields = match entry.get_ref() {
            RawItem::Str(kind) => {
                if !A::KINDS.contains(&kind.as_str()) {
                    return Err(kind_error(kind, entry.span().start));
                }
                let v = A::build(kind, &[], defaults).map_err(|e| self.value_error(axis, e))?;
                return Ok(vec![(kind.clone(), v, entry.span())]);
            }
            RawItem::Table(fields) => fields,
            other => {
                return Err(self.err(
                    entry.span().start,
                    format!("wrong type for a value of strategy axis `{axis}`: found {}", other.type_name()),
                    format!("a value name such as \"{}\", or a table {{ kind = \"...\", ... }}", A::KINDS[0]),
                    Some(format!("valid values: {}", list(A::KINDS))),
                ));
            }
        };
        let mut name: Option<&Spanned<RawItem>> = None;
        let mut kind: Option<(&str, usize)> = None;
        // Each parameter's values: one for a scalar, several for a sweep.
        let mut dims: Vec<(Vec<Param>, bool)> = Vec::new();
        for (key, value) in fields {
            let k = key.get_ref().as_str();
            match k {
                "name" => name = Some(value),
                "kind" => match value.get_ref() {
                    RawItem::Str(s) if A::KINDS.contains(&s.as_str()) => kind = Some((s.as_str(), value.span().start)),
                    RawItem::Str(s) => return Err(kind_error(s, value.span().start)),
                    other => {
                        return Err(self.err(
                            value.span().start,
                            format!("wrong type for `kind` of a `{axis}` value: found {}", other.type_name()),
                            format!("one of {}", list(A::KINDS)),
                            None,
                        ));
                    }
                },
                _ if A::PARAMS.contains(&k) => {
                    let param = |v: &Spanned<RawItem>| -> Result<Param> {
                        match v.get_ref().scalar() {
                            Some(value) => Ok(Param { name: k.to_owned(), value, span: v.span() }),
                            None => Err(self.err(
                                v.span().start,
                                format!(
                                    "wrong type for parameter `{}` of strategy axis `{axis}`: found {}",
                                    echo(k),
                                    v.get_ref().type_name()
                                ),
                                param_doc::<A>(k),
                                Some("a parameter is one value, or a flat list of values to sweep".into()),
                            )),
                        }
                    };
                    match value.get_ref() {
                        RawItem::List(items) if items.is_empty() => {
                            return Err(self.err(
                                value.span().start,
                                format!("empty sweep of parameter `{k}` of strategy axis `{axis}`"),
                                format!("a non-empty list of values: {}", param_doc::<A>(k)),
                                Some("list the values to compare, e.g. max_attempts = [1, 2, 4, 8]".into()),
                            ));
                        }
                        RawItem::List(items) => dims.push((items.iter().map(param).collect::<Result<_>>()?, true)),
                        _ => dims.push((vec![param(value)?], false)),
                    }
                }
                _ => {
                    let mut valid: Vec<&str> = vec!["name", "kind"];
                    valid.extend(A::PARAMS);
                    let mut hint = String::new();
                    if let Some(best) = did_you_mean(k, valid.iter().copied()) {
                        hint.push_str(&format!("did you mean `{best}`? "));
                    }
                    if A::PARAMS.is_empty() {
                        hint.push_str(&format!("`{axis}` values take no parameters; valid keys: `name`, `kind`"));
                    } else {
                        hint.push_str(&format!("valid keys: {}", list(&valid)));
                    }
                    return Err(self.err(
                        key.span().start,
                        format!("unknown parameter `{}` for strategy axis `{axis}`", echo(k)),
                        format!("one of {}", list(&valid)),
                        Some(hint),
                    ));
                }
            }
        }
        let Some((kind, _)) = kind else {
            return Err(self.err(
                entry.span().start,
                format!("a value of strategy axis `{axis}` without a `kind`"),
                format!("`kind = ` one of {}", list(A::KINDS)),
                Some(format!("for example: {{ kind = \"{}\" }}", A::KINDS.last().copied().unwrap_or(""))),
            ));
        };
        let name = match name {
            None => None,
            Some(v) => match v.get_ref() {
                RawItem::Str(s) if !s.is_empty() && s.chars().count() <= 64 && s.chars().all(label_char) => {
                    Some(s.as_str())
                }
                _ => {
                    return Err(self.err(
                        v.span().start,
                        format!("invalid `name` for a value of strategy axis `{axis}`: {}", self.text(&v.span())),
                        "a name of 1 to 64 letters, digits, `_`, `-`, `.`, `/`, `=`, `+` or `:`",
                        Some(
                            "the name is the value's label in reports, `--strategy` and replay lines, e.g. \
                             name = \"exp8\""
                                .into(),
                        ),
                    ));
                }
            },
        };
        let points = dims.iter().map(|(d, _)| d.len()).try_fold(1usize, |acc, n| acc.checked_mul(n));
        if points.is_none_or(|n| n > MAX_AXIS_VALUES) {
            return Err(self.err(
                entry.span().start,
                format!("a sweep of strategy axis `{axis}` with more than {MAX_AXIS_VALUES} values"),
                format!("at most {MAX_AXIS_VALUES} values per axis, sweeps expanded"),
                Some("sweep fewer parameter values: every value multiplies the runs".into()),
            ));
        }
        let mut out = Vec::new();
        let mut index = vec![0usize; dims.len()];
        loop {
            let params: Vec<Param> = dims.iter().zip(&index).map(|((d, _), &i)| d[i].clone()).collect();
            let shown: Vec<&Param> =
                params.iter().zip(&dims).filter(|(_, (_, swept))| name.is_none() || *swept).map(|(p, _)| p).collect();
            let at = params
                .iter()
                .zip(&dims)
                .filter(|(_, (_, swept))| *swept)
                .map(|(p, _)| p.span.clone())
                .next_back()
                .unwrap_or_else(|| entry.span());
            let v = A::build(kind, &params, defaults).map_err(|e| self.value_error(axis, e))?;
            let label = label(name, kind, &shown);
            if let Some(bad) = label.chars().find(|&c| !label_char(c)) {
                let p = shown.iter().find(|p| p.value.to_string().contains(bad));
                return Err(self.err(
                    p.map_or(entry.span().start, |p| p.span.start),
                    format!("strategy axis `{axis}`: the label `{}` holds `{bad}`", echo(&label)),
                    "labels of letters, digits, `_`, `-`, `.`, `/`, `=`, `+` and `:`",
                    Some(
                        "labels are used unquoted in `--strategy` and in replay lines; write the value without \
                         that character (e.g. \"250us\" for \"250µs\"), or give the value a `name`"
                            .into(),
                    ),
                ));
            }
            if label.chars().count() > MAX_LABEL_CHARS {
                return Err(self.err(
                    entry.span().start,
                    format!(
                        "strategy axis `{axis}`: the label `{}` is longer than {MAX_LABEL_CHARS} characters",
                        echo(&label)
                    ),
                    format!("labels of at most {MAX_LABEL_CHARS} characters"),
                    Some("give the value a short `name`".into()),
                ));
            }
            out.push((label, v, at));
            // The next point: the last parameter varies fastest.
            let mut d = dims.len();
            loop {
                if d == 0 {
                    return Ok(out);
                }
                d -= 1;
                index[d] += 1;
                if index[d] < dims[d].0.len() {
                    break;
                }
                index[d] = 0;
            }
        }
    }
}

/// What parameter `name` of axis `A` takes, for messages.
fn param_doc<A: AxisValue>(name: &str) -> String {
    A::PARAMS
        .iter()
        .position(|p| *p == name)
        .and_then(|i| A::PARAM_DOCS.get(i))
        .map_or_else(|| "a number or a string".to_owned(), |d| (*d).to_owned())
}

/// Parses one axis with its type (see [`visit_axis`]).
struct AxisParser<'c, 'a> {
    ctx: &'c Ctx<'a>,
    key: &'c Spanned<String>,
    value: &'c Spanned<RawItem>,
    defaults: &'c Defaults<'c>,
}

impl AxisVisitor for AxisParser<'_, '_> {
    type Output = Result<Axis>;
    fn visit<A: AxisValue>(self) -> Result<Axis> {
        self.ctx.axis::<A>(self.key, self.value, self.defaults)
    }
}

impl Ctx<'_> {
    /// One value of axis `A` outside `[strategies]` (a role's or a step's
    /// own `retry`): a plain kind or a table, not a sweep.
    pub(super) fn one_value<A: AxisValue>(&self, v: &Spanned<RawItem>, defaults: &Defaults<'_>) -> Result<A> {
        let mut values = self.entry::<A>(v, defaults)?;
        if values.len() != 1 {
            return Err(self.err(
                v.span().start,
                format!("a sweep is not a single `{}` value", A::NAME),
                format!("one `{}` value, e.g. \"{}\" or {{ kind = \"...\", ... }}", A::NAME, A::KINDS[0]),
                Some("sweeps belong in `[strategies]`, where each value is a compared strategy".into()),
            ));
        }
        Ok(values.remove(0).1)
    }
}
