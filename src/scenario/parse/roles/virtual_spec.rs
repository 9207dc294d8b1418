//! A role's virtual-agent keys (`virtual = true` and what goes with it).

use schemars::JsonSchema;
use serde::Deserialize;

use super::super::{Ctx, DistKind, RawDuration, Result, Spanned};
use super::{Builder, RawRole};
use crate::scenario::model::Step;
use crate::scenario::workflow::{DirectoryKind, Persist, Rebalance, StateKind, StateSpec, VirtualSpec};

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
        let state_load =
            r.state_load.as_ref().map(|d| self.dist(d, "roles.state_load", DistKind::Latency)).transpose()?;
        let reminder_ns = r.reminder.as_ref().map(|t| self.positive_duration(t, "roles.reminder")).transpose()?;
        let directory = match &r.directory {
            None => None,
            Some(d) => Some(match d.get_ref().as_str() {
                "central" => DirectoryKind::Central,
                "distributed" => DirectoryKind::Distributed,
                _ => return Err(self.bad(d, "roles.directory", "\"central\" or \"distributed\"", None)),
            }),
        };
        if let (Some(st), Some(_)) = (&r.state, &r.state_load) {
            return Err(self.bad(
                st,
                "roles.state",
                "either `state` (a store) or `state_load` (a load time), not both",
                Some("with `state`, loading is the store's read (and the replay of events)".into()),
            ));
        }
        let rebalance = r.rebalance.as_ref().map(|b| self.rebalance(b)).transpose()?;
        Ok(Some(VirtualSpec { idle_ns, state_load, reminder_ns, directory, state: None, rebalance }))
    }

    fn rebalance(&self, raw: &Spanned<RawRebalance>) -> Result<Rebalance> {
        let r = raw.get_ref();
        Ok(Rebalance {
            period_ns: match &r.every {
                Some(d) => self.positive_duration(d, "roles.rebalance.every")?,
                None => 10_000_000_000,
            },
            threshold: match &r.threshold {
                Some(n) => match u64::try_from(*n.get_ref()) {
                    Ok(t) if t <= 1 << 32 => t,
                    _ => return Err(self.bad(n, "roles.rebalance.threshold", "an integer from 0 to 2^32", None)),
                },
                None => 1,
            },
            max_moves: match &r.max_moves {
                Some(n) => {
                    self.positive_int(n, "roles.rebalance.max_moves", 1_000_000, "at least 1 move at a time")? as u32
                }
                None => 10,
            },
        })
    }
}

/// `rebalance = { every = "10s", threshold = 1, max_moves = 10 }`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(in crate::scenario::parse) struct RawRebalance {
    /// How often the directory looks (default "10s").
    every: Option<Spanned<RawDuration>>,
    /// Load placements: move while the busiest node holds more than this
    /// many activations above the least busy (default 1).
    threshold: Option<Spanned<i64>>,
    /// The most moves at once (default 10).
    max_moves: Option<Spanned<i64>>,
}

/// `state = { store = "tool:NAME", kind, persist, snapshot_every, replay_per_event }`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(in crate::scenario::parse) struct RawState {
    /// The store service: `"tool"` or `"tool:NAME"`.
    store: Spanned<String>,
    /// `"durable"` (default) or `"event_sourced"`.
    kind: Option<Spanned<String>>,
    /// `"each_turn"` (default) or a period such as `"10s"`.
    persist: Option<Spanned<String>>,
    /// Event sourced: a snapshot every this many events (default 100).
    snapshot_every: Option<Spanned<i64>>,
    /// Event sourced: replaying one event on load (default "1ms").
    replay_per_event: Option<Spanned<RawDuration>>,
}

/// The longest replay of one event a scenario may give.
const MAX_REPLAY_PER_EVENT_NS: u64 = 60_000_000_000;

impl Builder<'_, '_> {
    /// The role's `state`, with its store's calls filed under the role's
    /// steps `state-load` and `state-write`.
    pub(super) fn state_spec(&mut self, raw: &Spanned<RawState>) -> Result<StateSpec> {
        let r = raw.get_ref();
        let store = self.ctx.step(&r.store, self.input.llms, self.input.tools)?;
        let Step::Tool(_) = store else {
            return Err(self.ctx.bad(
                &r.store,
                "roles.state.store",
                "a tool service: \"tool\" or \"tool:NAME\"",
                Some("declare the store as [tools.NAME] with its latency, error_rate and timeout".into()),
            ));
        };
        let kind = match r.kind.as_ref().map(|k| k.get_ref().as_str()) {
            None | Some("durable") => StateKind::Durable,
            Some("event_sourced") => StateKind::EventSourced {
                snapshot_every: match &r.snapshot_every {
                    Some(n) => self.ctx.positive_int(
                        n,
                        "roles.state.snapshot_every",
                        1_000_000,
                        "a snapshot every 1 event or more",
                    )? as u32,
                    None => 100,
                },
                replay_per_event_ns: match &r.replay_per_event {
                    Some(d) => {
                        let ns = self.ctx.duration(d, "roles.state.replay_per_event")?;
                        if ns > MAX_REPLAY_PER_EVENT_NS {
                            return Err(self.ctx.bad(
                                d,
                                "roles.state.replay_per_event",
                                "a duration of at most 1 minute",
                                Some("replaying one event takes milliseconds in a real journal".into()),
                            ));
                        }
                        ns
                    }
                    None => 1_000_000,
                },
            },
            Some(_) => {
                let k = r.kind.as_ref().expect("matched Some");
                return Err(self.ctx.bad(k, "roles.state.kind", "\"durable\" or \"event_sourced\"", None));
            }
        };
        if let (StateKind::Durable, Some(v)) =
            (kind, r.snapshot_every.as_ref().map(|v| v.span()).or(r.replay_per_event.as_ref().map(|v| v.span())))
        {
            return Err(self.ctx.err(
                v.start,
                "`snapshot_every` and `replay_per_event` apply to event-sourced state",
                "no `snapshot_every` or `replay_per_event` with `kind = \"durable\"`",
                Some("add `kind = \"event_sourced\"`".into()),
            ));
        }
        let persist = match &r.persist {
            None => Persist::EachTurn,
            Some(p) if p.get_ref() == "each_turn" => Persist::EachTurn,
            Some(p) => match crate::scenario::duration::parse_duration(p.get_ref()) {
                Ok(ns) if ns > 0 => Persist::Every { period_ns: ns },
                _ => {
                    return Err(self.ctx.bad(
                        p,
                        "roles.state.persist",
                        "\"each_turn\" or a period such as \"10s\"",
                        None,
                    ));
                }
            },
        };
        let (target, timeout_ns) = self.service(store);
        for reserved in ["state-load", "state-write"] {
            if self.local.iter().any(|n| n == reserved) {
                return Err(self.ctx.bad(
                    &r.store,
                    "roles.state",
                    format!("no workflow step named `{reserved}`"),
                    Some(format!("`{reserved}` names the state store's calls in reports; rename the step")),
                ));
            }
        }
        let load_step = self.name_unchecked("state-load", "call", target.clone());
        let write_step = self.name_unchecked("state-write", "call", target);
        Ok(StateSpec { store, timeout_ns, kind, persist, load_step, write_step })
    }
}
