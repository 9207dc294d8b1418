//! `report.md`: a human-readable comparison that CI summaries can paste.
//!
//! Every figure says what it is: "pooled" (all requests of all seeds in
//! one histogram), "mean of per-seed" (a per-seed figure averaged across
//! seeds, with its Student-t interval), or a paired difference against the
//! baseline. A strategy is called better or worse than the baseline only
//! when the paired 95% interval excludes zero; nothing is bolded for
//! winning a raw comparison of means.

mod tables;

use std::fmt::Write as _;

use super::analysis::Analysis;
use super::format::{compact_seeds, decimals, fixed, markdown_text, percent};
use super::metrics::{Metric, metric, success_rate};
use super::rows::{self, heading};
use super::{RunFailure, strategy_label};
use tables::{agent_downtime_table, metric_tables, outcomes, per_seed_table, pooled_latency};

pub use super::rows::PAIRED_SHOWN;

/// Renders `report.md`; `charts` are file names relative to the report.
pub fn render(a: &Analysis<'_>, charts: &[&str]) -> String {
    let cmp = a.cmp;
    let mut out = String::new();
    let _ = writeln!(out, "# Comparison: {}\n", markdown_text(&cmp.scenario));
    if !cmp.description.trim().is_empty() {
        let _ = writeln!(out, "{}\n", markdown_text(&cmp.description));
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let _ =
        writeln!(out, "- Seeds: {} ({} seed{})", compact_seeds(&cmp.seeds), cmp.seeds.len(), plural(cmp.seeds.len()));
    if !a.excluded.is_empty() {
        let excluded: Vec<u64> = a.excluded.iter().map(|e| e.seed).collect();
        let _ = writeln!(
            out,
            "- **Statistics use {} seed{} on which every strategy ran**; excluded: {} (see [Excluded seeds](#excluded-seeds))",
            a.seeds_used.len(),
            plural(a.seeds_used.len()),
            compact_seeds(&excluded)
        );
    }
    let _ = writeln!(out, "- Strategies: {}", cmp.results.len());
    if let (Some(b), true) = (a.baseline, cmp.results.len() > 1) {
        let _ = writeln!(out, "- Baseline of paired comparisons: {} {}", a.keys[b], code(&a.labels[b]));
    }
    if let Some(on) = cmp.buggify {
        let _ = writeln!(out, "- BUGGIFY fault points: {}", if on { "on" } else { "off" });
    }
    let _ = writeln!(
        out,
        "- Figures: **pooled** = over every request of every seed used (merged histograms, summed counts); \
         **mean of per-seed** = a per-seed figure averaged across seeds, with its 95% Student-t interval; \
         **paired** = strategy minus baseline seed by seed, with its 95% Student-t interval. Percentiles \
         are never averaged into percentiles. Success-rate intervals are Wilson score intervals (see docs/reports.md)."
    );
    if a.seeds_used.len() == 1 {
        let _ = writeln!(out, "- With one seed (n=1) there is no spread: intervals across seeds are not defined.");
    }
    if !charts.is_empty() {
        let links: Vec<String> = charts.iter().map(|c| format!("[{}]({c})", chart_title(c))).collect();
        let _ = writeln!(out, "- Charts: {}", links.join(" · "));
    }
    out.push('\n');

    strategies_table(&mut out, a);
    overview(&mut out, a);
    if !a.excluded.is_empty() {
        let _ = writeln!(out, "## Excluded seeds\n");
        let _ = writeln!(out, "Left out of every statistic because not every strategy ran on them.\n");
        let _ = writeln!(out, "| seed | why |\n|---:|---|");
        for e in &a.excluded {
            let _ = writeln!(out, "| {} | {} |", e.seed, cell(&e.reasons.join("; ")));
        }
        out.push('\n');
    }
    failures_table(&mut out, "Runs that stopped with an error", &cmp.errors);
    failures_table(&mut out, "Runs that broke an invariant (kept in the statistics)", &cmp.invariant_failures);
    versus_baseline(&mut out, a);
    pairing_widths(&mut out, a);
    pooled_latency(&mut out, a);
    outcomes(&mut out, a);
    metric_tables(&mut out, a);

    let _ = writeln!(out, "## Per seed\n");
    let d = decimals(a.strategies.iter().flat_map(|s| s.runs.iter().map(|r| r.latency_ms.p99)));
    per_seed_table(&mut out, a, "p99 latency of each seed (ms)", |r| fixed(r.latency_ms.p99, d));
    per_seed_table(&mut out, a, "Success rate of each seed", |r| {
        success_rate(r).map_or_else(|| "—".to_owned(), |v| percent(v, 1))
    });
    agent_downtime_table(&mut out, a);
    out
}

fn strategies_table(out: &mut String, a: &Analysis<'_>) {
    if a.labels.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Strategies\n");
    let _ = writeln!(out, "| key | strategy |\n|---|---|");
    for (i, (k, l)) in a.keys.iter().zip(&a.labels).enumerate() {
        let note = if a.baseline == Some(i) && a.labels.len() > 1 { " (baseline)" } else { "" };
        let _ = writeln!(out, "| {k} | {}{note} |", code(l));
    }
    out.push('\n');
}

/// The headline table: pooled percentiles next to means across seeds.
fn overview(out: &mut String, a: &Analysis<'_>) {
    let _ = writeln!(out, "## Overview\n");
    let _ = writeln!(
        out,
        "Pooled percentiles come from every request of every seed used; \"mean of per-seed p99\" averages each \
         seed's own p99 (95% CI across seeds). `n/a (n<N)`: fewer than N requests cannot support that percentile.\n"
    );
    let _ = writeln!(
        out,
        "| key | seeds | requests | p50 pooled (ms) | p99 pooled (ms) | p99.9 pooled (ms) | mean of per-seed p99 (ms) [95% CI] \
         | success pooled [Wilson 95%] | throughput/s, mean [95% CI] |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows::overview(a) {
        table_row(out, &row);
    }
    if a.strategies.iter().any(|s| s.pooled.histograms_missing > 0) {
        let _ = writeln!(
            out,
            "\nPooled latency is `—` for a strategy where some runs carry no readable latency histogram \
             (count per strategy in the pooled latency table)."
        );
    }
    out.push('\n');
}

fn failures_table(out: &mut String, title: &str, list: &[RunFailure]) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(out, "## {title}\n");
    let _ = writeln!(out, "| strategy | seed | reason | replay |\n|---|---:|---|---|");
    for f in list {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            code(&strategy_label(&f.strategy)),
            f.seed,
            cell(&f.reason),
            code(&f.replay)
        );
    }
    out.push('\n');
}

