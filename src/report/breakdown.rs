//! Per-service and per-step figures of each strategy, pooled over the
//! seeds used: counts summed, latency as the pooled mean (each run's mean
//! weighted by its count) and the maximum. Runs carry no per-service or
//! per-step histograms, so no pooled percentile is made up here.

use std::collections::{BTreeMap, BTreeSet};

use crate::summary::LatencyMs;

use super::analysis::Analysis;

/// A latency pooled from per-run summaries: exact mean and maximum.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeanMax {
    /// How many samples (calls, runs of a step) the figures are over.
    pub count: u64,
    /// `None` when `count` is 0.
    pub mean: Option<f64>,
    pub max: Option<f64>,
}

impl MeanMax {
    fn add(&mut self, l: Option<&LatencyMs>) {
        let Some(l) = l.filter(|l| l.count > 0) else { return };
        let total = self.mean.unwrap_or(0.0) * self.count as f64 + l.mean * l.count as f64;
        self.count += l.count;
        self.mean = Some(total / self.count as f64);
        self.max = Some(self.max.map_or(l.max, |m| m.max(l.max)));
    }
}

/// One service under one strategy, over the seeds used.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceRow {
    /// Index of the strategy (as in [`Analysis::strategies`]).
    pub strategy: usize,
    /// `llm` or `tool` (the first run's).
    pub kind: String,
    pub calls: u64,
    pub succeeded: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub rate_limited: u64,
    pub timeouts: u64,
    pub cancelled: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: f64,
    /// Time from start (slot taken) to answer.
    pub service_time: MeanMax,
    /// Time waiting for a concurrency slot.
    pub queue_wait: MeanMax,
    /// Mean over the runs of the busy fraction of its slots; `None` for a
    /// service without a concurrency limit.
    pub busy_fraction: Option<f64>,
}

impl ServiceRow {
    /// Error answers of every kind.
    pub fn errors(&self) -> u64 {
        self.errors_by_kind.values().sum()
    }
}

/// One workflow step under one strategy, over the seeds used.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepRow {
    pub strategy: usize,
    /// `call`, `ask`, ... (the first run's).
    pub kind: String,
    /// What a call step calls or an ask asks (the first run's).
    pub service: String,
    pub calls: u64,
    pub failed: u64,
    /// `None` for call steps (their cancelled calls count in `failed`).
    pub cancelled: Option<u64>,
    pub latency: MeanMax,
    /// `None` for steps other than calls.
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cost: Option<f64>,
}

/// Every service any run used, by name, with one row per strategy that
/// used it (strategies in order).
pub fn services(a: &Analysis<'_>) -> BTreeMap<String, Vec<ServiceRow>> {
    let names: BTreeSet<&str> =
        a.strategies.iter().flat_map(|s| s.runs.iter().flat_map(|r| r.services.keys().map(String::as_str))).collect();
    names
        .into_iter()
        .map(|name| {
            let rows = a
                .strategies
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    let mut row = ServiceRow { strategy: i, ..ServiceRow::default() };
                    let (mut busy, mut busy_n, mut seen) = (0.0, 0u32, false);
                    for sv in s.runs.iter().filter_map(|r| r.services.get(name)) {
                        if !seen {
                            row.kind.clone_from(&sv.kind);
                            seen = true;
                        }
                        row.calls += sv.calls;
                        row.succeeded += sv.succeeded;
                        for (kind, n) in &sv.errors_by_kind {
                            *row.errors_by_kind.entry(kind.clone()).or_default() += n;
                        }
                        row.rate_limited += sv.rate_limited;
                        row.timeouts += sv.timeouts;
                        row.cancelled += sv.cancelled;
                        row.input_tokens += sv.input_tokens;
                        row.output_tokens += sv.output_tokens;
                        row.cost += sv.cost;
                        row.service_time.add(sv.service_time_ms.as_ref());
                        row.queue_wait.add(sv.queue_wait_ms.as_ref());
                        if let Some(b) = sv.busy_fraction {
                            busy += b;
                            busy_n += 1;
                        }
                    }
                    row.busy_fraction = (busy_n > 0).then(|| busy / f64::from(busy_n));
                    seen.then_some(row)
                })
                .collect();
            (name.to_owned(), rows)
        })
        .collect()
}

