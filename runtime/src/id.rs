//! Identifiers. All are plain integers so that they hash, order and print
//! the same way on every run.

use std::fmt;

/// Time in nanoseconds since the start of a run (virtual time in the
/// simulator, monotonic time in a production driver).
pub type Nanos = u64;

/// An actor's address: a slot index and the generation of that slot, so a
/// message to a stopped actor is never delivered to a new actor that reuses
/// its slot.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActorId {
    index: u32,
    generation: u32,
}

impl ActorId {
    /// The address of everything outside the actor system (the workload's
    /// clients). Replies to an ask that came from outside go back to the
    /// driver, not to an actor.
    pub const EXTERNAL: ActorId = ActorId { index: u32::MAX, generation: u32::MAX };

    pub(crate) const fn new(index: u32, generation: u32) -> ActorId {
        ActorId { index, generation }
    }

    /// The slot index: dense, starting at 0, reused after a stop.
    #[inline]
    pub const fn index(self) -> u32 {
        self.index
    }

    /// How many times the slot was reused before this actor.
    #[inline]
    pub const fn generation(self) -> u32 {
        self.generation
    }

    /// A single integer for hashing into a trace.
    #[inline]
    pub const fn to_bits(self) -> u64 {
        ((self.generation as u64) << 32) | self.index as u64
    }
}

impl fmt::Debug for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == ActorId::EXTERNAL {
            f.write_str("external")
        } else {
            write!(f, "a{}.{}", self.index, self.generation)
        }
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A node (a machine) that actors are placed on.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NodeId(pub u16);

/// A timer set by an actor; unique within a run.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(pub u64);

/// An outstanding request (an ask or a service call); unique within a run.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// A service (an LLM endpoint, a tool) that actors call.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceId(pub u16);
