//! `peers`: measure the same workloads on several simulators and print throughput
//! and ratios to rehearsal. See benches/README.md.

mod common;
mod floor;
#[cfg(madsim)]
mod madsim_channels;
#[cfg(madsim)]
mod madsim_net;
#[cfg(feature = "rehearsal")]
mod rehearsal;
mod turmoil;

use common::{Done, RingSpec, TimerSpec};
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    Ring1k,
    Ring100k,
    Timers,
}

impl Workload {
    const ALL: [Workload; 3] = [Workload::Ring1k, Workload::Ring100k, Workload::Timers];
    fn name(self) -> &'static str {
        match self {
            Workload::Ring1k => "ring-1k",
            Workload::Ring100k => "ring-100k",
            Workload::Timers => "timers",
        }
    }
    fn unit(self) -> &'static str {
        match self {
            Workload::Timers => "timer events/s",
            _ => "hops/s",
        }
    }
    fn describe(self) -> &'static str {
        match self {
            Workload::Ring1k => "W1 ring: 1,000 actors, 100 tokens, 1,000,000 hops, 1 ms/hop",
            Workload::Ring100k => "W1 ring: 100,000 actors, 100 tokens, 1,000,000 hops, 1 ms/hop",
            Workload::Timers => "W2 timers: 100,000 actors x 10 timers all set at start, uniform 1..=1000 ms",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Impl {
    Floor,
    Madsim,
    MadsimNet,
    Turmoil,
    Rehearsal,
}

impl Impl {
    const ALL: [Impl; 5] = [Impl::Rehearsal, Impl::Floor, Impl::Madsim, Impl::MadsimNet, Impl::Turmoil];
    fn name(self) -> &'static str {
        match self {
            Impl::Floor => "floor",
            Impl::Madsim => "madsim",
            Impl::MadsimNet => "madsim-net",
            Impl::Turmoil => "turmoil",
            Impl::Rehearsal => "rehearsal",
        }
    }
}

fn parse_list<T: Copy>(s: &str, all: &[T], name: fn(T) -> &'static str, what: &str) -> Vec<T> {
    if s == "all" {
        return all.to_vec();
    }
    s.split(',')
        .map(|x| *all.iter().find(|v| name(**v) == x.trim()).unwrap_or_else(|| usage(&format!("unknown {what} `{x}`"))))
        .collect()
}

fn usage(err: &str) -> ! {
    eprintln!("error: {err}");
    eprintln!(
        "usage: peers [--runs N] [--workloads all|ring-1k,ring-100k,timers] \
         [--impls all|rehearsal,floor,madsim,madsim-net,turmoil] [--seed S] \
         [--madsim-net-max-nodes N] [--in-process]"
    );
    std::process::exit(2)
}

struct Args {
    runs: usize,
    workloads: Vec<Workload>,
    impls: Vec<Impl>,
    seed: u64,
    madsim_net_max_nodes: u32,
    /// Run every (implementation, workload) pair in this process instead of a fresh child.
    in_process: bool,
    /// Internal: this process is the child measuring one pair.
    child: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        runs: 5,
        workloads: Workload::ALL.to_vec(),
        impls: Impl::ALL.to_vec(),
        seed: 42,
        madsim_net_max_nodes: 1000,
        in_process: false,
        child: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            usage("help requested");
        }
        if flag == "--in-process" {
            a.in_process = true;
            continue;
        }
        if flag == "--child" {
            a.child = true;
            continue;
        }
        let val = it.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--runs" => a.runs = val.parse().unwrap_or_else(|_| usage("bad --runs")),
            "--seed" => a.seed = val.parse().unwrap_or_else(|_| usage("bad --seed")),
            "--madsim-net-max-nodes" => {
                a.madsim_net_max_nodes = val.parse().unwrap_or_else(|_| usage("bad --madsim-net-max-nodes"))
            }
            "--workloads" => a.workloads = parse_list(&val, &Workload::ALL, Workload::name, "workload"),
            "--impls" => a.impls = parse_list(&val, &Impl::ALL, Impl::name, "implementation"),
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    if a.runs == 0 {
        usage("--runs must be at least 1");
    }
    a
}

fn ring_spec(w: Workload, seed: u64) -> RingSpec {
    RingSpec {
        actors: if w == Workload::Ring1k { 1_000 } else { 100_000 },
        tokens: 100,
        hops: 1_000_000,
        latency_ns: 1_000_000,
        seed,
    }
}

fn timer_spec(seed: u64) -> TimerSpec {
    TimerSpec { actors: 100_000, timers_per_actor: 10, min_ms: 1, max_ms: 1000, seed }
}

