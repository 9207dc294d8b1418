//! The kernel end to end: limits, the determinism self-check on a run that
//! is deliberately not deterministic, and same-seed reproducibility.

use std::sync::atomic::{AtomicU64, Ordering};

use rehearsal_runtime::{Actor, ActorId, Ctx, Envelope, NodeId, Route};
use rehearsal_sim::trace::first_divergence;
use rehearsal_sim::workloads::{RingParams, ring, ring_sim};
use rehearsal_sim::{EmptyWorld, Limits, Sim, SimConfig};

#[test]
fn same_seed_same_hash_different_seed_different_hash_where_randomness_is_used() {
    let p = RingParams { actors: 100, tokens: 10, hops: 5_000, ..RingParams::default() };
    assert_eq!(ring(&p).unwrap(), ring(&p).unwrap());
}

#[test]
fn time_limit_is_a_named_error() {
    let mut sim = ring_sim(&RingParams { actors: 10, tokens: 1, hops: 1_000, ..RingParams::default() });
    sim.set_limits(Limits { max_sim_time: 5_000_000, ..Limits::default() });
    let err = sim.run().unwrap_err();
    assert_eq!(err.limit_name(), "max_sim_time");
    assert!(err.to_string().contains("max_sim_time"));
}

#[test]
fn queue_limit_is_a_named_error() {
    let mut sim = ring_sim(&RingParams { actors: 100, tokens: 50, hops: 1_000, ..RingParams::default() });
    sim.set_limits(Limits { max_queued_events: 10, ..Limits::default() });
    assert_eq!(sim.run().unwrap_err().limit_name(), "max_queued_events");
}

/// A counter outside the simulation: exactly the kind of hidden state the
/// determinism contract forbids.
static LEAK: AtomicU64 = AtomicU64::new(0);

#[derive(Debug)]
struct Leaky;

impl Actor for Leaky {
    type Msg = u64;
    fn handle(&mut self, n: u64, ctx: &mut Ctx<'_, Self>) {
        if n > 0 {
            // Uses global state: the second run sees other numbers.
            let leaked = LEAK.fetch_add(1, Ordering::Relaxed);
            ctx.tell(ctx.me(), n - 1);
            if n == 3 {
                ctx.set_timer(1_000 + leaked, 0);
            }
        }
    }
}

fn leaky_run() -> Vec<rehearsal_sim::trace::TraceRecord> {
    let mut sim: Sim<Leaky, EmptyWorld> =
        Sim::new(SimConfig { record_trace: true, ..SimConfig::default() }, EmptyWorld);
    let a = sim.spawn(NodeId(0), Leaky);
    sim.kernel_mut().deliver_at(0, a, Envelope { from: ActorId::EXTERNAL, route: Route::Tell, msg: 5 });
    sim.run().unwrap();
    sim.kernel_mut().take_trace_records()
}

#[test]
fn determinism_check_names_the_first_divergent_event() {
    let first = leaky_run();
    let second = leaky_run();
    let d = first_divergence(&first, &second).expect("the leak makes the runs differ");
    let text = d.to_string();
    assert!(text.contains(&format!("event #{}", d.index)), "{text}");
    // The first difference is the timer scheduled from the leaked counter,
    // caught at the event that set it (the deliver of message 3).
    let first_event = d.first.expect("both runs reached it");
    assert!(d.index > 0 && d.index < first.len() as u64);
    assert_eq!(first[..d.index as usize], second[..d.index as usize]);
    assert!(first_event.text.contains("3") || first_event.text.contains("Timer"), "{text}");
}

#[test]
fn events_are_plain_data() {
    // A field with drop glue in `Event` (a `Vec` in a fault, say) makes
    // every queue push check for a value to drop: W1 lost 18% to that once.
    use rehearsal_sim::Event;
    use rehearsal_sim::workloads::Token;
    assert!(!std::mem::needs_drop::<Event<Token, ()>>());
}

/// Never accepts: everything sent to it waits in its mailbox.
#[derive(Debug)]
struct Busy;

impl Actor for Busy {
    type Msg = u64;
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        ctx.set_accepting(false);
    }
    fn handle(&mut self, _: u64, _: &mut Ctx<'_, Self>) {}
}

/// A mailbox backlog is queued work too: it counts against
/// `max_queued_events`, although the event queue itself stays short.
#[test]
fn mailbox_backlog_counts_against_the_queue_limit() {
    let mut sim: Sim<Busy, EmptyWorld> = Sim::new(SimConfig::default(), EmptyWorld);
    sim.set_limits(Limits { max_queued_events: 100, ..Limits::default() });
    let a = sim.spawn(NodeId(0), Busy);
    // One message due at a time: the queue never holds more than a few.
    for i in 0..500u64 {
        sim.kernel_mut().deliver_at(i, a, Envelope { from: ActorId::EXTERNAL, route: Route::Tell, msg: i });
        if sim.run_until(i).is_err() {
            break;
        }
    }
    assert!(sim.system().mailboxed() > 0);
    let err = sim.run().unwrap_err();
    assert_eq!(err.limit_name(), "max_queued_events");
    assert!(sim.system().mailboxed() + 1 >= 100, "{}", sim.system().mailboxed());
}
