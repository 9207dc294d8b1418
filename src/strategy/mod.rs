//! The strategy matrix: its typed axes, their values, and the combinations a
//! comparison runs.
//!
//! A run's strategy is a [`Strategy`]: axis name -> value *label*, the form
//! every report, journal, replay line and `--strategy` uses. The label
//! resolves to a typed value through the scenario's axis definitions
//! ([`resolve`] gives a [`Point`], one typed value per axis).
//!
//! # Axes
//!
//! Each axis is one module that owns everything about it: its value type,
//! the kinds (plain string values) and parameters it accepts, how a value is
//! built and checked from the scenario (errors carry the span of the bad
//! token, and the loader turns them into located diagnostics), its
//! documentation (the module's doc comment, mirrored by `docs/scenario.md`),
//! and how a value configures a run (`configure`):
//!
//! - [`retry`]: how a failed call is retried ([`retry::Retry::configure`] ->
//!   `RetryPolicy`);
//! - [`supervision`]: the supervision tree the fleet runs under;
//! - [`fanout`]: how a fan-out gateway answers from its parts;
//! - [`dispatch`]: how the gateway hands work to the agents.
//!
//! # Adding a value
//!
//! Add the kind to the axis module's `KINDS` and to its `build` (and any new
//! parameter to `PARAMS`), then to the axis's table in `docs/scenario.md`.
//! Nothing else changes: parsing, sweeps, labels, `--strategy`, replay lines
//! and reports are generic.
//!
//! # Adding an axis (e.g. `dispatch`)
//!
//! 1. Write `src/strategy/dispatch.rs`: a value type (an enum of the
//!    dispatch policies) implementing [`AxisValue`] (`NAME = "dispatch"`,
//!    `KINDS`, `PARAMS`, `default_value`, `build`, and `wrap`/`unwrap` for
//!    its [`AxisValues`] variant; `applies` when the axis needs some shape of
//!    workload), and a `configure` method returning what the fleet needs.
//! 2. Here: `pub mod dispatch;`, a variant `Dispatch(Vec<dispatch::Dispatch>)`
//!    in [`AxisValues`], an arm in [`visit_axis`], its name in [`AXES`], and
//!    a field `dispatch` in [`Point`] filled in [`resolve`] with
//!    `pick::<dispatch::Dispatch>`.
//! 3. In `run.rs`, read `point.dispatch.configure(...)` where the fleet is
//!    built (instead of matching `strategy.get("dispatch")` strings).
//! 4. Document it in `docs/scenario.md` (`[strategies]`).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use crate::scenario::{RetryParams, Scenario, Shape};

pub mod directory;
pub mod dispatch;
pub mod fanout;
pub mod passivation;
pub mod placement;
pub mod retry;
pub mod supervision;

/// One point of the matrix: axis name -> chosen value's label. A `BTreeMap`
/// so that iteration (and therefore JSON output) is ordered by axis name.
pub type Strategy = BTreeMap<String, String>;

/// Every axis the harness knows, in the order documented in
/// `docs/scenario.md`.
pub const AXES: &[&str] = &[
    retry::Retry::NAME,
    supervision::Supervision::NAME,
    fanout::Fanout::NAME,
    dispatch::Dispatch::NAME,
    placement::Placement::NAME,
    passivation::Passivation::NAME,
    directory::Directory::NAME,
];

/// The typed values of one axis of a scenario, in file order (parallel to
/// [`crate::scenario::Axis::values`], the labels).
#[derive(Clone, Debug, PartialEq)]
pub enum AxisValues {
    Retry(Vec<retry::Retry>),
    Supervision(Vec<supervision::Supervision>),
    Fanout(Vec<fanout::Fanout>),
    Dispatch(Vec<dispatch::Dispatch>),
    Placement(Vec<placement::Placement>),
    Passivation(Vec<passivation::Passivation>),
    Directory(Vec<directory::Directory>),
    /// An axis the system under test declares ([`SystemAxis`]): its values
    /// are its labels, which the system reads from the strategy it builds.
    System(Vec<String>),
}

/// A strategy axis a system under test declares beyond the built-in ones
/// (see [`crate::system::SystemUnderTest::axes`]): a name and the plain
/// values it takes. A scenario lists some of them under `[strategies]`,
/// as `failover = ["naive", "never"]`; the system reads the value a run
/// uses from [`crate::system::Build::strategy`] (a run without the axis
/// gets the first value).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SystemAxis {
    pub name: &'static str,
    pub values: &'static [&'static str],
    /// One line for error messages and docs.
    pub doc: &'static str,
}

/// Something generic over axes, called with the axis type (see
/// [`visit_axis`]).
pub trait AxisVisitor {
    type Output;
    fn visit<A: AxisValue>(self) -> Self::Output;
}

