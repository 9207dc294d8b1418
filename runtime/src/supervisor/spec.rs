//! A supervisor's configuration ([`SupervisorSpec`], [`ChildSpec`] and the
//! policies they name) and what it counts ([`SupervisorStats`]).

#[cfg(doc)]
use super::Supervisor;
use crate::id::{Nanos, NodeId};
use crate::lifecycle::Decider;
#[cfg(doc)]
use crate::lifecycle::{Directive, ExitReason, FailureKind, Signal};

/// Which children are restarted with a failed one (OTP `strategy`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// OTP `one_for_one`, Akka `OneForOneStrategy`: restart only the child
    /// that ended.
    OneForOne,
    /// OTP `one_for_all`, Akka `AllForOneStrategy`: terminate every other
    /// child (reverse start order), then restart them all (start order).
    /// `temporary` children taken down this way are removed, not restarted.
    OneForAll,
    /// OTP `rest_for_one`: terminate the children started after the one that
    /// ended (reverse start order), then restart it and them (start order).
    RestForOne,
    /// OTP `simple_one_for_one`: the spec has exactly one child spec, a
    /// template; no child starts with the supervisor, children are added with
    /// [`Supervisor::start_child`] and restarted as under `one_for_one`.
    SimpleOneForOne,
}

/// When a child is restarted (OTP `restart` in a child spec).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Restart {
    /// OTP `permanent` (Akka `BackoffOpts.onStop`): always restarted.
    Permanent,
    /// OTP `transient` (Akka `BackoffOpts.onFailure`): restarted only after
    /// an abnormal exit ([`ExitReason::is_abnormal`]: not `Normal`, not
    /// `Shutdown`).
    Transient,
    /// OTP `temporary`: never restarted, not even when a sibling's failure
    /// takes it down under `one_for_all`/`rest_for_one` (it is removed).
    Temporary,
}

/// OTP restart intensity: `intensity` (MaxR) restarts within `period`
/// (MaxT). A restart that would make more than `max_restarts` restarts
/// within `period` makes the supervisor terminate all its children and fail
/// with [`FailureKind::Escalated`].
///
/// The window is inclusive, exactly as OTP's `supervisor:add_restart/3` and
/// `inPeriod/3` (`Now =< Then + Period`): a restart at `then` still counts
/// for a restart at `now` when `now - then <= period`, and no longer when
/// `now - then > period`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Intensity {
    /// OTP `intensity` (MaxR, default 1): restarts allowed within `period`.
    /// 0: the first restart escalates.
    pub max_restarts: u32,
    /// OTP `period` (MaxT, default 5 seconds), in nanoseconds.
    pub period: Nanos,
}

impl Default for Intensity {
    /// OTP's defaults: `intensity => 1, period => 5` (seconds).
    fn default() -> Self {
        Intensity { max_restarts: 1, period: 5_000_000_000 }
    }
}

/// What a backoff supervisor does with messages while its child is down.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum WhenDown {
    /// Akka Typed `BackoffSupervisorStrategy.withStashCapacity`: keep up to
    /// `capacity` messages and replay them, in order, to the restarted
    /// child; more are dropped and counted ([`SupervisorStats::stash_dropped`]).
    Stash { capacity: u32 },
    /// Akka classic `BackoffSupervisor`: drop them (dead letters), counted
    /// in [`SupervisorStats::dropped_while_down`].
    Drop,
}

