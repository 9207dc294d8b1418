//! What an actor can know about registered names and about nodes, and
//! when it knows it.
//!
//! The runtime holds the true state (who holds each name, which nodes are
//! down); an actor sees it through the failure detector:
//!
//! - A name's new holder is seen at once, everywhere.
//! - A holder's death is seen at once on its own node. On another node, a
//!   death because its node went down ([`crate::ExitReason::NodeDown`]) is
//!   seen only after the driver's failure-detection delay
//!   ([`crate::Env::failure_detection_delay`]): until then the name still
//!   resolves to the dead holder there (a tell to it is dropped as sent to a
//!   dead receiver, an ask to it times out). Any other death (a crash of one
//!   actor on a live node, a stop) is seen at once everywhere: the node's
//!   runtime, which is alive, reports it promptly.
//! - A node's crash is seen at once on that node and after the delay
//!   elsewhere; its restart is seen at once (the restarted node makes
//!   itself known as it reconnects), and so are the deaths of its crash.

use rustc_hash::FxHashMap;

use crate::env::Env;
use crate::id::{ActorId, Nanos, NodeId};

/// A registered name that nobody holds now, and its last holder.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Vacancy {
    /// The last holder (dead).
    pub(crate) holder: ActorId,
    /// The node it ran on.
    pub(crate) node: NodeId,
    /// When it died: since then the name is unheld.
    pub(crate) since: Nanos,
    /// It died because its node went down (news of it crosses nodes only
    /// after the failure-detection delay).
    pub(crate) node_down: bool,
}

/// Names and node states, as the runtime knows them, with what it takes
/// to answer an actor's question as that actor would know it.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// Live holders, by name. Looked up, never iterated in an
    /// order-dependent way (fixed Fx hasher).
    pub(crate) names: FxHashMap<u64, ActorId>,
    /// Names whose holder ended and that nobody registered since, with the
    /// last holder: a name's unavailability starts at `since`, and a remote
    /// observer may still see the dead holder. An entry is made only when a
    /// holder dies, and removed when the name is registered again.
    pub(crate) vacant: FxHashMap<u64, Vacancy>,
    /// By node index: `Some(t)` while the node is down, since `t`.
    pub(crate) down_since: Vec<Option<Nanos>>,
    /// By node index: the node is down because it left the cluster (or has
    /// not joined yet), which every node knows at once.
    pub(crate) left: Vec<bool>,
}

impl Registry {
    /// Whether `node` is down because it left (known everywhere at once).
    #[inline]
    fn has_left(&self, node: NodeId) -> bool {
        self.left.get(node.0 as usize).copied().unwrap_or(false)
    }

    /// Since when `node` has been down, if it is (the true state).
    #[inline]
    pub(crate) fn down_since(&self, node: NodeId) -> Option<Nanos> {
        self.down_since.get(node.0 as usize).copied().flatten()
    }

    /// Who holds `name` as an actor on `observer` knows it at `now`: the
    /// live holder; or, if the last holder died with its node and the
    /// failure detector on `observer` has not noticed yet, that dead holder.
    #[inline]
    pub(crate) fn whereis<M, E: Env<M> + ?Sized>(
        &self,
        env: &E,
        observer: NodeId,
        now: Nanos,
        name: u64,
    ) -> Option<ActorId> {
        match self.names.get(&name) {
            Some(&holder) => Some(holder),
            None => self.undetected_holder(env, observer, now, name),
        }
    }

    /// The dead last holder of `name`, while its death is not yet known on
    /// `observer`.
    #[cold]
    fn undetected_holder<M, E: Env<M> + ?Sized>(
        &self,
        env: &E,
        observer: NodeId,
        now: Nanos,
        name: u64,
    ) -> Option<ActorId> {
        let v = self.vacant.get(&name)?;
        if !v.node_down || v.node == observer {
            return None;
        }
        // Only while the node is still down from the crash that killed the
        // holder: a restart makes the crash's deaths known at once.
        let same_crash = self.down_since(v.node).is_some_and(|since| since <= v.since);
        let undetected = same_crash
            && !self.has_left(v.node)
            && now < v.since.saturating_add(env.failure_detection_delay(observer, v.node));
        undetected.then_some(v.holder)
    }

    /// Whether `node` is up as an actor on `observer` knows it at `now`: a
    /// crash is known on the node itself at once, elsewhere after the
    /// failure-detection delay; a restart is known at once.
    #[inline]
    pub(crate) fn node_is_up<M, E: Env<M> + ?Sized>(
        &self,
        env: &E,
        observer: NodeId,
        now: Nanos,
        node: NodeId,
    ) -> bool {
        match self.down_since(node) {
            None => true,
            Some(since) => {
                node != observer
                    && !self.has_left(node)
                    && now < since.saturating_add(env.failure_detection_delay(observer, node))
            }
        }
    }
}
