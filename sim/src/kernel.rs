//! The deterministic kernel: a virtual clock, the event queue, the trace,
//! limits, and the [`Sim`] that drives a [`System`] of actors through a
//! [`World`].

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Debug;

use rand_core::Rng;
use rehearsal_runtime::{
    Actor, ActorId, Entropy, Env, Envelope, Nanos, NodeId, RequestId, ServiceCall, ServiceOutcome, Signal, System,
    SystemConfig, TimerId, TimerKind, TraceEvent,
};

use crate::activity::{ActivityLog, SendKind, What};
use crate::buggify::{Buggify, BuggifyConfig};
use crate::fmt_nanos;
use crate::net::{LossReason, Network, PartitionId, Transit};
use crate::queue::EventQueue;
use crate::rng::{StreamRng, stream};
use crate::trace::{Trace, TraceKind, TraceMode};

/// Bounds on one run. Hitting one ends the run with a [`SimError`] that
/// names it: a run never hangs and never grows without bound.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Events processed.
    pub max_events: u64,
    /// Simulated time an event may be scheduled at.
    pub max_sim_time: Nanos,
    /// Events waiting in the queue and messages waiting in mailboxes, at
    /// once (the default, 2,000,000, keeps a runaway under about 300 MB).
    pub max_queued_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_events: 50_000_000, max_sim_time: 24 * 3_600 * 1_000_000_000, max_queued_events: 2_000_000 }
    }
}

/// Why a run stopped early.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("limit `max_events` reached: {limit} events processed by simulated time {at}")]
    EventLimit { limit: u64, at: String },
    #[error("limit `max_sim_time` reached: an event is due at {due}, after the limit of {limit}")]
    TimeLimit { limit: String, due: String },
    #[error("limit `max_queued_events` reached: {limit} events and mailboxed messages waiting at simulated time {at}")]
    QueueLimit { limit: usize, at: String },
}

impl SimError {
    /// The scenario key that sets the limit that was hit.
    pub fn limit_name(&self) -> &'static str {
        match self {
            SimError::EventLimit { .. } => "max_events",
            SimError::TimeLimit { .. } => "max_sim_time",
            SimError::QueueLimit { .. } => "max_queued_events",
        }
    }
}

/// How a run ended without error.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// No event was left.
    Idle,
    /// The next event was after the horizon given to [`Sim::run_until`].
    Horizon,
}

/// One scheduled event. Messages travel inline: no allocation per event.
#[derive(Debug)]
pub enum Event<M, WE> {
    Deliver {
        to: ActorId,
        envelope: Envelope<M>,
    },
    Timer {
        owner: ActorId,
        timer: TimerId,
        kind: TimerKind,
    },
    CallDone {
        caller: ActorId,
        request: RequestId,
        outcome: ServiceOutcome,
    },
    /// A system signal arrives (exit news, shutdown, kill).
    Signal {
        to: ActorId,
        signal: Signal,
    },
    /// A fault from outside, kept in the kernel's side table until due (so
    /// that events stay plain data with no drop glue: a `Vec` in a fault
    /// would make every queue operation check for one).
    Fault(FaultSlot),
    World(WE),
}

/// BUGGIFY site in the kernel: a message takes ten times its latency.
pub const SITE_SLOW_MESSAGE: u64 = 0x5e4d_0001;

/// A fault the kernel applies to the actor system or the network.
///
/// Network faults change the kernel's [`Network`] when they are due (see
/// [`Network::partition`], [`Network::clog_link`] for their semantics);
/// unclogging releases the messages held on every link that is no longer
/// clogged, in the order they were sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The actor crashes ([`rehearsal_runtime::FailureKind::Crash`]).
    CrashActor(ActorId),
    /// Whoever holds the registered name then crashes (nothing if nobody).
    CrashNamed(u64),
    /// Every actor on the node dies at once; messages in flight to them are lost.
    CrashNode(NodeId),
    /// The node is back (empty: supervisors restart what they supervise),
    /// or joins after a [`Fault::RemoveNode`].
    RestartNode(NodeId),
    /// The node leaves the cluster, or is not in it yet: as a crash, but
    /// every node knows at once.
    RemoveNode(NodeId),
    /// Cut the links between `groups` (only from earlier groups to later
    /// ones if `one_way`) until [`Fault::Heal`] with the same `id`.
    Partition { id: u32, groups: Vec<Vec<NodeId>>, one_way: bool },
    /// End partition `id`.
    Heal { id: u32 },
    /// Hold the messages on the link `from -> to`.
    ClogLink { from: NodeId, to: NodeId },
    /// Release the link `from -> to`.
    UnclogLink { from: NodeId, to: NodeId },
    /// Hold the messages on every link into and out of the node.
    ClogNode(NodeId),
    /// Release the node's links.
    UnclogNode(NodeId),
}

