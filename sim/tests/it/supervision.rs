//! Supervisors (`rehearsal_runtime::supervisor`) driven in the real kernel:
//! one test per rule (strategies, restart types, intensity, decider,
//! shutdown, backoff and stash, Ray `max_restarts`, node crashes, nesting),
//! and a property test over random trees and random failures.

use std::cell::RefCell;
use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::strategy::Strategy as _;
use rehearsal_runtime::supervisor::{
    Backoff, ChildSpec, Intensity, Restart, Strategy, Supervisor, SupervisorSpec, WhenDown,
};
use rehearsal_runtime::{Actor, ActorId, Ctx, Decider, Directive, Envelope, Nanos, NodeId, Route, Signal, TimerId};
use rehearsal_sim::{EmptyWorld, Fault, Sim, SimConfig};

const MS: Nanos = 1_000_000;

/// What the actors report, in the order it happens.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ev {
    Start { id: u64, inc: u32, at: Nanos, node: u16 },
    GotShutdown { id: u64, at: Nanos },
    Got { id: u64, n: u64 },
    SupExited { name: u64, escalated: bool, at: Nanos },
}

thread_local! {
    static LOG: RefCell<Vec<Ev>> = const { RefCell::new(Vec::new()) };
    /// Specs of nested supervisors, by child id (a `ChildSpec::start` is a
    /// plain `fn`, so it finds its spec here).
    static SPECS: RefCell<BTreeMap<u64, SupervisorSpec<TestActor>>> = const { RefCell::new(BTreeMap::new()) };
}

fn log(ev: Ev) {
    LOG.with(|l| l.borrow_mut().push(ev));
}

fn take_log() -> Vec<Ev> {
    LOG.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

#[derive(Clone, Debug, Hash)]
enum Msg {
    Incr,
    Fail(u16),
    Panic,
    Stop,
    Data(u64),
    /// To a supervisor: `start_child(id)`.
    StartChild(u64),
    /// To a supervisor: shut yourself down (as a parent would).
    ShutdownMe,
}

#[derive(Debug)]
struct Worker {
    id: u64,
    count: u64,
    /// Ignores `Shutdown` (to be killed after its timeout).
    stubborn: bool,
}

#[derive(Debug)]
struct SupActor {
    name: u64,
    sup: Supervisor<TestActor>,
    logged_exit: bool,
}

#[derive(Debug)]
enum TestActor {
    Sup(Box<SupActor>),
    Worker(Worker),
}

impl SupActor {
    fn after(&mut self, ctx: &Ctx<'_, TestActor>) {
        if self.sup.has_exited() && !self.logged_exit {
            self.logged_exit = true;
            log(Ev::SupExited { name: self.name, escalated: self.sup.escalated(), at: ctx.now() });
        }
    }
}

impl Actor for TestActor {
    type Msg = Msg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        match self {
            TestActor::Sup(s) => s.sup.on_start(ctx),
            TestActor::Worker(w) => {
                let inc = INC.with(|i| i.borrow_mut().remove(&w.id)).unwrap_or(0);
                log(Ev::Start { id: w.id, inc, at: ctx.now(), node: ctx.node().0 })
            }
        }
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx<'_, Self>) {
        match self {
            TestActor::Sup(s) => {
                match msg {
                    Msg::StartChild(id) => {
                        s.sup.start_child(ctx, id);
                    }
                    Msg::ShutdownMe => ctx.shutdown(ctx.me()),
                    other => s.sup.on_message(other, ctx),
                }
                s.after(ctx);
            }
            TestActor::Worker(w) => match msg {
                Msg::Incr => w.count += 1,
                Msg::Fail(code) => {
                    w.count += 1000;
                    ctx.fail(code)
                }
                Msg::Panic => {
                    w.count += 1000;
                    panic!("worker {} panics on purpose", w.id)
                }
                Msg::Stop => ctx.stop(),
                Msg::Data(n) => log(Ev::Got { id: w.id, n }),
                Msg::StartChild(_) | Msg::ShutdownMe => {}
            },
        }
    }

    fn on_timer(&mut self, timer: TimerId, tag: u64, ctx: &mut Ctx<'_, Self>) {
        if let TestActor::Sup(s) = self {
            assert!(s.sup.on_timer(timer, tag, ctx), "only the supervisor sets timers");
            s.after(ctx);
        }
    }

    fn on_signal(&mut self, signal: Signal, ctx: &mut Ctx<'_, Self>) {
        match self {
            TestActor::Sup(s) => {
                s.sup.on_signal(signal, ctx);
                s.after(ctx);
            }
            TestActor::Worker(w) => {
                if signal == Signal::Shutdown {
                    log(Ev::GotShutdown { id: w.id, at: ctx.now() });
                    if !w.stubborn {
                        ctx.exit(rehearsal_runtime::ExitReason::Shutdown);
                    }
                }
            }
        }
    }
}

thread_local! {
    /// The incarnation a worker is being started as (passed from `start`
    /// to `on_start`).
    static INC: RefCell<BTreeMap<u64, u32>> = const { RefCell::new(BTreeMap::new()) };
}

fn worker(id: u64, inc: u32) -> TestActor {
    INC.with(|i| i.borrow_mut().insert(id, inc));
    TestActor::Worker(Worker { id, count: 0, stubborn: false })
}

fn stubborn(id: u64, inc: u32) -> TestActor {
    INC.with(|i| i.borrow_mut().insert(id, inc));
    TestActor::Worker(Worker { id, count: 0, stubborn: true })
}

