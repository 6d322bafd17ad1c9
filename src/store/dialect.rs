//! Every difference between the database backends, in one place. Each is an
//! exhaustive `match` on [`Dialect`], so a third backend does not compile
//! until each difference is decided for it.

use std::str::FromStr;
use std::time::Duration;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, SimpleExpr};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    AccessMode, ConnectOptions, DbBackend, IsolationLevel, SqliteTransactionMode,
    TransactionOptions,
};
use secrecy::{ExposeSecret, SecretString};

use super::PoolSettings;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// The production store.
    Postgres,
    /// The embedded default: one file.
    Sqlite,
}

/// What a database error code means to a caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The statement ran past its deadline.
    Timeout,
    /// The database cannot serve now (shutting down, too many connections,
    /// locked past the busy timeout).
    Unavailable,
}

/// An arbitrary constant that names the migration lock among PostgreSQL's
/// advisory locks ("badges" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x0000_6261_6467_6573;

/// The session setting that tells the database this connection keeps the
/// customer state rows (see `Dialect::configure`).
pub const KEEPS_STATE: &str = "badges.keeps_state";

impl Dialect {
    pub const ALL: [Dialect; 2] = [Dialect::Postgres, Dialect::Sqlite];

    /// The dialect of a database URL, by its scheme.
    pub fn of_url(url: &str) -> Option<Dialect> {
        Dialect::ALL
            .into_iter()
            .find(|d| d.schemes().iter().any(|scheme| url.starts_with(scheme)))
    }

    /// The dialect of a connection's backend; `None` for one the service
    /// does not support.
    pub fn of_backend(backend: DbBackend) -> Option<Dialect> {
        Dialect::ALL.into_iter().find(|d| d.backend() == backend)
    }

