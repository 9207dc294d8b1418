//! The catalogue of metrics a report summarises: name (the dotted path of
//! the field in `RunSummary`), how to read it from a run, and which
//! direction is better. The order here is the order of every report.

use crate::summary::RunSummary;

/// Which direction of a metric is an improvement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
    /// Neither (e.g. call counts: more calls can mean more work done).
    Neither,
}

/// One summarised metric.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    /// Key in `report.json` and heading in `report.md`.
    pub name: &'static str,
    /// Unit shown in headings ("" when dimensionless).
    pub unit: &'static str,
    pub better: Better,
    /// The value for one run; `None` when undefined (success rate of a run
    /// where no request arrived), which leaves the run out of `n`.
    pub value: fn(&RunSummary) -> Option<f64>,
}

/// Succeeded / arrived; `None` when nothing arrived.
pub fn success_rate(r: &RunSummary) -> Option<f64> {
    (r.requests.arrived > 0).then(|| r.requests.succeeded as f64 / r.requests.arrived as f64)
}

macro_rules! metric {
    ($name:literal, $unit:literal, $better:ident, |$r:ident| $e:expr) => {
        Metric { name: $name, unit: $unit, better: Better::$better, value: |$r: &RunSummary| Some($e) }
    };
}

/// Every metric, in report order.
pub const METRICS: &[Metric] = &[
    metric!("latency_ms.p50", "ms", Lower, |r| r.latency_ms.p50),
    metric!("latency_ms.p90", "ms", Lower, |r| r.latency_ms.p90),
    metric!("latency_ms.p99", "ms", Lower, |r| r.latency_ms.p99),
    metric!("latency_ms.p999", "ms", Lower, |r| r.latency_ms.p999),
    metric!("latency_ms.max", "ms", Lower, |r| r.latency_ms.max),
    metric!("latency_ms.mean", "ms", Lower, |r| r.latency_ms.mean),
    metric!("throughput_per_s", "req/s", Higher, |r| r.throughput_per_s),
    metric!("requests.succeeded", "", Higher, |r| r.requests.succeeded as f64),
    metric!("requests.failed", "", Lower, |r| r.requests.failed as f64),
    metric!("requests.in_flight", "", Neither, |r| r.requests.in_flight as f64),
    Metric { name: "success_rate", unit: "", better: Better::Higher, value: success_rate },
    metric!("calls.llm", "", Neither, |r| r.calls.llm as f64),
    metric!("calls.tool", "", Neither, |r| r.calls.tool as f64),
    metric!("calls.retries", "", Lower, |r| r.calls.retries as f64),
    metric!("calls.errors", "", Lower, |r| r.calls.errors as f64),
    metric!("calls.timeouts", "", Lower, |r| r.calls.timeouts as f64),
    metric!("calls.rate_limited", "", Lower, |r| r.calls.rate_limited as f64),
    metric!("tokens.input", "", Lower, |r| r.tokens.input as f64),
    metric!("tokens.output", "", Lower, |r| r.tokens.output as f64),
    metric!("tokens.cost", "", Lower, |r| r.tokens.cost),
    Metric {
        name: "cost_per_succeeded_request",
        unit: "",
        better: Better::Lower,
        value: |r: &RunSummary| r.cost_per_succeeded_request,
    },
    metric!("side_effects.duplicates", "", Lower, |r| r.side_effects.duplicates as f64),
    metric!("dropped_messages", "", Lower, |r| r.dropped_messages as f64),
    metric!("supervision.crashes", "", Neither, |r| r.supervision.crashes as f64),
    metric!("supervision.restarts", "", Neither, |r| r.supervision.restarts as f64),
    metric!("supervision.escalations", "", Lower, |r| r.supervision.escalations as f64),
    metric!("supervision.lost_to_crash", "", Lower, |r| r.supervision.lost_to_crash as f64),
    metric!("supervision.client_timeouts", "", Lower, |r| r.supervision.client_timeouts as f64),
    metric!("supervision.agent_downtime_s_total", "s", Lower, |r| r.supervision.agent_downtime_s_total),
    metric!("supervision.agent_downtime_s_max", "s", Lower, |r| r.supervision.agent_downtime_s_max),
    // Virtual agents: left out of runs without them.
    Metric {
        name: "virtual_agents.load_imbalance",
        unit: "",
        better: Better::Lower,
        value: |r: &RunSummary| r.virtual_agents.as_ref().and_then(|v| v.load_imbalance),
    },
    Metric {
        name: "virtual_agents.active_max",
        unit: "",
        better: Better::Lower,
        value: |r: &RunSummary| r.virtual_agents.as_ref().map(|v| v.active_max as f64),
    },
    Metric {
        name: "virtual_agents.lost",
        unit: "",
        better: Better::Lower,
        value: |r: &RunSummary| r.virtual_agents.as_ref().map(|v| v.lost as f64),
    },
    Metric {
        name: "virtual_agents.moves",
        unit: "",
        better: Better::Neither,
        value: |r: &RunSummary| r.virtual_agents.as_ref().map(|v| v.moves as f64),
    },
    Metric {
        name: "virtual_agents.duplicate_activations",
        unit: "",
        better: Better::Lower,
        value: |r: &RunSummary| r.virtual_agents.as_ref().map(|v| v.duplicate_activations as f64),
    },
    Metric {
        name: "virtual_agents.state.events_lost",
        unit: "",
        better: Better::Lower,
        value: |r: &RunSummary| r.virtual_agents.as_ref().and_then(|v| v.state.as_ref()).map(|s| s.events_lost as f64),
    },
];

/// Looks a metric up by name.
pub fn metric(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = METRICS.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), METRICS.len());
        assert!(metric("success_rate").is_some());
    }
}
