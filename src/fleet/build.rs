//! The fleet a scenario describes, spawned into a simulation: the simple
//! form (pool, pipeline, fan-out behind one gateway) or roles with their
//! routers, under the supervision strategy of the run's strategy point.

use std::rc::Rc;

use rehearsal_runtime::retry::RetryPolicy;
use rehearsal_runtime::supervisor::{
    Backoff, ChildSpec, Intensity, Restart, Strategy as SupStrategy, Supervisor, SupervisorSpec, WhenDown,
};
use rehearsal_runtime::{ActorId, NodeId};
use rehearsal_sim::Sim;

use super::telemetry::Telemetry;
use super::{Agent, FleetActor, Gateway, RoleAgent, RolePlan, RoleSpec, Stage, StepSpec, agent_name};
use crate::run::fleet_size;
use crate::scenario::workflow::DirectoryKind;
use crate::scenario::{RestartType, Scenario, Shape, Step};
use crate::strategy::{Point, supervision::Supervision};
use crate::world::FleetWorld;

/// What every agent's policy state is made from: the run's policy (if
/// any) and the telemetry its figures go to.
#[derive(Clone, Debug)]
pub struct Guards {
    pub policy: Option<Rc<super::guard::PolicyRuntime>>,
    pub telemetry: Telemetry,
}

impl Guards {
    /// A fresh agent's policy state.
    pub fn guard(&self) -> Option<super::guard::Guard> {
        self.policy.as_ref().map(|p| super::guard::Guard::new(p.clone(), self.telemetry.clone()))
    }
}

/// Spawn the scenario's fleet for strategy point `point` (`retry`: its
/// retry policy; `seed`: the workflow draws' seed) and return the actor
/// clients ask: the gateway, or the entry role's router.
pub fn spawn(
    sim: &mut Sim<FleetActor, FleetWorld>,
    scenario: &Scenario,
    point: &Point,
    retry: RetryPolicy,
    seed: u64,
    guards: Guards,
) -> ActorId {
    if scenario.roles.is_empty() {
        build_fleet(sim, scenario, point, retry, guards)
    } else {
        build_roles(sim, scenario, point, retry, seed, guards)
    }
}

fn step_spec(scenario: &Scenario, step: Step) -> StepSpec {
    let timeout = match step {
        Step::Llm(i) => scenario.llms[i as usize].timeout_ns,
        Step::Tool(i) => scenario.tools[i as usize].timeout_ns,
    };
    StepSpec { service: crate::system::step_service(step), timeout }
}

/// Spawn the fleet under the supervision strategy `strategy` names, and
/// return the gateway. Agents (or stages) run on nodes round-robin; the
/// gateway and the root supervisor on node 0.
fn build_fleet(
    sim: &mut Sim<FleetActor, FleetWorld>,
    scenario: &Scenario,
    point: &Point,
    retry: RetryPolicy,
    guards: Guards,
) -> ActorId {
    let nodes = scenario.topology.nodes.max(1);
    let node_of = |i: u32| NodeId((i % nodes) as u16);
    let size = fleet_size(scenario);
    // How to start child `i` (a fresh incarnation each time).
    let start_child: Rc<dyn Fn(u32) -> FleetActor> = match scenario.workload.shape {
        Shape::Pool | Shape::FanOut => {
            let workflows: Rc<Vec<Vec<StepSpec>>> = Rc::new(
                scenario
                    .workload
                    .types
                    .iter()
                    .map(|t| t.steps.iter().map(|&s| step_spec(scenario, s)).collect())
                    .collect(),
            );
            Rc::new(move |i| FleetActor::Agent(Agent::new(i, workflows.clone(), retry).with_guard(guards.guard())))
        }
        Shape::Pipeline => {
            let steps: Vec<StepSpec> = scenario.workload.steps.iter().map(|&s| step_spec(scenario, s)).collect();
            Rc::new(move |i| {
                let last = i as usize + 1 == steps.len();
                FleetActor::Stage(Stage::new(i, last, steps[i as usize], retry))
            })
        }
    };
    supervise(sim, scenario, point, size, &node_of, start_child);
    let p = &scenario.supervision;
    let gateway = match scenario.workload.shape {
        Shape::Pool => Gateway::pool(size, scenario.workload.max_deadline_ns(), p.max_task_retries)
            .with_dispatch(point.dispatch.configure()),
        Shape::FanOut => {
            let policy = point.fanout.configure();
            let w = &scenario.workload;
            Gateway::fan_out(size, w.fanout, policy, w.subtask_timeout_ns, p.max_task_retries)
                .with_dispatch(point.dispatch.configure())
        }
        Shape::Pipeline => Gateway::pipeline(),
    };
    sim.spawn(NodeId(0), FleetActor::Gateway(gateway))
}

