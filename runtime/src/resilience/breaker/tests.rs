//! The breaker against resilience4j's semantics, with hand-computed values.

use super::*;

const MS: Nanos = 1_000_000;

fn config(trip: Trip) -> BreakerConfig {
    BreakerConfig {
        trip,
        failure_rate_threshold: 50,
        slow_call_rate_threshold: 100,
        slow_call_duration: SECOND,
        minimum_number_of_calls: 4,
        wait_duration_in_open: 10 * SECOND,
        permitted_calls_in_half_open: 3,
    }
}

/// One call at `now`: acquire, then report.
fn call(b: &mut CircuitBreaker, now: Nanos, failed: bool) -> Result<(), Rejected> {
    let p = b.try_acquire(now)?;
    if failed {
        b.on_failure(p, now, MS)
    } else {
        b.on_success(p, now, MS)
    }
    Ok(())
}

#[test]
fn consecutive_failures_trip_then_wait_then_one_trial_closes() {
    let mut b = CircuitBreaker::new(BreakerConfig {
        permitted_calls_in_half_open: 1,
        ..config(Trip::ConsecutiveFailures { threshold: 3 })
    });
    for failed in [true, true, false, true, true] {
        call(&mut b, 0, failed).unwrap();
    }
    assert_eq!((b.state(), b.consecutive_failures()), (State::Closed, 2));
    call(&mut b, SECOND, true).unwrap();
    assert_eq!(b.state(), State::Open);
    let rejected = Rejected { state: State::Open, retry_at: Some(11 * SECOND) };
    assert_eq!(call(&mut b, 11 * SECOND - 1, false), Err(rejected));
    assert_eq!(b.calls_rejected(), 1);
    assert_eq!(b.time_open(5 * SECOND), 4 * SECOND);
    let trial = b.try_acquire(11 * SECOND).unwrap();
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.try_acquire(11 * SECOND), Err(Rejected { state: State::HalfOpen, retry_at: None }));
    b.on_success(trial, 12 * SECOND, MS);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.time_open(100 * SECOND), 10 * SECOND);
    let log: Vec<_> = b.take_transitions().map(|t| (t.at / SECOND, t.from.as_str(), t.to.as_str())).collect();
    assert_eq!(log, vec![(1, "closed", "open"), (11, "open", "half_open"), (12, "half_open", "closed")]);
    assert_eq!((b.take_transitions().count(), b.transitions_dropped()), (0, 0));
}

#[test]
fn count_window_rate_over_the_last_size_calls() {
    // Size 4, minimum 10 (capped at 4), threshold 50 %.
    let mut b =
        CircuitBreaker::new(BreakerConfig { minimum_number_of_calls: 10, ..config(Trip::CountBased { size: 4 }) });
    for failed in [true, false, false] {
        call(&mut b, 0, failed).unwrap();
    }
    assert_eq!(b.counts(0), CallCounts { calls: 3, failures: 1, slow: 0 });
    call(&mut b, 0, false).unwrap(); // F S S S: 25 %
    call(&mut b, 0, true).unwrap(); // S S S F: 25 %, the first F evicted
    assert_eq!((b.state(), b.counts(0)), (State::Closed, CallCounts { calls: 4, failures: 1, slow: 0 }));
    call(&mut b, 0, true).unwrap(); // S S F F: 50 %
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.counts(0), CallCounts::default());
}

#[test]
fn time_window_forgets_calls_older_than_its_seconds() {
    let mut b =
        CircuitBreaker::new(BreakerConfig { minimum_number_of_calls: 3, ..config(Trip::TimeBased { seconds: 2 }) });
    call(&mut b, 500 * MS, true).unwrap();
    call(&mut b, 1_500 * MS, true).unwrap();
    // At 2.5 s the window is seconds 1 and 2: the failure at 0.5 s is gone.
    call(&mut b, 2_500 * MS, false).unwrap();
    assert_eq!((b.state(), b.counts(2_500 * MS)), (State::Closed, CallCounts { calls: 2, failures: 1, slow: 0 }));
    call(&mut b, 2_600 * MS, true).unwrap(); // 2 of 3
    assert_eq!(b.state(), State::Open);
}

#[test]
fn slow_calls_are_longer_than_the_duration() {
    let mut b = CircuitBreaker::new(BreakerConfig {
        failure_rate_threshold: 100,
        slow_call_rate_threshold: 50,
        minimum_number_of_calls: 2,
        ..config(Trip::CountBased { size: 2 })
    });
    let p = b.try_acquire(0).unwrap();
    b.on_success(p, 0, SECOND); // exactly the threshold: not slow
    let p = b.try_acquire(0).unwrap();
    b.on_failure(p, 0, SECOND + 1); // slow (and failed: 50 % < 100 %)
    assert_eq!(b.state(), State::Open);
}

#[test]
fn half_open_waits_for_every_trial_then_decides() {
    let mut b =
        CircuitBreaker::new(BreakerConfig { minimum_number_of_calls: 1, ..config(Trip::CountBased { size: 1 }) });
    let stale = b.try_acquire(0).unwrap();
    call(&mut b, 0, true).unwrap();
    assert_eq!(b.state(), State::Open);
    // Three trials at 10 s; a fourth is rejected.
    let trials: Vec<_> = (0..3).map(|_| b.try_acquire(10 * SECOND).unwrap()).collect();
    assert!(b.try_acquire(10 * SECOND).is_err());
    // A call admitted while closed does not count as a trial.
    b.on_failure(stale, 10 * SECOND, MS);
    b.on_success(trials[0], 10 * SECOND, MS);
    b.on_failure(trials[1], 10 * SECOND, MS);
    assert_eq!((b.state(), b.counts(0)), (State::HalfOpen, CallCounts { calls: 2, failures: 1, slow: 0 }));
    b.on_failure(trials[2], 11 * SECOND, MS); // 2 of 3 >= 50 %: open again
    assert_eq!(b.state(), State::Open);
    assert!(b.try_acquire(20 * SECOND).is_err(), "the new wait runs from 11 s");
    // Trials: one released (cancelled) and taken again; S S F is 33 %.
    let t = b.try_acquire(21 * SECOND).unwrap();
    b.release(t);
    let trials: Vec<_> = (0..3).map(|_| b.try_acquire(21 * SECOND).unwrap()).collect();
    b.on_success(trials[0], 21 * SECOND, MS);
    b.on_success(trials[1], 21 * SECOND, MS);
    b.on_failure(trials[2], 22 * SECOND, MS);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.calls_rejected(), 2);
    assert_eq!(b.time_open(30 * SECOND), 20 * SECOND);
    assert_eq!(b.take_transitions().count(), 5);
}

#[test]
fn the_log_keeps_the_newest_transitions() {
    let mut b = CircuitBreaker::new(BreakerConfig {
        permitted_calls_in_half_open: 1,
        wait_duration_in_open: 0,
        ..config(Trip::ConsecutiveFailures { threshold: 1 })
    });
    // Each failure while closed opens (1), each trial failure re-opens (2 more).
    for t in 0..20 {
        call(&mut b, t, true).unwrap();
    }
    assert_eq!(b.transitions_dropped(), 39 - 32);
    assert_eq!(b.take_transitions().count(), 32);
}

#[test]
#[should_panic(expected = "1..=100")]
fn a_zero_threshold_is_refused() {
    CircuitBreaker::new(BreakerConfig { failure_rate_threshold: 0, ..BreakerConfig::default() });
}
