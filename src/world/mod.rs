//! The simulated world around the fleet: clients that send requests (an
//! open arrival process, or closed-loop users who wait for their answer)
//! and give up after a timeout, the LLM and tool services
//! the agents call (`services`), and the faults of the scenario, scheduled
//! and random. It keeps the run's request ledger: every request and every
//! service call made for it, recorded from outside the actors.

mod mix;
mod services;
pub mod store;
pub mod tally;

pub use mix::{KeySampler, Mix};
pub use services::{Caller, ServiceSetupError, Services};

use rehearsal_runtime::{ActorId, Envelope, Nanos, NodeId, RequestId, Route, ServiceCall};
use rehearsal_sim::arrivals::{Arrivals, ClosedLoop, Process};
use rehearsal_sim::dist::Dist;
use rehearsal_sim::llm::Brownout;
use rehearsal_sim::rng::{StreamRng, stream};
use rehearsal_sim::{Fault, Kernel, World};

use rehearsal_runtime::Message;

use crate::fleet::decode_idempotency_key;
use crate::ledger::{Cause, Ledger, Outcome, Span};
use crate::scenario::{Faults, ScheduledFaultKind, ServiceModel};
use crate::system::{ClientRequest, ServiceRef, agent_name};

/// The world's own events.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum WorldEvent {
    /// The next client request of an open arrival process arrives.
    Arrival,
    /// Closed-loop user `user` sends its next request.
    UserArrival { user: u32 },
    /// Clients stop waiting for the requests whose timeout is due now,
    /// from request `id` on (one such event is pending at a time).
    ClientTimeout { id: u64 },
    /// A random crash of agent `agent` is due.
    AgentCrash { agent: u32 },
    /// A random crash of node `node` is due.
    NodeCrash { node: u32 },
    /// A crashed node is repaired.
    NodeRepair { node: u32 },
    /// The running call of LLM `llm` by (actor bits, request) is due to
    /// end (answer and free its slot), unless it was cancelled before.
    LlmDone { llm: u16, actor: u64, request: u64 },
    /// Scheduled fault `entry` (a brownout) begins (`on`) or ends.
    Brownout { entry: u32, on: bool },
    /// A random partition cutting `node` off begins, or heals.
    RandomPartition { node: u32, on: bool },
    /// A random clog of `node` begins, or ends.
    RandomClog { node: u32, on: bool },
    /// A request reaches its store (see [`store`]).
    StoreArrive { actor: u64, request: u64 },
    /// Request mixes with several deadlines: clients stop waiting for the
    /// requests of deadline slot `slot` due now, from request `id` on (one
    /// such event is pending per slot).
    TypedTimeout { id: u64, slot: u16 },
}

/// Partition ids: scheduled partitions use their schedule index; random
/// ones start here.
const RANDOM_PARTITION_IDS: u32 = 1 << 20;

/// Counters of the world beyond the ledger. Latency is measured in the
/// ledger from each request's scheduled arrival (its intended start), never
/// from when the system got round to it, so a stall shows up in full (no
/// coordinated omission).
#[derive(Debug)]
pub struct Metrics {
    /// Answers that came after the client gave up.
    pub late_answers: u64,
}

impl Metrics {
    fn new() -> Self {
        Metrics { late_answers: 0 }
    }
}

/// The world around the built-in fleet.
pub type FleetWorld = ScenarioWorld<crate::fleet::Msg>;

/// How a world speaks to its system: a client request as a message, an
/// answer as an outcome (see [`crate::system::SystemUnderTest`]).
pub struct Codec<M> {
    pub request: fn(u64, ClientRequest) -> M,
    pub outcome: fn(&M) -> Outcome,
}

impl<M> Clone for Codec<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for Codec<M> {}

impl<M> std::fmt::Debug for Codec<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Codec")
    }
}

