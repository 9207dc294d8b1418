//! [`System`]: the actor table and the rules for delivering to it. It does
//! the bookkeeping (mailboxes, outstanding requests, timers, ids) and asks
//! its [`Env`] for everything else.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::actor::{Actor, Response};
use crate::ctx::{Ctx, Effect};
use crate::env::{Env, TimerKind};
use crate::envelope::{Envelope, ReplyTo, Route};
use crate::id::{ActorId, Nanos, NodeId, RequestId, TimerId};
use crate::ids::Ids;
use crate::lifecycle::{Decider, Directive, ExitReason, FailureKind, Life, Signal};
use crate::mailbox::{Mailbox, Offer, OverflowPolicy};
use crate::registry::{Registry, Vacancy};
use crate::service::ServiceOutcome;
use crate::trace::{DropReason, ResponseKind, TraceEvent};

/// Settings that apply to every actor of a system.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SystemConfig {
    /// Messages a mailbox holds while its actor is not accepting.
    pub mailbox_capacity: u32,
    /// What a full mailbox does.
    pub overflow: OverflowPolicy,
}

impl Default for SystemConfig {
    fn default() -> Self {
        SystemConfig { mailbox_capacity: 1024, overflow: OverflowPolicy::Reject }
    }
}

/// Counters the runtime keeps about itself.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// Handler invocations for messages.
    pub delivered: u64,
    /// Messages dropped: dead receiver, full mailbox, eviction.
    pub dropped: u64,
    /// Messages refused by a full mailbox and bounced to their sender.
    pub bounced: u64,
    /// Replies and service outcomes that arrived after their timeout.
    pub late_replies: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    pub spawned: u64,
    /// Actors that ended, for any reason.
    pub stopped: u64,
    /// Actors that ended abnormally ([`ExitReason::is_abnormal`]).
    pub failed: u64,
    /// Handler panics caught.
    pub panics: u64,
    /// Failures resumed by a decider (the actor kept its state).
    pub resumed: u64,
    /// Actors that ended with [`FailureKind::Escalated`] (supervisors that
    /// gave up or escalated).
    pub escalations: u64,
    /// Highest mailbox length seen.
    pub mailbox_high_water: u32,
}

struct Slot<A: Actor> {
    /// `None` once the actor stopped (the slot waits for reuse).
    actor: Option<A>,
    mailbox: Mailbox<A::Msg>,
    /// The generation of the actor in the slot (a copy of the one in
    /// [`Ids`], kept here so that a delivery reads one cache line).
    generation: u32,
    node: NodeId,
    accepting: bool,
}

/// Bytes of a hash table with room for `capacity` entries of `entry`
/// bytes: buckets (a power of two, at most 7/8 full) of one entry and one
/// control byte each.
fn hash_table_bytes(capacity: usize, entry: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = (capacity * 8 / 7).next_power_of_two();
    buckets * (entry + 1)
}

/// All actors of one run, and the rules that move messages between them.
pub struct System<A: Actor> {
    slots: Vec<Slot<A>>,
    ids: Ids,
    /// Outstanding asks and calls: request -> asker. Looked up, never
    /// iterated, so the fixed-seed Fx hasher keeps runs deterministic.
    pending: FxHashMap<u64, ActorId>,
    /// Timers cancelled before firing; checked only when non-empty.
    cancelled: FxHashSet<u64>,
    /// Effect buffers, reused so that a handler allocates nothing once the
    /// buffers have grown (nested handlers, e.g. a child's `on_start`, take
    /// their own).
    spare_effects: Vec<Vec<Effect<A>>>,
    /// Lifecycle links by slot index, allocated only for actors that have
    /// any (a parent, watchers, links, a name, a decider), so that the hot
    /// actor table stays small.
    life: Vec<Option<Box<Life>>>,
    /// Registered names (live holders, and the last holder of each unheld
    /// name: since when it is unheld) and down nodes.
    registry: Registry,
    /// Per registered name: the total time it went unheld before its
    /// current holder registered (a name's unavailability; the current
    /// spell, if unheld, is in the registry's vacancies).
    name_downtime: FxHashMap<u64, u64>,
    config: SystemConfig,
    stats: RuntimeStats,
    /// Messages waiting in mailboxes, over all actors (the driver counts
    /// them against its queue limit: a backlog is queued work too).
    mailboxed: usize,
}