/// Calls `visitor` with the axis named `name`; `None` for an unknown axis.
pub fn visit_axis<V: AxisVisitor>(name: &str, visitor: V) -> Option<V::Output> {
    match name {
        retry::Retry::NAME => Some(visitor.visit::<retry::Retry>()),
        supervision::Supervision::NAME => Some(visitor.visit::<supervision::Supervision>()),
        fanout::Fanout::NAME => Some(visitor.visit::<fanout::Fanout>()),
        dispatch::Dispatch::NAME => Some(visitor.visit::<dispatch::Dispatch>()),
        placement::Placement::NAME => Some(visitor.visit::<placement::Placement>()),
        passivation::Passivation::NAME => Some(visitor.visit::<passivation::Passivation>()),
        directory::Directory::NAME => Some(visitor.visit::<directory::Directory>()),
        _ => None,
    }
}

/// The typed strategy a run uses: one value per axis (the scenario's, or
/// the axis's default when the scenario has no such axis).
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub retry: retry::Retry,
    pub supervision: supervision::Supervision,
    pub fanout: fanout::Fanout,
    pub dispatch: dispatch::Dispatch,
    pub placement: placement::Placement,
    pub passivation: passivation::Passivation,
    pub directory: directory::Directory,
}

/// Resolves `strategy`'s labels through `scenario`'s axes. A label the
/// scenario does not list but which names a plain kind of a known axis (as
/// `retry=fixed`) is that kind with the scenario's defaults; anything else
/// is a [`StrategyError`]. Axes the harness does not know are ignored.
pub fn resolve(scenario: &Scenario, strategy: &Strategy) -> Result<Point, StrategyError> {
    Ok(Point {
        retry: pick::<retry::Retry>(scenario, strategy)?,
        supervision: pick::<supervision::Supervision>(scenario, strategy)?,
        fanout: pick::<fanout::Fanout>(scenario, strategy)?,
        dispatch: pick::<dispatch::Dispatch>(scenario, strategy)?,
        placement: pick::<placement::Placement>(scenario, strategy)?,
        passivation: pick::<passivation::Passivation>(scenario, strategy)?,
        directory: pick::<directory::Directory>(scenario, strategy)?,
    })
}

/// The value of axis `A` that `strategy` names.
fn pick<A: AxisValue>(scenario: &Scenario, strategy: &Strategy) -> Result<A, StrategyError> {
    let defaults = Defaults::of(scenario);
    let axis = scenario.strategies.iter().find(|a| a.name == A::NAME);
    let Some(label) = strategy.get(A::NAME) else {
        return Ok(A::default_value(&defaults));
    };
    if let Some(axis) = axis
        && let Some(i) = axis.values.iter().position(|v| v == label)
        && let Some(value) = A::unwrap(&axis.typed).and_then(|vs| vs.get(i))
    {
        return Ok(value.clone());
    }
    if A::KINDS.contains(&label.as_str())
        && let Ok(value) = A::build(label, &[], &defaults)
    {
        return Ok(value);
    }
    let mut known: Vec<String> = axis.map(|a| a.values.clone()).unwrap_or_default();
    for k in A::KINDS {
        if !known.iter().any(|v| v == k) {
            known.push((*k).to_owned());
        }
    }
    Err(StrategyError { axis: A::NAME.into(), value: label.clone(), known: known.join(", ") })
}

/// A strategy value the harness does not know (bad input).
#[derive(Debug, thiserror::Error)]
#[error("strategy axis `{axis}` has no value `{value}` (known values: {known})")]
pub struct StrategyError {
    pub axis: String,
    pub value: String,
    pub known: String,
}

/// What an axis's values default to: the scenario's parameter tables.
#[derive(Clone, Copy, Debug)]
pub struct Defaults<'a> {
    /// `[retry]`: the parameters a retry value leaves out.
    pub retry: &'a RetryParams,
    /// `workload.shape`.
    pub shape: Shape,
}