impl Fault {
    /// Does the fault crash actors (counted by [`Kernel::crashes`])?
    pub fn is_crash(&self) -> bool {
        matches!(self, Fault::CrashActor(_) | Fault::CrashNamed(_) | Fault::CrashNode(_))
    }
}

/// Where a scheduled [`Fault`] waits in the kernel until it is due.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FaultSlot(u64);

/// A message held on a clogged link, with its destination actor.
#[derive(Debug)]
struct HeldMessage<M> {
    to: ActorId,
    envelope: Envelope<M>,
    sent_at: Nanos,
}

/// Everything outside the actors: services, clients, faults. A world reacts
/// to service calls and to replies to outside requests, and schedules
/// events of its own through the [`Kernel`].
pub trait World<M>: Sized {
    type Event: Debug;

    /// One of this world's own events is due.
    fn on_event(&mut self, event: Self::Event, kernel: &mut Kernel<M, Self::Event>);

    /// An actor called a service; answer with [`Kernel::complete_call`]
    /// (or never: the caller's timeout settles it).
    fn on_call(
        &mut self,
        caller: ActorId,
        node: NodeId,
        request: RequestId,
        call: ServiceCall,
        kernel: &mut Kernel<M, Self::Event>,
    );

    /// An actor answered a request that came from outside.
    fn on_external_reply(&mut self, from: ActorId, request: RequestId, msg: M, kernel: &mut Kernel<M, Self::Event>);

    /// Service call `request` of `caller` is cancelled: the caller's
    /// timeout fired, it cancelled the call ([`rehearsal_runtime::Ctx::cancel`])
    /// or it died with the call pending. The runtime no longer waits for
    /// the answer (one that still comes with [`Kernel::complete_call`] is a
    /// late reply); the world may stop the work (free a slot, stop billing).
    /// Called at most once per call, never for one the runtime has settled.
    /// The default does nothing.
    fn on_cancel(&mut self, caller: ActorId, request: RequestId, kernel: &mut Kernel<M, Self::Event>) {
        let _ = (caller, request, kernel);
    }
}

/// A world with nothing in it: service calls are never answered (they time
/// out) and outside replies are ignored. For benchmarks and tests.
#[derive(Debug, Default)]
pub struct EmptyWorld;

impl<M> World<M> for EmptyWorld {
    type Event = ();
    fn on_event(&mut self, _: (), _: &mut Kernel<M, ()>) {}
    fn on_call(&mut self, _: ActorId, _: NodeId, _: RequestId, _: ServiceCall, _: &mut Kernel<M, ()>) {}
    fn on_external_reply(&mut self, _: ActorId, _: RequestId, _: M, _: &mut Kernel<M, ()>) {}
}

/// The clock, the queue, the trace, the limits and the kernel's own random
/// streams. Worlds schedule through it.
pub struct Kernel<M, WE> {
    now: Nanos,
    seed: u64,
    queue: EventQueue<Event<M, WE>>,
    events: u64,
    /// Crash faults applied (actor and node crashes).
    crashes: u64,
    limits: Limits,
    trace: Trace,
    network: Network,
    /// Messages held on clogged links, per link, in send order.
    held: BTreeMap<(NodeId, NodeId), VecDeque<HeldMessage<M>>>,
    /// Scheduled faults, by slot (see [`Event::Fault`]).
    faults: BTreeMap<FaultSlot, Fault>,
    next_fault: u64,
    rng_network: StreamRng,
    rng_runtime: StreamRng,
    buggify: Buggify,
    /// The structured record for timeline viewers, when the run keeps one.
    activity: Option<Box<ActivityLog>>,
}