/// Spawn `size` agents (agent `i` on `node_of(i)`, started by
/// `start_child(i)`) under the supervision strategy `point` selects.
fn supervise(
    sim: &mut Sim<FleetActor, FleetWorld>,
    scenario: &Scenario,
    point: &Point,
    size: u32,
    node_of: &dyn Fn(u32) -> NodeId,
    start_child: Rc<dyn Fn(u32) -> FleetActor>,
) {
    let nodes = scenario.topology.nodes.max(1);
    let p = &scenario.supervision;
    let restart = match p.restart {
        RestartType::Permanent => Restart::Permanent,
        RestartType::Transient => Restart::Transient,
        RestartType::Temporary => Restart::Temporary,
    };
    let child_spec = |i: u32, start: Rc<dyn Fn(u32) -> FleetActor>| {
        let mut spec = ChildSpec::new(agent_name(i), move |_, _| start(i));
        spec.node = node_of(i);
        spec.restart = restart;
        spec.shutdown = p.shutdown_ns;
        spec.max_restarts = p.max_restarts_per_child;
        spec
    };
    let supervisor_spec = |strategy: SupStrategy, children: Vec<ChildSpec<FleetActor>>| {
        let mut spec = supervisor_spec_standalone(strategy, children, nodes);
        spec.intensity = Intensity { max_restarts: p.max_restarts, period: p.period_ns };
        spec
    };
    match point.supervision {
        Supervision::None => {
            for i in 0..size {
                sim.spawn(node_of(i), start_child(i));
            }
        }
        Supervision::Tree(strategy) => {
            let children = (0..size).map(|i| child_spec(i, start_child.clone())).collect();
            let root = Supervisor::new(supervisor_spec(strategy, children));
            sim.spawn(NodeId(0), FleetActor::Supervisor(Box::new(root)));
        }
        Supervision::OneForOneBackoff => {
            // Akka's BackoffSupervisor around each agent, under a
            // one_for_one root: a crashed agent comes back after a growing,
            // jittered delay.
            let backoff = Backoff {
                min: p.backoff_min_ns,
                max: p.backoff_max_ns,
                random_factor: p.backoff_random_factor,
                reset_after: p.backoff_reset_after_ns,
                max_restarts: p.max_restarts_per_child,
                when_down: WhenDown::Drop,
            };
            let children = (0..size)
                .map(|i| {
                    let inner = child_spec(i, start_child.clone());
                    let spec_for = Rc::new(move |_: u32| {
                        let mut spec = supervisor_spec_standalone(SupStrategy::OneForOne, vec![inner.clone()], nodes);
                        spec.backoff = Some(backoff);
                        FleetActor::Supervisor(Box::new(Supervisor::new(spec)))
                    });
                    let mut spec = ChildSpec::new(agent_name(i) + BACKOFF_NAME_OFFSET, move |_, _| spec_for(i));
                    spec.node = node_of(i);
                    spec
                })
                .collect();
            let root = Supervisor::new(supervisor_spec(SupStrategy::OneForOne, children));
            sim.spawn(NodeId(0), FleetActor::Supervisor(Box::new(root)));
        }
    }
}

