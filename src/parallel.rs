//! Runs in parallel across threads. Parallelism is across runs only; each
//! run is single-threaded, and results come back in job order whatever the
//! thread count, so the outcome does not depend on `--jobs`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Apply `work` to every job on `threads` threads; `on_done` is called (from
/// the worker threads, in completion order) after each job, for progress.
pub fn map_parallel<J, R, W, P>(jobs: &[J], threads: usize, work: W, on_done: P) -> Vec<R>
where
    J: Sync,
    R: Send,
    W: Fn(&J) -> R + Sync,
    P: Fn(&R) + Sync,
{
    let threads = threads.clamp(1, jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let result = work(job);
                    on_done(&result);
                    // A poisoned lock means another worker panicked; its
                    // panic is re-raised when the scope joins.
                    if let Ok(mut slots) = results.lock() {
                        slots[i] = Some(result);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .into_iter()
        .map(|r| r.expect("every job index below jobs.len() is taken by exactly one worker"))
        .collect()
}

/// The machine's parallelism (1 if unknown).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_in_job_order_for_any_thread_count() {
        let jobs: Vec<u64> = (0..100).collect();
        let expected: Vec<u64> = jobs.iter().map(|j| j * j).collect();
        for threads in [1, 2, 3, 8] {
            assert_eq!(map_parallel(&jobs, threads, |j| j * j, |_| {}), expected);
        }
        assert!(map_parallel(&[] as &[u64], 4, |j| *j, |_| {}).is_empty());
    }
}