impl<A: Actor> std::fmt::Debug for System<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("System")
            .field("slots", &self.slots.len())
            .field("pending", &self.pending.len())
            .field("config", &self.config)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<A: Actor> System<A> {
    pub fn new(config: SystemConfig) -> Self {
        System {
            slots: Vec::new(),
            ids: Ids::default(),
            pending: FxHashMap::default(),
            cancelled: FxHashSet::default(),
            spare_effects: Vec::new(),
            life: Vec::new(),
            registry: Registry::default(),
            name_downtime: FxHashMap::default(),
            config,
            stats: RuntimeStats::default(),
            mailboxed: 0,
        }
    }

    /// Pre-size the actor table for `actors` actors.
    pub fn reserve(&mut self, actors: usize) {
        self.slots.reserve(actors);
        self.ids.generations.reserve(actors);
    }

    pub fn config(&self) -> SystemConfig {
        self.config
    }

    pub fn stats(&self) -> RuntimeStats {
        self.stats
    }

    /// Bytes the actor table and the runtime's bookkeeping hold: the slots
    /// (actor, mailbox, node, flags) and the slot generations as allocated
    /// (capacity, not length), every mailbox's buffer, the free list, the
    /// pending-request and cancelled-timer tables (their buckets plus one
    /// control byte each) and the spare effect buffers. Heap memory owned
    /// by the actors themselves is not seen here.
    pub fn memory_bytes(&self) -> usize {
        let slots = self.slots.capacity() * size_of::<Slot<A>>()
            + self.slots.iter().map(|s| s.mailbox.heap_bytes()).sum::<usize>();
        let ids = self.ids.generations.capacity() * size_of::<u32>() + self.ids.free.capacity() * size_of::<u32>();
        let tables = hash_table_bytes(self.pending.capacity(), size_of::<(u64, ActorId)>())
            + hash_table_bytes(self.cancelled.capacity(), size_of::<u64>());
        let effects = self.spare_effects.capacity() * size_of::<Vec<Effect<A>>>()
            + self.spare_effects.iter().map(|v| v.capacity() * size_of::<Effect<A>>()).sum::<usize>();
        let life = self.life.capacity() * size_of::<Option<Box<Life>>>()
            + self
                .life
                .iter()
                .flatten()
                .map(|l| {
                    size_of::<Life>()
                        + (l.watchers.capacity() + l.links.capacity()) * size_of::<ActorId>()
                        + l.calls.capacity() * size_of::<RequestId>()
                })
                .sum::<usize>()
            + hash_table_bytes(self.registry.names.capacity(), size_of::<(u64, ActorId)>())
            + hash_table_bytes(self.registry.vacant.capacity(), size_of::<(u64, Vacancy)>())
            + self.registry.down_since.capacity() * size_of::<Option<Nanos>>();
        size_of::<Self>() + slots + ids + tables + effects + life
    }

    /// Messages waiting in mailboxes, over all actors.
    #[inline]
    pub fn mailboxed(&self) -> usize {
        self.mailboxed
    }

    /// Requests (asks and calls) still waiting for an answer or a timeout.
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    /// Spawn a top-level actor (no parent) on `node` and run its `on_start`.
    pub fn spawn<E: Env<A::Msg>>(&mut self, env: &mut E, node: NodeId, actor: A) -> ActorId {
        let id = self.ids.reserve_actor();
        self.start(env, ActorId::EXTERNAL, id, node, actor, None);
        id
    }

    /// Spawn a top-level supervised actor: its failures go through `decider`.
    pub fn spawn_supervised<E: Env<A::Msg>>(
        &mut self,
        env: &mut E,
        node: NodeId,
        actor: A,
        decider: Decider,
    ) -> ActorId {
        let id = self.ids.reserve_actor();
        self.start(env, ActorId::EXTERNAL, id, node, actor, Some(decider));
        id
    }

    /// Who holds `name` now, if anyone alive: the true state (the world's
    /// view, e.g. to crash a named actor), not what an actor on another
    /// node may know yet ([`Ctx::whereis`]).
    pub fn whereis(&self, name: u64) -> Option<ActorId> {
        self.registry.names.get(&name).copied().filter(|&id| self.is_alive(id))
    }

    /// How long each registered name went without a live holder, up to
    /// `now`, sorted by name: the unavailability of named actors.
    pub fn name_downtime(&self, now: u64) -> Vec<(u64, u64)> {
        let mut out: std::collections::BTreeMap<u64, u64> = self.registry.names.keys().map(|&n| (n, 0)).collect();
        for (&name, &down) in &self.name_downtime {
            *out.entry(name).or_insert(0) += down;
        }
        for (&name, vacancy) in &self.registry.vacant {
            *out.entry(name).or_insert(0) += now.saturating_sub(vacancy.since);
        }
        out.into_iter().collect()
    }

    /// Whether `node` is up: the true state, not what an actor on another
    /// node may know yet ([`Ctx::node_is_up`]).
    pub fn node_is_up(&self, node: NodeId) -> bool {
        self.registry.down_since(node).is_none()
    }

    /// A fault: `id` crashes (ends with [`FailureKind::Crash`]; deciders do
    /// not apply, as the actor is gone).
    pub fn crash<E: Env<A::Msg>>(&mut self, env: &mut E, id: ActorId) {
        self.exit(env, id, ExitReason::Failed(FailureKind::Crash));
    }

    /// A fault: `node` crashes. Every actor on it ends at once with
    /// [`ExitReason::NodeDown`], in slot order; until [`System::restart_node`],
    /// actors spawned there end at once too. Actors on other nodes learn of
    /// it after the failure-detection delay ([`Ctx::node_is_up`],
    /// [`Ctx::whereis`], exit signals).
    pub fn crash_node<E: Env<A::Msg>>(&mut self, env: &mut E, node: NodeId) {
        let n = node.0 as usize;
        let down = &mut self.registry.down_since;
        if down.len() <= n {
            down.resize(n + 1, None);
        }
        // A crash of a node that is already down changes nothing.
        down[n].get_or_insert(env.now());
        for i in 0..self.slots.len() {
            let slot = &self.slots[i];
            if slot.node == node && slot.actor.is_some() {
                let id = ActorId::new(i as u32, slot.generation);
                self.exit(env, id, ExitReason::NodeDown);
            }
        }
    }

    /// `node` is back (or joins): actors may be spawned on it again
    /// (nothing restarts by itself; supervisors do that). Every actor knows
    /// it at once, and knows at once of the deaths its crash caused.
    pub fn restart_node(&mut self, node: NodeId) {
        if let Some(down) = self.registry.down_since.get_mut(node.0 as usize) {
            *down = None;
        }
        if let Some(left) = self.registry.left.get_mut(node.0 as usize) {
            *left = false;
        }
    }

    /// A fault: `node` leaves the cluster, or is not in it yet (it joins at
    /// [`System::restart_node`]). As [`System::crash_node`], except that
    /// every actor knows it at once: a leave is announced, not detected.
    pub fn remove_node<E: Env<A::Msg>>(&mut self, env: &mut E, node: NodeId) {
        let n = node.0 as usize;
        let left = &mut self.registry.left;
        if left.len() <= n {
            left.resize(n + 1, false);
        }
        left[n] = true;
        self.crash_node(env, node);
    }

    /// Whether `id` names a running actor.
    #[inline]
    pub fn is_alive(&self, id: ActorId) -> bool {
        self.live_slot(id).is_some()
    }

    /// The slot of `id` if it names a running actor.
    #[inline]
    fn live_slot(&self, id: ActorId) -> Option<&Slot<A>> {
        self.slots.get(id.index() as usize).filter(|s| s.generation == id.generation() && s.actor.is_some())
    }

    /// The node `id` runs on, if it is alive.
    pub fn node_of(&self, id: ActorId) -> Option<NodeId> {
        if self.is_alive(id) { Some(self.slots[id.index() as usize].node) } else { None }
    }

    /// The actor behind `id`, for inspection.
    pub fn actor(&self, id: ActorId) -> Option<&A> {
        if self.is_alive(id) { self.slots[id.index() as usize].actor.as_ref() } else { None }
    }

    /// The actor behind `id`, to set up or inspect it between events.
    pub fn actor_mut(&mut self, id: ActorId) -> Option<&mut A> {
        if self.is_alive(id) { self.slots[id.index() as usize].actor.as_mut() } else { None }
    }

    /// Every running actor, in slot order.
    pub fn actors(&self) -> impl Iterator<Item = (ActorId, &A)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.actor.as_ref().map(|a| (ActorId::new(i as u32, self.ids.generations[i]), a)))
    }

    /// Messages waiting in `id`'s mailbox.
    pub fn mailbox_len(&self, id: ActorId) -> usize {
        if self.is_alive(id) { self.slots[id.index() as usize].mailbox.len() } else { 0 }
    }

    /// An envelope reached actor `to` (the driver calls this when its
    /// transit ends).
    pub fn deliver<E: Env<A::Msg>>(&mut self, env: &mut E, to: ActorId, envelope: Envelope<A::Msg>) {
        match envelope.route {
            Route::Reply(request) => {
                self.resolve(env, to, request, Response::Reply(envelope.msg));
                return;
            }
            Route::Bounced { request } => {
                self.bounced(env, to, request, envelope);
                return;
            }
            Route::Tell | Route::Ask(_) => {}
        }
        if !self.is_alive(to) {
            self.drop_message(env, to, DropReason::DeadReceiver, &envelope);
            return;
        }
        let slot = &mut self.slots[to.index() as usize];
        if slot.accepting && slot.mailbox.len() == 0 {
            self.handle_envelope(env, to, envelope);
            self.drain_mailbox(env, to);
            return;
        }
        if A::is_urgent(&envelope.msg) {
            // Selective receive: handled now, the backlog keeps its order.
            self.handle_envelope(env, to, envelope);
            self.drain_mailbox(env, to);
            return;
        }
        let from = envelope.from;
        env.trace(TraceEvent::Enqueue { to, from, msg: &envelope.msg });
        let capacity = match slot.actor.as_ref().and_then(A::mailbox_capacity) {
            Some(own) => own.min(self.config.mailbox_capacity),
            None => self.config.mailbox_capacity,
        };
        match slot.mailbox.offer(envelope, capacity, self.config.overflow) {
            Offer::Queued => {
                self.mailboxed += 1;
                let len = slot.mailbox.len() as u32;
                self.stats.mailbox_high_water = self.stats.mailbox_high_water.max(len);
            }
            Offer::Evicted(oldest) => self.drop_message(env, to, DropReason::MailboxDroppedOldest, &oldest),
            Offer::Refused(envelope) => match self.config.overflow {
                OverflowPolicy::Reject => self.bounce(env, to, envelope),
                _ => self.drop_message(env, to, DropReason::MailboxDroppedNewest, &envelope),
            },
        }
    }

    /// A timer fired (the driver calls this at the time it was set for).
    pub fn fire_timer<E: Env<A::Msg>>(&mut self, env: &mut E, owner: ActorId, timer: TimerId, kind: TimerKind) {
        if !self.cancelled.is_empty() && self.cancelled.remove(&timer.0) {
            return;
        }
        match kind {
            TimerKind::User { tag } => {
                if !self.is_alive(owner) {
                    return;
                }
                env.trace(TraceEvent::Timer { owner, timer });
                self.invoke(env, owner, None, |actor, ctx| actor.on_timer(timer, tag, ctx));
                self.drain_mailbox(env, owner);
            }
            TimerKind::RequestTimeout { request } => {
                if self.pending.get(&request.0) == Some(&owner) {
                    self.stats.timeouts += 1;
                    self.resolve(env, owner, request, Response::Timeout);
                }
            }
        }
    }

    /// A service answered call `request` of `caller`.
    pub fn complete_call<E: Env<A::Msg>>(
        &mut self,
        env: &mut E,
        caller: ActorId,
        request: RequestId,
        outcome: ServiceOutcome,
    ) {
        self.resolve(env, caller, request, Response::Service(outcome));
    }

    /// A system signal reached actor `to` (the driver calls this when its
    /// transit ends).
    pub fn deliver_signal<E: Env<A::Msg>>(&mut self, env: &mut E, to: ActorId, signal: Signal) {
        if !self.is_alive(to) {
            return;
        }
        env.trace(TraceEvent::Signal { to, signal });
        match signal {
            Signal::Kill => self.exit(env, to, ExitReason::Killed),
            Signal::Exit { reason, .. } if !self.traps_exits(to) => {
                if reason.is_abnormal() {
                    self.fail(env, to, FailureKind::Linked);
                }
            }
            _ => {
                self.invoke(env, to, None, move |actor, ctx| actor.on_signal(signal, ctx));
                self.drain_mailbox(env, to);
            }
        }
    }

    fn traps_exits(&self, id: ActorId) -> bool {
        self.life_of(id).is_some_and(|l| l.trap_exits)
    }

    fn life_of(&self, id: ActorId) -> Option<&Life> {
        self.life.get(id.index() as usize).and_then(|l| l.as_deref())
    }

    /// The lifecycle record of slot `id`, created on first use.
    fn life_mut(&mut self, id: ActorId) -> &mut Life {
        let i = id.index() as usize;
        if self.life.len() <= i {
            self.life.resize_with(i + 1, || None);
        }
        self.life[i].get_or_insert_with(Box::default)
    }

    /// `actor` holds `name` from `now` (replacing any earlier holder); the
    /// name's unheld spell, if any, ends.
    fn register(&mut self, now: Nanos, name: u64, actor: ActorId) {
        if let Some(vacancy) = self.registry.vacant.remove(&name) {
            *self.name_downtime.entry(name).or_insert(0) += now.saturating_sub(vacancy.since);
        }
        self.registry.names.insert(name, actor);
        self.life_mut(actor).name = Some(name);
    }

    /// Remove `request` from `id`'s outstanding service calls; whether it
    /// was one (an ask is not).
    fn forget_call(&mut self, id: ActorId, request: RequestId) -> bool {
        let Some(life) = self.life.get_mut(id.index() as usize).and_then(|l| l.as_deref_mut()) else {
            return false;
        };
        match life.calls.iter().position(|&r| r == request) {
            Some(at) => {
                life.calls.remove(at);
                true
            }
            None => false,
        }
    }

    /// `id` failed with `kind`: its decider may resume it; otherwise it ends.
    fn fail<E: Env<A::Msg>>(&mut self, env: &mut E, id: ActorId, kind: FailureKind) {
        let decider = self.life_of(id).and_then(|l| l.decider);
        if decider.map(|d| d.decide(kind)) == Some(Directive::Resume) && self.is_alive(id) {
            self.stats.resumed += 1;
            env.trace(TraceEvent::Resume { actor: id, kind });
            return;
        }
        self.exit(env, id, ExitReason::Failed(kind));
    }

    /// End `id` with `reason`: drop its queued messages (counted), then tell
    /// its parent, its watchers and its links.
    fn exit<E: Env<A::Msg>>(&mut self, env: &mut E, id: ActorId, reason: ExitReason) {
        if !self.is_alive(id) {
            return;
        }
        env.trace(TraceEvent::Stop { actor: id, reason });
        let i = id.index() as usize;
        let slot = &mut self.slots[i];
        slot.actor = None;
        slot.accepting = true;
        let node = slot.node;
        let queued = slot.mailbox.take_all();
        self.mailboxed -= queued.len();
        self.ids.release_actor(id);
        self.stats.stopped += 1;
        if reason.is_abnormal() {
            self.stats.failed += 1;
        }
        if reason == ExitReason::Failed(FailureKind::Escalated) {
            self.stats.escalations += 1;
        }
        for envelope in queued {
            self.drop_message(env, id, DropReason::DeadReceiver, &envelope);
        }
        let Some(life) = self.life.get_mut(i).and_then(Option::take) else { return };
        // Its connections are gone: its service calls are cancelled, in the
        // order they were made. Their answers or timeouts, if they still
        // come, find a dead caller and are dropped.
        for &request in &life.calls {
            env.cancel_call(id, request);
        }
        if let Some(name) = life.name
            && self.registry.names.get(&name) == Some(&id)
        {
            self.registry.names.remove(&name);
            let vacancy = Vacancy { holder: id, node, since: env.now(), node_down: reason == ExitReason::NodeDown };
            self.registry.vacant.insert(name, vacancy);
        }
        if let Some(parent) = life.parent {
            self.signal(env, node, parent, Signal::ChildExited { child: id, reason });
        }
        for watcher in life.watchers {
            self.signal(env, node, watcher, Signal::Down { actor: id, reason });
        }
        for linked in life.links {
            if let Some(l) = self.life.get_mut(linked.index() as usize).and_then(|l| l.as_deref_mut()) {
                l.links.retain(|&x| x != id);
            }
            if reason.is_abnormal() {
                self.signal(env, node, linked, Signal::Exit { from: id, reason });
            }
        }
    }

    /// Send a system signal from `from_node` to `to` (dropped if `to` is unknown).
    fn signal<E: Env<A::Msg>>(&mut self, env: &mut E, from_node: NodeId, to: ActorId, signal: Signal) {
        if let Some(to_node) = self.slot_node(to) {
            env.signal(from_node, to_node, to, signal);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn start<E: Env<A::Msg>>(
        &mut self,
        env: &mut E,
        parent: ActorId,
        id: ActorId,
        node: NodeId,
        actor: A,
        decider: Option<Decider>,
    ) {
        let i = id.index() as usize;
        // A reserved id whose spawn was discarded (a panicking turn) may
        // leave a gap: fill it with empty slots.
        while self.slots.len() <= i {
            self.slots.push(Slot { actor: None, mailbox: Mailbox::new(), generation: 0, node, accepting: true });
        }
        let label = actor.label();
        let slot = &mut self.slots[i];
        slot.actor = Some(actor);
        slot.generation = id.generation();
        slot.node = node;
        slot.accepting = true;
        if parent != ActorId::EXTERNAL || decider.is_some() {
            let life = self.life_mut(id);
            *life = Life { parent: (parent != ActorId::EXTERNAL).then_some(parent), decider, ..Life::default() };
        }
        self.stats.spawned += 1;
        env.trace(TraceEvent::Spawn { parent, child: id, node, label });
        if !self.node_is_up(node) {
            self.exit(env, id, ExitReason::NodeDown);
            return;
        }
        self.invoke(env, id, None, |actor, ctx| actor.on_start(ctx));
        self.drain_mailbox(env, id);
    }

    /// Run `handle` for one envelope (the actor is alive and accepting).
    fn handle_envelope<E: Env<A::Msg>>(&mut self, env: &mut E, to: ActorId, envelope: Envelope<A::Msg>) {
        env.trace(TraceEvent::Deliver { to, from: envelope.from, msg: &envelope.msg });
        self.stats.delivered += 1;
        let reply_to = match envelope.route {
            Route::Ask(request) => Some(ReplyTo { asker: envelope.from, request }),
            _ => None,
        };
        let msg = envelope.msg;
        self.invoke(env, to, reply_to, move |actor, ctx| actor.handle(msg, ctx));
    }

    /// Feed queued messages to `id` while it accepts them.
    #[inline]
    fn drain_mailbox<E: Env<A::Msg>>(&mut self, env: &mut E, id: ActorId) {
        loop {
            let envelope = match self.slots.get_mut(id.index() as usize) {
                Some(slot) if slot.accepting && slot.generation == id.generation() && slot.actor.is_some() => {
                    match slot.mailbox.pop() {
                        Some(envelope) => {
                            self.mailboxed -= 1;
                            envelope
                        }
                        None => return,
                    }
                }
                _ => return,
            };
            self.handle_envelope(env, id, envelope);
        }
    }

    /// Settle request `request` of `asker` with `response`, unless it was
    /// already settled (then a reply is late and counted).
    fn resolve<E: Env<A::Msg>>(&mut self, env: &mut E, asker: ActorId, request: RequestId, response: Response<A::Msg>) {
        match self.pending.get(&request.0) {
            Some(&owner) if owner == asker => {
                self.pending.remove(&request.0);
            }
            _ => {
                if !matches!(response, Response::Timeout) {
                    self.stats.late_replies += 1;
                    env.trace(TraceEvent::LateReply { to: asker, request });
                }
                return;
            }
        }
        if !self.is_alive(asker) {
            // Its service calls were cancelled when it died.
            return;
        }
        match response {
            Response::Service(_) => {
                self.forget_call(asker, request);
            }
            // The caller gave up: cancel the call at the service, before
            // the caller's handler (which may call again) runs.
            Response::Timeout if self.forget_call(asker, request) => env.cancel_call(asker, request),
            _ => {}
        }
        let kind = match response {
            Response::Reply(_) => ResponseKind::Reply,
            Response::Service(_) => ResponseKind::Service,
            Response::Timeout => ResponseKind::Timeout,
            Response::Undeliverable => ResponseKind::Undeliverable,
        };
        env.trace(TraceEvent::Response { to: asker, request, kind });
        self.invoke(env, asker, None, move |actor, ctx| actor.on_response(request, response, ctx));
        self.drain_mailbox(env, asker);
    }

    /// A refused message came back to its sender.
    fn bounced<E: Env<A::Msg>>(
        &mut self,
        env: &mut E,
        to: ActorId,
        request: Option<RequestId>,
        envelope: Envelope<A::Msg>,
    ) {
        match request {
            Some(request) => self.resolve(env, to, request, Response::Undeliverable),
            None => {
                if !self.is_alive(to) {
                    return;
                }
                let refused_by = envelope.from;
                let msg = envelope.msg;
                self.invoke(env, to, None, move |actor, ctx| actor.on_undelivered(refused_by, msg, ctx));
                self.drain_mailbox(env, to);
            }
        }
    }

    /// Send a refused envelope back to its sender.
    fn bounce<E: Env<A::Msg>>(&mut self, env: &mut E, refused_by: ActorId, envelope: Envelope<A::Msg>) {
        self.stats.bounced += 1;
        env.trace(TraceEvent::Drop {
            to: refused_by,
            from: envelope.from,
            reason: DropReason::MailboxRejected,
            msg: &envelope.msg,
        });
        let request = match envelope.route {
            Route::Ask(request) => Some(request),
            _ => None,
        };
        let sender = envelope.from;
        if sender == ActorId::EXTERNAL {
            // Outside callers learn of a refusal by their own timeout.
            return;
        }
        let Some(to_node) = self.slot_node(sender) else {
            return;
        };
        let from_node = self.slots[refused_by.index() as usize].node;
        let back = Envelope { from: refused_by, route: Route::Bounced { request }, msg: envelope.msg };
        env.transmit(from_node, to_node, sender, back);
    }

    fn drop_message<E: Env<A::Msg>>(
        &mut self,
        env: &mut E,
        to: ActorId,
        reason: DropReason,
        envelope: &Envelope<A::Msg>,
    ) {
        self.stats.dropped += 1;
        env.trace(TraceEvent::Drop { to, from: envelope.from, reason, msg: &envelope.msg });
    }

    /// The node of slot `id` (alive or not); `None` for an unknown index.
    #[inline]
    fn slot_node(&self, id: ActorId) -> Option<NodeId> {
        self.slots.get(id.index() as usize).map(|s| s.node)
    }

    /// Run one callback of actor `me` and apply the effects it asked for.
    #[inline]
    fn invoke<E, F>(&mut self, env: &mut E, me: ActorId, reply_to: Option<ReplyTo>, callback: F)
    where
        E: Env<A::Msg>,
        F: FnOnce(&mut A, &mut Ctx<'_, A>),
    {
        let mut effects = self.spare_effects.pop().unwrap_or_default();
        let i = me.index() as usize;
        let slot = &mut self.slots[i];
        let Some(actor) = slot.actor.as_mut() else {
            return;
        };
        let mut my_node = slot.node;
        let now = env.now();
        let mut ctx = Ctx {
            me,
            node: my_node,
            now,
            reply_to,
            effects: &mut effects,
            ids: &mut self.ids,
            env,
            registry: &self.registry,
        };
        // A panic is a failure of this actor, not of the run: catch it,
        // discard the failed turn's effects, and let the decider (or the
        // supervisor) deal with it.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(actor, &mut ctx)));
        if outcome.is_err() {
            self.stats.panics += 1;
            for effect in effects.drain(..) {
                if let Effect::Spawn { child, .. } = effect {
                    self.ids.release_actor(child);
                }
            }
            self.spare_effects.push(effects);
            self.fail(env, me, FailureKind::Panic);
            return;
        }
        for effect in effects.drain(..) {
            match effect {
                // The common case, inline. A tell changes no slot, so the
                // sender's node stays as read.
                Effect::Tell { to, msg } => self.send(env, my_node, me, to, Route::Tell, msg),
                other => {
                    self.apply(env, me, my_node, other);
                    // Spawns and stops may have reused slots: read again,
                    // as every effect saw the slot as it was then.
                    my_node = self.slots[i].node;
                }
            }
        }
        self.spare_effects.push(effects);
    }

    fn apply<E: Env<A::Msg>>(&mut self, env: &mut E, me: ActorId, my_node: NodeId, effect: Effect<A>) {
        match effect {
            Effect::Tell { to, msg } => self.send(env, my_node, me, to, Route::Tell, msg),
            Effect::Ask { to, msg, request, timeout } => {
                self.pending.insert(request.0, me);
                let timer = self.ids.next_timer();
                env.schedule_timer(me, timer, TimerKind::RequestTimeout { request }, env.now().saturating_add(timeout));
                self.send(env, my_node, me, to, Route::Ask(request), msg);
            }
            Effect::Reply { to, msg } => {
                if to.asker == ActorId::EXTERNAL {
                    env.reply_external(me, to.request, msg);
                } else {
                    self.send(env, my_node, me, to.asker, Route::Reply(to.request), msg);
                }
            }
            Effect::Call { call, request, timeout } => {
                self.pending.insert(request.0, me);
                self.life_mut(me).calls.push(request);
                let timer = self.ids.next_timer();
                env.schedule_timer(me, timer, TimerKind::RequestTimeout { request }, env.now().saturating_add(timeout));
                env.call_service(me, my_node, request, call);
            }
            Effect::SetTimer { timer, after, tag } => {
                env.schedule_timer(me, timer, TimerKind::User { tag }, env.now().saturating_add(after));
            }
            Effect::CancelTimer { timer } => {
                self.cancelled.insert(timer.0);
            }
            Effect::Cancel { request } => {
                if self.pending.get(&request.0) == Some(&me) {
                    self.pending.remove(&request.0);
                    if self.forget_call(me, request) {
                        env.cancel_call(me, request);
                    }
                }
            }
            Effect::Spawn { child, node, actor, decider } => self.start(env, me, child, node, actor, decider),
            Effect::Exit { reason } => match reason {
                ExitReason::Failed(kind) => self.fail(env, me, kind),
                other => self.exit(env, me, other),
            },
            Effect::Signal { to, signal } => self.signal(env, my_node, to, signal),
            Effect::Watch { target } => {
                if self.is_alive(target) {
                    self.life_mut(target).watchers.push(me);
                } else {
                    self.signal(env, my_node, me, Signal::Down { actor: target, reason: ExitReason::NoProc });
                }
            }
            Effect::Unwatch { target } => {
                if self.is_alive(target) {
                    self.life_mut(target).watchers.retain(|&w| w != me);
                }
            }
            Effect::Link { target } => {
                if !self.is_alive(target) {
                    self.signal(env, my_node, me, Signal::Exit { from: target, reason: ExitReason::NoProc });
                } else if target != me && !self.life_mut(me).links.contains(&target) {
                    self.life_mut(me).links.push(target);
                    self.life_mut(target).links.push(me);
                }
            }
            Effect::Unlink { target } => {
                self.life_mut(me).links.retain(|&x| x != target);
                if self.is_alive(target) {
                    self.life_mut(target).links.retain(|&x| x != me);
                }
            }
            Effect::TrapExits { trap } => self.life_mut(me).trap_exits = trap,
            Effect::Register { name } => self.register(env.now(), name, me),
            Effect::RegisterActor { name, actor } => {
                if self.is_alive(actor) {
                    self.register(env.now(), name, actor);
                }
            }
            // The name as this actor knows it (a dead holder whose node's
            // crash is not detected yet gets the message, and drops it).
            Effect::TellNamed { name, msg } => match self.registry.whereis(&*env, my_node, env.now(), name) {
                Some(to) => self.send(env, my_node, me, to, Route::Tell, msg),
                None => {
                    let envelope = Envelope { from: me, route: Route::Tell, msg };
                    self.drop_message(env, ActorId::EXTERNAL, DropReason::DeadReceiver, &envelope);
                }
            },
            Effect::SetAccepting { accepting } => {
                if let Some(slot) = self.slots.get_mut(me.index() as usize) {
                    slot.accepting = accepting;
                }
            }
        }
    }

    #[inline]
    fn send<E: Env<A::Msg>>(
        &mut self,
        env: &mut E,
        from_node: NodeId,
        from: ActorId,
        to: ActorId,
        route: Route,
        msg: A::Msg,
    ) {
        let envelope = Envelope { from, route, msg };
        match self.slot_node(to) {
            Some(to_node) => env.transmit(from_node, to_node, to, envelope),
            None => self.drop_message(env, to, DropReason::DeadReceiver, &envelope),
        }
    }
}