fn nested(id: u64, _: u32) -> TestActor {
    let spec = SPECS.with(|s| s.borrow().get(&id).cloned()).expect("spec of a nested supervisor");
    sup_actor(id, spec)
}

fn sup_actor(name: u64, spec: SupervisorSpec<TestActor>) -> TestActor {
    TestActor::Sup(Box::new(SupActor { name, sup: Supervisor::new(spec), logged_exit: false }))
}

fn child(id: u64, restart: Restart) -> ChildSpec<TestActor> {
    ChildSpec { restart, shutdown: MS, ..ChildSpec::new(id, worker) }
}

fn spec(strategy: Strategy, children: Vec<ChildSpec<TestActor>>) -> SupervisorSpec<TestActor> {
    SupervisorSpec {
        intensity: Intensity { max_restarts: 100, period: 1_000 * MS },
        ..SupervisorSpec::new(strategy, children)
    }
}

type TestSim = Sim<TestActor, EmptyWorld>;

fn start(spec: SupervisorSpec<TestActor>) -> (TestSim, ActorId) {
    take_log();
    let mut sim: TestSim = Sim::new(SimConfig::default(), EmptyWorld);
    let sup = sim.spawn(NodeId(0), sup_actor(0, spec));
    (sim, sup)
}

fn sup(sim: &TestSim, id: ActorId) -> &Supervisor<TestActor> {
    match sim.system().actor(id) {
        Some(TestActor::Sup(s)) => &s.sup,
        other => panic!("{id} is not a live supervisor: {other:?}"),
    }
}

fn worker_state(sim: &TestSim, id: ActorId) -> &Worker {
    match sim.system().actor(id) {
        Some(TestActor::Worker(w)) => w,
        other => panic!("{id} is not a live worker: {other:?}"),
    }
}

fn tell(sim: &mut TestSim, at: Nanos, to: ActorId, msg: Msg) {
    sim.kernel_mut().deliver_at(at, to, Envelope { from: ActorId::EXTERNAL, route: Route::Tell, msg });
}

/// Run to just before `at`, then crash the current incarnation of child
/// `id` of `sup` at `at`, and run through `at`.
fn crash_child_at(sim: &mut TestSim, s: ActorId, id: u64, at: Nanos) {
    sim.run_until(at - 1).unwrap();
    let child = sup(sim, s).child(id).expect("child running");
    sim.kernel_mut().fault_at(at, Fault::CrashActor(child));
    sim.run_until(at).unwrap();
}

fn starts(log: &[Ev]) -> Vec<(u64, u32)> {
    log.iter().filter_map(|e| if let Ev::Start { id, inc, .. } = e { Some((*id, *inc)) } else { None }).collect()
}

fn shutdowns(log: &[Ev]) -> Vec<u64> {
    log.iter().filter_map(|e| if let Ev::GotShutdown { id, .. } = e { Some(*id) } else { None }).collect()
}

fn perm3(strategy: Strategy) -> (TestSim, ActorId) {
    start(spec(strategy, (1..=3).map(|i| child(i, Restart::Permanent)).collect()))
}

#[test]
fn one_for_one_restarts_only_the_failed_child() {
    let (mut sim, s) = perm3(Strategy::OneForOne);
    let before: Vec<_> = sup(&sim, s).children().collect();
    take_log();
    crash_child_at(&mut sim, s, 2, MS);
    sim.run().unwrap();
    let log = take_log();
    assert_eq!(starts(&log), vec![(2, 1)]);
    assert!(shutdowns(&log).is_empty());
    let after: Vec<_> = sup(&sim, s).children().collect();
    assert_eq!(after[0], before[0]);
    assert_eq!(after[2], before[2]);
    assert_ne!(after[1], before[1]);
    assert!(sim.system().is_alive(after[1].1.unwrap()));
    assert_eq!(sup(&sim, s).stats().restarts, 1);
}

#[test]
fn one_for_all_terminates_the_others_in_reverse_order_and_restarts_all_in_start_order() {
    let (mut sim, s) = perm3(Strategy::OneForAll);
    take_log();
    crash_child_at(&mut sim, s, 2, MS);
    sim.run().unwrap();
    let log = take_log();
    assert_eq!(shutdowns(&log), vec![3, 1]);
    assert_eq!(starts(&log), vec![(1, 1), (2, 1), (3, 1)]);
    let st = sup(&sim, s).stats();
    assert_eq!((st.restarts, st.restart_events), (3, 1), "one restart for the intensity, three children started");
}

#[test]
fn rest_for_one_restarts_the_failed_child_and_those_started_after_it_in_start_order() {
    let (mut sim, s) = start(spec(Strategy::RestForOne, (1..=4).map(|i| child(i, Restart::Permanent)).collect()));
    let first = sup(&sim, s).child(1);
    take_log();
    crash_child_at(&mut sim, s, 2, MS);
    sim.run().unwrap();
    let log = take_log();
    assert_eq!(shutdowns(&log), vec![4, 3]);
    assert_eq!(starts(&log), vec![(2, 1), (3, 1), (4, 1)]);
    assert_eq!(sup(&sim, s).child(1), first, "children before the failed one are untouched");
}

