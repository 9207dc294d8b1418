//! Supervisors as a reusable actor behaviour, with the semantics of OTP's
//! `supervisor`, Akka's `SupervisorStrategy`/`BackoffSupervisor` and Ray's
//! actor `max_restarts`.
//!
//! All actors of a system are one Rust type, so a supervisor is a struct,
//! [`Supervisor`], that the user's actor enum embeds as a variant and
//! delegates to from its [`Actor`] callbacks:
//!
//! ```ignore
//! fn on_start(&mut self, ctx)               { if let Me::Sup(s) = self { s.on_start(ctx) } }
//! fn on_signal(&mut self, signal, ctx)      { if let Me::Sup(s) = self { s.on_signal(signal, ctx) } }
//! fn on_timer(&mut self, timer, tag, ctx)   { if let Me::Sup(s) = self { s.on_timer(timer, tag, ctx); } }
//! fn handle(&mut self, msg, ctx)            { if let Me::Sup(s) = self { s.on_message(msg, ctx) } }
//! ```
//!
//! # What it does
//!
//! - At start it traps exits and starts its children in order
//!   ([`Ctx::spawn_supervised`] with the spec's [`Decider`]), registering the
//!   names of those that ask for it.
//! - When a child ends ([`Signal::ChildExited`]), the [`Decider`] (for
//!   failures) and the child's [`Restart`] type decide whether it is
//!   restarted; the restart intensity ([`Intensity`], OTP MaxR/MaxT) and the
//!   per-child cap ([`ChildSpec::max_restarts`], Ray) bound the restarts; the
//!   [`Strategy`] decides which siblings are restarted with it.
//! - Children are terminated one at a time in reverse start order, each
//!   with a [`Signal::Shutdown`] and, after its [`ChildSpec::shutdown`]
//!   timeout, a [`Signal::Kill`] (OTP `shutdown` / `brutal_kill`).
//! - With [`Backoff`] (Akka `BackoffSupervisor`, one child), restarts are
//!   delayed exponentially and messages sent to the supervisor are forwarded
//!   to the child, or stashed while it is down.
//!
//! # Timer tags
//!
//! The supervisor's own timers (shutdown timeouts, backoff delays) use tags
//! with the high bit set ([`SUPERVISOR_TAG_BIT`]). An actor that embeds a
//! supervisor must not use such tags for timers of its own; its `on_timer`
//! passes every timer to [`Supervisor::on_timer`], which returns `false` for
//! a tag that is not the supervisor's.
//!
//! # Determinism
//!
//! Children are kept in a `Vec` in start order, with maps from id and from
//! address to their place that are only looked up, never iterated; time
//! comes from [`Ctx::now`] and the backoff jitter from [`Ctx::random_u64`].
//!
//! # Cost
//!
//! Starting `n` children costs O(n); handling a child's exit, restarting
//! it, adding or removing one costs O(1) (amortized: see `children.rs`).
//! A `one_for_all` or `rest_for_one` restart costs O(n) once per failure:
//! it terminates and restarts up to `n` children, each in O(1).

use std::collections::VecDeque;

use rustc_hash::FxHashSet;

use crate::actor::Actor;
use crate::ctx::Ctx;
use crate::id::{ActorId, Nanos, NodeId, TimerId};
#[cfg(doc)]
use crate::lifecycle::Decider;
use crate::lifecycle::{Directive, ExitReason, Signal};
use children::{Child, Children};
use terminate::{Phase, Then};

mod children;
mod spec;
mod terminate;

pub use spec::{Backoff, ChildSpec, Intensity, Restart, StartFn, Strategy, SupervisorSpec, SupervisorStats, WhenDown};

/// Timer tags with this bit set belong to the supervisor (see the module
/// documentation).
pub const SUPERVISOR_TAG_BIT: u64 = 1 << 63;
/// Tag of a child's shutdown timeout.
const TAG_SHUTDOWN: u64 = SUPERVISOR_TAG_BIT | 1;
/// Tag of a backoff delay.
const TAG_BACKOFF: u64 = SUPERVISOR_TAG_BIT | 2;

/// A supervisor: embed it in the actor enum and delegate to it (see the
/// module documentation).
#[derive(Debug)]
pub struct Supervisor<A: Actor> {
    spec: SupervisorSpec<A>,
    children: Children,
    phase: Phase,
    /// Restart times within the intensity period (OTP `restarts`).
    window: VecDeque<Nanos>,
    /// Every restart decision that counted towards the intensity.
    restart_log: Vec<Nanos>,
    stash: VecDeque<A::Msg>,
    stats: SupervisorStats,
}

