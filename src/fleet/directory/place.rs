//! Where a directory activates a key: the `placement` strategy over the
//! nodes it believes up that have room, from the counts it keeps (see
//! [`crate::strategy::placement`] for each strategy).

use rehearsal_runtime::Nanos;

use super::ring::{mix, ring_owner};
use crate::strategy::placement::Placement;

/// How old the counts that `power_of_two` and `resource_optimized` read may
/// get: they are refreshed once a second, as silos publish statistics.
const STATS_PERIOD_NS: Nanos = 1_000_000_000;

/// Why no node was found.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum NoPlace {
    /// No node is believed up.
    NoneUp,
    /// Every node up is full (its memory holds no more activations).
    Full,
}

/// A directory's placement: the strategy, the role's nodes and what each
/// offers, and the lagging counts.
#[derive(Clone, Debug)]
pub(super) struct Placer {
    placement: Placement,
    /// The role's nodes, in its list's order.
    pub(super) nodes: Vec<u16>,
    /// Per node (same order): CPU slots, and the most activations its
    /// memory holds.
    cpu: Vec<Option<u32>>,
    room: Vec<Option<u64>>,
    /// Activations per node (same order) as of `stats_at`.
    stats: Vec<u64>,
    stats_at: Option<Nanos>,
    /// `spread`: the next node in turn.
    turn: usize,
    /// Reused: indices of the candidate nodes.
    candidates: Vec<usize>,
    /// Reused: the candidates' node ids.
    ids: Vec<u16>,
}

impl Placer {
    /// `capacity[i]`: node `nodes[i]`'s CPU slots and the activations its
    /// memory holds.
    pub(super) fn new(placement: Placement, nodes: Vec<u16>, capacity: Vec<(Option<u32>, Option<u64>)>) -> Self {
        let (cpu, room) = capacity.into_iter().unzip();
        let n = nodes.len();
        Placer {
            placement,
            nodes,
            cpu,
            room,
            stats: vec![0; n],
            stats_at: None,
            turn: 0,
            candidates: Vec::new(),
            ids: Vec::new(),
        }
    }

    /// The node for `key`'s new activation. `live(node)`: activations on
    /// it now; `up[i]`: node `nodes[i]` is believed up; `here`: the
    /// directory's own node; `random`: a draw of the directory's stream.
    pub(super) fn place(
        &mut self,
        key: u32,
        now: Nanos,
        here: u16,
        live: impl Fn(u16) -> u64,
        up: &[bool],
        mut random: impl FnMut() -> u64,
    ) -> Result<u16, NoPlace> {
        if self.stats_at.is_none_or(|at| now >= at.saturating_add(STATS_PERIOD_NS)) {
            for (i, &n) in self.nodes.iter().enumerate() {
                self.stats[i] = live(n);
            }
            self.stats_at = Some(now);
        }
        self.candidates.clear();
        let mut any_up = false;
        for (i, &n) in self.nodes.iter().enumerate() {
            if up[i] {
                any_up = true;
                if self.room[i].is_none_or(|r| live(n) < r) {
                    self.candidates.push(i);
                }
            }
        }
        if self.candidates.is_empty() {
            return Err(if any_up { NoPlace::Full } else { NoPlace::NoneUp });
        }
        let c = &self.candidates;
        let pick = |r: u64| c[((u128::from(r) * c.len() as u128) >> 64) as usize];
        let i = match self.placement {
            Placement::Random => pick(random()),
            Placement::PreferLocal => match c.iter().find(|&&i| self.nodes[i] == here) {
                Some(&i) => i,
                None => pick(random()),
            },
            Placement::Hash => c[(mix(u64::from(key)) % c.len() as u64) as usize],
            Placement::ConsistentHash { vnodes } => {
                self.ids.clear();
                self.ids.extend(c.iter().map(|&i| self.nodes[i]));
                let node = ring_owner(&self.ids, vnodes, key);
                *c.iter().find(|&&i| self.nodes[i] == node).expect("the ring's owner is a candidate")
            }
            Placement::PowerOfTwo => {
                let (a, b) = (pick(random()), pick(random()));
                if self.stats[b] < self.stats[a] { b } else { a }
            }
            Placement::LeastLoaded => *c.iter().min_by_key(|&&i| (live(self.nodes[i]), i)).expect("a candidate"),
            Placement::ResourceOptimized { local_margin_permille } => {
                let score = |i: usize| {
                    let n = self.stats[i] as f64;
                    let cpu = n / f64::from(self.cpu[i].unwrap_or(1).max(1));
                    let memory = self.room[i].map_or(0.0, |r| n / r.max(1) as f64);
                    0.5 * cpu + 0.5 * memory
                };
                let best =
                    *c.iter().min_by(|&&a, &&b| score(a).total_cmp(&score(b)).then(a.cmp(&b))).expect("a candidate");
                let margin = f64::from(local_margin_permille) / 1000.0;
                match c.iter().find(|&&i| self.nodes[i] == here) {
                    Some(&l) if score(l) <= score(best) * (1.0 + margin) + 1e-12 => l,
                    _ => best,
                }
            }
            Placement::Pack => c[0],
            Placement::Spread => {
                self.turn = self.turn.wrapping_add(1);
                c[self.turn % c.len()]
            }
        };
        Ok(self.nodes[i])
    }
}

