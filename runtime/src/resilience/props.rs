//! Property tests of the policies over random sequences of outcomes and
//! times, against their reference semantics; and determinism: the same
//! inputs give the same decisions.

use proptest::prelude::*;

use super::*;

const MS: Nanos = 1_000_000;

/// One step of a breaker run: time advance, action (acquire twice as often
/// as report), outcome, duration.
fn steps() -> impl Strategy<Value = Vec<(Nanos, u8, bool, Nanos)>> {
    prop::collection::vec((0..3_000 * MS, 0u8..3, any::<bool>(), 0..2_000 * MS), 1..300)
}

fn breaker_config(trip: Trip, permitted: u32) -> BreakerConfig {
    BreakerConfig {
        trip,
        failure_rate_threshold: 50,
        slow_call_rate_threshold: 80,
        slow_call_duration: 1_000 * MS,
        minimum_number_of_calls: 5,
        wait_duration_in_open: 5_000 * MS,
        permitted_calls_in_half_open: permitted,
    }
}

/// Runs `steps` through a breaker: each step acquires a permit (held, so
/// calls overlap) or reports the oldest held one. Checks the admission
/// rules on the way: nothing while open before the wait, at most
/// `permitted_calls_in_half_open` per half-open period. Returns the
/// transitions.
fn run_breaker(config: BreakerConfig, steps: &[(Nanos, u8, bool, Nanos)]) -> Vec<Transition> {
    let mut b = CircuitBreaker::new(config);
    let mut now = 0;
    let mut log: Vec<Transition> = Vec::new();
    let mut held = std::collections::VecDeque::new();
    let mut admitted_in_half_open = 0;
    for &(dt, action, failed, duration) in steps {
        now += dt;
        if action < 2 {
            let opened_at = log.iter().rev().find(|t| t.to == State::Open).map(|t| t.at);
            let before = b.state();
            let result = b.try_acquire(now);
            if before == State::Open && now < opened_at.unwrap() + config.wait_duration_in_open {
                assert!(result.is_err(), "admitted while open before the wait");
            }
            if before == State::Open && result.is_ok() {
                admitted_in_half_open = 0;
            }
            if let Ok(p) = result {
                held.push_back((p, failed, duration));
                if b.state() == State::HalfOpen {
                    admitted_in_half_open += 1;
                    assert!(admitted_in_half_open <= config.permitted_calls_in_half_open, "too many trials");
                }
            }
        } else if let Some((p, f, d)) = held.pop_front() {
            if f { b.on_failure(p, now, d) } else { b.on_success(p, now, d) }
        }
        log.extend(b.take_transitions());
    }
    assert_eq!(b.transitions_dropped(), 0);
    log
}