/// Clients plus services, as the scenario describes them, around any
/// system whose messages are `M`.
#[derive(Debug)]
pub struct ScenarioWorld<M> {
    codec: Codec<M>,
    gateway: ActorId,
    arrivals: Arrivals,
    /// The users of a closed arrival process.
    closed: Option<ClosedLoop>,
    /// Closed loop: the user of each request, by request id.
    user_of: Vec<u32>,
    arrivals_end: Nanos,
    /// The request types: what an arrival draws.
    mix: Mix,
    /// Each request's type, by id (filled only with several types). The
    /// agents learn a request's type from the request itself.
    pub kinds: Vec<u16>,
    /// Each request's key, by id (filled only when some type has a key).
    pub keys: Vec<u32>,
    /// The distinct deadlines, and each type's index into them.
    deadline_slots: Vec<Nanos>,
    slot_of_type: Vec<u16>,
    pub services: Services,
    pub stores: store::Stores,
    seed: u64,
    rng_workload: StreamRng,
    rng_faults: StreamRng,
    faults: Faults,
    agents: u32,
    nodes: u32,
    pub ledger: Ledger,
    /// Per deadline slot: whether its timeout event is in the queue.
    timeout_pending: Vec<bool>,
    pub metrics: Metrics,
    /// Every node crash (node, time), scheduled or drawn: what the harness
    /// knows after the fact, for measurements that need the truth (an
    /// activation that died with its node was not alive after). Actors
    /// never read it.
    node_crashes: Vec<(u16, Nanos)>,
    /// Every node going down (`false`: a crash, or out until it joins) or
    /// up (`true`: a restart or a join), in the order scheduled: for each
    /// node's time up.
    node_changes: Vec<(u16, Nanos, bool)>,
}

/// What a [`FleetWorld`] is built from.
#[derive(Clone, Debug)]
pub struct WorldSpec {
    pub seed: u64,
    /// When requests arrive (`workload.arrivals`).
    pub arrivals: Process,
    pub arrivals_end: Nanos,
    pub request_timeout: Nanos,
    /// The request types.
    pub mix: Mix,
    pub llms: Vec<ServiceModel>,
    pub tools: Vec<ServiceModel>,
    pub stores: Vec<crate::scenario::StoreModel>,
    pub faults: Faults,
    /// Agents (or pipeline stages) that faults may target, by index.
    pub agents: u32,
    pub nodes: u32,
}

impl<M: Message> ScenarioWorld<M> {
    pub fn new(spec: WorldSpec, codec: Codec<M>) -> Result<Self, ServiceSetupError> {
        let mut rng_workload = stream(spec.seed, "workload");
        let mut deadline_slots: Vec<Nanos> = Vec::new();
        let mut slot_of_type = Vec::new();
        for &d in &spec.mix.deadlines {
            let slot = deadline_slots.iter().position(|&x| x == d).unwrap_or_else(|| {
                deadline_slots.push(d);
                deadline_slots.len() - 1
            });
            slot_of_type.push(slot as u16);
        }
        if deadline_slots.is_empty() {
            deadline_slots.push(spec.request_timeout);
            slot_of_type.push(0);
        }
        Ok(ScenarioWorld {
            codec,
            seed: spec.seed,
            gateway: ActorId::EXTERNAL,
            arrivals: Arrivals::new(&spec.arrivals, spec.arrivals_end, &mut rng_workload),
            closed: spec.arrivals.closed_loop(),
            user_of: Vec::new(),
            arrivals_end: spec.arrivals_end,
            timeout_pending: vec![false; deadline_slots.len()],
            mix: spec.mix,
            kinds: Vec::new(),
            keys: Vec::new(),
            deadline_slots,
            slot_of_type,
            services: Services::new(spec.seed, &spec.llms, &spec.tools)?,
            stores: store::Stores::new(&spec.stores),
            rng_workload,
            rng_faults: stream(spec.seed, "faults"),
            faults: spec.faults,
            agents: spec.agents,
            nodes: spec.nodes,
            ledger: Ledger::default(),
            metrics: Metrics::new(),
            node_crashes: Vec::new(),
            node_changes: Vec::new(),
        })
    }

    /// Whether `node` crashed at some time in `(after, until]`, as the
    /// harness knows after the fact.
    pub fn node_crashed_between(&self, node: u16, after: Nanos, until: Nanos) -> bool {
        self.first_crash_after(node, after).is_some_and(|at| at <= until)
    }

    /// The first crash of `node` after `after`, as the harness knows it
    /// after the fact.
    pub fn first_crash_after(&self, node: u16, after: Nanos) -> Option<Nanos> {
        self.node_crashes.iter().filter(|&&(n, at)| n == node && at > after).map(|&(_, at)| at).min()
    }

