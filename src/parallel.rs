//! Runs in parallel across threads. Parallelism is across runs only; each
//! run is single-threaded, and results come back in job order whatever the
//! thread count, so the outcome does not depend on `--jobs`.
//!
//! Results stream: [`run_ordered`] hands each result to the caller as soon
//! as every earlier job's result has been handed over, and keeps at most a
//! window of results waiting for an earlier one (workers do not start a job
//! more than [`window`] jobs past the first unfinished one), so memory does
//! not grow with the number of jobs. Jobs can be stopped (an interrupt): no
//! new job starts, the ones in flight finish.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// The most worker threads a command may ask for (`--jobs`).
pub const MAX_JOBS: usize = 1024;

/// How often the calling thread looks at the stop flag while it waits.
const POLL: Duration = Duration::from_millis(50);

/// How far workers may run ahead of the first unfinished job.
pub fn window(threads: usize) -> usize {
    threads.saturating_mul(4).max(16)
}

/// What [`run_ordered`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Jobs whose results were handed to `in_order` (0..delivered).
    pub delivered: usize,
    /// Worker threads that ran (fewer than asked when the system would not
    /// start more).
    pub threads: usize,
    /// Whether `stop` ended it before every job ran.
    pub stopped: bool,
}

/// No worker thread could be started.
#[derive(Debug, thiserror::Error)]
#[error("cannot start a worker thread: {0}")]
pub struct SpawnError(#[source] pub std::io::Error);

struct State {
    /// The next job to start.
    next: usize,
    /// The first job whose result has not been handed over.
    frontier: usize,
    stop: bool,
}

/// Runs `work(i)` for every `i` in `0..jobs` on up to `threads` threads.
/// On the calling thread, `on_done(i, &r)` sees each result as it finishes
/// (completion order: for a journal and progress) and `in_order(i, r)` then
/// takes it in job order. `stop` is polled; once it says true no new job
/// starts, the jobs in flight finish (and reach `on_done`), and it returns
/// with `stopped` set. A worker thread the system will not start is done
/// without (an error only when none starts).
pub fn run_ordered<R, W, D, O, S>(
    jobs: usize,
    threads: usize,
    work: W,
    mut on_done: D,
    mut in_order: O,
    stop: S,
) -> Result<Outcome, SpawnError>
where
    R: Send,
    W: Fn(usize) -> R + Sync,
    D: FnMut(usize, &R),
    O: FnMut(usize, R),
    S: Fn() -> bool,
{
    let wanted = threads.clamp(1, jobs.max(1));
    let window = window(wanted);
    let state = Mutex::new(State { next: 0, frontier: 0, stop: false });
    let moved = Condvar::new();
    let panicked = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, R)>();
    let lock = || state.lock().unwrap_or_else(|p| p.into_inner());
    std::thread::scope(|scope| {
        let mut started = 0;
        let mut first_error = None;
        for k in 0..wanted {
            let tx = tx.clone();
            let (work, moved, panicked, lock) = (&work, &moved, &panicked, &lock);
            let worker = move || {
                // A panicking run re-raises when the scope joins; the others stop.
                struct Flag<'a>(&'a AtomicBool);
                impl Drop for Flag<'_> {
                    fn drop(&mut self) {
                        if std::thread::panicking() {
                            self.0.store(true, Ordering::SeqCst);
                        }
                    }
                }
                let _flag = Flag(panicked);
                loop {
                    let i = {
                        let mut s = lock();
                        loop {
                            if s.stop || s.next >= jobs || panicked.load(Ordering::SeqCst) {
                                return;
                            }
                            if s.next < s.frontier.saturating_add(window) {
                                break;
                            }
                            s = moved.wait(s).unwrap_or_else(|p| p.into_inner());
                        }
                        s.next += 1;
                        s.next - 1
                    };
                    let r = work(i);
                    if tx.send((i, r)).is_err() {
                        return;
                    }
                }
            };
            match std::thread::Builder::new().name(format!("run-{k}")).spawn_scoped(scope, worker) {
                Ok(_) => started += 1,
                Err(e) => {
                    first_error = Some(e);
                    break;
                }
            }
        }
        drop(tx);
        if started == 0 {
            let e = first_error.unwrap_or_else(|| std::io::Error::other("no thread"));
            return Err(SpawnError(e));
        }
        let mut pending = BTreeMap::new();
        let mut frontier = 0;
        let mut stopped = false;
        loop {
            if !stopped && stop() {
                stopped = true;
                lock().stop = true;
                moved.notify_all();
            }
            if panicked.load(Ordering::SeqCst) {
                // Wake workers waiting for a frontier that will not move; the
                // panic is re-raised when the scope joins.
                lock().stop = true;
                moved.notify_all();
            }
            match rx.recv_timeout(POLL) {
                Ok((i, r)) => {
                    on_done(i, &r);
                    pending.insert(i, r);
                    let before = frontier;
                    while let Some(r) = pending.remove(&frontier) {
                        in_order(frontier, r);
                        frontier += 1;
                    }
                    if frontier != before {
                        lock().frontier = frontier;
                        moved.notify_all();
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                // Every worker has returned.
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        Ok(Outcome { delivered: frontier, threads: started, stopped: stopped && frontier < jobs })
    })
}

/// The machine's parallelism (1 if unknown), at most [`MAX_JOBS`].
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(MAX_JOBS)
}

#[cfg(test)]
#[allow(clippy::disallowed_methods, reason = "these tests make threads finish out of order with real sleeps")]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn collect(jobs: usize, threads: usize, work: impl Fn(usize) -> u64 + Sync) -> (Vec<u64>, Outcome) {
        let mut out = Vec::new();
        let outcome = run_ordered(
            jobs,
            threads,
            work,
            |_, _| {},
            |i, r| {
                assert_eq!(i, out.len());
                out.push(r);
            },
            || false,
        )
        .unwrap();
        (out, outcome)
    }

    #[test]
    fn results_are_in_job_order_for_any_thread_count() {
        let expected: Vec<u64> = (0..100u64).map(|j| j * j).collect();
        for threads in [1, 2, 3, 8, 100_000] {
            let (got, outcome) = collect(100, threads, |j| {
                // Later jobs finish first.
                std::thread::sleep(Duration::from_micros(((100 - j) % 7) as u64 * 50));
                (j * j) as u64
            });
            assert_eq!(got, expected, "{threads} threads");
            assert_eq!(outcome.delivered, 100);
            assert!(outcome.threads <= 100 && !outcome.stopped);
        }
        assert!(collect(0, 4, |j| j as u64).0.is_empty());
    }

    #[test]
    fn workers_stay_within_the_window() {
        // Job 0 is slow: the others may not run further ahead than the window.
        let started = AtomicUsize::new(0);
        let threads = 4;
        let (got, _) = collect(200, threads, |j| {
            started.fetch_add(1, Ordering::SeqCst);
            if j == 0 {
                std::thread::sleep(Duration::from_millis(100));
                // Nothing past the window started while job 0 ran.
                assert!(started.load(Ordering::SeqCst) <= window(threads));
            }
            j as u64
        });
        assert_eq!(got.len(), 200);
    }

    #[test]
    fn a_panicking_job_is_re_raised_not_a_deadlock() {
        let r = std::panic::catch_unwind(|| collect(100, 3, |j| if j == 0 { panic!("boom") } else { j as u64 }));
        assert!(r.is_err());
    }

    #[test]
    fn stop_lets_runs_in_flight_finish_and_starts_no_more() {
        let done = AtomicUsize::new(0);
        let mut finished = Vec::new();
        let mut delivered = 0;
        let outcome = run_ordered(
            1000,
            2,
            |j| {
                std::thread::sleep(Duration::from_millis(2));
                done.fetch_add(1, Ordering::SeqCst);
                j
            },
            |i, _| finished.push(i),
            |_, _| delivered += 1,
            || done.load(Ordering::SeqCst) >= 5,
        )
        .unwrap();
        assert!(outcome.stopped);
        assert!(outcome.delivered < 1000 && outcome.delivered >= 5, "{outcome:?}");
        assert_eq!(outcome.delivered, delivered);
        // Every run that started was seen by on_done.
        assert_eq!(finished.len(), done.load(Ordering::SeqCst));
    }
}
