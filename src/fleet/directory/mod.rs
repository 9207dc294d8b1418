//! The directory of a virtual role (`virtual = true`): virtual agents
//! (Orleans grains, Akka sharded entities, Dapr actors) identified by the
//! request's key, activated on their first message on the node the
//! `placement` strategy picks, found again through this table, passivated
//! when idle (the activation says so), and activated again elsewhere after
//! their node is lost, once the failure detector reports it.
//!
//! The directory knows what a real one would: its own table, the nodes it
//! believes up (`Ctx::node_is_up`, through the failure detector), and its
//! own count of activations per node. It lives on the role's router node
//! (node 0) and never reads an activation's state.
//!
//! A distributed directory (`directory = "distributed"`) is one such
//! table per node of the role, each owning the keys a ring of the
//! partitions it believes up gives it ([`membership`]), behind a [`front`]
//! on node 0. Partitions learn of each other by heartbeats; when a
//! partition's view changes it drops the entries of activations on nodes
//! it suspects and hands every entry it no longer owns to the new owner.
//! A handoff that meets another activation of the same key is a duplicate
//! found: the owner keeps its own and deactivates the other.

pub mod front;
pub mod membership;
mod place;
mod rebalance;
mod reminders;
pub mod ring;

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use self::membership::{HEARTBEAT_NS, Membership};
use self::place::{NoPlace, Placer};
use self::reminders::Reminders;
use super::role::{RoleAgent, RolePlan};
use super::{FleetActor, Msg, WorkRef};
use crate::ledger::{Cause, Outcome};
use crate::scenario::workflow::RoleIndex;
use crate::strategy::placement::Placement;
use rehearsal_runtime::{ActorId, Ctx, Nanos, NodeId, ReplyTo, RequestId, Response, Signal};

/// One key's activation.
#[derive(Copy, Clone, Debug)]
struct Entry {
    actor: ActorId,
    node: u16,
}

/// A request forwarded to an activation.
#[derive(Copy, Clone, Debug)]
struct Forwarded {
    reply: ReplyTo,
    id: u64,
    work: WorkRef,
    /// The activation it was sent to.
    to: ActorId,
    /// Sent again once, to a new activation, when the first passivated
    /// before taking it.
    resent: bool,
}

/// A virtual role's directory and placement.
#[derive(Clone, Debug)]
pub struct Directory {
    role: RoleIndex,
    /// Set once the plan exists (it lists this directory as the role's
    /// router, so it is made after the directory is spawned).
    plan: Rc<std::cell::OnceCell<Rc<RolePlan>>>,
    /// Where activations go.
    placer: Placer,
    idle_ns: Option<Nanos>,
    work_timeout: Nanos,
    table: BTreeMap<u32, Entry>,
    by_actor: BTreeMap<ActorId, u32>,
    /// Activations per node, by the directory's own count.
    active_per_node: BTreeMap<u16, u64>,
    /// Keys whose activation died with its node.
    lost: BTreeSet<u32>,
    asks: BTreeMap<RequestId, Forwarded>,
    /// Reused: whether each of the placer's nodes is believed up.
    up: Vec<bool>,
    /// Durable reminders (the central directory keeps them).
    reminders: Reminders,
    /// A distributed directory's partition: its view of the others.
    membership: Option<Membership>,
    /// Rebalancing, and the activations it is moving (stopped, not yet
    /// passivated), by actor, with their node.
    rebalance: Option<crate::scenario::workflow::Rebalance>,
    moving: BTreeMap<ActorId, u16>,
    /// Activations whose normal end it learned (a `Down`) before their
    /// `Passivated` note.
    ended: BTreeSet<ActorId>,
    /// Partitions: activations forgotten because their node was suspected,
    /// by actor, with their key (their `Down` may still come).
    suspected: BTreeMap<ActorId, u32>,
    /// Partitions: requests passed to the owning partition, by ask.
    relays: BTreeMap<RequestId, (ReplyTo, u64)>,
}

/// The heartbeat and rebalance timers' tags (reminder tags are keys,
/// below 2^32).
const HEARTBEAT_TAG: u64 = u64::MAX;
const REBALANCE_TAG: u64 = u64::MAX - 1;

impl Directory {
    pub fn new(
        role: RoleIndex,
        plan: Rc<std::cell::OnceCell<Rc<RolePlan>>>,
        placement: Placement,
        nodes: Vec<u16>,
        capacity: Vec<(Option<u32>, Option<u64>)>,
        idle_ns: Option<Nanos>,
        work_timeout: Nanos,
    ) -> Self {
        Directory {
            role,
            plan,
            placer: Placer::new(placement, nodes, capacity),
            idle_ns,
            work_timeout,
            table: BTreeMap::new(),
            by_actor: BTreeMap::new(),
            active_per_node: BTreeMap::new(),
            lost: BTreeSet::new(),
            asks: BTreeMap::new(),
            up: Vec::new(),
            reminders: Reminders::default(),
            membership: None,
            rebalance: None,
            moving: BTreeMap::new(),
            ended: BTreeSet::new(),
            suspected: BTreeMap::new(),
            relays: BTreeMap::new(),
        }
    }

