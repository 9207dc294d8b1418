//! The fitted LLM profiles against the real data they were fitted to.
//!
//! Reads `<repo root>/../shared/data` (see that folder's README). If it is
//! absent (a clone without the data beside it), the test prints
//! "skipped: ../shared/data not found" and passes.
//!
//! For each profile: the median and p90 of TTFT and TPOT, sampled from the
//! model (large n, fixed seed), are within 15% of the data's; the token
//! counts likewise against the Azure conv trace.

use std::path::{Path, PathBuf};

use rehearsal_sim::fit::Percentiles;
use rehearsal_sim::llm::{LlmModel, TokenSource, load_token_trace};
use rehearsal_sim::rng::stream;

const TOLERANCE: f64 = 0.15;
const N: usize = 200_000;

fn data_dir() -> Option<PathBuf> {
    // sim/ -> repo root -> its parent, where shared/ lives.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    dir.is_dir().then_some(dir)
}

/// TTFT and TPOT (seconds) of the successful requests in one LLMPerf file.
fn llmperf(path: &Path) -> (Vec<f64>, Vec<f64>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let (mut ttft, mut tpot) = (Vec::new(), Vec::new());
    for r in rows.iter().filter(|r| r["error_code"].is_null()) {
        let t = r["ttft_s"].as_f64().unwrap();
        let e2e = r["end_to_end_latency_s"].as_f64().unwrap();
        let out = r["number_output_tokens"].as_f64().unwrap();
        ttft.push(t);
        if out > 1.0 {
            tpot.push((e2e - t) / (out - 1.0));
        }
    }
    (ttft, tpot)
}

/// The data files behind a profile: `<name>.json`, or every 70B file for
/// the pooled `llama-2-70b`.
fn files_of(dir: &Path, profile: &str) -> Vec<PathBuf> {
    let dir = dir.join("llmperf-leaderboard-2023");
    if profile == "llama-2-70b" {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().ends_with("_70b.json"))
            .collect();
        v.sort();
        v
    } else {
        vec![dir.join(format!("{profile}.json"))]
    }
}

fn row(what: &str, model: &Percentiles, data: &Percentiles) -> f64 {
    let diff = model.max_rel_diff_p50_p90(data);
    println!(
        "{what:32} model p50 {:>10.4} p90 {:>10.4} p99 {:>10.4} | data p50 {:>10.4} p90 {:>10.4} p99 {:>10.4} | max diff {:>5.1}%",
        model.p50,
        model.p90,
        model.p99,
        data.p50,
        data.p90,
        data.p99,
        diff * 100.0
    );
    diff
}

#[test]
fn profiles_match_the_data() {
    let Some(dir) = data_dir() else {
        println!("skipped: ../shared/data not found");
        return;
    };
    let trace_text =
        std::fs::read_to_string(dir.join("azure-llm-inference-2023/AzureLLMInferenceTrace_conv.csv")).unwrap();
    let trace = load_token_trace(&trace_text).unwrap();
    assert_eq!(trace.len(), 19_366);
    let data_in = Percentiles::of(trace.iter().map(|p| p.0 as f64).collect());
    let data_out = Percentiles::of(trace.iter().map(|p| p.1 as f64).collect());

    let mut failures = Vec::new();
    let mut check = |what: String, model: Percentiles, data: Percentiles| {
        if row(&what, &model, &data) > TOLERANCE {
            failures.push(what);
        }
    };
    for name in LlmModel::profile_names() {
        let model = LlmModel::profile(name).unwrap();
        let (mut ttft, mut tpot) = (Vec::new(), Vec::new());
        for f in files_of(&dir, name) {
            let (t, p) = llmperf(&f);
            ttft.extend(t);
            tpot.extend(p);
        }
        assert!(ttft.len() >= 20, "{name}: {} requests", ttft.len());
        let mut rng = stream(1, name);
        let draws: Vec<_> = (0..N).map(|_| model.draw_start(&mut rng)).collect();
        check(
            format!("{name} TTFT (s)"),
            Percentiles::of(draws.iter().map(|d| d.ttft / 1e9).collect()),
            Percentiles::of(ttft),
        );
        check(
            format!("{name} TPOT (s)"),
            Percentiles::of(draws.iter().map(|d| d.tpot / 1e9).collect()),
            Percentiles::of(tpot),
        );
        let tokens: Vec<(u32, u32)> = (0..N).map(|_| model.draw_tokens(&mut rng)).collect();
        check(format!("{name} input tokens"), Percentiles::of(tokens.iter().map(|t| t.0 as f64).collect()), data_in);
        check(format!("{name} output tokens"), Percentiles::of(tokens.iter().map(|t| t.1 as f64).collect()), data_out);
    }

    // Resampling the trace itself reproduces it.
    let source = TokenSource::Trace(trace);
    let mut rng = stream(2, "trace");
    let tokens: Vec<(u32, u32)> = (0..N).map(|_| source.draw(&mut rng)).collect();
    check("trace resampling, input".into(), Percentiles::of(tokens.iter().map(|t| t.0 as f64).collect()), data_in);
    check("trace resampling, output".into(), Percentiles::of(tokens.iter().map(|t| t.1 as f64).collect()), data_out);

    assert!(failures.is_empty(), "off by more than {}%: {failures:?}", TOLERANCE * 100.0);
}
