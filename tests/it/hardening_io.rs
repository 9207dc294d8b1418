//! Input/output hardening (issue 8): output paths are never destroyed,
//! report sets are swapped in whole, interrupts lose nothing and `--resume`
//! gives the uninterrupted output, `--seeds` and `--jobs` are capped, user
//! text is escaped in reports.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "these tests wait for real processes and signals, with bounded real-time waits"
)]

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A small scenario: a run takes milliseconds.
const SMALL: &str = r#"
name = "small"
description = "<script>alert(1)</script> [x](javascript:alert(1))"
seeds = 2
duration = "5s"
[topology]
agents = 2
[workload]
arrivals = { process = "poisson", rate_per_s = 2 }
[llm]
latency = { dist = "constant", value = "100ms" }
[tool]
latency = { dist = "constant", value = "10ms" }
[strategies]
retry = ["none", "fixed"]
"#;

/// Runs long enough (about 0.1 s each in a debug build) to be interrupted.
const SLOW: &str = r#"
name = "slow"
seeds = 2
duration = "60s"
[topology]
agents = 4
[workload]
arrivals = { process = "poisson", rate_per_s = 50 }
[llm]
latency = { dist = "constant", value = "100ms" }
[tool]
latency = { dist = "constant", value = "10ms" }
[strategies]
retry = ["none", "fixed"]
"#;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rehearsal"))
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    bin().args(args).current_dir(dir).output().expect("binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn scenario(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.to_string_lossy().into_owned()
}

fn is_root() -> bool {
    // No libc here: the effective uid from /proc, when there is one.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false)
}

fn file_type(p: &Path) -> std::fs::FileType {
    std::fs::symlink_metadata(p).unwrap().file_type()
}

#[test]
fn trace_out_follows_a_symlink_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "s.toml", SMALL);
    let real = dir.path().join("real.txt");
    std::fs::write(&real, "keep").unwrap();
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let o = run_in(dir.path(), &["run", &sc, "--seed", "1", "--trace-out", "link.txt"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(file_type(&link).is_symlink(), "the symlink was replaced");
    let trace = std::fs::read_to_string(&real).unwrap();
    assert!(trace.lines().count() > 10 && trace != "keep", "{trace}");
}

#[test]
fn trace_out_writes_into_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "s.toml", SMALL);
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    let path = fifo.clone();
    // Opening a FIFO for reading waits for a writer; the reader ends at EOF.
    // Bounded: a writer that renamed over the FIFO would leave it waiting.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = std::fs::File::open(&path).and_then(|mut f| f.read_to_end(&mut bytes));
        let _ = tx.send(bytes);
    });
    let mut child = bin()
        .args(["run", &sc, "--seed", "1", "--trace-out", &fifo.to_string_lossy()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = wait_bounded(&mut child, Duration::from_secs(60));
    let bytes = rx.recv_timeout(Duration::from_secs(10)).expect("the FIFO's reader got an end of file");
    assert_eq!(status, Some(0));
    assert!(text(&bytes).lines().count() > 10, "the FIFO got the trace");
    use std::os::unix::fs::FileTypeExt;
    assert!(file_type(&fifo).is_fifo(), "the FIFO was replaced");
}

#[test]
fn trace_out_to_a_device_keeps_the_device() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "s.toml", SMALL);
    // Never the real /dev/null: a regression would replace it for the
    // whole machine. A node of our own, which needs root.
    if !is_root() {
        eprintln!("skipped: making a device node (mknod) needs root");
        return;
    }
    let null = dir.path().join("fakenull");
    if !Command::new("mknod").arg(&null).args(["c", "1", "3"]).status().is_ok_and(|s| s.success()) {
        eprintln!("skipped: mknod failed");
        return;
    }
    let o = run_in(dir.path(), &["run", &sc, "--seed", "1", "--trace-out", "fakenull"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(file_type(&null).is_char_device(), "the device node was replaced");
}

#[test]
fn trace_out_to_a_directory_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "s.toml", SMALL);
    std::fs::create_dir(dir.path().join("d")).unwrap();
    let o = run_in(dir.path(), &["run", &sc, "--seed", "1", "--trace-out", "d"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("d: it is a directory"), "{}", text(&o.stderr));
    assert!(dir.path().join("d").is_dir());
}