/// One table per non-baseline strategy: paired differences, with the
/// unpaired width beside the paired one.
fn versus_baseline(out: &mut String, a: &Analysis<'_>) {
    let Some(b) = a.baseline else { return };
    if a.strategies.len() < 2 {
        return;
    }
    let _ = writeln!(out, "## Versus baseline ({} {})\n", a.keys[b], code(&a.labels[b]));
    let _ = writeln!(
        out,
        "Strategy minus baseline, seed by seed over the {} seed{} used: the mean difference and its 95% Student-t \
         interval. \"better\"/\"worse\" (by the metric's direction) only when that interval excludes zero; `~` when \
         it spans zero. The last column is the unpaired (Welch) interval width of the same difference, for \
         comparison: pairing removes what each seed does to both strategies.\n",
        a.seeds_used.len(),
        if a.seeds_used.len() == 1 { "" } else { "s" }
    );
    for (i, s) in a.strategies.iter().enumerate() {
        if s.vs_baseline.is_none() {
            continue;
        }
        let _ = writeln!(out, "### {} {} vs {}\n", a.keys[i], code(&a.labels[i]), a.keys[b]);
        let _ =
            writeln!(out, "| metric | difference | 95% CI (paired) | verdict | CI width paired | CI width unpaired |");
        let _ = writeln!(out, "|---|---:|---:|---|---:|---:|");
        for row in rows::paired(a, i) {
            table_row(out, &row.cells);
        }
        out.push('\n');
    }
}

