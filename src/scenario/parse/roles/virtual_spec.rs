//! A role's virtual-agent keys (`virtual = true` and what goes with it).

use super::super::{Ctx, DistKind, Result};
use super::RawRole;
use crate::scenario::workflow::{DirectoryKind, VirtualSpec};

impl Ctx<'_> {
    /// The role's virtual-agent spec, or `None` for a role of fixed agents.
    pub(super) fn virtual_spec(&self, r: &RawRole) -> Result<Option<VirtualSpec>> {
        if !r.virtual_agents.as_ref().is_some_and(|v| *v.get_ref()) {
            return Ok(None);
        }
        let idle_ns = if r.passivation.as_ref().is_some_and(|p| !*p.get_ref()) {
            None
        } else {
            Some(match &r.idle_timeout {
                Some(t) => self.positive_duration(t, "roles.idle_timeout")?,
                None => 60_000_000_000,
            })
        };
        let state_load = r.state_load.as_ref().map(|d| self.dist(d, "roles.state_load", DistKind::Latency)).transpose()?;
        let reminder_ns = r.reminder.as_ref().map(|t| self.positive_duration(t, "roles.reminder")).transpose()?;
        let directory = match &r.directory {
            None => DirectoryKind::Central,
            Some(d) => match d.get_ref().as_str() {
                "central" => DirectoryKind::Central,
                "distributed" => DirectoryKind::Distributed,
                _ => return Err(self.bad(d, "roles.directory", "\"central\" or \"distributed\"", None)),
            },
        };
        if let (DirectoryKind::Distributed, Some(rem)) = (directory, &r.reminder) {
            return Err(self.bad(
                rem,
                "roles.reminder",
                "no reminder with `directory = \"distributed\"`",
                Some("reminders are kept by the central directory (on node 0, which faults spare); drop `directory` or `reminder`".into()),
            ));
        }
        Ok(Some(VirtualSpec { idle_ns, state_load, reminder_ns, directory }))
    }
}
