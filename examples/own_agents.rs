//! Your own agents through the harness: a payment frontend that fails over
//! between two payment workers, and the order it charges twice.
//!
//! The frontend (node 0) asks the primary worker (node 1) to charge each
//! order, and if no answer comes within 300 ms, asks the standby worker
//! (node 2). Each worker debits the bank (node 3) and answers. The bug:
//! the failover carries no idempotency key, so when the primary's answer is
//! lost (a one-way partition from node 1 to node 0, drawn from the seed),
//! the bank is debited twice. The invariant, checked on the bank's books:
//! no order is charged twice.
//!
//! `cargo run --release --example own_agents` sweeps seeds 1..=60 and
//! prints each failing seed with its replay line; the replay
//! (`... own_agents run --seed N`) tells the story of that failure and
//! shows the same trace hash every time.

use std::collections::BTreeMap;
use std::process::ExitCode;

use rand_core::Rng;
use rehearsal::harness::{self, Experiment, Trial};
use rehearsal_runtime::{Actor, ActorId, Ctx, Nanos, NodeId, RequestId, Response, TimerId};
use rehearsal_sim::dist::Dist;
use rehearsal_sim::net::{Latency, Network};
use rehearsal_sim::rng::stream;
use rehearsal_sim::{EmptyWorld, Fault, Sim, SimConfig};

const MS: Nanos = 1_000_000;
/// One order every 100 ms.
const ORDERS: u64 = 50;
const ORDER_EVERY: Nanos = 100 * MS;
/// How long the frontend waits for a worker before failing over.
const FAILOVER_AFTER: Nanos = 300 * MS;

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Msg {
    Charge { order: u64 },
    Debit { order: u64, worker: u8 },
    Charged { order: u64 },
}

#[derive(Debug)]
enum Payments {
    Frontend(Frontend),
    Worker(Worker),
    Bank(Bank),
}

#[derive(Debug)]
struct Frontend {
    workers: [ActorId; 2],
    /// Outstanding asks: request -> (order, which worker).
    asks: BTreeMap<RequestId, (u64, usize)>,
    next_order: u64,
    answered: u64,
}

#[derive(Debug)]
struct Worker {
    id: u8,
    bank: ActorId,
    /// Debits in flight: request -> (order, who waits).
    debits: BTreeMap<RequestId, (u64, rehearsal_runtime::ReplyTo)>,
}

/// The bank's books: every debit, with when and by which worker.
#[derive(Debug, Default)]
struct Bank {
    debits: Vec<(u64, u8, Nanos)>,
}