impl<A: Actor> Supervisor<A> {
    /// # Panics
    /// If the spec is inconsistent: `SimpleOneForOne` without exactly one
    /// child spec, a backoff without exactly one child spec or with a
    /// strategy other than `OneForOne`, or two children with the same id.
    pub fn new(spec: SupervisorSpec<A>) -> Self {
        if spec.strategy == Strategy::SimpleOneForOne {
            assert_eq!(spec.children.len(), 1, "simple_one_for_one needs exactly one child spec (the template)");
        }
        if spec.backoff.is_some() {
            assert!(
                spec.children.len() == 1 && spec.strategy == Strategy::OneForOne,
                "a backoff supervisor has exactly one child spec and strategy OneForOne"
            );
        }
        if let Some(id) = first_duplicate(&spec.children) {
            panic!("duplicate child id {id}");
        }
        Supervisor {
            spec,
            children: Children::default(),
            phase: Phase::Running,
            window: VecDeque::new(),
            restart_log: Vec::new(),
            stash: VecDeque::new(),
            stats: SupervisorStats::default(),
        }
    }

    /// The spec it was built from.
    pub fn spec(&self) -> &SupervisorSpec<A> {
        &self.spec
    }

    /// Trap exits and start the children in order (none for
    /// `SimpleOneForOne`).
    pub fn on_start(&mut self, ctx: &mut Ctx<'_, A>) {
        ctx.trap_exits(true);
        if self.spec.strategy == Strategy::SimpleOneForOne {
            return;
        }
        self.children.reserve(self.spec.children.len());
        for spec in 0..self.spec.children.len() {
            let id = self.spec.children[spec].id;
            self.children.push(Child::new(id, spec));
            self.spawn_child(id, ctx);
        }
    }

    /// `SimpleOneForOne` (OTP `supervisor:start_child/2`): add and start
    /// child `id` from the template. `None` for another strategy, a
    /// duplicate id, or while shutting down.
    pub fn start_child(&mut self, ctx: &mut Ctx<'_, A>, id: u64) -> Option<ActorId> {
        if self.spec.strategy != Strategy::SimpleOneForOne
            || !matches!(self.phase, Phase::Running)
            || self.children.contains(id)
        {
            return None;
        }
        self.children.push(Child::new(id, 0));
        self.spawn_child(id, ctx);
        self.child(id)
    }

    /// The current address of child `id`, if it is running.
    pub fn child(&self, id: u64) -> Option<ActorId> {
        self.children.get(id).and_then(Child::actor)
    }