impl<M, WE> Debug for Kernel<M, WE> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("now", &self.now)
            .field("seed", &self.seed)
            .field("queue", &self.queue)
            .field("events", &self.events)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<M: Debug + std::hash::Hash, WE: Debug> Kernel<M, WE> {
    /// Current simulated time.
    #[inline]
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// The run's seed: worlds derive their own streams from it with
    /// [`crate::rng::stream`].
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Events processed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Whether BUGGIFY fault point `site` fires now (traced when it does).
    /// Worlds and the kernel place fault points through this too.
    pub fn buggify(&mut self, site: u64) -> bool {
        let fires = self.buggify.fires(site);
        if fires {
            let now = self.now;
            self.trace.event(TraceKind::Fault, now, site, 1, &(), || format!("buggify site {site:#x} fired"));
            if let Some(log) = self.activity.as_deref_mut() {
                log.push(now, What::Buggify { site });
            }
        }
        fires
    }

    /// BUGGIFY fault points fired so far.
    pub fn buggify_fired(&self) -> u64 {
        self.buggify.fired
    }

    /// BUGGIFY fires so far, per site.
    pub fn buggify_fired_by_site(&self) -> &BTreeMap<u64, u64> {
        self.buggify.fired_by_site()
    }

    /// Crash faults applied so far (actor and node crashes).
    pub fn crashes(&self) -> u64 {
        self.crashes
    }

    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The recorded events (empty unless the run records its trace).
    pub fn take_trace_records(&mut self) -> Vec<crate::trace::TraceRecord> {
        self.trace.take_records()
    }

    /// The trace's checkpoints (see [`TraceMode::Checkpoints`]).
    pub fn take_trace_checkpoints(&mut self) -> Vec<u64> {
        self.trace.take_checkpoints()
    }

    /// The structured record of the run so far, if it keeps one
    /// ([`SimBuilder::activity`]).
    pub fn activity(&self) -> Option<&ActivityLog> {
        self.activity.as_deref()
    }

    /// Take the structured record (the run keeps no more of it).
    pub fn take_activity(&mut self) -> Option<ActivityLog> {
        self.activity.take().map(|log| *log)
    }

    /// Schedule a world event.
    pub fn schedule(&mut self, at: Nanos, event: WE) {
        self.queue.push(at, Event::World(event));
    }

    /// Deliver `envelope` to `to` at `at` (a message from outside).
    pub fn deliver_at(&mut self, at: Nanos, to: ActorId, envelope: Envelope<M>) {
        if let Some(log) = self.activity.as_deref_mut() {
            let request = match envelope.route {
                rehearsal_runtime::Route::Ask(request) => Some(request.0),
                _ => None,
            };
            log.push(self.now, What::Inbound { to, message: self.queue.next_seq(), request });
        }
        self.queue.push(at, Event::Deliver { to, envelope });
    }

    /// Answer service call `request` of `caller` at `at`.
    pub fn complete_call(&mut self, at: Nanos, caller: ActorId, request: RequestId, outcome: ServiceOutcome) {
        self.trace.event(TraceKind::ServiceDone, self.now, caller.to_bits(), request.0, &(at, outcome), || {
            format!("service outcome for {caller} request {} due at {}: {outcome:?}", request.0, fmt_nanos(at))
        });
        self.queue.push(at, Event::CallDone { caller, request, outcome });
    }

    /// Apply `fault` at `at`.
    pub fn fault_at(&mut self, at: Nanos, fault: Fault) {
        let slot = FaultSlot(self.next_fault);
        self.next_fault += 1;
        self.faults.insert(slot, fault);
        self.queue.push(at, Event::Fault(slot));
    }

    /// The network (latencies, link overrides, partitions, clogs).
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The network, to configure links or partitions. Clog and unclog
    /// through [`Fault`]s instead (or call [`Kernel::release_held`] after an
    /// unclog made here): the kernel holds the clogged messages.
    pub fn network_mut(&mut self) -> &mut Network {
        self.network.touch();
        &mut self.network
    }

    /// Messages held on clogged links right now.
    pub fn held_messages(&self) -> usize {
        self.held.values().map(VecDeque::len).sum()
    }

    /// Fold a world event into the trace.
    pub fn trace_world<P: std::hash::Hash + Debug>(&mut self, a: u64, b: u64, payload: &P) {
        let now = self.now;
        self.trace.event(TraceKind::World, now, a, b, payload, || format!("world {a} {b}: {payload:?}"));
    }
}

