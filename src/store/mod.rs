//! The database: connection, migrations and every query. The only module that
//! speaks SQL.

mod badges;
mod counts;
mod custom_fields;
mod definitions;
mod dialect;
pub mod entity;
mod expiry;
mod limits;
pub use limits::Counted;
mod list;
mod outbox;

pub use list::{CustomerRead, HoldingsRead, Scope, catalogue_statements, customer_state_statement};
mod seed;
mod snapshot;
mod sql;
pub use sql::ACROSS_ORGS;
mod states;
pub use states::{Difference, Mismatch, Progress, Verified};
mod tx;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, EntityTrait, QueryFilter, QuerySelect, Statement,
    TransactionTrait,
};

use crate::domain::principal::Principal;
use crate::error::{Error, Result};

pub use dialect::{DatabaseUrl, Dialect, Failure};
mod failure;
pub use counts::{COUNT_SLOTS, Counts};
pub use definitions::{Listed, Paging};
pub use outbox::{EventEncoder, OutboxBacklog, OutboxRow};
pub use seed::{
    NewApiClient, NewAward, NewCustomer, NewEnrolment, NewGroup, NewOrg, SeedTxn, Writer,
};
pub use tx::{Claimed, RequestKey, Tx, Unique};

/// Pool settings, from the service configuration.
#[derive(Clone, Debug)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    pub statement_timeout: Duration,
    /// Whether each statement's span carries its text (parameterised, never
    /// values): worth its cost only when spans are exported.
    pub trace_statements: bool,
}

impl PoolSettings {
    /// The defaults of the command line, the tests and embedders.
    pub const DEFAULT: PoolSettings = PoolSettings {
        max_connections: 16,
        acquire_timeout: Duration::from_secs(3),
        statement_timeout: Duration::from_secs(5),
        trace_statements: false,
    };
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings::DEFAULT
    }
}

#[derive(Clone, Copy, Debug)]
pub struct PoolStats {
    pub size: u32,
    pub idle: usize,
    pub max: u32,
}

/// The database, as a pool for reads and a pool for writes: the same pool,
/// or for SQLite one connection where writes wait their turn (up to the
/// acquire timeout, then 503). See [`Dialect`].
#[derive(Clone, Debug)]
pub struct Store {
    dialect: Dialect,
    db: DatabaseConnection,
    writer: DatabaseConnection,
    events: std::sync::Arc<outbox::EventsSwitch>,
}

impl Store {
    /// Opens a pool on `url` (`sqlite://…` or `postgres://…`).
    pub async fn connect(url: &DatabaseUrl, settings: &PoolSettings) -> Result<Self> {
        let dialect = url.dialect();
        let url = url.expose();
        let db = Database::connect(connect_options(
            dialect,
            url,
            settings,
            settings.max_connections,
        ))
        .await?;
        let writer = match dialect.writer_connections() {
            Some(n) => Database::connect(connect_options(dialect, url, settings, n)).await?,
            None => db.clone(),
        };
        Ok(Store {
            dialect,
            db,
            writer,
            events: outbox::switch(),
        })
    }

    /// Calls `observer` with every statement this store runs (its text, never
    /// values): for diagnostics and the statement-count test.
    pub fn observe_statements(mut self, observer: impl Fn(&str) + Send + Sync + 'static) -> Self {
        let observer = std::sync::Arc::new(observer);
        let reads = observer.clone();
        self.db
            .set_metric_callback(move |info| reads(&info.statement.sql));
        match self.dialect.writer_connections() {
            Some(_) => self
                .writer
                .set_metric_callback(move |info| observer(&info.statement.sql)),
            None => self.writer = self.db.clone(),
        }
        self
    }

