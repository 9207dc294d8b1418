//! `index.html`, the page `compare` writes beside its reports: what it
//! holds when runs fail, that it loads nothing from the network, and (where
//! a headless browser is installed) that a browser opens it with charts of
//! a size.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "the browser check waits for a real process, with a bounded real-time wait"
)]

use crate::common::rehearsal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A tool that sometimes times out after doing its side effect, retried,
/// with the invariant that effects happen at most once: some runs break it.
/// The name and description carry markup, which must stay text.
const EFFECTS: &str = r#"
name = "effects"
description = "<script>alert(1)</script> double charges & retries"
seeds = 3
duration = "5s"
[topology]
agents = 2
[workload]
arrivals = { process = "poisson", rate_per_s = 2 }
[llm]
latency = { dist = "constant", value = "100ms" }
[tool]
latency = { dist = "constant", value = "10ms" }
timeout_after_effect = 0.3
timeout = "1s"
[retry]
max_attempts = 4
base_delay = "10ms"
[strategies]
retry = ["none", "fixed"]
[invariants]
tool_effects_at_most_once = true
"#;

/// Every `href`/`src` value that names a network location.
fn network_refs(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    ["src=\"http", "href=\"http", "src='http", "href='http"]
        .iter()
        .flat_map(|p| lower.match_indices(p).map(|(i, _)| lower[i..].chars().take(60).collect::<String>()))
        .collect()
}

#[test]
fn a_failing_comparison_s_page_lists_its_replay_lines() {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("effects.toml");
    std::fs::write(&sc, EFFECTS).unwrap();
    let out = dir.path().join("out");
    let (sc_s, out_s) = (sc.to_string_lossy().into_owned(), out.to_string_lossy().into_owned());
    let o = rehearsal(&["compare", &sc_s, "--out", &out_s, "--jobs", "2"]);
    assert_eq!(o.status.code(), Some(1), "invariants broke: {}{}", text(&o.stdout), text(&o.stderr));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();

    assert!(html.contains("<h1>effects</h1>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; double charges &amp; retries"));
    assert!(!html.contains("<script"), "no script, and user text stays text");
    assert!(network_refs(&html).is_empty(), "{:?}", network_refs(&html));
    assert_eq!(html.matches("<svg").count(), 3, "the three charts inline");
    // Every invariant failure, with its replay line, as report.json has it.
    let failures = json["invariant_failures"].as_array().unwrap();
    assert!(!failures.is_empty(), "{json}");
    assert!(html.contains("<section id=\"failing-runs\">"));
    for f in failures {
        let replay = f["replay"].as_str().unwrap();
        assert!(replay.starts_with(&format!("rehearsal run {sc_s} --seed ")), "{replay}");
        assert!(html.contains(&format!("<code>{replay}</code>")), "{replay}");
        assert!(text(&o.stdout).contains(&format!("  replay: {replay}")));
    }
    // The scenario's text, escaped, and its hash as report.json records it.
    assert!(
        html.contains("description = &quot;&lt;script&gt;alert(1)&lt;/script&gt; double charges &amp; retries&quot;")
    );
    let file_hash = json["scenario_file_hash"].as_str().unwrap();
    assert_eq!(file_hash, format!("{:016x}", rehearsal_sim::rng::fnv1a64(EFFECTS.as_bytes())));
    assert!(html.contains(&format!("<code>{file_hash}</code>")));
    let journal = std::fs::read_to_string(out.join("journal.jsonl")).unwrap();
    let header: serde_json::Value = serde_json::from_str(journal.lines().next().unwrap()).unwrap();
    assert_eq!(json["scenario_hash"], header["scenario_hash"], "the journal's scenario hash");
    assert!(html.contains(&format!("<code>{}</code>", json["scenario_hash"].as_str().unwrap())));
    // The command, without what never changes the reports.
    assert_eq!(json["command_line"], format!("rehearsal compare {sc_s}"));
    assert_eq!(json["tool_version"], env!("CARGO_PKG_VERSION"));
    assert!(json["git_commit"].is_string() || json["git_commit"].is_null());
}

/// The first of `chromium`, `chromium-browser`, `google-chrome` on PATH.
fn browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// What a headless browser run printed, and whether it succeeded.
struct Browsed {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs the browser headless on `page` with `args`, at most two minutes.
/// Its output goes to files in `work` (a pipe nobody reads while waiting
/// would fill and stall it).
fn headless(browser: &Path, page: &Path, args: &[&str], work: &Path) -> Browsed {
    let (out, err) = (work.join("browser.out"), work.join("browser.err"));
    let mut child = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", work.join("profile").display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("the browser starts");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} still running after two minutes", browser.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |p: &Path| text(&std::fs::read(p).unwrap_or_default());
    Browsed { ok: status.success(), stdout: read(&out), stderr: read(&err) }
}

/// Width and height of a PNG, from its header.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" {
        return None;
    }
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    Some((be(16), be(20)))
}

/// A number attribute of an element's start tag (`width="960"`).
fn attribute(tag: &str, name: &str) -> Option<f64> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag[at..].split('"').next()?.parse().ok()
}

#[test]
fn a_headless_browser_opens_the_page_with_charts_of_a_size() {
    let Some(browser) = browser() else {
        eprintln!("note: no chromium, chromium-browser or google-chrome on PATH: the browser check is skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = rehearsal(&["compare", "scenarios/quickstart.toml", "--seeds", "2", "--out", &out.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let page = out.join("index.html").canonicalize().unwrap();

    // The DOM the browser built: the page's structure and three charts,
    // each with a positive width and height.
    let dom = headless(&browser, &page, &["--dump-dom"], dir.path());
    assert!(dom.ok, "{}", dom.stderr);
    let dom = dom.stdout;
    assert!(dom.contains("<h1>quickstart</h1>") && dom.contains("id=\"provenance\""), "{dom}");
    let svgs: Vec<&str> = dom.match_indices("<svg").map(|(i, _)| &dom[i..i + dom[i..].find('>').unwrap()]).collect();
    assert_eq!(svgs.len(), 3, "{dom}");
    for tag in svgs {
        let (w, h) = (attribute(tag, "width"), attribute(tag, "height"));
        assert!(w.is_some_and(|w| w > 0.0) && h.is_some_and(|h| h > 0.0), "{tag}");
    }

    // A screenshot: the page renders.
    let shot = dir.path().join("page.png");
    let o = headless(
        &browser,
        &page,
        &["--window-size=1200,3000", &format!("--screenshot={}", shot.display())],
        dir.path(),
    );
    assert!(o.ok, "{}", o.stderr);
    let png = std::fs::read(&shot).expect("a screenshot");
    assert_eq!(png_size(&png), Some((1200, 3000)));
    assert!(png.len() > 50_000, "a page with charts, not a blank one: {} bytes", png.len());
}
