//! Nodes' CPUs: each node with `cpu` slots runs that many pieces of agent
//! work (a role's `cpu` time) at once, first come first served; more wait
//! for a slot. This is the node's physics, not anyone's knowledge: an agent
//! only experiences the wait, as a process on a busy machine does.

use rehearsal_runtime::Nanos;

use crate::scenario::Topology;

/// One node's CPU.
#[derive(Clone, Debug, Default)]
struct Cpu {
    /// When each slot is next free (empty: unlimited slots).
    free_at: Vec<Nanos>,
    /// CPU time run (or reserved), summed.
    busy_ns: u128,
}

/// Every node's CPU.
#[derive(Debug, Default)]
pub struct Cpus {
    cpus: Vec<Cpu>,
}

impl Cpus {
    pub fn new(topology: &Topology) -> Self {
        let cpus = (0..topology.nodes)
            .map(|n| Cpu { free_at: vec![0; topology.capacity_of(n).cpu.unwrap_or(0) as usize], busy_ns: 0 })
            .collect();
        Cpus { cpus }
    }

    /// Run `work_ns` of CPU on `node`, asked at `now`: when it is done.
    pub fn run(&mut self, node: u16, now: Nanos, work_ns: Nanos) -> Nanos {
        let Some(cpu) = self.cpus.get_mut(usize::from(node)) else { return now.saturating_add(work_ns) };
        cpu.busy_ns += u128::from(work_ns);
        // The slot free soonest (the lowest index on a tie: deterministic).
        let Some((i, &free)) = cpu.free_at.iter().enumerate().min_by_key(|&(i, &f)| (f, i)) else {
            return now.saturating_add(work_ns);
        };
        let done = now.max(free).saturating_add(work_ns);
        cpu.free_at[i] = done;
        done
    }

    /// CPU time run on `node`, ns.
    pub fn busy_ns(&self, node: u16) -> u128 {
        self.cpus.get(usize::from(node)).map_or(0, |c| c.busy_ns)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever arrives, no more pieces run at once than there are
        /// slots, and none waits while a slot is free (first come, first
        /// served over `slots` servers).
        #[test]
        fn never_more_than_the_slots_and_never_idle_with_work_waiting(
            slots in 1usize..5,
            jobs in proptest::collection::vec((0u64..1_000, 1u64..500), 1..60),
        ) {
            let mut c = Cpus { cpus: vec![Cpu { free_at: vec![0; slots], busy_ns: 0 }] };
            let mut at = 0;
            let mut runs: Vec<(u64, u64)> = Vec::new();
            for (gap, work) in jobs {
                at += gap;
                let done = c.run(0, at, work);
                let start = done - work;
                prop_assert!(start >= at);
                // While it waited, every slot was busy: check at its arrival
                // and whenever an earlier piece ended before its start.
                let points = std::iter::once(at).chain(runs.iter().map(|r| r.1).filter(|&d| at <= d && d < start));
                for t in points.filter(|&t| t < start) {
                    let busy = runs.iter().filter(|&&(s, d)| s <= t && t < d).count();
                    prop_assert!(busy >= slots, "waited at {} with a slot free", t);
                }
                runs.push((start, done));
            }
            for &(s, _) in &runs {
                let running = runs.iter().filter(|&&(a, b)| a <= s && s < b).count();
                prop_assert!(running <= slots);
            }
        }
    }

    fn two_slots() -> Cpus {
        Cpus { cpus: vec![Cpu { free_at: vec![0, 0], busy_ns: 0 }] }
    }

    #[test]
    fn a_third_piece_of_work_waits_for_the_first_free_slot() {
        let mut c = two_slots();
        // 10 ms each, all asked at 0: two run at once, the third after.
        assert_eq!(c.run(0, 0, 10), 10);
        assert_eq!(c.run(0, 0, 10), 10);
        assert_eq!(c.run(0, 0, 10), 20);
        // Asked at 15: the slot free at 10 takes it at once.
        assert_eq!(c.run(0, 15, 10), 25);
        assert_eq!(c.busy_ns(0), 40);
    }

    #[test]
    fn a_node_without_slots_never_queues() {
        let mut c = Cpus { cpus: vec![Cpu::default()] };
        assert_eq!(c.run(0, 5, 10), 15);
        assert_eq!(c.run(0, 5, 10), 15);
    }
}
