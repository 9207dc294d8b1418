//! Bad input gets a clear error, never a panic (issue 8, the scenario's
//! part): bounds the loader checks, files read once relative to the
//! scenario, and mutated copies of every bundled scenario fed to the loader,
//! a short run and the binary.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use rehearsal::run::{RunOptions, run_once};
use rehearsal::scenario::{self, Scenario};
use rehearsal::strategy::{combinations, default_strategy};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bundled() -> Vec<(PathBuf, String)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    paths.into_iter().map(|p| (p.clone(), std::fs::read_to_string(&p).expect("readable"))).collect()
}

/// The binary, run from `dir`, killed after `limit`. (The wall clock bounds
/// a child process here, so that a hang fails the test instead of the
/// suite; no simulation reads it.)
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
fn rehearsal_in(dir: &Path, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rehearsal"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let start = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > limit {
            child.kill().ok();
            let out = child.wait_with_output().expect("output");
            panic!("{args:?} did not finish within {limit:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().expect("output")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// quickstart, with `from` replaced by `to` (which must occur), in a file
/// of a fresh directory.
fn quickstart_with(from: &str, to: &str) -> (tempfile::TempDir, PathBuf) {
    let text = std::fs::read_to_string(root().join("scenarios/quickstart.toml")).unwrap();
    assert!(text.contains(from), "{from}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    (dir, path)
}

// ---------------------------------------------------------------------------
// The findings, end to end.

/// Finding 2: node ids are 16 bits; node 65536 used to be node 0.
#[test]
fn a_node_past_16_bits_is_bad_input() {
    let (dir, path) = quickstart_with("nodes = 4", "nodes = 65537");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\n[[faults.schedule]]\nat = \"1s\"\ncrash_node = 65536\n");
    std::fs::write(&path, text).unwrap();
    let o = rehearsal_in(dir.path(), &["run", "s.toml", "--seed", "1"], Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("s.toml:") && stderr(&o).contains("topology.nodes"), "{}", stderr(&o));
}

/// Finding 3: the default `max_sim_time` covers `duration` +
/// `request_timeout`, so a long `request_timeout` runs with the defaults.
#[test]
fn a_long_request_timeout_runs_with_default_limits() {
    let (_dir, path) = quickstart_with("request_timeout = \"60s\"", "request_timeout = \"15m\"");
    let sc = scenario::load(&path).unwrap();
    let strategy = default_strategy(&sc.strategies);
    let out = run_once(&sc, 1, &strategy, RunOptions::default());
    let out = out.unwrap_or_else(|e| panic!("{e}: {:?}", std::error::Error::source(&e)));
    assert!(out.summary.requests.arrived > 0);
}

/// Finding 7: `tokens_csv` is read when the scenario loads, relative to the
/// scenario file; a run does no I/O (it runs after the file is gone).
#[test]
fn tokens_csv_is_read_once_relative_to_the_scenario() {
    let (dir, path) = quickstart_with("timeout = \"10s\"", "timeout = \"10s\"\ntokens_csv = \"data/tokens.csv\"");
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let csv = dir.path().join("data/tokens.csv");
    std::fs::write(&csv, "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,7,3\n").unwrap();
    // The binary, run from somewhere else, finds it.
    let o = rehearsal_in(&root(), &["run", path.to_str().unwrap(), "--seed", "1", "--json"], Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let sc = scenario::load(&path).unwrap();
    std::fs::remove_file(&csv).unwrap();
    let out =
        run_once(&sc, 1, &default_strategy(&sc.strategies), RunOptions::default()).expect("runs without the file");
    // Every call's tokens come from the trace's one row: 7 in.
    let llm = &out.summary.services["llm:llm"];
    assert!(llm.input_tokens > 0 && llm.input_tokens % 7 == 0, "{llm:?}");
}

/// Finding 7: a missing `tokens_csv` is bad input (exit 2, once), located
/// at the key, not a run failure on every seed (exit 1).
#[test]
fn a_missing_tokens_csv_exits_2_with_its_location() {
    let (dir, _path) = quickstart_with("timeout = \"10s\"", "timeout = \"10s\"\ntokens_csv = \"no-such-file.csv\"");
    for command in [&["run", "s.toml", "--seed", "1"][..], &["sweep", "s.toml", "--seeds", "1..3"]] {
        let o = rehearsal_in(dir.path(), command, Duration::from_secs(60));
        assert_eq!(o.status.code(), Some(2), "{command:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("s.toml:") && err.contains("`llm.tokens_csv`"), "{err}");
        assert!(err.contains("no-such-file.csv") && err.contains("scenario file's directory"), "{err}");
        assert_eq!(err.matches("tokens_csv").count(), 2, "reported once: {err}");
    }
}

/// Finding 4 (input files): a scenario path that never ends is refused
/// after 1 MiB, quickly and in little memory.
#[test]
fn an_endless_scenario_file_is_refused() {
    let o = rehearsal_in(&root(), &["run", "/dev/zero", "--seed", "1"], Duration::from_secs(20));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 MiB"), "{}", stderr(&o));
}

/// Finding 11: a 5 MB line gives a short error.
#[test]
fn a_huge_line_gives_a_short_error() {
    let (dir, path) = quickstart_with("seeds = 20", &format!("seeds = 20 {}", "z".repeat(5_000_000)));
    let o = rehearsal_in(dir.path(), &["run", path.to_str().unwrap()], Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stderr.len() < 2_000, "{} bytes on stderr", o.stderr.len());
}

// ---------------------------------------------------------------------------
// Mutated copies of every bundled scenario.

/// SplitMix64: a small deterministic generator for the mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Numbers put in place of numbers: extremes of every type the file uses.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "1e308",
    "-1e308",
    "1e-308",
    "18446744073709551616",
    "18446744073709551615",
    "9223372036854775807",
    "4294967296",
    "4294967295",
    "65536",
    "65537",
    "10000001",
    "nan",
    "inf",
    "-inf",
    "-0.0",
    "0.5",
    "1.0000001",
    "\"NaN\"",
    "\"-1\"",
    "\"\"",
];

/// Strings put in place of strings.
const STRINGS: &[&str] = &[
    "\"\"",
    "\"x\"",
    "\"llm\"",
    "\"tool\"",
    "\"none\"",
    "\"fanout\"",
    "\"pipeline\"",
    "\"pool\"",
    "\"constant\"",
    "\"lognormal\"",
    "\"0s\"",
    "\"-1s\"",
    "\"1ns\"",
    "\"18446744073709551615ns\"",
    "\"5124095h\"",
    "\"1e308s\"",
    "\"nan\"",
    "\"NaN\"",
    "\"../../etc/passwd\"",
    "\"/dev/zero\"",
    "\"é\\u0000\\t\"",
    "\"llm:missing\"",
];

/// Byte ranges `(start, end)` in a text.
type Ranges = Vec<(usize, usize)>;

/// Byte ranges of the numbers and of the double-quoted strings of `text`,
/// outside comments.
fn tokens(text: &str) -> (Ranges, Ranges) {
    let (mut numbers, mut strings) = (Vec::new(), Vec::new());
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'#' => break,
                b'"' => {
                    let end = line[i + 1..].find('"').map_or(b.len(), |j| i + 1 + j + 1);
                    strings.push((offset + i, offset + end));
                    i = end;
                }
                c if c.is_ascii_digit() || (c == b'-' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) => {
                    let prev_ok = i == 0 || b" =[,{".contains(&b[i - 1]);
                    let mut j = i + 1;
                    while j < b.len() && (b[j].is_ascii_alphanumeric() || b"._+-".contains(&b[j])) {
                        j += 1;
                    }
                    if prev_ok {
                        numbers.push((offset + i, offset + j));
                    }
                    i = j;
                }
                c if c.is_ascii_alphabetic() => {
                    // A key or a bare word: skip it whole (keys hold digits).
                    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                        i += 1;
                    }
                }
                _ => i += 1,
            }
        }
        offset += line.len();
    }
    (numbers, strings)
}