    /// The URL schemes it is reached by.
    pub fn schemes(self) -> &'static [&'static str] {
        match self {
            Dialect::Postgres => &["postgres://", "postgresql://"],
            Dialect::Sqlite => &["sqlite:"],
        }
    }

    pub fn backend(self) -> DbBackend {
        match self {
            Dialect::Postgres => DbBackend::Postgres,
            Dialect::Sqlite => DbBackend::Sqlite,
        }
    }

    /// The bound-value placeholder of the `n`th value (from 1).
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::Sqlite => "?".to_owned(),
        }
    }

    /// Sets the pool's options that differ by backend: PostgreSQL's statement
    /// deadline; SQLite's journal, durability, lock wait and foreign keys.
    pub fn configure(self, opts: &mut ConnectOptions, settings: &PoolSettings) {
        match self {
            Dialect::Postgres => {
                opts.statement_timeout(settings.statement_timeout);
                // This release keeps the customer state rows itself: the
                // trigger that marks them stale on writes by connections
                // that do not (migration m20261206_000012) skips ours.
                opts.map_sqlx_postgres_opts(|o| o.options([(KEEPS_STATE, "on")]));
            }
            Dialect::Sqlite => {
                // A write waits for SQLite's lock as long as a call waits for
                // a connection, then fails with 503.
                let busy: Duration = settings.acquire_timeout;
                opts.map_sqlx_sqlite_opts(move |o| {
                    o.journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(busy)
                        .foreign_keys(true)
                        .create_if_missing(true)
                });
            }
        }
    }

    /// A NULL of the type that holds bytes, for a column of a UNION whose
    /// other branches hold bytes.
    pub fn null_bytes(self) -> &'static str {
        match self {
            Dialect::Postgres => "CAST(NULL AS BYTEA)",
            Dialect::Sqlite => "CAST(NULL AS BLOB)",
        }
    }

    /// Connections of the pool that writes go through; `None`: the same pool
    /// as reads. SQLite lets one writer in at a time and answers a second
    /// with `database is locked`, so its writes queue for one connection.
    pub fn writer_connections(self) -> Option<u32> {
        match self {
            Dialect::Postgres => None,
            Dialect::Sqlite => Some(1),
        }
    }

    /// An object id (a badge's, a group's, an award's) as a value to compare
    /// with the `CHAR(24)` columns that hold them. PostgreSQL takes a bound
    /// string as `text`, and `char_column = text` compares the column cast to
    /// text, which no index serves (a sequential scan of the table); cast to
    /// the column's type, the value is looked up by index. SQLite compares
    /// text as text.
    pub fn object_id(self, id: &str) -> SimpleExpr {
        match self {
            Dialect::Postgres => Expr::val(id).cast_as(Alias::new("bpchar")),
            Dialect::Sqlite => Expr::val(id),
        }
    }

    /// What goes around a bound object id in hand-written SQL, for the same
    /// reason as [`Dialect::object_id`].
    pub fn object_id_wrap(self) -> (&'static str, &'static str) {
        match self {
            Dialect::Postgres => ("CAST(", " AS bpchar)"),
            Dialect::Sqlite => ("", ""),
        }
    }

    /// Whether a write must lock the rows it orders by (`FOR UPDATE`).
    /// SQLite runs one write transaction at a time, from its `BEGIN`, so it
    /// has nothing to lock and no syntax for it.
    pub fn locks_rows(self) -> bool {
        match self {
            Dialect::Postgres => true,
            Dialect::Sqlite => false,
        }
    }

    /// How a write transaction begins: on SQLite `IMMEDIATE`, taking the
    /// write lock at once rather than failing to upgrade a read.
    pub fn write_transaction(self) -> TransactionOptions {
        match self {
            Dialect::Postgres => TransactionOptions::default(),
            Dialect::Sqlite => TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            },
        }
    }

    /// How a read of several statements that must see one state begins:
    /// PostgreSQL's `REPEATABLE READ`; a SQLite transaction (WAL) reads one
    /// snapshot already.
    pub fn snapshot_transaction(self) -> TransactionOptions {
        match self {
            Dialect::Postgres => TransactionOptions {
                isolation_level: Some(IsolationLevel::RepeatableRead),
                access_mode: Some(AccessMode::ReadOnly),
                ..Default::default()
            },
            Dialect::Sqlite => TransactionOptions::default(),
        }
    }

    /// The statements that take and release the migration lock, so two
    /// processes migrating at once run one after the other. SQLite's own
    /// write lock serialises them.
    pub fn migration_lock(self) -> Option<(String, String)> {
        match self {
            Dialect::Postgres => Some((
                format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"),
                format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"),
            )),
            Dialect::Sqlite => None,
        }
    }

    /// Whether a process migrates the schema when it opens the store.
    /// SQLite has no separate deployment step; PostgreSQL has `migrate`
    /// (a Kubernetes Job) or `serve --migrate`.
    pub fn migrates_on_open(self) -> bool {
        match self {
            Dialect::Postgres => false,
            Dialect::Sqlite => true,
        }
    }

    /// What an error code of this backend means, if anything particular.
    fn failure_of(self, code: &str) -> Option<Failure> {
        match self {
            // 57014 query_canceled: the statement_timeout fired; 57P01..57P03
            // shutdown and cannot-connect-now; 53300 too many connections.
            Dialect::Postgres => match code {
                "57014" => Some(Failure::Timeout),
                "57P01" | "57P02" | "57P03" | "53300" => Some(Failure::Unavailable),
                _ => None,
            },
            // SQLITE_BUSY (5) and SQLITE_LOCKED (6), past the busy timeout.
            Dialect::Sqlite => match code {
                "5" | "6" => Some(Failure::Unavailable),
                _ => None,
            },
        }
    }

    /// What a database error code means, whichever backend returned it (the
    /// codes of the backends do not overlap).
    pub fn failure(code: &str) -> Option<Failure> {
        Dialect::ALL.into_iter().find_map(|d| d.failure_of(code))
    }
}

/// A database URL, and the dialect its scheme names. It may hold a password,
/// so it never prints, and its memory is wiped when dropped (`secrecy`).
#[derive(Clone)]
pub struct DatabaseUrl(SecretString, Dialect);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn dialect(&self) -> Dialect {
        self.1
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match Dialect::of_url(s) {
            Some(d) => Ok(DatabaseUrl(SecretString::from(s), d)),
            None => Err(format!(
                "expected a URL starting {}",
                Dialect::ALL
                    .iter()
                    .flat_map(|d| d.schemes())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.expose().split(':').next().unwrap_or_default();
        write!(f, "DatabaseUrl({scheme}:***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_dialect() {
        assert_eq!(
            Dialect::of_url("postgres://u@h/db"),
            Some(Dialect::Postgres)
        );
        assert_eq!(
            Dialect::of_url("postgresql://u@h/db"),
            Some(Dialect::Postgres)
        );
        assert_eq!(
            Dialect::of_url("sqlite://badges.db?mode=rwc"),
            Some(Dialect::Sqlite)
        );
        assert_eq!(Dialect::of_url("mysql://u@h/db"), None);
    }

    #[test]
    fn error_codes_mean_the_same_whichever_backend() {
        assert_eq!(Dialect::failure("57014"), Some(Failure::Timeout));
        assert_eq!(Dialect::failure("57P01"), Some(Failure::Unavailable));
        assert_eq!(Dialect::failure("5"), Some(Failure::Unavailable));
        assert_eq!(Dialect::failure("23505"), None);
    }
}
