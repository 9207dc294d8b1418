//! The runtime driven by a minimal hand-written environment (no simulator):
//! asks and replies, timeouts and late replies, timers, mailbox overflow
//! policies, spawn and stop. Also checks the runtime's source for the
//! things it must never use.

use std::collections::{BTreeMap, VecDeque};

use rehearsal_runtime::*;

/// A tiny deterministic driver: a FIFO of pending deliveries, timers by
/// due time; messages arrive in send order, taking no time.
#[derive(Default)]
struct TestEnv {
    now: Nanos,
    inbox: VecDeque<(ActorId, Envelope<Msg>)>,
    signals: VecDeque<(ActorId, Signal)>,
    timers: BTreeMap<(Nanos, u64), (ActorId, TimerId, TimerKind)>,
    external_replies: Vec<(RequestId, Msg)>,
    calls: Vec<(ActorId, RequestId, ServiceCall)>,
    /// Service calls cancelled, in order.
    cancels: Vec<(ActorId, RequestId)>,
    /// The failure-detection delay between two different nodes.
    detection: Nanos,
    trace: Vec<String>,
    counter: u64,
}

impl Entropy for TestEnv {
    fn next_u64(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }
}

impl Env<Msg> for TestEnv {
    fn now(&self) -> Nanos {
        self.now
    }
    fn transmit(&mut self, _: NodeId, _: NodeId, to: ActorId, envelope: Envelope<Msg>) {
        self.inbox.push_back((to, envelope));
    }
    fn signal(&mut self, _: NodeId, _: NodeId, to: ActorId, signal: Signal) {
        self.signals.push_back((to, signal));
    }
    fn reply_external(&mut self, _: ActorId, request: RequestId, msg: Msg) {
        self.external_replies.push((request, msg));
    }
    fn schedule_timer(&mut self, owner: ActorId, timer: TimerId, kind: TimerKind, at: Nanos) {
        self.timers.insert((at, timer.0), (owner, timer, kind));
    }
    fn call_service(&mut self, caller: ActorId, _: NodeId, request: RequestId, call: ServiceCall) {
        self.calls.push((caller, request, call));
    }
    fn cancel_call(&mut self, caller: ActorId, request: RequestId) {
        self.cancels.push((caller, request));
    }
    fn failure_detection_delay(&self, observer: NodeId, subject: NodeId) -> Nanos {
        if observer == subject { 0 } else { self.detection }
    }
    fn trace(&mut self, event: TraceEvent<'_, Msg>) {
        self.trace.push(format!("{event:?}"));
    }
}