impl<M: Clone + Debug + std::hash::Hash, WE: Debug> Kernel<M, WE> {
    /// Send `envelope` from `from_node` to actor `to` on `to_node` through
    /// the network: `kind` is [`TraceKind::Send`], or
    /// [`TraceKind::NetworkRelease`] for a message leaving a clog (first
    /// sent at `sent_at`).
    #[inline(always)]
    fn send(
        &mut self,
        from_node: NodeId,
        to_node: NodeId,
        to: ActorId,
        envelope: Envelope<M>,
        kind: TraceKind,
        sent_at: Nanos,
    ) {
        let now = self.now;
        let from = envelope.from;
        match self.network.transit(now, from_node, to_node, &mut self.rng_network) {
            Transit::Deliver { mut at, duplicate_at } => {
                // BUGGIFY: now and then a message takes ten times as long
                // (a GC pause, a retransmission).
                if kind == TraceKind::Send && self.buggify.is_on() && self.buggify(SITE_SLOW_MESSAGE) {
                    at = now.saturating_add(at.saturating_sub(now).saturating_mul(10));
                }
                self.trace.event(kind, now, from.to_bits(), to.to_bits(), &(at, &envelope.msg), || {
                    let verb = if kind == TraceKind::Send { "send" } else { "release" };
                    format!("{verb} {from} -> {to} arriving {}: {:?} {:?}", fmt_nanos(at), envelope.route, envelope.msg)
                });
                if let Some(again) = duplicate_at {
                    self.duplicate(again, to, &envelope);
                }
                if let Some(log) = self.activity.as_deref_mut() {
                    // The delivery's sequence number: the push just below.
                    let message = self.queue.next_seq();
                    let how = if kind == TraceKind::Send { SendKind::Sent } else { SendKind::Released { at: now } };
                    log.push(sent_at, What::Send { from, to, message, arrives_at: at, how });
                }
                self.queue.push(at, Event::Deliver { to, envelope });
            }
            Transit::Lost(reason) => self.lose(to, envelope, reason),
            Transit::Held => self.hold(from_node, to_node, to, envelope),
        }
    }

    #[cold]
    #[inline(never)]
    fn duplicate(&mut self, at: Nanos, to: ActorId, envelope: &Envelope<M>) {
        let now = self.now;
        let from = envelope.from;
        self.trace.event(TraceKind::NetworkDuplicate, now, from.to_bits(), to.to_bits(), &(at, &envelope.msg), || {
            format!("network duplicates {from} -> {to}, copy arriving {}: {:?}", fmt_nanos(at), envelope.msg)
        });
        if let Some(log) = self.activity.as_deref_mut() {
            let message = self.queue.next_seq();
            log.push(now, What::Send { from, to, message, arrives_at: at, how: SendKind::Duplicate });
        }
        self.queue.push(at, Event::Deliver { to, envelope: envelope.clone() });
    }

    #[cold]
    #[inline(never)]
    fn lose(&mut self, to: ActorId, envelope: Envelope<M>, reason: LossReason) {
        let now = self.now;
        let from = envelope.from;
        self.trace.event(
            TraceKind::NetworkDrop,
            now,
            from.to_bits(),
            to.to_bits(),
            &(reason.code(), &envelope.msg),
            || format!("network lost {from} -> {to} ({reason:?}): {:?}", envelope.msg),
        );
        if let Some(log) = self.activity.as_deref_mut() {
            log.push_with_text(now, &envelope.msg, |text| What::Lost { from, to, reason, text });
        }
    }

    #[cold]
    #[inline(never)]
    fn hold(&mut self, from_node: NodeId, to_node: NodeId, to: ActorId, envelope: Envelope<M>) {
        let now = self.now;
        let from = envelope.from;
        let link = (u64::from(from_node.0) << 16) | u64::from(to_node.0);
        self.trace.event(TraceKind::NetworkHold, now, from.to_bits(), to.to_bits(), &(link, &envelope.msg), || {
            format!("network holds {from} -> {to} (link {} -> {} clogged): {:?}", from_node.0, to_node.0, envelope.msg)
        });
        if let Some(log) = self.activity.as_deref_mut() {
            log.push(now, What::Held { from, to });
        }
        self.held.entry((from_node, to_node)).or_default().push_back(HeldMessage { to, envelope, sent_at: now });
    }

    /// Release the messages held on every link that is no longer clogged:
    /// links in (from, to) order, each link's messages in send order, each
    /// sent anew now (so it arrives after the link's latency, on an ordered
    /// link in send order; partitions, loss and duplication apply as to any
    /// message sent now). The kernel calls this when it applies an unclog
    /// fault.
    pub fn release_held(&mut self) {
        let ready: Vec<(NodeId, NodeId)> =
            self.held.keys().copied().filter(|&(from, to)| !self.network.is_clogged(from, to)).collect();
        for link in ready {
            let Some(messages) = self.held.remove(&link) else { continue };
            for held in messages {
                debug_assert!(held.sent_at <= self.now);
                self.send(link.0, link.1, held.to, held.envelope, TraceKind::NetworkRelease, held.sent_at);
            }
        }
    }
}