#[test]
fn simple_one_for_one_adds_children_at_run_time_and_restarts_them_one_for_one() {
    let template = ChildSpec { restart: Restart::Transient, ..child(0, Restart::Transient) };
    let (mut sim, s) = start(spec(Strategy::SimpleOneForOne, vec![template]));
    assert_eq!(sup(&sim, s).children().count(), 0, "no child at start");
    tell(&mut sim, MS, s, Msg::StartChild(10));
    tell(&mut sim, MS, s, Msg::StartChild(11));
    tell(&mut sim, MS, s, Msg::StartChild(11));
    sim.run_until(MS).unwrap();
    assert_eq!(sup(&sim, s).children().map(|c| c.0).collect::<Vec<_>>(), vec![10, 11], "duplicate id refused");
    let eleven = sup(&sim, s).child(11);
    take_log();
    crash_child_at(&mut sim, s, 10, 2 * MS);
    sim.run().unwrap();
    assert_eq!(starts(&take_log()), vec![(10, 1)]);
    assert_eq!(sup(&sim, s).child(11), eleven);
    // A transient dynamic child that ends normally is removed.
    let ten = sup(&sim, s).child(10).unwrap();
    tell(&mut sim, 3 * MS, ten, Msg::Stop);
    sim.run().unwrap();
    assert_eq!(sup(&sim, s).children().map(|c| c.0).collect::<Vec<_>>(), vec![11]);
}

#[test]
fn transient_child_is_restarted_after_a_failure_but_not_after_a_normal_exit() {
    let (mut sim, s) = start(spec(Strategy::OneForOne, vec![child(1, Restart::Transient)]));
    take_log();
    let c = sup(&sim, s).child(1).unwrap();
    tell(&mut sim, MS, c, Msg::Fail(7));
    sim.run().unwrap();
    assert_eq!(starts(&take_log()), vec![(1, 1)], "abnormal exit: restarted");
    let c = sup(&sim, s).child(1).unwrap();
    tell(&mut sim, 2 * MS, c, Msg::Stop);
    sim.run().unwrap();
    assert!(starts(&take_log()).is_empty(), "normal exit: not restarted");
    assert_eq!(sup(&sim, s).children().collect::<Vec<_>>(), vec![(1, None)]);
}

#[test]
fn permanent_child_is_restarted_after_a_normal_exit_and_temporary_never() {
    let (mut sim, s) =
        start(spec(Strategy::OneForOne, vec![child(1, Restart::Permanent), child(2, Restart::Temporary)]));
    take_log();
    let one = sup(&sim, s).child(1).unwrap();
    let two = sup(&sim, s).child(2).unwrap();
    tell(&mut sim, MS, one, Msg::Stop);
    tell(&mut sim, MS, two, Msg::Panic);
    sim.run().unwrap();
    assert_eq!(starts(&take_log()), vec![(1, 1)]);
    assert_eq!(sup(&sim, s).children().map(|c| c.0).collect::<Vec<_>>(), vec![1], "the temporary one is removed");
}

#[test]
fn temporary_child_taken_down_by_one_for_all_is_not_restarted() {
    let (mut sim, s) =
        start(spec(Strategy::OneForAll, vec![child(1, Restart::Permanent), child(2, Restart::Temporary)]));
    take_log();
    crash_child_at(&mut sim, s, 1, MS);
    sim.run().unwrap();
    let log = take_log();
    assert_eq!(shutdowns(&log), vec![2]);
    assert_eq!(starts(&log), vec![(1, 1)]);
    assert_eq!(sup(&sim, s).children().map(|c| c.0).collect::<Vec<_>>(), vec![1]);
}

#[test]
fn a_child_that_fails_while_being_terminated_for_a_group_restart_is_restarted_once() {
    let children = vec![
        child(1, Restart::Permanent),
        ChildSpec { shutdown: 50 * MS, ..ChildSpec::new(2, stubborn) },
        child(3, Restart::Permanent),
    ];
    let (mut sim, s) = start(spec(Strategy::OneForAll, children));
    take_log();
    crash_child_at(&mut sim, s, 3, MS);
    // Child 2 ignores Shutdown; child 1 (queued for termination) crashes by itself.
    crash_child_at(&mut sim, s, 1, 10 * MS);
    sim.run().unwrap();
    let log = take_log();
    assert_eq!(shutdowns(&log), vec![2]);
    assert_eq!(starts(&log), vec![(1, 1), (2, 1), (3, 1)], "no double restart");
    assert_eq!(sup(&sim, s).stats().restart_events, 1);
    assert_eq!(start_times(&log), vec![51 * MS; 3], "restarted once child 2 was killed");
}

#[test]
fn an_earlier_child_failing_during_a_rest_for_one_restart_is_handled_afterwards() {
    let children = vec![
        child(1, Restart::Permanent),
        child(2, Restart::Permanent),
        ChildSpec { shutdown: 50 * MS, ..ChildSpec::new(3, stubborn) },
    ];
    let (mut sim, s) = start(spec(Strategy::RestForOne, children));
    take_log();
    crash_child_at(&mut sim, s, 2, MS);
    crash_child_at(&mut sim, s, 1, 10 * MS);
    sim.run().unwrap();
    let log = take_log();
    assert_eq!(starts(&log), vec![(2, 1), (3, 1), (1, 1), (2, 2), (3, 2)]);
    assert_eq!(shutdowns(&log), vec![3, 3, 2]);
    assert_eq!(sup(&sim, s).stats().restart_events, 2);
}

