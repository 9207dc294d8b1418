//! Axis `fanout`: how a fan-out gateway (`shape = "fanout"`) answers a
//! request from its parts.
//!
//! | kind | behaviour |
//! |---|---|
//! | `all` | every part must succeed |
//! | `quorum` | a majority of the parts must succeed |
//! | `first` | the first part to succeed answers |
//!
//! No parameters. Only with `shape = "fanout"`: on another shape it would
//! change nothing, so the loader rejects it.

use crate::fleet::FanOutPolicy;
use crate::scenario::Shape;

use super::{AxisValue, AxisValues, Defaults, NotApplicable, Param, ValueError};

/// One value of the `fanout` axis.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Fanout(pub FanOutPolicy);

impl Fanout {
    /// The policy the gateway answers by.
    pub fn configure(&self) -> FanOutPolicy {
        self.0
    }
}

impl AxisValue for Fanout {
    const NAME: &'static str = "fanout";
    const KINDS: &'static [&'static str] = &["all", "quorum", "first"];
    const PARAMS: &'static [&'static str] = &[];

    fn default_value(_: &Defaults<'_>) -> Fanout {
        Fanout(FanOutPolicy::All)
    }

    fn build(kind: &str, _: &[Param], _: &Defaults<'_>) -> Result<Fanout, ValueError> {
        Ok(Fanout(match kind {
            "all" => FanOutPolicy::All,
            "quorum" => FanOutPolicy::Quorum,
            "first" => FanOutPolicy::First,
            _ => unreachable!("the loader checks kinds against KINDS"),
        }))
    }

    fn applies(defaults: &Defaults<'_>) -> Result<(), NotApplicable> {
        let shape = match defaults.shape {
            Shape::FanOut => return Ok(()),
            Shape::Pool => "pool",
            Shape::Pipeline => "pipeline",
        };
        Err(NotApplicable {
            message: format!("strategy axis `fanout` with a `{shape}`-shaped workload"),
            expected: "no `fanout` axis, or `shape = \"fanout\"` in `[workload]`".into(),
            hint: "the `fanout` axis chooses how a fan-out gateway answers (all, quorum, first); \
                   without `shape = \"fanout\"` it changes nothing. Add `shape = \"fanout\"` to \
                   `[workload]` or remove the axis"
                .into(),
        })
    }

    fn wrap(values: Vec<Fanout>) -> AxisValues {
        AxisValues::Fanout(values)
    }

    fn unwrap(values: &AxisValues) -> Option<&[Fanout]> {
        match values {
            AxisValues::Fanout(v) => Some(v),
            _ => None,
        }
    }
}