/// A run: the kernel, the actor system and the world, stepped together.
/// Built by a [`SimBuilder`] (or [`Sim::new`] from a [`SimConfig`]); its
/// configuration is fixed from then on.
pub struct Sim<A: Actor, W: World<A::Msg>> {
    kernel: Kernel<A::Msg, W::Event>,
    system: System<A>,
    world: W,
}

impl<A: Actor, W: World<A::Msg>> Debug for Sim<A, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim").field("kernel", &self.kernel).field("system", &self.system).finish_non_exhaustive()
    }
}

/// Builds a [`Sim`], turmoil-style: every setting has a default; `build`
/// fixes them for the run.
///
/// ```
/// use rehearsal_runtime::{Actor, Ctx, NodeId, OverflowPolicy, TimerId};
/// use rehearsal_sim::net::{Latency, Network};
/// use rehearsal_sim::{EmptyWorld, Limits, Sim, SimBuilder};
///
/// /// Counts its own ticks, one every millisecond, up to ten.
/// #[derive(Debug, Default)]
/// struct Ticker(u32);
///
/// impl Actor for Ticker {
///     type Msg = ();
///     fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
///         ctx.set_timer(1_000_000, 0);
///     }
///     fn handle(&mut self, _: (), _: &mut Ctx<'_, Self>) {}
///     fn on_timer(&mut self, _: TimerId, _: u64, ctx: &mut Ctx<'_, Self>) {
///         self.0 += 1;
///         if self.0 < 10 {
///             ctx.set_timer(1_000_000, 0);
///         }
///     }
/// }
///
/// let mut sim: Sim<Ticker, EmptyWorld> = SimBuilder::new()
///     .seed(42)
///     .limits(Limits { max_events: 1_000, ..Limits::default() })
///     .network(Network { remote: Latency::Fixed(2_000_000), ..Network::default() })
///     .mailboxes(64, OverflowPolicy::Reject)
///     .build(EmptyWorld);
/// let ticker = sim.spawn(NodeId(0), Ticker::default());
/// sim.run().unwrap();
/// assert_eq!(sim.kernel().now(), 10_000_000);
/// assert_eq!(sim.system().actor(ticker).map(|t| t.0), Some(10));
/// ```
#[derive(Clone, Debug, Default)]
pub struct SimBuilder {
    config: SimConfig,
    links: Vec<(NodeId, NodeId, crate::net::LinkModel)>,
}

impl SimBuilder {
    /// Every setting at its default: seed 0, [`Limits::default`], the
    /// default network, mailboxes of 1024 that refuse beyond, the trace
    /// hash only, BUGGIFY as [`BuggifyConfig::default`].
    pub fn new() -> Self {
        SimBuilder::default()
    }

    /// The seed every random stream of the run derives from (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// Events, simulated time and queued work a run may reach.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// The network between nodes (latency, loss, duplication, reordering,
    /// failure detection).
    pub fn network(mut self, network: Network) -> Self {
        self.config.network = network;
        self
    }

    /// One directed link's own model, over the network's.
    pub fn link(mut self, from: NodeId, to: NodeId, model: crate::net::LinkModel) -> Self {
        self.links.push((from, to, model));
        self
    }

    /// Every mailbox's bound and what happens beyond it.
    pub fn mailboxes(mut self, capacity: u32, overflow: rehearsal_runtime::OverflowPolicy) -> Self {
        self.config.system = SystemConfig { mailbox_capacity: capacity, overflow };
        self
    }

    /// What the trace keeps beyond its hash (every event's text, checkpoints, a window).
    pub fn trace(mut self, trace: TraceMode) -> Self {
        self.config.trace = trace;
        self
    }

    /// BUGGIFY fault points.
    pub fn buggify(mut self, buggify: BuggifyConfig) -> Self {
        self.config.buggify = buggify;
        self
    }

    /// Keep a structured record of the run for timeline viewers, of at
    /// most `max_records` records ([`crate::activity`]); it does not
    /// change the run.
    pub fn activity(mut self, max_records: usize) -> Self {
        self.config.activity = Some(max_records);
        self
    }

    /// The simulation, around `world`.
    pub fn build<A: Actor, W: World<A::Msg>>(self, world: W) -> Sim<A, W> {
        let mut sim = Sim::new(self.config, world);
        for (from, to, model) in self.links {
            sim.kernel.network_mut().set_link(from, to, model);
        }
        sim
    }
}