/// Crash child 1 at each of `times` (ms offsets from 1 s), under MaxR 2 in
/// MaxT 10 ms. Returns the supervisor's exit events.
fn crashes_under_intensity(times: &[Nanos]) -> (Vec<Ev>, TestSim, ActorId) {
    let mut sp = spec(Strategy::OneForOne, vec![child(1, Restart::Permanent), child(2, Restart::Permanent)]);
    sp.intensity = Intensity { max_restarts: 2, period: 10 * MS };
    let (mut sim, s) = start(sp);
    take_log();
    for &t in times {
        if !sim.system().is_alive(s) {
            break;
        }
        crash_child_at(&mut sim, s, 1, 1_000 * MS + t);
    }
    sim.run().unwrap();
    let exits = take_log().into_iter().filter(|e| matches!(e, Ev::SupExited { .. } | Ev::GotShutdown { .. })).collect();
    (exits, sim, s)
}

#[test]
fn exceeding_max_restarts_within_the_period_escalates_exactly_once() {
    // Third restart 10 ms after the first: still inside the window
    // (OTP: Now =< Then + Period), so 3 > MaxR = 2 and it escalates.
    let (exits, sim, s) = crashes_under_intensity(&[0, 5 * MS, 10 * MS]);
    assert_eq!(
        exits,
        vec![Ev::GotShutdown { id: 2, at: 1_010 * MS }, Ev::SupExited { name: 0, escalated: true, at: 1_010 * MS },],
        "children terminated (reverse order; the failed one is already gone), then one escalation"
    );
    assert!(!sim.system().is_alive(s));
    assert_eq!(sim.system().actors().count(), 0, "no child left behind");
}

#[test]
fn one_restart_fewer_or_just_outside_the_period_does_not_escalate() {
    let (exits, sim, s) = crashes_under_intensity(&[0, 5 * MS]);
    assert!(exits.is_empty());
    assert_eq!(sup(&sim, s).stats().restarts, 2);
    // 10 ms + 1 ns after the first: the first is out of the window.
    let (exits, sim, s) = crashes_under_intensity(&[0, 5 * MS, 10 * MS + 1]);
    assert!(exits.is_empty(), "{exits:?}");
    assert_eq!(sup(&sim, s).restart_log(), &[1_000 * MS, 1_005 * MS, 1_010 * MS + 1]);
}

fn with_decider(decider: Decider) -> (TestSim, ActorId) {
    let mut sp = spec(Strategy::OneForOne, vec![child(1, Restart::Permanent), child(2, Restart::Permanent)]);
    sp.decider = decider;
    start(sp)
}

#[test]
fn decider_resume_keeps_the_child_and_its_state() {
    let (mut sim, s) = with_decider(Decider::always(Directive::Resume));
    let c = sup(&sim, s).child(1).unwrap();
    for (i, msg) in [Msg::Incr, Msg::Incr, Msg::Fail(3), Msg::Incr, Msg::Panic, Msg::Incr].into_iter().enumerate() {
        tell(&mut sim, MS + i as Nanos, c, msg);
    }
    sim.run().unwrap();
    assert_eq!(sup(&sim, s).child(1), Some(c), "same ActorId");
    // The failed turns' effects are dropped, but state changes made before
    // failing stay (a resumed actor keeps its state, as in Akka).
    assert_eq!(worker_state(&sim, c).count, 2_004);
    assert_eq!(sim.system().stats().resumed, 2);
    assert_eq!(sup(&sim, s).stats().restarts, 0);
}

#[test]
fn decider_stop_leaves_the_child_stopped() {
    let (mut sim, s) = with_decider(Decider::always(Directive::Stop));
    take_log();
    let c = sup(&sim, s).child(1).unwrap();
    tell(&mut sim, MS, c, Msg::Fail(1));
    sim.run().unwrap();
    assert!(starts(&take_log()).is_empty());
    assert_eq!(sup(&sim, s).children().map(|c| c.0).collect::<Vec<_>>(), vec![2]);
}

#[test]
fn decider_escalate_fails_the_supervisor() {
    let (mut sim, s) = with_decider(Decider { on_error: Directive::Escalate, ..Decider::default() });
    take_log();
    let c = sup(&sim, s).child(1).unwrap();
    tell(&mut sim, MS, c, Msg::Fail(1));
    sim.run().unwrap();
    let log = take_log();
    assert_eq!(shutdowns(&log), vec![2]);
    assert!(log.contains(&Ev::SupExited { name: 0, escalated: true, at: MS }));
    assert!(!sim.system().is_alive(s));
}

#[test]
fn shutdown_is_in_reverse_start_order_and_a_child_that_ignores_it_is_killed_after_its_timeout() {
    let children = vec![
        child(1, Restart::Permanent),
        ChildSpec { shutdown: 50 * MS, ..ChildSpec::new(2, stubborn) },
        child(3, Restart::Permanent),
        // brutal_kill: killed at once, never sees Shutdown.
        ChildSpec { shutdown: 0, ..child(4, Restart::Permanent) },
    ];
    let (mut sim, s) = start(spec(Strategy::OneForOne, children));
    take_log();
    tell(&mut sim, MS, s, Msg::ShutdownMe);
    sim.run().unwrap();
    let log = take_log();
    assert_eq!(
        log,
        vec![
            Ev::GotShutdown { id: 3, at: MS },
            Ev::GotShutdown { id: 2, at: MS },
            Ev::GotShutdown { id: 1, at: 51 * MS },
            Ev::SupExited { name: 0, escalated: false, at: 51 * MS },
        ]
    );
    assert_eq!(sim.system().actors().count(), 0);
    assert_eq!(sim.system().stats().stopped, 5);
}