    /// The same directory, rebalancing by `rebalance`.
    pub fn with_rebalance(mut self, rebalance: Option<crate::scenario::workflow::Rebalance>) -> Self {
        self.rebalance = rebalance;
        self
    }

    /// The same directory as one partition of a distributed directory.
    pub fn distributed(mut self, membership: Membership) -> Self {
        self.membership = Some(membership);
        self
    }

    pub(super) fn on_start(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        if self.membership.is_some() {
            ctx.set_timer(HEARTBEAT_NS, HEARTBEAT_TAG);
        }
        if let Some(r) = self.rebalance {
            ctx.set_timer(r.period_ns, REBALANCE_TAG);
        }
    }

    /// A partition's heartbeat: tell the others it is alive, and act on a
    /// changed view: drop the entries of activations on nodes it now
    /// suspects, and hand each entry it no longer owns to its new owner.
    fn beat(&mut self, ctx: &mut Ctx<'_, FleetActor>) {
        ctx.set_timer(HEARTBEAT_NS, HEARTBEAT_TAG);
        let Some(m) = self.membership.as_mut() else { return };
        m.beat(ctx);
        m.refresh(ctx);
        if !m.take_change() {
            return;
        }
        let me = m.me;
        let entries: Vec<(u32, Entry)> = self.table.iter().map(|(&k, &e)| (k, e)).collect();
        for (key, e) in entries {
            let m = self.membership.as_ref().expect("a partition");
            if !m.view.contains(&e.node) {
                // Suspected: dead or cut off. The next message activates
                // the key again (a duplicate, if it was only cut off). If
                // it was dead, its Down still comes: count the loss then.
                self.suspected.insert(e.actor, key);
                self.forget(key);
                continue;
            }
            if let Some((owner, partition)) = m.owner(key)
                && Some(owner) != me
            {
                ctx.tell(partition, Msg::Handoff { key, actor: e.actor, node: e.node });
                ctx.unwatch(e.actor);
                self.drop_entry(key);
            }
        }
    }

    /// Another partition hands over `key`'s entry.
    fn adopt(&mut self, key: u32, actor: ActorId, node: u16, ctx: &mut Ctx<'_, FleetActor>) {
        match self.table.get(&key) {
            Some(e) if e.actor == actor => {}
            Some(_) => {
                // Two activations of one key: keep the one this partition
                // registered, deactivate the other.
                let mut t = self.plan().telemetry.borrow_mut();
                t.duplicates_detected += 1;
                // It leaves the count of the living now: the partition that
                // started it handed it over and no longer tracks it.
                t.active = t.active.saturating_sub(1);
                drop(t);
                ctx.tell(actor, Msg::Deactivate);
            }
            None => {
                ctx.watch(actor);
                self.insert_entry(key, Entry { actor, node });
            }
        }
    }

    /// The same directory, keeping a durable reminder per key.
    pub fn with_reminders(mut self, period: Option<Nanos>) -> Self {
        self.reminders = Reminders::new(period);
        self
    }

    /// A reminder fired (the timer's tag is the key): wake the agent,
    /// activating it again if it passivated or was lost, and set the next.
    pub(super) fn on_timer(&mut self, key: u64, ctx: &mut Ctx<'_, FleetActor>) {
        if key == HEARTBEAT_TAG {
            return self.beat(ctx);
        }
        if key == REBALANCE_TAG {
            return self.rebalance_tick(ctx);
        }
        let Some(key) = self.reminders.due(key) else { return };
        self.remind(key, ctx);
        self.reminders.rearm(key, ctx);
    }

    /// A durable reminder of `key` fired: wake its agent, activating it
    /// again if it passivated or was lost.
    fn remind(&mut self, key: u32, ctx: &mut Ctx<'_, FleetActor>) {
        let entry = match self.table.get(&key) {
            Some(e) => Some(*e),
            None => {
                let e = self.activate(key, 0, ctx).ok();
                if e.is_some() {
                    self.plan().telemetry.borrow_mut().activated_by_reminder += 1;
                }
                e
            }
        };
        if let Some(e) = entry {
            ctx.tell(e.actor, Msg::Remind { key });
            self.plan().telemetry.borrow_mut().reminders_fired += 1;
        }
    }