    /// When `node` joins the cluster (a `join_node` fault), if it does.
    fn joins_at(&self, node: u16) -> Option<Nanos> {
        self.faults.schedule.iter().find_map(|f| match f.kind {
            ScheduledFaultKind::JoinNode { node: n } if n == u32::from(node) => Some(f.at_ns),
            _ => None,
        })
    }

    /// How long `node` was up in `[0, until)`, as the harness knows after
    /// the fact (from the faults it scheduled and drew).
    pub fn node_up_ns(&self, node: u16, until: Nanos) -> Nanos {
        let mut changes: Vec<(Nanos, bool)> =
            self.node_changes.iter().filter(|c| c.0 == node && c.1 < until).map(|c| (c.1, c.2)).collect();
        // By time; at one time, down before up (a join at 0 is up).
        changes.sort_by_key(|&(at, up)| (at, up));
        let (mut up, mut since, mut total) = (true, 0, 0);
        for (at, now_up) in changes {
            if up && !now_up {
                total += at - since;
            }
            if !up && now_up {
                since = at;
            }
            up = now_up;
        }
        if up {
            total += until - since;
        }
        total
    }

    /// Point the clients at the gateway and schedule the first arrival
    /// (open process), or each user's first request (closed loop: drawn in
    /// user order).
    pub fn start(&mut self, gateway: ActorId, kernel: &mut Kernel<M, WorldEvent>) {
        self.gateway = gateway;
        if let Some(closed) = &self.closed {
            for user in 0..closed.users {
                let at = closed.first_send(&mut self.rng_workload);
                if at < self.arrivals_end {
                    kernel.schedule(at, WorldEvent::UserArrival { user });
                }
            }
        } else if let Some(first) = self.arrivals.next(&mut self.rng_workload) {
            kernel.schedule(first, WorldEvent::Arrival);
        }
        for (entry, fault) in self.faults.schedule.iter().enumerate() {
            let at = fault.at_ns;
            let node = |n: u32| NodeId(n as u16);
            match &fault.kind {
                ScheduledFaultKind::CrashAgent(agent) => kernel.fault_at(at, Fault::CrashNamed(agent_name(*agent))),
                ScheduledFaultKind::CrashNode { node: n, down_for_ns } => {
                    kernel.fault_at(at, Fault::CrashNode(node(*n)));
                    self.node_crashes.push((*n as u16, at));
                    self.node_changes.push((*n as u16, at, false));
                    if let Some(down) = down_for_ns {
                        kernel.fault_at(at.saturating_add(*down), Fault::RestartNode(node(*n)));
                        self.node_changes.push((*n as u16, at.saturating_add(*down), true));
                    }
                }
                ScheduledFaultKind::JoinNode { node: n } => {
                    kernel.fault_at(0, Fault::RemoveNode(node(*n)));
                    kernel.fault_at(at, Fault::RestartNode(node(*n)));
                    self.node_changes.push((*n as u16, 0, false));
                    self.node_changes.push((*n as u16, at, true));
                }
                ScheduledFaultKind::Partition { groups, one_way, for_ns } => {
                    let id = entry as u32;
                    let groups = groups.iter().map(|g| g.iter().map(|&n| node(n)).collect()).collect();
                    kernel.fault_at(at, Fault::Partition { id, groups, one_way: *one_way });
                    kernel.fault_at(at.saturating_add(*for_ns), Fault::Heal { id });
                }
                ScheduledFaultKind::ClogNode { node: n, for_ns } => {
                    kernel.fault_at(at, Fault::ClogNode(node(*n)));
                    kernel.fault_at(at.saturating_add(*for_ns), Fault::UnclogNode(node(*n)));
                }
                ScheduledFaultKind::ClogLink { from, to, for_ns } => {
                    kernel.fault_at(at, Fault::ClogLink { from: node(*from), to: node(*to) });
                    kernel.fault_at(at.saturating_add(*for_ns), Fault::UnclogLink { from: node(*from), to: node(*to) });
                }
                ScheduledFaultKind::Brownout { for_ns, .. } => {
                    kernel.schedule(at, WorldEvent::Brownout { entry: entry as u32, on: true });
                    kernel
                        .schedule(at.saturating_add(*for_ns), WorldEvent::Brownout { entry: entry as u32, on: false });
                }
            }
        }
        // Random faults: one exponential clock per agent and per node (but
        // node 0, home of the gateway and the root supervisor), drawn in a
        // fixed order from the "faults" stream.
        if let Some(mtbf) = self.faults.agent_crash_mtbf_ns {
            for agent in 0..self.agents {
                let at = self.draw(mtbf);
                self.schedule_fault(kernel, at, WorldEvent::AgentCrash { agent });
            }
        }
        if let Some(mtbf) = self.faults.node_crash_mtbf_ns {
            for node in 1..self.nodes {
                let at = self.draw(mtbf);
                self.schedule_fault(kernel, at, WorldEvent::NodeCrash { node });
            }
        }
        if let Some(mtbf) = self.faults.partition_mtbf_ns {
            for node in 1..self.nodes {
                let at = self.draw(mtbf);
                self.schedule_fault(kernel, at, WorldEvent::RandomPartition { node, on: true });
            }
        }
        if let Some(mtbf) = self.faults.clog_mtbf_ns {
            for node in 1..self.nodes {
                let at = self.draw(mtbf);
                self.schedule_fault(kernel, at, WorldEvent::RandomClog { node, on: true });
            }
        }
    }

