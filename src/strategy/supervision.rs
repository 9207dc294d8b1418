//! Axis `supervision`: the tree the fleet's agents (or pipeline stages) run
//! under.
//!
//! | kind | behaviour |
//! |---|---|
//! | `none` | unsupervised: a crashed agent stays down |
//! | `one_for_one` | one root supervisor on node 0 (OTP `one_for_one`): a crashed child is restarted alone |
//! | `one_for_all` | OTP `one_for_all`: a crash restarts every child |
//! | `rest_for_one` | OTP `rest_for_one`: a crash restarts the child and those started after it |
//! | `one_for_one_backoff` | each agent under its own Akka-style backoff supervisor, under a `one_for_one` root |
//!
//! No parameters: every kind takes the scenario's `[supervision]` table.
//! Without a `supervision` axis the fleet is unsupervised.

use rehearsal_runtime::supervisor::Strategy as SupStrategy;

use super::{AxisValue, AxisValues, Defaults, Param, ValueError};

/// One value of the `supervision` axis.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Supervision {
    /// Agents spawned unsupervised.
    None,
    /// Every agent under one root supervisor with this OTP strategy.
    Tree(SupStrategy),
    /// Each agent under its own backoff supervisor, under a `one_for_one` root.
    OneForOneBackoff,
}

impl AxisValue for Supervision {
    const NAME: &'static str = "supervision";
    const KINDS: &'static [&'static str] =
        &["none", "one_for_one", "one_for_all", "rest_for_one", "one_for_one_backoff"];
    const PARAMS: &'static [&'static str] = &[];

    fn default_value(_: &Defaults<'_>) -> Supervision {
        Supervision::None
    }

    fn build(kind: &str, _: &[Param], _: &Defaults<'_>) -> Result<Supervision, ValueError> {
        Ok(match kind {
            "none" => Supervision::None,
            "one_for_one" => Supervision::Tree(SupStrategy::OneForOne),
            "one_for_all" => Supervision::Tree(SupStrategy::OneForAll),
            "rest_for_one" => Supervision::Tree(SupStrategy::RestForOne),
            "one_for_one_backoff" => Supervision::OneForOneBackoff,
            _ => unreachable!("the loader checks kinds against KINDS"),
        })
    }

    fn wrap(values: Vec<Supervision>) -> AxisValues {
        AxisValues::Supervision(values)
    }

    fn unwrap(values: &AxisValues) -> Option<&[Supervision]> {
        match values {
            AxisValues::Supervision(v) => Some(v),
            _ => None,
        }
    }
}
