//! Per-link models and what the network decides for one message.

use rehearsal_runtime::Nanos;

use super::Latency;

/// How one directed link `(from, to)` behaves, overriding the network's
/// defaults for it (see [`super::Network::set_link`]).
#[derive(Clone, Debug, PartialEq)]
pub struct LinkModel {
    /// One-way latency of the link.
    pub latency: Latency,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a message is delivered twice (the copy gets its own
    /// latency draw).
    pub duplicate: f64,
    /// Probability that a message is delayed by an extra
    /// [`super::Network::reorder_delay`], so that later messages overtake it.
    /// Ignored on an ordered link.
    pub reorder: f64,
    /// TCP-like: arrivals on the link never reorder (each arrives no earlier
    /// than the one sent before it; ties keep send order).
    pub ordered: bool,
}

impl LinkModel {
    /// A link with this latency, no loss, duplication or reordering, unordered.
    pub fn new(latency: Latency) -> LinkModel {
        LinkModel { latency, loss: 0.0, duplicate: 0.0, reorder: 0.0, ordered: false }
    }

    /// Set `ordered`.
    pub fn ordered(self, ordered: bool) -> LinkModel {
        LinkModel { ordered, ..self }
    }

    /// Set the loss probability.
    pub fn loss(self, loss: f64) -> LinkModel {
        LinkModel { loss, ..self }
    }

    /// Set the duplication probability.
    pub fn duplicate(self, duplicate: f64) -> LinkModel {
        LinkModel { duplicate, ..self }
    }

    /// Set the reordering probability.
    pub fn reorder(self, reorder: f64) -> LinkModel {
        LinkModel { reorder, ..self }
    }
}

/// A partition made by [`super::Network::partition`] (or given with
/// [`crate::Fault::Partition`]), to [`super::Network::heal`] later.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitionId(pub u32);

/// Why the network lost a message.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum LossReason {
    /// The link's (or the network's) random loss rate.
    Random,
    /// The message would have crossed a cut of this partition.
    Partition(PartitionId),
}

impl LossReason {
    /// A stable code for traces.
    pub fn code(self) -> u64 {
        match self {
            LossReason::Random => 1,
            LossReason::Partition(id) => 2 | (u64::from(id.0) << 8),
        }
    }
}

/// What the network decides for one message.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Transit {
    /// It arrives at `at`, and a copy at `duplicate_at` if duplicated.
    Deliver { at: Nanos, duplicate_at: Option<Nanos> },
    /// It never arrives.
    Lost(LossReason),
    /// Its link is clogged: the kernel holds it until the link is unclogged,
    /// then asks again.
    Held,
}
