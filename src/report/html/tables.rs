//! The tables of `index.html`: strategies and overview, paired differences
//! against the baseline, requests and failure causes, services, steps,
//! excluded seeds and failing runs. Every cell is escaped here.

use std::fmt::Write as _;

use super::super::analysis::Analysis;
use super::super::breakdown::{self, MeanMax};
use super::super::format::{decimals, fixed, html_text, percent};
use super::super::paired::Verdict;
use super::super::rows::{self, OVERVIEW_HEADER, PAIRED_HEADER};
use super::super::{RunFailure, strategy_label};
use super::section;

/// One table cell: its markup (already escaped) and its class.
struct Cell {
    html: String,
    class: &'static str,
}

impl Cell {
    /// Text, escaped.
    fn text(s: &str) -> Cell {
        Cell { html: html_text(s), class: "" }
    }

    /// A number (or a dash), right-aligned.
    fn num(s: impl std::fmt::Display) -> Cell {
        Cell { html: html_text(&s.to_string()), class: "num" }
    }

    /// Text as code (labels, replay lines), escaped.
    fn code(s: &str) -> Cell {
        Cell { html: format!("<code>{}</code>", html_text(s)), class: "" }
    }

    fn class(mut self, class: &'static str) -> Cell {
        self.class = class;
        self
    }
}

/// A column: its heading and whether it holds numbers (right-aligned).
type Column<'a> = (&'a str, bool);

/// Writes a table (inside a horizontally scrolling box).
fn table(out: &mut String, columns: &[Column<'_>], rows: impl IntoIterator<Item = Vec<Cell>>) {
    out.push_str("<div class=\"scroll\"><table>\n<thead><tr>");
    for (title, numeric) in columns {
        let class = if *numeric { " class=\"num\"" } else { "" };
        let _ = write!(out, "<th{class}>{}</th>", html_text(title));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for c in row {
            if c.class.is_empty() {
                let _ = write!(out, "<td>{}</td>", c.html);
            } else {
                let _ = write!(out, "<td class=\"{}\">{}</td>", c.class, c.html);
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
}

/// Headings of plain-text rows: the first column text, the rest numbers.
fn columns<'a>(titles: &[&'a str]) -> Vec<Column<'a>> {
    titles.iter().enumerate().map(|(i, t)| (*t, i > 0)).collect()
}

/// Plain-text cells of a shared row: the first as text, the rest numbers.
fn cells(row: &[String]) -> Vec<Cell> {
    row.iter().enumerate().map(|(i, c)| if i == 0 { Cell::text(c) } else { Cell::num(c) }).collect()
}

/// The strategies (key, label, baseline) and the overview of each.
pub(super) fn strategies(out: &mut String, a: &Analysis<'_>) {
    section(out, "strategies", "Strategies");
    if a.labels.is_empty() {
        out.push_str("<p class=\"note\">No strategy ran.</p>\n</section>\n");
        return;
    }
    let many = a.labels.len() > 1;
    let rows = a.keys.iter().zip(&a.labels).enumerate().map(|(i, (k, l))| {
        let role = if a.baseline == Some(i) && many { "baseline" } else { "" };
        vec![Cell::text(k), Cell::code(l), Cell::text(role)]
    });
    table(out, &[("key", false), ("strategy", false), ("role", false)], rows);
    out.push_str(
        "<h3>Overview</h3>\n<p class=\"note\">Pooled percentiles come from every request of every seed used; \
         \"mean of per-seed p99\" averages each seed's own p99 (95% CI across seeds). <code>n/a (n&lt;N)</code>: \
         fewer than N requests cannot support that percentile.</p>\n",
    );
    table(out, &columns(&OVERVIEW_HEADER), rows::overview(a).iter().map(|r| cells(r)));
    if a.strategies.iter().any(|s| s.pooled.histograms_missing > 0) {
        out.push_str(
            "<p class=\"note\">Pooled latency is — for a strategy where some runs carry no readable latency \
             histogram.</p>\n",
        );
    }
    out.push_str("</section>\n");
}

/// One table per non-baseline strategy: paired differences against the
/// baseline, the same rows as `report.md`'s.
pub(super) fn versus_baseline(out: &mut String, a: &Analysis<'_>) {
    let Some(b) = a.baseline else { return };
    if a.strategies.len() < 2 {
        return;
    }
    section(out, "versus-baseline", "Versus baseline");
    let n = a.seeds_used.len();
    let _ = writeln!(
        out,
        "<p class=\"note\">Strategy minus baseline ({} <code>{}</code>), seed by seed over the {n} seed{} used: \
         the mean difference and its 95% Student-t interval. better/worse (by the metric's direction) only when \
         that interval excludes zero; ~ when it spans zero. The last column is the unpaired (Welch) interval \
         width of the same difference, for comparison.</p>",
        a.keys[b],
        html_text(&a.labels[b]),
        if n == 1 { "" } else { "s" }
    );
    for (i, s) in a.strategies.iter().enumerate() {
        if s.vs_baseline.is_none() {
            continue;
        }
        let _ = writeln!(out, "<h3>{} <code>{}</code> vs {}</h3>", a.keys[i], html_text(&a.labels[i]), a.keys[b]);
        let rows = rows::paired(a, i).into_iter().map(|r| {
            let class = match r.verdict {
                Verdict::Better => "better",
                Verdict::Worse => "worse",
                _ => "",
            };
            let mut c = cells(&r.cells);
            c[3] = Cell::text(&r.cells[3]).class(class);
            c
        });
        let cols: Vec<Column<'_>> = PAIRED_HEADER.iter().enumerate().map(|(i, t)| (*t, i != 0 && i != 3)).collect();
        table(out, &cols, rows);
    }
    out.push_str("</section>\n");
}

/// Pooled request counts, failures by cause as columns.
pub(super) fn outcomes(out: &mut String, a: &Analysis<'_>) {
    if a.strategies.is_empty() {
        return;
    }
    section(out, "requests", "Requests and failure causes");
    out.push_str("<p class=\"note\">Requests of every seed used, summed; failed requests by cause.</p>\n");
    let causes = rows::causes(a);
    let titles: Vec<String> = ["key", "arrived", "succeeded", "failed", "in flight"]
        .iter()
        .map(|t| (*t).to_owned())
        .chain(causes.iter().map(|c| format!("failed: {c}")))
        .collect();
    let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
    table(out, &columns(&titles), (0..a.strategies.len()).map(|i| cells(&rows::outcome(a, i, &causes))));
    out.push_str("</section>\n");
}

/// A pooled mean or max in ms, or a dash.
fn ms(v: Option<f64>, d: usize) -> Cell {
    Cell::num(v.map_or_else(|| "—".to_owned(), |v| fixed(v, d)))
}

/// Decimals for a column of pooled latencies.
fn ms_decimals<'a>(values: impl Iterator<Item = &'a MeanMax>) -> usize {
    decimals(values.flat_map(|m| [m.mean, m.max]).flatten())
}