fn backoff_sim(b: Backoff) -> (TestSim, ActorId) {
    let mut sp = spec(Strategy::OneForOne, vec![child(1, Restart::Permanent)]);
    sp.backoff = Some(b);
    start(sp)
}

fn backoff(min: Nanos, max: Nanos) -> Backoff {
    Backoff {
        min,
        max,
        random_factor: 0.0,
        reset_after: 1_000 * MS,
        max_restarts: None,
        when_down: WhenDown::Stash { capacity: 3 },
    }
}

fn start_times(log: &[Ev]) -> Vec<Nanos> {
    log.iter().filter_map(|e| if let Ev::Start { at, .. } = e { Some(*at) } else { None }).collect()
}

#[test]
fn backoff_delays_double_up_to_max_and_reset_after_a_good_run() {
    let (mut sim, s) = backoff_sim(backoff(10 * MS, 40 * MS));
    take_log();
    // Crash right after every restart.
    let mut crash = MS;
    let mut gaps = Vec::new();
    let mut last = 0;
    for _ in 0..5 {
        crash_child_at(&mut sim, s, 1, crash);
        sim.run_until(crash + 1_000 * MS - 1).unwrap();
        last = *start_times(&take_log()).last().unwrap();
        gaps.push(last - crash);
        crash = last + 1;
    }
    assert_eq!(gaps, vec![10 * MS, 20 * MS, 40 * MS, 40 * MS, 40 * MS]);
    // Runs for reset_after: the next delay is min again.
    crash_child_at(&mut sim, s, 1, last + 1_000 * MS);
    sim.run().unwrap();
    assert_eq!(start_times(&take_log()), vec![last + 1_010 * MS]);
}

#[test]
fn backoff_jitter_stays_within_random_factor() {
    let (mut sim, s) = backoff_sim(Backoff { random_factor: 0.5, ..backoff(10 * MS, 10 * MS) });
    take_log();
    crash_child_at(&mut sim, s, 1, MS);
    sim.run().unwrap();
    let t = start_times(&take_log())[0] - MS;
    assert!((10 * MS..15 * MS).contains(&t), "{t}");
}

#[test]
fn stash_replays_in_order_and_overflow_is_counted() {
    let (mut sim, s) = backoff_sim(backoff(10 * MS, 10 * MS));
    tell(&mut sim, MS / 2, s, Msg::Data(100));
    crash_child_at(&mut sim, s, 1, MS);
    for n in 0..5 {
        tell(&mut sim, 2 * MS + n, s, Msg::Data(n));
    }
    sim.run_until(5 * MS).unwrap();
    assert_eq!(sup(&sim, s).stashed(), 3);
    sim.run().unwrap();
    let got: Vec<_> = take_log().into_iter().filter(|e| matches!(e, Ev::Got { .. })).collect();
    assert_eq!(got, [100, 0, 1, 2].map(|n| Ev::Got { id: 1, n }), "forwarded while up, then the stash in order");
    assert_eq!(sup(&sim, s).stats().stash_dropped, 2);
}

#[test]
fn when_down_drop_drops_and_counts() {
    let (mut sim, s) = backoff_sim(Backoff { when_down: WhenDown::Drop, ..backoff(10 * MS, 10 * MS) });
    crash_child_at(&mut sim, s, 1, MS);
    for n in 0..4 {
        tell(&mut sim, 2 * MS, s, Msg::Data(n));
    }
    sim.run().unwrap();
    assert!(!take_log().iter().any(|e| matches!(e, Ev::Got { .. })));
    assert_eq!(sup(&sim, s).stats().dropped_while_down, 4);
}

#[test]
fn backoff_max_restarts_gives_up() {
    let (mut sim, s) = backoff_sim(Backoff { max_restarts: Some(1), ..backoff(10 * MS, 10 * MS) });
    crash_child_at(&mut sim, s, 1, MS);
    crash_child_at(&mut sim, s, 1, 20 * MS);
    sim.run().unwrap();
    let st = sup(&sim, s).stats();
    assert_eq!((st.restarts, st.gave_up, st.escalations), (1, 1, 0));
    assert_eq!(sup(&sim, s).child(1), None);
}

#[test]
fn ray_max_restarts_gives_up_on_the_child_without_escalating() {
    let capped = ChildSpec { max_restarts: Some(2), ..child(1, Restart::Permanent) };
    let (mut sim, s) = start(spec(Strategy::OneForOne, vec![capped, child(2, Restart::Permanent)]));
    take_log();
    for i in 1..=3 {
        crash_child_at(&mut sim, s, 1, i * MS);
    }
    sim.run().unwrap();
    assert_eq!(starts(&take_log()), vec![(1, 1), (1, 2)]);
    let st = sup(&sim, s).stats();
    assert_eq!((st.restarts, st.gave_up, st.escalations), (2, 1, 0));
    assert!(sim.system().is_alive(s));
    assert!(sup(&sim, s).child(2).is_some());
    // Downtime of the given-up child grows with time.
    assert_eq!(sup(&sim, s).downtime(1, 10 * MS), Some(7 * MS));
}

