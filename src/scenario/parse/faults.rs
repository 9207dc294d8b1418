//! `[supervision]` and `[faults]`: raw forms and their checks.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Ctx, NS_PER_S, RawDuration, Result, Spanned, choice_hint, expected_text};
use rehearsal_sim::buggify::BuggifyConfig;

use crate::scenario::model::*;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSupervision {
    intensity: Option<RawIntensity>,
    shutdown: Option<Spanned<RawDuration>>,
    restart: Option<Spanned<String>>,
    max_restarts_per_child: Option<Spanned<i64>>,
    max_task_retries: Option<Spanned<i64>>,
    backoff: Option<RawBackoff>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawIntensity {
    max_restarts: Spanned<i64>,
    period: Spanned<RawDuration>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawBackoff {
    min: Option<Spanned<RawDuration>>,
    max: Option<Spanned<RawDuration>>,
    random_factor: Option<Spanned<f64>>,
    reset_after: Option<Spanned<RawDuration>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFaults {
    failure_detection: Option<Spanned<RawDuration>>,
    agent_crash_mtbf: Option<Spanned<RawDuration>>,
    node_crash_mtbf: Option<Spanned<RawDuration>>,
    node_mttr: Option<Spanned<RawDuration>>,
    partition_mtbf: Option<Spanned<RawDuration>>,
    partition_mttr: Option<Spanned<RawDuration>>,
    clog_mtbf: Option<Spanned<RawDuration>>,
    clog_mttr: Option<Spanned<RawDuration>>,
    schedule: Option<Vec<RawScheduled>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawScheduled {
    at: Spanned<RawDuration>,
    crash_agent: Option<Spanned<i64>>,
    crash_node: Option<Spanned<i64>>,
    /// `join_node = N`: node N is not in the cluster until `at`.
    join_node: Option<Spanned<i64>>,
    partition: Option<Spanned<Vec<RawGroup>>>,
    one_way: Option<bool>,
    clog_node: Option<Spanned<i64>>,
    clog_link: Option<Spanned<Vec<i64>>>,
    brownout: Option<RawBrownout>,
    #[serde(rename = "for")]
    down_for: Option<Spanned<RawDuration>>,
}

/// One group of a `partition`, e.g. `[0, 1]`, with the span of each node.
type RawGroup = Spanned<Vec<Spanned<i64>>>;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawBrownout {
    llm: Spanned<String>,
    latency_x: Option<Spanned<f64>>,
    error_rate: Option<Spanned<f64>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBuggify {
    pub(super) enabled: Option<bool>,
    site_probability: Option<Spanned<f64>>,
    fire_probability: Option<Spanned<f64>>,
}

impl Ctx<'_> {
    pub(super) fn buggify(&self, raw: Option<&RawBuggify>) -> Result<BuggifyConfig> {
        let mut b = BuggifyConfig::default();
        let Some(raw) = raw else { return Ok(b) };
        if let Some(on) = raw.enabled {
            b.enabled = on;
        }
        if let Some(v) = &raw.site_probability {
            b.site_probability = self.probability(v, "buggify.site_probability")?;
        }
        if let Some(v) = &raw.fire_probability {
            b.fire_probability = self.probability(v, "buggify.fire_probability")?;
        }
        Ok(b)
    }

    /// A non-negative integer that fits a `u32`.
    fn count(&self, v: &Spanned<i64>, path: &str) -> Result<u32> {
        match u32::try_from(*v.get_ref()) {
            Ok(n) => Ok(n),
            Err(_) => Err(self.bad(v, path, expected_text(path), Some("use a whole number >= 0".into()))),
        }
    }

    pub(super) fn supervision(&self, raw: Option<&RawSupervision>) -> Result<SupervisionParams> {
        let mut p = SupervisionParams {
            max_restarts: 10,
            period_ns: 60 * NS_PER_S,
            shutdown_ns: 5 * NS_PER_S,
            restart: RestartType::Permanent,
            max_restarts_per_child: None,
            max_task_retries: 0,
            backoff_min_ns: 200_000_000,
            backoff_max_ns: 10 * NS_PER_S,
            backoff_random_factor: 0.2,
            backoff_reset_after_ns: 30 * NS_PER_S,
        };
        let Some(raw) = raw else { return Ok(p) };
        if let Some(i) = &raw.intensity {
            p.max_restarts = self.count(&i.max_restarts, "supervision.intensity.max_restarts")?;
            p.period_ns = self.positive_duration(&i.period, "supervision.intensity.period")?;
        }
        if let Some(v) = &raw.shutdown {
            p.shutdown_ns = self.duration(v, "supervision.shutdown")?;
        }
        if let Some(v) = &raw.restart {
            p.restart = match v.get_ref().as_str() {
                "permanent" => RestartType::Permanent,
                "transient" => RestartType::Transient,
                "temporary" => RestartType::Temporary,
                other => {
                    return Err(self.bad(
                        v,
                        "supervision.restart",
                        expected_text("supervision.restart"),
                        Some(choice_hint(other, &["permanent", "transient", "temporary"])),
                    ));
                }
            };
        }
        if let Some(v) = &raw.max_restarts_per_child {
            p.max_restarts_per_child = Some(self.count(v, "supervision.max_restarts_per_child")?);
        }
        if let Some(v) = &raw.max_task_retries {
            p.max_task_retries = self.count(v, "supervision.max_task_retries")?;
        }
        if let Some(b) = &raw.backoff {
            if let Some(v) = &b.min {
                p.backoff_min_ns = self.positive_duration(v, "supervision.backoff.min")?;
            }
            if let Some(v) = &b.max {
                p.backoff_max_ns = self.positive_duration(v, "supervision.backoff.max")?;
                if p.backoff_max_ns < p.backoff_min_ns {
                    return Err(self.bad(
                        v,
                        "supervision.backoff.max",
                        "a duration >= `min`",
                        Some("`max` caps the backoff, so it cannot be below `min`".into()),
                    ));
                }
            }
            if let Some(v) = &b.random_factor {
                let f = *v.get_ref();
                if !(f.is_finite() && (0.0..=10.0).contains(&f)) {
                    return Err(self.bad(
                        v,
                        "supervision.backoff.random_factor",
                        expected_text("supervision.backoff.random_factor"),
                        Some("Akka's randomFactor: 0.2 adds up to 20% to each delay".into()),
                    ));
                }
                p.backoff_random_factor = f;
            }
            if let Some(v) = &b.reset_after {
                p.backoff_reset_after_ns = self.positive_duration(v, "supervision.backoff.reset_after")?;
            }
        }
        Ok(p)
    }

    pub(super) fn faults(
        &self,
        raw: Option<&RawFaults>,
        topology: &Topology,
        workload: &Workload,
        llms: &[ServiceModel],
    ) -> Result<Faults> {
        let mut f = Faults {
            failure_detection_ns: 5 * NS_PER_S,
            schedule: Vec::new(),
            agent_crash_mtbf_ns: None,
            node_crash_mtbf_ns: None,
            node_mttr_ns: 30 * NS_PER_S,
            partition_mtbf_ns: None,
            partition_mttr_ns: 30 * NS_PER_S,
            clog_mtbf_ns: None,
            clog_mttr_ns: 30 * NS_PER_S,
        };
        let Some(raw) = raw else { return Ok(f) };
        if let Some(v) = &raw.partition_mtbf {
            f.partition_mtbf_ns = Some(self.positive_duration(v, "faults.partition_mtbf")?);
        }
        if let Some(v) = &raw.partition_mttr {
            f.partition_mttr_ns = self.positive_duration(v, "faults.partition_mttr")?;
        }
        if let Some(v) = &raw.clog_mtbf {
            f.clog_mtbf_ns = Some(self.positive_duration(v, "faults.clog_mtbf")?);
        }
        if let Some(v) = &raw.clog_mttr {
            f.clog_mttr_ns = self.positive_duration(v, "faults.clog_mttr")?;
        }
        if let Some(v) = &raw.failure_detection {
            f.failure_detection_ns = self.duration(v, "faults.failure_detection")?;
        }
        if let Some(v) = &raw.agent_crash_mtbf {
            f.agent_crash_mtbf_ns = Some(self.positive_duration(v, "faults.agent_crash_mtbf")?);
        }
        if let Some(v) = &raw.node_crash_mtbf {
            f.node_crash_mtbf_ns = Some(self.positive_duration(v, "faults.node_crash_mtbf")?);
        }
        if let Some(v) = &raw.node_mttr {
            f.node_mttr_ns = self.positive_duration(v, "faults.node_mttr")?;
        }
        let agents = match workload.shape {
            Shape::Pool | Shape::FanOut => topology.agents,
            Shape::Pipeline => workload.steps.len() as u32,
        };
        for entry in raw.schedule.iter().flatten() {
            let at_ns = self.duration(&entry.at, "faults.schedule.at")?;
            let kind = self.scheduled(entry, topology, agents, llms)?;
            let lasts = match &kind {
                ScheduledFaultKind::CrashAgent(_) | ScheduledFaultKind::JoinNode { .. } => None,
                ScheduledFaultKind::CrashNode { down_for_ns, .. } => *down_for_ns,
                ScheduledFaultKind::Partition { for_ns, .. }
                | ScheduledFaultKind::ClogNode { for_ns, .. }
                | ScheduledFaultKind::ClogLink { for_ns, .. }
                | ScheduledFaultKind::Brownout { for_ns, .. } => Some(*for_ns),
            };
            // The fault ends at `at` + `for`: that must be a time.
            if let (Some(for_ns), Some(v)) = (lasts, &entry.down_for)
                && at_ns.checked_add(for_ns).is_none()
            {
                return Err(self.bad(
                    v,
                    "faults.schedule.for",
                    "a duration that ends within 2^64 - 1 ns (about 584 years) of the start",
                    Some(format!(
                        "the fault ends at `at` + `for`, past the last representable time; `at` is {}",
                        self.text(&entry.at.span())
                    )),
                ));
            }
            f.schedule.push(ScheduledFault { at_ns, kind });
        }
        Ok(f)
    }

    fn node_index(&self, v: &Spanned<i64>, path: &str, nodes: u32) -> Result<u32> {
        match u32::try_from(*v.get_ref()) {
            Ok(n) if n < nodes => Ok(n),
            _ => Err(self.bad(
                v,
                path,
                format!("a node index below {nodes}"),
                Some(format!("nodes are numbered from 0; this topology has {nodes}")),
            )),
        }
    }

    /// One `[[faults.schedule]]` entry: exactly one kind of fault.
    fn scheduled(
        &self,
        e: &RawScheduled,
        topology: &Topology,
        agents: u32,
        llms: &[ServiceModel],
    ) -> Result<ScheduledFaultKind> {
        let kinds = [
            e.crash_agent.is_some(),
            e.crash_node.is_some(),
            e.join_node.is_some(),
            e.partition.is_some(),
            e.clog_node.is_some(),
            e.clog_link.is_some(),
            e.brownout.is_some(),
        ];
        let count = kinds.iter().filter(|&&k| k).count();
        if count != 1 {
            return Err(self.bad(
                &e.at,
                "faults.schedule",
                "exactly one of `crash_agent`, `crash_node`, `join_node`, `partition`, `clog_node`, `clog_link`, `brownout`",
                Some(if count == 0 {
                    "say what fails, e.g. crash_node = 1 and for = \"30s\"".into()
                } else {
                    "split it into one [[faults.schedule]] entry per fault".into()
                }),
            ));
        }
        let nodes = topology.nodes;
        let needs_for = |what: &str| -> Result<u64> {
            match &e.down_for {
                Some(v) => self.positive_duration(v, "faults.schedule.for"),
                None => Err(self.bad(
                    &e.at,
                    "faults.schedule.for",
                    format!("`for = duration` with `{what}`"),
                    Some(format!("say how long the {what} lasts, e.g. for = \"30s\"")),
                )),
            }
        };
        if let Some(a) = &e.crash_agent {
            let n = self.count(a, "faults.schedule.crash_agent")?;
            if n >= agents {
                return Err(self.bad(
                    a,
                    "faults.schedule.crash_agent",
                    format!("an agent index below {agents}"),
                    Some(format!("agents are numbered from 0; this fleet has {agents}")),
                ));
            }
            if let Some(v) = &e.down_for {
                return Err(self.bad(
                    v,
                    "faults.schedule.for",
                    "no `for` with `crash_agent`",
                    Some("a crashed agent is restarted by its supervisor; `for` applies to `crash_node`".into()),
                ));
            }
            return Ok(ScheduledFaultKind::CrashAgent(n));
        }
        if let Some(v) = &e.crash_node {
            let node = self.node_index(v, "faults.schedule.crash_node", nodes)?;
            let down_for_ns = match &e.down_for {
                Some(v) => Some(self.positive_duration(v, "faults.schedule.for")?),
                None => None,
            };
            return Ok(ScheduledFaultKind::CrashNode { node, down_for_ns });
        }
        if let Some(v) = &e.join_node {
            let node = self.node_index(v, "faults.schedule.join_node", nodes)?;
            if node == 0 {
                return Err(self.bad(
                    v,
                    "faults.schedule.join_node",
                    "a node other than 0",
                    Some("node 0 holds the gateway and the routers, and is in the cluster from the start".into()),
                ));
            }
            if let Some(f) = &e.down_for {
                return Err(self.bad(
                    f,
                    "faults.schedule.for",
                    "no `for` with `join_node`",
                    Some("a joining node stays; to take it away again, add a `crash_node` entry".into()),
                ));
            }
            return Ok(ScheduledFaultKind::JoinNode { node });
        }
        if let Some(v) = &e.partition {
            let mut groups: Vec<Vec<u32>> = Vec::new();
            for g in v.get_ref() {
                if g.get_ref().is_empty() {
                    return Err(self.bad(
                        g,
                        "faults.schedule.partition",
                        "groups of at least one node each",
                        Some("an empty group cuts nothing off; e.g. partition = [[0, 1], [2, 3]]".into()),
                    ));
                }
                let mut group = Vec::new();
                for s in g.get_ref() {
                    let n = *s.get_ref();
                    let node = match u32::try_from(n) {
                        Ok(n) if n < nodes => n,
                        _ => {
                            return Err(self.bad(
                                s,
                                "faults.schedule.partition",
                                format!("groups of node indices below {nodes}"),
                                Some(format!("node {n} does not exist; e.g. partition = [[0, 1], [2, 3]]")),
                            ));
                        }
                    };
                    if groups.iter().chain([&group]).any(|earlier| earlier.contains(&node)) {
                        return Err(self.bad(
                            s,
                            "faults.schedule.partition",
                            "each node in at most one group",
                            Some(format!(
                                "node {node} is listed twice; a partition splits the nodes into disjoint \
                                 groups (nodes in no group keep talking to every group)"
                            )),
                        ));
                    }
                    group.push(node);
                }
                groups.push(group);
            }
            if groups.len() < 2 {
                return Err(self.bad(
                    v,
                    "faults.schedule.partition",
                    "at least two groups of nodes",
                    Some("e.g. partition = [[0, 1], [2, 3]]".into()),
                ));
            }
            let for_ns = needs_for("partition")?;
            return Ok(ScheduledFaultKind::Partition { groups, one_way: e.one_way.unwrap_or(false), for_ns });
        }
        if let Some(v) = &e.clog_node {
            let node = self.node_index(v, "faults.schedule.clog_node", nodes)?;
            return Ok(ScheduledFaultKind::ClogNode { node, for_ns: needs_for("clog")? });
        }
        if let Some(v) = &e.clog_link {
            let pair = v.get_ref();
            let ok = pair.len() == 2 && pair.iter().all(|&n| u32::try_from(n).is_ok_and(|n| n < nodes));
            if !ok {
                return Err(self.bad(
                    v,
                    "faults.schedule.clog_link",
                    format!("[from, to], two node indices below {nodes}"),
                    Some("e.g. clog_link = [0, 2]".into()),
                ));
            }
            let for_ns = needs_for("clog")?;
            return Ok(ScheduledFaultKind::ClogLink { from: pair[0] as u32, to: pair[1] as u32, for_ns });
        }
        let Some(b) = &e.brownout else { unreachable!("exactly one kind is set, checked above") };
        let name = b.llm.get_ref();
        let Some(llm) = llms.iter().position(|m| &m.name == name) else {
            let names: Vec<&str> = llms.iter().map(|m| m.name.as_str()).collect();
            return Err(self.bad(
                &b.llm,
                "faults.schedule.brownout.llm",
                format!("the name of an LLM: {}", names.join(", ")),
                Some(choice_hint(name, &names)),
            ));
        };
        let latency_x = match &b.latency_x {
            Some(v) if v.get_ref().is_finite() && *v.get_ref() >= 1.0 => *v.get_ref(),
            Some(v) => {
                return Err(self.bad(
                    v,
                    "faults.schedule.brownout.latency_x",
                    "a factor >= 1",
                    Some("a brownout slows the model: latency_x = 8 makes it 8 times slower".into()),
                ));
            }
            None => 1.0,
        };
        let error_rate_add = match &b.error_rate {
            Some(v) => self.probability(v, "faults.schedule.brownout.error_rate")?,
            None => 0.0,
        };
        Ok(ScheduledFaultKind::Brownout { llm: llm as u16, latency_x, error_rate_add, for_ns: needs_for("brownout")? })
    }
}
