//! [`Ctx`]: how a handler asks for effects. Effects are data in a buffer
//! that the [`crate::System`] drains after the handler returns.

use crate::actor::Actor;
use crate::env::Env;
use crate::envelope::ReplyTo;
use crate::id::{ActorId, Nanos, NodeId, RequestId, ServiceId, TimerId};
use crate::ids::Ids;
use crate::lifecycle::{Decider, ExitReason, FailureKind, Signal};
use crate::registry::Registry;
use crate::service::ServiceCall;

/// A source of randomness, provided by the driver (a seeded stream in the
/// simulator). The runtime has no randomness of its own.
pub trait Entropy {
    fn next_u64(&mut self) -> u64;

    /// A BUGGIFY fault point (FoundationDB): whether fault point `site`
    /// fires now. In a simulation each site is enabled or not for the whole
    /// run, from the seed, and an enabled site fires with a set probability;
    /// a production driver keeps this default, `false`.
    fn buggify(&mut self, site: u64) -> bool {
        let _ = site;
        false
    }
}

/// One requested effect.
#[derive(Debug)]
pub(crate) enum Effect<A: Actor> {
    Tell {
        to: ActorId,
        msg: A::Msg,
    },
    Ask {
        to: ActorId,
        msg: A::Msg,
        request: RequestId,
        timeout: Nanos,
    },
    Reply {
        to: ReplyTo,
        msg: A::Msg,
    },
    Call {
        call: ServiceCall,
        request: RequestId,
        timeout: Nanos,
    },
    SetTimer {
        timer: TimerId,
        after: Nanos,
        tag: u64,
    },
    CancelTimer {
        timer: TimerId,
    },
    /// Forget an outstanding ask or service call (a service call is
    /// cancelled at the driver too).
    Cancel {
        request: RequestId,
    },
    Spawn {
        child: ActorId,
        node: NodeId,
        actor: A,
        decider: Option<Decider>,
    },
    /// This actor ends with `reason` after the turn.
    Exit {
        reason: ExitReason,
    },
    Signal {
        to: ActorId,
        signal: Signal,
    },
    Watch {
        target: ActorId,
    },
    Unwatch {
        target: ActorId,
    },
    Link {
        target: ActorId,
    },
    Unlink {
        target: ActorId,
    },
    TrapExits {
        trap: bool,
    },
    Register {
        name: u64,
    },
    RegisterActor {
        name: u64,
        actor: ActorId,
    },
    TellNamed {
        name: u64,
        msg: A::Msg,
    },
    SetAccepting {
        accepting: bool,
    },
}

/// The handler's view of the world: who it is, what time it is, where the
/// current message came from, and the effects it asks for.
pub struct Ctx<'a, A: Actor> {
    pub(crate) me: ActorId,
    pub(crate) node: NodeId,
    pub(crate) now: Nanos,
    pub(crate) reply_to: Option<ReplyTo>,
    pub(crate) effects: &'a mut Vec<Effect<A>>,
    pub(crate) ids: &'a mut Ids,
    /// The driver: randomness, and the failure detector's delay (a virtual
    /// call, made only when a handler asks for randomness or about a node
    /// or name whose death news may not have arrived yet).
    pub(crate) env: &'a mut dyn Env<A::Msg>,
    /// Registered names and down nodes (as of the start of this turn).
    pub(crate) registry: &'a Registry,
}

impl<A: Actor> std::fmt::Debug for Ctx<'_, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("me", &self.me)
            .field("node", &self.node)
            .field("now", &self.now)
            .field("reply_to", &self.reply_to)
            .finish_non_exhaustive()
    }
}