proptest! {
    #[test]
    fn breaker_admission_rules_and_determinism(steps in steps(), permitted in 1u32..5, kind in 0..3) {
        let trip = [Trip::ConsecutiveFailures { threshold: 3 }, Trip::CountBased { size: 8 }, Trip::TimeBased { seconds: 10 }][kind as usize];
        let config = breaker_config(trip, permitted);
        let first = run_breaker(config, &steps);
        prop_assert_eq!(&first, &run_breaker(config, &steps));
        // Every half-open period ends by trial outcomes: to Open or Closed.
        // Transitions chain: each starts where the previous ended.
        let mut state = State::Closed;
        for t in &first {
            prop_assert_eq!(t.from, state);
            state = t.to;
        }
    }

    #[test]
    fn count_window_is_the_last_size_calls(calls in prop::collection::vec((any::<bool>(), any::<bool>()), 1..100), size in 1u32..12) {
        let config = BreakerConfig { trip: Trip::CountBased { size }, minimum_number_of_calls: 3, ..breaker_config(Trip::CountBased { size }, 1) };
        let mut b = CircuitBreaker::new(config);
        let mut seen: Vec<(bool, bool)> = Vec::new();
        for &(failed, slow) in &calls {
            let p = b.try_acquire(0).unwrap();
            let d = if slow { 2_000 * MS } else { 0 };
            if failed { b.on_failure(p, 0, d) } else { b.on_success(p, 0, d) }
            seen.push((failed, slow));
            let last = &seen[seen.len().saturating_sub(size as usize)..];
            let n = last.len() as u64;
            let f = last.iter().filter(|c| c.0).count() as u64;
            let s = last.iter().filter(|c| c.1).count() as u64;
            let should_open = n >= 3.min(size as u64) && (f * 100 >= 50 * n || s * 100 >= 80 * n);
            if should_open {
                prop_assert_eq!(b.state(), State::Open);
                break;
            }
            prop_assert_eq!(b.counts(0), CallCounts { calls: n, failures: f, slow: s });
        }
    }

    #[test]
    fn time_window_counts_the_last_seconds(calls in prop::collection::vec((0..700 * MS, any::<bool>()), 1..100), seconds in 1u32..6) {
        // Thresholds of 100 %: only all-failed windows open it.
        let config = BreakerConfig { failure_rate_threshold: 100, slow_call_rate_threshold: 100, ..breaker_config(Trip::TimeBased { seconds }, 1) };
        let mut b = CircuitBreaker::new(config);
        let mut now = 0;
        let mut seen: Vec<(Nanos, bool)> = Vec::new();
        for &(dt, failed) in &calls {
            now += dt;
            let p = b.try_acquire(now).unwrap();
            if failed { b.on_failure(p, now, 0) } else { b.on_success(p, now, 0) }
            seen.push((now, failed));
            let second = now / 1_000_000_000;
            let window: Vec<_> = seen.iter().filter(|(t, _)| t / 1_000_000_000 + seconds as u64 > second).collect();
            let (n, f) = (window.len() as u64, window.iter().filter(|c| c.1).count() as u64);
            if n >= 5 && f == n {
                prop_assert_eq!(b.state(), State::Open);
                break;
            }
            prop_assert_eq!(b.counts(now), CallCounts { calls: n, failures: f, slow: 0 });
        }
    }

    #[test]
    fn grpc_tokens_stay_within_bounds(outcomes in prop::collection::vec(any::<bool>(), 0..300), max in 1u32..20, ratio in 0u32..2_000) {
        let mut t = GrpcThrottle::new(max, ratio);
        for ok in outcomes {
            if ok { t.on_success() } else { t.on_failure() }
            prop_assert!(t.tokens_milli() <= max as u64 * 1000);
            prop_assert_eq!(t.allows_retry(), 2 * t.tokens_milli() > max as u64 * 1000);
        }
    }

    #[test]
    fn finagle_retries_at_most_percent_of_requests_plus_reserve(
        events in prop::collection::vec((0..400 * MS, any::<bool>()), 0..400),
        percent in 0u32..100,
        min_per_sec in 0u32..3,
    ) {
        let ttl = 2_000 * MS;
        let slice = ttl / 10;
        let mut b = FinagleBudget::new(ttl, min_per_sec, percent);
        let (mut now, mut log) = (0, Vec::new());
        for (dt, is_retry) in events {
            now += dt;
            if !is_retry {
                b.deposit(now);
                log.push((now, false));
            } else if b.try_retry(now) {
                log.push((now, true));
                // The retries in the window at `now` (the 10 newest slices).
                let in_window: Vec<_> = log.iter().filter(|(t, _)| t / slice + 10 > now / slice).collect();
                let retries = in_window.iter().filter(|e| e.1).count() as u64;
                let requests = in_window.len() as u64 - retries;
                prop_assert!(retries * 100 <= percent as u64 * requests + min_per_sec as u64 * 2 * 100);
            }
        }
    }

    #[test]
    fn envoy_never_exceeds_its_budget(ops in prop::collection::vec(0u8..4, 0..300), percent in 0u32..100, min in 0u32..5) {
        let mut e = EnvoyBudget::new(percent, min);
        let mut firsts = 0;
        for op in ops {
            match op {
                0 => {
                    e.request_started();
                    firsts += 1;
                }
                1 if firsts > 0 => {
                    e.request_ended();
                    firsts -= 1;
                }
                2 if e.active_retries() > 0 => e.retry_ended(),
                _ => {
                    let before = (e.active_requests(), e.active_retries());
                    if e.try_retry(0) {
                        prop_assert!(before.1 < min.max(percent * before.0 / 100));
                    }
                }
            }
            prop_assert_eq!(e.active_requests(), firsts + e.active_retries());
        }
    }

    #[test]
    fn jitters_stay_in_their_ranges(n in 1u32..40, random: u64, base in 1..1_000 * MS, cap in 1..20_000 * MS) {
        let config = |jitter| RetryConfig { max_attempts: 100, jitter, base_delay: base, max_delay: cap, ..RetryConfig::default() };
        let delay = |jitter, state: &mut RetryState| match state.on_failure(&config(jitter), 0, Failure::Timeout, None, random) {
            RetryDecision::Retry { delay, .. } => delay,
            other => panic!("{other:?}"),
        };
        // Bring a state to its n-th retry with random draws from a fixed sequence.
        let advance = |jitter| {
            let c = config(jitter);
            let mut s = c.start(0);
            for k in 1..n {
                s.on_failure(&c, 0, Failure::Timeout, None, (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            }
            s
        };
        let d = config(Jitter::None).backoff_delay(n);
        let full = delay(Jitter::Full, &mut advance(Jitter::Full));
        prop_assert!(full <= d);
        let equal = delay(Jitter::Equal, &mut advance(Jitter::Equal));
        prop_assert!(d / 2 <= equal && equal <= d);
        let mut s = advance(Jitter::Decorrelated);
        let prev = s.prev_sleep();
        let dec = delay(Jitter::Decorrelated, &mut s);
        prop_assert!(dec <= cap && dec <= base.max(prev.saturating_mul(3)));
        prop_assert!(dec >= base.min(cap));
        // Determinism: the same state and draw, the same decision.
        prop_assert_eq!(full, delay(Jitter::Full, &mut advance(Jitter::Full)));
    }

    #[test]
    fn bulkhead_bounds_and_fifo(ops in prop::collection::vec(any::<bool>(), 0..300), max in 0u32..5, queue in 0u32..5) {
        let mut b = Bulkhead::new(max, queue);
        let (mut next_id, mut waiting) = (0u32, std::collections::VecDeque::new());
        for enter in ops {
            if enter {
                next_id += 1;
                if b.try_enter(next_id) == Enter::Queued {
                    waiting.push_back(next_id);
                }
            } else if b.active() > 0 {
                prop_assert_eq!(b.leave(), waiting.pop_front());
            }
            prop_assert!(b.active() <= max && b.queued() <= queue);
            prop_assert_eq!(b.queued() as usize, waiting.len());
        }
    }

    #[test]
    fn rate_limiter_admits_at_most_burst_plus_refill(asks in prop::collection::vec((0..50 * MS, 1u64..4), 0..300), rate in 0u64..100, burst in 1u64..10) {
        let mut b = TokenBucket::per_second(rate, burst, 0);
        let (mut now, mut admitted) = (0, 0u128);
        for (dt, tokens) in asks {
            now += dt;
            match b.try_acquire(now, tokens) {
                Ok(()) => admitted += tokens as u128,
                Err(wait) if wait != Nanos::MAX => {
                    // The wait is exact: after it, the tokens are there.
                    prop_assert!(b.clone().try_acquire(now + wait, tokens).is_ok());
                    prop_assert!(wait == 0 || b.clone().try_acquire(now + wait - 1, tokens).is_err());
                }
                Err(_) => prop_assert!(tokens > burst || rate == 0),
            }
            prop_assert!(admitted * 1_000_000_000 <= burst as u128 * 1_000_000_000 + rate as u128 * now as u128);
        }
    }

    #[test]
    fn hedging_bounds_and_cancellation(events in prop::collection::vec((0..100 * MS, 0u8..3, 0u32..8), 0..60), max in 0u32..5, delay in 1..80 * MS) {
        let mut h = Hedging::new(HedgingConfig { delay, max_hedged_attempts: max }, 0);
        let mut now = 0;
        let mut last_start = None;
        while let Some(a) = h.poll(now) {
            prop_assert_eq!(a, Attempt(0));
            last_start = Some(now);
        }
        for (dt, what, which) in events {
            now += dt;
            match what {
                0 => {
                    while h.poll(now).is_some() {
                        prop_assert!(now >= last_start.unwrap() + delay);
                        last_start = Some(now);
                    }
                }
                1 => {
                    if let AfterFailure::Launch(_) = h.on_failure(Attempt(which), now) {
                        last_start = Some(now);
                    }
                }
                _ => {
                    let before = h.in_flight();
                    if let Some(won) = h.on_success(Attempt(which)) {
                        prop_assert!(before.contains(won.winner) && !won.cancel.contains(won.winner));
                        prop_assert_eq!(won.cancel.len() + 1, before.len());
                        prop_assert!(h.in_flight().is_empty() && h.poll(Nanos::MAX).is_none());
                    }
                }
            }
            prop_assert!(h.started() <= max + 1 && h.in_flight().len() <= h.started());
        }
    }

    #[test]
    fn fallback_picks_the_first_deployment_not_cooling_down(fails in prop::collection::vec((0..2_000 * MS, 0usize..4, 0usize..6), 0..200)) {
        let mut f = Fallback::new(4, FallbackConfig::default());
        let mut now = 0;
        for (dt, i, kind) in fails {
            now += dt;
            f.on_failure(now, i, Failure::ALL[kind]);
            let expected = (0..4).find(|&j| !f.is_cooling_down(now, j));
            prop_assert_eq!(f.pick(now), expected);
            if let Some(p) = expected {
                prop_assert_eq!(f.next(now, p), (p + 1..4).find(|&j| !f.is_cooling_down(now, j)));
            }
        }
    }

    #[test]
    fn uniform_stays_in_range(random: u64, lo in 0u64..1_000, span in 0u64..1_000) {
        let u = uniform(random, lo, lo + span);
        prop_assert!(lo <= u && u <= lo + span);
    }
}
