//! Readable names for what a run's traces mention by number: actors
//! (`a3.0` -> `agent 3`, `researcher 1`, `gateway`), services
//! (`ServiceId(32768)` -> `tool:search`), the steps calls were made for,
//! registered names that faults target, BUGGIFY sites.
//!
//! Names are resolved once, when the run ends, from the system under test
//! (what each actor says it is at its spawn, [`SystemUnderTest::actor_name`],
//! [`SystemUnderTest::step_name`]) and the scenario (service names). They
//! are a presentation layer: nothing here is folded into the trace hash.

use std::borrow::Cow;
use std::collections::BTreeMap;

use rehearsal_runtime::{ActorId, ActorLabel};
use rehearsal_sim::activity::Spawned;

use crate::ledger::Span;
use crate::scenario::Scenario;
use crate::system::{SystemUnderTest, agent_name, llm_service, service_name, store_service, tool_service};

/// The names of one run's actors, services, steps and fault targets.
#[derive(Clone, Debug, Default)]
pub struct TraceNames {
    /// By actor id's (slot index, generation).
    actors: BTreeMap<(u32, u32), String>,
    services: BTreeMap<u16, String>,
    /// By (request type, step).
    steps: BTreeMap<(u16, u16), String>,
    /// Agent `i`'s name: what `agent_name(i)` registers.
    agents: Vec<String>,
    sites: BTreeMap<u64, String>,
}

/// What names are resolved from (see [`TraceNames::resolve`]).
#[derive(Debug)]
pub struct NameSources<'a> {
    pub scenario: &'a Scenario,
    pub spawns: &'a [Spawned],
    /// The ledger's service calls, with each request's type.
    pub spans: &'a [Span],
    pub request_kinds: &'a [u16],
    /// BUGGIFY sites that fired.
    pub sites: &'a [u64],
}

impl TraceNames {
    /// Resolve every name the run's records mention, asking `system`.
    pub fn resolve<S: SystemUnderTest>(system: &S, from: &NameSources<'_>) -> TraceNames {
        let scenario = from.scenario;
        let mut names = TraceNames::default();
        // Later actors of a name (restarts, several supervisors) get `#2`,
        // `#3`, ... so that a name picks out one actor.
        let mut seen: BTreeMap<String, u32> = BTreeMap::new();
        for spawn in from.spawns {
            let base =
                system.actor_name(scenario, spawn.label).unwrap_or_else(|| format!("actor {}", spawn.child.index()));
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            let name = if *n == 1 { base } else { format!("{base} #{n}") };
            names.actors.insert((spawn.child.index(), spawn.child.generation()), name);
        }
        // Every service of the scenario, stores included.
        let ids = (0..scenario.llms.len())
            .map(|i| llm_service(i as u16))
            .chain((0..scenario.tools.len()).map(|i| tool_service(i as u16)))
            .chain((0..scenario.stores.len()).map(|i| store_service(i as u16)));
        for id in ids {
            if let Some(name) = service_name(scenario, id) {
                names.services.insert(id.0, name);
            }
        }
        for span in from.spans {
            let kind = from.request_kinds.get(span.request as usize).copied().unwrap_or(0);
            names.steps.entry((kind, span.step)).or_insert_with(|| system.step_name(scenario, kind, span.step));
        }
        names.agents = (0..system.agents(scenario))
            .map(|i| system.actor_name(scenario, ActorLabel::nth("agent", i)).unwrap_or_else(|| format!("agent {i}")))
            .collect();
        for &site in from.sites {
            let name = match site {
                rehearsal_sim::SITE_SLOW_MESSAGE => Some("slow_message"),
                _ => system.buggify_site_name(site),
            };
            names.sites.insert(site, name.map_or_else(|| format!("{site:#x}"), str::to_owned));
        }
        names
    }

