//! The roles parser: a full workflow, and mistakes located.
use crate::scenario::workflow::{Join, LoopEnd, Node};
use crate::scenario::{ScenarioError, parse};

fn text(roles: &str) -> String {
    format!(
        "name = \"r\"\nseeds = 1\nduration = \"10s\"\n[topology]\nnodes = 2\n[workload]\n\
         arrivals = {{ process = \"poisson\", rate_per_s = 1 }}\n[llm]\nlatency = {{ dist = \"constant\", value = \"1s\" }}\n\
         [tool]\nlatency = {{ dist = \"constant\", value = \"1s\" }}\n{roles}"
    )
}

/// The error's message, expected text and hint, and its line (the
/// roles start on line 12).
fn error(roles: &str) -> (String, usize) {
    match parse(&text(roles), "r.toml") {
        Err(ScenarioError::Invalid { message, expected, hint, line, .. }) => {
            (format!("{message} | {expected} | {}", hint.unwrap_or_default()), line)
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

const GOOD: &str = r#"
[[roles]]
name = "planner"
workflow = [
  { name = "plan", call = "llm" },
  { name = "research", ask = "researcher", copies = 3, join = 2, timeout = "30s" },
  { name = "turns", loop = [{ name = "think", call = "llm", context = true, retry = "none" }], max = 5, done_probability = 0.5 },
  { name = "route", branch = [{ weight = 1, steps = [{ name = "a", call = "tool" }] }, { weight = 3, steps = [{ name = "b", call = "llm" }] }] },
]
[[roles]]
name = "researcher"
count = 6
concurrency = 2
nodes = [1]
workflow = [{ name = "search", call = "tool" }]
"#;

#[test]
fn a_full_workflow_parses_into_the_arena() {
    let s = parse(&text(GOOD), "r.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.roles.len(), 2);
    assert_eq!(s.topology.agents, 7, "1 planner + 6 researchers");
    assert_eq!(s.roles[1].nodes, vec![1]);
    assert_eq!(s.roles[1].work_timeout_ns, 30_000_000_000, "the longest ask of the role");
    let names: Vec<&str> = s.workflows.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "planner.plan",
            "planner.research",
            "planner.turns",
            "planner.think",
            "planner.route",
            "planner.a",
            "planner.b",
            "researcher.search"
        ]
    );
    let parallel = s.workflows.nodes.iter().find_map(|n| match n {
        Node::Parallel { step: None, branches, join } => Some((branches.len(), *join)),
        _ => None,
    });
    assert_eq!(parallel, Some((3, Join::K(2))));
    assert!(
        s.workflows
            .nodes
            .iter()
            .any(|n| matches!(n, Node::Loop { max: 5, until: LoopEnd::DoneProbability(p), .. } if *p == 0.5))
    );
    let branch = s.workflows.nodes.iter().find_map(|n| match n {
        Node::Branch { options, .. } => Some(options.iter().map(|o| o.0).collect::<Vec<_>>()),
        _ => None,
    });
    assert_eq!(branch, Some(vec![0.25, 1.0]), "cumulative, the last exactly 1");
}

#[test]
fn mistakes_are_named_where_they_are() {
    let cases: &[(&str, &str, usize)] = &[
        (
            "[[roles]]\nname = \"a\"\nworkflow = [{ name = \"x\", ask = \"writr\" }]\n[[roles]]\nname = \"writer\"\nworkflow = [{ name = \"y\", call = \"llm\" }]\n",
            "did you mean `writer`?",
            14,
        ),
        ("[[roles]]\nname = \"a\"\nworkflow = [{ name = \"x\" }]\n", "has no kind", 14),
        (
            "[[roles]]\nname = \"a\"\nworkflow = [{ name = \"x\", call = \"llm\", ask = \"a\" }]\n",
            "more than one kind",
            14,
        ),
        (
            "[[roles]]\nname = \"a\"\nworkflow = [{ name = \"x\", loop = [{ name = \"y\", call = \"llm\" }] }]\n",
            "has no `max`",
            14,
        ),
        (
            "[[roles]]\nname = \"a\"\nworkflow = [{ name = \"x\", call = \"llm\" }, { name = \"x\", call = \"tool\" }]\n",
            "appears twice",
            14,
        ),
        (
            "[[roles]]\nname = \"a\"\nworkflow = [{ name = \"x\", call = \"llm\", copies = 2, join = 3 }]\n",
            "K from 1 to 2",
            14,
        ),
        ("[[roles]]\nname = \"a\"\nworkflow = [{ name = \"x\", call = \"llm\", max = 3 }]\n", "does not apply", 14),
        (
            "[[roles]]\nname = \"a\"\nworkflow = [{ name = \"x\", ask = \"b\" }]\n[[roles]]\nname = \"b\"\nworkflow = [{ name = \"y\", ask = \"a\" }]\n",
            "a -> b -> a",
            17,
        ),
        ("[[roles]]\nname = \"a\"\nnodes = [2]\nworkflow = [{ name = \"x\", call = \"llm\" }]\n", "from 0 to 1", 14),
        (
            "[[roles]]\nname = \"a\"\nworkflow = [{ name = \"x\", loop = [{ name = \"y\", call = \"llm\", copies = 1000 }], max = 10000 }]\n",
            "at most 1000000",
            14,
        ),
    ];
    for (roles, wanted, line) in cases {
        let (got, at) = error(roles);
        assert!(got.contains(wanted), "{roles}\nwanted {wanted:?} in {got}");
        assert_eq!(at, *line, "{roles}: {got}");
    }
}

#[test]
fn roles_exclude_the_simple_forms_keys() {
    let agents = text(GOOD).replace("nodes = 2\n", "nodes = 2\nagents = 3\n");
    let e = parse(&agents, "r.toml").unwrap_err().to_string();
    assert!(e.contains("no `agents` with `[[roles]]`"), "{e}");
    let shape = text(GOOD).replace("[workload]\n", "[workload]\nshape = \"fanout\"\n");
    let e = parse(&shape, "r.toml").unwrap_err().to_string();
    assert!(e.contains("`workload.shape` does not apply"), "{e}");
}

#[test]
fn virtual_roles_keys_are_checked_where_they_are() {
    let virt = |keys: &str| {
        format!(
            "[[roles]]\nname = \"c\"\nvirtual = true\n{keys}\nworkflow = [{{ name = \"reply\", call = \"llm\" }}]\n\
             [tools.state]\nlatency = {{ dist = \"constant\", value = \"5ms\" }}\n"
        )
    };
    let cases = [
        ("directory = \"sharded\"", "\"central\" or \"distributed\""),
        ("state = { store = \"tool:state\" }\nstate_load = { dist = \"constant\", value = \"1ms\" }", "not both"),
        ("state = { store = \"llm\" }", "a tool service"),
        ("state = { store = \"tool:state\", snapshot_every = 5 }", "event-sourced"),
        ("state = { store = \"tool:state\", kind = \"journal\" }", "\"durable\" or \"event_sourced\""),
        ("state = { store = \"tool:state\", persist = \"sometimes\" }", "\"each_turn\" or a period"),
        ("rebalance = { max_moves = 0 }", "at least 1 move"),
        ("memory_mb = -1", "roles.memory_mb"),
    ];
    for (keys, want) in cases {
        let (got, line) = error(&virt(keys));
        assert!(got.contains(want), "{keys}: {got}");
        assert!(line >= 12, "{keys}: line {line}");
    }
    // A good one: event-sourced state, filed under two steps of the role.
    let sc = parse(
        &text(&virt(
            "state = { store = \"tool:state\", kind = \"event_sourced\", snapshot_every = 5, persist = \"2s\" }\n\
             rebalance = { every = \"5s\", threshold = 3, max_moves = 2 }\ndirectory = \"distributed\"",
        )),
        "r.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let v = sc.roles[0].virtual_agents.as_ref().expect("virtual");
    let st = v.state.as_ref().expect("state");
    assert_eq!(sc.workflows.steps[usize::from(st.load_step)].name, "c.state-load");
    assert_eq!(sc.workflows.steps[usize::from(st.write_step)].name, "c.state-write");
    assert_eq!(v.rebalance.map(|r| (r.period_ns, r.threshold, r.max_moves)), Some((5_000_000_000, 3, 2)));
}
