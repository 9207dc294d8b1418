//! Nodes with capacity: CPU slots that make work wait, memory that limits
//! activations, `pack` against `spread`, nodes that join, and rebalancing;
//! checked against values worked out by hand.

use super::common::{CONSTANT_SERVICES as SERVICES, run_text as run};

fn cpu_bound(slots: u32) -> String {
    format!(
        r#"
name = "cpu"
seeds = 1
duration = "1s"
[topology]
nodes = 1
capacity = {{ cpu = {slots} }}
[workload]
arrivals = {{ process = "population", clients = 4 }}
[[roles]]
name = "agent"
count = 1
concurrency = 4
cpu = "100ms"
workflow = [{{ name = "reply", call = "llm" }}]
{SERVICES}
"#
    )
}

#[test]
fn work_on_a_busy_node_waits_for_a_cpu_slot() {
    // Four pieces of work at 0 on one node (messages within a node take no
    // time), 100 ms of CPU each, then a 100 ms call. One slot: CPU done at
    // 100, 200, 300, 400 ms, answers at 200 to 500 ms, mean 350 ms. Four
    // slots: every answer at 200 ms.
    let s = run(&cpu_bound(1));
    assert_eq!(s.requests.succeeded, 4);
    assert!((s.latency_ms.mean - 350.0).abs() < 1e-6, "{:?}", s.latency_ms);
    assert!((s.latency_ms.max - 500.0).abs() < 1.0, "{:?}", s.latency_ms);
    let s = run(&cpu_bound(4));
    assert!((s.latency_ms.mean - 200.0).abs() < 1e-6, "{:?}", s.latency_ms);
}

fn four_agents(placement: &str) -> String {
    format!(
        r#"
name = "pack"
seeds = 1
duration = "1s"
[topology]
nodes = 4
capacity = {{ cpu = 1, memory_mb = 200 }}
network = {{ latency = {{ dist = "constant", value = "1ms" }} }}
[workload]
arrivals = {{ process = "population", clients = 4 }}
[[roles]]
name = "agent"
count = 4
nodes = [1, 2, 3]
memory_mb = 100
cpu = "100ms"
workflow = [{{ name = "reply", call = "llm" }}]
[strategies]
placement = ["{placement}"]
{SERVICES}
"#
    )
}

#[test]
fn pack_fills_nodes_and_spread_takes_turns() {
    // Each node's memory holds two agents, and has one CPU slot. Four
    // pieces of work at 0, one per agent, each 100 ms of CPU then 100 ms
    // of LLM, plus 1 ms to the agent's node and 1 ms back.
    // pack: agents 0, 1 on node 1 and 2, 3 on node 2: CPU done at 100,
    // 200, 100, 200 ms: latencies 202, 302, 202, 302, mean 252 ms.
    // spread: nodes 1, 2, 3, 1: node 1 runs two: mean (302 + 3 x 202) / 4
    // = 227 ms.
    let s = run(&four_agents("pack"));
    assert_eq!(s.requests.succeeded, 4);
    assert!((s.latency_ms.mean - 252.0).abs() < 1e-6, "{:?}", s.latency_ms);
    let s = run(&four_agents("spread"));
    assert!((s.latency_ms.mean - 227.0).abs() < 1e-6, "{:?}", s.latency_ms);
}

#[test]
fn a_full_node_takes_no_more_activations() {
    // One node whose memory holds two activations (200 MB, 100 MB each),
    // never passivating; three keys asked in turn (0, 1, 2, 0, 1, 2...):
    // the third key finds no room, every time.
    let s = run(&format!(
        r#"
name = "full"
seeds = 1
duration = "6s"
[topology]
nodes = 2
capacity = {{ memory_mb = 200 }}
[workload]
arrivals = {{ process = "constant", rate_per_s = 1 }}
request_timeout = "3s"
[[workload.requests]]
name = "a"
weight = 1
key = {{ dist = "uniform", keys = 3 }}
[[roles]]
name = "conversation"
virtual = true
nodes = [1]
passivation = false
memory_mb = 100
workflow = [{{ name = "reply", call = "llm" }}]
{SERVICES}
"#
    ));
    let v = s.virtual_agents.expect("virtual agents");
    assert_eq!(v.activations, 2, "{v:?}");
    let full = s.requests.failed_by_cause.get("no_capacity").copied().unwrap_or(0);
    assert_eq!(full + s.requests.succeeded, s.requests.arrived);
    assert!(full >= 1, "{:?}", s.requests);
    let node = &s.nodes.expect("nodes")["1"];
    assert_eq!((node.activations_max, node.memory_mb_used_max, node.memory_mb), (2, Some(200), Some(200)));
}

#[test]
fn a_joining_node_gets_half_the_activations_by_rebalancing() {
    // Four keys, four messages a second, node 2 out of the cluster until
    // 9.5 s: the four activations start on node 1 (38 messages before the
    // join ask every key; a key missed would have odds of 4 x 0.75^38).
    // At the rebalance after the join (every 5 s: at 10 s), node 1 holds 4
    // and node 2 none: two moves bring it to 2 and 2 (threshold 1); the
    // moved keys' next messages activate them on the least loaded node, 2.
    let mut text = String::from(
        r#"
name = "join"
seeds = 1
duration = "20s"
[topology]
nodes = 3
[workload]
arrivals = { process = "constant", rate_per_s = 4 }
request_timeout = "3s"
"#,
    );
    text += "[[workload.requests]]\nname = \"m\"\nweight = 1\nkey = { dist = \"uniform\", keys = 4 }\n";
    text += &format!(
        r#"
[[roles]]
name = "conversation"
virtual = true
nodes = [1, 2]
passivation = false
rebalance = {{ every = "5s", threshold = 1, max_moves = 10 }}
workflow = [{{ name = "reply", call = "llm" }}]
[faults]
failure_detection = "1s"
[[faults.schedule]]
at = "9.5s"
join_node = 2
[strategies]
placement = ["least_loaded"]
{SERVICES}
"#
    );
    let s = run(&text);
    let v = s.virtual_agents.expect("virtual agents");
    assert_eq!((v.moves, v.moves_done), (2, 2), "{v:?}");
    let nodes = s.nodes.expect("nodes");
    assert_eq!((nodes["1"].activations, nodes["2"].activations), (4, 2), "{nodes:?}");
    assert_eq!(s.requests.failed, 0, "{:?}", s.requests);
}
