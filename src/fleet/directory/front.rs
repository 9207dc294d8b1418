//! The front of a distributed directory: it lives on the router node
//! (node 0), hears the partitions' heartbeats, and hands each request to
//! the partition that owns its key in its own view of the ring, as an
//! Orleans gateway silo looks a grain up in the directory partition the
//! ring gives it.

use std::collections::BTreeMap;

use rehearsal_runtime::{Ctx, Nanos, ReplyTo, RequestId, Response};

use super::membership::Membership;
use crate::fleet::{FleetActor, Msg};
use crate::ledger::{Cause, Outcome};

/// A distributed directory's front.
#[derive(Debug)]
pub struct Front {
    membership: Membership,
    /// How long to wait for a partition's answer.
    timeout_ns: Nanos,
    asks: BTreeMap<RequestId, (ReplyTo, u64)>,
}

impl Front {
    pub fn new(membership: Membership, timeout_ns: Nanos) -> Self {
        Front { membership, timeout_ns, asks: BTreeMap::new() }
    }

    pub(crate) fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, FleetActor>) {
        match msg {
            Msg::Heartbeat { node } => self.membership.heard(node, ctx.now()),
            Msg::Request { id, work } => {
                let Some(reply) = ctx.reply_to() else { return };
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
