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
//! | `resource_optimized` | the lowest weighted score of CPU and memory use (activations over each node's CPU slots and memory, from counts a second old), preferring the directory's own node when within `local_margin` (default 0.1) of the best |
//! | `pack` | the first node (in the role's list) with room: fill nodes one by one (Ray PACK) |
//! | `spread` | the nodes in turn (Ray SPREAD) |
//!
//! Every strategy uses only what the directory knows: its own table of
//! activations, each node's configured capacity, and the nodes it believes
//! up (a lost node counts as up until the failure detector says
//! otherwise). `power_of_two` and `resource_optimized` read counts that
//! lag, as Orleans' placement reads statistics its silos publish
//! periodically; `least_loaded` reads the live counts, as an Akka shard
//! coordinator does. A node whose memory is full of activations takes no
//! more (`no_capacity` when every node is full).
//!
//! Roles of fixed agents are placed at start: `pack` fills each node of
//! the role's list up to its capacity (its CPU slots, or the agents its
//! memory holds) before the next; every other value spreads them
//! round-robin.

use super::{AxisValue, AxisValues, Defaults, Param, ValueError};

/// One placement strategy.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    Random,
    PreferLocal,
    Hash,
    ConsistentHash {
        vnodes: u32,
    },
    PowerOfTwo,
    LeastLoaded,
    /// `local_margin` in thousandths.
    ResourceOptimized {
        local_margin_permille: u32,
    },
    Pack,
    Spread,
}

impl AxisValue for Placement {
    const NAME: &'static str = "placement";
    const KINDS: &'static [&'static str] = &[
        "random",
        "prefer_local",
        "hash",
        "consistent_hash",
        "power_of_two",
        "least_loaded",
        "resource_optimized",
        "pack",
        "spread",
    ];
    const PARAMS: &'static [&'static str] = &["vnodes", "local_margin"];
    const PARAM_DOCS: &'static [&'static str] = &[
        "an integer from 1 to 1000 (virtual nodes per node)",
        "a number from 0 to 1 (how much worse the local node's score may be)",
    ];

    fn default_value(_: &Defaults<'_>) -> Placement {
        Placement::Hash
    }

    fn build(kind: &str, params: &[Param], _: &Defaults<'_>) -> Result<Placement, ValueError> {
        let mut vnodes = 10;
        let mut local_margin_permille = 100;
        for p in params {
            let owner = if p.name == "vnodes" { "consistent_hash" } else { "resource_optimized" };
            if kind != owner {
                return Err(
                    p.invalid("no parameters", Some(format!("`{}` applies to `{owner}`, not `{kind}`", p.name)))
                );
            }
            if p.name == "vnodes" {
                vnodes = p.positive_int(1_000, "a ring needs at least 1 virtual node per node")? as u32;
            } else {
                local_margin_permille = match p.value {
                    super::ParamValue::Float(x) if (0.0..=1.0).contains(&x) => (x * 1000.0).round() as u32,
                    super::ParamValue::Int(i) if (0..=1).contains(&i) => i as u32 * 1000,
                    _ => {
                        return Err(p.invalid(
                            "a number from 0 to 1",
                            Some("0.1: the local node wins unless another scores 10% better".into()),
                        ));
                    }
                };
            }
        }
        Ok(match kind {
            "random" => Placement::Random,
            "prefer_local" => Placement::PreferLocal,
            "hash" => Placement::Hash,
            "consistent_hash" => Placement::ConsistentHash { vnodes },
            "power_of_two" => Placement::PowerOfTwo,
            "least_loaded" => Placement::LeastLoaded,
            "resource_optimized" => Placement::ResourceOptimized { local_margin_permille },
            "pack" => Placement::Pack,
            "spread" => Placement::Spread,
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
