use super::*;
use crate::report::test_support::{sample_comparison, strategy};
use crate::report::{Comparison, Provenance, RunFailure, chart, markdown, rows};
use crate::summary::{ServiceSummary, StepSummary};

fn page(cmp: &Comparison) -> String {
    let a = Analysis::of(cmp);
    let svgs = [("latency.svg", chart::latency(&a).unwrap()), ("success.svg", chart::success(&a).unwrap())];
    let charts: Vec<(&str, &str)> = svgs.iter().map(|(n, s)| (*n, s.as_str())).collect();
    render(&a, &charts)
}

/// A comparison from a scenario file, with a failing run and a service
/// and a step in every run.
fn full() -> Comparison {
    let mut cmp = sample_comparison();
    cmp.provenance = Provenance::of_file(
        "scenarios/sample.toml",
        "name = \"sample\"\n[llm]\nlatency = { dist = \"constant\", value = \"1s\" }\n".into(),
        "0123456789abcdef".into(),
        "rehearsal compare scenarios/sample.toml --seeds 3".into(),
    );
    cmp.invariant_failures.push(RunFailure {
        strategy: cmp.results[1].strategy.clone(),
        seed: 2,
        reason: "tool_effects_at_most_once: 1 duplicate".into(),
        replay: "rehearsal run scenarios/sample.toml --seed 2 --strategy retry=fixed".into(),
    });
    for sr in &mut cmp.results {
        for r in &mut sr.runs {
            r.services
                .insert("llm:planner".into(), ServiceSummary { kind: "llm".into(), calls: 7, ..Default::default() });
            r.steps.insert("plan".into(), StepSummary { kind: "call".into(), calls: 3, ..Default::default() });
        }
    }
    cmp
}

#[test]
fn holds_every_section() {
    let cmp = full();
    let html = page(&cmp);
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"), "{html}");
    assert!(html.ends_with("</html>\n"));
    assert!(html.contains("<h1>sample</h1>"));
    assert!(html.contains("<p class=\"description\">Two retry policies under a flaky LLM.</p>"));
    for id in [
        "scenario",
        "strategies",
        "versus-baseline",
        "charts",
        "requests",
        "services",
        "steps",
        "failing-runs",
        "provenance",
    ] {
        assert!(html.contains(&format!("<section id=\"{id}\">")), "{id}");
        assert!(html.contains(&format!("<a href=\"#{id}\">")), "{id} in the contents");
    }
    // The scenario's text, collapsible.
    assert!(html.contains("<details>\n<summary>The scenario file <code>scenarios/sample.toml</code> (3 lines"));
    assert!(html.contains("latency = { dist = &quot;constant&quot;, value = &quot;1s&quot; }"), "{html}");
    // The charts' markup inline, not linked as images.
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(html.contains("<figure class=\"chart\" id=\"chart-latency\">\n<svg"));
    assert!(!html.contains("<img"));
    // Failure causes, services, steps, replay lines, provenance.
    assert!(html.contains("<th class=\"num\">failed: client_timeout</th>"));
    assert!(html.contains("<td><code>llm:planner</code></td><td>llm</td><td>S1</td><td class=\"num\">21</td>"));
    assert!(html.contains("<td><code>plan</code></td><td>call</td>"));
    assert!(html.contains(
        "<td class=\"replay\"><code>rehearsal run scenarios/sample.toml --seed 2 --strategy retry=fixed</code></td>"
    ));
    assert!(html.contains("<code>0123456789abcdef</code>"));
    assert!(html.contains(&format!(
        "<code>{}</code>",
        crate::report::provenance::file_hash(cmp.provenance.scenario_text.as_deref().unwrap().as_bytes())
    )));
    assert!(html.contains("<dt>Command line</dt><dd><code>rehearsal compare scenarios/sample.toml --seeds 3</code>"));
    assert!(html.contains(&format!("<dt>rehearsal</dt><dd><code>{}</code>", env!("CARGO_PKG_VERSION"))));
    assert!(html.contains("<dt>Seeds</dt><dd><code>1..=3</code></dd>"));
}

#[test]
fn the_numbers_are_report_md_s() {
    let cmp = full();
    let a = Analysis::of(&cmp);
    let html = page(&cmp);
    let md = markdown::render(&a, &[]);
    for row in rows::overview(&a) {
        assert!(md.contains(&format!("| {} |", row.join(" | "))), "{row:?}");
        for c in &row[1..] {
            assert!(html.contains(&format!("<td class=\"num\">{}</td>", html_text(c))), "{c}");
        }
    }
    let paired = rows::paired(&a, 1);
    assert!(!paired.is_empty());
    for row in &paired {
        assert!(md.contains(&format!("| {} |", row.cells.join(" | "))), "{row:?}");
    }
    // -20 ms on every seed: better, shown as such.
    assert!(
        html.contains(
            "<tr><td>latency_ms.p99 (ms)</td><td class=\"num\">-20.00</td><td class=\"num\">[-20.00, -20.00]</td>\
         <td class=\"better\">better</td>"
        ),
        "{html}"
    );
}

