use super::*;

pub(super) const VALID: &str = r#"
name = "quickstart"
seeds = 20
duration = "60s"

[topology]
agents = 16

[workload]
arrivals = { process = "poisson", rate_per_s = 20 }

[llm]
latency = { dist = "lognormal", median = "800ms", p99 = "6s" }

[tool]
latency = { dist = "exponential", mean = "250ms" }
"#;

#[test]
fn scratch() {
    for (from, to) in [
        ("agents = 16", "agnets = 16"),
        ("agents = 16", "nodes = 2"),
        ("name = \"quickstart\"\n", ""),
        ("[tool]\nlatency = { dist = \"exponential\", mean = \"250ms\" }\n", ""),
        ("rate_per_s = 20", "rate_per_s = \"x\""),
        ("rate_per_s = 20", "rate_per_s = -3"),
        ("median = \"800ms\", ", ""),
        ("seeds = 20", "seeds = [1, \"a\"]"),
        ("seeds = 20", "seeds = \"a\""),
        ("agents = 16", "agents = 1 6"),
        ("name = ", "name = quick"),
    ] {
        let src = VALID.replace(from, to);
        match parse(&src, "x.toml") {
            Ok(_) => println!("OK?!"),
            Err(e) => println!("{e}\n---"),
        }
    }
}
