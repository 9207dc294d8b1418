//! Pins the trace hash of a run that exercises every runtime path (tells,
//! asks, replies, timeouts, late replies, full mailboxes and bounces,
//! postponing, spawns, stops, crashes, cancelled timers, service calls
//! cancelled by their timeout, sampled latency), so that a change to the
//! kernel or runtime that alters what a run does, or what its trace folds,
//! is caught.

use rehearsal_runtime::{Actor, ActorId, Ctx, NodeId, OverflowPolicy, RequestId, Response, SystemConfig, TimerId};
use rehearsal_sim::activity::{ActivityLog, SendKind, What};
use rehearsal_sim::dist::Dist;
use rehearsal_sim::net::{Latency, Network};
use rehearsal_sim::{EmptyWorld, Fault, Limits, Sim, SimConfig};

#[derive(Copy, Clone, Debug, Hash, PartialEq, Eq)]
enum Msg {
    Ping(u32),
    Pong(u32),
    Work(u32),
}

#[derive(Debug)]
struct Mixer {
    peers: Vec<ActorId>,
    rounds: u32,
    children: Vec<ActorId>,
    got: u64,
}

impl Mixer {
    fn new() -> Self {
        Mixer { peers: Vec::new(), rounds: 0, children: Vec::new(), got: 0 }
    }

    fn pick(&self, ctx: &mut Ctx<'_, Self>) -> Option<ActorId> {
        if self.peers.is_empty() {
            return None;
        }
        let i = ctx.random_below(self.peers.len() as u64) as usize;
        Some(self.peers[i])
    }
}

impl Actor for Mixer {
    type Msg = Msg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        let after = 1_000_000 + ctx.random_below(1_000_000);
        ctx.set_timer(after, 0);
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, Self>) {
        self.got += 1;
        match msg {
            Msg::Ping(n) => {
                if let Some(to) = ctx.reply_to() {
                    // Some asks go unanswered (they time out).
                    if n % 5 != 0 {
                        ctx.reply(to, Msg::Pong(n));
                    }
                }
            }
            Msg::Pong(_) => {}
            Msg::Work(n) => {
                if n % 3 == 0 {
                    // Postpone: messages queue (and overflow) meanwhile.
                    ctx.set_accepting(false);
                    ctx.set_timer(2_000_000, 1);
                }
                if n > 0 && n % 4 == 1 {
                    if let Some(to) = self.pick(ctx) {
                        ctx.tell(to, Msg::Work(n - 1));
                    }
                }
            }
        }
    }

    fn on_timer(&mut self, _: TimerId, tag: u64, ctx: &mut Ctx<'_, Self>) {
        if tag == 1 {
            ctx.set_accepting(true);
            return;
        }
        self.rounds += 1;
        if self.rounds > 30 {
            return;
        }
        let r = ctx.random_u64();
        if let Some(to) = self.pick(ctx) {
            ctx.ask(to, Msg::Ping(r as u32 % 100), 1_500_000 + r % 3_000_000);
            for k in 0..(r % 4) as u32 {
                ctx.tell(to, Msg::Work(k * 7 + (r as u32 % 11)));
            }
        }
        match r % 9 {
            0 if !self.peers.is_empty() => {
                let child = ctx.spawn(Mixer::new());
                self.children.push(child);
                ctx.tell(child, Msg::Work(5));
            }
            1 => {
                if let Some(c) = self.children.pop() {
                    ctx.kill(c);
                }
            }
            2 => {
                let t = ctx.set_timer(500_000, 2);
                ctx.cancel_timer(t);
            }
            3 => {
                ctx.call(rehearsal_runtime::ServiceId(1), 10, r, 2_000_000);
            }
            _ => {}
        }
        let next = 500_000 + ctx.random_below(2_000_000);
        ctx.set_timer(next, 0);
    }

    fn on_response(&mut self, _: RequestId, response: Response<Msg>, ctx: &mut Ctx<'_, Self>) {
        if let Response::Reply(Msg::Pong(n)) = response {
            if n % 7 == 0 && n > 0 {
                let me = ctx.me();
                ctx.tell(me, Msg::Work(n / 7));
            }
        }
    }

    fn on_undelivered(&mut self, _: ActorId, _: Msg, _: &mut Ctx<'_, Self>) {
        self.got += 1000;
    }
}

fn run(seed: u64, nodes: u16) -> (u64, u64) {
    let (hash, events, _) = run_keeping(seed, nodes, None);
    (hash, events)
}

