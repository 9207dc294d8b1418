//! Number formatting shared by the Markdown and terminal renderers: fixed
//! precision per column (so equal input prints equal text), signed
//! differences, percentages, and percentiles a sample cannot support; and
//! escaping of user text (scenario name, description, strategy labels,
//! reasons) for Markdown, HTML and SVG.

use crate::hist;

use super::paired::Verdict;
use super::pooled::PooledLatency;

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

/// `x` with `d` decimals and an explicit sign (`+0.50`, `-3.00`, `0.00`).
pub fn signed(x: f64, d: usize) -> String {
    if !x.is_finite() {
        return "—".to_owned();
    }
    let text = format!("{:.d$}", x.abs());
    // A value that rounds to zero gets no sign.
    if text.chars().all(|c| c == '0' || c == '.') {
        text
    } else if x > 0.0 {
        format!("+{text}")
    } else {
        format!("-{text}")
    }
}

/// A proportion as a percentage with `d` decimals (`0.9876` -> `98.76%`).
pub fn percent(p: f64, d: usize) -> String {
    if p.is_finite() { format!("{:.d$}%", p * 100.0) } else { "—".to_owned() }
}

/// The smallest sample that supports quantile `q` (2 for p50, 10 for p90,
/// 100 for p99, 1000 for p99.9): see [`hist::supports_quantile`].
pub fn min_count_for(q: f64) -> u64 {
    (1..=1_000_000_000u64).find(|&n| hist::supports_quantile(n, q)).unwrap_or(u64::MAX)
}

/// A pooled percentile cell: the value, or `n/a (n<1000)` when the sample
/// cannot support it, or a dash without data.
pub fn percentile_cell(l: Option<&PooledLatency>, name: &str, q: f64, d: usize) -> String {
    match l {
        None => "—".to_owned(),
        Some(l) => match l.get(name) {
            Some(v) => fixed(v, d),
            None => format!("n/a (n<{})", min_count_for(q)),
        },
    }
}

/// The verdict as the tables show it.
pub fn verdict_cell(v: Verdict) -> &'static str {
    match v {
        Verdict::Better => "better",
        Verdict::Worse => "worse",
        Verdict::Higher => "higher",
        Verdict::Lower => "lower",
        Verdict::Inconclusive => "~ (CI spans 0)",
        Verdict::TooFewSeeds => "— (n<2)",
    }
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

/// `s` with the characters HTML and XML give meaning to as entities
/// (`&`, `<`, `>`, `"`, `'`).
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// User text for an HTML page: [`html_escape`]d, and every control
/// character but a line break or a tab (which HTML does not allow, or
/// which a browser would silently drop) shown as a space.
pub fn html_text(s: &str) -> String {
    if s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        let cleaned: String =
            s.chars().map(|c| if c.is_control() && !matches!(c, '\n' | '\r' | '\t') { ' ' } else { c }).collect();
        html_escape(&cleaned)
    } else {
        html_escape(s)
    }
}

/// User text as inline Markdown that renders as the same text and nothing
/// else: one line (control characters become spaces), no raw HTML (`<`,
/// `>`, `&` as entities), no links, images, code spans or table cells
/// (`[`, `]`, backticks, `|`, `\` backslash-escaped), no heading, list,
/// quote or rule at its start (`#` everywhere, a leading `-`, `+`, `*`,
/// `=` or `1.` escaped).
pub fn markdown_text(s: &str) -> String {
    let s: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let s = s.trim();
    let mut out = String::with_capacity(s.len() + 8);
    // A leading list marker, rule or setext underline; an ordered-list
    // number (`12.` / `12)`).
    let digits = s.chars().take_while(char::is_ascii_digit).count();
    let ordered = digits > 0 && matches!(s[digits..].chars().next(), Some('.' | ')'));
    for (i, c) in s.chars().enumerate() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '[' | ']' | '|' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' | '*' | '=' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')' if ordered && i == digits => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// User text for an SVG `<text>` element drawn by plotters, which escapes
/// markup itself: control characters (which XML 1.0 does not allow)
/// become spaces.
pub fn svg_text(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped_for_markdown() {
        let hostile = "<script>alert(1)</script> [x](javascript:alert(1))";
        let md = markdown_text(hostile);
        assert_eq!(md, "&lt;script&gt;alert(1)&lt;/script&gt; \\[x\\](javascript:alert(1))");
        assert!(!md.contains('<') && !md.contains("[x]"));
        assert_eq!(markdown_text("# Title\n| a | b |\n---"), "\\# Title \\| a \\| b \\| ---");
        assert_eq!(markdown_text("- item"), "\\- item");
        assert_eq!(markdown_text("12. item"), "12\\. item");
        assert_eq!(markdown_text("a `code` & <b>"), "a \\`code\\` &amp; &lt;b&gt;");
        assert_eq!(markdown_text("Two retry policies under a flaky LLM."), "Two retry policies under a flaky LLM.");
        assert_eq!(markdown_text("one_for_one: 3-2 = 1"), "one_for_one: 3-2 = 1");
        assert_eq!(html_escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(svg_text("a\u{1b}[31mb\n"), "a [31mb ");
        assert_eq!(html_text("a\u{0}b\u{1b}<\n\tc"), "a b &lt;\n\tc");
        assert_eq!(html_text("</pre><script>"), "&lt;/pre&gt;&lt;script&gt;");
    }

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
        assert_eq!(signed(0.5, 2), "+0.50");
        assert_eq!(signed(-3.0, 2), "-3.00");
        assert_eq!(signed(-0.0001, 2), "0.00");
        assert_eq!(percent(0.98765, 2), "98.77%");
    }

    #[test]
    fn unsupported_percentiles_say_so() {
        assert_eq!(
            (min_count_for(0.5), min_count_for(0.9), min_count_for(0.99), min_count_for(0.999)),
            (2, 10, 100, 1000)
        );
        let l = PooledLatency {
            p50: Some(1.0),
            p90: Some(2.0),
            p99: Some(3.0),
            p999: None,
            max: 4.0,
            mean: 1.5,
            count: 200,
        };
        assert_eq!(percentile_cell(Some(&l), "p99", 0.99, 1), "3.0");
        assert_eq!(percentile_cell(Some(&l), "p999", 0.999, 1), "n/a (n<1000)");
        assert_eq!(percentile_cell(None, "p99", 0.99, 1), "—");
    }
}
