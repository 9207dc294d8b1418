//! Rebalancing a virtual role (`rebalance = { every, threshold, max_moves }`),
//! as Akka's shard coordinator does: every period, stop activations so
//! that their next message activates them where the placement now says.
//! A move is a handoff: the activation finishes its work, writes its
//! state, passivates, and only then does the directory forget it, so a key
//! never has two activations because of a move. Messages that reach it
//! meanwhile are resent once to the new activation.

use rehearsal_runtime::{ActorId, Ctx};

use super::Directory;
use crate::fleet::{FleetActor, Msg};

impl Directory {
    /// The rebalance timer fired.
    pub(super) fn rebalance_tick(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        let Some(r) = self.rebalance else { return };
        ctx.set_timer(r.period_ns, super::REBALANCE_TAG);
        let mut budget = (r.max_moves as usize).saturating_sub(self.moving.len());
        if budget == 0 {
            return;
        }
        // The nodes believed up, as placement sees them.
        self.refresh_up(ctx);
        if self.placer.is_by_key() {
            // Every activation whose key now belongs to another node.
            let entries: Vec<(u32, ActorId, u16)> = self
                .table
                .iter()
                .filter(|(_, e)| !self.moving.contains_key(&e.actor))
                .map(|(&k, e)| (k, e.actor, e.node))
                .collect();
            let (now, here) = (ctx.now(), ctx.node().0);
            for (key, actor, node) in entries {
                if budget == 0 {
                    break;
                }
                // Where it would go now, its own place counted free (a full
                // node still holds it).
                let counts = &self.active_per_node;
                let live = |n: u16| counts.get(&n).copied().unwrap_or(0).saturating_sub(u64::from(n == node));
                let target = self.placer.place(key, now, here, live, &self.up, || 0);
                if target.is_ok_and(|t| t != node) {
                    self.start_move(actor, node, ctx);
                    budget -= 1;
                }
            }
            return;
        }
        // Load placements: from the busiest node while it holds more than
        // `threshold` above the least busy, each move counted as gone from
        // the one and (once its next message comes) on the other.
        let mut load: Vec<(u16, u64)> = self
            .placer
            .nodes
            .iter()
            .zip(&self.up)
            .filter(|(_, up)| **up)
            .map(|(&n, _)| {
                let moving = self.moving.values().filter(|&&m| m == n).count() as u64;
                (n, self.active_per_node.get(&n).copied().unwrap_or(0).saturating_sub(moving))
            })
            .collect();
        while budget > 0 {
            let (Some(b), Some(i)) = (
                (0..load.len()).max_by_key(|&k| (load[k].1, std::cmp::Reverse(k))),
                (0..load.len()).min_by_key(|&k| (load[k].1, k)),
            ) else {
                return;
            };
            if load[b].1 <= load[i].1 + r.threshold {
                return;
            }
            let busiest = load[b].0;
            let Some(actor) =
                self.table.values().find(|e| e.node == busiest && !self.moving.contains_key(&e.actor)).map(|e| e.actor)
            else {
                return;
            };
            self.start_move(actor, busiest, ctx);
            load[b].1 -= 1;
            load[i].1 += 1;
            budget -= 1;
        }
    }

    fn start_move(&mut self, actor: ActorId, node: u16, ctx: &mut Ctx<'_, FleetActor>) {
        self.moving.insert(actor, node);
        self.plan().telemetry.borrow_mut().moves_started += 1;
        ctx.tell(actor, Msg::Deactivate);
    }

    /// A move ended: `done` if the activation passivated (not if it died).
    pub(super) fn move_ended(&mut self, actor: ActorId, done: bool) {
        if self.moving.remove(&actor).is_some() && done {
            self.plan().telemetry.borrow_mut().moves_done += 1;
        }
    }
}
