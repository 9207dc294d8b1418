//! How a pool's (or a fan-out's) work reaches its agents: the `dispatch`
//! strategy axis.
//!
//! A dispatcher knows only what a real one would: which agents it believes
//! up (`Ctx::whereis`, which learns of a remote node's death only after the
//! failure-detection delay) and its own count of the work it has handed to
//! each agent and not yet heard back about (an answer, an ask that timed
//! out, a refusal, or the agent's death). It never reads an agent's
//! mailbox or state.

use std::collections::VecDeque;

use rehearsal_runtime::{ActorId, Ctx, Nanos, ReplyTo};

use super::{FleetActor, WorkRef, agent_name};

/// How work is spread over the agents.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Dispatch {
    /// The next agent believed up, in turn, whatever its load: with one
    /// mailbox per agent, a pool of c agents is c separate queues.
    #[default]
    RoundRobin,
    /// An agent believed up, uniformly at random.
    Random,
    /// The agent believed up with the fewest outstanding asks (the
    /// dispatcher's own count); ties go to the first in turn after the
    /// last agent chosen.
    LeastLoaded,
    /// Two distinct agents believed up, drawn at random; the one with fewer
    /// outstanding asks (the first drawn on a tie).
    PowerOfTwo,
    /// One queue at the dispatcher: an agent gets a request only when the
    /// dispatcher knows it is free (no outstanding ask), so the pool is
    /// one queue with c servers (M/M/c).
    SharedQueue,
}

impl Dispatch {
    /// Every dispatch strategy with its name on the `dispatch` axis, in the
    /// documented order.
    pub const ALL: [(Dispatch, &'static str); 5] = [
        (Dispatch::RoundRobin, "round_robin"),
        (Dispatch::Random, "random"),
        (Dispatch::LeastLoaded, "least_loaded"),
        (Dispatch::PowerOfTwo, "power_of_two"),
        (Dispatch::SharedQueue, "shared_queue"),
    ];

    /// The strategy a `dispatch` value names.
    pub fn from_name(name: &str) -> Option<Dispatch> {
        Dispatch::ALL.iter().find(|(_, n)| *n == name).map(|&(d, _)| d)
    }

    /// The strategy's name on the `dispatch` axis.
    pub fn name(self) -> &'static str {
        Dispatch::ALL.iter().find(|(d, _)| *d == self).map_or("round_robin", |&(_, n)| n)
    }
}

/// The outcome of choosing an agent.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Pick {
    /// Agent `index`, at this address.
    Agent(u32, ActorId),
    /// Agents are up but none is free (shared queue): wait.
    Wait,
    /// No agent is believed up.
    NoneUp,
}

/// A request (or fan-out part) waiting in the shared queue.
/// One piece of work a gateway hands to an agent, and who waits for it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) struct Handoff {
    /// The client request it belongs to.
    pub id: u64,
    /// Its part of the request: the fan-out part, or a role's work lineage
    /// (see [`WorkRef`]); 0 for a plain pool.
    pub part: u64,
    pub work: WorkRef,
    pub reply: ReplyTo,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) struct Queued {
    pub handoff: Handoff,
    pub attempt: u32,
    /// When it entered the queue.
    pub since: Nanos,
}

/// A dispatcher's state: its strategy, its own count of outstanding asks
/// per agent, whose turn it is, and (shared queue) the waiting work.
#[derive(Clone, Debug)]
pub(super) struct Dispatcher {
    kind: Dispatch,
    agents: u32,
    /// The global index of the first agent (a role's agents are numbered
    /// after the roles before it); agent `i` here is `agent_name(base + i)`.
    base: u32,
    /// Work one agent takes at once (a role's `concurrency`): the shared
    /// queue hands an agent work while its outstanding count is below.
    slots: u32,
    /// Whose turn it is (round robin), or where a scan starts.
    next: u32,
    /// Asks handed to each agent and not yet settled.
    outstanding: Vec<u32>,
    /// Shared queue: work waiting for a free agent, oldest first.
    queue: VecDeque<Queued>,
    /// Reused list of the agents believed up (random choices).
    up: Vec<(u32, ActorId)>,
}

impl Dispatcher {
    pub fn new(kind: Dispatch, agents: u32) -> Self {
        Dispatcher {
            kind,
            agents,
            base: 0,
            slots: 1,
            next: 0,
            outstanding: vec![0; agents as usize],
            queue: VecDeque::new(),
            up: Vec::new(),
        }
    }

    /// The same dispatcher with strategy `kind`.
    pub fn with_kind(mut self, kind: Dispatch) -> Self {
        self.kind = kind;
        self
    }

