//! `report.md`: a human-readable comparison that CI summaries can paste.
//! Overview, one table per metric (best mean in bold), per-seed tables of
//! p99 latency and success rate, and links to the charts.

use std::fmt::Write as _;

use super::metrics::{Better, METRICS, Metric, best_indices, metric, success_rate};
use super::stats::Summary;
use super::{Comparison, strategy_label};

/// Metrics of the overview table at the top.
const OVERVIEW: &[&str] = &["latency_ms.p50", "latency_ms.p99", "throughput_per_s", "success_rate", "requests.failed"];

/// Renders `report.md`; `charts` are file names relative to the report.
pub fn render(cmp: &Comparison, charts: &[&str]) -> String {
    let labels: Vec<String> = cmp.results.iter().map(|sr| strategy_label(&sr.strategy)).collect();
    // summaries[metric][strategy]
    let summaries: Vec<Vec<Option<Summary>>> =
        METRICS.iter().map(|m| cmp.results.iter().map(|sr| m.summarize(&sr.runs)).collect()).collect();
    let summary_of = |name: &str| {
        let i = METRICS.iter().position(|m| m.name == name);
        i.map(|i| &summaries[i])
    };

    let mut out = String::new();
    let _ = writeln!(out, "# Comparison: {}\n", cmp.scenario);
    if !cmp.description.trim().is_empty() {
        let _ = writeln!(out, "{}\n", cmp.description.trim());
    }
    let _ = writeln!(
        out,
        "- Seeds: {} ({} seed{})",
        compact_seeds(&cmp.seeds),
        cmp.seeds.len(),
        if cmp.seeds.len() == 1 { "" } else { "s" }
    );
    let _ = writeln!(out, "- Strategies: {}", cmp.results.len());
    let _ = writeln!(
        out,
        "- Statistics: mean across seeds, 95% confidence interval of the mean \
         (Student's t), sample standard deviation. **Bold** marks the best mean."
    );
    if cmp.seeds.len() == 1 {
        let _ = writeln!(out, "- With one seed (n=1) there is no spread: intervals equal the mean.");
    }
    if !charts.is_empty() {
        let links: Vec<String> = charts.iter().map(|c| format!("[{}]({c})", chart_title(c))).collect();
        let _ = writeln!(out, "- Charts: {}", links.join(" · "));
    }
    out.push('\n');

    // Overview: means only.
    let _ = writeln!(out, "## Overview (means across seeds)\n");
    let mut header = String::from("| strategy |");
    let mut rule = String::from("|---|");
    let overview: Vec<(&Metric, &Vec<Option<Summary>>)> =
        OVERVIEW.iter().filter_map(|n| Some((metric(n)?, summary_of(n)?))).collect();
    for (m, _) in &overview {
        let _ = write!(header, " {} |", heading(m));
        rule.push_str("---:|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    let bests: Vec<Vec<usize>> = overview.iter().map(|(m, s)| best_indices(m.better, &means(s))).collect();
    let column_decimals: Vec<usize> = overview.iter().map(|(_, s)| decimals(means(s).into_iter().flatten())).collect();
    for (i, label) in labels.iter().enumerate() {
        let _ = write!(out, "| {} |", code(label));
        for (((_, s), best), &d) in overview.iter().zip(&bests).zip(&column_decimals) {
            let cell = s[i].map_or_else(|| "—".to_owned(), |s| fixed(s.mean, d));
            let _ = write!(out, " {} |", bold_if(best.contains(&i), &cell));
        }
        out.push('\n');
    }
    out.push('\n');

    // One table per metric.
    let _ = writeln!(out, "## Metrics\n");
    for (m, per_strategy) in METRICS.iter().zip(&summaries) {
        let direction = match m.better {
            Better::Lower => ", lower is better",
            Better::Higher => ", higher is better",
            Better::Neither => "",
        };
        let unit = if m.unit.is_empty() { String::new() } else { format!(" ({})", m.unit) };
        let _ = writeln!(out, "### {}{unit}{direction}\n", m.name);
        let _ = writeln!(out, "| strategy | mean | 95% CI | std dev | n |");
        let _ = writeln!(out, "|---|---:|---:|---:|---:|");
        let best = best_indices(m.better, &means(per_strategy));
        let d = decimals(means(per_strategy).into_iter().flatten());
        for (i, (label, s)) in labels.iter().zip(per_strategy).enumerate() {
            let is_best = best.contains(&i);
            let label = bold_if(is_best, &code(label));
            match s {
                Some(s) => {
                    let ci = if s.has_interval() {
                        format!("[{}, {}]", fixed(s.ci95_low, d), fixed(s.ci95_high, d))
                    } else {
                        "— (n=1)".to_owned()
                    };
                    let _ = writeln!(
                        out,
                        "| {label} | {} | {ci} | {} | {} |",
                        bold_if(is_best, &fixed(s.mean, d)),
                        fixed(s.std_dev, d),
                        s.n
                    );
                }
                None => {
                    let _ = writeln!(out, "| {label} | — | — | — | 0 |");
                }
            }
        }
        out.push('\n');
    }

    // Per-seed tables: strategies as columns.
    let _ = writeln!(out, "## Per seed\n");
    let d = decimals(cmp.results.iter().flat_map(|sr| sr.runs.iter().map(|r| r.latency_ms.p99)));
    per_seed_table(&mut out, cmp, &labels, "p99 latency (ms)", |r| fixed(r.latency_ms.p99, d));
    per_seed_table(&mut out, cmp, &labels, "Success rate", |r| {
        success_rate(r).map_or_else(|| "—".to_owned(), |v| format!("{:.1}%", v * 100.0))
    });
    agent_downtime_table(&mut out, cmp, &labels);
    out
}

/// Per agent (or stage): seconds unavailable, mean across seeds, one column
/// per strategy. Left out when no run had any downtime.
fn agent_downtime_table(out: &mut String, cmp: &Comparison, labels: &[String]) {
    let agents = cmp.results.iter().flat_map(|sr| sr.runs.iter().map(|r| r.agent_downtime_s.len())).max().unwrap_or(0);
    let any = cmp.results.iter().flat_map(|sr| &sr.runs).any(|r| r.agent_downtime_s.iter().any(|&d| d > 0.0));
    if agents == 0 || !any {
        return;
    }
    let _ = writeln!(
        out,
        "## Unavailability per agent (seconds, mean across seeds)
"
    );
    strategy_columns_header(out, "agent", labels);
    for agent in 0..agents {
        let _ = write!(out, "| {agent} |");
        for sr in &cmp.results {
            let values: Vec<f64> = sr.runs.iter().filter_map(|r| r.agent_downtime_s.get(agent).copied()).collect();
            let mean = if values.is_empty() { 0.0 } else { values.iter().sum::<f64>() / values.len() as f64 };
            let _ = write!(out, " {mean:.1} |");
        }
        out.push('\n');
    }
    out.push('\n');
}

/// The header of a table with one column per strategy.
fn strategy_columns_header(out: &mut String, first: &str, labels: &[String]) {
    let _ = write!(out, "| {first} |");
    for l in labels {
        let _ = write!(out, " {} |", code(l));
    }
    out.push_str("\n|---:|");
    for _ in labels {
        out.push_str("---:|");
    }
    out.push('\n');
}

fn per_seed_table(
    out: &mut String,
    cmp: &Comparison,
    labels: &[String],
    title: &str,
    cell: impl Fn(&crate::summary::RunSummary) -> String,
) {
    let _ = writeln!(out, "### {title}\n");
    strategy_columns_header(out, "seed", labels);
    for &seed in &cmp.seeds {
        let _ = write!(out, "| {seed} |");
        for sr in &cmp.results {
            let c = sr.runs.iter().find(|r| r.seed == seed).map_or_else(|| "—".to_owned(), &cell);
            let _ = write!(out, " {c} |");
        }
        out.push('\n');
    }
    out.push('\n');
}

fn means(s: &[Option<Summary>]) -> Vec<Option<f64>> {
    s.iter().map(|s| s.map(|s| s.mean)).collect()
}

fn heading(m: &Metric) -> String {
    if m.unit.is_empty() { m.name.to_owned() } else { format!("{} ({})", m.name, m.unit) }
}

fn chart_title(file: &str) -> &str {
    match file {
        "latency.svg" => "latency percentiles",
        "throughput.svg" => "throughput over time",
        "success.svg" => "success rate",
        other => other,
    }
}

/// A strategy label as inline code, safe inside a table cell.
fn code(label: &str) -> String {
    format!("`{}`", label.replace('|', "\\|"))
}

fn bold_if(bold: bool, s: &str) -> String {
    if bold { format!("**{s}**") } else { s.to_owned() }
}

/// Decimal places for a column of values, from the largest magnitude, so a
/// column shares one precision (about four significant digits).
pub fn decimals(values: impl IntoIterator<Item = f64>) -> usize {
    let max = values.into_iter().filter(|v| v.is_finite()).map(f64::abs).fold(0.0, f64::max);
    if max >= 1000.0 || max == 0.0 {
        0
    } else if max >= 100.0 {
        1
    } else if max >= 1.0 {
        2
    } else {
        4
    }
}

/// `x` with `d` decimals; a dash when not finite.
pub fn fixed(x: f64, d: usize) -> String {
    if x.is_finite() { format!("{x:.d$}") } else { "—".to_owned() }
}

/// Seeds in compact form: runs of three or more consecutive seeds become
/// `a..=b`, the rest are listed (`1..=20`, `1..=5, 9, 12..=14`).
pub fn compact_seeds(seeds: &[u64]) -> String {
    if seeds.is_empty() {
        return "none".to_owned();
    }
    let mut parts = Vec::new();
    let mut start = 0;
    for i in 1..=seeds.len() {
        let continues = i < seeds.len() && seeds[i - 1].checked_add(1) == Some(seeds[i]);
        if continues {
            continue;
        }
        let run = &seeds[start..i];
        if run.len() >= 3 {
            parts.push(format!("{}..={}", run[0], run[run.len() - 1]));
        } else {
            parts.extend(run.iter().map(u64::to_string));
        }
        start = i;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::sample_comparison;

    #[test]
    fn seeds_compact() {
        let contiguous: Vec<u64> = (1..=20).collect();
        assert_eq!(compact_seeds(&contiguous), "1..=20");
        assert_eq!(compact_seeds(&[1, 2, 3, 4, 5, 9, 12, 13, 14]), "1..=5, 9, 12..=14");
        assert_eq!(compact_seeds(&[4, 5]), "4, 5");
        assert_eq!(compact_seeds(&[7]), "7");
        assert_eq!(compact_seeds(&[3, 1, 2]), "3, 1, 2");
        assert_eq!(compact_seeds(&[u64::MAX - 1, u64::MAX]), format!("{}, {}", u64::MAX - 1, u64::MAX));
        assert_eq!(compact_seeds(&[]), "none");
    }

    #[test]
    fn marks_best_and_lists_seeds() {
        let md = render(&sample_comparison(), &["latency.svg"]);
        assert!(md.contains("- Seeds: 1..=3 (3 seeds)"), "{md}");
        assert!(md.contains("[latency percentiles](latency.svg)"));
        // retry=fixed has the lower p99 (90 vs 110) and the higher success rate.
        let p99 = md.split("### latency_ms.p99 (ms), lower is better").nth(1).unwrap();
        let p99 = p99.split("###").next().unwrap();
        assert!(p99.contains("| **`retry=fixed`** | **90.0** | [65.2, 114.8] | 10.0 | 3 |"), "{p99}");
        assert!(p99.contains("| `retry=none` | 110.0 |"), "{p99}");
        let sr = md.split("### success_rate, higher is better").nth(1).unwrap();
        assert!(sr.contains("| **`retry=fixed`** | **0.9800** |"), "{sr}");
        // Neutral metrics get no bold.
        let llm = md.split("### calls.llm").nth(1).unwrap().split("###").next().unwrap();
        assert!(!llm.contains("**"), "{llm}");
        // Per-seed tables: strategies as columns, seeds as rows.
        assert!(md.contains("| seed | `retry=none` | `retry=fixed` |"));
        assert!(md.contains("| 2 | 110.0 | 90.0 |"), "{md}");
        assert!(md.contains("| 3 | 94.0% | 100.0% |"), "{md}");
    }

    #[test]
    fn numbers() {
        assert_eq!(decimals([0.0]), 0);
        assert_eq!(decimals([0.98, 0.5]), 4);
        assert_eq!(decimals([0.5, 12.3]), 2);
        assert_eq!(decimals([-123.4, f64::NAN]), 1);
        assert_eq!(decimals([12345.6]), 0);
        assert_eq!(fixed(0.98, 4), "0.9800");
        assert_eq!(fixed(90.0, 1), "90.0");
        assert_eq!(fixed(12345.6, 0), "12346");
        assert_eq!(fixed(f64::NAN, 2), "—");
    }
}
