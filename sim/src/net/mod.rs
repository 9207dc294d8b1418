//! The network model: how long a message takes between two nodes, and
//! whether it arrives at all.
//!
//! - Latency: `local` (same node) and `remote` (between nodes) by default,
//!   or a [`LinkModel`] per directed link `(from, to)`.
//! - Random faults per message: loss, duplication and reordering rates
//!   (network defaults for links between different nodes, or per link).
//!   Messages between actors on the same node are not subject to the
//!   default rates (no network is involved), only to a link override set
//!   on `(n, n)`.
//! - Ordered links (TCP-like): arrivals never reorder.
//! - Partitions ([`Network::partition`]): messages that would cross a cut
//!   are lost.
//! - Clogs ([`Network::clog_link`], [`Network::clog_node`]): messages are
//!   held, not lost, and released when the link is unclogged.
//!
//! Randomness comes from the caller's generator (the kernel's `network`
//! stream), drawn in a fixed order per message: loss (only if its rate is
//! non-zero), latency, reorder (only if non-zero and the link is unordered)
//! and its extra delay, duplication (only if non-zero) and the copy's
//! latency. So a network with no faults draws exactly one latency per
//! message (none for a fixed latency), as it always has.
//!
//! System signals (exit news, shutdown, kill) bypass all faults: they take
//! the link's latency but are never lost, duplicated, reordered, cut by a
//! partition or held by a clog. A real cluster's failure detector would
//! report a partitioned node as down; that is not modelled.

mod faults;
mod link;

use rand_core::Rng;
use rehearsal_runtime::{Nanos, NodeId};

use crate::dist::{Dist, unit_f64};

pub use faults::NetworkState;
use faults::{Link, Partition};
pub use link::{LinkModel, LossReason, PartitionId, Transit};

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

/// The network: latencies, fault rates, per-link overrides, partitions and
/// clogs. Build it with a struct literal and `..Network::default()`, then
/// configure links with the methods.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// Between two actors on the same node.
    pub local: Latency,
    /// Between two different nodes (one way).
    pub remote: Latency,
    /// How long until other nodes learn that a node died (a failure
    /// detector's timeout): watchers, links and parents elsewhere get the
    /// news this long after the crash, and until then actors elsewhere see
    /// the node as up and the names its actors held as still held by them
    /// (`Ctx::node_is_up`, `Ctx::whereis`).
    pub failure_detection: Nanos,
    /// Default probability that a message between two different nodes is lost.
    pub loss: f64,
    /// Default probability that a message between two different nodes is
    /// delivered twice.
    pub duplicate: f64,
    /// Default probability that a message between two different nodes is
    /// reordered: delayed by an extra [`Network::reorder_delay`].
    pub reorder: f64,
    /// The extra delay of a reordered message (on any link).
    pub reorder_delay: Latency,
    /// Link overrides, partitions and clogs: change with the methods.
    pub state: NetworkState,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            local: Latency::Fixed(0),
            remote: Latency::Fixed(1_000_000),
            failure_detection: 5_000_000_000,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Latency::Fixed(1_000_000),
            state: NetworkState::default(),
        }
    }
}

impl Network {
    /// One latency for every pair of actors, local or not.
    pub fn uniform(latency: Latency) -> Network {
        Network { local: latency.clone(), remote: latency, ..Network::default() }
    }

    /// Mark the network as possibly faulty, so that the next message takes
    /// the slow path (which re-checks). Called by every change through a
    /// method; the kernel calls it when it hands out `&mut Network`.
    #[inline]
    pub fn touch(&mut self) {
        self.state.maybe_faulty = true;
    }

    /// Is anything set that can change a message's fate or latency beyond
    /// `local`/`remote`?
    pub fn has_faults(&self) -> bool {
        self.loss != 0.0 || self.duplicate != 0.0 || self.reorder != 0.0 || self.state.any()
    }

    /// Override the link `from -> to` (directed).
    pub fn set_link(&mut self, from: NodeId, to: NodeId, model: LinkModel) {
        self.touch();
        self.state.links.insert((from, to), Link { model, last_arrival: 0 });
    }

    /// The override of `from -> to`, if any.
    pub fn link(&self, from: NodeId, to: NodeId) -> Option<&LinkModel> {
        self.state.links.get(&(from, to)).map(|l| &l.model)
    }

    /// Remove the override of `from -> to` (back to the defaults).
    pub fn clear_link(&mut self, from: NodeId, to: NodeId) -> Option<LinkModel> {
        self.touch();
        self.state.links.remove(&(from, to)).map(|l| l.model)
    }

    /// Cut the links between the listed groups, under a fresh id.
    ///
    /// Only the listed groups are cut from each other: a node listed in no
    /// group is not affected and still reaches (and is reached by) everyone;
    /// to isolate node 3 from nodes 0..3, list `[[3], [0, 1, 2]]`. Nodes in
    /// the same group still reach each other, and a node always reaches
    /// itself. With `one_way`, only links from an earlier group to a later
    /// one are cut (group 0 cannot reach group 1, but 1 reaches 0). A node
    /// listed in several groups belongs to the first. Partitions overlap:
    /// a link is cut while any partition cuts it.
    pub fn partition(&mut self, groups: Vec<Vec<NodeId>>, one_way: bool) -> PartitionId {
        let mut id = self.state.next_partition;
        while self.state.partitions.iter().any(|p| p.id.0 == id) {
            id = id.wrapping_add(1);
        }
        self.partition_as(PartitionId(id), groups, one_way);
        PartitionId(id)
    }