/// Runs one implementation once; `None` if it is not available in this build.
fn run_once(i: Impl, w: Workload, a: &Args) -> Option<Done> {
    match w {
        Workload::Ring1k | Workload::Ring100k => {
            let s = ring_spec(w, a.seed);
            match i {
                Impl::Floor => Some(floor::ring(&s)),
                #[cfg(madsim)]
                Impl::Madsim => Some(madsim_channels::ring(&s)),
                #[cfg(madsim)]
                Impl::MadsimNet => Some(madsim_net::ring(&s, a.madsim_net_max_nodes)),
                Impl::Turmoil => Some(turmoil::ring(&s)),
                #[cfg(feature = "rehearsal")]
                Impl::Rehearsal => Some(rehearsal::ring(&s)),
                #[allow(unreachable_patterns)]
                _ => None,
            }
        }
        Workload::Timers => {
            let s = timer_spec(a.seed);
            match i {
                Impl::Floor => Some(floor::timers(&s)),
                #[cfg(madsim)]
                Impl::Madsim => Some(madsim_channels::timers(&s)),
                Impl::MadsimNet => None, // W2 has no network component
                Impl::Turmoil => Some(turmoil::timers(&s)),
                #[cfg(feature = "rehearsal")]
                Impl::Rehearsal => Some(rehearsal::timers(&s)),
                #[allow(unreachable_patterns)]
                _ => None,
            }
        }
    }
}

fn expected_work(w: Workload, seed: u64) -> u64 {
    match w {
        Workload::Timers => timer_spec(seed).total(),
        _ => ring_spec(w, seed).hops,
    }
}

fn unavailable_reason(i: Impl, w: Workload) -> &'static str {
    match i {
        Impl::MadsimNet if w == Workload::Timers => "n/a (W2 has no network part)",
        Impl::Madsim | Impl::MadsimNet => "not built (needs RUSTFLAGS=\"--cfg madsim\")",
        Impl::Rehearsal => "not built (needs --features rehearsal)",
        _ => "n/a",
    }
}

/// Peak resident set size of this process, in KiB, from /proc/self/status.
fn vm_hwm_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets VmHWM to the current RSS (Linux >= 4.0), so each measurement gets its own peak.
fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = xs.len();
    if n % 2 == 1 { xs[n / 2] } else { (xs[n / 2 - 1] + xs[n / 2]) / 2.0 }
}

fn fmt_rate(r: f64) -> String {
    if r >= 1e6 { format!("{:.2} M", r / 1e6) } else { format!("{:.1} k", r / 1e3) }
}

struct Row {
    imp: Impl,
    workload: Workload,
    median_rate: Option<f64>,
    peak_mib: Option<f64>,
    why: &'static str,
}

fn main() {
    let a = parse_args();
    if a.child {
        // Measure exactly one pair and report it to the parent on a tagged line.
        let row = measure(a.impls[0], a.workloads[0], &a);
        println!(
            "@@RESULT {} {}",
            row.median_rate.map_or("none".into(), |r| r.to_string()),
            row.peak_mib.map_or("none".into(), |p| p.to_string())
        );
        return;
    }
    println!(
        "rehearsal peers benchmark: {} run(s) each, seed {}, median wall-clock throughput{}",
        a.runs,
        a.seed,
        if a.in_process { " (all in one process)" } else { " (a fresh process per implementation and workload)" }
    );
    let mut rows = Vec::new();
    for &w in &a.workloads {
        println!("\n== {} ({})", w.name(), w.describe());
        for &i in &a.impls {
            let row = if a.in_process { measure(i, w, &a) } else { measure_in_child(i, w, &a) };
            rows.push(row);
        }
    }
    summary(&rows, &a);
}

