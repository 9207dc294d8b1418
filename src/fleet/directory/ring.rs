//! Where keys go by hashing: modulo over a node list, and a consistent-hash
//! ring with virtual nodes (placement, and a distributed directory's
//! partition ownership).

use rehearsal_sim::rng::splitmix64;

/// SplitMix64 of a key: hash placement spreads keys, not their order.
pub(crate) fn mix(x: u64) -> u64 {
    let mut s = x;
    splitmix64(&mut s)
}

/// The node owning `key` on a ring of `vnodes` points per node: the first
/// point clockwise from the key's hash.
pub(crate) fn ring_owner(nodes: &[u16], vnodes: u32, key: u32) -> u16 {
    let h = mix(u64::from(key) ^ 0x9e37_79b9_7f4a_7c15);
    let mut best: Option<(u64, u16)> = None;
    let mut first: Option<(u64, u16)> = None;
    for &n in nodes {
        for v in 0..vnodes {
            let point = mix((u64::from(n) << 32) | u64::from(v));
            if first.is_none_or(|(p, _)| point < p) {
                first = Some((point, n));
            }
            if point >= h && best.is_none_or(|(p, _)| point < p) {
                best = Some((point, n));
            }
        }
    }
    best.or(first).map_or(nodes[0], |(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_moves_only_the_lost_nodes_keys() {
        let all = [0u16, 1, 2, 3];
        let without = [0u16, 1, 2];
        let mut moved = 0;
        for key in 0..10_000u32 {
            let (a, b) = (ring_owner(&all, 10, key), ring_owner(&without, 10, key));
            if a != 3 {
                assert_eq!(a, b, "key {key} moved though its node stayed");
            } else {
                moved += 1;
            }
        }
        // About a quarter of the keys lived on node 3.
        assert!((1_500..3_500).contains(&moved), "{moved}");
    }

    #[test]
    fn hash_placement_moves_most_keys_when_membership_changes() {
        let moved = (0..10_000u32)
            .filter(|&k| {
                let a = [0u16, 1, 2, 3][(mix(u64::from(k)) % 4) as usize];
                let b = [0u16, 1, 2][(mix(u64::from(k)) % 3) as usize];
                a != b
            })
            .count();
        assert!(moved > 5_000, "{moved}");
    }
}
