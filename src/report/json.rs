//! `report.json`: the whole comparison (every run) plus per-metric summaries
//! across seeds, in a fixed order so equal input gives equal bytes.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::strategy::Strategy;
use crate::summary::RunSummary;

use super::metrics::METRICS;
use super::stats::Summary;
use super::{Comparison, StrategyRuns, strategy_label};

#[derive(Serialize)]
struct JsonReport<'a> {
    scenario: &'a str,
    description: &'a str,
    seeds: &'a [u64],
    strategies: Vec<JsonStrategy<'a>>,
}

#[derive(Serialize)]
struct JsonStrategy<'a> {
    strategy: &'a Strategy,
    label: String,
    runs: &'a [RunSummary],
    summary: MetricSummaries<'a>,
}

/// Serialises as a map `metric name -> Summary` in catalogue order; metrics
/// no run defines are left out.
struct MetricSummaries<'a>(&'a [RunSummary]);

impl Serialize for MetricSummaries<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let entries: Vec<(&str, Summary)> =
            METRICS.iter().filter_map(|m| m.summarize(self.0).map(|s| (m.name, s))).collect();
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (name, s) in &entries {
            map.serialize_entry(name, s)?;
        }
        map.end()
    }
}

fn strategy_entry(sr: &StrategyRuns) -> JsonStrategy<'_> {
    JsonStrategy {
        strategy: &sr.strategy,
        label: strategy_label(&sr.strategy),
        runs: &sr.runs,
        summary: MetricSummaries(&sr.runs),
    }
}

/// Renders `report.json` (pretty-printed, with a trailing newline).
pub fn render(cmp: &Comparison) -> Result<String, serde_json::Error> {
    let report = JsonReport {
        scenario: &cmp.scenario,
        description: &cmp.description,
        seeds: &cmp.seeds,
        strategies: cmp.results.iter().map(strategy_entry).collect(),
    };
    let mut s = serde_json::to_string_pretty(&report)?;
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::sample_comparison;

    #[test]
    fn summary_keys_follow_catalogue_order() {
        let text = render(&sample_comparison()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let first = &v["strategies"][0];
        assert_eq!(first["label"], "retry=none");
        assert_eq!(first["runs"].as_array().unwrap().len(), 3);
        // Order in the text, not just presence.
        let positions: Vec<usize> =
            METRICS.iter().map(|m| text.find(&format!("\"{}\": {{", m.name)).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]));
        let n = &first["summary"]["latency_ms.p99"]["n"];
        assert_eq!(n, 3);
    }
}
