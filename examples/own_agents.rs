//! Your own agents through the harness: a payment frontend that fails over
//! between two payment workers, and the orders it charges twice.
//!
//! The frontend (node 0) asks the primary worker (node 1) to charge each
//! order; if no answer comes within 300 ms, it asks the standby (node 2).
//! Each worker charges through the bank's API (the scenario's tool). The
//! bug: the failover does not know whether the primary charged, so when
//! the primary's answer is lost (the scenario cuts node 1 -> node 0 for
//! 2 s), the order is charged twice. The system's own invariant, checked
//! on the world's ledger of calls: no order is charged twice.
//!
//! The system implements [`SystemUnderTest`], and `main` hands it to the
//! harness: the same `run`, `sweep` and `compare` as `rehearsal`, over the
//! scenario file `examples/own_agents.toml` (topology, the bank as a tool,
//! arrivals, the partition). Run without arguments it sweeps the
//! scenario's seeds:
//!
//! ```text
//! cargo run --release --example own_agents
//! cargo run --release --example own_agents -- run examples/own_agents.toml --seed 7
//! ```
//!
//! Each failing seed is printed with its replay line, which names this
//! binary; the replay breaks the same invariant with the same trace hash.
//!
//! The system declares its own strategy axis, `failover`: `naive` (the
//! bug) or `never` (ask the primary again; a worker asked again for an
//! order it charged answers without charging). The scenario compares them:
//! `... own_agents compare examples/own_agents.toml` shows `never` keeps
//! every order charged once, and what it costs in latency.

use std::collections::BTreeMap;
use std::process::ExitCode;

use rehearsal::ledger::{Cause, Outcome, SpanStatus};
use rehearsal::system::{
    Build, ClientRequest, Finished, ServiceRef, SystemAxis, SystemUnderTest, agent_name, idempotency_key, tool_service,
};
use rehearsal_runtime::{Actor, ActorId, Ctx, NodeId, ReplyTo, RequestId, Response, ServiceId, ServiceOutcome};

/// How long the frontend waits for a worker before failing over.
const FAILOVER_AFTER_NS: u64 = 300_000_000;

/// Without failover: how often the frontend asks the primary.
const MAX_ATTEMPTS: u32 = 8;

/// The payments system's own strategy axis.
const AXES: &[SystemAxis] = &[SystemAxis {
    name: "failover",
    values: &["naive", "never"],
    doc: "naive: ask the standby when the primary does not answer in 300 ms; never: ask the primary again",
}];

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Msg {
    /// A client's order (an ask to the frontend).
    Order { id: u64 },
    /// The frontend asks a worker to charge an order.
    Charge { id: u64 },
    /// A worker's or the frontend's answer.
    Charged { id: u64, ok: bool },
}

#[derive(Debug)]
enum Payments {
    Frontend(Frontend),
    Worker(Worker),
}

#[derive(Debug, Default)]
struct Frontend {
    /// Whether to fail over to the standby when the primary does not
    /// answer in time (`failover = "naive"`), or ask the primary again
    /// (`failover = "never"`: the primary remembers what it charged).
    fail_over: bool,
    /// Outstanding asks: request -> (order, client, which worker, attempt).
    asks: BTreeMap<RequestId, (u64, ReplyTo, u32, u32)>,
}

#[derive(Debug)]
struct Worker {
    index: u32,
    /// Orders this worker has charged (it is asked again after a lost answer).
    charged: std::collections::BTreeSet<u64>,
    /// Charges in flight: call -> (order, who waits).
    calls: BTreeMap<RequestId, (u64, ReplyTo)>,
}

impl Frontend {
    /// Ask worker `which` to charge order `id` for `client`.
    fn ask(&mut self, id: u64, client: ReplyTo, which: u32, attempt: u32, ctx: &mut Ctx<'_, Payments>) {
        match ctx.whereis(agent_name(which)) {
            Some(worker) => {
                let r = ctx.ask(worker, Msg::Charge { id }, FAILOVER_AFTER_NS);
                self.asks.insert(r, (id, client, which, attempt));
            }
            None => ctx.reply(client, Msg::Charged { id, ok: false }),
        }
    }
}