    /// An exponential draw with the given mean, from the faults stream.
    fn draw(&mut self, mean_ns: u64) -> Nanos {
        Dist::Exponential { mean: mean_ns as f64 }.sample_u64(&mut self.rng_faults).max(1)
    }

    /// Random faults happen only while requests arrive.
    fn schedule_fault(&self, kernel: &mut Kernel<M, WorldEvent>, at: Nanos, event: WorldEvent) {
        if at < self.arrivals_end {
            kernel.schedule(at, event);
        }
    }

    /// The deadline slot of request `id`.
    fn slot_of(&self, id: u64) -> usize {
        let kind = self.kinds.get(id as usize).copied().unwrap_or(0);
        usize::from(self.slot_of_type.get(usize::from(kind)).copied().unwrap_or(0))
    }

    /// How long the client of request `id` waits.
    fn deadline_of(&self, id: u64) -> Nanos {
        self.deadline_slots[self.slot_of(id)]
    }

    /// The timeout event of deadline slot `slot` from request `id` on.
    fn timeout_event(&self, id: u64, slot: usize) -> WorldEvent {
        if self.deadline_slots.len() == 1 {
            WorldEvent::ClientTimeout { id }
        } else {
            WorldEvent::TypedTimeout { id, slot: slot as u16 }
        }
    }

    /// Client timeouts of one deadline are due in arrival order, so instead
    /// of one queued event per request one event per distinct deadline
    /// (`deadline_slots`; one, `request_timeout`, without a mix) walks the
    /// ledger: it times out every open request of its slot from `first` on
    /// whose deadline has come, then schedules itself for the next deadline.
    /// The queue holds one timeout per slot, whatever the load; each request
    /// is passed over once per slot.
    fn client_timeouts(&mut self, first: u64, slot: usize, kernel: &mut Kernel<M, WorldEvent>) {
        let now = kernel.now();
        let deadline = self.deadline_slots[slot];
        let several = self.deadline_slots.len() > 1;
        let mut id = first;
        while let Some(entry) = self.ledger.entry(id) {
            if entry.end().is_some() || (several && self.slot_of(id) != slot) {
                // Answered already, or another slot's: nothing to time out.
                id += 1;
                continue;
            }
            let due = entry.arrived_at.saturating_add(deadline);
            if due > now {
                kernel.schedule(due, self.timeout_event(id, slot));
                return;
            }
            self.ledger.close(id, now, Outcome::Failed(Cause::ClientTimeout));
            kernel.trace_world(2, id, &self.timeout_event(id, slot));
            self.request_ended(id, kernel);
            id += 1;
        }
        // Every request so far has ended or timed out: the next arrival
        // (of this slot) schedules the next timeout.
        self.timeout_pending[slot] = false;
    }

    /// A client request arrives now: into the ledger, to the gateway, and
    /// under the client's timeout.
    fn send_request(&mut self, event: &WorldEvent, kernel: &mut Kernel<M, WorldEvent>) -> u64 {
        let now = kernel.now();
        let id = self.ledger.arrive(now);
        // Its type and key: drawn only with a mix (or a key), so a single
        // keyless type draws nothing.
        let mut request = ClientRequest::default();
        if self.mix.draws() {
            let (kind, key) = self.mix.draw(&mut self.rng_workload);
            if self.mix.deadlines.len() > 1 {
                self.kinds.push(kind);
            }
            self.keys.push(key);
            request = ClientRequest { kind, key };
        }
        kernel.trace_world(1, id, event);
        let msg = (self.codec.request)(id, request);
        let ask = Envelope { from: ActorId::EXTERNAL, route: Route::Ask(RequestId(id)), msg };
        kernel.deliver_at(now, self.gateway, ask);
        let slot = self.slot_of(id);
        if !self.timeout_pending[slot] {
            self.timeout_pending[slot] = true;
            kernel.schedule(now.saturating_add(self.deadline_slots[slot]), self.timeout_event(id, slot));
        }
        id
    }