#[test]
fn node_crash_is_learned_after_failure_detection_and_children_move_to_a_live_node() {
    let mut sp = spec(
        Strategy::OneForOne,
        vec![
            ChildSpec { node: NodeId(1), register: true, ..child(1, Restart::Permanent) },
            child(2, Restart::Permanent),
        ],
    );
    sp.fallback_nodes = vec![NodeId(1), NodeId(2)];
    let (mut sim, s) = start(sp);
    let two = sup(&sim, s).child(2);
    assert_eq!(sim.system().whereis(1), sup(&sim, s).child(1));
    take_log();
    sim.kernel_mut().fault_at(MS, Fault::CrashNode(NodeId(1)));
    let detection = SimConfig::default().network.failure_detection;
    sim.run_until(MS + detection - 1).unwrap();
    assert_eq!(sup(&sim, s).stats().restarts, 0, "not known before failure detection");
    sim.run().unwrap();
    let log = take_log();
    assert_eq!(log, vec![Ev::Start { id: 1, inc: 1, at: MS + detection, node: 2 }]);
    assert_eq!(sup(&sim, s).child(2), two);
    assert_eq!(sim.system().whereis(1), sup(&sim, s).child(1), "the name follows the restart");
    // Downtime runs from when the supervisor learns of the exit (the
    // failure-detection delay is not seen by it) to the restart: here the
    // restart is immediate.
    assert_eq!(sup(&sim, s).stats().downtime, vec![(1, 0), (2, 0)]);
}

#[test]
fn a_restart_on_a_down_node_not_yet_detected_fails_at_once_and_moves_once_the_crash_is_known() {
    let mut sp =
        spec(Strategy::OneForOne, vec![ChildSpec { node: NodeId(1), register: true, ..child(1, Restart::Permanent) }]);
    sp.fallback_nodes = vec![NodeId(1), NodeId(2)];
    let (mut sim, s) = start(sp);
    take_log();
    let first = sup(&sim, s).child(1).unwrap();
    // The child crashes alone at 1 ms; its node crashes at 1.5 ms, before the
    // news of the child's crash reaches the supervisor (2 ms). Node 1 still
    // looks up from node 0: the restart goes there and ends at once, and the
    // news of that comes after failure detection, when node 1 is known down.
    sim.kernel_mut().fault_at(MS, Fault::CrashActor(first));
    sim.kernel_mut().fault_at(MS + MS / 2, Fault::CrashNode(NodeId(1)));
    sim.run().unwrap();
    let detection = SimConfig::default().network.failure_detection;
    assert_eq!(take_log(), vec![Ev::Start { id: 1, inc: 2, at: 2 * MS + detection, node: 2 }]);
    assert_eq!(sup(&sim, s).stats().restarts, 2);
    assert_eq!(sim.system().stats().spawned, 4, "the supervisor, the child, the failed restart, the restart on node 2");
    assert_eq!(sim.system().whereis(1), sup(&sim, s).child(1));
}

#[test]
fn restarting_on_a_down_node_without_fallback_fails_at_once_and_counts_towards_intensity() {
    let mut sp = spec(Strategy::OneForOne, vec![ChildSpec { node: NodeId(1), ..child(1, Restart::Permanent) }]);
    sp.intensity = Intensity { max_restarts: 1, period: 100_000 * MS };
    let (mut sim, _s) = start(sp);
    take_log();
    sim.kernel_mut().fault_at(MS, Fault::CrashNode(NodeId(1)));
    sim.run().unwrap();
    let detection = SimConfig::default().network.failure_detection;
    let log = take_log();
    // First news after detection: restart (1 of MaxR 1) on the down node,
    // which ends at once; its news comes after detection again: escalate.
    assert_eq!(log, vec![Ev::SupExited { name: 0, escalated: true, at: MS + 2 * detection }]);
    assert_eq!(sim.system().stats().spawned, 3);
}

#[test]
fn nested_supervisor_escalation_reaches_its_parent() {
    let mut inner = spec(Strategy::OneForOne, vec![child(1, Restart::Permanent)]);
    inner.intensity = Intensity { max_restarts: 0, period: 1_000 * MS };
    SPECS.with(|s| s.borrow_mut().insert(100, inner));
    let (mut sim, root) = start(spec(Strategy::OneForOne, vec![ChildSpec::new(100, nested)]));
    let inner_sup = sup(&sim, root).child(100).unwrap();
    take_log();
    crash_child_at(&mut sim, inner_sup, 1, MS);
    sim.run().unwrap();
    let log = take_log();
    assert_eq!(
        log,
        vec![Ev::SupExited { name: 100, escalated: true, at: MS }, Ev::Start { id: 1, inc: 0, at: MS, node: 0 },],
        "the inner supervisor gives up; the root restarts it, and it starts a fresh child"
    );
    assert_eq!(sup(&sim, root).stats().restarts, 1);
    assert_ne!(sup(&sim, root).child(100), Some(inner_sup));
}

// ---------------------------------------------------------------------
// Property: random trees, random failures.

#[derive(Clone, Debug)]
enum Node {
    Worker { id: u64, restart: Restart },
    Sup { id: u64, restart: Restart, strategy: Strategy, intensity: Intensity, children: Vec<Node> },
}

fn restart_strategy() -> impl proptest::strategy::Strategy<Value = Restart> + Clone {
    prop_oneof![Just(Restart::Permanent), Just(Restart::Transient), Just(Restart::Temporary)]
}

