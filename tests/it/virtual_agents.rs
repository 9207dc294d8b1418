//! Virtual agents: activation, passivation, reminders that outlive their
//! activation, re-activation after node loss; checked against counts worked
//! out by hand.

use super::common::{CONSTANT_SERVICES as SERVICES, run_text as run};

#[test]
fn a_reminder_outlives_its_activation_and_activates_it_again() {
    // One message at 0 activates the agent; it passivates 3 s after its
    // work. Its reminder (every 10 s, kept by the directory) fires at 10,
    // 20 and 30 s (the run ends at 31 s), each time activating it again;
    // the last activation is still alive at the end. The same with a
    // distributed directory, whose front keeps the reminders.
    for directory in ["central", "distributed"] {
        let s = run(&format!(
            r#"
name = "remind"
seeds = 1
duration = "1s"
[topology]
nodes = 2
[workload]
arrivals = {{ process = "population", clients = 1 }}
request_timeout = "30s"
[[roles]]
name = "conversation"
virtual = true
directory = "{directory}"
nodes = [1]
idle_timeout = "3s"
reminder = "10s"
workflow = [{{ name = "reply", call = "llm" }}]
{SERVICES}
"#
        ));
        let v = s.virtual_agents.expect("virtual agents report");
        assert_eq!(s.requests.succeeded, 1);
        assert_eq!((v.reminders_fired, v.activated_by_reminder), (3, 3));
        assert_eq!((v.activations, v.deactivations), (4, 3));
        assert_eq!(s.nodes.expect("nodes")["1"].activations, 4);
    }
}

#[test]
fn an_agent_lost_with_its_node_is_activated_again_after_detection() {
    // One key, one node for it: node 1 crashes at 5.5 s and restarts at
    // 10.5 s. The activation dies with it (lost, 1); once node 1 is back,
    // the next message activates the key again (a re-activation).
    let s = run(&format!(
        r#"
name = "lose"
seeds = 1
duration = "20s"
[topology]
nodes = 2
[workload]
arrivals = {{ process = "constant", rate_per_s = 1 }}
request_timeout = "3s"
[[workload.requests]]
name = "m"
weight = 1
key = {{ dist = "uniform", keys = 1 }}
[[roles]]
name = "conversation"
virtual = true
nodes = [1]
passivation = false
workflow = [{{ name = "reply", call = "llm" }}]
[faults]
failure_detection = "1s"
[[faults.schedule]]
at = "5.5s"
crash_node = 1
for = "5s"
{SERVICES}
"#
    ));
    let v = s.virtual_agents.expect("virtual agents report");
    assert_eq!((v.lost, v.reactivations), (1, 1), "{v:?}");
    assert_eq!(v.activations, 2);
    assert!(s.requests.failed > 0, "messages while the node is down fail");
}

/// One key, asked once a second, its agent never passivating, over two
/// directory partitions (nodes 1 and 2) behind a front on node 0. Node 2
/// is cut off from 5 s to 13 s, node 1 from 20 s to 28 s. Whichever
/// node owns the key, exactly one of the two cuts isolates it.
fn split_brain(directory: &str) -> String {
    format!(
        r#"
name = "split"
seeds = 1
duration = "40s"
[topology]
nodes = 3
[workload]
arrivals = {{ process = "constant", rate_per_s = 1 }}
request_timeout = "5s"
[[workload.requests]]
name = "m"
weight = 1
key = {{ dist = "uniform", keys = 1 }}
[[roles]]
name = "conversation"
virtual = true
directory = "{directory}"
nodes = [1, 2]
passivation = false
workflow = [{{ name = "reply", call = "llm" }}]
[faults]
failure_detection = "3s"
[[faults.schedule]]
at = "5s"
partition = [[0, 1], [2]]
for = "8s"
[[faults.schedule]]
at = "20s"
partition = [[0, 2], [1]]
for = "8s"
[strategies]
placement = ["prefer_local"]
{SERVICES}
"#
    )
}

#[test]
fn a_partitioned_directory_activates_a_key_twice_and_finds_it_after_healing() {
    // Distributed: when the cut isolates the key's owner, the front and
    // the other partition suspect it (no heartbeats for 3 s); the other
    // partition now owns the key, has no entry, and activates it on its
    // own node (prefer_local) while the first activation lives on behind
    // the cut: one duplicate. After the heal, its view changes back, it
    // hands the entry to the owner, which keeps its own and deactivates
    // the newcomer: one found, one deactivation.
    let s = run(&split_brain("distributed"));
    let v = s.virtual_agents.expect("virtual agents report");
    assert_eq!((v.duplicate_activations, v.duplicates_detected), (1, 1), "{v:?}");
    assert_eq!((v.activations, v.deactivations, v.lost), (2, 1, 0), "{v:?}");
    // The cost of availability is the duplicate; only the messages sent
    // before the suspicion (at 5, 6 and 7 s: the last heartbeat heard came
    // at 4 s, plus 1 ms) go to the cut-off owner and fail.
    assert_eq!(s.requests.failed, 3, "{:?}", s.requests);

    // Central: one directory on node 0 never activates a key twice; the
    // messages for a key behind the cut fail instead.
    let s = run(&split_brain("central"));
    let v = s.virtual_agents.expect("virtual agents report");
    assert_eq!((v.duplicate_activations, v.duplicates_detected, v.activations), (0, 0, 1), "{v:?}");
    // The messages for the key behind the cut (at 5 s to 12 s) fail.
    assert_eq!(s.requests.failed, 8, "{:?}", s.requests);
}