    fn plan(&self) -> &Rc<RolePlan> {
        self.plan.get().expect("the plan is set before the run starts")
    }

    pub(super) fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, FleetActor>) {
        match msg {
            Msg::Passivated { key, actor } => {
                let known_ended = self.ended.remove(&actor);
                match self.table.get(&key) {
                    Some(e) if e.actor == actor => {
                        self.move_ended(actor, true);
                        self.forget(key);
                    }
                    // An activation this directory did not keep was alive
                    // too (not one whose end it already learned).
                    Some(_) if !known_ended => self.plan().telemetry.borrow_mut().duplicates_detected += 1,
                    _ => {}
                }
                self.resend_to_passivated(actor, ctx);
            }
            Msg::Heartbeat { node, from } => {
                if let Some(m) = self.membership.as_mut() {
                    m.heard(node, from, ctx.now());
                }
            }
            // A distributed directory's front keeps the reminders and
            // sends each, when due, to the partition owning its key.
            Msg::Remind { key } => self.remind(key, ctx),
            Msg::Routed { id, work } => {
                let Some(reply) = ctx.reply_to() else { return };
                self.forward(Forwarded { reply, id, work, to: ActorId::EXTERNAL, resent: false }, ctx);
            }
            Msg::Handoff { key, actor, node } => self.adopt(key, actor, node, ctx),
            Msg::Request { id, work } => {
                let Some(reply) = ctx.reply_to() else { return };
                // A partition passes a key it does not own (the front's
                // view lagging its own) to the owner, once.
                if let Some(m) = self.membership.as_mut() {
                    m.refresh(ctx);
                    if let Some((owner, partition)) = m.owner(work.key)
                        && Some(owner) != m.me
                    {
                        let ask = ctx.ask(partition, Msg::Routed { id, work }, self.work_timeout.saturating_mul(2));
                        self.relays.insert(ask, (reply, id));
                        return;
                    }
                }
                self.forward(Forwarded { reply, id, work, to: ActorId::EXTERNAL, resent: false }, ctx);
            }
            _ => {}
        }
    }

    /// Send a request to its key's activation, activating it first if need be.
    fn forward(&mut self, f: Forwarded, ctx: &mut Ctx<'_, FleetActor>) {
        self.plan().telemetry.borrow_mut().lookups += 1;
        let key = f.work.key;
        let entry = match self.table.get(&key) {
            Some(e) => *e,
            None => match self.activate(key, f.id, ctx) {
                Ok(e) => e,
                Err(why) => {
                    let cause = match why {
                        NoPlace::NoneUp => Cause::NoAgentAvailable,
                        NoPlace::Full => Cause::NoCapacity,
                    };
                    let outcome = Outcome::Failed(cause);
                    return ctx.reply(f.reply, Msg::Outcome { id: f.id, outcome, produced: 0 });
                }
            },
        };
        let msg = Msg::Work { id: f.id, part: f.work.lineage, work: f.work };
        let ask = ctx.ask(entry.actor, msg, self.work_timeout);
        self.asks.insert(ask, Forwarded { to: entry.actor, ..f });
    }

    /// Activate `key` where the placement strategy says.
    /// (`request`: the message that needs it, 0 for a reminder.)
    fn activate(&mut self, key: u32, request: u64, ctx: &mut Ctx<'_, FleetActor>) -> Result<Entry, NoPlace> {
        let node = self.place(key, ctx)?;
        let plan = self.plan().clone();
        let me = ctx.me();
        let agent = RoleAgent::activation(key, self.role, plan, me, self.idle_ns, request);
        let actor = ctx.spawn_on(NodeId(node), FleetActor::Role(agent));
        ctx.watch(actor);
        let entry = Entry { actor, node };
        // Registered with the first activation; kept from then on.
        self.reminders.register(key, ctx);
        self.insert_entry(key, entry);
        let reactivated = self.lost.remove(&key);
        let plan = self.plan().clone();
        let mut t = plan.telemetry.borrow_mut();
        t.waited_for_activation += 1;
        if reactivated {
            t.reactivations += 1;
        }
        t.active += 1;
        t.active_max = t.active_max.max(t.active);
        Ok(entry)
    }

    /// The node for `key`'s new activation, among those believed up with
    /// room.
    fn place(&mut self, key: u32, ctx: &mut Ctx<'_, FleetActor>) -> Result<u16, NoPlace> {
        self.refresh_up(ctx);
        let (now, here) = (ctx.now(), ctx.node().0);
        let counts = &self.active_per_node;
        self.placer.place(key, now, here, |n| counts.get(&n).copied().unwrap_or(0), &self.up, || ctx.random_u64())
    }

    /// Which of the placer's nodes it believes up now (`self.up`): by the
    /// failure detector, and for a partition also by heartbeats.
    fn refresh_up(&mut self, ctx: &Ctx<'_, FleetActor>) {
        self.up.clear();
        for &n in &self.placer.nodes {
            self.up.push(match &self.membership {
                Some(m) => m.believes_up(n, ctx),
                None => ctx.node_is_up(NodeId(n)),
            });
        }
    }

    fn insert_entry(&mut self, key: u32, entry: Entry) {
        self.table.insert(key, entry);
        self.by_actor.insert(entry.actor, key);
        *self.active_per_node.entry(entry.node).or_default() += 1;
        self.plan().telemetry.borrow_mut().alive_on(entry.node, true);
    }

    /// Activation `actor` passivated: the requests sent to it and not
    /// answered were still in its mailbox and died with it (its answers
    /// travel the same link as its note, before it). Send each again, once,
    /// to a new activation.
    fn resend_to_passivated(&mut self, actor: ActorId, ctx: &mut Ctx<'_, FleetActor>) {
        let pending: Vec<RequestId> = self.asks.iter().filter(|(_, f)| f.to == actor).map(|(&r, _)| r).collect();
        for request in pending {
            let Some(f) = self.asks.remove(&request) else { continue };
            if f.resent {
                let outcome = Outcome::Failed(Cause::AgentTimeout);
                ctx.reply(f.reply, Msg::Outcome { id: f.id, outcome, produced: 0 });
            } else {
                self.forward(Forwarded { resent: true, ..f }, ctx);
            }
        }
    }

    /// Remove `key`'s entry from the table (it may live on elsewhere).
    fn drop_entry(&mut self, key: u32) -> Option<Entry> {
        let e = self.table.remove(&key)?;
        self.by_actor.remove(&e.actor);
        // A move of it ends here, done or not.
        self.moving.remove(&e.actor);
        if let Some(c) = self.active_per_node.get_mut(&e.node) {
            *c = c.saturating_sub(1);
        }
        self.plan().telemetry.borrow_mut().alive_on(e.node, false);
        Some(e)
    }

    /// `key`'s activation ended (or is given up on).
    fn forget(&mut self, key: u32) {
        if self.drop_entry(key).is_some() {
            let mut t = self.plan().telemetry.borrow_mut();
            t.active = t.active.saturating_sub(1);
        }
    }

    pub(super) fn on_response(&mut self, request: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, FleetActor>) {
        if let Some((reply, id)) = self.relays.remove(&request) {
            let msg = match response {
                Response::Reply(Msg::Outcome { outcome, produced, .. }) => Msg::Outcome { id, outcome, produced },
                _ => Msg::Outcome { id, outcome: Outcome::Failed(Cause::AgentTimeout), produced: 0 },
            };
            return ctx.reply(reply, msg);
        }
        let Some(f) = self.asks.remove(&request) else { return };
        let outcome = match response {
            Response::Reply(Msg::Outcome { outcome, produced, .. }) => {
                return ctx.reply(f.reply, Msg::Outcome { id: f.id, outcome, produced });
            }
            // Its mailbox was full: it is alive and busy.
            Response::Undeliverable => Outcome::Failed(Cause::MailboxFull),
            _ => Outcome::Failed(Cause::AgentTimeout),
        };
        ctx.reply(f.reply, Msg::Outcome { id: f.id, outcome, produced: 0 });
    }

    pub(super) fn on_signal(&mut self, signal: Signal, _ctx: &mut Ctx<'_, FleetActor>) {
        let Signal::Down { actor, reason } = signal else { return };
        if self.moving.contains_key(&actor) {
            self.move_ended(actor, reason == rehearsal_runtime::ExitReason::Normal);
        }
        if let Some(key) = self.suspected.remove(&actor) {
            // Forgotten when its node was suspected; now known dead.
            if reason != rehearsal_runtime::ExitReason::Normal && !self.table.contains_key(&key) {
                self.lost.insert(key);
            }
            if reason != rehearsal_runtime::ExitReason::Normal {
                self.plan().telemetry.borrow_mut().lost += 1;
            }
            return;
        }
        let Some(&key) = self.by_actor.get(&actor) else { return };
        self.forget(key);
        // An activation that stopped itself passivated (its note may come
        // after the signal: remember it, so the note is not taken for a
        // duplicate's); any other end lost it, with whatever state it had
        // not persisted.
        if reason == rehearsal_runtime::ExitReason::Normal {
            self.ended.insert(actor);
        } else {
            self.lost.insert(key);
            self.plan().telemetry.borrow_mut().lost += 1;
        }
    }
}