/// `text` with one to three mutations: a number or a string replaced, a
/// line deleted or duplicated.
fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut s = text.to_owned();
    for _ in 0..1 + rng.below(3) {
        let (numbers, strings) = tokens(&s);
        match rng.below(4) {
            0 if !numbers.is_empty() => {
                let (a, b) = numbers[rng.below(numbers.len())];
                s.replace_range(a..b, rng.pick(NUMBERS));
            }
            1 if !strings.is_empty() => {
                let (a, b) = strings[rng.below(strings.len())];
                let long = format!("\"{}\"", "w".repeat(300));
                let new = if rng.below(10) == 0 { long.as_str() } else { rng.pick(STRINGS) };
                s.replace_range(a..b, new);
            }
            op => {
                let mut lines: Vec<&str> = s.split_inclusive('\n').collect();
                if lines.is_empty() {
                    continue;
                }
                let i = rng.below(lines.len());
                if op == 2 {
                    lines.remove(i);
                } else {
                    lines.insert(i, lines[i]);
                }
                s = lines.concat();
            }
        }
    }
    s
}

/// A loaded scenario cut down to a short run: a few thousand events, a few
/// seconds of arrivals. `None` when the fleet is too big to spawn quickly.
fn short(mut sc: Scenario) -> Option<Scenario> {
    if sc.topology.agents > 2_000 || sc.topology.nodes > 4_096 || sc.workload.fanout > 100 {
        return None;
    }
    sc.limits.max_events = sc.limits.max_events.min(5_000);
    sc.limits.max_queued_events = sc.limits.max_queued_events.min(50_000);
    sc.duration_ns = sc.duration_ns.min(5_000_000_000);
    sc.workload.request_timeout_ns = sc.workload.request_timeout_ns.min(30_000_000_000);
    sc.workload.subtask_timeout_ns = sc.workload.subtask_timeout_ns.min(sc.workload.request_timeout_ns);
    Some(sc)
}