    /// Request `id` ended now (answered, or its client gave up): under a
    /// closed loop, its user thinks, then sends again while the arrival
    /// window lasts.
    fn request_ended(&mut self, id: u64, kernel: &mut Kernel<M, WorldEvent>) {
        let Some(closed) = &self.closed else { return };
        let Some(&user) = self.user_of.get(id as usize) else { return };
        if let Some(at) = closed.next_send(kernel.now(), &mut self.rng_workload)
            && at < self.arrivals_end
        {
            kernel.schedule(at, WorldEvent::UserArrival { user });
        }
    }

    /// Requests neither answered nor given up on: the open ledger entries.
    pub fn in_flight(&self) -> u64 {
        self.ledger.open_count()
    }
}

impl<M: Message> World<M> for ScenarioWorld<M> {
    type Event = WorldEvent;

    fn on_event(&mut self, event: WorldEvent, kernel: &mut Kernel<M, WorldEvent>) {
        let now = kernel.now();
        match event {
            WorldEvent::Arrival => {
                self.send_request(&event, kernel);
                if let Some(next) = self.arrivals.next(&mut self.rng_workload) {
                    kernel.schedule(next, WorldEvent::Arrival);
                }
            }
            WorldEvent::UserArrival { user } => {
                let id = self.send_request(&event, kernel);
                // Ids are dense and in arrival order: `user_of[id]`.
                debug_assert_eq!(self.user_of.len() as u64, id);
                self.user_of.push(user);
            }
            WorldEvent::ClientTimeout { id } => self.client_timeouts(id, 0, kernel),
            WorldEvent::TypedTimeout { id, slot } => self.client_timeouts(id, usize::from(slot), kernel),
            WorldEvent::AgentCrash { agent } => {
                kernel.trace_world(4, agent as u64, &event);
                kernel.fault_at(now, Fault::CrashNamed(agent_name(agent)));
                if let Some(mtbf) = self.faults.agent_crash_mtbf_ns {
                    let next = now.saturating_add(self.draw(mtbf));
                    self.schedule_fault(kernel, next, WorldEvent::AgentCrash { agent });
                }
            }
            WorldEvent::NodeCrash { node } => {
                // A node not in the cluster yet cannot crash (nor be
                // repaired into it early): its clock starts when it joins.
                if let Some(joins) = self.joins_at(node as u16).filter(|&at| now < at) {
                    if let Some(mtbf) = self.faults.node_crash_mtbf_ns {
                        let next = joins.saturating_add(self.draw(mtbf));
                        self.schedule_fault(kernel, next, WorldEvent::NodeCrash { node });
                    }
                    return;
                }
                kernel.trace_world(5, node as u64, &event);
                kernel.fault_at(now, Fault::CrashNode(NodeId(node as u16)));
                self.node_crashes.push((node as u16, now));
                self.node_changes.push((node as u16, now, false));
                let repair = now.saturating_add(self.draw(self.faults.node_mttr_ns));
                kernel.schedule(repair, WorldEvent::NodeRepair { node });
            }
            WorldEvent::StoreArrive { actor, request } => {
                self.stores.arrive((actor, request), &mut self.ledger, kernel)
            }
            WorldEvent::LlmDone { llm, actor, request } => {
                self.services.llm_done(llm, (actor, request), &mut self.ledger, kernel)
            }
            WorldEvent::Brownout { entry, on } => {
                kernel.trace_world(7, entry as u64, &event);
                if let Some(ScheduledFaultKind::Brownout { llm, latency_x, error_rate_add, .. }) =
                    self.faults.schedule.get(entry as usize).map(|f| &f.kind)
                {
                    let brownout = on.then_some(Brownout { latency_x: *latency_x, error_rate_add: *error_rate_add });
                    self.services.set_brownout(*llm, brownout);
                }
            }
            WorldEvent::RandomPartition { node, on } => {
                kernel.trace_world(8, node as u64, &event);
                let id = RANDOM_PARTITION_IDS + node;
                if on {
                    // Cut `node` off from every other node.
                    let others = (0..self.nodes).filter(|&n| n != node).map(|n| NodeId(n as u16)).collect();
                    let groups = vec![vec![NodeId(node as u16)], others];
                    kernel.fault_at(now, Fault::Partition { id, groups, one_way: false });
                    let heal = now.saturating_add(self.draw(self.faults.partition_mttr_ns));
                    kernel.schedule(heal, WorldEvent::RandomPartition { node, on: false });
                } else {
                    kernel.fault_at(now, Fault::Heal { id });
                    if let Some(mtbf) = self.faults.partition_mtbf_ns {
                        let next = now.saturating_add(self.draw(mtbf));
                        self.schedule_fault(kernel, next, WorldEvent::RandomPartition { node, on: true });
                    }
                }
            }
            WorldEvent::RandomClog { node, on } => {
                kernel.trace_world(9, node as u64, &event);
                if on {
                    kernel.fault_at(now, Fault::ClogNode(NodeId(node as u16)));
                    let end = now.saturating_add(self.draw(self.faults.clog_mttr_ns));
                    kernel.schedule(end, WorldEvent::RandomClog { node, on: false });
                } else {
                    kernel.fault_at(now, Fault::UnclogNode(NodeId(node as u16)));
                    if let Some(mtbf) = self.faults.clog_mtbf_ns {
                        let next = now.saturating_add(self.draw(mtbf));
                        self.schedule_fault(kernel, next, WorldEvent::RandomClog { node, on: true });
                    }
                }
            }
            WorldEvent::NodeRepair { node } => {
                kernel.trace_world(6, node as u64, &event);
                kernel.fault_at(now, Fault::RestartNode(NodeId(node as u16)));
                self.node_changes.push((node as u16, now, true));
                if let Some(mtbf) = self.faults.node_crash_mtbf_ns {
                    let next = now.saturating_add(self.draw(mtbf));
                    self.schedule_fault(kernel, next, WorldEvent::NodeCrash { node });
                }
            }
        }
    }