#[test]
fn seeds_and_jobs_are_capped_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "s.toml", SMALL);
    let out = dir.path().join("out").to_string_lossy().into_owned();
    let started = Instant::now();
    for seeds in ["18446744073709551615", "1000000000000", "1000001"] {
        let o = run_in(dir.path(), &["compare", &sc, "--seeds", seeds, "--out", &out]);
        assert_eq!(o.status.code(), Some(2), "--seeds {seeds}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains("at most 1,000,000"), "{}", text(&o.stderr));
    }
    // 2 strategies x 600,000 seeds: too many runs.
    let o = run_in(dir.path(), &["compare", &sc, "--seeds", "600000", "--out", &out]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("1200000 runs; at most 1,000,000 runs"), "{}", text(&o.stderr));
    let o = run_in(dir.path(), &["sweep", &sc, "--seeds", "0..=18446744073709551615", "--out", &out]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let o = run_in(dir.path(), &["sweep", &sc, "--seeds", "1..100000", "--jobs", "100000", "--out", &out]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--jobs 100000: at most 1,024"), "{}", text(&o.stderr));
    assert!(!text(&o.stderr).contains("panicked"));
    assert!(started.elapsed() < Duration::from_secs(30), "caps are checked before anything runs");
    // The cap itself is fine: threads are never more than runs.
    let o = run_in(dir.path(), &["sweep", &sc, "--seeds", "1..4", "--jobs", "1024", "--out", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("3 passed, 0 failed"), "{}", text(&o.stdout));
}

#[test]
fn an_unusable_out_dir_is_bad_input_before_any_run() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "s.toml", SMALL);
    std::fs::write(dir.path().join("file"), "x").unwrap();
    for out in ["file/sub", "file"] {
        let o = run_in(dir.path(), &["compare", &sc, "--seeds", "1", "--out", out]);
        assert_eq!(o.status.code(), Some(2), "{out}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(out), "{}", text(&o.stderr));
    }
    std::fs::create_dir(dir.path().join("mine")).unwrap();
    std::fs::write(dir.path().join("mine").join("notes.txt"), "mine").unwrap();
    let o = run_in(dir.path(), &["compare", &sc, "--seeds", "1", "--out", "mine"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("notes.txt"), "{}", text(&o.stderr));
    assert_eq!(std::fs::read_to_string(dir.path().join("mine").join("notes.txt")).unwrap(), "mine");
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// What a killed run leaves (a staging folder, a finished set whose swap
/// was cut short, a temporary of the old single-file writer) is finished or
/// removed by the next run.
#[test]
fn a_killed_runs_leftovers_are_recovered_and_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "s.toml", SMALL);
    let o = run_in(dir.path(), &["compare", &sc, "--seeds", "2", "--out", "out"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let report = std::fs::read(dir.path().join("out/report.json")).unwrap();
    // A kill between the two renames: the set is in `.out.rehearsal-new`,
    // `out` is aside as `.out.rehearsal-old`.
    std::fs::rename(dir.path().join("out"), dir.path().join(".out.rehearsal-new")).unwrap();
    std::fs::create_dir(dir.path().join(".out.rehearsal-old")).unwrap();
    std::fs::write(dir.path().join(".out.rehearsal-old/report.json"), "older").unwrap();
    std::fs::create_dir(dir.path().join(".out.rehearsal-tmp")).unwrap();
    std::fs::write(dir.path().join(".out.rehearsal-tmp/report.md"), "partial").unwrap();
    // A compare whose runs all fail writes no set, but still recovers.
    let failing = scenario(dir.path(), "f.toml", &format!("{SMALL}\n[limits]\nmax_events = 10\n"));
    let o = run_in(dir.path(), &["compare", &failing, "--seeds", "1", "--out", "out"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert_eq!(names(dir.path()), vec!["f.toml", "out", "s.toml"]);
    assert_eq!(std::fs::read(dir.path().join("out/report.json")).unwrap(), report, "the finished set was swapped in");
    // A temporary of a writer that no longer runs (pid above any pid_max).
    std::fs::write(dir.path().join("out/.report.json.tmp.4294967.0"), "partial").unwrap();
    let o = run_in(dir.path(), &["compare", &sc, "--seeds", "2", "--out", "out"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(names(&dir.path().join("out")), {
        let mut v = vec![
            "index.html",
            "journal.jsonl",
            "latency.svg",
            "report.json",
            "report.md",
            "success.svg",
            "throughput.svg",
        ];
        v.sort();
        v
    });
    assert_eq!(names(dir.path()), vec!["f.toml", "out", "s.toml"]);
}

#[test]
fn the_description_is_escaped_in_report_md_and_index_html() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "s.toml", SMALL);
    let o = run_in(dir.path(), &["compare", &sc, "--seeds", "2", "--out", "out"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let md = std::fs::read_to_string(dir.path().join("out/report.md")).unwrap();
    assert!(!md.contains("<script>") && !md.contains("[x](javascript:"), "{md}");
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt; \\[x\\](javascript:alert(1))"), "{md}");
    for file in ["latency.svg", "throughput.svg", "success.svg", "index.html"] {
        assert!(!std::fs::read_to_string(dir.path().join("out").join(file)).unwrap().contains("<script>"));
    }
    let html = std::fs::read_to_string(dir.path().join("out/index.html")).unwrap();
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:alert(1))"), "{html}");
}

/// Waits for `child` at most `limit`; kills it past that (and fails).
fn wait_bounded(child: &mut Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts `args` in `cwd`, waits until `journal` holds `records` finished
/// runs, sends `signal`, and returns (exit code, stderr).
fn interrupt_after(cwd: &Path, args: &[&str], journal: &Path, records: usize, signal: &str) -> (Option<i32>, String) {
    let mut child = bin().args(args).current_dir(cwd).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    loop {
        let lines = std::fs::read_to_string(journal).map(|t| t.lines().count()).unwrap_or(0);
        if lines > records || child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no progress in the journal");
        std::thread::sleep(Duration::from_millis(5));
    }
    let sent = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let code = wait_bounded(&mut child, Duration::from_secs(60));
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (code, err)
}

#[test]
fn sweep_interrupted_then_resumed_prints_what_an_uninterrupted_sweep_prints() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "slow.toml", SLOW);
    let (full_dir, part_dir) = (dir.path().join("full"), dir.path().join("part"));
    std::fs::create_dir_all(&full_dir).unwrap();
    std::fs::create_dir_all(&part_dir).unwrap();
    let args = ["sweep", &sc, "--seeds", "1..13", "--jobs", "1"];
    let full = run_in(&full_dir, &args);
    assert_eq!(full.status.code(), Some(0), "{}", text(&full.stderr));

    let journal = part_dir.join("reports/out/slow.sweep/journal.jsonl");
    let (code, err) = interrupt_after(&part_dir, &args, &journal, 2, "-INT");
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("interrupted by SIGINT"), "{err}");
    assert!(err.contains(&format!("continue with: rehearsal sweep {sc} --seeds 1..13 --jobs 1 --resume")), "{err}");
    let kept = std::fs::read_to_string(&journal).unwrap().lines().count() - 1;
    assert!((2..12).contains(&kept), "{kept} runs journaled");

    // A journal of other seeds is refused, naming what differs.
    let other = run_in(&part_dir, &["sweep", &sc, "--seeds", "1..14", "--jobs", "1", "--resume"]);
    assert_eq!(other.status.code(), Some(2), "{}", text(&other.stderr));
    assert!(text(&other.stderr).contains("seeds (journal: 1..=12, now: 1..=13)"), "{}", text(&other.stderr));

    let resumed = run_in(&part_dir, &[&args[..], &["--resume"]].concat());
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed.stderr));
    assert_eq!(text(&resumed.stdout), text(&full.stdout));
    assert!(text(&resumed.stderr).contains(&format!("resuming: {kept} of 12 runs already done")));
}

#[test]
fn compare_terminated_then_resumed_writes_the_same_reports() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "slow.toml", SLOW);
    let (full_dir, part_dir) = (dir.path().join("full"), dir.path().join("part"));
    std::fs::create_dir_all(&full_dir).unwrap();
    std::fs::create_dir_all(&part_dir).unwrap();
    let args = ["compare", &sc, "--seeds", "6", "--jobs", "2", "--out", "out"];
    let full = run_in(&full_dir, &args);
    assert_eq!(full.status.code(), Some(0), "{}", text(&full.stderr));

    let (code, err) = interrupt_after(&part_dir, &args, &part_dir.join("out/journal.jsonl"), 2, "-TERM");
    assert_eq!(code, Some(143), "{err}");
    assert!(err.contains("interrupted by SIGTERM") && err.contains("--resume"), "{err}");
    assert!(!part_dir.join("out/report.json").exists(), "no report from an interrupted compare");
    assert_eq!(names(&part_dir), vec!["out"], "no staging folder left");

    let resumed = run_in(&part_dir, &[&args[..], &["--resume"]].concat());
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed.stderr));
    assert_eq!(text(&resumed.stdout), text(&full.stdout));
    for file in ["report.json", "report.md", "latency.svg", "throughput.svg", "success.svg", "index.html"] {
        let a = std::fs::read(full_dir.join("out").join(file)).unwrap();
        let b = std::fs::read(part_dir.join("out").join(file)).unwrap();
        assert!(a == b, "{file} differs after resuming");
    }
    // Resuming a finished compare runs nothing and gives the same again.
    let again = run_in(&part_dir, &[&args[..], &["--resume"]].concat());
    assert_eq!(text(&again.stdout), text(&full.stdout));
    assert!(text(&again.stderr).contains("resuming: 12 of 12 runs already done"), "{}", text(&again.stderr));
}