/// One key, asked once a second (at 0, 1, 2, ... s), its agent on node 1
/// with its state in a store (10 ms a call); node 1 crashes at 10.5 s and
/// is back at 12.5 s; the directory learns of the crash at 11.5 s.
fn stateful(state: &str) -> String {
    format!(
        r#"
name = "state"
seeds = 1
duration = "20s"
[topology]
nodes = 2
[workload]
arrivals = {{ process = "constant", rate_per_s = 1 }}
request_timeout = "3s"
[[workload.requests]]
name = "m"
weight = 1
key = {{ dist = "uniform", keys = 1 }}
[[roles]]
name = "conversation"
virtual = true
nodes = [1]
passivation = false
state = {state}
workflow = [{{ name = "reply", call = "llm" }}]
[tools.state]
latency = {{ dist = "constant", value = "10ms" }}
[faults]
failure_detection = "1s"
[[faults.schedule]]
at = "10.5s"
crash_node = 1
for = "2s"
{SERVICES}
"#
    )
}

#[test]
fn event_sourced_state_recovers_by_replaying_the_events_since_its_snapshot() {
    // Written every turn: the 11 changes of the messages at 0..10 s are
    // all stored before the crash, with snapshots after 4 and 8. The
    // message at 11 s goes to the dead activation, the one at 12 s finds
    // no node up; at 13 s the key is activated again, loads the snapshot
    // (8) and replays 3 events. Its 7 changes (13..19 s) bring snapshots
    // after 12 and 16: 4 snapshots, 18 writes, nothing lost.
    let s = run(&stateful(
        r#"{ store = "tool:state", kind = "event_sourced", snapshot_every = 4, replay_per_event = "100ms" }"#,
    ));
    let v = s.virtual_agents.expect("virtual agents report");
    let st = v.state.clone().expect("state report");
    assert_eq!((v.activations, v.lost, v.reactivations), (2, 1, 1), "{v:?}");
    assert_eq!((st.loads, st.events_replayed, st.snapshots, st.writes), (2, 3, 4, 18), "{st:?}");
    assert_eq!((st.events_lost, st.load_failures, st.write_failures), (0, 0, 0), "{st:?}");
    assert_eq!(s.requests.failed, 2, "{:?}", s.requests);
    // Steps: the store's calls under the role's `state-load` and `state-write`.
    let steps = &s.steps;
    assert_eq!(steps["conversation.state-load"].calls, 2);
    assert_eq!(steps["conversation.state-write"].calls, 22);
}

#[test]
fn state_written_every_few_seconds_loses_the_changes_since_the_last_write() {
    // Written every 5 s from the activation's start (just after 0 s): the
    // write just after 10 s carries the 10 changes of the messages at
    // 0..9 s; the message at 10 s finishes at 10.1 s, and its change dies
    // unwritten with the node at 10.5 s. Loading is one read: nothing to
    // replay.
    let s = run(&stateful(r#"{ store = "tool:state", persist = "5s" }"#));
    let st = s.virtual_agents.expect("virtual agents report").state.expect("state report");
    assert_eq!((st.events_lost, st.activations_lost_with_changes), (1, 1), "{st:?}");
    assert_eq!((st.loads, st.events_replayed, st.snapshots), (2, 0, 0), "{st:?}");
}

#[test]
fn a_distributed_directory_takes_in_a_joining_node() {
    // Node 2 joins at 5 s: the front starts its directory partition there,
    // the others hear its heartbeats, and new keys (least loaded) go to it.
    // Without that partition node 2 would never be believed up.
    let s = run(&format!(
        r#"
name = "join"
seeds = 1
duration = "20s"
[topology]
nodes = 3
[workload]
arrivals = {{ process = "constant", rate_per_s = 2 }}
request_timeout = "5s"
[[workload.requests]]
name = "m"
weight = 1
key = {{ dist = "uniform", keys = 1000 }}
[[roles]]
name = "conversation"
virtual = true
directory = "distributed"
nodes = [1, 2]
passivation = false
workflow = [{{ name = "reply", call = "llm" }}]
[faults]
failure_detection = "3s"
[[faults.schedule]]
at = "5s"
join_node = 2
[strategies]
placement = ["least_loaded"]
{SERVICES}
"#
    ));
    let nodes = s.nodes.expect("nodes");
    assert!(nodes["2"].activations > 0, "{nodes:?}");
    assert!(nodes["1"].activations >= 10, "the first 5 s all go to node 1: {nodes:?}");
    assert_eq!(s.requests.failed, 0, "{:?}", s.requests);
}