/// The run, keeping a structured record of at most `activity` records.
fn run_keeping(seed: u64, nodes: u16, activity: Option<usize>) -> (u64, u64, Option<ActivityLog>) {
    let config = SimConfig {
        seed,
        limits: Limits { max_events: 2_000_000, ..Limits::default() },
        system: SystemConfig { mailbox_capacity: 2, overflow: OverflowPolicy::Reject },
        network: Network {
            local: Latency::Fixed(100_000),
            remote: Latency::Sampled(Dist::Exponential { mean: 800_000.0 }),
            ..Network::default()
        },
        record_trace: false,
        trace: Default::default(),
        activity,
        buggify: rehearsal_sim::buggify::BuggifyConfig::off(),
    };
    let mut sim: Sim<Mixer, EmptyWorld> = Sim::new(config, EmptyWorld);
    let ids: Vec<ActorId> = (0..40).map(|i| sim.spawn(NodeId(i % nodes), Mixer::new())).collect();
    for &a in &ids {
        for &b in &ids {
            if a != b && (a.index() + b.index()) % 3 == 0 {
                sim.system_mut().actor_mut(a).unwrap().peers.push(b);
            }
        }
    }
    for (i, &id) in ids.iter().enumerate().step_by(7) {
        sim.kernel_mut().fault_at(10_000_000 + i as u64 * 1_000_000, Fault::CrashActor(id));
    }
    sim.run().unwrap();
    let stats = sim.system().stats();
    assert!(stats.bounced > 0 && stats.dropped > 0 && stats.timeouts > 0);
    assert!(stats.late_replies > 0 && stats.spawned > 40 && stats.stopped > 0);
    (sim.trace_hash(), sim.kernel().events(), sim.kernel_mut().take_activity())
}

#[test]
fn mixed_run_trace_hash_is_pinned() {
    let (hash, events) = run(7, 3);
    // Re-pinned when supervision arrived: killing is a signal that travels,
    // crashes carry their reason, and parents hear of their children's end.
    // Re-pinned when service calls began to carry their caller's timeout
    // (the traced call changed) and became cancellable: a call that times
    // out (or whose caller dies) folds a `ServiceCancel` (same events).
    // Re-pinned when a call began to carry its caller's trace context (the
    // traced call changed again; same events).
    assert_eq!((hash, events), (0xb287_31bf_91b6_5d00, 10_741), "{hash:#x} {events}");
    assert_eq!(run(7, 3), (hash, events));
}

/// Keeping the structured record for timeline viewers leaves the pinned
/// run as it is, and the record tells the run's story: every message
/// handled on arrival links back to its send, arriving when the send said.
#[test]
fn the_activity_record_leaves_the_run_alone_and_links_messages() {
    let (hash, events) = run(7, 3);
    let (kept_hash, kept_events, log) = run_keeping(7, 3, Some(1_000_000));
    assert_eq!((kept_hash, kept_events), (hash, events));
    let log = log.expect("kept");
    assert_eq!(log.omitted(), 0);
    assert!(log.spawns().len() > 40);
    let sends: std::collections::BTreeMap<u64, (ActorId, u64)> = log
        .records()
        .iter()
        .filter_map(|r| match r.what {
            What::Send { to, message, arrives_at, how, .. } => {
                assert_ne!(how, SendKind::Released { at: 0 }, "nothing is clogged here");
                Some((message, (to, arrives_at)))
            }
            _ => None,
        })
        .collect();
    // Each arrival (a turn, a message queued, dropped or too late) that
    // takes a message id: sent to that actor, arriving then, taken once.
    let mut taken = std::collections::BTreeSet::new();
    for r in log.records() {
        let (actor, message) = match r.what {
            What::Turn { actor, message, .. }
            | What::Queued { actor, message, .. }
            | What::Dropped { actor, message, .. }
            | What::LateReply { actor, message } => (actor, message),
            _ => continue,
        };
        if let Some(m) = message {
            let &(to, arrives_at) = sends.get(&m).expect("a linked message was sent");
            assert_eq!((to, arrives_at), (actor, r.at));
            assert!(taken.insert(m), "message {m} arrived twice");
        }
    }
    // The rest were lost, or went back to senders that had died.
    assert!(taken.len() * 4 > sends.len() * 3, "{} of {} sends linked", taken.len(), sends.len());
    assert!(log.records().iter().any(|r| matches!(r.what, What::Fault { .. })));
    assert!(log.records().iter().any(|r| matches!(r.what, What::Stopped { .. })));

    // A smaller record stops early and says when.
    let (_, _, short) = run_keeping(7, 3, Some(100));
    let short = short.expect("kept");
    assert_eq!(short.records().len(), 100);
    assert_eq!(short.records(), &log.records()[..100]);
    assert!(short.omitted() > 0 && short.complete_until() >= short.records().last().map(|r| r.at));
}