/// How to build a [`Sim`] (see also [`SimBuilder`]).
#[derive(Clone, Debug, Default)]
pub struct SimConfig {
    pub seed: u64,
    pub limits: Limits,
    pub system: SystemConfig,
    pub network: Network,
    /// Record every event's text (for determinism checks); slower. Same
    /// as `trace: TraceMode::Record`.
    pub record_trace: bool,
    /// What the trace keeps beyond its hash.
    pub trace: TraceMode,
    /// BUGGIFY fault points.
    pub buggify: BuggifyConfig,
    /// Keep a structured record of at most this many records
    /// ([`crate::activity`]); `None`: none.
    pub activity: Option<usize>,
}

impl<A: Actor, W: World<A::Msg>> Sim<A, W> {
    pub fn new(config: SimConfig, world: W) -> Self {
        Sim {
            kernel: Kernel {
                now: 0,
                seed: config.seed,
                queue: EventQueue::with_capacity(1024),
                events: 0,
                crashes: 0,
                limits: config.limits,
                trace: Trace::new(if config.record_trace { TraceMode::Record } else { config.trace }),
                network: {
                    let mut network = config.network;
                    network.touch();
                    network
                },
                held: BTreeMap::new(),
                faults: BTreeMap::new(),
                next_fault: 0,
                rng_network: stream(config.seed, "network"),
                rng_runtime: stream(config.seed, "runtime"),
                buggify: Buggify::new(config.seed, config.buggify),
                activity: config.activity.map(|limit| Box::new(ActivityLog::new(limit))),
            },
            system: System::new(config.system),
            world,
        }
    }

    /// The kernel: time, the event queue, the network, faults, the trace.
    pub fn kernel(&self) -> &Kernel<A::Msg, W::Event> {
        &self.kernel
    }

    /// The kernel, to schedule faults or deliveries (before or between runs).
    pub fn kernel_mut(&mut self) -> &mut Kernel<A::Msg, W::Event> {
        &mut self.kernel
    }

    /// The actor system (the world's view: actors, names, statistics).
    pub fn system(&self) -> &System<A> {
        &self.system
    }

    pub fn system_mut(&mut self) -> &mut System<A> {
        &mut self.system
    }

    pub fn world(&self) -> &W {
        &self.world
    }

    pub fn world_mut(&mut self) -> &mut W {
        &mut self.world
    }

    /// The world and the kernel at once (a world starting its clients
    /// schedules into the kernel).
    pub fn world_and_kernel_mut(&mut self) -> (&mut W, &mut Kernel<A::Msg, W::Event>) {
        (&mut self.world, &mut self.kernel)
    }

    /// Spawn a top-level actor on `node` (its `on_start` runs now).
    pub fn spawn(&mut self, node: NodeId, actor: A) -> ActorId {
        let mut env = SimEnv { kernel: &mut self.kernel, world: &mut self.world };
        self.system.spawn(&mut env, node, actor)
    }

    /// Bytes the kernel's queue and the actor system hold (see
    /// [`System::memory_bytes`]); a recorded trace is not counted.
    pub fn memory_bytes(&self) -> usize {
        self.kernel.queue.memory_bytes() + self.system.memory_bytes()
    }

    /// Change the run's limits (before or between runs).
    pub fn set_limits(&mut self, limits: Limits) {
        self.kernel.limits = limits;
    }

    /// The run's trace hash so far.
    pub fn trace_hash(&self) -> u64 {
        self.kernel.trace.hash()
    }

    /// Process events until none is left or the next one is after `horizon`.
    pub fn run_until(&mut self, horizon: Nanos) -> Result<RunEnd, SimError> {
        loop {
            let Some(due) = self.kernel.queue.peek_time() else {
                return Ok(RunEnd::Idle);
            };
            if due > horizon {
                return Ok(RunEnd::Horizon);
            }
            self.check_limits(due)?;
            let Some((time, seq, event)) = self.kernel.queue.pop_with_seq() else {
                return Ok(RunEnd::Idle);
            };
            self.kernel.now = time;
            self.kernel.events += 1;
            if let Some(log) = self.kernel.activity.as_deref_mut() {
                log.arriving(match &event {
                    Event::Deliver { to, .. } => Some((seq, *to)),
                    _ => None,
                });
            }
            self.dispatch(event);
        }
    }

    /// Process every event (bounded only by the limits).
    pub fn run(&mut self) -> Result<RunEnd, SimError> {
        self.run_until(Nanos::MAX)
    }