/// Akka's `BackoffOpts` / `Behaviors.supervise(..).onFailure(SupervisorStrategy.restartWithBackoff(..))`.
///
/// The `n`-th consecutive restart (from 0) waits
/// `min(max, min * 2^n) * (1 + random_factor * u)` with `u` uniform in
/// `[0, 1)` (Akka `BackoffSupervisor.calculateDelay`; like Akka, the jitter
/// may take the delay above `max`). With a backoff the supervisor must have
/// exactly one child spec and strategy [`Strategy::OneForOne`]; restart
/// intensity ([`Intensity`]) does not apply, [`Backoff::max_restarts`] does.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Backoff {
    /// Akka `minBackoff`: the first delay.
    pub min: Nanos,
    /// Akka `maxBackoff`: the delay stops doubling here.
    pub max: Nanos,
    /// Akka `randomFactor`: up to this fraction of the delay is added at
    /// random (0.0: no jitter, no random draw).
    pub random_factor: f64,
    /// Akka `withAutoReset(resetBackoff)` / `resetBackoffAfter`: the count of
    /// consecutive restarts goes back to 0 when the child has run this long
    /// without ending.
    pub reset_after: Nanos,
    /// Akka `withMaxNrOfRetries` / `maxRestarts` (`None`: Akka's -1, no
    /// limit): after this many consecutive restarts the child stays stopped
    /// ([`SupervisorStats::gave_up`]).
    pub max_restarts: Option<u32>,
    /// What happens to messages while the child is down.
    pub when_down: WhenDown,
}

impl Backoff {
    /// The delay before restart number `n` (0-based, consecutive) given a
    /// uniform draw `u` in `[0, 1)`.
    pub fn delay(&self, n: u32, u: f64) -> Nanos {
        let doubled = 1u64.checked_shl(n).and_then(|f| self.min.checked_mul(f)).unwrap_or(Nanos::MAX);
        let base = doubled.min(self.max);
        (base as f64 * (1.0 + self.random_factor * u)) as Nanos
    }
}

/// How to build a child: OTP's start MFA as a closure, so that it can carry
/// the child's configuration.
pub type StartFn<A> = std::rc::Rc<dyn Fn(u64, u32) -> A>;

/// One child (OTP `child_spec()`, Ray actor options).
pub struct ChildSpec<A> {
    /// OTP `id`: unique among the supervisor's children. Also the child's
    /// registered name when `register` is set.
    pub id: u64,
    /// Register each incarnation under `id` (OTP `{local, Name}`), so that
    /// `tell_named(id, ..)` reaches whoever runs now.
    pub register: bool,
    /// Where to run it (Ray placement). When that node is down at (re)start,
    /// the first node of [`SupervisorSpec::fallback_nodes`] that is up.
    pub node: NodeId,
    /// OTP `restart`: permanent, transient or temporary.
    pub restart: Restart,
    /// OTP `shutdown`: how long the child has to end after
    /// [`Signal::Shutdown`] before it is killed; 0 is OTP `brutal_kill`
    /// (killed at once).
    pub shutdown: Nanos,
    /// Ray `max_restarts` (`None`: Ray's -1, unlimited): after this many
    /// restarts of this child it is not restarted again
    /// ([`SupervisorStats::gave_up`]); the supervisor does not escalate.
    pub max_restarts: Option<u32>,
    /// OTP `start` (the MFA): builds incarnation number `incarnation`
    /// (0 first, then 1, 2, ..) of child `id`.
    pub start: StartFn<A>,
}

impl<A> std::fmt::Debug for ChildSpec<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("register", &self.register)
            .field("node", &self.node)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("max_restarts", &self.max_restarts)
            .finish_non_exhaustive()
    }
}

impl<A> Clone for ChildSpec<A> {
    fn clone(&self) -> Self {
        ChildSpec { start: self.start.clone(), ..*self }
    }
}

impl<A> ChildSpec<A> {
    /// A permanent child on node 0, not registered, 5 s shutdown timeout
    /// (OTP's default for workers), no restart cap.
    pub fn new(id: u64, start: impl Fn(u64, u32) -> A + 'static) -> Self {
        ChildSpec {
            id,
            register: false,
            node: NodeId(0),
            restart: Restart::Permanent,
            shutdown: 5_000_000_000,
            max_restarts: None,
            start: std::rc::Rc::new(start),
        }
    }
}

