//! A system under test of the user's own through the harness: its own
//! strategy axis, its own invariant, its figures defaulting to the ledger's.

use rehearsal::ledger::{Cause, Outcome};
use rehearsal::run::{RunOptions, broken_invariants, run_system};
use rehearsal::scenario::{self, ScenarioError};
use rehearsal::strategy::{Strategy, SystemAxis, combinations};
use rehearsal::system::{Build, ClientRequest, Finished, SystemUnderTest, idempotency_key, tool_service};
use rehearsal_runtime::{Actor, ActorId, Ctx, NodeId, RequestId, Response, ServiceOutcome};

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Msg {
    Ask(u64),
    Done(u64, bool),
}

/// Calls the tool once per request (or twice, with `calls = "twice"`).
#[derive(Debug)]
struct Caller {
    twice: bool,
    pending: Vec<(RequestId, u64, rehearsal_runtime::ReplyTo, bool)>,
}

impl Actor for Caller {
    type Msg = Msg;
    fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, Self>) {
        if let (Msg::Ask(id), Some(reply)) = (msg, ctx.reply_to()) {
            let call = ctx.call(tool_service(0), 0, idempotency_key(id, 0, 0), 1_000_000_000);
            self.pending.push((call, id, reply, self.twice));
        }
    }
    fn on_response(&mut self, request: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, Self>) {
        let Some(i) = self.pending.iter().position(|p| p.0 == request) else { return };
        let (_, id, reply, again) = self.pending.swap_remove(i);
        if again {
            let call = ctx.call(tool_service(0), 0, idempotency_key(id, 0, 1), 1_000_000_000);
            self.pending.push((call, id, reply, false));
            return;
        }
        ctx.reply(reply, Msg::Done(id, matches!(response, Response::Service(ServiceOutcome::Ok { .. }))));
    }
}

const AXES: &[SystemAxis] = &[SystemAxis { name: "calls", values: &["once", "twice"], doc: "tool calls per request" }];

struct Twice;

impl SystemUnderTest for Twice {
    type Actor = Caller;
    type Handle = ();
    fn build(&self, b: &mut Build<'_, Caller>) -> (ActorId, ()) {
        let twice = b.strategy.get("calls").is_some_and(|v| v == "twice");
        (b.spawn(NodeId(0), Caller { twice, pending: Vec::new() }), ())
    }
    fn request(id: u64, _: ClientRequest) -> Msg {
        Msg::Ask(id)
    }
    fn outcome(answer: &Msg) -> Outcome {
        match answer {
            Msg::Done(_, true) => Outcome::Succeeded,
            _ => Outcome::Failed(Cause::ToolError),
        }
    }
    fn axes(&self) -> &'static [SystemAxis] {
        AXES
    }
    fn invariants(&self, run: &Finished<'_, Caller>, _: &()) -> Vec<String> {
        let calls = run.sim.world().ledger.spans().len() as u64;
        let arrived = run.sim.world().ledger.entries().len() as u64;
        if calls > arrived { vec![format!("{calls} tool calls for {arrived} requests")] } else { vec![] }
    }
}

const SCENARIO: &str = r#"
name = "twice"
seeds = 1
duration = "10s"
[topology]
agents = 1
[workload]
arrivals = { process = "constant", rate_per_s = 2 }
[llm]
latency = { dist = "constant", value = "1s" }
[tool]
latency = { dist = "constant", value = "100ms" }
[buggify]
enabled = false
[strategies]
calls = ["once", "twice"]
"#;

#[test]
fn a_systems_axis_is_parsed_only_for_that_system() {
    let e = scenario::parse(SCENARIO, "t.toml").unwrap_err();
    assert!(e.to_string().contains("unknown strategy axis `calls`"), "{e}");
    let bad = SCENARIO.replace("[\"once\", \"twice\"]", "[\"once\", \"thrice\"]");
    match scenario::parse_for(&bad, "t.toml", std::path::Path::new(""), AXES) {
        Err(ScenarioError::Invalid { message, expected, hint, .. }) => {
            assert!(message.contains("unknown value `thrice`"), "{message}");
            assert!(expected.contains("`once`"), "{expected}");
            assert_eq!(hint.as_deref(), Some("tool calls per request"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_systems_strategy_and_invariant_reach_the_summary() {
    let sc = scenario::parse_for(SCENARIO, "t.toml", std::path::Path::new(""), AXES).unwrap();
    let strategies: Vec<Strategy> = combinations(&sc.strategies);
    assert_eq!(strategies.len(), 2);
    let once = run_system(&Twice, &sc, 1, &strategies[0], RunOptions::default()).unwrap().summary;
    let twice = run_system(&Twice, &sc, 1, &strategies[1], RunOptions::default()).unwrap().summary;
    // 2 requests a second for 10 s, each answered after 100 ms (200 ms twice).
    assert_eq!((once.requests.arrived, once.requests.succeeded), (20, 20));
    // HdrHistogram reports the top of a value's bucket: within 0.1%.
    let (a, b) = (once.latency_ms.max, twice.latency_ms.max);
    assert!((100.0..=100.1).contains(&a) && (200.0..=200.2).contains(&b), "{a} {b}");
    assert!(broken_invariants(&sc, &once).is_empty());
    assert_eq!(broken_invariants(&sc, &twice), ["40 tool calls for 20 requests"]);
    // Steps default to the ledger's, by the trace context of each call.
    assert_eq!(once.steps["step1:tool:tool"].calls, 20);
    assert_eq!(twice.steps["step2:tool:tool"].calls, 20);
    assert_eq!(once.roles["agent"].agents, 1);
}