/// Every workflow step any run reported, by name, with one row per
/// strategy that ran it.
pub fn steps(a: &Analysis<'_>) -> BTreeMap<String, Vec<StepRow>> {
    let names: BTreeSet<&str> =
        a.strategies.iter().flat_map(|s| s.runs.iter().flat_map(|r| r.steps.keys().map(String::as_str))).collect();
    let add = |sum: &mut Option<u64>, v: Option<u64>| {
        if let Some(v) = v {
            *sum = Some(sum.unwrap_or(0) + v);
        }
    };
    names
        .into_iter()
        .map(|name| {
            let rows = a
                .strategies
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    let mut row = StepRow { strategy: i, ..StepRow::default() };
                    let mut seen = false;
                    for st in s.runs.iter().filter_map(|r| r.steps.get(name)) {
                        if !seen {
                            row.kind.clone_from(&st.kind);
                            row.service.clone_from(&st.service);
                            seen = true;
                        }
                        row.calls += st.calls;
                        row.failed += st.failed;
                        add(&mut row.cancelled, st.cancelled);
                        row.latency.add(st.latency_ms.as_ref());
                        add(&mut row.input_tokens, st.input_tokens);
                        add(&mut row.output_tokens, st.output_tokens);
                        if let Some(c) = st.cost {
                            row.cost = Some(row.cost.unwrap_or(0.0) + c);
                        }
                    }
                    seen.then_some(row)
                })
                .collect();
            (name.to_owned(), rows)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::sample_comparison;
    use crate::summary::{ServiceSummary, StepSummary};

    fn lat(mean: f64, max: f64, count: u64) -> LatencyMs {
        LatencyMs { mean, max, count, ..LatencyMs::default() }
    }

    #[test]
    fn services_and_steps_pool_counts_and_weight_means() {
        let mut cmp = sample_comparison();
        for (k, r) in cmp.results[0].runs.iter_mut().enumerate() {
            let k = k as u64 + 1;
            let mut errors = BTreeMap::new();
            errors.insert("server_error".to_owned(), k);
            r.services.insert(
                "llm:planner".into(),
                ServiceSummary {
                    kind: "llm".into(),
                    calls: 10 * k,
                    succeeded: 10 * k - k,
                    errors_by_kind: errors,
                    cost: 0.25,
                    service_time_ms: Some(lat(100.0 * k as f64, 200.0 * k as f64, k)),
                    busy_fraction: Some(0.1 * k as f64),
                    ..ServiceSummary::default()
                },
            );
            r.steps.insert(
                "plan".into(),
                StepSummary {
                    kind: "call".into(),
                    service: "llm:planner".into(),
                    calls: k,
                    failed: 1,
                    latency_ms: (k > 1).then(|| lat(50.0, 60.0 + k as f64, 2)),
                    input_tokens: Some(100),
                    ..StepSummary::default()
                },
            );
        }
        let a = Analysis::of(&cmp);
        let services = services(&a);
        let rows = &services["llm:planner"];
        // Only retry=none has the service.
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!((r.strategy, r.kind.as_str(), r.calls, r.succeeded, r.errors()), (0, "llm", 60, 54, 6));
        assert!((r.cost - 0.75).abs() < 1e-12);
        // Weighted: (100*1 + 200*2 + 300*3) / 6.
        assert!((r.service_time.mean.unwrap() - 1400.0 / 6.0).abs() < 1e-9);
        assert_eq!((r.service_time.max, r.service_time.count), (Some(600.0), 6));
        assert_eq!(r.queue_wait, MeanMax::default());
        assert!((r.busy_fraction.unwrap() - 0.2).abs() < 1e-12);
        let steps = steps(&a);
        let s = &steps["plan"][0];
        assert_eq!((s.calls, s.failed, s.cancelled, s.input_tokens, s.output_tokens), (6, 3, None, Some(300), None));
        assert_eq!((s.latency.mean, s.latency.max, s.latency.count), (Some(50.0), Some(63.0), 4));
    }
}