/// Re-runs this binary with `--child` for one pair, so that peak RSS (VmHWM) is that
/// pair's own and allocator state left by another simulator does not interfere.
fn measure_in_child(i: Impl, w: Workload, a: &Args) -> Row {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args(["--child", "--impls", i.name(), "--workloads", w.name()])
        .args(["--runs", &a.runs.to_string(), "--seed", &a.seed.to_string()])
        .args(["--madsim-net-max-nodes", &a.madsim_net_max_nodes.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let mut row = Row { imp: i, workload: w, median_rate: None, peak_mib: None, why: "failed (see above)" };
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.expect("read child output");
        if let Some(rest) = line.strip_prefix("@@RESULT ") {
            let mut f = rest.split(' ');
            row.median_rate = f.next().and_then(|x| x.parse().ok());
            row.peak_mib = f.next().and_then(|x| x.parse().ok());
            row.why = if row.median_rate.is_some() { "" } else { "n/a" };
        } else {
            println!("{line}");
        }
    }
    let status = child.wait().expect("wait child");
    if !status.success() {
        println!("  {:<11} FAILED ({status})", i.name());
        row.median_rate = None;
        row.why = "failed";
    }
    row
}

fn measure(i: Impl, w: Workload, a: &Args) -> Row {
    let expected = expected_work(w, a.seed);
    let can_reset = reset_hwm();
    let base_kib = vm_hwm_kib();
    let mut rates = Vec::with_capacity(a.runs);
    let mut last: Option<Done> = None;
    for _ in 0..a.runs {
        let t0 = Instant::now();
        let Some(done) = run_once(i, w, a) else {
            let why = unavailable_reason(i, w);
            println!("  {:<11} {why}", i.name());
            return Row { imp: i, workload: w, median_rate: None, peak_mib: None, why };
        };
        let secs = t0.elapsed().as_secs_f64();
        assert_eq!(
            done.work,
            expected,
            "{} on {} did {} units of work, expected {}",
            i.name(),
            w.name(),
            done.work,
            expected
        );
        rates.push(done.work as f64 / secs);
        last = Some(done);
    }
    let peak = vm_hwm_kib().map(|k| k as f64 / 1024.0);
    let med = median(&mut rates.clone());
    let min = rates.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = rates.iter().cloned().fold(0.0, f64::max);
    let last = last.unwrap();
    println!(
        "  {:<11} {:>10} {}  (min {}, max {}; sim time {:.3} s; peak RSS {}{})",
        i.name(),
        fmt_rate(med),
        w.unit(),
        fmt_rate(min),
        fmt_rate(max),
        last.sim_time_ns as f64 / 1e9,
        peak.map_or("?".into(), |p| format!("{p:.0} MiB")),
        match (can_reset, base_kib) {
            (true, Some(b)) => format!(", {:.0} MiB before", b as f64 / 1024.0),
            _ => " (process-wide peak)".into(),
        },
    );
    if let Some(n) = &last.note {
        println!("  {:<11} note: {n}", "");
    }
    Row { imp: i, workload: w, median_rate: Some(med), peak_mib: peak, why: "" }
}

fn summary(rows: &[Row], a: &Args) {
    println!("\n== summary: median throughput (M/s) and ratio to rehearsal");
    let have_rehearsal = rows.iter().any(|r| r.imp == Impl::Rehearsal && r.median_rate.is_some());
    let base_impl = if have_rehearsal { Impl::Rehearsal } else { Impl::Floor };
    if !have_rehearsal {
        println!("   (rehearsal not measured: ratios are to floor instead)");
    }
    print!("  {:<11}", "impl");
    for w in &a.workloads {
        print!(" | {:>10} {:>16}", w.name(), format!("x/{}", base_impl.name()));
    }
    println!();
    for &i in &a.impls {
        print!("  {:<11}", i.name());
        for &w in &a.workloads {
            let r = rows.iter().find(|r| r.imp == i && r.workload == w);
            let base = rows.iter().find(|r| r.imp == base_impl && r.workload == w).and_then(|r| r.median_rate);
            match r.and_then(|r| r.median_rate) {
                Some(m) => {
                    let ratio = base.map_or("-".into(), |b| format!("{:.2}", m / b));
                    print!(" | {:>10.3} {:>16}", m / 1e6, ratio);
                }
                None => print!(" | {:>10} {:>16}", "-", "-"),
            }
        }
        println!();
    }
    // Ratios phrased both ways, as asked: floor/rehearsal and rehearsal/<peer>.
    println!();
    for &w in &a.workloads {
        let get = |i: Impl| rows.iter().find(|r| r.imp == i && r.workload == w).and_then(|r| r.median_rate);
        let Some(reh) = get(Impl::Rehearsal) else { continue };
        let mut parts = Vec::new();
        if let Some(f) = get(Impl::Floor) {
            parts.push(format!("floor/rehearsal {:.2}", f / reh));
        }
        for p in [Impl::Madsim, Impl::MadsimNet, Impl::Turmoil] {
            if let Some(x) = get(p) {
                parts.push(format!("rehearsal/{} {:.2}", p.name(), reh / x));
            }
        }
        println!("  {:<10} {}", w.name(), parts.join(", "));
    }
    println!("\n  peak RSS (MiB, VmHWM over all runs of that pair):");
    for &i in &a.impls {
        print!("  {:<11}", i.name());
        for &w in &a.workloads {
            let r = rows.iter().find(|r| r.imp == i && r.workload == w);
            match r {
                Some(Row { peak_mib: Some(p), median_rate: Some(_), .. }) => print!(" | {:>10} {:>8.0}", w.name(), p),
                Some(r) => print!(" | {:>10} {:>8}", w.name(), if r.why.is_empty() { "-" } else { "n/a" }),
                None => {}
            }
        }
        println!();
    }
}