impl Actor for Payments {
    type Msg = Msg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        if let Payments::Worker(w) = self {
            ctx.register(agent_name(w.index));
        }
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, Self>) {
        let Some(reply) = ctx.reply_to() else { return };
        match (self, msg) {
            (Payments::Frontend(f), Msg::Order { id }) => f.ask(id, reply, 0, 1, ctx),
            (Payments::Worker(w), Msg::Charge { id }) => {
                if w.charged.contains(&id) {
                    // Asked again for an order it charged: answer, do not
                    // charge twice.
                    ctx.reply(reply, Msg::Charged { id, ok: true });
                    return;
                }
                // Each worker charges under its own key: the bank cannot
                // tell a failover from a new charge.
                let key = idempotency_key(id, w.index, 0);
                let call = ctx.call(tool_service(0), 0, key, 2_000_000_000);
                w.calls.insert(call, (id, reply));
            }
            _ => {}
        }
    }

    fn on_response(&mut self, request: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, Self>) {
        match self {
            Payments::Frontend(f) => {
                let Some((id, client, which, attempt)) = f.asks.remove(&request) else { return };
                match response {
                    Response::Reply(Msg::Charged { ok: true, .. }) => ctx.reply(client, Msg::Charged { id, ok: true }),
                    // The bug: fail over without knowing whether the
                    // primary charged; only its answer may have been lost.
                    _ if which == 0 && f.fail_over => f.ask(id, client, 1, 1, ctx),
                    // Without failover: ask the primary again, a few times.
                    _ if which == 0 && attempt < MAX_ATTEMPTS => f.ask(id, client, 0, attempt + 1, ctx),
                    _ => ctx.reply(client, Msg::Charged { id, ok: false }),
                }
            }
            Payments::Worker(w) => {
                let Some((id, reply)) = w.calls.remove(&request) else { return };
                let ok = matches!(response, Response::Service(ServiceOutcome::Ok { .. }));
                if ok {
                    w.charged.insert(id);
                }
                ctx.reply(reply, Msg::Charged { id, ok });
            }
        }
    }
}

/// The payments system, as the harness runs it.
struct PaymentsSystem;

impl SystemUnderTest for PaymentsSystem {
    type Actor = Payments;
    type Handle = ();

    fn build(&self, b: &mut Build<'_, Payments>) -> (ActorId, ()) {
        for index in 0..2 {
            let worker = Worker { index, charged: Default::default(), calls: BTreeMap::new() };
            b.spawn(NodeId(1 + index as u16), Payments::Worker(worker));
        }
        let fail_over = b.strategy.get("failover").is_none_or(|v| v == "naive");
        (b.spawn(NodeId(0), Payments::Frontend(Frontend { fail_over, asks: BTreeMap::new() })), ())
    }

    fn axes(&self) -> &'static [SystemAxis] {
        AXES
    }

    fn request(id: u64, _: ClientRequest) -> Msg {
        Msg::Order { id }
    }

    fn outcome(answer: &Msg) -> Outcome {
        match answer {
            Msg::Charged { ok: true, .. } => Outcome::Succeeded,
            _ => Outcome::Failed(Cause::ToolError),
        }
    }

    fn agents(&self, _: &rehearsal::scenario::Scenario) -> u32 {
        2
    }

    /// No order is charged twice: from the world's ledger, every charge
    /// the bank answered as done, by order.
    fn invariants(&self, run: &Finished<'_, Payments>, _: &()) -> Vec<String> {
        let mut charges: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for span in run.sim.world().ledger.spans() {
            let bank = ServiceRef::of(ServiceId(span.service)) == ServiceRef::Tool(0);
            if bank && span.status == (SpanStatus::Answered { ok: true }) {
                let at_ms = span.ended_at().unwrap_or(0) / 1_000_000;
                charges.entry(span.request).or_default().push(format!("{} at {at_ms} ms", span.caller));
            }
        }
        charges
            .iter()
            .filter(|(_, c)| c.len() > 1)
            .map(|(order, c)| format!("order {order} charged {} times ({})", c.len(), c.join(", ")))
            .collect()
    }
}

fn main() -> ExitCode {
    let program = std::env::args().next().unwrap_or_else(|| "own_agents".to_owned());
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/own_agents.toml");
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        // No arguments: sweep the scenario's seeds.
        let sweep = ["sweep", scenario, "--seeds", "1..=40", "--jobs", "1", "--strategy", "failover=naive"];
        return rehearsal::cli::main_args(&PaymentsSystem, &program, sweep);
    }
    rehearsal::cli::main_args(&PaymentsSystem, &program, args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rehearsal::run::{RunOptions, broken_invariants, run_system};
    use rehearsal::strategy::default_strategy;

    #[test]
    fn the_sweep_finds_double_charges_and_a_replay_reproduces_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/own_agents.toml");
        let sc = rehearsal::scenario::load_for(std::path::Path::new(path), AXES).unwrap_or_else(|e| panic!("{e}"));
        let strategy = default_strategy(&sc.strategies);
        let run = |seed| run_system(&PaymentsSystem, &sc, seed, &strategy, RunOptions::default()).unwrap().summary;
        let failing: Vec<u64> = (1..=40).filter(|&s| !broken_invariants(&sc, &run(s)).is_empty()).collect();
        assert!(!failing.is_empty() && failing.len() < 40, "{failing:?}");
        let (a, b) = (run(failing[0]), run(failing[0]));
        assert_eq!(a.trace_hash, b.trace_hash);
        assert!(broken_invariants(&sc, &a)[0].contains("charged 2 times"), "{:?}", broken_invariants(&sc, &a));
        // Without failover no order is charged twice, on the same seeds.
        let never = rehearsal::strategy::Strategy::from([("failover".to_owned(), "never".to_owned())]);
        for seed in failing {
            let s = run_system(&PaymentsSystem, &sc, seed, &never, RunOptions::default()).unwrap().summary;
            assert!(broken_invariants(&sc, &s).is_empty(), "seed {seed}: {:?}", broken_invariants(&sc, &s));
        }
    }
}
