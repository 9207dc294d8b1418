//! Workload parameters and results shared by every implementation.

/// W1 "ring": `actors` actors in a ring, `tokens` tokens circulating, `hops` hops in
/// total (each token does `hops / tokens`), each hop taking `latency_ns` simulated time.
#[derive(Debug, Clone, Copy)]
pub struct RingSpec {
    pub actors: u32,
    pub tokens: u32,
    pub hops: u64,
    pub latency_ns: u64,
    pub seed: u64,
}

impl RingSpec {
    pub fn hops_per_token(&self) -> u64 {
        assert_eq!(self.hops % self.tokens as u64, 0, "hops must be a multiple of tokens");
        self.hops / self.tokens as u64
    }
    /// Token `k` starts at this actor (tokens are evenly spaced so that, with equal
    /// per-hop latency, no two tokens are ever at the same actor at the same time).
    pub fn start_actor(&self, k: u32) -> u32 {
        ((k as u64 * self.actors as u64) / self.tokens as u64) as u32
    }
}

/// W2 "timers": `actors` actors, each arming `timers_per_actor` timers at start (all
/// pending at once, as in `rehearsal_sim::workloads::timers`), each of a seeded random
/// duration uniform in whole milliseconds `min_ms..=max_ms`.
#[derive(Debug, Clone, Copy)]
pub struct TimerSpec {
    pub actors: u32,
    pub timers_per_actor: u32,
    pub min_ms: u64,
    pub max_ms: u64,
    pub seed: u64,
}

impl TimerSpec {
    pub fn total(&self) -> u64 {
        self.actors as u64 * self.timers_per_actor as u64
    }
    /// Map a uniform u64 to `min_ms..=max_ms` (Lemire's multiply-shift, no division).
    #[inline]
    pub fn duration_ms(&self, r: u64) -> u64 {
        let span = self.max_ms - self.min_ms + 1;
        self.min_ms + ((r as u128 * span as u128) >> 64) as u64
    }
    /// Pre-draw every actor's durations from one seeded ChaCha8 stream (used by the
    /// task-based implementations, whose tasks each own their list of durations).
    pub fn predraw(&self) -> Vec<Vec<u16>> {
        use rand_chacha::ChaCha8Rng;
        use rand_core::{Rng, SeedableRng};
        assert!(self.max_ms <= u16::MAX as u64);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        (0..self.actors)
            .map(|_| (0..self.timers_per_actor).map(|_| self.duration_ms(rng.next_u64()) as u16).collect())
            .collect()
    }
}

/// What a run reports back, so the driver can check that the work was done.
#[derive(Debug, Clone, Default)]
pub struct Done {
    /// Hops (W1) or timer firings (W2) actually performed.
    pub work: u64,
    /// Simulated time at the end of the run, in nanoseconds (0 if unknown).
    pub sim_time_ns: u64,
    /// Free-form remark printed by the driver (e.g. how actors were mapped to nodes).
    pub note: Option<String>,
}
