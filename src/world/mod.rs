//! The simulated world around the fleet: clients that send requests on a
//! Poisson schedule and give up after a timeout, the LLM and tool services
//! the agents call (`services`), and the faults of the scenario, scheduled
//! and random. It also keeps the run's request metrics.

mod services;

pub use services::{Caller, ServiceSetupError, Services};

use std::collections::BTreeSet;

use hdrhistogram::Histogram;
use rehearsal_runtime::{ActorId, Envelope, Nanos, NodeId, RequestId, Route, ServiceCall};
use rehearsal_sim::dist::Dist;
use rehearsal_sim::llm::Brownout;
use rehearsal_sim::rng::{StreamRng, stream};
use rehearsal_sim::services::PoissonArrivals;
use rehearsal_sim::{Fault, Kernel, World};

use crate::fleet::{Msg, agent_name};
use crate::scenario::{Faults, ScheduledFaultKind, ServiceModel};

const SECOND: Nanos = 1_000_000_000;

/// The world's own events.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum WorldEvent {
    /// The next client request arrives.
    Arrival,
    /// A client stops waiting for request `id`.
    ClientTimeout { id: u64 },
    /// A random crash of agent `agent` is due.
    AgentCrash { agent: u32 },
    /// A random crash of node `node` is due.
    NodeCrash { node: u32 },
    /// A crashed node is repaired.
    NodeRepair { node: u32 },
    /// An LLM call that held a slot of LLM `llm` is over.
    LlmSlotFreed { llm: u16 },
    /// Scheduled fault `entry` (a brownout) begins (`on`) or ends.
    Brownout { entry: u32, on: bool },
    /// A random partition cutting `node` off begins, or heals.
    RandomPartition { node: u32, on: bool },
    /// A random clog of `node` begins, or ends.
    RandomClog { node: u32, on: bool },
}

/// Partition ids: scheduled partitions use their schedule index; random
/// ones start here.
const RANDOM_PARTITION_IDS: u32 = 1 << 20;

/// Where a client request stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum RequestState {
    Open { arrived_at: Nanos },
    Closed,
}

/// Request metrics of one run. Latency is measured from each request's
/// scheduled arrival (its intended start), never from when the system got
/// round to it, so a stall shows up in full (no coordinated omission).
#[derive(Debug)]
pub struct Metrics {
    /// Latency of succeeded requests, microseconds, 3 significant figures.
    pub latency_us: Histogram<u64>,
    pub arrived: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Requests whose client gave up before an answer.
    pub client_timeouts: u64,
    /// Answers that came after the client gave up.
    pub late_answers: u64,
    /// Calls whose idempotency key was seen before: retries, and re-runs
    /// of work whose first runner died.
    pub repeated_calls: u64,
    /// Succeeded requests per second of simulated time.
    pub throughput_timeline: Vec<u32>,
}

impl Metrics {
    fn new(seconds: usize) -> Self {
        Metrics {
            // 3 significant figures, auto-resizing: a latency is never
            // refused for being too large.
            latency_us: Histogram::new(3).expect("3 significant figures is within hdrhistogram's range"),
            arrived: 0,
            succeeded: 0,
            failed: 0,
            client_timeouts: 0,
            late_answers: 0,
            repeated_calls: 0,
            throughput_timeline: vec![0; seconds],
        }
    }
}

/// Clients plus services.
#[derive(Debug)]
pub struct FleetWorld {
    gateway: ActorId,
    arrivals: PoissonArrivals,
    arrivals_end: Nanos,
    request_timeout: Nanos,
    pub services: Services,
    rng_workload: StreamRng,
    rng_faults: StreamRng,
    faults: Faults,
    agents: u32,
    nodes: u32,
    requests: Vec<RequestState>,
    /// Idempotency keys of every call so far (services' side-effect ledger).
    keys_seen: BTreeSet<(u16, u64)>,
    pub metrics: Metrics,
}

/// What a [`FleetWorld`] is built from.
#[derive(Clone, Debug)]
pub struct WorldSpec {
    pub seed: u64,
    pub arrival_rate_per_s: f64,
    pub arrivals_end: Nanos,
    pub request_timeout: Nanos,
    pub llms: Vec<ServiceModel>,
    pub tools: Vec<ServiceModel>,
    pub faults: Faults,
    /// Agents (or pipeline stages) that faults may target, by index.
    pub agents: u32,
    pub nodes: u32,
}

impl FleetWorld {
    pub fn new(spec: WorldSpec) -> Result<Self, ServiceSetupError> {
        let seconds = (spec.arrivals_end.saturating_add(spec.request_timeout) / SECOND + 1) as usize;
        Ok(FleetWorld {
            gateway: ActorId::EXTERNAL,
            arrivals: PoissonArrivals::new(spec.arrival_rate_per_s),
            arrivals_end: spec.arrivals_end,
            request_timeout: spec.request_timeout,
            services: Services::new(spec.seed, &spec.llms, &spec.tools)?,
            rng_workload: stream(spec.seed, "workload"),
            rng_faults: stream(spec.seed, "faults"),
            faults: spec.faults,
            agents: spec.agents,
            nodes: spec.nodes,
            requests: Vec::new(),
            keys_seen: BTreeSet::new(),
            metrics: Metrics::new(seconds),
        })
    }

