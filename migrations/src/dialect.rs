//! The one place the migrations differ between backends: the SQL fragments a
//! data migration needs, each an exhaustive match over the backends the
//! service supports. (The store's own `Dialect` lives in the crate above this
//! one, which runs these migrations.)

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    /// The dialect of the database `m` migrates; an error for a backend the
    /// service does not support.
    pub(crate) fn of(m: &SchemaManager) -> Result<Self, DbErr> {
        match m.get_database_backend() {
            DbBackend::Postgres => Ok(Dialect::Postgres),
            DbBackend::Sqlite => Ok(Dialect::Sqlite),
            other => Err(DbErr::Migration(format!("unsupported backend {other:?}"))),
        }
    }

    /// An expression for the current time in microseconds since the epoch.
    pub(crate) fn now_micros(self) -> &'static str {
        match self {
            Dialect::Postgres => {
                "(CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT))"
            }
            Dialect::Sqlite => "(CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER))",
        }
    }

    /// An expression for 24 random lower-case hex characters, unique in
    /// practice, salted with `salt` (a column of the row) where the backend
    /// needs one.
    pub(crate) fn random_object_id(self, salt: &str) -> String {
        match self {
            Dialect::Postgres => format!("substr(md5(random()::text || {salt}::text), 1, 24)"),
            Dialect::Sqlite => "lower(hex(randomblob(12)))".to_owned(),
        }
    }
}