impl<A: Actor> Ctx<'_, A> {
    /// This actor's address.
    #[inline]
    pub fn me(&self) -> ActorId {
        self.me
    }

    /// The node this actor runs on.
    #[inline]
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The driver's current time. The only clock an actor may read.
    #[inline]
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// A random `u64` from the driver's seeded stream for actors.
    #[inline]
    pub fn random_u64(&mut self) -> u64 {
        self.env.next_u64()
    }

    /// A random integer uniform in `[0, bound)` (`bound > 0`), without
    /// modulo bias (Lemire's multiply-shift with rejection).
    pub fn random_below(&mut self, bound: u64) -> u64 {
        debug_assert!(bound > 0);
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let m = (self.env.next_u64() as u128) * (bound as u128);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// A BUGGIFY fault point (FoundationDB style): place `if ctx.buggify(SITE)`
    /// where a rare but legal thing could happen (a spurious error, an extra
    /// delay), so simulation explores it. Each `site` (a constant unique to
    /// the place) is enabled or not for a whole run, from the seed; an
    /// enabled site fires with the scenario's probability. Always `false`
    /// outside simulation or when the scenario turns fault points off.
    pub fn buggify(&mut self, site: u64) -> bool {
        self.env.buggify(site)
    }

    /// Where to send the answer if the current message is an ask.
    #[inline]
    pub fn reply_to(&self) -> Option<ReplyTo> {
        self.reply_to
    }

    /// Fire-and-forget message to `to`.
    #[inline]
    pub fn tell(&mut self, to: ActorId, msg: A::Msg) {
        self.effects.push(Effect::Tell { to, msg });
    }

    /// Send `msg` to `to` as a request. Its answer, or [`crate::Response::Timeout`]
    /// after `timeout`, comes back to [`Actor::on_response`] with the returned id.
    pub fn ask(&mut self, to: ActorId, msg: A::Msg, timeout: Nanos) -> RequestId {
        let request = self.ids.next_request();
        self.effects.push(Effect::Ask { to, msg, request, timeout });
        request
    }

    /// Answer an ask (now or later: keep the [`ReplyTo`] as long as needed).
    #[inline]
    pub fn reply(&mut self, to: ReplyTo, msg: A::Msg) {
        self.effects.push(Effect::Reply { to, msg });
    }

    /// Call a service. Its outcome, or a timeout, comes back to
    /// [`Actor::on_response`] as [`crate::Response::Service`]. If the
    /// timeout fires first, the call is cancelled at the driver
    /// ([`crate::Env::cancel_call`]), as it is if this actor cancels it
    /// ([`Ctx::cancel`]) or dies before the answer.
    pub fn call(&mut self, service: ServiceId, input_tokens: u32, idempotency_key: u64, timeout: Nanos) -> RequestId {
        self.call_traced(ServiceCall { service, input_tokens, idempotency_key, timeout, trace: idempotency_key })
    }

    /// [`Ctx::call`] with every field of the call given, its trace context
    /// ([`ServiceCall::trace`]) included.
    pub fn call_traced(&mut self, call: ServiceCall) -> RequestId {
        let request = self.ids.next_request();
        let timeout = call.timeout;
        self.effects.push(Effect::Call { call, request, timeout });
        request
    }

    /// Give up on an outstanding ask or service call of this actor (when
    /// the effect is applied): it is forgotten, so its answer, if one still
    /// comes, is a late reply (dropped and counted, never given to
    /// [`Actor::on_response`]), and its timeout does not fire. A service
    /// call is also cancelled at the driver ([`crate::Env::cancel_call`]);
    /// for an ask nothing is sent (the callee may still answer). A no-op for
    /// a request that is already settled or not this actor's.
    pub fn cancel(&mut self, request: RequestId) {
        self.effects.push(Effect::Cancel { request });
    }

    /// Fire [`Actor::on_timer`] with `tag` after `after` nanoseconds.
    pub fn set_timer(&mut self, after: Nanos, tag: u64) -> TimerId {
        let timer = self.ids.next_timer();
        self.effects.push(Effect::SetTimer { timer, after, tag });
        timer
    }

    /// Cancel a timer; cancelling one that already fired is a no-op.
    pub fn cancel_timer(&mut self, timer: TimerId) {
        self.effects.push(Effect::CancelTimer { timer });
    }

    /// Spawn a child on this actor's node. It starts (its `on_start` runs)
    /// when this handler's effects are applied. This actor is its parent:
    /// it gets [`Signal::ChildExited`] when the child ends.
    pub fn spawn(&mut self, actor: A) -> ActorId {
        let node = self.node;
        self.spawn_on(node, actor)
    }

    /// Spawn a child on `node`. On a node that is down, the child ends at
    /// once with [`ExitReason::NodeDown`].
    pub fn spawn_on(&mut self, node: NodeId, actor: A) -> ActorId {
        let child = self.ids.reserve_actor();
        self.effects.push(Effect::Spawn { child, node, actor, decider: None });
        child
    }

    /// Spawn a supervised child on `node`: its failures go through
    /// `decider` first ([`crate::Directive::Resume`] keeps it alive).
    pub fn spawn_supervised(&mut self, node: NodeId, actor: A, decider: Decider) -> ActorId {
        let child = self.ids.reserve_actor();
        self.effects.push(Effect::Spawn { child, node, actor, decider: Some(decider) });
        child
    }

    /// Stop this actor once the handler returns, normally (OTP `normal`).
    /// Queued messages are dropped and counted.
    pub fn stop(&mut self) {
        self.exit(ExitReason::Normal);
    }

    /// End this actor with `reason` once the handler returns.
    pub fn exit(&mut self, reason: ExitReason) {
        self.effects.push(Effect::Exit { reason });
    }

    /// Report a failure of this actor: its decider (if supervised) resumes
    /// it, or it ends with [`FailureKind::Error`]`(code)`.
    pub fn fail(&mut self, code: u16) {
        self.effects.push(Effect::Exit { reason: ExitReason::Failed(FailureKind::Error(code)) });
    }

    /// Ask `actor` to shut down ([`Signal::Shutdown`]).
    pub fn shutdown(&mut self, actor: ActorId) {
        self.effects.push(Effect::Signal { to: actor, signal: Signal::Shutdown });
    }

    /// Kill `actor`: it ends with [`ExitReason::Killed`] on arrival.
    pub fn kill(&mut self, actor: ActorId) {
        self.effects.push(Effect::Signal { to: actor, signal: Signal::Kill });
    }

    /// Get [`Signal::Down`] when `actor` ends (at once, with
    /// [`ExitReason::NoProc`], if it is not alive).
    pub fn watch(&mut self, actor: ActorId) {
        self.effects.push(Effect::Watch { target: actor });
    }

    pub fn unwatch(&mut self, actor: ActorId) {
        self.effects.push(Effect::Unwatch { target: actor });
    }

    /// Link with `actor`: when either ends abnormally, the other gets
    /// [`Signal::Exit`] if it traps exits, and otherwise fails too.
    pub fn link(&mut self, actor: ActorId) {
        self.effects.push(Effect::Link { target: actor });
    }

    pub fn unlink(&mut self, actor: ActorId) {
        self.effects.push(Effect::Unlink { target: actor });
    }

    /// Turn exit signals from links into [`Signal::Exit`] messages (OTP
    /// `process_flag(trap_exit, true)`) instead of failing.
    pub fn trap_exits(&mut self, trap: bool) {
        self.effects.push(Effect::TrapExits { trap });
    }

    /// Register this actor under `name` (replacing any earlier holder), so
    /// others can reach whoever holds the name now, across restarts.
    pub fn register(&mut self, name: u64) {
        self.effects.push(Effect::Register { name });
    }

    /// Register `actor` (e.g. a child spawned earlier in this turn) under
    /// `name`, as OTP's `{local, Name}` child registration does: ignored if
    /// `actor` is not alive when the effect is applied.
    pub fn register_actor(&mut self, name: u64, actor: ActorId) {
        self.effects.push(Effect::RegisterActor { name, actor });
    }

    /// Tell whoever holds `name` when the effect is applied (dropped and
    /// counted if nobody does).
    pub fn tell_named(&mut self, name: u64, msg: A::Msg) {
        self.effects.push(Effect::TellNamed { name, msg });
    }

    /// Who holds `name` now (as of the start of this turn), as this actor
    /// can know it. A new registration is seen at once. A holder's death is
    /// seen at once, except when the holder died because its node went down
    /// and this actor is on another node: then, until the failure-detection
    /// delay ([`crate::Env::failure_detection_delay`]) has passed since the
    /// crash (or the node restarts), this still returns the dead holder (a
    /// tell to it is dropped as sent to a dead receiver, an ask to it times
    /// out). A crash of one actor on a live node is seen at once everywhere:
    /// its node's runtime reports it promptly.
    #[inline]
    pub fn whereis(&self, name: u64) -> Option<ActorId> {
        self.registry.whereis(&*self.env, self.node, self.now, name)
    }

    /// Whether `node` is up, as this actor can know it: a crash is seen at
    /// once on the node itself and, from another node, only once the
    /// failure-detection delay has passed since the crash; a restart is
    /// seen at once. So a node may be down yet look up: spawning there
    /// then fails at once ([`Ctx::spawn_on`]), and the news of that comes
    /// after the delay.
    #[inline]
    pub fn node_is_up(&self, node: NodeId) -> bool {
        self.registry.node_is_up(&*self.env, self.node, self.now, node)
    }

    /// While `false`, new messages wait in the bounded mailbox instead of
    /// reaching [`Actor::handle`]; responses and timers still arrive. This is
    /// how an agent works on one request at a time (OTP: postponing).
    pub fn set_accepting(&mut self, accepting: bool) {
        self.effects.push(Effect::SetAccepting { accepting });
    }
}