    #[inline]
    fn check_limits(&self, due: Nanos) -> Result<(), SimError> {
        let k = &self.kernel;
        if k.events >= k.limits.max_events {
            return Err(SimError::EventLimit { limit: k.limits.max_events, at: fmt_nanos(k.now) });
        }
        if due > k.limits.max_sim_time {
            return Err(SimError::TimeLimit { limit: fmt_nanos(k.limits.max_sim_time), due: fmt_nanos(due) });
        }
        // Messages waiting in mailboxes are queued work too.
        if k.queue.len() + self.system.mailboxed() > k.limits.max_queued_events || k.queue.is_exhausted() {
            return Err(SimError::QueueLimit { limit: k.limits.max_queued_events, at: fmt_nanos(k.now) });
        }
        Ok(())
    }

    #[inline]
    fn dispatch(&mut self, event: Event<A::Msg, W::Event>) {
        let mut env = SimEnv { kernel: &mut self.kernel, world: &mut self.world };
        match event {
            Event::Deliver { to, envelope } => self.system.deliver(&mut env, to, envelope),
            Event::Timer { owner, timer, kind } => self.system.fire_timer(&mut env, owner, timer, kind),
            Event::CallDone { caller, request, outcome } => {
                self.system.complete_call(&mut env, caller, request, outcome)
            }
            Event::Signal { to, signal } => self.system.deliver_signal(&mut env, to, signal),
            Event::Fault(slot) => self.apply_fault(slot),
            Event::World(event) => self.world.on_event(event, &mut self.kernel),
        }
    }

    /// A scheduled fault is due (rare: kept out of the inlined dispatch).
    #[inline(never)]
    fn apply_fault(&mut self, slot: FaultSlot) {
        let mut env = SimEnv { kernel: &mut self.kernel, world: &mut self.world };
        let Some(fault) = env.kernel.faults.remove(&slot) else { return };
        let now = env.kernel.now;
        env.kernel.trace.event(TraceKind::Fault, now, 0, 0, &fault, || format!("fault {fault:?}"));
        if let Some(log) = env.kernel.activity.as_deref_mut() {
            log.push_fault(now, &fault);
        }
        if fault.is_crash() {
            env.kernel.crashes += 1;
        }
        match fault {
            Fault::CrashActor(actor) => self.system.crash(&mut env, actor),
            Fault::CrashNamed(name) => {
                if let Some(actor) = self.system.whereis(name) {
                    self.system.crash(&mut env, actor);
                }
            }
            Fault::CrashNode(node) => self.system.crash_node(&mut env, node),
            Fault::RestartNode(node) => self.system.restart_node(node),
            Fault::RemoveNode(node) => self.system.remove_node(&mut env, node),
            Fault::Partition { id, groups, one_way } => {
                env.kernel.network.partition_as(PartitionId(id), groups, one_way)
            }
            Fault::Heal { id } => {
                env.kernel.network.heal(PartitionId(id));
            }
            Fault::ClogLink { from, to } => env.kernel.network.clog_link(from, to),
            Fault::ClogNode(node) => env.kernel.network.clog_node(node),
            Fault::UnclogLink { from, to } => {
                env.kernel.network.unclog_link(from, to);
                env.kernel.release_held();
            }
            Fault::UnclogNode(node) => {
                env.kernel.network.unclog_node(node);
                env.kernel.release_held();
            }
        }
    }
}

/// The runtime's view of the simulator: [`Env`] over the kernel and world.
struct SimEnv<'a, M, W: World<M>> {
    kernel: &'a mut Kernel<M, W::Event>,
    world: &'a mut W,
}

impl<M: Debug + std::hash::Hash, W: World<M>> Entropy for SimEnv<'_, M, W> {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.kernel.rng_runtime.next_u64()
    }

    fn buggify(&mut self, site: u64) -> bool {
        self.kernel.buggify(site)
    }
}