/// A supervisor's configuration (OTP `sup_flags()` plus child specs).
#[derive(Debug)]
pub struct SupervisorSpec<A> {
    /// OTP `strategy`.
    pub strategy: Strategy,
    /// OTP `intensity` and `period`.
    pub intensity: Intensity,
    /// Akka `Decider`: what a child's failure means. Copied into each child
    /// at spawn, so that [`Directive::Resume`] acts in the child; the
    /// supervisor applies `Restart`, `Stop` and `Escalate`.
    pub decider: Decider,
    /// Akka backoff (one child only); `None`: restarts are immediate.
    pub backoff: Option<Backoff>,
    /// OTP `ChildSpecs`, in start order. For [`Strategy::SimpleOneForOne`],
    /// exactly one: the template.
    pub children: Vec<ChildSpec<A>>,
    /// Nodes to place a child on, in order of preference, when its own node
    /// is down (Ray reschedules a restarted actor on a live node). Empty: a
    /// child is always spawned on its own node (and fails there at once with
    /// [`ExitReason::NodeDown`] while the node is down).
    pub fallback_nodes: Vec<NodeId>,
}

impl<A> Clone for SupervisorSpec<A> {
    fn clone(&self) -> Self {
        SupervisorSpec {
            strategy: self.strategy,
            intensity: self.intensity,
            decider: self.decider,
            backoff: self.backoff,
            children: self.children.clone(),
            fallback_nodes: self.fallback_nodes.clone(),
        }
    }
}

impl<A> SupervisorSpec<A> {
    /// OTP defaults: the given strategy, intensity 1 in 5 s, Akka's default
    /// decider (restart), no backoff, no fallback nodes.
    pub fn new(strategy: Strategy, children: Vec<ChildSpec<A>>) -> Self {
        SupervisorSpec {
            strategy,
            intensity: Intensity::default(),
            decider: Decider::default(),
            backoff: None,
            children,
            fallback_nodes: Vec::new(),
        }
    }
}

/// What a supervisor counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SupervisorStats {
    /// Children started again after the first start (a `one_for_all`
    /// restart of three children counts 3).
    pub restarts: u64,
    /// Restart decisions that counted towards the intensity (a
    /// `one_for_all` restart counts 1, as in OTP).
    pub restart_events: u64,
    /// 1 once the supervisor escalated (intensity exceeded or
    /// [`Directive::Escalate`]); it escalates at most once.
    pub escalations: u32,
    /// Restarts not done because a cap was reached: Ray `max_restarts` or
    /// [`Backoff::max_restarts`].
    pub gave_up: u64,
    /// Messages dropped because the stash was full ([`WhenDown::Stash`]).
    pub stash_dropped: u64,
    /// Messages dropped because the child was down and there is no stash
    /// ([`WhenDown::Drop`], or no backoff).
    pub dropped_while_down: u64,
    /// Per child, in start order: total time it was not running, from the
    /// supervisor learning of an exit ([`Signal::ChildExited`]) to the
    /// restart, and up to the time of the query while it is down. (The
    /// supervisor cannot see the failure-detection delay before news of a
    /// node crash reaches it; that time is not included.) Children the supervisor no longer has (temporary ones, those
    /// stopped by the decider) are not listed.
    pub downtime: Vec<(u64, Nanos)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff() -> Backoff {
        Backoff {
            min: 100,
            max: 1_000,
            random_factor: 0.0,
            reset_after: 10_000,
            max_restarts: None,
            when_down: WhenDown::Drop,
        }
    }

    #[test]
    fn backoff_delay_doubles_up_to_max_then_jitters() {
        let b = backoff();
        let delays: Vec<Nanos> = (0..6).map(|n| b.delay(n, 0.0)).collect();
        assert_eq!(delays, vec![100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(b.delay(200, 0.0), 1_000, "no overflow");
        let j = Backoff { random_factor: 0.5, ..b };
        assert_eq!(j.delay(0, 0.5), 125);
        assert_eq!(j.delay(10, 0.999_999), 1_499, "like Akka, jitter may exceed max");
    }
}