#[test]
fn user_text_is_escaped_everywhere() {
    let mut cmp = full();
    let evil = "<script>alert(1)</script><img src=x onerror=alert(1)>\"'&";
    cmp.scenario = format!("<b>{evil}</b>");
    cmp.description = format!("{evil}\n</p><a href=\"https://example.com\">x</a>");
    let label = strategy(&[("retry", evil)]);
    cmp.results[1].strategy = label.clone();
    cmp.errors.push(RunFailure {
        strategy: label,
        seed: 3,
        reason: format!("{evil}\u{1b}[31m"),
        replay: format!("rehearsal run '{evil}' --seed 3"),
    });
    cmp.provenance.scenario_text = Some(format!("# </code></pre></details>{evil}\n"));
    cmp.provenance.scenario_path = Some(format!("{evil}.toml"));
    cmp.provenance.command_line = Some(format!("rehearsal compare '{evil}'"));
    for sr in &mut cmp.results {
        for r in &mut sr.runs {
            let sv = r.services.remove("llm:planner").unwrap();
            r.services.insert(format!("tool:{evil}"), sv);
            r.requests.failed_by_cause.insert(evil.to_owned(), 1);
        }
    }
    let html = page(&cmp);
    for bad in ["<script", "<img", "<b>", "</b>", "onerror=alert(1)>", "href=\"https://", "\u{1b}"] {
        assert!(!html.contains(bad), "{bad:?} in the page");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"));
    assert!(html.contains("# &lt;/code&gt;&lt;/pre&gt;&lt;/details&gt;&lt;script&gt;"));
    // Exactly the page's own structure: one pre, one details.
    assert_eq!(html.matches("<pre").count(), 1);
    assert_eq!(html.matches("</details>").count(), 1);
}

#[test]
fn loads_nothing_from_anywhere() {
    let html = page(&full());
    // No script, no external style or font, no embedded resource.
    for bad in ["<script", "<link", "<iframe", "<object", "<embed", "<img", "@import", "url(", " src=", "srcset="] {
        assert!(!html.contains(bad), "{bad:?} in the page");
    }
    // Every link is to a section of the page or a report file beside it.
    let local = ["report.json", "report.md", "latency.svg", "success.svg"];
    for (i, _) in html.match_indices("href=\"") {
        let target = &html[i + 6..];
        let target = &target[..target.find('"').unwrap()];
        assert!(target.starts_with('#') || local.contains(&target), "href {target:?}");
    }
    // The SVG namespace is a name, not a load; no other URL appears.
    let without_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!without_ns.contains("http://") && !without_ns.contains("https://"));
}

#[test]
fn deterministic_and_degenerate() {
    let cmp = full();
    assert_eq!(page(&cmp), page(&cmp));
    // No strategies, no file, no charts: still a page.
    let empty = Comparison { scenario: "empty".into(), ..Comparison::default() };
    let html = render(&Analysis::of(&empty), &[]);
    assert!(html.contains("<h1>empty</h1>") && html.contains("No strategy ran."));
    assert!(html.contains("The scenario's text was not recorded"));
    assert!(html.contains("<dt>Command line</dt><dd><span class=\"muted\">unknown</span> "));
    assert!(!html.contains("id=\"charts\""));
}

#[test]
fn inline_svg_drops_what_html_cannot_hold() {
    assert_eq!(inline_svg("<?xml version=\"1.0\"?>\n<svg width=\"1\"></svg>\n"), "<svg width=\"1\"></svg>");
    assert_eq!(inline_svg("<svg/>"), "<svg/>");
}

#[test]
fn excluded_seeds_and_errors_with_their_reasons() {
    let mut cmp = full();
    cmp.results[1].runs.retain(|r| r.seed != 3);
    cmp.errors.push(RunFailure {
        strategy: cmp.results[1].strategy.clone(),
        seed: 3,
        reason: "limit max_events reached".into(),
        replay: "rehearsal run scenarios/sample.toml --seed 3 --strategy retry=fixed".into(),
    });
    let html = page(&cmp);
    assert!(html.contains("<a href=\"#excluded-seeds\">why</a>"), "{html}");
    assert!(html.contains("<tr><td class=\"num\">3</td><td>retry=fixed: limit max_events reached</td></tr>"));
    assert!(html.contains("<dt>Seeds used</dt><dd><code>1, 2</code></dd>"));
    assert!(html.contains("<h3>Runs that stopped with an error (left out of the statistics)</h3>"));
    assert!(html.contains("<code>rehearsal run scenarios/sample.toml --seed 3 --strategy retry=fixed</code>"));
    assert!(html.contains("1 stopped with an error, 1 broke an invariant"));
}