/// Roles: spawn each role's router on node 0 (the entry role's is the
/// gateway clients ask), then the agents, role by role, under the
/// supervision strategy. Returns the entry role's router.
fn build_roles(
    sim: &mut Sim<FleetActor, FleetWorld>,
    scenario: &Scenario,
    point: &Point,
    retry: RetryPolicy,
    seed: u64,
    guards: Guards,
) -> ActorId {
    let telemetry = guards.telemetry.clone();
    let dispatch = point.dispatch.configure();
    let max_task_retries = scenario.supervision.max_task_retries;
    let mut routers = Vec::with_capacity(scenario.roles.len());
    // Global agent index of each role's first agent, and each agent's role.
    let mut bases = Vec::with_capacity(scenario.roles.len());
    let mut role_of = Vec::with_capacity(scenario.topology.agents as usize);
    let mut base = 0u32;
    // Directories get the plan once it exists (it lists them as routers).
    let plan_cell: Rc<std::cell::OnceCell<Rc<RolePlan>>> = Rc::new(std::cell::OnceCell::new());
    for (r, role) in scenario.roles.iter().enumerate() {
        if let Some(v) = &role.virtual_agents {
            let nodes: Vec<u16> = role.nodes.iter().map(|&n| n as u16).collect();
            let directory = |node_list: Vec<u16>| {
                super::directory::Directory::new(
                    r as u16,
                    plan_cell.clone(),
                    point.placement,
                    node_list.clone(),
                    capacity_of(scenario, role, &node_list),
                    v.idle_ns.filter(|_| point.passivation.0),
                    role.work_timeout_ns,
                )
                .with_rebalance(v.rebalance)
            };
            let router = match v.directory.unwrap_or(point.directory.0) {
                DirectoryKind::Central => {
                    let d = directory(nodes).with_reminders(v.reminder_ns);
                    sim.spawn(NodeId(0), FleetActor::Directory(Box::new(d)))
                }
                DirectoryKind::Distributed => {
                    spawn_distributed(sim, scenario, role.work_timeout_ns, v.reminder_ns, &nodes, directory)
                }
            };
            routers.push(router);
            bases.push(base);
            continue;
        }
        let router = Gateway::router(base, role.count, role.concurrency, role.work_timeout_ns, max_task_retries)
            .with_dispatch(dispatch)
            .for_role(r as u16);
        routers.push(sim.spawn(NodeId(0), FleetActor::Gateway(router)));
        bases.push(base);
        role_of.extend(std::iter::repeat_n(r as u16, role.count as usize));
        base += role.count;
    }
    let plan = Rc::new(RolePlan {
        workflows: scenario.workflows.clone(),
        roles: scenario
            .roles
            .iter()
            .map(|r| RoleSpec {
                workflow: r.workflow,
                concurrency: r.concurrency,
                mailbox: r.mailbox,
                retry: r.retry.map_or(retry, |x| x.configure()),
                state_load: r.virtual_agents.as_ref().and_then(|v| v.state_load.clone()),
                state: r.virtual_agents.as_ref().and_then(|v| v.state),
                cpu_ns: r.cpu_ns,
            })
            .collect(),
        type_workflows: scenario.workload.types.iter().map(|t| t.workflow).collect(),
        entry: scenario.entry_role,
        routers: routers.clone(),
        seed,
        telemetry,
        guards,
        state_store: Default::default(),
        cpus: std::cell::RefCell::new(super::cpu::Cpus::new(&scenario.topology)),
    });
    let _ = plan_cell.set(plan.clone());
    let role_of = Rc::new(role_of);
    let static_nodes: Vec<Vec<u16>> =
        scenario.roles.iter().map(|r| static_placement(scenario, r, point.placement)).collect();
    let node_of = {
        let role_of = role_of.clone();
        move |i: u32| {
            let r = role_of[i as usize] as usize;
            NodeId(static_nodes[r][(i - bases[r]) as usize])
        }
    };
    let start_child: Rc<dyn Fn(u32) -> FleetActor> =
        Rc::new(move |i| FleetActor::Role(RoleAgent::new(i, role_of[i as usize], plan.clone())));
    supervise(sim, scenario, point, scenario.topology.agents, &node_of, start_child);
    routers[usize::from(scenario.entry_role)]
}

