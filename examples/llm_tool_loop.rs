//! An agent with an LLM tool loop, under the built-in LLM model, compared
//! across two retry strategies on the same seeds (paired).
//!
//! The scenario is written inline: one role whose workflow triages with
//! the LLM, loops think (LLM, its prompt growing with the conversation) /
//! act (tool) until the model decides it is done, and answers. The library
//! runs each seed under both strategies and prints, per seed, the success
//! rate and mean latency of each, and their paired difference.
//!
//! `cargo run --release --example llm_tool_loop`

use rehearsal::run::{RunOptions, run_once};
use rehearsal::scenario::{self, Scenario};
use rehearsal::strategy::{Strategy, combinations};

const SCENARIO: &str = r#"
name = "llm-tool-loop"
seeds = 6
duration = "2m"

[topology]
nodes = 2

[workload]
arrivals = { process = "poisson", rate_per_s = 1 }
request_timeout = "2m"

[[roles]]
name = "agent"
count = 8
concurrency = 4
workflow = [
  { name = "triage", call = "llm" },
  { name = "tool_loop", loop = [
      { name = "think", call = "llm", context = true },
      { name = "act", call = "tool" },
    ], max = 10, done_probability = 0.35 },
  { name = "answer", call = "llm", context = true },
]

[llm]
profile = "groq_70b"
error_rate = 0.04
timeout = "30s"
cost = { input_per_1k = 0.00059, output_per_1k = 0.00079 }

[tool]
latency = { dist = "lognormal", median = "300ms", p99 = "2s" }
error_rate = 0.02
timeout = "5s"

[buggify]
enabled = false

[strategies]
retry = ["none", { kind = "exponential_full_jitter", max_attempts = 4 }]
"#;

/// Per seed: (success rate, mean latency ms) under each strategy.
fn compare(sc: &Scenario) -> Vec<(u64, Vec<(f64, f64)>)> {
    let strategies: Vec<Strategy> = combinations(&sc.strategies);
    sc.seeds
        .iter()
        .map(|&seed| {
            let per: Vec<(f64, f64)> = strategies
                .iter()
                .map(|st| {
                    let s = run_once(sc, seed, st, RunOptions::default()).expect("the run ends").summary;
                    let rate = s.requests.succeeded as f64 / s.requests.arrived.max(1) as f64;
                    (rate, s.latency_ms.mean)
                })
                .collect();
            (seed, per)
        })
        .collect()
}

fn main() {
    let sc = scenario::parse(SCENARIO, "llm_tool_loop.toml").unwrap_or_else(|e| panic!("{e}"));
    let strategies = combinations(&sc.strategies);
    let labels: Vec<String> =
        strategies.iter().map(|s| s.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")).collect();
    println!("seed  {:>38}  {:>38}  paired difference", labels[0], labels[1]);
    let rows = compare(&sc);
    let (mut d_rate, mut d_latency) = (0.0, 0.0);
    for (seed, per) in &rows {
        let (a, b) = (per[0], per[1]);
        d_rate += b.0 - a.0;
        d_latency += b.1 - a.1;
        println!(
            "{seed:>4}  {:>20.1}% {:>14.0} ms  {:>20.1}% {:>14.0} ms  {:+.1} pts, {:+.0} ms",
            a.0 * 100.0,
            a.1,
            b.0 * 100.0,
            b.1,
            (b.0 - a.0) * 100.0,
            b.1 - a.1
        );
    }
    let n = rows.len() as f64;
    println!(
        "mean paired difference over {n} seeds: {:+.1} pts success, {:+.0} ms mean latency",
        d_rate / n * 100.0,
        d_latency / n
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_lift_the_success_rate_of_a_tool_loop_on_every_seed() {
        let mut sc = scenario::parse(SCENARIO, "llm_tool_loop.toml").unwrap();
        sc.seeds.truncate(3);
        for (seed, per) in compare(&sc) {
            assert!(per[1].0 > per[0].0, "seed {seed}: {per:?}");
        }
    }
}
