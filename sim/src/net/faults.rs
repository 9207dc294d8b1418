//! The network's changing state: per-link overrides with their ordering
//! bookkeeping, partitions and clogs.

use std::collections::{BTreeMap, BTreeSet};

use rehearsal_runtime::{Nanos, NodeId};

use super::link::{LinkModel, PartitionId};

/// Per-link overrides, partitions and clogs of a [`super::Network`].
/// Opaque: change it through the network's methods (`..Network::default()`
/// fills it in a struct literal).
#[derive(Clone, Debug)]
pub struct NetworkState {
    /// False only when it was checked, since the last change through `&mut`,
    /// that nothing (override, rate, partition, clog) is set: then
    /// [`super::Network::transit`] takes its fast path.
    pub(super) maybe_faulty: bool,
    pub(super) links: BTreeMap<(NodeId, NodeId), Link>,
    /// Active partitions, by id.
    pub(super) partitions: Vec<Partition>,
    pub(super) next_partition: u32,
    pub(super) clogged_links: BTreeSet<(NodeId, NodeId)>,
    pub(super) clogged_nodes: BTreeSet<NodeId>,
}

/// Equal if the same links, partitions and clogs are set (the fast-path
/// cache is not compared).
impl PartialEq for NetworkState {
    fn eq(&self, other: &Self) -> bool {
        self.links == other.links
            && self.partitions == other.partitions
            && self.next_partition == other.next_partition
            && self.clogged_links == other.clogged_links
            && self.clogged_nodes == other.clogged_nodes
    }
}

impl Default for NetworkState {
    fn default() -> Self {
        NetworkState {
            maybe_faulty: true,
            links: BTreeMap::new(),
            partitions: Vec::new(),
            next_partition: 0,
            clogged_links: BTreeSet::new(),
            clogged_nodes: BTreeSet::new(),
        }
    }
}

/// An overridden link and the last arrival time on it (for ordered links).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Link {
    pub(super) model: LinkModel,
    pub(super) last_arrival: Nanos,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct Partition {
    pub(super) id: PartitionId,
    pub(super) one_way: bool,
    /// (node, group index), sorted by node; a node listed twice keeps its
    /// first group.
    pub(super) members: Vec<(NodeId, u32)>,
}

impl Partition {
    pub(super) fn new(id: PartitionId, groups: &[Vec<NodeId>], one_way: bool) -> Partition {
        let mut members: Vec<(NodeId, u32)> = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            for &node in group {
                if let Err(i) = members.binary_search_by_key(&node, |m| m.0) {
                    members.insert(i, (node, g as u32));
                }
            }
        }
        Partition { id, one_way, members }
    }

    fn group(&self, node: NodeId) -> Option<u32> {
        self.members.binary_search_by_key(&node, |m| m.0).ok().map(|i| self.members[i].1)
    }

    /// Does this partition cut the link `from -> to`?
    pub(super) fn cuts(&self, from: NodeId, to: NodeId) -> bool {
        match (self.group(from), self.group(to)) {
            (Some(a), Some(b)) => a != b && (!self.one_way || a < b),
            _ => false,
        }
    }
}

impl NetworkState {
    /// Is anything set that the slow path must look at? (Rates are checked
    /// by the caller.)
    pub(super) fn any(&self) -> bool {
        !self.links.is_empty()
            || !self.partitions.is_empty()
            || !self.clogged_links.is_empty()
            || !self.clogged_nodes.is_empty()
    }

    pub(super) fn cut_by(&self, from: NodeId, to: NodeId) -> Option<PartitionId> {
        self.partitions.iter().find(|p| p.cuts(from, to)).map(|p| p.id)
    }

    pub(super) fn is_clogged(&self, from: NodeId, to: NodeId) -> bool {
        self.clogged_links.contains(&(from, to))
            || (from != to && (self.clogged_nodes.contains(&from) || self.clogged_nodes.contains(&to)))
    }
}
