//! The simulated world around the fleet: clients that send requests on a
//! Poisson schedule and give up after a timeout, and the LLM and tool
//! services the agents call. It also keeps the run's request metrics.

use std::collections::BTreeSet;

use hdrhistogram::Histogram;
use rehearsal_runtime::{ActorId, Envelope, Nanos, NodeId, RequestId, Route, ServiceCall, ServiceOutcome};
use rehearsal_sim::dist::Dist;
use rehearsal_sim::rng::{StreamRng, stream};
use rehearsal_sim::services::{PoissonArrivals, ServiceModel};
use rehearsal_sim::{Fault, Kernel, World};

use crate::fleet::{LLM, Msg, TOOL, agent_name};
use crate::scenario::{Faults, ScheduledFaultKind};

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
}

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
    pub llm_calls: u64,
    pub tool_calls: u64,
    pub service_errors: u64,
    /// Calls whose idempotency key was seen before: retries, and re-runs
    /// of work whose first runner died.
    pub repeated_calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
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
            llm_calls: 0,
            tool_calls: 0,
            service_errors: 0,
            repeated_calls: 0,
            input_tokens: 0,
            output_tokens: 0,
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
    llm: ServiceModel,
    tool: ServiceModel,
    rng_workload: StreamRng,
    rng_llm: StreamRng,
    rng_tool: StreamRng,
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
    pub llm: ServiceModel,
    pub tool: ServiceModel,
    pub faults: Faults,
    /// Agents (or pipeline stages) that faults may target, by index.
    pub agents: u32,
    pub nodes: u32,
}

impl FleetWorld {
    pub fn new(spec: WorldSpec) -> Self {
        let seconds = (spec.arrivals_end.saturating_add(spec.request_timeout) / SECOND + 1) as usize;
        FleetWorld {
            gateway: ActorId::EXTERNAL,
            arrivals: PoissonArrivals::new(spec.arrival_rate_per_s),
            arrivals_end: spec.arrivals_end,
            request_timeout: spec.request_timeout,
            llm: spec.llm,
            tool: spec.tool,
            rng_workload: stream(spec.seed, "workload"),
            rng_llm: stream(spec.seed, "llm"),
            rng_tool: stream(spec.seed, "tool"),
            rng_faults: stream(spec.seed, "faults"),
            faults: spec.faults,
            agents: spec.agents,
            nodes: spec.nodes,
            requests: Vec::new(),
            keys_seen: BTreeSet::new(),
            metrics: Metrics::new(seconds),
        }
    }

    /// Point the clients at the gateway and schedule the first arrival.
    pub fn start(&mut self, gateway: ActorId, kernel: &mut Kernel<Msg, WorldEvent>) {
        self.gateway = gateway;
        let first = self.arrivals.next_gap(&mut self.rng_workload);
        if first < self.arrivals_end {
            kernel.schedule(first, WorldEvent::Arrival);
        }
        for fault in &self.faults.schedule {
            match fault.kind {
                ScheduledFaultKind::CrashAgent(agent) => {
                    kernel.fault_at(fault.at_ns, Fault::CrashNamed(agent_name(agent)));
                }
                ScheduledFaultKind::CrashNode { node, down_for_ns } => {
                    kernel.fault_at(fault.at_ns, Fault::CrashNode(NodeId(node as u16)));
                    if let Some(down) = down_for_ns {
                        kernel.fault_at(fault.at_ns.saturating_add(down), Fault::RestartNode(NodeId(node as u16)));
                    }
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
        let answer = match call.service {
            LLM => {
                self.metrics.llm_calls += 1;
                self.llm.answer(&mut self.rng_llm)
            }
            TOOL => {
                self.metrics.tool_calls += 1;
                self.tool.answer(&mut self.rng_tool)
            }
            // An unknown service never answers: the caller times out.
            _ => return,
        };
        if !self.keys_seen.insert((call.service.0, call.idempotency_key)) {
            self.metrics.repeated_calls += 1;
        }
        self.metrics.input_tokens += answer.input_tokens as u64;
        self.metrics.output_tokens += answer.output_tokens as u64;
        if matches!(answer.outcome, ServiceOutcome::Failed(_)) {
            self.metrics.service_errors += 1;
        }
        kernel.complete_call(kernel.now().saturating_add(answer.latency), caller, request, answer.outcome);
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