/// Loads `text` (a mutation of `name`) and, when it loads, runs it short
/// with one strategy: any panic fails the test with the text that caused it.
/// Returns whether it loaded.
fn load_and_run(text: &str, name: &str, rng: &mut Rng) -> bool {
    let dir = root().join("scenarios");
    let loaded = catch_unwind(|| scenario::parse_in(text, name, &dir).map_err(Box::new));
    let sc = match loaded {
        Ok(Ok(sc)) => sc,
        Ok(Err(e)) => {
            assert_eq!(e.exit_code(), 2);
            let shown = e.to_string();
            assert!(shown.len() < 4_000, "{} bytes of error for:\n{text}", shown.len());
            return false;
        }
        Err(_) => panic!("the loader panicked on this mutation of {name}:\n{text}"),
    };
    let Some(sc) = short(sc) else { return true };
    let all = combinations(&sc.strategies);
    let strategy = all[rng.below(all.len())].clone();
    let seed = sc.seeds[rng.below(sc.seeds.len())];
    let ran = catch_unwind(AssertUnwindSafe(|| run_once(&sc, seed, &strategy, RunOptions::default())));
    if ran.is_err() {
        panic!("a short run panicked (seed {seed}, {strategy:?}) on this mutation of {name}:\n{text}");
    }
    true
}

/// A few thousand mutated copies of every bundled scenario: the loader
/// never panics and its errors stay short; what loads runs (cut short)
/// without a panic.
#[test]
fn mutated_bundled_scenarios_never_panic() {
    const PER_SCENARIO: usize = 450;
    let mut rng = Rng(0x5EED_0008);
    let (mut total, mut loaded) = (0, 0);
    for (path, text) in bundled() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for _ in 0..PER_SCENARIO {
            let m = mutate(&text, &mut rng);
            total += 1;
            loaded += usize::from(load_and_run(&m, &name, &mut rng));
        }
    }
    eprintln!("{loaded} of {total} mutations loaded");
    // The mix exercises both sides: some mutations load and run, most not.
    assert!(loaded * 20 > total && loaded < total, "{loaded} of {total} loaded");
}

/// A smaller sample through the binary: exit code 0, 1 or 2, never a panic
/// or an abort; 2 exactly when the loader refuses the file.
#[test]
fn mutated_bundled_scenarios_exit_0_1_or_2() {
    const PER_SCENARIO: usize = 6;
    let mut rng = Rng(0xB1_0008);
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in bundled() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut done = 0;
        let mut tries = 0;
        while done < PER_SCENARIO && tries < 100 * PER_SCENARIO {
            tries += 1;
            let m = mutate(&text, &mut rng);
            let expect_bad = match scenario::parse_in(&m, &name, &root().join("scenarios")) {
                Err(_) => true,
                // Only runs the binary can finish quickly (it runs in full).
                Ok(sc) => {
                    let cheap = sc.topology.agents <= 2_000
                        && sc.topology.nodes <= 4_096
                        && sc.workload.arrivals.mean_rate_per_s(sc.duration_ns).is_some_and(|r| r <= 100.0)
                        && sc.duration_ns <= 600_000_000_000
                        && sc.workload.request_timeout_ns <= 3_600_000_000_000
                        && sc.workload.fanout <= 100;
                    if !cheap {
                        continue;
                    }
                    false
                }
            };
            done += 1;
            let file = dir.path().join(&name);
            std::fs::write(&file, &m).unwrap();
            let o = rehearsal_in(&root(), &["run", file.to_str().unwrap(), "--seed", "1"], Duration::from_secs(60));
            let err = stderr(&o);
            assert!(!err.contains("panicked"), "panic on this mutation of {name}:\n{m}\n{err}");
            let code = o.status.code();
            assert!(matches!(code, Some(0..=2)), "exit {code:?} on this mutation of {name}:\n{m}\n{err}");
            assert_eq!(code == Some(2), expect_bad, "exit {code:?} on this mutation of {name}:\n{m}\n{err}");
        }
    }
}