impl<'a> Defaults<'a> {
    pub fn of(scenario: &'a Scenario) -> Defaults<'a> {
        Defaults { retry: &scenario.retry, shape: scenario.workload.shape }
    }
}

/// One axis: its name, the values it accepts and how they are built. The
/// value type is the axis's typed value; a run gets one per axis
/// ([`Point`]). See the module documentation for how to add one.
pub trait AxisValue: Sized + Clone + fmt::Debug + PartialEq {
    /// The axis's key in `[strategies]`.
    const NAME: &'static str;
    /// The kinds of value, in documentation order: each is a plain string
    /// value (`"exponential"`) and the `kind` of a table value.
    const KINDS: &'static [&'static str];
    /// The parameters a table value may set (besides `name` and `kind`).
    const PARAMS: &'static [&'static str];
    /// What each parameter takes, for messages (parallel to `PARAMS`).
    const PARAM_DOCS: &'static [&'static str] = &[];

    /// The value a run uses when the scenario has no such axis.
    fn default_value(defaults: &Defaults<'_>) -> Self;

    /// A value of `kind` (one of `KINDS`) with `params` (each one of
    /// `PARAMS`, at most once, scalar: sweeps are expanded before); what
    /// they leave out comes from `defaults`.
    fn build(kind: &str, params: &[Param], defaults: &Defaults<'_>) -> Result<Self, ValueError>;

    /// Why the axis cannot be used with this scenario, if it cannot (e.g.
    /// `fanout` without a fan-out workload).
    fn applies(_defaults: &Defaults<'_>) -> Result<(), NotApplicable> {
        Ok(())
    }

    fn wrap(values: Vec<Self>) -> AxisValues;
    fn unwrap(values: &AxisValues) -> Option<&[Self]>;
}

/// Why an axis does not apply to a scenario: the message, what was expected
/// and a hint, located by the loader at the axis's key.
#[derive(Clone, Debug)]
pub struct NotApplicable {
    pub message: String,
    pub expected: String,
    pub hint: String,
}

/// One scalar parameter of a table value, e.g. `max_attempts = 4`, or one
/// element of a swept list. `span` is the value's byte range in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub value: ParamValue,
    pub span: Range<usize>,
}

/// A parameter's value as written.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Str(s) => f.write_str(s),
            ParamValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// A bad value or parameter: where (a byte range in the file), what is
/// wrong, what was expected, and a hint. The loader renders it with the
/// file, line and column.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueError {
    pub span: Range<usize>,
    pub message: String,
    pub expected: String,
    pub hint: Option<String>,
}

impl Param {
    /// `invalid value for `strategies.AXIS.NAME``-style error at this
    /// parameter (the loader prefixes the path).
    pub fn invalid(&self, expected: impl Into<String>, hint: Option<String>) -> ValueError {
        ValueError {
            span: self.span.clone(),
            message: format!("invalid value for parameter `{}`: {}", self.name, self.value),
            expected: expected.into(),
            hint,
        }
    }

    /// An integer from 1 to `max`.
    pub fn positive_int(&self, max: u64, hint: &str) -> Result<u64, ValueError> {
        match self.value {
            ParamValue::Int(i) if i >= 1 && (i as u64) <= max => Ok(i as u64),
            _ => Err(self.invalid(format!("an integer from 1 to {max}"), Some(hint.to_owned()))),
        }
    }

    /// A duration string such as `"200ms"`, in nanoseconds.
    pub fn duration(&self) -> Result<u64, ValueError> {
        let hint = Some("durations are strings with a unit, e.g. \"200ms\" or \"1.5s\"".to_owned());
        match &self.value {
            ParamValue::Str(s) => crate::scenario::parse_duration(s)
                .map_err(|e| self.invalid(format!("a duration such as \"200ms\" ({e})"), hint)),
            _ => Err(self.invalid("a duration such as \"200ms\"", hint)),
        }
    }
}

/// Every combination of the scenario's axes, first axis varying slowest,
/// in file order: the order of a comparison's rows.
pub fn combinations(axes: &[crate::scenario::Axis]) -> Vec<Strategy> {
    let mut out = vec![Strategy::new()];
    for axis in axes {
        let mut next = Vec::with_capacity(out.len() * axis.values.len());
        for partial in &out {
            for value in &axis.values {
                let mut s = partial.clone();
                s.insert(axis.name.clone(), value.clone());
                next.push(s);
            }
        }
        out = next;
    }
    out
}

/// The default strategy: the first value of every axis.
pub fn default_strategy(axes: &[crate::scenario::Axis]) -> Strategy {
    axes.iter().filter_map(|a| a.values.first().map(|v| (a.name.clone(), v.clone()))).collect()
}

/// The kinds axis `axis` accepts (empty for an unknown axis).
pub fn kinds(axis: &str) -> &'static [&'static str] {
    struct Kinds;
    impl AxisVisitor for Kinds {
        type Output = &'static [&'static str];
        fn visit<A: AxisValue>(self) -> Self::Output {
            A::KINDS
        }
    }
    visit_axis(axis, Kinds).unwrap_or(&[])
}

/// Whether `c` may appear in a value label: labels are used unquoted in
/// `--strategy AXIS=LABEL`, in replay lines (shell commands) and in report
/// keys, so they keep to characters a shell passes through as is and that
/// `--strategy` does not split on (`,`).
pub fn label_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '=' | '+' | ':')
}

/// The label of a value: `name` when given, else its kind; then
/// `/param=value` for each parameter in `shown` (the swept ones, or, for an
/// unnamed value, every one given), in file order. E.g.
/// `exponential/max_attempts=4`, `exp/max_attempts=4`, `fast`.
pub fn label(name: Option<&str>, kind: &str, shown: &[&Param]) -> String {
    let mut out = name.unwrap_or(kind).to_owned();
    for p in shown {
        out.push('/');
        out.push_str(&p.name);
        out.push('=');
        out.push_str(&p.value.to_string());
    }
    out
}