    /// Every child the supervisor has, in start order, with its address if
    /// it is running.
    pub fn children(&self) -> impl Iterator<Item = (u64, Option<ActorId>)> + '_ {
        self.children.iter().map(|c| (c.id, c.actor()))
    }

    /// Counters, with each child's downtime up to its last restart (a child
    /// still down is counted up to when it went down; see
    /// [`Supervisor::stats_at`]).
    pub fn stats(&self) -> SupervisorStats {
        let mut s = self.stats.clone();
        s.downtime = self.children.iter().map(|c| (c.id, c.downtime)).collect();
        s
    }

    /// Counters, with the downtime of children still down counted up to `now`.
    pub fn stats_at(&self, now: Nanos) -> SupervisorStats {
        let mut s = self.stats.clone();
        s.downtime = self.children.iter().map(|c| (c.id, self.downtime_of(c, now))).collect();
        s
    }

    /// Total time child `id` was not running, up to `now`.
    pub fn downtime(&self, id: u64, now: Nanos) -> Option<Nanos> {
        self.children.get(id).map(|c| self.downtime_of(c, now))
    }

    fn downtime_of(&self, c: &Child, now: Nanos) -> Nanos {
        c.downtime + c.down_since.map_or(0, |since| now.saturating_sub(since))
    }

    /// The time of every restart decision that counted towards the
    /// intensity (OTP counts a `one_for_all` group restart once).
    pub fn restart_log(&self) -> &[Nanos] {
        &self.restart_log
    }

    /// Whether it is terminating all its children to exit (shutdown or
    /// escalation), or has exited.
    pub fn is_shutting_down(&self) -> bool {
        match &self.phase {
            Phase::Running => false,
            Phase::Terminating(op) => !op.restarts(),
            Phase::Exited => true,
        }
    }

    /// Whether it asked to exit (after a shutdown or an escalation).
    pub fn has_exited(&self) -> bool {
        matches!(self.phase, Phase::Exited)
    }

    /// Whether it escalated (intensity exceeded or a decider's `Escalate`).
    pub fn escalated(&self) -> bool {
        self.stats.escalations > 0
    }

    /// Messages waiting in the stash.
    pub fn stashed(&self) -> usize {
        self.stash.len()
    }

    /// A signal: [`Signal::ChildExited`] drives restarts, [`Signal::Shutdown`]
    /// terminates the children (reverse start order) and then the
    /// supervisor (`Shutdown`). Others are ignored (the supervisor traps
    /// exits).
    pub fn on_signal(&mut self, signal: Signal, ctx: &mut Ctx<'_, A>) {
        match signal {
            Signal::ChildExited { child, reason } => self.child_exited(child, reason, ctx),
            Signal::Shutdown => self.terminate_all(Then::Shutdown, ctx),
            Signal::Down { .. } | Signal::Exit { .. } | Signal::Kill => {}
        }
    }

    /// A timer fired. Returns `false` if `tag` is not one of the
    /// supervisor's (no [`SUPERVISOR_TAG_BIT`]); the caller handles it.
    pub fn on_timer(&mut self, timer: TimerId, tag: u64, ctx: &mut Ctx<'_, A>) -> bool {
        if tag & SUPERVISOR_TAG_BIT == 0 {
            return false;
        }
        match tag {
            TAG_SHUTDOWN => self.shutdown_timeout(timer, ctx),
            TAG_BACKOFF => {
                if !matches!(self.phase, Phase::Running) {
                    return true;
                }
                // A backoff supervisor has one child: no scan of many.
                let Some(c) = self.children.iter_mut().find(|c| c.backoff_timer == Some(timer)) else {
                    return true;
                };
                c.backoff_timer = None;
                let id = c.id;
                self.spawn_child(id, ctx);
                self.replay_stash(id, ctx);
            }
            _ => {}
        }
        true
    }

    /// A message sent to the supervisor. With exactly one child (Akka
    /// `BackoffSupervisor`), it is forwarded to the child when the child
    /// runs; while the child is down it is stashed under
    /// [`WhenDown::Stash`] (replayed in order at the restart; dropped and
    /// counted when the stash is full) and dropped and counted otherwise.
    /// A supervisor with several child specs does not route messages: they
    /// are dropped and counted in [`SupervisorStats::dropped_while_down`].
    pub fn on_message(&mut self, msg: A::Msg, ctx: &mut Ctx<'_, A>) {
        let target = match self.children.only() {
            Some(only) if self.spec.children.len() == 1 => only.actor(),
            _ => None,
        };
        if let Some(child) = target {
            ctx.tell(child, msg);
            return;
        }
        let stashing = matches!(self.phase, Phase::Running)
            && self.children.len() == 1
            && !self.children.only().is_some_and(|c| c.gave_up);
        match self.spec.backoff.map(|b| b.when_down) {
            Some(WhenDown::Stash { capacity }) if stashing => {
                if self.stash.len() < capacity as usize {
                    self.stash.push_back(msg);
                } else {
                    self.stats.stash_dropped += 1;
                }
            }
            _ => self.stats.dropped_while_down += 1,
        }
    }

    fn replay_stash(&mut self, id: u64, ctx: &mut Ctx<'_, A>) {
        let Some(actor) = self.child(id) else { return };
        while let Some(msg) = self.stash.pop_front() {
            ctx.tell(actor, msg);
        }
    }

    fn child_spec(&self, c: &Child) -> &ChildSpec<A> {
        &self.spec.children[c.spec as usize]
    }

    fn remove(&mut self, id: u64) {
        self.children.remove(id);
    }

    /// Where to (re)start a child whose spec says `node`.
    fn place(&self, node: NodeId, ctx: &Ctx<'_, A>) -> NodeId {
        if ctx.node_is_up(node) {
            return node;
        }
        self.spec.fallback_nodes.iter().copied().find(|&n| ctx.node_is_up(n)).unwrap_or(node)
    }

    /// Start child `id` (first start or restart), if it is not running.
    fn spawn_child(&mut self, id: u64, ctx: &mut Ctx<'_, A>) {
        let Some(i) = self.children.index_of(id) else { return };
        let spec = self.child_spec(self.children.at(i)).clone();
        let node = self.place(spec.node, ctx);
        let now = ctx.now();
        let c = self.children.at(i);
        if c.actor().is_some() {
            return;
        }
        let first = c.incarnation == 0 && c.down_since.is_none();
        let incarnation = if first { 0 } else { c.incarnation + 1 };
        let actor = ctx.spawn_supervised(node, (spec.start)(id, incarnation), self.spec.decider);
        if spec.register {
            ctx.register_actor(id, actor);
        }
        self.children.set_actor(i, Some(actor));
        let c = self.children.at_mut(i);
        c.incarnation = incarnation;
        c.started_at = now;
        if let Some(since) = c.down_since.take() {
            c.downtime += now.saturating_sub(since);
        }
        if !first {
            c.restarts += 1;
            self.stats.restarts += 1;
        }
    }

    /// Restart child `id` unless its Ray `max_restarts` is reached.
    fn restart_child(&mut self, id: u64, ctx: &mut Ctx<'_, A>) {
        let Some(i) = self.children.index_of(id) else { return };
        let c = self.children.at(i);
        if c.gave_up || c.actor().is_some() {
            return;
        }
        if let Some(max) = self.child_spec(c).max_restarts
            && c.restarts >= max
        {
            self.children.at_mut(i).gave_up = true;
            self.stats.gave_up += 1;
            return;
        }
        self.spawn_child(id, ctx);
    }

    fn child_exited(&mut self, actor: ActorId, reason: ExitReason, ctx: &mut Ctx<'_, A>) {
        let Some(i) = self.children.index_of_actor(actor) else {
            // Not a current child: stale news of an earlier incarnation.
            return;
        };
        let now = ctx.now();
        self.children.set_actor(i, None);
        let c = self.children.at_mut(i);
        c.down_since = Some(now);
        let id = c.id;
        let temporary = self.child_spec(self.children.at(i)).restart == Restart::Temporary;
        match &mut self.phase {
            Phase::Exited => {}
            Phase::Running => self.handle_exit(id, reason, ctx),
            Phase::Terminating(_) => self.exited_while_terminating(id, reason, temporary, ctx),
        }
    }

    /// A running supervisor learns that child `id` ended with `reason`.
    fn handle_exit(&mut self, id: u64, reason: ExitReason, ctx: &mut Ctx<'_, A>) {
        let Some(i) = self.children.index_of(id) else { return };
        let restart = self.child_spec(self.children.at(i)).restart;
        if let ExitReason::Failed(kind) = reason {
            match self.spec.decider.decide(kind) {
                Directive::Escalate => {
                    self.escalate(ctx);
                    return;
                }
                Directive::Stop => {
                    // Akka `Stop`: the child stays stopped; it is removed.
                    self.remove(id);
                    return;
                }
                // `Resume` reaches the supervisor only when the child could
                // not be resumed (a crash from outside): it is gone, so
                // it is restarted.
                Directive::Restart | Directive::Resume => {}
            }
        }
        let wanted = match restart {
            Restart::Permanent => true,
            Restart::Transient => reason.is_abnormal(),
            Restart::Temporary => false,
        };
        let dynamic = self.spec.strategy == Strategy::SimpleOneForOne;
        if !wanted {
            if restart == Restart::Temporary || dynamic {
                self.remove(id);
            }
            return;
        }
        // Ray `max_restarts`: give up on this child, without escalating.
        let c = self.children.at(i);
        if let Some(max) = self.child_spec(c).max_restarts
            && c.restarts >= max
        {
            self.children.at_mut(i).gave_up = true;
            self.stats.gave_up += 1;
            return;
        }
        if let Some(backoff) = self.spec.backoff {
            self.schedule_backoff(id, backoff, ctx);
            return;
        }
        if !self.add_restart(ctx.now()) {
            self.escalate(ctx);
            return;
        }
        match self.spec.strategy {
            Strategy::OneForOne | Strategy::SimpleOneForOne => self.restart_child(id, ctx),
            Strategy::OneForAll => {
                let set = self.restart_set(0);
                self.start_op(Then::Restart(set), 0, ctx);
            }
            Strategy::RestForOne => {
                let set = self.restart_set(i);
                self.start_op(Then::Restart(set), i, ctx);
            }
        }
    }

    /// Children from slot `from` on that a group restart starts again
    /// (start order): all but temporary ones and those that gave up.
    fn restart_set(&self, from: usize) -> Vec<u64> {
        self.children
            .iter_from(from)
            .filter(|c| !c.gave_up && self.child_spec(c).restart != Restart::Temporary)
            .map(|c| c.id)
            .collect()
    }

    /// OTP `add_restart`: record a restart at `now`; `false` if that makes
    /// more than MaxR restarts within MaxT.
    fn add_restart(&mut self, now: Nanos) -> bool {
        let period = self.spec.intensity.period;
        self.window.push_back(now);
        // OTP `inPeriod`: keep `Then` while `Now =< Then + Period`.
        while let Some(&then) = self.window.front()
            && now > then.saturating_add(period)
        {
            self.window.pop_front();
        }
        if self.window.len() > self.spec.intensity.max_restarts as usize {
            return false;
        }
        self.stats.restart_events += 1;
        self.restart_log.push(now);
        true
    }

    fn schedule_backoff(&mut self, id: u64, backoff: Backoff, ctx: &mut Ctx<'_, A>) {
        let now = ctx.now();
        let Some(i) = self.children.index_of(id) else { return };
        let c = self.children.at_mut(i);
        // Akka `withAutoReset`: a child that ran `reset_after` without
        // ending starts the count again.
        if now.saturating_sub(c.started_at) >= backoff.reset_after {
            c.backoff_count = 0;
        }
        if backoff.max_restarts.is_some_and(|max| c.backoff_count >= max) {
            c.gave_up = true;
            self.stats.gave_up += 1;
            self.stash.clear();
            return;
        }
        let u = if backoff.random_factor > 0.0 {
            (ctx.random_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
        } else {
            0.0
        };
        let delay = backoff.delay(c.backoff_count, u);
        c.backoff_count += 1;
        c.backoff_timer = Some(ctx.set_timer(delay, TAG_BACKOFF));
    }

    fn escalate(&mut self, ctx: &mut Ctx<'_, A>) {
        self.terminate_all(Then::Escalate, ctx);
    }
}

