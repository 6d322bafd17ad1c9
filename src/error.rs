//! The one error type of the domain and the store. Each layer turns its own
//! failures into it (the store its database's, in `store::failure`), and
//! each transport maps it to its wire form in exactly one place
//! (`grpc::status`, and the REST envelope).

use crate::domain::Problem;

#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    /// Missing or wrong credentials.
    #[error("unauthenticated")]
    Unauthenticated,
    /// The client lacks the right for the call.
    #[error("permission denied")]
    PermissionDenied,
    /// The request is malformed; every problem is listed.
    #[error("invalid request")]
    Invalid(Vec<Problem>),
    /// The request clashes with stored state: a name or identifier taken, a
    /// requestId reused with another body.
    #[error("conflict")]
    Conflict(Vec<Problem>),
    /// The addressed thing does not exist in the caller's org.
    #[error("not found")]
    NotFound(Problem),
    /// The caller's client row changed (its generation moved) since it was
    /// authenticated; the gate authenticates the caller again and retries.
    #[error("client changed")]
    StaleClient,
    /// Too many calls, or too many failed credential checks: try again after
    /// this many seconds.
    #[error("throttled")]
    Throttled { retry_after_seconds: u64 },
    /// A statement ran past its deadline. The text is for logs only.
    #[error("database deadline exceeded: {0}")]
    Timeout(String),
    /// The database is unreachable or too slow. The text is for logs only.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else. The text is for logs only.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a 503 tells the caller to wait before trying again (s).
pub const UNAVAILABLE_RETRY_AFTER_SECONDS: u64 = 1;

pub type Result<T, E = Error> = std::result::Result<T, E>;