impl<M: Clone + Debug + std::hash::Hash, W: World<M>> Env<M> for SimEnv<'_, M, W> {
    #[inline]
    fn now(&self) -> Nanos {
        self.kernel.now
    }

    #[inline(always)]
    fn transmit(&mut self, from_node: NodeId, to_node: NodeId, to: ActorId, envelope: Envelope<M>) {
        let now = self.kernel.now;
        self.kernel.send(from_node, to_node, to, envelope, TraceKind::Send, now);
    }

    fn signal(&mut self, from_node: NodeId, to_node: NodeId, to: ActorId, signal: Signal) {
        let now = self.kernel.now;
        // News of a node's death crosses to other nodes only when the
        // failure detector notices; everything else takes the link's
        // latency. Signals bypass network faults (loss, duplication,
        // reordering, partitions, clogs): see the `net` module.
        let delay = if signal.is_node_down() && from_node != to_node {
            self.failure_detection_delay(to_node, from_node)
        } else {
            let k = &mut *self.kernel;
            k.network.signal_latency(from_node, to_node, &mut k.rng_network)
        };
        let k = &mut *self.kernel;
        let at = now.saturating_add(delay);
        k.trace.event(TraceKind::Signal, now, to.to_bits(), signal.code(), &(at, signal), || {
            format!("signal to {to} arriving {}: {signal:?}", fmt_nanos(at))
        });
        k.queue.push(at, Event::Signal { to, signal });
    }

    fn reply_external(&mut self, from: ActorId, request: RequestId, msg: M) {
        if let Some(log) = self.kernel.activity.as_deref_mut() {
            log.push(self.kernel.now, What::Outbound { from, request: request.0 });
        }
        self.world.on_external_reply(from, request, msg, self.kernel);
    }

    #[inline]
    fn schedule_timer(&mut self, owner: ActorId, timer: TimerId, kind: TimerKind, at: Nanos) {
        self.kernel.queue.push(at, Event::Timer { owner, timer, kind });
    }

    fn call_service(&mut self, caller: ActorId, node: NodeId, request: RequestId, call: ServiceCall) {
        let now = self.kernel.now;
        self.kernel.trace.event(TraceKind::ServiceCall, now, caller.to_bits(), request.0, &call, || {
            format!("{caller} calls {call:?} as request {}", request.0)
        });
        self.world.on_call(caller, node, request, call, self.kernel);
    }

    fn cancel_call(&mut self, caller: ActorId, request: RequestId) {
        let now = self.kernel.now;
        self.kernel.trace.event(TraceKind::ServiceCancel, now, caller.to_bits(), request.0, &(), || {
            format!("{caller} cancels request {}", request.0)
        });
        self.world.on_cancel(caller, request, self.kernel);
    }

    /// The network's [`Network::failure_detection`] between two nodes, 0 on
    /// the same node.
    #[inline]
    fn failure_detection_delay(&self, observer: NodeId, subject: NodeId) -> Nanos {
        if observer == subject { 0 } else { self.kernel.network.failure_detection }
    }

    // Always inline: the caller builds one variant, so the match folds away.
    #[inline(always)]
    fn trace(&mut self, event: TraceEvent<'_, M>) {
        let k = &mut *self.kernel;
        let now = k.now;
        let describe = || format!("{event:?}");
        match &event {
            TraceEvent::Deliver { to, from, msg } => {
                k.trace.event(TraceKind::Deliver, now, to.to_bits(), from.to_bits(), *msg, describe)
            }
            TraceEvent::Enqueue { to, from, msg } => {
                k.trace.event(TraceKind::Enqueue, now, to.to_bits(), from.to_bits(), *msg, describe)
            }
            TraceEvent::Drop { to, from, reason, msg } => {
                k.trace.event(TraceKind::Drop, now, to.to_bits(), from.to_bits() ^ reason.code(), *msg, describe)
            }
            TraceEvent::Response { to, request, kind } => {
                k.trace.event(TraceKind::Response, now, to.to_bits(), request.0, &kind.code(), describe)
            }
            TraceEvent::LateReply { to, request } => {
                k.trace.event(TraceKind::LateReply, now, to.to_bits(), request.0, &(), describe)
            }
            TraceEvent::Timer { owner, timer } => {
                k.trace.event(TraceKind::Timer, now, owner.to_bits(), timer.0, &(), describe)
            }
            TraceEvent::Spawn { parent, child, node, .. } => {
                k.trace.event(TraceKind::Spawn, now, parent.to_bits(), child.to_bits(), &node.0, describe)
            }
            TraceEvent::Stop { actor, reason } => {
                k.trace.event(TraceKind::Stop, now, actor.to_bits(), reason.code(), &(), describe)
            }
            TraceEvent::Signal { to, signal } => {
                k.trace.event(TraceKind::Signal, now, to.to_bits(), signal.code(), signal, describe)
            }
            TraceEvent::Resume { actor, kind } => {
                k.trace.event(TraceKind::Resume, now, actor.to_bits(), 0, kind, describe)
            }
        }
        if let Some(log) = k.activity.as_deref_mut() {
            log.record(now, &event);
        }
    }
}