fn sup_strategy() -> impl proptest::strategy::Strategy<Value = Strategy> {
    prop_oneof![Just(Strategy::OneForOne), Just(Strategy::OneForAll), Just(Strategy::RestForOne)]
}

fn intensity_strategy() -> impl proptest::strategy::Strategy<Value = Intensity> {
    (0u32..4, 1u64..20).prop_map(|(max_restarts, ms)| Intensity { max_restarts, period: ms * MS })
}

/// A tree shape: root children, each a worker or a supervisor of workers.
fn tree_strategy() -> impl proptest::strategy::Strategy<Value = Node> {
    let leaf = restart_strategy().prop_map(|restart| Node::Worker { id: 0, restart });
    let inner =
        (restart_strategy(), sup_strategy(), intensity_strategy(), prop::collection::vec(leaf.clone(), 1..4)).prop_map(
            |(restart, strategy, intensity, children)| Node::Sup { id: 0, restart, strategy, intensity, children },
        );
    let kid = prop_oneof![3 => leaf, 1 => inner];
    (sup_strategy(), intensity_strategy(), prop::collection::vec(kid, 1..5)).prop_map(
        |(strategy, intensity, children)| {
            let mut root = Node::Sup { id: 0, restart: Restart::Permanent, strategy, intensity, children };
            let mut next = 1;
            number(&mut root, &mut next);
            root
        },
    )
}

fn number(node: &mut Node, next: &mut u64) {
    match node {
        Node::Worker { id, .. } => {
            *id = *next;
            *next += 1;
        }
        Node::Sup { id, children, .. } => {
            *id = *next;
            *next += 1;
            for c in children {
                number(c, next);
            }
        }
    }
}

/// The supervisor spec of a `Node::Sup`; registers nested specs.
fn build(node: &Node) -> SupervisorSpec<TestActor> {
    let Node::Sup { strategy, intensity, children, .. } = node else { unreachable!() };
    let specs = children
        .iter()
        .map(|c| match c {
            Node::Worker { id, restart } => child(*id, *restart),
            Node::Sup { id, restart, .. } => {
                let inner = build(c);
                SPECS.with(|s| s.borrow_mut().insert(*id, inner));
                ChildSpec { restart: *restart, shutdown: 100 * MS, ..ChildSpec::new(*id, nested) }
            }
        })
        .collect();
    SupervisorSpec { intensity: *intensity, ..SupervisorSpec::new(*strategy, specs) }
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Crash,
    Fail,
    Panic,
    Stop,
}

fn action_strategy() -> impl proptest::strategy::Strategy<Value = Action> {
    prop_oneof![Just(Action::Crash), Just(Action::Fail), Just(Action::Panic), Just(Action::Stop)]
}

/// Live workers under supervisor `s`, depth first in start order.
fn live_workers(sim: &TestSim, s: ActorId, out: &mut Vec<ActorId>) {
    for (_, c) in sup(sim, s).children() {
        let Some(c) = c else { continue };
        match sim.system().actor(c) {
            Some(TestActor::Worker(_)) => out.push(c),
            Some(TestActor::Sup(_)) => live_workers(sim, c, out),
            None => {}
        }
    }
}

/// The invariants for the live supervisor `s` (spec node `node`).
fn check(sim: &TestSim, s: ActorId, node: &Node) {
    let Node::Sup { children, intensity, .. } = node else { unreachable!() };
    let sv = sup(sim, s);
    // Restarts within any window of `period` never exceed `max_restarts`.
    let log = sv.restart_log();
    for (i, &t) in log.iter().enumerate() {
        let within = log[..=i].iter().filter(|&&u| t - u <= intensity.period).count();
        assert!(within <= intensity.max_restarts as usize, "restarts {log:?} exceed {intensity:?}");
    }
    for c in children {
        let (id, restart) = match c {
            Node::Worker { id, restart } | Node::Sup { id, restart, .. } => (*id, *restart),
        };
        let running = sv.child(id).filter(|&a| sim.system().is_alive(a));
        if restart == Restart::Permanent {
            assert!(running.is_some(), "permanent child {id} of a live supervisor is down");
        }
        if let (Some(a), Node::Sup { .. }) = (running, c) {
            check(sim, a, c);
        }
    }
}

