//! `index.html`: one self-contained page a person opens from disk. The
//! scenario (its name, description and text), the strategies with their
//! paired differences against the baseline, the charts (the SVGs' markup
//! inline), failure causes, per-service and per-step tables, excluded
//! seeds, failing runs with their replay lines, and the provenance
//! (version, commit, hashes, seeds, command line).
//!
//! The page loads nothing: its style is inline (`style.css`), its charts
//! are inline SVG, it has no script, and its only links are to its own
//! sections and to the report files beside it. Every piece of user text
//! (scenario name, description and text, labels, reasons, replay lines,
//! service and step names) is escaped ([`html_text`]). It holds no
//! timestamp: identical input gives byte-identical pages. The numbers are
//! those of `report.md` (the shared rows of [`super::rows`]).

mod tables;

use std::fmt::Write as _;

use super::analysis::Analysis;
use super::format::{compact_seeds, html_text};
use super::markdown::chart_title;
use super::provenance::{GIT_COMMIT, TOOL_VERSION};
use super::{HTML_FILE, JSON_FILE, MARKDOWN_FILE};

/// The page's style sheet, inlined in a `<style>` element.
const STYLE: &str = include_str!("style.css");

/// Renders `index.html`. `charts` are (file name, SVG text), inlined in
/// that order.
pub fn render(a: &Analysis<'_>, charts: &[(&str, &str)]) -> String {
    let cmp = a.cmp;
    let name = html_text(&cmp.scenario);
    let mut out = String::with_capacity(64 * 1024 + charts.iter().map(|(_, svg)| svg.len()).sum::<usize>());
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<meta name=\"generator\" content=\"rehearsal {}\">", html_text(TOOL_VERSION));
    let _ = writeln!(out, "<title>{name}: comparison (rehearsal)</title>");
    let _ = writeln!(out, "<style>\n{}</style>\n</head>\n<body>\n<main>", STYLE);

    out.push_str("<header>\n<p class=\"kicker\">rehearsal comparison</p>\n");
    let _ = writeln!(out, "<h1>{name}</h1>");
    if !cmp.description.trim().is_empty() {
        let _ = writeln!(out, "<p class=\"description\">{}</p>", html_text(cmp.description.trim()));
    }
    out.push_str("</header>\n");
    contents(&mut out, a, !charts.is_empty());
    facts(&mut out, a);

    section(&mut out, "scenario", "Scenario");
    scenario_text(&mut out, a);
    out.push_str("</section>\n");

    tables::strategies(&mut out, a);
    tables::versus_baseline(&mut out, a);
    charts_section(&mut out, charts);
    tables::outcomes(&mut out, a);
    tables::services(&mut out, a);
    tables::steps(&mut out, a);
    tables::excluded(&mut out, a);
    tables::failing_runs(&mut out, a);
    provenance(&mut out, a);

    let _ = writeln!(
        out,
        "<footer>\n<p>Written by rehearsal {}. Beside this page: <a href=\"{JSON_FILE}\">{JSON_FILE}</a> (every run, \
         every figure) and <a href=\"{MARKDOWN_FILE}\">{MARKDOWN_FILE}</a> (every table, per metric and per \
         seed). The page holds no timestamp: the same comparison gives the same {HTML_FILE}, byte for \
         byte.</p>\n</footer>",
        html_text(TOOL_VERSION)
    );
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// Opens `<section id=ID>` with its heading.
fn section(out: &mut String, id: &str, title: &str) {
    let _ = writeln!(out, "<section id=\"{id}\">\n<h2>{title}</h2>");
}

