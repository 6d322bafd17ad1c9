//! The database: connection, migrations and every query. The only module that
//! speaks SQL.

mod admin;
pub mod entity;
mod expiry;
mod list;

pub use list::{CustomerRead, catalogue_statements, customer_state_statement};
mod sql;
mod writes;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, EntityTrait, QueryFilter, QuerySelect, SqliteTransactionMode,
    Statement, TransactionOptions, TransactionTrait,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

use crate::auth::Principal;
use crate::error::{Error, Result};

pub use writes::{
    NewApiClient, NewAward, NewBadge, NewCustomer, NewEnrolment, NewGroup, NewOrg, SeedTxn, Writer,
};

/// An arbitrary constant that names the migration lock among PostgreSQL's
/// advisory locks ("badges" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x0000_6261_6467_6573;

/// Pool settings, from the service configuration.
#[derive(Clone, Debug)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    pub statement_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct PoolStats {
    pub size: u32,
    pub idle: usize,
    pub max: u32,
}

/// The database, as a pool for reads and a connection for writes.
///
/// On PostgreSQL both are the same pool. SQLite lets one writer in at a time
/// and answers a second with `database is locked`, so there writes go through
/// a pool of one connection, where they wait their turn (up to the acquire
/// timeout, then 503), and begin `IMMEDIATE`, taking the write lock at once
/// instead of failing to upgrade a read.
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    writer: DatabaseConnection,
}

impl Store {
    /// Opens a pool on `url` (`sqlite://…` or `postgres://…`).
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Self> {
        let db =
            Database::connect(connect_options(url, settings, settings.max_connections)).await?;
        let writer = match db.get_database_backend() {
            DbBackend::Sqlite => Database::connect(connect_options(url, settings, 1)).await?,
            _ => db.clone(),
        };
        Ok(Store { db, writer })
    }

    /// Calls `observer` with every statement this store runs (its text, never
    /// values): for diagnostics and the statement-count test.
    pub fn observe_statements(mut self, observer: impl Fn(&str) + Send + Sync + 'static) -> Self {
        let observer = std::sync::Arc::new(observer);
        let reads = observer.clone();
        self.db
            .set_metric_callback(move |info| reads(&info.statement.sql));
        if self.backend() == DbBackend::Sqlite {
            self.writer
                .set_metric_callback(move |info| observer(&info.statement.sql));
        } else {
            self.writer = self.db.clone();
        }
        self
    }

    /// Begins a write transaction for the caller `p`, whose client row must
    /// still be what it was when the caller was authenticated
    /// (`StaleClient` otherwise). On PostgreSQL the row is read `FOR SHARE`,
    /// so a disable or rotation waits for this write, and the write is never
    /// acknowledged after it.
    pub(crate) async fn write_txn_as(&self, p: &Principal) -> Result<DatabaseTransaction> {
        let txn = self.write_txn().await?;
        let generation: Option<i64> = entity::api_client::Entity::find_by_id(p.client_id)
            .select_only()
            .column(entity::api_client::Column::Generation)
            .filter(entity::api_client::Column::Disabled.eq(false))
            .lock_shared()
            .into_tuple()
            .one(&txn)
            .await?;
        if generation != Some(p.generation) {
            return Err(Error::StaleClient);
        }
        Ok(txn)
    }

    /// Begins a write transaction (on SQLite, `BEGIN IMMEDIATE` on the one
    /// writer connection).
    pub(crate) async fn write_txn(&self) -> Result<DatabaseTransaction> {
        Ok(self
            .writer
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await?)
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Whether the database answers a trivial statement.
    pub async fn ping(&self) -> Result<()> {
        self.db
            .execute_raw(Statement::from_string(self.backend(), "SELECT 1"))
            .await?;
        Ok(())
    }

    /// Connections open, idle, and the most the pool opens.
    pub fn pool_stats(&self) -> PoolStats {
        match self.backend() {
            DbBackend::Postgres => {
                let p = self.db.get_postgres_connection_pool();
                PoolStats {
                    size: p.size(),
                    idle: p.num_idle(),
                    max: p.options().get_max_connections(),
                }
            }
            _ => {
                let p = self.db.get_sqlite_connection_pool();
                PoolStats {
                    size: p.size(),
                    idle: p.num_idle(),
                    max: p.options().get_max_connections(),
                }
            }
        }
    }

    pub async fn close(self) -> Result<()> {
        if self.backend() == DbBackend::Sqlite {
            self.writer.close().await?;
        }
        Ok(self.db.close().await?)
    }
}

/// Moves the org's catalogue version, in the transaction of the change to its
/// catalogue: every process holding the catalogue in memory sees the new
/// version with its next call and reloads.
pub(crate) async fn bump_catalogue(
    conn: &impl ConnectionTrait,
    org: i32,
) -> std::result::Result<(), sea_orm::DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    entity::org::Entity::update_many()
        .col_expr(
            entity::org::Column::CatalogueVersion,
            Expr::col(entity::org::Column::CatalogueVersion).add(Expr::val(1)),
        )
        .filter(entity::org::Column::Id.eq(org))
        .exec(conn)
        .await?;
    Ok(())
}

fn connect_options(url: &str, settings: &PoolSettings, max_connections: u32) -> ConnectOptions {
    let busy_timeout = settings.acquire_timeout;
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(settings.acquire_timeout)
        .connect_timeout(settings.acquire_timeout)
        // Statements are logged as spans, without their values, by the
        // service's own tracing; the driver's log would add nothing safe.
        .sqlx_logging(false)
        // Statements are parameterised: their text holds no values.
        .record_stmt_in_spans(true)
        .map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                // A write waits for SQLite's lock as long as a call waits
                // for a connection, then fails with 503.
                .busy_timeout(busy_timeout)
                .foreign_keys(true)
                .create_if_missing(true)
        });
    if url.starts_with("postgres") {
        opts.statement_timeout(settings.statement_timeout);
    }
    opts
}

/// Applies every pending migration. On PostgreSQL a session advisory lock
/// serialises concurrent runs (two pods starting at once); on SQLite the
/// database's own write lock does.
pub async fn migrate(url: &str, settings: &PoolSettings) -> Result<()> {
    // One connection, so the advisory lock and the migration share a session.
    let db = Database::connect(connect_options(url, settings, 1)).await?;
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    if postgres {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_lock($1)",
            [MIGRATION_LOCK_KEY.into()],
        ))
        .await?;
    }
    let outcome = Migrator::up(&db, None).await;
    if postgres {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_unlock($1)",
            [MIGRATION_LOCK_KEY.into()],
        ))
        .await?;
    }
    db.close().await?;
    Ok(outcome?)
}