    /// Appends each distinct statement this store runs (its text, on one
    /// line, never values) to the file at `path`, once per process.
    pub fn log_statements(self, path: &std::path::Path) -> std::io::Result<Self> {
        use std::io::Write;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let seen = std::sync::Mutex::new((std::collections::HashSet::<String>::new(), file));
        Ok(self.observe_statements(move |sql| {
            let mut guard = seen.lock().unwrap_or_else(|e| e.into_inner());
            let (known, file) = &mut *guard;
            if !known.contains(sql) {
                known.insert(sql.to_owned());
                // A failed write loses a diagnostic line, never a call.
                let _ = writeln!(file, "{}", sql.replace('\n', " "));
            }
        }))
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

    /// Begins a write transaction.
    pub(crate) async fn write_txn(&self) -> Result<DatabaseTransaction> {
        Ok(self
            .writer
            .begin_with_options(self.dialect.write_transaction())
            .await?)
    }

    /// Begins a read that sees one state across its statements.
    pub(crate) async fn snapshot_txn(&self) -> Result<DatabaseTransaction> {
        Ok(self
            .db
            .begin_with_options(self.dialect.snapshot_transaction())
            .await?)
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn backend(&self) -> DbBackend {
        self.dialect.backend()
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
        match self.dialect {
            Dialect::Postgres => {
                let p = self.db.get_postgres_connection_pool();
                PoolStats {
                    size: p.size(),
                    idle: p.num_idle(),
                    max: p.options().get_max_connections(),
                }
            }
            Dialect::Sqlite => {
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
        if self.dialect.writer_connections().is_some() {
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

fn connect_options(
    dialect: Dialect,
    url: &str,
    settings: &PoolSettings,
    max_connections: u32,
) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(settings.acquire_timeout)
        .connect_timeout(settings.acquire_timeout)
        // A ping on every checkout would double a list call's round trips;
        // only a connection idle long enough to have been dropped (by the
        // server, a proxy, a firewall) is tested before use.
        .test_before_acquire_if_idle_for(Duration::from_secs(5))
        // Statements are logged as spans, without their values, by the
        // service's own tracing; the driver's log would add nothing safe.
        .sqlx_logging(false)
        // Statements are parameterised: their text holds no values.
        .record_stmt_in_spans(settings.trace_statements);
    dialect.configure(&mut opts, settings);
    opts
}

/// Whether the migration that creates the state rows is pending on `db`.
async fn states_pending(db: &DatabaseConnection) -> std::result::Result<bool, sea_orm::DbErr> {
    Ok(Migrator::get_pending_migrations(db)
        .await?
        .iter()
        .any(|m| m.name() == migration::CUSTOMER_STATES))
}

/// Applies every pending migration, under the dialect's migration lock (two
/// pods starting at once migrate one after the other). The state rows are
/// filled afterwards when this run applied their migration, even if a later
/// migration failed (a rerun would not find it pending again).
pub async fn migrate(url: &DatabaseUrl, settings: &PoolSettings) -> Result<()> {
    let url_of = url;
    let dialect = url.dialect();
    let url = url.expose();
    // One connection, so the lock and the migration share a session.
    let db = Database::connect(connect_options(dialect, url, settings, 1)).await?;
    let lock = dialect.migration_lock();
    if let Some((take, _)) = &lock {
        db.execute_raw(Statement::from_string(dialect.backend(), take.clone()))
            .await?;
    }
    let before = states_pending(&db).await;
    let applied = Migrator::up(&db, None).await;
    // (An error asking again leaves the rows to `badges state rebuild`; the
    // lock is released either way.)
    let states_new = before.unwrap_or(false) && matches!(states_pending(&db).await, Ok(false));
    if let Some((_, release)) = &lock {
        db.execute_raw(Statement::from_string(dialect.backend(), release.clone()))
            .await?;
    }
    db.close().await?;
    if states_new {
        // The state rows are new: fill them from the tables, in batches
        // outside the migration's transaction (writes go on meanwhile; a
        // customer without a row yet is read from the tables).
        let store = Store::connect(url_of, settings).await?;
        let started = std::time::Instant::now();
        let mut last_report = started;
        let written = store
            .rebuild_states(None, |p| {
                if last_report.elapsed() >= Duration::from_secs(5) || p.done == p.total {
                    last_report = std::time::Instant::now();
                    tracing::info!(
                        org = p.org,
                        done = p.done,
                        total = p.total,
                        "filling customer state rows"
                    );
                }
            })
            .await?;
        tracing::info!(
            rows = written,
            seconds = started.elapsed().as_secs_f64(),
            "customer state rows filled"
        );
        store.close().await?;
    }
    Ok(applied?)
}