/// The first child id, in spec order, that an earlier child already has;
/// O(n log n).
fn first_duplicate<A>(children: &[ChildSpec<A>]) -> Option<u64> {
    let mut ids: Vec<u64> = children.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    if ids.windows(2).all(|w| w[0] != w[1]) {
        return None;
    }
    // There is one: find the first in spec order.
    let mut seen = FxHashSet::default();
    children.iter().map(|c| c.id).find(|&id| !seen.insert(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Nop;
    impl Actor for Nop {
        type Msg = u8;
        fn handle(&mut self, _: u8, _: &mut Ctx<'_, Self>) {}
    }

    fn sup(max_restarts: u32, period: Nanos) -> Supervisor<Nop> {
        let mut spec = SupervisorSpec::new(Strategy::OneForOne, vec![ChildSpec::new(1, |_, _| Nop)]);
        spec.intensity = Intensity { max_restarts, period };
        Supervisor::new(spec)
    }

    #[test]
    fn intensity_window_is_inclusive_like_otp_in_period() {
        // MaxR 2 in MaxT 10: restarts at 0 and 5; at 10, the one at 0 still
        // counts (10 - 0 =< 10): a third restart is one too many.
        let mut s = sup(2, 10);
        assert!(s.add_restart(0));
        assert!(s.add_restart(5));
        assert!(!s.add_restart(10));
        // At 11, the one at 0 is out of the window (11 - 0 > 10).
        let mut s = sup(2, 10);
        assert!(s.add_restart(0));
        assert!(s.add_restart(5));
        assert!(s.add_restart(11));
        assert_eq!(s.restart_log(), &[0, 5, 11]);
    }

    #[test]
    fn intensity_zero_escalates_at_the_first_restart() {
        let mut s = sup(0, 1_000);
        assert!(!s.add_restart(0));
    }

    #[test]
    #[should_panic(expected = "exactly one child spec")]
    fn simple_one_for_one_needs_one_template() {
        let spec: SupervisorSpec<Nop> = SupervisorSpec::new(Strategy::SimpleOneForOne, vec![]);
        let _ = Supervisor::new(spec);
    }

    #[test]
    #[should_panic(expected = "duplicate child id")]
    fn child_ids_are_unique() {
        let spec = SupervisorSpec::new(
            Strategy::OneForOne,
            vec![ChildSpec::new(1, |_, _| Nop), ChildSpec::new(1, |_, _| Nop)],
        );
        let _ = Supervisor::new(spec);
    }
}
