//! `[supervision]` and `[faults]`: raw forms and their checks.

use serde::Deserialize;
use toml::Spanned;

use super::{Ctx, NS_PER_S, RawDuration, Result, choice_hint, expected_text};
use rehearsal_sim::buggify::BuggifyConfig;

use crate::scenario::model::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSupervision {
    intensity: Option<RawIntensity>,
    shutdown: Option<Spanned<RawDuration>>,
    restart: Option<Spanned<String>>,
    max_restarts_per_child: Option<Spanned<i64>>,
    max_task_retries: Option<Spanned<i64>>,
    backoff: Option<RawBackoff>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntensity {
    max_restarts: Spanned<i64>,
    period: Spanned<RawDuration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBackoff {
    min: Option<Spanned<RawDuration>>,
    max: Option<Spanned<RawDuration>>,
    random_factor: Option<Spanned<f64>>,
    reset_after: Option<Spanned<RawDuration>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFaults {
    failure_detection: Option<Spanned<RawDuration>>,
    agent_crash_mtbf: Option<Spanned<RawDuration>>,
    node_crash_mtbf: Option<Spanned<RawDuration>>,
    node_mttr: Option<Spanned<RawDuration>>,
    schedule: Option<Vec<RawScheduled>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScheduled {
    at: Spanned<RawDuration>,
    crash_agent: Option<Spanned<i64>>,
    crash_node: Option<Spanned<i64>>,
    #[serde(rename = "for")]
    down_for: Option<Spanned<RawDuration>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBuggify {
    enabled: Option<bool>,
    site_probability: Option<Spanned<f64>>,
    fire_probability: Option<Spanned<f64>>,
}

impl Ctx<'_> {
    /// A probability in `[0, 1]`.
    fn probability(&self, v: &Spanned<f64>, path: &str) -> Result<f64> {
        let p = *v.get_ref();
        if (0.0..=1.0).contains(&p) {
            Ok(p)
        } else {
            Err(self.bad(v, path, expected_text(path), Some("a fraction, not a percentage: 5% is 0.05".into())))
        }
    }

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

    pub(super) fn faults(&self, raw: Option<&RawFaults>, topology: &Topology, workload: &Workload) -> Result<Faults> {
        let mut f = Faults {
            failure_detection_ns: 5 * NS_PER_S,
            schedule: Vec::new(),
            agent_crash_mtbf_ns: None,
            node_crash_mtbf_ns: None,
            node_mttr_ns: 30 * NS_PER_S,
        };
        let Some(raw) = raw else { return Ok(f) };
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
            Shape::Pool => topology.agents,
            Shape::Pipeline => workload.steps.len() as u32,
        };
        for entry in raw.schedule.iter().flatten() {
            let at_ns = self.duration(&entry.at, "faults.schedule.at")?;
            let kind = match (&entry.crash_agent, &entry.crash_node) {
                (Some(a), None) => {
                    let n = self.count(a, "faults.schedule.crash_agent")?;
                    if n >= agents {
                        return Err(self.bad(
                            a,
                            "faults.schedule.crash_agent",
                            format!("an agent index below {agents}"),
                            Some(format!("agents are numbered from 0; this fleet has {agents}")),
                        ));
                    }
                    if let Some(v) = &entry.down_for {
                        return Err(self.bad(
                            v,
                            "faults.schedule.for",
                            "no `for` with `crash_agent`",
                            Some(
                                "a crashed agent is restarted by its supervisor; `for` applies to `crash_node`".into(),
                            ),
                        ));
                    }
                    ScheduledFaultKind::CrashAgent(n)
                }
                (None, Some(nv)) => {
                    let node = self.count(nv, "faults.schedule.crash_node")?;
                    if node >= topology.nodes {
                        return Err(self.bad(
                            nv,
                            "faults.schedule.crash_node",
                            format!("a node index below {}", topology.nodes),
                            Some(format!("nodes are numbered from 0; this topology has {}", topology.nodes)),
                        ));
                    }
                    let down_for_ns = match &entry.down_for {
                        Some(v) => Some(self.positive_duration(v, "faults.schedule.for")?),
                        None => None,
                    };
                    ScheduledFaultKind::CrashNode { node, down_for_ns }
                }
                (Some(a), Some(_)) => {
                    return Err(self.bad(
                        a,
                        "faults.schedule.crash_agent",
                        "one of `crash_agent` or `crash_node` per entry",
                        Some("split it into two [[faults.schedule]] entries".into()),
                    ));
                }
                (None, None) => {
                    return Err(self.bad(
                        &entry.at,
                        "faults.schedule",
                        "`crash_agent = N` or `crash_node = N`",
                        Some("say what fails, e.g. crash_node = 1 and for = \"30s\"".into()),
                    ));
                }
            };
            f.schedule.push(ScheduledFault { at_ns, kind });
        }
        Ok(f)
    }
}
