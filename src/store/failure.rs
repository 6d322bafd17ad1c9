//! The database's failures as the crate's error: unreachable or too slow is
//! 503 / UNAVAILABLE, past the statement deadline a timeout, anything else
//! internal. Which driver codes mean which is the dialect's to say.

use super::{Dialect, Failure};
use crate::error::Error;

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        use sea_orm::{DbErr, RuntimeErr};
        match &e {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Error::Unavailable(e.to_string()),
            DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s))
                if is_timeout(s) =>
            {
                Error::Timeout(e.to_string())
            }
            DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s))
                if is_unavailable(s) =>
            {
                Error::Unavailable(e.to_string())
            }
            _ => Error::Internal(e.to_string()),
        }
    }
}

/// Whether a driver error means the database could not be reached in time,
/// as opposed to a statement that failed.
fn is_unavailable(e: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error as E;
    match e {
        E::Io(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed | E::Tls(_) => true,
        E::Database(db) => db
            .code()
            .is_some_and(|c| Dialect::failure(&c) == Some(Failure::Unavailable)),
        _ => false,
    }
}

/// Whether a statement ran past its deadline.
fn is_timeout(e: &sea_orm::sqlx::Error) -> bool {
    matches!(e, sea_orm::sqlx::Error::Database(db)
        if db.code().is_some_and(|c| Dialect::failure(&c) == Some(Failure::Timeout)))
}
