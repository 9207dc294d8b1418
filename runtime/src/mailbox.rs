//! Bounded mailboxes.

/// What a full mailbox does with one more message.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum OverflowPolicy {
    /// Refuse the new message and bounce it to its sender.
    Reject,
    /// Drop the new message (counted).
    DropNewest,
    /// Drop the oldest queued message (counted) and queue the new one.
    DropOldest,
}
