//! `[topology] capacity` and `node_capacity`: what each node offers the
//! agents on it (CPU slots, memory).

use schemars::JsonSchema;
use serde::Deserialize;

use super::{Ctx, Result, Spanned};
use crate::scenario::model::NodeCapacity;

/// `capacity = { cpu = 8, memory_mb = 4096 }`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCapacity {
    cpu: Option<Spanned<i64>>,
    memory_mb: Option<Spanned<i64>>,
}

/// `node_capacity = [{ node = 3, cpu = 16, memory_mb = 8192 }]`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNodeCapacity {
    node: Spanned<i64>,
    cpu: Option<Spanned<i64>>,
    memory_mb: Option<Spanned<i64>>,
}

/// The most CPU slots a node may have.
const MAX_CPU: u64 = 100_000;
/// The most memory a node may have: 1 PiB.
const MAX_MEMORY_MB: u64 = 1 << 30;

impl Ctx<'_> {
    /// Every node's capacity, by node index (empty if none is given).
    pub(super) fn capacities(
        &self,
        all: Option<&Spanned<RawCapacity>>,
        each: Option<&[Spanned<RawNodeCapacity>]>,
        nodes: u32,
    ) -> Result<Vec<NodeCapacity>> {
        if all.is_none() && each.is_none_or(|e| e.is_empty()) {
            return Ok(Vec::new());
        }
        let base = match all {
            Some(c) => self.capacity(c.get_ref().cpu.as_ref(), c.get_ref().memory_mb.as_ref(), "topology.capacity")?,
            None => NodeCapacity::default(),
        };
        let mut out = vec![base; nodes as usize];
        let mut seen = vec![false; nodes as usize];
        for e in each.into_iter().flatten() {
            let r = e.get_ref();
            let node = match u32::try_from(*r.node.get_ref()) {
                Ok(n) if n < nodes => n as usize,
                _ => {
                    return Err(self.bad(
                        &r.node,
                        "topology.node_capacity.node",
                        format!("a node index below {nodes}"),
                        Some(format!("nodes are numbered from 0; this topology has {nodes}")),
                    ));
                }
            };
            if std::mem::replace(&mut seen[node], true) {
                return Err(self.bad(
                    &r.node,
                    "topology.node_capacity.node",
                    "each node at most once",
                    Some(format!("node {node} is listed twice; merge the entries")),
                ));
            }
            let own = self.capacity(r.cpu.as_ref(), r.memory_mb.as_ref(), "topology.node_capacity")?;
            out[node] = NodeCapacity { cpu: own.cpu.or(base.cpu), memory_mb: own.memory_mb.or(base.memory_mb) };
        }
        Ok(out)
    }

    fn capacity(
        &self,
        cpu: Option<&Spanned<i64>>,
        memory_mb: Option<&Spanned<i64>>,
        path: &str,
    ) -> Result<NodeCapacity> {
        Ok(NodeCapacity {
            cpu: cpu
                .map(|v| self.positive_int(v, &format!("{path}.cpu"), MAX_CPU, "at least 1 CPU slot"))
                .transpose()?
                .map(|n| n as u32),
            memory_mb: memory_mb
                .map(|v| self.positive_int(v, &format!("{path}.memory_mb"), MAX_MEMORY_MB, "at least 1 MB"))
                .transpose()?,
        })
    }
}
