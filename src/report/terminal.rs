//! The comparison as `rehearsal compare` prints it: a table of pooled
//! percentiles next to means across seeds, then each strategy against the
//! baseline (paired differences), then excluded seeds. Plain text with
//! fixed precision, so equal input prints equal text.

use std::fmt::Write as _;

use super::analysis::Analysis;
use super::format::{compact_seeds, decimals, fixed, percent, percentile_cell, signed};
use super::metrics::metric;
use super::paired::Verdict;
use super::stats::Summary;

/// Metrics of the terminal's "vs baseline" blocks: name, row title, scale
/// (success rate in percentage points).
const PAIRED_ROWS: &[(&str, &str, f64)] = &[
    ("success_rate", "success rate (pts)", 100.0),
    ("latency_ms.mean", "latency mean (ms)", 1.0),
    ("latency_ms.p99", "per-seed p99 (ms)", 1.0),
    ("throughput_per_s", "throughput (/s)", 1.0),
    ("calls.retries", "retries", 1.0),
    ("tokens.cost", "cost", 1.0),
];

/// Renders the terminal summary (ends with a newline).
pub fn render(a: &Analysis<'_>) -> String {
    let cmp = a.cmp;
    let mut out = String::new();
    let _ = write!(out, "{}: {} strategies x {} seeds", cmp.scenario, cmp.results.len(), cmp.seeds.len());
    if !a.excluded.is_empty() {
        let _ = write!(out, " ({} used: every strategy ran on them)", a.seeds_used.len());
    }
    if let Some(on) = cmp.buggify {
        let _ = write!(out, ", BUGGIFY {}", if on { "on" } else { "off" });
    }
    out.push('\n');
    if a.strategies.is_empty() {
        return out;
    }

    let w = a.labels.iter().map(String::len).max().unwrap_or(8).max(8);
    let kw = a.keys.iter().map(String::len).max().unwrap_or(2).max(3);
    let p99s: Vec<Option<Summary>> = (0..a.strategies.len()).map(|i| a.summary(i, "latency_ms.p99")).collect();
    let d_lat = decimals(a.strategies.iter().filter_map(|s| s.pooled.latency_ms).map(|l| l.max));
    let d_p99 = decimals(p99s.iter().flatten().map(|s| s.ci95_high));
    let thr: Vec<Option<f64>> =
        (0..a.strategies.len()).map(|i| a.summary(i, "throughput_per_s").map(|s| s.mean)).collect();
    let mean_of_seeds: Vec<String> = p99s
        .iter()
        .map(|s| match s {
            Some(s) if s.has_interval() => {
                format!("{} [{}, {}]", fixed(s.mean, d_p99), fixed(s.ci95_low, d_p99), fixed(s.ci95_high, d_p99))
            }
            Some(s) => format!("{} (n=1)", fixed(s.mean, d_p99)),
            None => "—".to_owned(),
        })
        .collect();
    let success: Vec<String> = a
        .strategies
        .iter()
        .map(|s| match (s.pooled.success_rate, s.pooled.success_rate_ci95_low, s.pooled.success_rate_ci95_high) {
            (Some(p), Some(lo), Some(hi)) => format!("{} [{}, {}]", percent(p, 2), percent(lo, 2), percent(hi, 2)),
            _ => "—".to_owned(),
        })
        .collect();
    let mw = mean_of_seeds.iter().map(|s| s.chars().count()).max().unwrap_or(0).max(26);
    let sw = success.iter().map(|s| s.chars().count()).max().unwrap_or(0).max(27);
    let _ = writeln!(
        out,
        "{:<kw$} {:<w$} {:>4} {:>12} {:>12} {:>12}  {:<mw$}  {:<sw$} {:>12}",
        "key",
        "strategy",
        "n",
        "p50 pooled",
        "p99 pooled",
        "p99.9 pooled",
        "p99 mean of seeds [95% CI]",
        "success pooled [Wilson 95%]",
        "throughput/s"
    );
    for (i, s) in a.strategies.iter().enumerate() {
        let l = s.pooled.latency_ms;
        let _ = writeln!(
            out,
            "{:<kw$} {:<w$} {:>4} {:>12} {:>12} {:>12}  {:<mw$}  {:<sw$} {:>12}",
            a.keys[i],
            a.labels[i],
            s.runs.len(),
            percentile_cell(l.as_ref(), "p50", 0.50, d_lat),
            percentile_cell(l.as_ref(), "p99", 0.99, d_lat),
            percentile_cell(l.as_ref(), "p999", 0.999, d_lat),
            mean_of_seeds[i],
            success[i],
            thr[i].map_or_else(|| "—".to_owned(), |t| fixed(t, 2)),
        );
    }
    if a.strategies.iter().any(|s| s.pooled.histograms_missing > 0) {
        let _ = writeln!(out, "(pooled latency \"—\": some runs carry no readable latency histogram)");
    }
    versus_baseline(&mut out, a);
    if !a.excluded.is_empty() {
        let seeds: Vec<u64> = a.excluded.iter().map(|e| e.seed).collect();
        let _ = writeln!(
            out,
            "excluded from the statistics: seed{} {}",
            if seeds.len() == 1 { "" } else { "s" },
            compact_seeds(&seeds)
        );
        for e in &a.excluded {
            let _ = writeln!(out, "  seed {}: {}", e.seed, e.reasons.join("; "));
        }
    }
    out
}

