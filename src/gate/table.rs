//! The gate's result as Markdown: a heading that says the verdict, then
//! one table row per metric and strategy, fit for a pull-request comment
//! or `$GITHUB_STEP_SUMMARY`.

use std::fmt::Write as _;

use super::{GateResult, Row, Tolerance, Verdict};

/// The whole report.
pub fn markdown(result: &GateResult) -> String {
    let mut out = String::new();
    let regressions = result.regressions();
    let improved = result.rows.iter().filter(|r| r.verdict == Verdict::Improved).count();
    let verdict = if regressions > 0 {
        format!("**{regressions} regression{}**", if regressions == 1 { "" } else { "s" })
    } else {
        "no regression".to_owned()
    };
    let _ = writeln!(out, "## rehearsal check: `{}`: {verdict}", result.scenario);
    let _ = writeln!(out);
    let (same, total) = result.identical_runs;
    let _ = writeln!(
        out,
        "{same} of {total} runs are identical to the baseline's (same trace hash); {improved} metric{} improved.",
        if improved == 1 { "" } else { "s" }
    );
    for note in &result.notes {
        let _ = writeln!(out, "\nNote: {note}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "| metric | strategy | baseline | now | change | paired over seeds (95% CI) | verdict |");
    let _ = writeln!(out, "|---|---|---:|---:|---:|---|---|");
    for row in &result.rows {
        let _ = writeln!(out, "{}", line(row));
    }
    out
}

fn line(r: &Row) -> String {
    format!(
        "| {} | `{}` | {} | {} | {} | {} | {} |",
        r.metric,
        r.strategy,
        number(r.baseline),
        number(r.now),
        change(r),
        paired(r),
        verdict(r)
    )
}

fn number(x: Option<f64>) -> String {
    match x {
        None => "null".to_owned(),
        Some(x) if x == x.trunc() && x.abs() < 1e15 => format!("{x:.0}"),
        Some(x) => format!("{}", (x * 1e4).round() / 1e4),
    }
}

fn change(r: &Row) -> String {
    match (r.baseline, r.now) {
        (Some(b), Some(n)) if b == n => "0".to_owned(),
        (Some(b), Some(n)) if b != 0.0 => format!("{:+.2}%", (n - b) / b.abs() * 100.0),
        (Some(b), Some(n)) => format!("{:+}", n - b),
        _ => "n/a".to_owned(),
    }
}

fn paired(r: &Row) -> String {
    let Some(p) = r.paired else { return String::new() };
    match p.ci95 {
        _ if p.mean_diff == 0.0 => "0".to_owned(),
        Some((lo, hi)) => format!(
            "{} [{}, {}] {}",
            signed(p.mean_diff),
            signed(lo),
            signed(hi),
            if p.significant { "significant" } else { "not significant" }
        ),
        None => format!("{} (one seed)", signed(p.mean_diff)),
    }
}

fn signed(x: f64) -> String {
    let x = (x * 1e4).round() / 1e4;
    if x >= 0.0 { format!("+{x}") } else { format!("{x}") }
}

fn verdict(r: &Row) -> String {
    match r.verdict {
        Verdict::Regression | Verdict::Improved | Verdict::Within => {
            format!("{} (tolerance {})", r.verdict.word(), tolerance(r.tolerance))
        }
        v => v.word().to_owned(),
    }
}

fn tolerance(t: Tolerance) -> String {
    t.to_string()
}