/// The table of contents: links to the sections the page has.
fn contents(out: &mut String, a: &Analysis<'_>, charts: bool) {
    let cmp = a.cmp;
    let mut links = vec![("scenario", "Scenario"), ("strategies", "Strategies")];
    if a.strategies.len() > 1 {
        links.push(("versus-baseline", "Versus baseline"));
    }
    if charts {
        links.push(("charts", "Charts"));
    }
    if !a.strategies.is_empty() {
        links.extend([("requests", "Requests and failure causes"), ("services", "Services")]);
    }
    if a.strategies.iter().any(|s| s.runs.iter().any(|r| !r.steps.is_empty())) {
        links.push(("steps", "Steps"));
    }
    if !a.excluded.is_empty() {
        links.push(("excluded-seeds", "Excluded seeds"));
    }
    if !cmp.errors.is_empty() || !cmp.invariant_failures.is_empty() {
        links.push(("failing-runs", "Failing runs"));
    }
    links.push(("provenance", "Provenance"));
    out.push_str("<nav aria-label=\"Contents\">\n<ul>\n");
    for (id, title) in links {
        let _ = writeln!(out, "<li><a href=\"#{id}\">{title}</a></li>");
    }
    out.push_str("</ul>\n</nav>\n");
}

/// The comparison at a glance: seeds, strategies, baseline, BUGGIFY,
/// failing runs, and what the figures are.
fn facts(out: &mut String, a: &Analysis<'_>) {
    let cmp = a.cmp;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    out.push_str("<dl class=\"facts\">\n");
    let _ = writeln!(
        out,
        "<dt>Seeds</dt><dd>{} ({} seed{})</dd>",
        html_text(&compact_seeds(&cmp.seeds)),
        cmp.seeds.len(),
        plural(cmp.seeds.len())
    );
    if !a.excluded.is_empty() {
        let excluded: Vec<u64> = a.excluded.iter().map(|e| e.seed).collect();
        let _ = writeln!(
            out,
            "<dt>Statistics use</dt><dd class=\"warn\">{} seed{} on which every strategy ran; excluded: {} \
             (<a href=\"#excluded-seeds\">why</a>)</dd>",
            a.seeds_used.len(),
            plural(a.seeds_used.len()),
            html_text(&compact_seeds(&excluded))
        );
    }
    let _ = writeln!(out, "<dt>Strategies</dt><dd>{}</dd>", cmp.results.len());
    if let (Some(b), true) = (a.baseline, cmp.results.len() > 1) {
        let _ = writeln!(out, "<dt>Baseline</dt><dd>{} <code>{}</code></dd>", a.keys[b], html_text(&a.labels[b]));
    }
    if let Some(on) = cmp.buggify {
        let _ = writeln!(out, "<dt>BUGGIFY fault points</dt><dd>{}</dd>", if on { "on" } else { "off" });
    }
    let failing = cmp.errors.len() + cmp.invariant_failures.len();
    if failing > 0 {
        let _ = writeln!(
            out,
            "<dt>Failing runs</dt><dd class=\"warn\">{} stopped with an error, {} broke an invariant \
             (<a href=\"#failing-runs\">replay lines</a>)</dd>",
            cmp.errors.len(),
            cmp.invariant_failures.len()
        );
    }
    out.push_str("</dl>\n");
    out.push_str(
        "<p class=\"note\"><strong>pooled</strong>: over every request of every seed used (merged histograms, \
         summed counts). <strong>mean of per-seed</strong>: a per-seed figure averaged across seeds, with its 95% \
         Student-t interval. <strong>paired</strong>: strategy minus baseline seed by seed, with its 95% Student-t \
         interval; a strategy is called better or worse only when that interval excludes zero. Percentiles are \
         never averaged into percentiles; success-rate intervals are Wilson score intervals.</p>\n",
    );
    if a.seeds_used.len() == 1 {
        out.push_str(
            "<p class=\"note\">With one seed (n=1) there is no spread: intervals across seeds are not defined.</p>\n",
        );
    }
}

