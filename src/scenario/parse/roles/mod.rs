//! `[[roles]]` and their workflows (see [`crate::scenario::workflow`]).

use schemars::JsonSchema;
use serde::Deserialize;

use super::strategies::RawItem;
use super::{Ctx, DistKind, RawDist, RawDuration, Result, Spanned, choice_hint, did_you_mean, echo};
use crate::scenario::model::{RequestType, ServiceModel, Step, Topology};
use crate::scenario::workflow::*;
use crate::strategy::Defaults;
use crate::strategy::retry::Retry;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRole {
    name: Spanned<String>,
    count: Option<Spanned<i64>>,
    concurrency: Option<Spanned<i64>>,
    mailbox: Option<Spanned<i64>>,
    nodes: Option<Spanned<Vec<Spanned<i64>>>>,
    entry: Option<Spanned<bool>>,
    /// Virtual agents, one per request key, activated on demand.
    #[serde(rename = "virtual")]
    virtual_agents: Option<Spanned<bool>>,
    idle_timeout: Option<Spanned<RawDuration>>,
    passivation: Option<Spanned<bool>>,
    state_load: Option<Spanned<RawDist<RawDuration>>>,
    reminder: Option<Spanned<RawDuration>>,
    /// Virtual roles: `"central"` (one directory, default) or
    /// `"distributed"` (a partition on every node of the role).
    directory: Option<Spanned<String>>,
    /// Node CPU time per piece of work.
    cpu: Option<Spanned<RawDuration>>,
    /// Node memory per agent or activation.
    memory_mb: Option<Spanned<i64>>,
    /// Virtual roles: move activations where the placement now puts them.
    rebalance: Option<Spanned<virtual_spec::RawRebalance>>,
    /// Virtual roles: durable state in a store service.
    state: Option<Spanned<virtual_spec::RawState>>,
    #[schemars(with = "Option<super::schema::RetryValue>")]
    retry: Option<Spanned<RawItem>>,
    workflow: Spanned<Vec<Spanned<RawStep>>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    name: Spanned<String>,
    call: Option<Spanned<String>>,
    /// `occ = "store:NAME"`: read the row, then write it back conditioned
    /// on the version read; on a conflict, back off and read again.
    occ: Option<Spanned<String>>,
    /// `occ`: the most reads-then-writes (default 10,000).
    attempts: Option<Spanned<i64>>,
    ask: Option<Spanned<String>>,
    sequence: Option<Spanned<Vec<Spanned<RawStep>>>>,
    parallel: Option<Spanned<Vec<Spanned<RawStep>>>>,
    copies: Option<Spanned<i64>>,
    #[schemars(with = "Option<super::schema::Join>")]
    join: Option<Spanned<RawItem>>,
    #[serde(rename = "loop")]
    repeat: Option<Spanned<Vec<Spanned<RawStep>>>>,
    max: Option<Spanned<i64>>,
    done_probability: Option<Spanned<f64>>,
    count: Option<Spanned<RawDist<f64>>>,
    branch: Option<Spanned<Vec<Spanned<RawOption>>>>,
    timeout: Option<Spanned<RawDuration>>,
    #[schemars(with = "Option<super::schema::RetryValue>")]
    retry: Option<Spanned<RawItem>>,
    context: Option<Spanned<bool>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOption {
    weight: Spanned<f64>,
    steps: Spanned<Vec<Spanned<RawStep>>>,
}

/// A list of raw steps, as a workflow or a nested list is written.
pub(super) type RawSteps = Spanned<Vec<Spanned<RawStep>>>;

/// What the roles parser needs from the rest of the scenario.
pub(super) struct RolesInput<'a> {
    pub llms: &'a [ServiceModel],
    pub tools: &'a [ServiceModel],
    pub stores: &'a [crate::scenario::StoreModel],
    pub defaults: &'a Defaults<'a>,
    pub topology: &'a Topology,
    /// Each request type, with its raw `workflow` (if any).
    pub types: &'a [(RequestType, Option<&'a RawSteps>)],
    /// The longest request deadline: the entry role's work timeout and
    /// the default timeout of an ask.
    pub max_deadline_ns: u64,
}

/// The checked roles, the workflows' arena, the entry role, and each
/// request type's own workflow (if it has one).
pub(super) struct RolesOutput {
    pub roles: Vec<Role>,
    pub workflows: Workflows,
    pub entry: RoleIndex,
    pub type_workflows: Vec<Option<NodeIndex>>,
}

