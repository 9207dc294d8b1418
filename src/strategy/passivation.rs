//! Axis `passivation`: whether virtual agents passivate when idle.
//!
//! | kind | behaviour |
//! |---|---|
//! | `on` | an activation idle for its role's `idle_timeout` passivates (the role's setting) |
//! | `off` | activations stay until their node is lost |
//!
//! Only roles with `virtual = true` have activations.

use super::{AxisValue, AxisValues, Defaults, Param, ValueError};

/// One value of the `passivation` axis.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Passivation(pub bool);

impl AxisValue for Passivation {
    const NAME: &'static str = "passivation";
    const KINDS: &'static [&'static str] = &["on", "off"];
    const PARAMS: &'static [&'static str] = &[];

    fn default_value(_: &Defaults<'_>) -> Passivation {
        Passivation(true)
    }

    fn build(kind: &str, _: &[Param], _: &Defaults<'_>) -> Result<Passivation, ValueError> {
        Ok(Passivation(kind == "on"))
    }

    fn wrap(values: Vec<Passivation>) -> AxisValues {
        AxisValues::Passivation(values)
    }

    fn unwrap(values: &AxisValues) -> Option<&[Passivation]> {
        match values {
            AxisValues::Passivation(v) => Some(v),
            _ => None,
        }
    }
}