    /// [`Network::partition`] under a given id (replacing a partition with
    /// that id, if one is active).
    pub fn partition_as(&mut self, id: PartitionId, groups: Vec<Vec<NodeId>>, one_way: bool) {
        self.touch();
        let partition = Partition::new(id, &groups, one_way);
        let parts = &mut self.state.partitions;
        match parts.binary_search_by_key(&id, |p| p.id) {
            Ok(i) => parts[i] = partition,
            Err(i) => parts.insert(i, partition),
        }
        self.state.next_partition = self.state.next_partition.max(id.0.wrapping_add(1));
    }

    /// End a partition; false if it was not active.
    pub fn heal(&mut self, id: PartitionId) -> bool {
        self.touch();
        let parts = &mut self.state.partitions;
        match parts.binary_search_by_key(&id, |p| p.id) {
            Ok(i) => {
                parts.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// The partitions in force, by id.
    pub fn partitions(&self) -> impl Iterator<Item = PartitionId> + '_ {
        self.state.partitions.iter().map(|p| p.id)
    }

    /// The first partition (by id) that cuts `from -> to`, if any.
    pub fn cut_by(&self, from: NodeId, to: NodeId) -> Option<PartitionId> {
        self.state.cut_by(from, to)
    }

    /// Hold every message on `from -> to` until [`Network::unclog_link`].
    ///
    /// Held messages are kept by the kernel: clog and unclog through
    /// [`crate::Fault`]s (or the kernel's methods), which release them; an
    /// unclog made directly here releases nothing until the kernel next
    /// releases (see [`crate::Kernel::release_held`]).
    pub fn clog_link(&mut self, from: NodeId, to: NodeId) {
        self.touch();
        self.state.clogged_links.insert((from, to));
    }

    pub fn unclog_link(&mut self, from: NodeId, to: NodeId) {
        self.touch();
        self.state.clogged_links.remove(&(from, to));
    }

    /// Clog every link into and out of `node` (to and from other nodes;
    /// messages between actors on the node itself are not held).
    pub fn clog_node(&mut self, node: NodeId) {
        self.touch();
        self.state.clogged_nodes.insert(node);
    }

    pub fn unclog_node(&mut self, node: NodeId) {
        self.touch();
        self.state.clogged_nodes.remove(&node);
    }

    /// Is `from -> to` clogged (by a link clog or a node clog at either end)?
    /// Clogs are sets: clogging twice and unclogging once unclogs.
    pub fn is_clogged(&self, from: NodeId, to: NodeId) -> bool {
        self.state.is_clogged(from, to)
    }

    /// What happens to a message sent at `now` from `from` to `to`.
    #[inline(always)]
    pub fn transit<R: Rng + ?Sized>(&mut self, now: Nanos, from: NodeId, to: NodeId, rng: &mut R) -> Transit {
        if !self.state.maybe_faulty {
            let latency = if from == to { &self.local } else { &self.remote };
            return Transit::Deliver { at: now.saturating_add(latency.sample(rng)), duplicate_at: None };
        }
        self.transit_slow(now, from, to, rng)
    }

    #[inline(never)]
    fn transit_slow<R: Rng + ?Sized>(&mut self, now: Nanos, from: NodeId, to: NodeId, rng: &mut R) -> Transit {
        if !self.has_faults() {
            self.state.maybe_faulty = false;
            let latency = if from == to { &self.local } else { &self.remote };
            return Transit::Deliver { at: now.saturating_add(latency.sample(rng)), duplicate_at: None };
        }
        if let Some(id) = self.state.cut_by(from, to) {
            return Transit::Lost(LossReason::Partition(id));
        }
        if self.state.is_clogged(from, to) {
            return Transit::Held;
        }
        let link = self.state.links.get_mut(&(from, to));
        let (latency, loss, duplicate, reorder, ordered) = match &link {
            Some(l) => (&l.model.latency, l.model.loss, l.model.duplicate, l.model.reorder, l.model.ordered),
            None if from == to => (&self.local, 0.0, 0.0, 0.0, false),
            None => (&self.remote, self.loss, self.duplicate, self.reorder, false),
        };
        if loss > 0.0 && unit_f64(rng) < loss {
            return Transit::Lost(LossReason::Random);
        }
        let mut at = now.saturating_add(latency.sample(rng));
        if !ordered && reorder > 0.0 && unit_f64(rng) < reorder {
            at = at.saturating_add(self.reorder_delay.sample(rng));
        }
        let mut duplicate_at = None;
        if duplicate > 0.0 && unit_f64(rng) < duplicate {
            duplicate_at = Some(now.saturating_add(latency.sample(rng)));
        }
        if let Some(l) = link.filter(|_| ordered) {
            at = at.max(l.last_arrival);
            duplicate_at = duplicate_at.map(|d| d.max(at));
            l.last_arrival = duplicate_at.unwrap_or(at);
        }
        Transit::Deliver { at, duplicate_at }
    }

    /// How long a system signal from `from` to `to` takes: the link's
    /// latency, with no fault applied (signals bypass loss, duplication,
    /// reordering, partitions and clogs).
    #[inline(always)]
    pub fn signal_latency<R: Rng + ?Sized>(&self, from: NodeId, to: NodeId, rng: &mut R) -> Nanos {
        let link = if self.state.maybe_faulty { self.state.links.get(&(from, to)) } else { None };
        match link {
            Some(link) => link.model.latency.sample(rng),
            None if from == to => self.local.sample(rng),
            None => self.remote.sample(rng),
        }
    }
}

#[cfg(test)]
mod tests;