    /// An actor's name; `clients` for the outside; `actor N` for one the
    /// run did not record.
    pub fn actor(&self, id: ActorId) -> Cow<'_, str> {
        if id == ActorId::EXTERNAL {
            return Cow::Borrowed("clients");
        }
        match self.actors.get(&(id.index(), id.generation())) {
            Some(name) => Cow::Borrowed(name),
            None => Cow::Owned(format!("actor {}", id.index())),
        }
    }

    /// A service's name (`llm:NAME`, `tool:NAME`).
    pub fn service(&self, id: u16) -> Cow<'_, str> {
        match self.services.get(&id) {
            Some(name) => Cow::Borrowed(name),
            None => Cow::Owned(format!("service {id}")),
        }
    }

    /// The name of step `step` of a request of type `kind`.
    pub fn step(&self, kind: u16, step: u16) -> Cow<'_, str> {
        match self.steps.get(&(kind, step)) {
            Some(name) => Cow::Borrowed(name),
            None => Cow::Owned(format!("step{}", u32::from(step) + 1)),
        }
    }

    /// Who holds registered name `name` (agent `i` registers
    /// [`agent_name`]`(i)`).
    pub fn registered(&self, name: u64) -> Cow<'_, str> {
        let agent = name.checked_sub(agent_name(0)).and_then(|i| usize::try_from(i).ok());
        match agent.and_then(|i| self.agents.get(i)) {
            Some(agent) => Cow::Borrowed(agent),
            None => Cow::Owned(format!("name {name}")),
        }
    }

    /// A BUGGIFY site's name.
    pub fn site(&self, site: u64) -> Cow<'_, str> {
        match self.sites.get(&site) {
            Some(name) => Cow::Borrowed(name),
            None => Cow::Owned(format!("{site:#x}")),
        }
    }

    /// `text` (a recorded event's description) with actor ids and service
    /// ids replaced by names: `a3.0 calls ServiceCall { service:
    /// ServiceId(0), ...` -> `agent 3 calls ServiceCall { service: llm:llm,
    /// ...`. Ids the run did not record stay as they are.
    pub fn rename_text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let bytes = text.as_bytes();
        let mut out = String::new();
        let mut copied = 0;
        let mut i = 0;
        while i < bytes.len() {
            let at_word_start = i == 0 || !is_word_byte(bytes[i - 1]);
            let found = if !at_word_start {
                None
            } else if bytes[i] == b'a' {
                parse_actor(bytes, i + 1).and_then(|(index, generation, end)| {
                    self.actors.get(&(index, generation)).map(|name| (name.as_str().into(), end))
                })
            } else if bytes[i..].starts_with(SERVICE_PREFIX.as_bytes()) {
                parse_service(bytes, i + SERVICE_PREFIX.len()).map(|(id, end)| (self.service(id), end))
            } else {
                None
            };
            match found {
                Some((name, end)) => {
                    out.push_str(&text[copied..i]);
                    out.push_str(&name);
                    copied = end;
                    i = end;
                }
                None => i += 1,
            }
        }
        if copied == 0 {
            return Cow::Borrowed(text);
        }
        out.push_str(&text[copied..]);
        Cow::Owned(out)
    }
}

const SERVICE_PREFIX: &str = "ServiceId(";

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Digits from `at`: their value and where they end.
fn parse_digits(bytes: &[u8], at: usize) -> Option<(u64, usize)> {
    let end = at + bytes[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    if end == at || end - at > 10 {
        return None;
    }
    std::str::from_utf8(&bytes[at..end]).ok()?.parse().ok().map(|v| (v, end))
}

/// `INDEX.GENERATION` from `at` (after an `a`), ending at a word boundary,
/// as [`ActorId`]'s `Debug` writes it.
fn parse_actor(bytes: &[u8], at: usize) -> Option<(u32, u32, usize)> {
    let (index, dot) = parse_digits(bytes, at)?;
    if bytes.get(dot) != Some(&b'.') {
        return None;
    }
    let (generation, end) = parse_digits(bytes, dot + 1)?;
    if bytes.get(end).is_some_and(|&b| is_word_byte(b) || b == b'.') {
        return None;
    }
    Some((u32::try_from(index).ok()?, u32::try_from(generation).ok()?, end))
}

/// `N)` from `at` (after `ServiceId(`): the id and the end after `)`,
/// as [`rehearsal_runtime::ServiceId`]'s `Debug` writes it.
fn parse_service(bytes: &[u8], at: usize) -> Option<(u16, usize)> {
    let (id, end) = parse_digits(bytes, at)?;
    if bytes.get(end) != Some(&b')') {
        return None;
    }
    Some((u16::try_from(id).ok()?, end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> TraceNames {
        let mut n = TraceNames::default();
        n.actors.insert((3, 0), "agent 3".into());
        n.actors.insert((16, 1), "gateway #2".into());
        n.services.insert(0, "llm:llm".into());
        n.services.insert(0x8000, "tool:search".into());
        n.agents = vec!["planner 0".into(), "planner 1".into()];
        n
    }

    #[test]
    fn renames_actor_and_service_ids_in_text() {
        let n = names();
        assert_eq!(
            n.rename_text("a3.0 calls ServiceCall { service: ServiceId(32768), x: 1 } from a16.1"),
            "agent 3 calls ServiceCall { service: tool:search, x: 1 } from gateway #2"
        );
        assert_eq!(n.rename_text("send a3.0 -> a16.1: ServiceId(0)"), "send agent 3 -> gateway #2: llm:llm");
    }

    #[test]
    fn leaves_unknown_ids_and_lookalikes_alone() {
        let n = names();
        for text in ["a9.0 and data3.0 and a3.05x and a3.0.1 and ServiceId(7 and ServiceId(x)", "plain", ""] {
            assert_eq!(n.rename_text(text), text);
        }
        assert!(matches!(n.rename_text("nothing to rename"), Cow::Borrowed(_)));
        assert_eq!(n.rename_text("ServiceId(9)"), "service 9");
    }

    #[test]
    fn registered_names_are_agents_by_index() {
        let n = names();
        assert_eq!(n.registered(agent_name(1)), "planner 1");
        assert_eq!(n.registered(agent_name(2)), "name 1002");
        assert_eq!(n.registered(5), "name 5");
        assert_eq!(n.actor(ActorId::EXTERNAL), "clients");
    }
}
