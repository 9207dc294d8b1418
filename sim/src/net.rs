//! The network model: how long a message takes between two nodes.

use rand_core::Rng;
use rehearsal_runtime::{Nanos, NodeId};

use crate::dist::Dist;

/// A latency: fixed (no draw, the fast path) or sampled.
#[derive(Clone, Debug, PartialEq)]
pub enum Latency {
    Fixed(Nanos),
    Sampled(Dist),
}

impl Latency {
    /// A fixed distribution becomes a fixed latency, so that it costs no draw.
    pub fn from_dist(dist: Dist) -> Latency {
        match dist {
            Dist::Constant { value } => Latency::Fixed(libm::round(value.max(0.0)) as Nanos),
            other => Latency::Sampled(other),
        }
    }

    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Nanos {
        match self {
            Latency::Fixed(ns) => *ns,
            Latency::Sampled(dist) => dist.sample_u64(rng),
        }
    }
}

/// Latency within a node and between nodes. Per-link models, loss and
/// partitions build on this.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// Between two actors on the same node.
    pub local: Latency,
    /// Between two different nodes (one way).
    pub remote: Latency,
    /// How long until other nodes learn that a node died (a failure
    /// detector's timeout): watchers, links and parents elsewhere get the
    /// news this long after the crash.
    pub failure_detection: Nanos,
}

impl Default for Network {
    fn default() -> Self {
        Network { local: Latency::Fixed(0), remote: Latency::Fixed(1_000_000), failure_detection: 5_000_000_000 }
    }
}

impl Network {
    /// One latency for every pair of actors, local or not.
    pub fn uniform(latency: Latency) -> Network {
        Network { local: latency.clone(), remote: latency, failure_detection: Network::default().failure_detection }
    }

    /// How long a message from `from` to `to` takes; `None` if it is lost.
    #[inline(always)]
    pub fn transit<R: Rng + ?Sized>(&self, from: NodeId, to: NodeId, rng: &mut R) -> Option<Nanos> {
        let latency = if from == to { &self.local } else { &self.remote };
        Some(latency.sample(rng))
    }
}