/// Paired interval width over unpaired width per metric, across the
/// non-baseline strategies: how much pairing the seeds narrowed it.
fn pairing_widths(out: &mut String, a: &Analysis<'_>) {
    let widths: Vec<(&Metric, super::analysis::WidthRatio)> =
        PAIRED_SHOWN.iter().filter_map(|n| Some((metric(n)?, a.width_ratio(n)?))).collect();
    if widths.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "### Paired versus unpaired interval width
"
    );
    let _ = writeln!(
        out,
        "Paired 95% CI width divided by the unpaired (Welch) width of the same difference, over the strategies \
         compared with the baseline (below 1: pairing narrowed the interval).\n"
    );
    let _ = writeln!(out, "| metric | strategies | median ratio | min | max |\n|---|---:|---:|---:|---:|");
    for (m, r) in widths {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            heading(m),
            r.strategies,
            fixed(r.median, 2),
            fixed(r.min, 2),
            fixed(r.max, 2)
        );
    }
    out.push('\n');
}

/// What a chart file shows, as reports title it.
pub(crate) fn chart_title(file: &str) -> &str {
    match file {
        "latency.svg" => "latency distribution (pooled)",
        "throughput.svg" => "throughput over time",
        "success.svg" => "success rate over time",
        other => other,
    }
}

/// A table row of cells that need no escaping (numbers, keys, metric
/// names): `| a | b |`.
fn table_row(out: &mut String, cells: &[String]) {
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}

/// A strategy label (or a replay line) as inline code when it holds only
/// characters with no meaning in Markdown, tables and HTML; else as
/// escaped text ([`markdown_text`]).
fn code(label: &str) -> String {
    let plain = label.chars().all(|c| c.is_ascii_alphanumeric() || " _=,.:/+-@%()".contains(c));
    if plain { format!("`{label}`") } else { markdown_text(label) }
}

