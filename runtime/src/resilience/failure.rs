//! What went wrong with a call, as the policies classify it, and sets of
//! such kinds (which failures a retry handles, which cool a deployment down
//! at once).

use std::fmt;

use crate::service::ServiceError;

/// The kind of a failed call.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Failure {
    /// HTTP 429: the server asks the caller to slow down (often with a
    /// Retry-After).
    RateLimited,
    /// HTTP 5xx: the server failed.
    ServerError,
    /// The caller's timeout fired before an answer came.
    Timeout,
    /// The connection failed (refused, reset, DNS).
    Connection,
    /// The service is unreachable or overloaded (HTTP 503, gRPC UNAVAILABLE).
    Unavailable,
    /// HTTP 4xx other than 429: the request itself is wrong; retrying it
    /// cannot help.
    ClientError,
}

impl Failure {
    /// Every kind, in declaration order.
    pub const ALL: [Failure; 6] = [
        Failure::RateLimited,
        Failure::ServerError,
        Failure::Timeout,
        Failure::Connection,
        Failure::Unavailable,
        Failure::ClientError,
    ];

    /// A stable lowercase name (`rate_limited`, `server_error`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Failure::RateLimited => "rate_limited",
            Failure::ServerError => "server_error",
            Failure::Timeout => "timeout",
            Failure::Connection => "connection",
            Failure::Unavailable => "unavailable",
            Failure::ClientError => "client_error",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Failure {
        match e {
            ServiceError::ServerError => Failure::ServerError,
            ServiceError::RateLimited { .. } => Failure::RateLimited,
            ServiceError::Unavailable => Failure::Unavailable,
            // A lost compare-and-set is the caller's to resolve (read
            // again), not a transient fault to retry blindly.
            ServiceError::Conflict => Failure::ClientError,
        }
    }
}

/// A set of [`Failure`] kinds, as bit flags.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Default)]
pub struct FailureSet(u8);

impl FailureSet {
    /// No kind.
    pub const NONE: FailureSet = FailureSet(0);
    /// What is worth retrying by default: every kind but [`Failure::ClientError`].
    pub const TRANSIENT: FailureSet = FailureSet::NONE
        .with(Failure::RateLimited)
        .with(Failure::ServerError)
        .with(Failure::Timeout)
        .with(Failure::Connection)
        .with(Failure::Unavailable);

    /// This set and `kind`.
    pub const fn with(self, kind: Failure) -> FailureSet {
        FailureSet(self.0 | kind.bit())
    }

    /// This set without `kind`.
    pub const fn without(self, kind: Failure) -> FailureSet {
        FailureSet(self.0 & !kind.bit())
    }

    /// Whether `kind` is in the set.
    pub const fn contains(self, kind: Failure) -> bool {
        self.0 & kind.bit() != 0
    }
}

impl fmt::Debug for FailureSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(Failure::ALL.iter().filter(|k| self.contains(**k))).finish()
    }
}

impl FromIterator<Failure> for FailureSet {
    fn from_iter<I: IntoIterator<Item = Failure>>(iter: I) -> FailureSet {
        iter.into_iter().fold(FailureSet::NONE, FailureSet::with)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_names() {
        let s = FailureSet::TRANSIENT;
        assert!(Failure::ALL[..5].iter().all(|k| s.contains(*k)));
        assert!(!s.contains(Failure::ClientError));
        let only: FailureSet = [Failure::Timeout].into_iter().collect();
        assert_eq!(format!("{only:?}"), "{Timeout}");
        assert!(!s.without(Failure::Timeout).contains(Failure::Timeout));
        assert_eq!(Failure::RateLimited.to_string(), "rate_limited");
        assert_eq!(Failure::from(ServiceError::RateLimited { retry_after: 5 }), Failure::RateLimited);
    }
}