/// The scenario file's text, collapsed, with its path and size.
fn scenario_text(out: &mut String, a: &Analysis<'_>) {
    let p = &a.cmp.provenance;
    let Some(text) = &p.scenario_text else {
        out.push_str(
            "<p class=\"note\">The scenario's text was not recorded (this comparison was not made from a file).</p>\n",
        );
        return;
    };
    let lines = text.lines().count();
    let path = p.scenario_path.as_deref().unwrap_or("scenario");
    let _ = write!(
        out,
        "<details>\n<summary>The scenario file <code>{}</code> ({lines} line{}, {} bytes",
        html_text(path),
        if lines == 1 { "" } else { "s" },
        text.len()
    );
    if let Some(h) = &p.scenario_file_hash {
        let _ = write!(out, ", FNV-1a 64 <code>{}</code>", html_text(h));
    }
    let _ = writeln!(out, ")</summary>\n<pre class=\"scenario\"><code>{}</code></pre>\n</details>", html_text(text));
}

/// The charts, their SVG markup inline, each with its title and a link to
/// its file.
fn charts_section(out: &mut String, charts: &[(&str, &str)]) {
    if charts.is_empty() {
        return;
    }
    section(out, "charts", "Charts");
    out.push_str(
        "<p class=\"note\">Each line ends in its strategy's key; the legend below each plot maps keys to \
         strategies. Scheduled fault windows are shaded.</p>\n",
    );
    for (file, svg) in charts {
        let id = file.strip_suffix(".svg").unwrap_or(file);
        let _ = writeln!(out, "<figure class=\"chart\" id=\"chart-{}\">", html_text(id));
        out.push_str(inline_svg(svg));
        let _ = writeln!(
            out,
            "\n<figcaption>{} (<a href=\"{f}\">{f}</a>)</figcaption>\n</figure>",
            html_text(chart_title(file)),
            f = html_text(file)
        );
    }
    out.push_str("</section>\n");
}

/// SVG text as markup for an HTML body: from its `<svg` element on (an
/// XML declaration or doctype has no place inside HTML), trimmed.
fn inline_svg(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |i| &svg[i..]).trim_end()
}

/// Where the report came from.
fn provenance(out: &mut String, a: &Analysis<'_>) {
    let cmp = a.cmp;
    let p = &cmp.provenance;
    let unknown = "<span class=\"muted\">unknown</span>";
    let code = |v: Option<&str>| v.map_or_else(|| unknown.to_owned(), |v| format!("<code>{}</code>", html_text(v)));
    section(out, "provenance", "Provenance");
    out.push_str("<dl class=\"facts\">\n");
    let _ = writeln!(out, "<dt>rehearsal</dt><dd>{}</dd>", code(Some(TOOL_VERSION)));
    let _ = writeln!(out, "<dt>git commit</dt><dd>{}</dd>", code(GIT_COMMIT));
    let _ = writeln!(out, "<dt>Scenario file</dt><dd>{}</dd>", code(p.scenario_path.as_deref()));
    let _ = writeln!(
        out,
        "<dt>Scenario file hash</dt><dd>{} <span class=\"muted\">(FNV-1a 64 of the file's bytes)</span></dd>",
        code(p.scenario_file_hash.as_deref())
    );
    let _ = writeln!(
        out,
        "<dt>Scenario hash</dt><dd>{} <span class=\"muted\">(FNV-1a 64 of the scenario as loaded: every setting, \
         the data of every file it reads, BUGGIFY; the journal's <code>scenario_hash</code>)</span></dd>",
        code(p.scenario_hash.as_deref())
    );
    let _ = writeln!(out, "<dt>Seeds</dt><dd><code>{}</code></dd>", html_text(&compact_seeds(&cmp.seeds)));
    if !a.excluded.is_empty() {
        let _ = writeln!(out, "<dt>Seeds used</dt><dd><code>{}</code></dd>", html_text(&compact_seeds(&a.seeds_used)));
    }
    if let Some(on) = cmp.buggify {
        let _ = writeln!(out, "<dt>BUGGIFY</dt><dd>{}</dd>", if on { "on" } else { "off" });
    }
    let _ = writeln!(
        out,
        "<dt>Command line</dt><dd>{} <span class=\"muted\">(without <code>--out</code>, <code>--jobs</code> and \
         <code>--resume</code>: they never change the reports)</span></dd>",
        code(p.command_line.as_deref())
    );
    out.push_str("</dl>\n</section>\n");
}

#[cfg(test)]
mod tests;