impl Placer {
    /// Whether the placement puts a key by its hash alone (so a key has one
    /// right node while membership holds).
    pub(super) fn is_by_key(&self) -> bool {
        matches!(self.placement, Placement::Hash | Placement::ConsistentHash { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placer(p: Placement, room: Option<u64>) -> Placer {
        Placer::new(p, vec![1, 2, 3], vec![(Some(2), room); 3])
    }

    #[test]
    fn pack_fills_the_first_node_with_room_and_a_full_cluster_says_so() {
        let mut p = placer(Placement::Pack, Some(2));
        let live = |n: u16| if n == 1 { 2 } else { 0 };
        assert_eq!(p.place(7, 0, 0, live, &[true; 3], || 0), Ok(2));
        assert_eq!(p.place(7, 0, 0, |_| 2, &[true; 3], || 0), Err(NoPlace::Full));
        assert_eq!(p.place(7, 0, 0, |_| 0, &[false; 3], || 0), Err(NoPlace::NoneUp));
    }

    #[test]
    fn power_of_two_reads_counts_a_second_old() {
        let mut p = placer(Placement::PowerOfTwo, None);
        // At 0 the counts are 5, 0, 0: a draw of nodes 1 and 2 picks 2.
        let first = |n: u16| if n == 1 { 5 } else { 0 };
        let draws = [0u64, u64::MAX / 2];
        let mut k = 0;
        assert_eq!(
            p.place(0, 0, 0, first, &[true; 3], || {
                k += 1;
                draws[k - 1]
            }),
            Ok(2)
        );
        // Half a second later node 2 is the busiest, but the counts are
        // still those of time 0: the same draw picks 2 again.
        let later = |n: u16| if n == 2 { 9 } else { 0 };
        let mut k = 0;
        assert_eq!(
            p.place(0, 500_000_000, 0, later, &[true; 3], || {
                k += 1;
                draws[k - 1]
            }),
            Ok(2)
        );
        // After a second the counts are fresh: it picks 1.
        let mut k = 0;
        assert_eq!(
            p.place(0, 1_000_000_000, 0, later, &[true; 3], || {
                k += 1;
                draws[k - 1]
            }),
            Ok(1)
        );
    }

    #[test]
    fn resource_optimized_keeps_local_within_its_margin() {
        let mut p = Placer::new(
            Placement::ResourceOptimized { local_margin_permille: 200 },
            vec![1, 2],
            vec![(Some(10), None), (Some(10), None)],
        );
        // Scores 0.5 x 11/10 = 0.55 (local, node 1) and 0.5 x 10/10 = 0.5:
        // within 20%, the local node wins.
        assert_eq!(p.place(0, 0, 1, |n| if n == 1 { 11 } else { 10 }, &[true; 2], || 0), Ok(1));
        // 0.5 x 13/10 = 0.65 is more than 20% worse: node 2.
        let mut p = Placer::new(
            Placement::ResourceOptimized { local_margin_permille: 200 },
            vec![1, 2],
            vec![(Some(10), None), (Some(10), None)],
        );
        assert_eq!(p.place(0, 0, 1, |n| if n == 1 { 13 } else { 10 }, &[true; 2], || 0), Ok(2));
    }
}