    /// The same dispatcher over agents `base..base + agents`, each taking
    /// `slots` pieces of work at once.
    pub fn over(mut self, base: u32, slots: u32) -> Self {
        self.base = base;
        self.slots = slots.max(1);
        self
    }

    pub fn kind(&self) -> Dispatch {
        self.kind
    }

    /// An ask was handed to agent `index`.
    pub fn sent(&mut self, index: u32) {
        if let Some(n) = self.outstanding.get_mut(index as usize) {
            *n += 1;
        }
    }

    /// An ask to agent `index` is settled (answered, timed out, refused,
    /// cancelled, or orphaned by the agent's death).
    pub fn settled(&mut self, index: u32) {
        if let Some(n) = self.outstanding.get_mut(index as usize) {
            *n = n.saturating_sub(1);
        }
    }

    /// The shared queue.
    pub fn queue_mut(&mut self) -> &mut VecDeque<Queued> {
        &mut self.queue
    }

    /// Choose an agent for new work by the strategy. The shared queue
    /// chooses only a free agent ([`Pick::Wait`] when none is).
    pub fn pick(&mut self, ctx: &mut Ctx<'_, FleetActor>) -> Pick {
        match self.kind {
            Dispatch::RoundRobin => self.round_robin(ctx),
            Dispatch::Random => self.random(ctx, false),
            Dispatch::PowerOfTwo => self.random(ctx, true),
            Dispatch::LeastLoaded => self.scan(ctx, false),
            Dispatch::SharedQueue => self.scan(ctx, true),
        }
    }

    fn round_robin(&mut self, ctx: &mut Ctx<'_, FleetActor>) -> Pick {
        for _ in 0..self.agents {
            let index = self.next % self.agents;
            self.next = self.next.wrapping_add(1);
            if let Some(agent) = ctx.whereis(agent_name(self.base + index)) {
                return Pick::Agent(index, agent);
            }
        }
        Pick::NoneUp
    }

    /// The least loaded agent believed up, scanning from `next` (so ties
    /// rotate); with `free_only`, only an agent with a free slot (fewer
    /// outstanding than `slots`).
    fn scan(&mut self, ctx: &mut Ctx<'_, FleetActor>, free_only: bool) -> Pick {
        let mut best: Option<(u32, u32, ActorId)> = None;
        let mut any_up = false;
        for k in 0..self.agents {
            let index = (self.next.wrapping_add(k)) % self.agents;
            let load = self.outstanding[index as usize];
            if best.is_some_and(|(_, l, _)| l <= load) {
                continue;
            }
            if free_only && load >= self.slots {
                // Busy; only whether anyone is up matters (wait or fail).
                any_up = any_up || ctx.whereis(agent_name(self.base + index)).is_some();
                continue;
            }
            let Some(agent) = ctx.whereis(agent_name(self.base + index)) else { continue };
            any_up = true;
            best = Some((index, load, agent));
            if load == 0 {
                break;
            }
        }
        match best {
            Some((index, _, agent)) => {
                self.next = (index + 1) % self.agents;
                Pick::Agent(index, agent)
            }
            None if any_up => Pick::Wait,
            None => Pick::NoneUp,
        }
    }

    /// Uniform over the agents believed up; with `two_choices`, the less
    /// loaded of two distinct ones.
    fn random(&mut self, ctx: &mut Ctx<'_, FleetActor>, two_choices: bool) -> Pick {
        self.up.clear();
        for index in 0..self.agents {
            if let Some(agent) = ctx.whereis(agent_name(self.base + index)) {
                self.up.push((index, agent));
            }
        }
        let n = self.up.len() as u64;
        if n == 0 {
            return Pick::NoneUp;
        }
        let a = ctx.random_below(n) as usize;
        let mut chosen = self.up[a];
        if two_choices && n > 1 {
            let mut b = ctx.random_below(n - 1) as usize;
            if b >= a {
                b += 1;
            }
            let other = self.up[b];
            if self.outstanding[other.0 as usize] < self.outstanding[chosen.0 as usize] {
                chosen = other;
            }
        }
        Pick::Agent(chosen.0, chosen.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (d, name) in Dispatch::ALL {
            assert_eq!(Dispatch::from_name(name), Some(d));
            assert_eq!(d.name(), name);
        }
        assert_eq!(Dispatch::from_name("fastest"), None);
        assert_eq!(Dispatch::default(), Dispatch::RoundRobin);
    }

    #[test]
    fn outstanding_counts_never_underflow() {
        let mut d = Dispatcher::new(Dispatch::LeastLoaded, 2);
        d.sent(1);
        d.settled(1);
        d.settled(1);
        d.settled(7);
        assert_eq!(d.outstanding, vec![0, 0]);
    }
}