/// Deliver everything in flight, then fire due timers, until quiet or `until`.
fn settle(sys: &mut System<TestActor>, env: &mut TestEnv, until: Nanos) {
    loop {
        if let Some((to, envelope)) = env.inbox.pop_front() {
            sys.deliver(env, to, envelope);
            continue;
        }
        if let Some((to, signal)) = env.signals.pop_front() {
            sys.deliver_signal(env, to, signal);
            continue;
        }
        let Some((&(at, id), _)) = env.timers.iter().next() else { return };
        if at > until {
            return;
        }
        let (owner, timer, kind) = env.timers.remove(&(at, id)).unwrap();
        env.now = env.now.max(at);
        sys.fire_timer(env, owner, timer, kind);
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
enum Msg {
    Ping(u32),
    Pong(u32),
    AskPeer {
        peer: ActorId,
        timeout: Nanos,
    },
    /// Stop accepting messages until a timer `after` from now.
    BusyFor(Nanos),
    Arm {
        after: Nanos,
        cancel: bool,
    },
    Spawn,
    Stop,
    /// Call service 1 with this timeout.
    Call {
        timeout: Nanos,
    },
    /// Cancel this actor's latest ask or call.
    CancelLatest,
    /// Record what `whereis(name)` and `node_is_up(node)` say now.
    Look {
        name: u64,
        node: NodeId,
    },
    /// Register under this name.
    Register(u64),
}

/// Timer tag that makes a busy actor accept messages again.
const READY: u64 = 1_000;

#[derive(Debug, Default)]
struct TestActor {
    /// Answer pings (false: stay silent, so asks time out).
    answers: bool,
    seen: Vec<u32>,
    responses: Vec<String>,
    timers: Vec<u64>,
    undelivered: Vec<Msg>,
    children: Vec<ActorId>,
    /// Its asks and calls, in order.
    requests: Vec<RequestId>,
    /// What each `Look` saw: the time, the name's holder, whether the node is up.
    looks: Vec<(Nanos, Option<ActorId>, bool)>,
}

impl Actor for TestActor {
    type Msg = Msg;

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, Self>) {
        match msg {
            Msg::Ping(n) => {
                self.seen.push(n);
                if let (true, Some(reply)) = (self.answers, ctx.reply_to()) {
                    ctx.reply(reply, Msg::Pong(n));
                }
            }
            Msg::Pong(_) => {}
            Msg::AskPeer { peer, timeout } => {
                let r = ctx.ask(peer, Msg::Ping(99), timeout);
                self.requests.push(r);
            }
            Msg::Call { timeout } => {
                let r = ctx.call(ServiceId(1), 10, 0, timeout);
                self.requests.push(r);
            }
            Msg::CancelLatest => {
                if let Some(&r) = self.requests.last() {
                    ctx.cancel(r);
                }
            }
            Msg::Look { name, node } => self.looks.push((ctx.now(), ctx.whereis(name), ctx.node_is_up(node))),
            Msg::Register(name) => ctx.register(name),
            Msg::BusyFor(after) => {
                ctx.set_accepting(false);
                ctx.set_timer(after, READY);
            }
            Msg::Arm { after, cancel } => {
                let t = ctx.set_timer(after, 7);
                if cancel {
                    ctx.cancel_timer(t);
                }
            }
            Msg::Spawn => {
                let child = ctx.spawn(TestActor { answers: true, ..TestActor::default() });
                self.children.push(child);
                ctx.tell(child, Msg::Ping(1));
            }
            Msg::Stop => ctx.stop(),
        }
    }

    fn on_response(&mut self, _: RequestId, response: Response<Msg>, _: &mut Ctx<'_, Self>) {
        self.responses.push(format!("{response:?}"));
    }

    fn on_timer(&mut self, _: TimerId, tag: u64, ctx: &mut Ctx<'_, Self>) {
        if tag == READY {
            ctx.set_accepting(true);
        } else {
            self.timers.push(tag);
        }
    }

    fn on_undelivered(&mut self, _: ActorId, msg: Msg, _: &mut Ctx<'_, Self>) {
        self.undelivered.push(msg);
    }
}

fn tell(env: &mut TestEnv, to: ActorId, msg: Msg) {
    env.inbox.push_back((to, Envelope { from: ActorId::EXTERNAL, route: Route::Tell, msg }));
}

fn setup(config: SystemConfig) -> (System<TestActor>, TestEnv, ActorId, ActorId) {
    let mut env = TestEnv::default();
    let mut sys = System::new(config);
    let a = sys.spawn(&mut env, NodeId(0), TestActor::default());
    let b = sys.spawn(&mut env, NodeId(0), TestActor { answers: true, ..TestActor::default() });
    (sys, env, a, b)
}

#[test]
fn ask_reply_is_routed_back_to_the_asker() {
    let (mut sys, mut env, a, b) = setup(SystemConfig::default());
    tell(&mut env, a, Msg::AskPeer { peer: b, timeout: 100 });
    settle(&mut sys, &mut env, 1_000);
    assert_eq!(sys.actor(b).unwrap().seen, vec![99]);
    assert_eq!(sys.actor(a).unwrap().responses, vec!["Reply(Pong(99))"]);
    assert_eq!(sys.pending_requests(), 0);
}

#[test]
fn ask_times_out_and_a_late_reply_is_dropped_and_counted() {
    let (mut sys, mut env, a, b) = setup(SystemConfig::default());
    // `b` is busy until t=200, so the ask waits in its mailbox past the
    // 100 ns timeout; the reply then comes late.
    tell(&mut env, b, Msg::BusyFor(200));
    tell(&mut env, a, Msg::AskPeer { peer: b, timeout: 100 });
    settle(&mut sys, &mut env, 1_000);
    assert_eq!(sys.actor(b).unwrap().seen, vec![99], "b answered after its busy spell");
    assert_eq!(sys.actor(a).unwrap().responses, vec!["Timeout"], "only the timeout reached a");
    assert_eq!(sys.stats().late_replies, 1);
    assert_eq!(sys.stats().timeouts, 1);
    assert_eq!(sys.pending_requests(), 0);
}

#[test]
fn external_asks_reply_to_the_driver() {
    let (mut sys, mut env, _, b) = setup(SystemConfig::default());
    let ask = Envelope { from: ActorId::EXTERNAL, route: Route::Ask(RequestId(5)), msg: Msg::Ping(3) };
    sys.deliver(&mut env, b, ask);
    assert_eq!(env.external_replies, vec![(RequestId(5), Msg::Pong(3))]);
}

#[test]
fn timers_fire_and_cancelled_timers_do_not() {
    let (mut sys, mut env, a, _) = setup(SystemConfig::default());
    tell(&mut env, a, Msg::Arm { after: 10, cancel: false });
    tell(&mut env, a, Msg::Arm { after: 20, cancel: true });
    settle(&mut sys, &mut env, 1_000);
    assert_eq!(sys.actor(a).unwrap().timers, vec![7]);
}

fn overflow(policy: OverflowPolicy) -> (Vec<u32>, RuntimeStats, Vec<Msg>) {
    let (mut sys, mut env, a, b) = setup(SystemConfig { mailbox_capacity: 2, overflow: policy });
    tell(&mut env, b, Msg::BusyFor(100));
    settle(&mut sys, &mut env, 0);
    for n in 1..=4 {
        // Sent by actor `a`, so a bounce has somewhere to go.
        env.inbox.push_back((b, Envelope { from: a, route: Route::Tell, msg: Msg::Ping(n) }));
    }
    settle(&mut sys, &mut env, 1_000);
    let seen = sys.actor(b).unwrap().seen.clone();
    (seen, sys.stats(), sys.actor(a).unwrap().undelivered.clone())
}

#[test]
fn full_mailbox_rejects_to_the_sender() {
    let (seen, stats, undelivered) = overflow(OverflowPolicy::Reject);
    assert_eq!(seen, vec![1, 2]);
    assert_eq!(stats.bounced, 2);
    assert_eq!(undelivered, vec![Msg::Ping(3), Msg::Ping(4)], "the sender gets its refused messages back");
}

#[test]
fn full_mailbox_drops_newest_or_oldest() {
    let (seen, stats, undelivered) = overflow(OverflowPolicy::DropNewest);
    assert_eq!(seen, vec![1, 2]);
    assert!(undelivered.is_empty());
    assert_eq!(stats.dropped, 2);
    let (seen, stats, _) = overflow(OverflowPolicy::DropOldest);
    assert_eq!(seen, vec![3, 4]);
    assert_eq!(stats.dropped, 2);
    assert_eq!(stats.mailbox_high_water, 2);
}

#[test]
fn spawned_children_start_and_stopped_actors_drop_their_mail() {
    let (mut sys, mut env, a, _) = setup(SystemConfig::default());
    tell(&mut env, a, Msg::Spawn);
    settle(&mut sys, &mut env, 0);
    let child = sys.actor(a).unwrap().children[0];
    assert_eq!(sys.actor(child).unwrap().seen, vec![1]);
    tell(&mut env, child, Msg::Stop);
    settle(&mut sys, &mut env, 0);
    assert!(!sys.is_alive(child));
    let dropped = sys.stats().dropped;
    tell(&mut env, child, Msg::Ping(2));
    settle(&mut sys, &mut env, 0);
    assert_eq!(sys.stats().dropped, dropped + 1, "mail to a stopped actor is dropped and counted");
    // The slot is reused with a new generation: the old address stays dead.
    tell(&mut env, a, Msg::Spawn);
    settle(&mut sys, &mut env, 0);
    let second = sys.actor(a).unwrap().children[1];
    assert_eq!(second.index(), child.index());
    assert_ne!(second, child);
    assert!(!sys.is_alive(child));
}

#[test]
fn service_calls_go_to_the_driver_and_complete() {
    #[derive(Debug)]
    struct Caller(Vec<String>);
    impl Actor for Caller {
        type Msg = Msg;
        fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
            ctx.call(ServiceId(3), 10, 42, 1_000);
        }
        fn handle(&mut self, _: Msg, _: &mut Ctx<'_, Self>) {}
        fn on_response(&mut self, _: RequestId, r: Response<Msg>, _: &mut Ctx<'_, Self>) {
            self.0.push(format!("{r:?}"));
        }
    }
    struct CallEnv(TestEnv);
    let mut env = CallEnv(TestEnv::default());
    impl Entropy for CallEnv {
        fn next_u64(&mut self) -> u64 {
            self.0.next_u64()
        }
    }
    impl Env<Msg> for CallEnv {
        fn now(&self) -> Nanos {
            self.0.now
        }
        fn transmit(&mut self, a: NodeId, b: NodeId, to: ActorId, e: Envelope<Msg>) {
            self.0.transmit(a, b, to, e)
        }
        fn signal(&mut self, a: NodeId, b: NodeId, to: ActorId, s: Signal) {
            self.0.signal(a, b, to, s)
        }
        fn reply_external(&mut self, f: ActorId, r: RequestId, m: Msg) {
            self.0.reply_external(f, r, m)
        }
        fn schedule_timer(&mut self, o: ActorId, t: TimerId, k: TimerKind, at: Nanos) {
            self.0.schedule_timer(o, t, k, at)
        }
        fn call_service(&mut self, c: ActorId, n: NodeId, r: RequestId, call: ServiceCall) {
            self.0.call_service(c, n, r, call)
        }
        fn trace(&mut self, _: TraceEvent<'_, Msg>) {}
    }
    let mut sys = System::new(SystemConfig::default());
    let caller = sys.spawn(&mut env, NodeId(0), Caller(vec![]));
    let (who, request, call) = env.0.calls[0];
    assert_eq!((who, call.service, call.idempotency_key), (caller, ServiceId(3), 42));
    sys.complete_call(&mut env, caller, request, ServiceOutcome::Ok { output_tokens: 5 });
    sys.complete_call(&mut env, caller, request, ServiceOutcome::Ok { output_tokens: 5 });
    assert_eq!(sys.actor(caller).unwrap().0, vec!["Service(Ok { output_tokens: 5 })"]);
    assert_eq!(sys.stats().late_replies, 1, "a second answer is late");
}

// ---------------------------------------------------------------------
// Cancelling service calls: by timeout, by `Ctx::cancel`, by death.

fn requests(sys: &System<TestActor>, id: ActorId) -> Vec<RequestId> {
    sys.actor(id).unwrap().requests.clone()
}

const OK: ServiceOutcome = ServiceOutcome::Ok { output_tokens: 1 };

#[test]
fn a_service_call_that_times_out_is_cancelled_once_and_its_answer_is_late() {
    let (mut sys, mut env, a, _) = setup(SystemConfig::default());
    tell(&mut env, a, Msg::Call { timeout: 100 });
    settle(&mut sys, &mut env, 1_000);
    let r = requests(&sys, a)[0];
    assert_eq!(env.cancels, vec![(a, r)]);
    assert_eq!(sys.actor(a).unwrap().responses, vec!["Timeout"]);
    sys.complete_call(&mut env, a, r, OK);
    assert_eq!(sys.stats().late_replies, 1);
    assert_eq!(env.cancels.len(), 1, "a late answer cancels nothing more");
    assert_eq!(sys.actor(a).unwrap().responses, vec!["Timeout"]);
}

#[test]
fn an_answered_call_is_not_cancelled() {
    let (mut sys, mut env, a, _) = setup(SystemConfig::default());
    tell(&mut env, a, Msg::Call { timeout: 100 });
    settle(&mut sys, &mut env, 0);
    sys.complete_call(&mut env, a, requests(&sys, a)[0], OK);
    settle(&mut sys, &mut env, 1_000);
    assert!(env.cancels.is_empty());
    assert_eq!(sys.actor(a).unwrap().responses, vec!["Service(Ok { output_tokens: 1 })"]);
    assert_eq!(sys.stats().timeouts, 0);
}

#[test]
fn ctx_cancel_cancels_a_call_once_and_its_answer_is_late() {
    let (mut sys, mut env, a, _) = setup(SystemConfig::default());
    tell(&mut env, a, Msg::Call { timeout: 100 });
    tell(&mut env, a, Msg::CancelLatest);
    tell(&mut env, a, Msg::CancelLatest);
    settle(&mut sys, &mut env, 0);
    let r = requests(&sys, a)[0];
    assert_eq!(env.cancels, vec![(a, r)], "cancelling twice cancels once");
    assert_eq!(sys.pending_requests(), 0);
    sys.complete_call(&mut env, a, r, OK);
    settle(&mut sys, &mut env, 1_000);
    assert!(sys.actor(a).unwrap().responses.is_empty(), "neither the answer nor the timeout reaches the handler");
    assert_eq!((sys.stats().late_replies, sys.stats().timeouts), (1, 0));
    assert_eq!(env.cancels.len(), 1);
}

#[test]
fn ctx_cancel_forgets_an_ask_and_sends_nothing() {
    let (mut sys, mut env, a, b) = setup(SystemConfig::default());
    // `b` answers at t=200, after `a` gave up on its ask.
    tell(&mut env, b, Msg::BusyFor(200));
    tell(&mut env, a, Msg::AskPeer { peer: b, timeout: 1_000 });
    tell(&mut env, a, Msg::CancelLatest);
    settle(&mut sys, &mut env, 2_000);
    assert_eq!(sys.actor(b).unwrap().seen, vec![99], "b got the ask once, and nothing else");
    assert!(sys.actor(a).unwrap().responses.is_empty());
    assert_eq!((sys.stats().late_replies, sys.stats().timeouts), (1, 0));
    assert!(env.cancels.is_empty(), "an ask is not a service call");
    assert_eq!(sys.pending_requests(), 0);
}

#[test]
fn a_dying_actor_s_pending_calls_are_cancelled_in_call_order() {
    let (mut sys, mut env, a, _) = setup(SystemConfig::default());
    for _ in 0..3 {
        tell(&mut env, a, Msg::Call { timeout: 1_000 });
    }
    settle(&mut sys, &mut env, 0);
    let r = requests(&sys, a);
    sys.complete_call(&mut env, a, r[0], OK);
    tell(&mut env, a, Msg::Stop);
    settle(&mut sys, &mut env, 0);
    assert_eq!(env.cancels, vec![(a, r[1]), (a, r[2])], "the answered call is not cancelled");
    // An answer for the dead caller is dropped with it (not a late reply),
    // and the timeouts cancel nothing more.
    sys.complete_call(&mut env, a, r[1], OK);
    settle(&mut sys, &mut env, 2_000);
    assert_eq!(sys.stats().late_replies, 0);
    assert_eq!(env.cancels.len(), 2);
    assert_eq!(sys.pending_requests(), 0);
}

// ---------------------------------------------------------------------
// What an actor knows of remote liveness comes through the failure detector.

const NAME: u64 = 5;

/// `a` on node 0 looks up `NAME` and node 1 at `now`.
fn look(sys: &mut System<TestActor>, env: &mut TestEnv, a: ActorId, now: Nanos) -> (Nanos, Option<ActorId>, bool) {
    env.now = now;
    tell(env, a, Msg::Look { name: NAME, node: NodeId(1) });
    settle(sys, env, now);
    *sys.actor(a).unwrap().looks.last().unwrap()
}

/// Spawn an actor on `node` that registers `NAME`.
fn holder(sys: &mut System<TestActor>, env: &mut TestEnv, node: u16) -> ActorId {
    let w = sys.spawn(env, NodeId(node), TestActor::default());
    tell(env, w, Msg::Register(NAME));
    settle(sys, env, env.now);
    w
}

#[test]
fn a_node_crash_is_seen_from_other_nodes_after_the_failure_detection_delay() {
    let mut env = TestEnv { detection: 100, ..TestEnv::default() };
    let mut sys = System::new(SystemConfig::default());
    let a = sys.spawn(&mut env, NodeId(0), TestActor::default());
    let w = holder(&mut sys, &mut env, 1);
    env.now = 10;
    sys.crash_node(&mut env, NodeId(1));
    assert_eq!(sys.whereis(NAME), None, "the world's view is the truth");
    assert!(!sys.node_is_up(NodeId(1)));
    assert_eq!(look(&mut sys, &mut env, a, 10), (10, Some(w), true));
    assert_eq!(look(&mut sys, &mut env, a, 109), (109, Some(w), true));
    assert_eq!(look(&mut sys, &mut env, a, 110), (110, None, false));
}

#[test]
fn a_restart_a_new_registration_and_a_single_crash_are_seen_at_once() {
    let mut env = TestEnv { detection: 100, ..TestEnv::default() };
    let mut sys = System::new(SystemConfig::default());
    let a = sys.spawn(&mut env, NodeId(0), TestActor::default());
    let w = holder(&mut sys, &mut env, 1);
    env.now = 10;
    sys.crash_node(&mut env, NodeId(1));
    assert_eq!(look(&mut sys, &mut env, a, 20), (20, Some(w), true));
    // The node restarts before the crash is detected: up at once, and the
    // deaths of its crash known at once.
    sys.restart_node(NodeId(1));
    assert_eq!(look(&mut sys, &mut env, a, 20), (20, None, true));
    // A new holder is seen at once; the crash of one actor on a live node
    // too (its node's runtime reports it).
    env.now = 30;
    let w2 = holder(&mut sys, &mut env, 1);
    assert_eq!(look(&mut sys, &mut env, a, 30), (30, Some(w2), true));
    sys.crash(&mut env, w2);
    assert_eq!(look(&mut sys, &mut env, a, 30), (30, None, true));
    // A holder dies with its node, and another registers the name on a
    // third node before the crash is detected: the new holder is seen.
    let w3 = holder(&mut sys, &mut env, 1);
    env.now = 40;
    sys.crash_node(&mut env, NodeId(1));
    assert_eq!(look(&mut sys, &mut env, a, 41), (41, Some(w3), true));
    let w4 = holder(&mut sys, &mut env, 2);
    assert_eq!(look(&mut sys, &mut env, a, 42), (42, Some(w4), true));
    assert_eq!(look(&mut sys, &mut env, a, 140), (140, Some(w4), false));
}

#[test]
fn a_death_on_the_observer_s_own_node_is_seen_at_once() {
    let mut env = TestEnv { detection: 100, ..TestEnv::default() };
    let mut sys = System::new(SystemConfig::default());
    let a = sys.spawn(&mut env, NodeId(0), TestActor::default());
    let w = holder(&mut sys, &mut env, 0);
    assert_eq!(look(&mut sys, &mut env, a, 0), (0, Some(w), true));
    env.now = 10;
    sys.crash(&mut env, w);
    assert_eq!(look(&mut sys, &mut env, a, 10), (10, None, true));
}

/// The runtime's absence of clocks, randomness and I/O, checked on its
/// source (clippy.toml checks the same through `disallowed-methods`).
#[test]
fn runtime_source_reads_no_clock_no_rng_and_does_no_io() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let forbidden = [
        "std::time",
        "Instant",
        "SystemTime",
        "thread_rng",
        "getrandom",
        "rand::",
        "std::fs",
        "std::net",
        "std::io",
        "std::thread",
        "std::env",
        "HashMap<",
        "HashSet<",
        "RandomState",
    ];
    // Every `.rs` file under `src/`, modules split into directories too.
    let mut files = Vec::new();
    let mut dirs = vec![dir];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut checked = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for word in forbidden {
                // FxHashMap/FxHashSet are fixed-seed and allowed.
                let hit = line.match_indices(word).any(|(i, _)| !line[..i].ends_with("Fx"));
                assert!(!hit, "{}: `{word}` in: {line}", path.display());
            }
        }
        checked += 1;
    }
    assert!(checked >= 8);
}
