//! Cancelling service calls in the kernel: the world hears of every call
//! whose caller gave up (its timeout fired, it cancelled the call, it
//! died), exactly once, and the trace folds it.

use rehearsal_runtime::{
    Actor, ActorId, Ctx, Nanos, NodeId, RequestId, Response, ServiceCall, ServiceId, ServiceOutcome, TimerId,
};
use rehearsal_sim::{Fault, Kernel, Sim, SimConfig, World};

const MS: Nanos = 1_000_000;
/// Every call is answered this long after it is made.
const ANSWER_AFTER: Nanos = 5 * MS;

/// Answers every call after [`ANSWER_AFTER`] (cancelled or not: the
/// runtime counts those answers as late) and records the cancels.
#[derive(Debug, Default)]
struct Answering {
    calls: Vec<(ActorId, RequestId)>,
    cancels: Vec<(ActorId, RequestId, Nanos)>,
}

impl World<()> for Answering {
    type Event = ();
    fn on_event(&mut self, _: (), _: &mut Kernel<(), ()>) {}
    fn on_call(&mut self, caller: ActorId, _: NodeId, request: RequestId, _: ServiceCall, kernel: &mut Kernel<(), ()>) {
        self.calls.push((caller, request));
        let at = kernel.now() + ANSWER_AFTER;
        kernel.complete_call(at, caller, request, ServiceOutcome::Ok { output_tokens: 1 });
    }
    fn on_external_reply(&mut self, _: ActorId, _: RequestId, _: (), _: &mut Kernel<(), ()>) {}
    fn on_cancel(&mut self, caller: ActorId, request: RequestId, kernel: &mut Kernel<(), ()>) {
        self.cancels.push((caller, request, kernel.now()));
    }
}

/// Makes calls at start: one that times out (2 ms), one it cancels at
/// 1 ms, one that is answered; or, as `doomed`, one call and then it is
/// crashed.
#[derive(Debug, Default)]
struct Caller {
    doomed: bool,
    requests: Vec<RequestId>,
    responses: Vec<(RequestId, String)>,
}

impl Actor for Caller {
    type Msg = ();

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.doomed {
            self.requests.push(ctx.call(ServiceId(0), 1, 0, 100 * MS));
            return;
        }
        self.requests.push(ctx.call(ServiceId(0), 1, 1, 2 * MS));
        self.requests.push(ctx.call(ServiceId(0), 1, 2, 100 * MS));
        self.requests.push(ctx.call(ServiceId(0), 1, 3, 100 * MS));
        ctx.set_timer(MS, 0);
    }

    fn handle(&mut self, _: (), _: &mut Ctx<'_, Self>) {}

    fn on_timer(&mut self, _: TimerId, _: u64, ctx: &mut Ctx<'_, Self>) {
        ctx.cancel(self.requests[1]);
    }

    fn on_response(&mut self, request: RequestId, response: Response<()>, _: &mut Ctx<'_, Self>) {
        self.responses.push((request, format!("{response:?}")));
    }
}

struct Outcome {
    caller: ActorId,
    doomed: ActorId,
    requests: Vec<RequestId>,
    doomed_request: RequestId,
    responses: Vec<(RequestId, String)>,
    cancels: Vec<(ActorId, RequestId, Nanos)>,
    late_replies: u64,
    hash: u64,
    records: Vec<String>,
}

fn run() -> Outcome {
    let mut sim: Sim<Caller, Answering> =
        Sim::new(SimConfig { record_trace: true, ..SimConfig::default() }, Answering::default());
    let caller = sim.spawn(NodeId(0), Caller::default());
    let doomed = sim.spawn(NodeId(1), Caller { doomed: true, ..Caller::default() });
    let doomed_request = sim.system().actor(doomed).unwrap().requests[0];
    sim.kernel_mut().fault_at(3 * MS, Fault::CrashActor(doomed));
    sim.run().unwrap();
    let c = sim.system().actor(caller).unwrap();
    Outcome {
        caller,
        doomed,
        requests: c.requests.clone(),
        doomed_request,
        responses: c.responses.clone(),
        cancels: sim.world().cancels.clone(),
        late_replies: sim.system().stats().late_replies,
        hash: sim.trace_hash(),
        records: sim.kernel_mut().take_trace_records().iter().map(|r| r.text.clone()).collect(),
    }
}

#[test]
fn the_world_hears_once_of_each_call_whose_caller_gave_up() {
    let o = run();
    let r = &o.requests;
    assert_eq!(
        o.cancels,
        vec![(o.caller, r[1], MS), (o.caller, r[0], 2 * MS), (o.doomed, o.doomed_request, 3 * MS)],
        "cancelled at 1 ms, timed out at 2 ms, caller crashed at 3 ms; the answered call is not cancelled"
    );
    assert_eq!(
        o.responses,
        vec![(r[0], "Timeout".to_string()), (r[2], "Service(Ok { output_tokens: 1 })".to_string())]
    );
    // The answers to the timed-out and the cancelled call are late; the
    // answer to the dead caller's call is dropped with it.
    assert_eq!(o.late_replies, 2);
    let folded = o.records.iter().filter(|t| t.contains("cancels request")).count();
    assert_eq!(folded, 3, "each cancel is in the trace");
}

#[test]
fn runs_with_cancels_are_deterministic() {
    let (a, b) = (run(), run());
    assert_eq!(a.hash, b.hash);
    assert_eq!(a.records, b.records);
    assert_eq!(a.cancels, b.cancels);
}