/// Per service and strategy, over the seeds used.
pub(super) fn services(out: &mut String, a: &Analysis<'_>) {
    if a.strategies.is_empty() {
        return;
    }
    section(out, "services", "Services");
    let services = breakdown::services(a);
    if services.is_empty() {
        out.push_str("<p class=\"note\">No run reported a service.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(
        out,
        "<p class=\"note\">Each service's calls under each strategy, summed over the {} seed{} used (retries \
         included). Service time: from a concurrency slot taken to the answer; queue wait: for a slot. Means are \
         pooled (every call weighted alike); max is the largest of any seed.</p>",
        a.seeds_used.len(),
        if a.seeds_used.len() == 1 { "" } else { "s" }
    );
    let all = || services.values().flatten();
    let d_cost = decimals(all().map(|r| r.cost));
    let d_time = ms_decimals(all().map(|r| &r.service_time));
    let d_wait = ms_decimals(all().map(|r| &r.queue_wait));
    let cols: [Column<'_>; 16] = [
        ("service", false),
        ("kind", false),
        ("key", false),
        ("calls", true),
        ("succeeded", true),
        ("errors", true),
        ("rate limited", true),
        ("timeouts", true),
        ("cancelled", true),
        ("input tokens", true),
        ("output tokens", true),
        ("cost", true),
        ("service time mean (ms)", true),
        ("service time max (ms)", true),
        ("queue wait mean (ms)", true),
        ("busy (mean of per-seed)", true),
    ];
    let rows = services.iter().flat_map(|(name, rows)| {
        rows.iter().map(move |r| {
            let errors = if r.errors_by_kind.is_empty() {
                "0".to_owned()
            } else {
                let kinds: Vec<String> = r.errors_by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
                format!("{} ({})", r.errors(), kinds.join(", "))
            };
            vec![
                Cell::code(name),
                Cell::text(&r.kind),
                Cell::text(&a.keys[r.strategy]),
                Cell::num(r.calls),
                Cell::num(r.succeeded),
                Cell::num(errors),
                Cell::num(r.rate_limited),
                Cell::num(r.timeouts),
                Cell::num(r.cancelled),
                Cell::num(r.input_tokens),
                Cell::num(r.output_tokens),
                Cell::num(fixed(r.cost, d_cost)),
                ms(r.service_time.mean, d_time),
                ms(r.service_time.max, d_time),
                ms(r.queue_wait.mean, d_wait),
                Cell::num(r.busy_fraction.map_or_else(|| "—".to_owned(), |b| percent(b, 1))),
            ]
        })
    });
    table(out, &cols, rows);
    out.push_str("</section>\n");
}

/// Per workflow step and strategy, over the seeds used; left out when no
/// run reported a step.
pub(super) fn steps(out: &mut String, a: &Analysis<'_>) {
    let steps = breakdown::steps(a);
    if steps.is_empty() {
        return;
    }
    section(out, "steps", "Steps");
    let _ = writeln!(
        out,
        "<p class=\"note\">Each workflow step under each strategy, summed over the {} seed{} used. A call step \
         counts its calls (retries and every parallel copy included; cancelled calls count as failed); any \
         other step counts its runs. Latency: from call to answer (or to the caller giving up), or from a run's \
         start to its end; the mean is pooled, max the largest of any seed.</p>",
        a.seeds_used.len(),
        if a.seeds_used.len() == 1 { "" } else { "s" }
    );
    let all = || steps.values().flatten();
    let d_lat = ms_decimals(all().map(|r| &r.latency));
    let d_cost = decimals(all().filter_map(|r| r.cost));
    let dash = |v: Option<u64>| Cell::num(v.map_or_else(|| "—".to_owned(), |v| v.to_string()));
    let cols: [Column<'_>; 12] = [
        ("step", false),
        ("kind", false),
        ("service or role", false),
        ("key", false),
        ("calls / runs", true),
        ("failed", true),
        ("cancelled", true),
        ("latency mean (ms)", true),
        ("latency max (ms)", true),
        ("input tokens", true),
        ("output tokens", true),
        ("cost", true),
    ];
    let rows = steps.iter().flat_map(|(name, rows)| {
        rows.iter().map(move |r| {
            vec![
                Cell::code(name),
                Cell::text(&r.kind),
                Cell::text(&r.service),
                Cell::text(&a.keys[r.strategy]),
                Cell::num(r.calls),
                Cell::num(r.failed),
                dash(r.cancelled),
                ms(r.latency.mean, d_lat),
                ms(r.latency.max, d_lat),
                dash(r.input_tokens),
                dash(r.output_tokens),
                Cell::num(r.cost.map_or_else(|| "—".to_owned(), |c| fixed(c, d_cost))),
            ]
        })
    });
    table(out, &cols, rows);
    out.push_str("</section>\n");
}

/// Seeds left out of every statistic, with why.
pub(super) fn excluded(out: &mut String, a: &Analysis<'_>) {
    if a.excluded.is_empty() {
        return;
    }
    section(out, "excluded-seeds", "Excluded seeds");
    out.push_str("<p class=\"note\">Left out of every statistic because not every strategy ran on them.</p>\n");
    let rows = a.excluded.iter().map(|e| vec![Cell::num(e.seed), Cell::text(&e.reasons.join("; "))]);
    table(out, &[("seed", true), ("why", false)], rows);
    out.push_str("</section>\n");
}

/// Runs that stopped with an error and runs that broke an invariant, each
/// with the command that replays it.
pub(super) fn failing_runs(out: &mut String, a: &Analysis<'_>) {
    let cmp = a.cmp;
    if cmp.errors.is_empty() && cmp.invariant_failures.is_empty() {
        return;
    }
    section(out, "failing-runs", "Failing runs");
    out.push_str("<p class=\"note\">Each replay line runs that seed and strategy again, exactly.</p>\n");
    let list = |out: &mut String, title: &str, list: &[RunFailure]| {
        if list.is_empty() {
            return;
        }
        let _ = writeln!(out, "<h3>{title}</h3>");
        let rows = list.iter().map(|f| {
            vec![
                Cell::code(&strategy_label(&f.strategy)),
                Cell::num(f.seed),
                Cell::text(&f.reason),
                Cell::code(&f.replay).class("replay"),
            ]
        });
        table(out, &[("strategy", false), ("seed", true), ("reason", false), ("replay", false)], rows);
    };
    list(out, "Runs that stopped with an error (left out of the statistics)", &cmp.errors);
    list(out, "Runs that broke an invariant (kept in the statistics)", &cmp.invariant_failures);
    out.push_str("</section>\n");
}
