//! The front of a distributed directory: it lives on the router node
//! (node 0), hears the partitions' heartbeats, and hands each request to
//! the partition that owns its key in its own view of the ring, as an
//! Orleans gateway silo looks a grain up in the directory partition the
//! ring gives it. It also watches the partitions and starts one again on a
//! node that comes back (restarted, or joining), with an empty table, as a
//! silo that rejoins brings up its directory partition.

use std::collections::BTreeMap;
use std::rc::Rc;

use rehearsal_runtime::{ActorId, Ctx, Nanos, NodeId, ReplyTo, RequestId, Response, Signal};

use super::membership::Membership;
use crate::fleet::{FleetActor, Msg};
use crate::ledger::{Cause, Outcome};

/// Makes a fresh partition for a node.
pub type PartitionFactory = Rc<dyn Fn(u16) -> super::Directory>;

/// A distributed directory's front.
pub struct Front {
    membership: Membership,
    /// How long to wait for a partition's answer.
    timeout_ns: Nanos,
    asks: BTreeMap<RequestId, (ReplyTo, u64)>,
    /// Each node's partition as the front started or watches it; `None`
    /// once it died, until its node is up again.
    partitions: BTreeMap<u16, Option<ActorId>>,
    factory: PartitionFactory,
    /// Durable reminders (the front, on node 0, outlives every partition):
    /// their period, and the keys that have one.
    reminders: super::reminders::Reminders,
}

/// The partition check's timer tag (reminder tags are keys, below 2^32).
const CHECK_TAG: u64 = u64::MAX;

impl std::fmt::Debug for Front {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Front").field("partitions", &self.partitions).field("asks", &self.asks.len()).finish()
    }
}

impl Front {
    pub fn new(membership: Membership, timeout_ns: Nanos, factory: PartitionFactory) -> Self {
        Front {
            membership,
            timeout_ns,
            asks: BTreeMap::new(),
            partitions: BTreeMap::new(),
            factory,
            reminders: Default::default(),
        }
    }

    /// The same front, keeping a durable reminder per key from its first
    /// request on.
    pub fn with_reminders(mut self, period: Option<Nanos>) -> Self {
        self.reminders = super::reminders::Reminders::new(period);
        self
    }

    /// Look for dead partitions each heartbeat period, from the start (the
    /// cluster's addresses are known once every actor is spawned).
    pub(crate) fn on_start(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        ctx.set_timer(0, CHECK_TAG);
    }

    /// Watch the partitions (first time), and start one again on each node
    /// that is up and has none.
    pub(crate) fn on_timer(&mut self, tag: u64, ctx: &mut Ctx<'_, FleetActor>) {
        if tag != CHECK_TAG {
            return self.remind(tag, ctx);
        }
        ctx.set_timer(super::membership::HEARTBEAT_NS, CHECK_TAG);
        if self.partitions.is_empty() {
            let parts: Vec<(u16, ActorId)> = self.membership.cluster().partitions.clone();
            for (node, actor) in parts {
                ctx.watch(actor);
                self.partitions.insert(node, Some(actor));
            }
        }
        let dead: Vec<u16> = self.partitions.iter().filter(|(_, a)| a.is_none()).map(|(&n, _)| n).collect();
        for node in dead {
            if ctx.node_is_up(NodeId(node)) {
                let actor = ctx.spawn_on(NodeId(node), FleetActor::Directory(Box::new((self.factory)(node))));
                ctx.watch(actor);
                self.partitions.insert(node, Some(actor));
                self.membership.restarted(node, actor);
            }
        }
    }

    /// Key `key`'s reminder fired: send it to the owning partition.
    fn remind(&mut self, tag: u64, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(key) = self.reminders.due(tag) else { return };
        self.membership.refresh(ctx);
        if let Some((_, partition)) = self.membership.owner(key) {
            ctx.tell(partition, Msg::Remind { key });
        }
        self.reminders.rearm(key, ctx);
    }

    /// A partition died (with its node): start it again once the node is up.
    pub(crate) fn on_signal(&mut self, signal: Signal) {
        let Signal::Down { actor, .. } = signal else { return };
        for a in self.partitions.values_mut() {
            if *a == Some(actor) {
                *a = None;
            }
        }
    }

    pub(crate) fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, FleetActor>) {
        match msg {
            Msg::Heartbeat { node, from } => self.membership.heard(node, from, ctx.now()),
            Msg::Request { id, work } => {
                let Some(reply) = ctx.reply_to() else { return };
                self.reminders.register(work.key, ctx);
                self.membership.refresh(ctx);
                match self.membership.owner(work.key) {
                    Some((_, partition)) => {
                        let ask = ctx.ask(partition, Msg::Request { id, work }, self.timeout_ns);
                        self.asks.insert(ask, (reply, id));
                    }
                    None => {
                        let outcome = Outcome::Failed(Cause::NoAgentAvailable);
                        ctx.reply(reply, Msg::Outcome { id, outcome, produced: 0 });
                    }
                }
            }
            _ => {}
        }
    }

    pub(crate) fn on_response(&mut self, request: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, FleetActor>) {
        let Some((reply, id)) = self.asks.remove(&request) else { return };
        let msg = match response {
            Response::Reply(Msg::Outcome { outcome, produced, .. }) => Msg::Outcome { id, outcome, produced },
            _ => Msg::Outcome { id, outcome: Outcome::Failed(Cause::AgentTimeout), produced: 0 },
        };
        ctx.reply(reply, msg);
    }
}
