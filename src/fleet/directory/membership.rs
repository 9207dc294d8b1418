//! A distributed directory's view of its members: which partitions are
//! alive, as heartbeats say. A partition is believed up while its node is
//! (as the failure detector reports a crash) and it was heard from within
//! the failure-detection time. So a network partition, which drops the
//! heartbeats across the cut, makes each side suspect the other, as a
//! real heartbeat-based membership does; the runtime's own failure
//! detector only reports crashes.

use std::cell::OnceCell;
use std::rc::Rc;

use rehearsal_runtime::{ActorId, Ctx, Nanos, NodeId};

use super::ring::ring_owner;
use crate::fleet::FleetActor;

/// Heartbeat period of a distributed directory's partitions.
pub(crate) const HEARTBEAT_NS: Nanos = 1_000_000_000;
/// Virtual nodes per partition on the directory's ownership ring.
const DIRECTORY_VNODES: u32 = 30;

/// The actors of a distributed directory, known once all are spawned.
#[derive(Debug)]
pub struct Cluster {
    /// Each partition, by node, sorted by node.
    pub partitions: Vec<(u16, ActorId)>,
    /// The front that routes requests to the owning partition.
    pub front: ActorId,
}

/// What one member (a partition or the front) believes of the others.
#[derive(Clone, Debug)]
pub struct Membership {
    pub(super) cluster: Rc<OnceCell<Cluster>>,
    /// The member's own partition node (`None`: the front, which owns no keys).
    pub(super) me: Option<u16>,
    /// When each partition (same order as the cluster's) was last heard,
    /// and its address as last heard (a restarted partition is a new actor).
    last_heard: Vec<Nanos>,
    addr: Vec<Option<ActorId>>,
    suspect_after_ns: Nanos,
    /// The partitions believed up at the last [`Membership::refresh`].
    pub(super) view: Vec<u16>,
    /// Reused for the next view.
    scratch: Vec<u16>,
    /// The view its partition last acted on (handoffs, suspicions): a
    /// refresh for routing must not hide a change from the heartbeat.
    acted: Vec<u16>,
}

impl Membership {
    /// A member that suspects a partition silent for `suspect_after_ns`.
    /// Every partition counts as heard at time 0.
    pub fn new(cluster: Rc<OnceCell<Cluster>>, me: Option<u16>, partitions: usize, suspect_after_ns: Nanos) -> Self {
        Membership {
            cluster,
            me,
            last_heard: vec![0; partitions],
            addr: vec![None; partitions],
            suspect_after_ns,
            view: Vec::new(),
            scratch: Vec::new(),
            acted: Vec::new(),
        }
    }

    pub(super) fn cluster(&self) -> &Cluster {
        self.cluster.get().expect("the cluster is set before the run starts")
    }

    /// Partition `node`, actor `from`, was heard from at `now`.
    pub(super) fn heard(&mut self, node: u16, from: ActorId, now: Nanos) {
        if let Ok(i) = self.cluster().partitions.binary_search_by_key(&node, |p| p.0) {
            self.last_heard[i] = now;
            self.addr[i] = Some(from);
        }
    }

    /// Partition `i`'s address: as last heard, else as built.
    fn address(&self, i: usize) -> ActorId {
        self.addr[i].unwrap_or(self.cluster().partitions[i].1)
    }

    /// Whether partition `node` is believed up now.
    pub(super) fn believes_up(&self, node: u16, ctx: &Ctx<'_, FleetActor>) -> bool {
        if self.me == Some(node) {
            return true;
        }
        let Ok(i) = self.cluster().partitions.binary_search_by_key(&node, |p| p.0) else { return false };
        ctx.node_is_up(NodeId(node)) && ctx.now() < self.last_heard[i].saturating_add(self.suspect_after_ns)
    }

    /// Recompute the view (a partition acts on a change at its heartbeat:
    /// [`Membership::take_change`]).
    pub(super) fn refresh(&mut self, ctx: &Ctx<'_, FleetActor>) {
        let mut view = std::mem::take(&mut self.scratch);
        view.clear();
        view.extend(self.cluster().partitions.iter().map(|p| p.0).filter(|&n| self.believes_up(n, ctx)));
        self.scratch = std::mem::replace(&mut self.view, view);
    }

    /// Whether the view changed since the partition last acted on it (and
    /// now it has).
    pub(super) fn take_change(&mut self) -> bool {
        if self.view == self.acted {
            return false;
        }
        self.acted.clone_from(&self.view);
        true
    }

    /// The partition owning `key` in the current view, if any is up.
    pub(super) fn owner(&self, key: u32) -> Option<(u16, ActorId)> {
        if self.view.is_empty() {
            return None;
        }
        let node = ring_owner(&self.view, DIRECTORY_VNODES, key);
        let parts = &self.cluster().partitions;
        parts.binary_search_by_key(&node, |p| p.0).ok().map(|i| (node, self.address(i)))
    }

    /// Tell every other partition and the front that this one is alive.
    pub(super) fn beat(&self, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(me) = self.me else { return };
        let from = ctx.me();
        let cluster = self.cluster();
        for (i, &(node, _)) in cluster.partitions.iter().enumerate() {
            if node != me {
                ctx.tell(self.address(i), crate::fleet::Msg::Heartbeat { node: me, from });
            }
        }
        ctx.tell(cluster.front, crate::fleet::Msg::Heartbeat { node: me, from });
    }

    /// Partition `node` was started again as `actor` (by the front).
    pub(super) fn restarted(&mut self, node: u16, actor: ActorId) {
        if let Ok(i) = self.cluster().partitions.binary_search_by_key(&node, |p| p.0) {
            self.addr[i] = Some(actor);
        }
    }
}