fn versus_baseline(out: &mut String, a: &Analysis<'_>) {
    let Some(b) = a.baseline else { return };
    if a.strategies.len() < 2 {
        return;
    }
    let _ = writeln!(
        out,
        "vs baseline {} {}: strategy - baseline, paired over {} seeds, mean [95% CI]; better/worse only when the CI excludes 0",
        a.keys[b],
        a.labels[b],
        a.seeds_used.len()
    );
    for (i, s) in a.strategies.iter().enumerate() {
        if s.vs_baseline.is_none() {
            continue;
        }
        let _ = writeln!(out, "{} {}", a.keys[i], a.labels[i]);
        let mut identical = Vec::new();
        for &(name, title, scale) in PAIRED_ROWS {
            let (Some(m), Some(p)) = (metric(name), a.paired(i, name)) else { continue };
            if p.mean_diff == 0.0 && p.ci95.is_some_and(|c| c.width() == 0.0) {
                identical.push(title);
                continue;
            }
            let (diff, ci, unpaired) =
                (p.mean_diff * scale, p.ci95.map(|c| (c.low * scale, c.high * scale)), p.unpaired_ci95);
            let d = decimals([diff.abs(), ci.map_or(0.0, |(lo, hi)| lo.abs().max(hi.abs()))]);
            let interval =
                ci.map_or_else(|| "—".to_owned(), |(lo, hi)| format!("[{}, {}]", signed(lo, d), signed(hi, d)));
            let verdict = match p.verdict(m.better) {
                Verdict::Inconclusive => "~",
                v => v.word(),
            };
            let widths = match (ci, unpaired) {
                (Some((lo, hi)), Some(u)) => {
                    format!("CI width {} (unpaired {})", fixed(hi - lo, d), fixed(u.width() * scale, d))
                }
                _ => String::new(),
            };
            let _ = writeln!(out, "  {title:<20} {:>12} {interval:<28} {verdict:<7} {widths}", signed(diff, d));
        }
        if !identical.is_empty() {
            let _ = writeln!(out, "  identical to the baseline on every seed: {}", identical.join(", "));
        }
    }
    let ratios: Vec<String> = PAIRED_ROWS
        .iter()
        .filter_map(|&(name, title, _)| a.width_ratio(name).map(|r| format!("{title} {:.2}", r.median)))
        .collect();
    if !ratios.is_empty() {
        let _ = writeln!(out, "paired / unpaired CI width, median over strategies: {}", ratios.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::sample_comparison;

    #[test]
    fn table_and_paired_blocks() {
        let text = render(&Analysis::of(&sample_comparison()));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "sample: 2 strategies x 3 seeds, BUGGIFY off");
        assert!(lines[1].contains("p99 pooled") && lines[1].contains("p99 mean of seeds [95% CI]"), "{text}");
        // retry=fixed: mean of per-seed p99 90 [65.2, 114.8]; pooled p99.9 of
        // 300 requests is not supported and says so.
        assert!(lines[3].starts_with("S2  retry=fixed"), "{text}");
        assert!(lines[3].contains("90.0 [65.2, 114.8]") && lines[3].contains("n/a (n<1000)"), "{text}");
        assert!(lines[3].contains("98.00% ["), "{text}");
        assert!(text.contains("vs baseline S1 retry=none: strategy - baseline, paired over 3 seeds"), "{text}");
        let p99 = lines.iter().find(|l| l.trim_start().starts_with("per-seed p99 (ms)")).unwrap();
        assert!(p99.contains("-20.00") && p99.contains("[-20.00, -20.00]") && p99.contains("better"), "{p99}");
        let sr = lines.iter().find(|l| l.trim_start().starts_with("success rate (pts)")).unwrap();
        assert!(sr.contains("+6.00") && sr.contains("better"), "{sr}");
        assert!(
            text.contains("paired / unpaired CI width, median over strategies: success rate (pts) 0.00,"),
            "{text}"
        );
        // tokens.cost is 0.5 on every run: no row, one line.
        assert!(text.contains("  identical to the baseline on every seed: cost\n"), "{text}");
        // The same input prints the same text.
        assert_eq!(text, render(&Analysis::of(&sample_comparison())));
    }

    #[test]
    fn excluded_seeds_are_printed() {
        let mut cmp = sample_comparison();
        cmp.results[0].runs.retain(|r| r.seed != 1);
        let text = render(&Analysis::of(&cmp));
        assert!(text.contains("(2 used: every strategy ran on them)"), "{text}");
        assert!(text.contains("excluded from the statistics: seed 1\n  seed 1: retry=none: no run"), "{text}");
    }
}