/// Where each fixed agent of `role` runs: `pack` fills each node of the
/// role's list up to what it holds (the agents its memory holds, or else
/// its CPU slots) before the next, and round-robin whatever is left over;
/// every other placement spreads them round-robin.
fn static_placement(
    scenario: &Scenario,
    role: &crate::scenario::workflow::Role,
    placement: crate::strategy::placement::Placement,
) -> Vec<u16> {
    let nodes: Vec<u16> = role.nodes.iter().map(|&n| n as u16).collect();
    let count = role.count as usize;
    let round_robin = |i: usize| nodes[i % nodes.len()];
    if placement != crate::strategy::placement::Placement::Pack {
        return (0..count).map(round_robin).collect();
    }
    let mut out = Vec::with_capacity(count);
    for (&n, (cpu, room)) in nodes.iter().zip(capacity_of(scenario, role, &nodes)) {
        let holds = room.or(cpu.map(u64::from)).map_or(count, |h| h as usize);
        out.extend(std::iter::repeat_n(n, holds.min(count - out.len())));
    }
    let placed = out.len();
    out.extend((placed..count).map(round_robin));
    out
}

/// Each of `nodes`' CPU slots, and the activations of `role` its memory
/// holds (`None`: unlimited).
fn capacity_of(
    scenario: &Scenario,
    role: &crate::scenario::workflow::Role,
    nodes: &[u16],
) -> Vec<(Option<u32>, Option<u64>)> {
    nodes
        .iter()
        .map(|&n| {
            let c = scenario.topology.capacity_of(u32::from(n));
            let room = match (c.memory_mb, role.memory_mb) {
                (Some(memory), per) if per > 0 => Some(memory / per),
                _ => None,
            };
            (c.cpu, room)
        })
        .collect()
}

/// A distributed directory: a partition on each of `nodes` and a front on
/// node 0, each knowing the others once all are spawned. Returns the front.
fn spawn_distributed(
    sim: &mut Sim<FleetActor, FleetWorld>,
    scenario: &Scenario,
    work_timeout_ns: u64,
    reminder_ns: Option<u64>,
    nodes: &[u16],
    directory: impl Fn(Vec<u16>) -> super::directory::Directory,
) -> ActorId {
    use super::directory::membership::{Cluster, Membership};
    let mut sorted = nodes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let cell = Rc::new(std::cell::OnceCell::new());
    // Suspect a partition after `failure_detection` of silence, but never
    // within three heartbeats: a shorter wait would suspect live peers.
    let suspect_after = scenario.faults.failure_detection_ns.max(3 * super::directory::membership::HEARTBEAT_NS);
    let template = directory(sorted.clone());
    let factory: super::directory::front::PartitionFactory = {
        let (cell, count) = (cell.clone(), sorted.len());
        Rc::new(move |node| {
            template.clone().distributed(Membership::new(cell.clone(), Some(node), count, suspect_after))
        })
    };
    let partitions: Vec<(u16, ActorId)> =
        sorted.iter().map(|&n| (n, sim.spawn(NodeId(n), FleetActor::Directory(Box::new(factory(n)))))).collect();
    // A partition may resend once to a new activation: wait for both.
    let member = Membership::new(cell.clone(), None, sorted.len(), suspect_after);
    let front = super::directory::front::Front::new(member, work_timeout_ns.saturating_mul(2), factory)
        .with_reminders(reminder_ns);
    let front = sim.spawn(NodeId(0), FleetActor::DirectoryFront(front));
    let _ = cell.set(Cluster { partitions, front });
    front
}

/// Backoff supervisors' child ids sit apart from the agents' names.
const BACKOFF_NAME_OFFSET: u64 = 1_000_000;

/// A supervisor that may place children on any node (Ray-style
/// rescheduling when a child's own node is down).
fn supervisor_spec_standalone(
    strategy: SupStrategy,
    children: Vec<ChildSpec<FleetActor>>,
    nodes: u32,
) -> SupervisorSpec<FleetActor> {
    let mut spec = SupervisorSpec::new(strategy, children);
    spec.fallback_nodes = (0..nodes).map(|n| NodeId(n as u16)).collect();
    spec
}