/// Free text made safe inside a table cell.
fn cell(text: &str) -> String {
    markdown_text(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::sample_comparison;

    fn md(cmp: &crate::report::Comparison) -> String {
        render(&Analysis::of(cmp), &["latency.svg"])
    }

    fn section<'a>(md: &'a str, start: &str) -> &'a str {
        let rest = md.split(start).nth(1).unwrap_or_else(|| panic!("no {start} in {md}"));
        rest.split("\n#").next().unwrap()
    }

    #[test]
    fn says_what_each_figure_is_and_bolds_nothing() {
        let md = md(&sample_comparison());
        assert!(md.contains("- Seeds: 1..=3 (3 seeds)"), "{md}");
        assert!(md.contains("[latency distribution (pooled)](latency.svg)"));
        assert!(md.contains("- Baseline of paired comparisons: S1 `retry=none`"), "{md}");
        assert!(md.contains("- BUGGIFY fault points: off"), "{md}");
        assert!(md.contains("| S1 | `retry=none` (baseline) |"), "{md}");
        // No "best" in bold anywhere in the tables.
        assert!(!md.lines().filter(|l| l.starts_with('|')).any(|l| l.contains("**")), "{md}");
        // Per-seed p99 averaged is labelled as such.
        let p99 =
            section(&md, "### latency_ms.p99 (ms): mean of per-seed p99 (not a pooled percentile), lower is better");
        assert!(p99.contains("| S2 | 90.0 | [65.2, 114.8] | 10.0 | 3 | better (-20.0) |"), "{p99}");
        assert!(p99.contains("| S1 | 110.0 |"), "{p99}");
        assert!(p99.contains("| baseline |"), "{p99}");
        // Neutral metrics get a direction-free verdict.
        let llm = section(&md, "### calls.llm");
        assert!(llm.contains("~ (CI spans 0)"), "{llm}");
    }

    #[test]
    fn overview_pooled_next_to_mean_of_seeds() {
        let md = md(&sample_comparison());
        let o = section(&md, "## Overview");
        assert!(o.contains("p99 pooled (ms)") && o.contains("mean of per-seed p99 (ms) [95% CI]"), "{o}");
        // 300 requests: p99.9 unsupported, said so.
        assert!(o.contains("n/a (n<1000)"), "{o}");
        // retry=fixed pooled success 294 of 300, with its Wilson interval.
        assert!(o.contains("| S2 | 3 | 300 |"), "{o}");
        assert!(o.contains("98.00% ["), "{o}");
    }

    #[test]
    fn versus_baseline_tables() {
        let md = md(&sample_comparison());
        let vs = section(&md, "### S2 `retry=fixed` vs S1");
        // -20 ms on every seed: a zero-width paired interval; unpaired is wide.
        assert!(vs.contains("| latency_ms.p99 (ms) | -20.00 | [-20.00, -20.00] | better | 0.00 |"), "{vs}");
        assert!(vs.contains("| success_rate | +0.0600 |"), "{vs}");
        assert!(!md.contains("### S1 `retry=none` vs"), "the baseline has no table");
        let widths = section(&md, "### Paired versus unpaired interval width");
        assert!(widths.contains("| latency_ms.p99 (ms) | 1 | 0.00 | 0.00 | 0.00 |"), "{widths}");
    }

    #[test]
    fn excluded_seeds_and_errors_are_listed() {
        let mut cmp = sample_comparison();
        cmp.results[1].runs.retain(|r| r.seed != 3);
        cmp.errors.push(RunFailure {
            strategy: cmp.results[1].strategy.clone(),
            seed: 3,
            reason: "simulated time limit".into(),
            replay: "rehearsal run s.toml --seed 3 --strategy retry=fixed".into(),
        });
        let md = md(&cmp);
        assert!(md.contains("**Statistics use 2 seeds on which every strategy ran**; excluded: 3"), "{md}");
        assert!(md.contains("| 3 | retry=fixed: simulated time limit |"), "{md}");
        assert!(
            md.contains(
                "| `retry=fixed` | 3 | simulated time limit | `rehearsal run s.toml --seed 3 --strategy retry=fixed` |"
            ),
            "{md}"
        );
        // Per-seed tables still show every seed, with a dash for the missing run.
        assert!(md.contains("| 3 | 120.0 | — |"), "{md}");
    }

    #[test]
    fn user_text_cannot_inject_markup() {
        let mut cmp = sample_comparison();
        cmp.description = "<script>alert(1)</script> [x](javascript:alert(1))\n# Injected\n| a | b |".into();
        cmp.scenario = "<b>name</b>".into();
        let evil = crate::report::test_support::strategy(&[("retry", "`<img src=x onerror=alert(1)>`|")]);
        cmp.results[1].strategy = evil.clone();
        cmp.errors.push(RunFailure {
            strategy: evil,
            seed: 3,
            reason: "<script>x</script>\n## heading".into(),
            replay: "rehearsal run <x>.toml --seed 3".into(),
        });
        let md = md(&cmp);
        for bad in ["<script", "<img", "<b>", "[x](", "\n# Injected", "\n## heading", "| a | b |"] {
            assert!(!md.contains(bad), "{bad:?} in {md}");
        }
        assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt; \\[x\\](javascript:alert(1)) \\# Injected"), "{md}");
        assert!(md.starts_with("# Comparison: &lt;b&gt;name&lt;/b&gt;\n"), "{md}");
        // Every table row keeps its column count (no injected `|`).
        let strategies = section(&md, "## Strategies");
        let unescaped_pipes = |l: &str| l.match_indices('|').filter(|&(i, _)| !l[..i].ends_with('\\')).count();
        assert!(strategies.lines().filter(|l| l.starts_with('|')).all(|l| unescaped_pipes(l) == 3), "{strategies}");
    }

    #[test]
    fn per_seed_tables_by_key() {
        let md = md(&sample_comparison());
        assert!(md.contains("| seed | S1 | S2 |"));
        assert!(md.contains("| 2 | 110.0 | 90.0 |"), "{md}");
        assert!(md.contains("| 3 | 94.0% | 100.0% |"), "{md}");
    }
}
