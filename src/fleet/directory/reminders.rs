//! Durable reminders of a virtual role (`reminder = "10s"`), kept by
//! whoever outlives the activations: the central directory, or a
//! distributed directory's front. A key's reminder is registered the first
//! time the keeper sees the key and kept from then on; its timer's tag is
//! the key (below 2^32, apart from the keepers' own timer tags).

use std::collections::BTreeSet;

use rehearsal_runtime::{Ctx, Nanos};

use crate::fleet::FleetActor;

/// A period (`None`: no reminders) and the keys that have one.
#[derive(Clone, Debug, Default)]
pub struct Reminders {
    period_ns: Option<Nanos>,
    keys: BTreeSet<u32>,
}

impl Reminders {
    pub fn new(period_ns: Option<Nanos>) -> Self {
        Reminders { period_ns, keys: BTreeSet::new() }
    }

    /// Give `key` a reminder if it has none: its first timer starts now.
    pub fn register(&mut self, key: u32, ctx: &mut Ctx<'_, FleetActor>) {
        if let Some(period) = self.period_ns
            && self.keys.insert(key)
        {
            ctx.set_timer(period, u64::from(key));
        }
    }

    /// The key whose reminder timer `tag` is, if it is one.
    pub fn due(&self, tag: u64) -> Option<u32> {
        u32::try_from(tag).ok().filter(|k| self.period_ns.is_some() && self.keys.contains(k))
    }

    /// Set `key`'s next reminder.
    pub fn rearm(&self, key: u32, ctx: &mut Ctx<'_, FleetActor>) {
        if let Some(period) = self.period_ns {
            ctx.set_timer(period, u64::from(key));
        }
    }
}