impl Ctx<'_> {
    pub(super) fn roles(&self, raw: &Spanned<Vec<RawRole>>, input: &RolesInput<'_>) -> Result<RolesOutput> {
        let list = raw.get_ref();
        if list.is_empty() {
            return Err(self.bad(raw, "roles", "at least one `[[roles]]` table", None));
        }
        if list.len() > MAX_ROLES {
            return Err(self.bad(raw, "roles", format!("at most {MAX_ROLES} roles"), None));
        }
        let mut names: Vec<String> = Vec::with_capacity(list.len());
        for r in list {
            let name = self.short_name(&r.name, "roles.name")?;
            if names.contains(&name) {
                return Err(self.bad(
                    &r.name,
                    "roles.name",
                    "a name no other role has",
                    Some(format!("role `{name}` is declared twice")),
                ));
            }
            names.push(name);
        }
        let mut entry: Option<RoleIndex> = None;
        for (i, r) in list.iter().enumerate() {
            if let Some(e) = &r.entry
                && *e.get_ref()
            {
                if entry.is_some() {
                    return Err(self.bad(
                        e,
                        "roles.entry",
                        "`entry = true` on one role only",
                        Some("client requests go to one role, the entry".into()),
                    ));
                }
                entry = Some(i as RoleIndex);
            }
        }
        let entry = entry.unwrap_or(0);
        let mut b = Builder {
            ctx: self,
            input,
            roles: &names,
            out: Workflows::default(),
            prefix: String::new(),
            local: Vec::new(),
            ask_timeouts: vec![0; list.len()],
            asks: vec![Vec::new(); list.len()],
            current_role: None,
        };
        let mut roles = Vec::with_capacity(list.len());
        let mut total: u64 = 0;
        for (i, r) in list.iter().enumerate() {
            let count = match &r.count {
                Some(v) => {
                    self.positive_int(v, "roles.count", u64::from(super::MAX_AGENTS), "a role has at least 1 agent")?
                        as u32
                }
                None => 1,
            };
            total += u64::from(count);
            if total > u64::from(super::MAX_AGENTS) {
                return Err(self.err(
                    r.count.as_ref().map_or(r.name.span().start, |c| c.span().start),
                    "too many agents",
                    format!("at most {} agents over all roles", super::MAX_AGENTS),
                    None,
                ));
            }
            let concurrency = match &r.concurrency {
                Some(v) => {
                    self.positive_int(v, "roles.concurrency", 10_000, "an agent works on at least 1 piece of work")?
                        as u32
                }
                None => 1,
            };
            let mailbox = r
                .mailbox
                .as_ref()
                .map(|v| self.positive_int(v, "roles.mailbox", 1 << 24, "a mailbox holds at least 1 message"))
                .transpose()?
                .map(|n| n as u32);
            let nodes = match &r.nodes {
                None => (0..input.topology.nodes).collect(),
                Some(v) => {
                    if v.get_ref().is_empty() {
                        return Err(self.bad(v, "roles.nodes", "a non-empty list of node indices", None));
                    }
                    let mut nodes = Vec::with_capacity(v.get_ref().len());
                    for n in v.get_ref() {
                        let x = *n.get_ref();
                        if x < 0 || x >= i64::from(input.topology.nodes) {
                            return Err(self.bad(
                                n,
                                "roles.nodes",
                                format!("a node index from 0 to {}", input.topology.nodes - 1),
                                Some(format!("`topology.nodes` is {}", input.topology.nodes)),
                            ));
                        }
                        nodes.push(x as u32);
                    }
                    nodes
                }
            };
            let retry = r.retry.as_ref().map(|v| self.one_value::<Retry>(v, input.defaults)).transpose()?;
            let mut virtual_agents = self.virtual_spec(r)?;
            b.prefix = names[i].clone();
            b.current_role = Some(i);
            b.local.clear();
            let workflow = b.sequence(&r.workflow, "roles.workflow", None, 0)?;
            if let (Some(v), Some(raw)) = (virtual_agents.as_mut(), &r.state) {
                v.state = Some(b.state_spec(raw)?);
            }
            // A virtual role has no fixed agents: its activations come and go.
            let count = if virtual_agents.is_some() { 0 } else { count };
            roles.push(Role {
                name: names[i].clone(),
                count,
                concurrency,
                mailbox,
                nodes,
                retry,
                workflow,
                work_timeout_ns: 0,
                cpu_ns: r.cpu.as_ref().map(|d| self.duration(d, "roles.cpu")).transpose()?.unwrap_or(0),
                memory_mb: r
                    .memory_mb
                    .as_ref()
                    .map(|m| self.positive_int(m, "roles.memory_mb", 1 << 30, "at least 1 MB"))
                    .transpose()?
                    .unwrap_or(0),
                virtual_agents,
            });
        }
        let mut type_workflows = Vec::with_capacity(input.types.len());
        for (t, raw) in input.types {
            b.current_role = Some(entry as usize);
            b.prefix = t.name.clone();
            b.local.clear();
            let w = match raw {
                Some(list) => Some(b.sequence(list, "workload.requests.workflow", None, 0)?),
                None if !t.steps.is_empty() => Some(b.simple_steps(&t.steps)),
                None => None,
            };
            type_workflows.push(w);
        }
        b.reject_cycles(list)?;
        for (i, role) in roles.iter_mut().enumerate() {
            role.work_timeout_ns =
                if i == entry as usize { input.max_deadline_ns.max(b.ask_timeouts[i]) } else { b.ask_timeouts[i] };
        }
        Ok(RolesOutput { roles, workflows: b.out, entry, type_workflows })
    }
}

pub(crate) fn worst_frames(w: &Workflows, node: NodeIndex) -> u64 {
    match w.node(node) {
        Node::Call(_) | Node::Ask { .. } | Node::Occ(_) => 1,
        Node::Sequence { children, .. } => children.iter().fold(1u64, |acc, &c| acc.saturating_add(worst_frames(w, c))),
        Node::Parallel { branches, .. } => branches.iter().fold(1u64, |acc, &c| acc.saturating_add(worst_frames(w, c))),
        Node::Loop { body, max, .. } => 1u64.saturating_add(u64::from(*max).saturating_mul(worst_frames(w, *body))),
        Node::Branch { options, .. } => {
            1u64.saturating_add(options.iter().map(|&(_, o)| worst_frames(w, o)).max().unwrap_or(0))
        }
    }
}

mod builder;
#[cfg(test)]
mod tests;
mod virtual_spec;

use builder::Builder;