/// Expected shutdown order of workers: reverse start order, depth first.
fn expected_shutdown(sim: &TestSim, s: ActorId, out: &mut Vec<u64>) {
    let kids: Vec<_> = sup(sim, s).children().collect();
    for (id, c) in kids.into_iter().rev() {
        let Some(c) = c else { continue };
        match sim.system().actor(c) {
            Some(TestActor::Worker(_)) => out.push(id),
            Some(TestActor::Sup(_)) => expected_shutdown(sim, c, out),
            None => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_failures_keep_supervision_invariants(
        tree in tree_strategy(),
        steps in prop::collection::vec((0u64..4, any::<prop::sample::Index>(), action_strategy()), 1..16),
    ) {
        SPECS.with(|s| s.borrow_mut().clear());
        let root_spec = build(&tree);
        let (mut sim, root) = start(root_spec);
        let mut now = MS;
        for (gap, pick, action) in steps {
            if !sim.system().is_alive(root) {
                break;
            }
            now += gap * MS;
            let mut workers = Vec::new();
            live_workers(&sim, root, &mut workers);
            if workers.is_empty() {
                break;
            }
            let target = workers[pick.index(workers.len())];
            match action {
                Action::Crash => sim.kernel_mut().fault_at(now, Fault::CrashActor(target)),
                Action::Fail => tell(&mut sim, now, target, Msg::Fail(1)),
                Action::Panic => tell(&mut sim, now, target, Msg::Panic),
                Action::Stop => tell(&mut sim, now, target, Msg::Stop),
            }
            sim.run_until(now).unwrap();
            if sim.system().is_alive(root) {
                check(&sim, root, &tree);
            } else {
                // The root gave up: nothing is left running.
                prop_assert_eq!(sim.system().actors().count(), 0);
            }
        }
        if sim.system().is_alive(root) {
            let mut expected = Vec::new();
            expected_shutdown(&sim, root, &mut expected);
            take_log();
            tell(&mut sim, now + MS, root, Msg::ShutdownMe);
            sim.run().unwrap();
            prop_assert_eq!(shutdowns(&take_log()), expected);
            prop_assert_eq!(sim.system().actors().count(), 0);
        }
    }
}

#[test]
fn supervised_runs_are_deterministic() {
    let run = || {
        let (mut sim, s) = backoff_sim(Backoff { random_factor: 0.7, ..backoff(10 * MS, 80 * MS) });
        for i in 0..4 {
            crash_child_at(&mut sim, s, 1, (1 + 100 * i) * MS);
        }
        sim.run().unwrap();
        (sim.trace_hash(), take_log())
    };
    assert_eq!(run(), run());
}

// Scale: each test below does O(n) supervisor operations on n children
// (start, exits, restarts, removals). With a per-child scan (a lookup by
// id or by address, a duplicate check, a removal that shifts the others)
// each would be O(n^2): minutes for these n, not seconds. No timing is
// asserted; a regression shows as a test that does not finish.

/// Children `0..n`, permanent, under `strategy`.
fn many(strategy: Strategy, n: u64) -> (TestSim, ActorId) {
    start(spec(strategy, (0..n).map(|i| child(i, Restart::Permanent)).collect()))
}

#[test]
fn two_hundred_thousand_children_start_in_order_and_one_restarts_alone() {
    let n = 200_000;
    let (mut sim, s) = many(Strategy::OneForOne, n);
    let log = take_log();
    assert_eq!(log.len(), n as usize);
    assert!(starts(&log).iter().enumerate().all(|(i, &start)| start == (i as u64, 0)), "start order");
    let before: Vec<_> = sup(&sim, s).children().collect();
    crash_child_at(&mut sim, s, n / 2, MS);
    crash_child_at(&mut sim, s, n - 1, 2 * MS);
    sim.run().unwrap();
    assert_eq!(starts(&take_log()), vec![(n / 2, 1), (n - 1, 1)]);
    let after: Vec<_> = sup(&sim, s).children().collect();
    assert_eq!(after.len(), n as usize);
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert_eq!(a.0, i as u64, "start order kept");
        assert_eq!(a == b, i as u64 != n / 2 && i as u64 != n - 1, "child {i}");
    }
    let st = sup(&sim, s).stats();
    assert_eq!((st.restarts, st.restart_events), (2, 2));
}

#[test]
fn a_one_for_all_restart_of_fifty_thousand_children_terminates_and_restarts_each_once() {
    let n = 50_000;
    let (mut sim, s) = many(Strategy::OneForAll, n);
    take_log();
    crash_child_at(&mut sim, s, 7, MS);
    sim.run().unwrap();
    let log = take_log();
    let expected: Vec<u64> = (0..n).rev().filter(|&i| i != 7).collect();
    assert_eq!(shutdowns(&log), expected, "reverse start order");
    assert_eq!(starts(&log), (0..n).map(|i| (i, 1)).collect::<Vec<_>>(), "start order");
    let st = sup(&sim, s).stats();
    assert_eq!((st.restarts, st.restart_events), (n, 1));
}

#[test]
fn a_hundred_thousand_dynamic_children_come_and_go_and_the_rest_keep_their_order() {
    let n = 100_000;
    let template = child(0, Restart::Temporary);
    let (mut sim, s) = start(spec(Strategy::SimpleOneForOne, vec![template]));
    for id in 0..n {
        tell(&mut sim, MS, s, Msg::StartChild(id));
    }
    sim.run().unwrap();
    assert_eq!(sup(&sim, s).children().count(), n as usize);
    // Two children in three end (temporary: removed), oldest first.
    for id in (0..n).filter(|id| id % 3 != 0) {
        let c = sup(&sim, s).child(id).unwrap();
        tell(&mut sim, 2 * MS, c, Msg::Stop);
    }
    sim.run().unwrap();
    let kept: Vec<u64> = (0..n).filter(|id| id % 3 == 0).collect();
    let ids: Vec<u64> = sup(&sim, s).children().map(|c| c.0).collect();
    assert_eq!(ids, kept);
    assert!(kept.iter().all(|&id| sup(&sim, s).child(id).is_some_and(|a| sim.system().is_alive(a))));
    // The ids of removed children may be used again: they come last.
    tell(&mut sim, 3 * MS, s, Msg::StartChild(1));
    sim.run().unwrap();
    assert_eq!(sup(&sim, s).children().last().map(|c| c.0), Some(1));
    // A shutdown still goes in reverse start order.
    take_log();
    tell(&mut sim, 4 * MS, s, Msg::ShutdownMe);
    sim.run().unwrap();
    let mut expected = kept;
    expected.push(1);
    expected.reverse();
    assert_eq!(shutdowns(&take_log()), expected);
}