impl Actor for Payments {
    type Msg = Msg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        if let Payments::Frontend(_) = self {
            ctx.set_timer(ORDER_EVERY, 0);
        }
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, Self>) {
        match (self, msg) {
            (Payments::Worker(w), Msg::Charge { order }) => {
                let Some(reply) = ctx.reply_to() else { return };
                let r = ctx.ask(w.bank, Msg::Debit { order, worker: w.id }, 1_000 * MS);
                w.debits.insert(r, (order, reply));
            }
            (Payments::Bank(b), Msg::Debit { order, worker }) => {
                b.debits.push((order, worker, ctx.now()));
                if let Some(reply) = ctx.reply_to() {
                    ctx.reply(reply, Msg::Charged { order });
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, _: TimerId, _: u64, ctx: &mut Ctx<'_, Self>) {
        let Payments::Frontend(f) = self else { return };
        let order = f.next_order;
        f.next_order += 1;
        let r = ctx.ask(f.workers[0], Msg::Charge { order }, FAILOVER_AFTER);
        f.asks.insert(r, (order, 0));
        if f.next_order < ORDERS {
            ctx.set_timer(ORDER_EVERY, 0);
        }
    }

    fn on_response(&mut self, request: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, Self>) {
        match self {
            Payments::Frontend(f) => {
                let Some((order, worker)) = f.asks.remove(&request) else { return };
                match response {
                    Response::Reply(_) => f.answered += 1,
                    // The bug: fail over without an idempotency key. The
                    // primary may have charged already; only its answer
                    // was lost.
                    _ if worker == 0 => {
                        let r = ctx.ask(f.workers[1], Msg::Charge { order }, FAILOVER_AFTER);
                        f.asks.insert(r, (order, 1));
                    }
                    _ => {}
                }
            }
            Payments::Worker(w) => {
                let Some((order, reply)) = w.debits.remove(&request) else { return };
                if let Response::Reply(_) = response {
                    ctx.reply(reply, Msg::Charged { order });
                }
            }
            Payments::Bank(_) => {}
        }
    }
}

/// The payments system under test, by seed.
struct PaymentsExperiment;

/// Seed-drawn faults: half the seeds cut node 1 -> node 0 one way for a
/// while.
fn partition_of(seed: u64) -> Option<(Nanos, Nanos)> {
    let mut rng = stream(seed, "faults");
    if rng.next_u64() % 2 == 0 {
        return None;
    }
    let start = 500 * MS + rng.next_u64() % (4_000 * MS);
    let length = 50 * MS + rng.next_u64() % (600 * MS);
    Some((start, length))
}

impl Experiment for PaymentsExperiment {
    fn name(&self) -> &str {
        "payments"
    }

    fn default_seeds(&self) -> std::ops::RangeInclusive<u64> {
        1..=60
    }

    fn run(&self, seed: u64) -> Trial {
        let network =
            Network { remote: Latency::from_dist(Dist::Exponential { mean: 5.0 * MS as f64 }), ..Network::default() };
        let mut sim: Sim<Payments, EmptyWorld> =
            Sim::new(SimConfig { seed, network, ..SimConfig::default() }, EmptyWorld);
        let bank = sim.spawn(NodeId(3), Payments::Bank(Bank::default()));
        let workers = [1u8, 2].map(|i| {
            sim.spawn(NodeId(u16::from(i)), Payments::Worker(Worker { id: i, bank, debits: BTreeMap::new() }))
        });
        let frontend = sim.spawn(
            NodeId(0),
            Payments::Frontend(Frontend { workers, asks: BTreeMap::new(), next_order: 0, answered: 0 }),
        );
        let mut story = Vec::new();
        if let Some((start, length)) = partition_of(seed) {
            let groups = vec![vec![NodeId(1)], vec![NodeId(0)]];
            sim.kernel.fault_at(start, Fault::Partition { id: 1, groups, one_way: true });
            sim.kernel.fault_at(start + length, Fault::Heal { id: 1 });
            story.push(format!("{} ms: node 1 -> node 0 cut (one way) for {} ms", start / MS, length / MS));
        } else {
            story.push("no partition this seed".to_owned());
        }
        if let Err(e) = sim.run() {
            return Trial { trace_hash: sim.trace_hash(), broken: vec![format!("the run stopped: {e}")], story };
        }
        let Some(Payments::Bank(b)) = sim.system.actor(bank) else { unreachable!("the bank never stops") };
        let mut by_order: BTreeMap<u64, Vec<(u8, Nanos)>> = BTreeMap::new();
        for &(order, worker, at) in &b.debits {
            by_order.entry(order).or_default().push((worker, at));
        }
        let mut broken = Vec::new();
        for (order, debits) in by_order.iter().filter(|(_, d)| d.len() > 1) {
            broken.push(format!("order {order} charged {} times", debits.len()));
            let how: Vec<String> = debits.iter().map(|(w, at)| format!("worker {w} at {} ms", at / MS)).collect();
            story.push(format!("order {order}: debited by {}", how.join(", then ")));
        }
        // BUGGIFY (on by default) now and then delays a message past the
        // failover timeout: the same bug without a partition.
        let slow: u64 = sim.kernel.buggify_fired_by_site().values().sum();
        if slow > 0 {
            story.push(format!("BUGGIFY fired {slow} times (slow messages)"));
        }
        if let Some(Payments::Frontend(f)) = sim.system.actor(frontend) {
            story.push(format!("{} of {ORDERS} orders answered to the frontend", f.answered));
        }
        Trial { trace_hash: sim.trace_hash(), broken, story }
    }
}

fn main() -> ExitCode {
    harness::main(&PaymentsExperiment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_finds_double_charges_and_a_replay_reproduces_one() {
        let failing: Vec<(u64, Trial)> =
            (1..=60).map(|s| (s, PaymentsExperiment.run(s))).filter(|(_, t)| !t.broken.is_empty()).collect();
        assert!(!failing.is_empty(), "no seed found the double charge");
        // A lost answer is the cause: a partition, or a message BUGGIFY
        // slowed past the failover timeout.
        assert!(failing.iter().any(|(s, _)| partition_of(*s).is_some()));
        let (seed, first) = &failing[0];
        assert_eq!(&PaymentsExperiment.run(*seed), first, "the replay is the same run");
    }
}
