//! Axis `dispatch`: how the gateway hands requests (or fan-out parts) to
//! the agents, from what a real dispatcher knows: the agents it believes up
//! (through the failure detector) and its own count of outstanding work.
//!
//! | kind | behaviour |
//! |---|---|
//! | `round_robin` | the next agent believed up, in turn, whatever its load (the default) |
//! | `random` | an agent believed up, uniformly at random |
//! | `least_loaded` | the agent with the fewest outstanding requests by the gateway's count |
//! | `power_of_two` | two random agents, the less loaded |
//! | `shared_queue` | one FIFO at the gateway; work goes only to a free agent (M/M/c) |
//!
//! No parameters. A pipeline has no choice to make and ignores the axis.

use crate::fleet::Dispatch as Policy;

use super::{AxisValue, AxisValues, Defaults, Param, ValueError};

/// One value of the `dispatch` axis.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Dispatch(pub Policy);

impl Dispatch {
    /// The policy the gateway dispatches by.
    pub fn configure(&self) -> Policy {
        self.0
    }
}

impl AxisValue for Dispatch {
    const NAME: &'static str = "dispatch";
    const KINDS: &'static [&'static str] = &["round_robin", "random", "least_loaded", "power_of_two", "shared_queue"];
    const PARAMS: &'static [&'static str] = &[];

    fn default_value(_: &Defaults<'_>) -> Dispatch {
        Dispatch(Policy::RoundRobin)
    }

    fn build(kind: &str, _: &[Param], _: &Defaults<'_>) -> Result<Dispatch, ValueError> {
        Ok(Dispatch(Policy::from_name(kind).expect("the loader checks kinds against KINDS")))
    }

    fn wrap(values: Vec<Dispatch>) -> AxisValues {
        AxisValues::Dispatch(values)
    }

    fn unwrap(values: &AxisValues) -> Option<&[Dispatch]> {
        match values {
            AxisValues::Dispatch(v) => Some(v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_names_a_policy() {
        for kind in Dispatch::KINDS {
            assert_eq!(Policy::from_name(kind).map(Policy::name), Some(*kind));
        }
    }
}
