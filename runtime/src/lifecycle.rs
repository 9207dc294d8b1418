//! How actors end, and what others learn of it: exit reasons, failure
//! kinds, the signals that carry the news (to a parent, to monitors, over
//! links), and the Akka-style decider that turns a failure into a directive.
//!
//! Names follow the reference systems: OTP's exit reasons, monitors
//! (`'DOWN'`), links and `trap_exit`; Akka's `Terminated` and supervisor
//! directives (`Resume`, `Restart`, `Stop`, `Escalate`).

use crate::id::{ActorId, RequestId};

/// Why an actor ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExitReason {
    /// It stopped itself ([`crate::Ctx::stop`]): OTP `normal`.
    Normal,
    /// It was asked to shut down and did ([`Signal::Shutdown`]): OTP `shutdown`.
    Shutdown,
    /// It was killed, untrappably ([`crate::Ctx::kill`], or a shutdown
    /// timeout): OTP `kill`/`killed`.
    Killed,
    /// It failed.
    Failed(FailureKind),
    /// Its node crashed.
    NodeDown,
    /// It was not alive when watched or linked: OTP `noproc`.
    NoProc,
}

impl ExitReason {
    /// OTP's notion: `normal` and `shutdown` are not failures; a link does
    /// not propagate them and a `transient` child is not restarted for them.
    pub fn is_abnormal(self) -> bool {
        !matches!(self, ExitReason::Normal | ExitReason::Shutdown)
    }

    /// A small code, for trace hashes.
    pub fn code(self) -> u64 {
        match self {
            ExitReason::Normal => 0,
            ExitReason::Shutdown => 1,
            ExitReason::Killed => 2,
            ExitReason::Failed(kind) => 16 + kind.code(),
            ExitReason::NodeDown => 3,
            ExitReason::NoProc => 4,
        }
    }
}

/// What kind of failure. The decider maps each to a [`Directive`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// A handler panicked (caught; the turn's effects are discarded).
    Panic,
    /// The actor reported an error with [`crate::Ctx::fail`].
    Error(u16),
    /// Crashed from outside (a fault injected by the simulator).
    Crash,
    /// A linked actor failed and this one does not trap exits.
    Linked,
    /// A supervisor gave up (restart intensity exceeded) or escalated.
    Escalated,
}

impl FailureKind {
    fn code(self) -> u64 {
        match self {
            FailureKind::Panic => 0,
            FailureKind::Error(c) => 100 + c as u64,
            FailureKind::Crash => 1,
            FailureKind::Linked => 2,
            FailureKind::Escalated => 3,
        }
    }
}

/// What a supervisor does about a child's failure (Akka's directives).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Directive {
    /// Keep the actor and its state; drop the failed turn's effects.
    Resume,
    /// Replace the actor with a fresh one (by the supervisor's strategy).
    Restart,
    /// Let it stay stopped.
    Stop,
    /// Fail the supervisor itself, so its parent decides.
    Escalate,
}

/// Akka's `Decider`: failure kind -> directive. Copied into each supervised
/// child at spawn, because `Resume` must act before the child is gone.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Decider {
    pub on_panic: Directive,
    pub on_error: Directive,
    pub on_crash: Directive,
    pub on_linked: Directive,
    pub on_escalated: Directive,
}

impl Default for Decider {
    /// Akka's default: restart on any failure.
    fn default() -> Self {
        Decider {
            on_panic: Directive::Restart,
            on_error: Directive::Restart,
            on_crash: Directive::Restart,
            on_linked: Directive::Restart,
            on_escalated: Directive::Restart,
        }
    }
}

impl Decider {
    /// Every failure gets `directive`.
    pub fn always(directive: Directive) -> Self {
        Decider {
            on_panic: directive,
            on_error: directive,
            on_crash: directive,
            on_linked: directive,
            on_escalated: directive,
        }
    }

    pub fn decide(&self, kind: FailureKind) -> Directive {
        match kind {
            FailureKind::Panic => self.on_panic,
            FailureKind::Error(_) => self.on_error,
            FailureKind::Crash => self.on_crash,
            FailureKind::Linked => self.on_linked,
            FailureKind::Escalated => self.on_escalated,
        }
    }
}

/// A system message to an actor, delivered to [`crate::Actor::on_signal`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// A child of this actor ended (the supervisor's view).
    ChildExited { child: ActorId, reason: ExitReason },
    /// A watched actor ended (OTP `'DOWN'`, Akka `Terminated`).
    Down { actor: ActorId, reason: ExitReason },
    /// A linked actor ended abnormally and this actor traps exits (OTP
    /// `{'EXIT', From, Reason}`). Without trapping, the actor fails too.
    Exit { from: ActorId, reason: ExitReason },
    /// The parent asks this actor to stop (OTP `shutdown`). The default
    /// handler stops at once; an actor may clean up first, within the
    /// parent's shutdown timeout, after which it is killed.
    Shutdown,
    /// Untrappable: the actor ends with [`ExitReason::Killed`] on arrival.
    Kill,
}

impl Signal {
    /// A small code, for trace hashes.
    pub fn code(&self) -> u64 {
        match self {
            Signal::ChildExited { .. } => 1,
            Signal::Down { .. } => 2,
            Signal::Exit { .. } => 3,
            Signal::Shutdown => 4,
            Signal::Kill => 5,
        }
    }

    /// Whether the news is of a node's death (the simulator delivers such
    /// signals to other nodes only after its failure-detection delay).
    pub fn is_node_down(&self) -> bool {
        matches!(
            self,
            Signal::ChildExited { reason: ExitReason::NodeDown, .. }
                | Signal::Down { reason: ExitReason::NodeDown, .. }
                | Signal::Exit { reason: ExitReason::NodeDown, .. }
        )
    }
}

/// An actor's lifecycle links, kept out of the hot actor table: only
/// actors that have a parent, watchers, links, a name or a decider have one.
#[derive(Clone, Debug, Default)]
pub(crate) struct Life {
    pub(crate) parent: Option<ActorId>,
    /// Actors to tell with [`Signal::Down`] when this one ends.
    pub(crate) watchers: Vec<ActorId>,
    /// Linked actors (both directions are recorded).
    pub(crate) links: Vec<ActorId>,
    pub(crate) trap_exits: bool,
    /// Set by the supervisor at spawn; `None`: every failure ends the actor.
    pub(crate) decider: Option<Decider>,
    pub(crate) name: Option<u64>,
    /// This actor's outstanding service calls, in call order: cancelled at
    /// the driver if it dies before they are settled. Short (an actor has
    /// few calls in flight); the capacity is kept, so steady state
    /// allocates nothing.
    pub(crate) calls: Vec<RequestId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_and_shutdown_are_not_abnormal() {
        assert!(!ExitReason::Normal.is_abnormal());
        assert!(!ExitReason::Shutdown.is_abnormal());
        for r in [ExitReason::Killed, ExitReason::NodeDown, ExitReason::NoProc, ExitReason::Failed(FailureKind::Panic)]
        {
            assert!(r.is_abnormal(), "{r:?}");
        }
    }

    #[test]
    fn decider_maps_each_kind() {
        let d = Decider { on_error: Directive::Resume, ..Decider::always(Directive::Stop) };
        assert_eq!(d.decide(FailureKind::Error(3)), Directive::Resume);
        assert_eq!(d.decide(FailureKind::Panic), Directive::Stop);
        assert_eq!(Decider::default().decide(FailureKind::Crash), Directive::Restart);
    }
}