    /// Point the clients at the gateway and schedule the first arrival.
    pub fn start(&mut self, gateway: ActorId, kernel: &mut Kernel<Msg, WorldEvent>) {
        self.gateway = gateway;
        let first = self.arrivals.next_gap(&mut self.rng_workload);
        if first < self.arrivals_end {
            kernel.schedule(first, WorldEvent::Arrival);
        }
        for (entry, fault) in self.faults.schedule.iter().enumerate() {
            let at = fault.at_ns;
            let node = |n: u32| NodeId(n as u16);
            match &fault.kind {
                ScheduledFaultKind::CrashAgent(agent) => kernel.fault_at(at, Fault::CrashNamed(agent_name(*agent))),
                ScheduledFaultKind::CrashNode { node: n, down_for_ns } => {
                    kernel.fault_at(at, Fault::CrashNode(node(*n)));
                    if let Some(down) = down_for_ns {
                        kernel.fault_at(at.saturating_add(*down), Fault::RestartNode(node(*n)));
                    }
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
    fn schedule_fault(&self, kernel: &mut Kernel<Msg, WorldEvent>, at: Nanos, event: WorldEvent) {
        if at < self.arrivals_end {
            kernel.schedule(at, event);
        }
    }

    /// Requests neither answered nor given up on.
    pub fn in_flight(&self) -> u64 {
        self.metrics.arrived - self.metrics.succeeded - self.metrics.failed
    }

    fn close(&mut self, id: u64) -> Option<Nanos> {
        let state = self.requests.get_mut(id as usize)?;
        match *state {
            RequestState::Open { arrived_at } => {
                *state = RequestState::Closed;
                Some(arrived_at)
            }
            RequestState::Closed => None,
        }
    }
}

impl World<Msg> for FleetWorld {
    type Event = WorldEvent;

    fn on_event(&mut self, event: WorldEvent, kernel: &mut Kernel<Msg, WorldEvent>) {
        let now = kernel.now();
        match event {
            WorldEvent::Arrival => {
                let id = self.requests.len() as u64;
                self.requests.push(RequestState::Open { arrived_at: now });
                self.metrics.arrived += 1;
                kernel.trace_world(1, id, &event);
                let ask =
                    Envelope { from: ActorId::EXTERNAL, route: Route::Ask(RequestId(id)), msg: Msg::Request { id } };
                kernel.deliver_at(now, self.gateway, ask);
                kernel.schedule(now.saturating_add(self.request_timeout), WorldEvent::ClientTimeout { id });
                let next = now.saturating_add(self.arrivals.next_gap(&mut self.rng_workload));
                if next < self.arrivals_end {
                    kernel.schedule(next, WorldEvent::Arrival);
                }
            }
            WorldEvent::ClientTimeout { id } => {
                if self.close(id).is_some() {
                    kernel.trace_world(2, id, &event);
                    self.metrics.failed += 1;
                    self.metrics.client_timeouts += 1;
                }
            }
            WorldEvent::AgentCrash { agent } => {
                kernel.trace_world(4, agent as u64, &event);
                kernel.fault_at(now, Fault::CrashNamed(agent_name(agent)));
                if let Some(mtbf) = self.faults.agent_crash_mtbf_ns {
                    let next = now.saturating_add(self.draw(mtbf));
                    self.schedule_fault(kernel, next, WorldEvent::AgentCrash { agent });
                }
            }
            WorldEvent::NodeCrash { node } => {
                kernel.trace_world(5, node as u64, &event);
                kernel.fault_at(now, Fault::CrashNode(NodeId(node as u16)));
                let repair = now.saturating_add(self.draw(self.faults.node_mttr_ns));
                kernel.schedule(repair, WorldEvent::NodeRepair { node });
            }
            WorldEvent::LlmSlotFreed { llm } => self.services.slot_freed(llm, kernel),
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
        kernel: &mut Kernel<Msg, WorldEvent>,
    ) {
        if !self.keys_seen.insert((call.service.0, call.idempotency_key)) {
            self.metrics.repeated_calls += 1;
        }
        self.services.call(Caller { actor: caller, request }, call, kernel);
    }

    fn on_external_reply(
        &mut self,
        _from: ActorId,
        request: RequestId,
        msg: Msg,
        kernel: &mut Kernel<Msg, WorldEvent>,
    ) {
        let now = kernel.now();
        let Some(arrived_at) = self.close(request.0) else {
            self.metrics.late_answers += 1;
            return;
        };
        kernel.trace_world(3, request.0, &msg);
        match msg {
            Msg::Outcome { ok: true, .. } => {
                self.metrics.succeeded += 1;
                let latency_us = (now - arrived_at) / 1_000;
                // `record` grows the auto-resizing histogram; only a value
                // beyond any resize would be clamped.
                let latency_us = latency_us.max(1);
                if self.metrics.latency_us.record(latency_us).is_err() {
                    self.metrics.latency_us.saturating_record(latency_us);
                }
                let second = (now / SECOND) as usize;
                if let Some(bucket) = self.metrics.throughput_timeline.get_mut(second) {
                    *bucket += 1;
                }
            }
            _ => self.metrics.failed += 1,
        }
    }
}
