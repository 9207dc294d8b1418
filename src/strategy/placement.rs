//! Axis `placement`: where a virtual agent is activated (a role with
//! `virtual = true`), as its directory decides on the first message for a
//! key, and again after the node it lived on is lost.
//!
//! | kind | where |
//! |---|---|
//! | `random` | a node drawn uniformly among those the directory believes up |
//! | `prefer_local` | the directory's own node (Orleans' prefer-local) |
//! | `hash` | `key mod n` over the nodes believed up, sorted: most keys move when membership changes |
//! | `consistent_hash` | a ring with `vnodes` virtual nodes per node (default 10, as Akka's sharding allocation): only the lost node's keys move |
//! | `power_of_two` | two random nodes, the one with fewer activations by the directory's own counts |
//! | `least_loaded` | the node with the fewest activations by the directory's own counts |
//!
//! Every strategy uses only what the directory knows: its own table of
//! activations and the nodes it believes up (a lost node counts as up until
//! the failure detector says otherwise).

use super::{AxisValue, AxisValues, Defaults, Param, ValueError};

/// One placement strategy.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    Random,
    PreferLocal,
    Hash,
    ConsistentHash { vnodes: u32 },
    PowerOfTwo,
    LeastLoaded,
}

impl AxisValue for Placement {
    const NAME: &'static str = "placement";
    const KINDS: &'static [&'static str] =
        &["random", "prefer_local", "hash", "consistent_hash", "power_of_two", "least_loaded"];
    const PARAMS: &'static [&'static str] = &["vnodes"];
    const PARAM_DOCS: &'static [&'static str] = &["an integer from 1 to 1000 (virtual nodes per node)"];

    fn default_value(_: &Defaults<'_>) -> Placement {
        Placement::Hash
    }

    fn build(kind: &str, params: &[Param], _: &Defaults<'_>) -> Result<Placement, ValueError> {
        let mut vnodes = 10;
        for p in params {
            if kind != "consistent_hash" {
                return Err(
                    p.invalid("no parameters", Some(format!("`vnodes` applies to `consistent_hash`, not `{kind}`")))
                );
            }
            vnodes = p.positive_int(1_000, "a ring needs at least 1 virtual node per node")? as u32;
        }
        Ok(match kind {
            "random" => Placement::Random,
            "prefer_local" => Placement::PreferLocal,
            "hash" => Placement::Hash,
            "consistent_hash" => Placement::ConsistentHash { vnodes },
            "power_of_two" => Placement::PowerOfTwo,
            "least_loaded" => Placement::LeastLoaded,
            _ => unreachable!("the loader checks kinds against KINDS"),
        })
    }

    fn wrap(values: Vec<Placement>) -> AxisValues {
        AxisValues::Placement(values)
    }

    fn unwrap(values: &AxisValues) -> Option<&[Placement]> {
        match values {
            AxisValues::Placement(v) => Some(v),
            _ => None,
        }
    }
}