    fn on_call(
        &mut self,
        caller: ActorId,
        _node: NodeId,
        request: RequestId,
        call: ServiceCall,
        kernel: &mut Kernel<M, WorldEvent>,
    ) {
        let (id, part, step) = decode_idempotency_key(call.trace);
        let mut span = Span::new(id, caller, kernel.now(), call.timeout, call.service.0);
        span.part = part as u16;
        span.step = step as u16;
        span.input_tokens = call.input_tokens;
        let span = self.ledger.open_span(span);
        let attempt = self.ledger.spans()[span].attempt;
        let caller = Caller { actor: caller, request };
        if let ServiceRef::Store(i) = ServiceRef::of(call.service) {
            // A store's operation carries no prompt: its encoded op is not tokens.
            if let Some(s) = self.ledger.span_mut(span) {
                s.input_tokens = 0;
            }
            return self.stores.call(self.seed, i, caller, call, attempt, span, kernel);
        }
        self.services.call(caller, call, attempt, span, &mut self.ledger, kernel);
    }

    fn on_cancel(&mut self, caller: ActorId, request: RequestId, kernel: &mut Kernel<M, WorldEvent>) {
        self.services.cancel(Caller { actor: caller, request }, &mut self.ledger, kernel);
    }

    fn on_external_reply(&mut self, _from: ActorId, request: RequestId, msg: M, kernel: &mut Kernel<M, WorldEvent>) {
        let now = kernel.now();
        // The answer says how the request ended, as the system reads it.
        let outcome = (self.codec.outcome)(&msg);
        // An answer at the very instant the client gives up is too late, as
        // a call's answer at its timeout is: the client timed out.
        let deadline = self
            .ledger
            .entry(request.0)
            .map_or(Nanos::MAX, |e| e.arrived_at.saturating_add(self.deadline_of(request.0)));
        let outcome = if now >= deadline { Outcome::Failed(Cause::ClientTimeout) } else { outcome };
        if self.ledger.close(request.0, now, outcome).is_none() {
            self.metrics.late_answers += 1;
            return;
        }
        kernel.trace_world(3, request.0, &msg);
        self.request_ended(request.0, kernel);
    }
}
