//! The benchmark org. Every size has the same per-customer shape, so size is
//! the only thing that changes:
//! - 1,000 badges, half EARN and half ISSUE_EARN, across 20 groups, each with
//!   one or two restricted owners, one claim and one image;
//! - regular customers (ids from 10,000) holding 10 badges each (an award
//!   each, one in ten of them expired, the ISSUE_EARN ones with an
//!   enrolment): `awards / 10` of them, so `--awards` sets the size;
//! - 1,000 heavy customers holding every badge (ids 1..=1000): 1M awards at
//!   every size;
//! - (the catalogue datasets of goal P8 change the number of badges and have
//!   no heavy customers: `--badges`, `--heavy`);
//! - edge customers: 0 holds nothing, 1001 holds exactly one page (10 badges).
//!
//! Rows are generated inside the database (`generate_series` on PostgreSQL,
//! recursive CTEs on SQLite), in batches of multi-row `INSERT … SELECT`.

use std::time::Instant;

use badges::auth::hash_secret;
use badges::store::{self, PoolSettings, Store};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(clap::Args)]
pub struct Args {
    /// Database URL (sqlite://… or postgres://…), emptied of a previous benchmark org.
    #[arg(long, env = "BADGES_DATABASE_URL")]
    pub database_url: String,
    /// Awards of regular customers: 10000, 2000000 (default) or 10000000.
    #[arg(long, default_value_t = 2_000_000)]
    pub awards: i64,
    /// Badges of the org's catalogue.
    #[arg(long, default_value_t = BADGES)]
    pub badges: i64,
    /// Heavy customers, each holding every badge.
    #[arg(long, default_value_t = HEAVY)]
    pub heavy: i64,
}

impl Args {
    /// The standard dataset of `awards` regular awards.
    pub fn sized(database_url: String, awards: i64) -> Self {
        Args {
            database_url,
            awards,
            badges: BADGES,
            heavy: HEAVY,
        }
    }
}

pub const BADGES: i64 = 1000;
const GROUPS: i64 = 20;
/// Heavy customers (ids 1..=HEAVY) hold every badge.
pub const HEAVY: i64 = 1000;
/// An edge customer who holds exactly one page (10 badges).
pub const ONE_PAGE: i64 = HEAVY + 1;
/// A customer added at run time (goal P11) who earned one badge 5,000
/// times, as a daily check-in badge held for years.
pub const HISTORY: i64 = ONE_PAGE + 1;
/// The awards of [`HISTORY`].
pub const HISTORY_AWARDS: i64 = 5_000;
/// The first regular customer id; customer 0 holds nothing.
pub const FIRST_REGULAR: i64 = 10_000;
/// Badges each regular customer holds.
pub const PER_CUSTOMER: i64 = 10;
/// Start of every badge's window (2024-01-01) and its end (2030-01-01), in µs.
const STARTS: i64 = 1_704_067_200_000_000;
const EXPIRES: i64 = 1_893_456_000_000_000;

/// How one statement ranges over integers: `i` from `from` to `to`, and in
/// [`Series::pairs`] also `j` from 0 to `inner - 1`. PostgreSQL has
/// `generate_series`; SQLite gets a recursive CTE.
struct Series(DbBackend);

impl Series {
    /// `(WITH prefix, FROM clause)` for `i` in `from..=to`.
    fn single(&self, from: i64, to: i64) -> (String, String) {
        match self.0 {
            DbBackend::Postgres => (
                String::new(),
                format!("generate_series({from}::bigint, {to}) AS s(i)"),
            ),
            _ => (
                format!(
                    "WITH RECURSIVE s(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM s WHERE i < {to}) "
                ),
                "s".into(),
            ),
        }
    }

    /// `(WITH prefix, FROM clause)` for `i` in `from..=to` crossed with `j` in `0..inner`.
    fn pairs(&self, from: i64, to: i64, inner: i64) -> (String, String) {
        match self.0 {
            DbBackend::Postgres => (
                String::new(),
                format!(
                    "generate_series({from}::bigint, {to}) AS c(i) CROSS JOIN generate_series(0::bigint, {}) AS k(j)",
                    inner - 1
                ),
            ),
            _ => (
                format!(
                    "WITH RECURSIVE c(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM c WHERE i < {to}), \
                     k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < {}) ",
                    inner - 1
                ),
                "c CROSS JOIN k".into(),
            ),
        }
    }
}

/// What a build made, and how fast.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Built {
    pub org: i32,
    /// Badges of the catalogue (builds before this field had 1,000).
    #[serde(default = "default_badges")]
    pub badges: i64,
    pub regular_customers: i64,
    pub awards: i64,
    pub enrolments: i64,
    pub seconds: f64,
    pub rows_per_second: f64,
    /// Seconds `rebuild_states` took to fold every customer's state row
    /// from the loaded tables (builds before the rows had none: their
    /// rows are filled when the service's migration first runs on them).
    #[serde(default)]
    pub state_seconds: f64,
}

fn default_badges() -> i64 {
    BADGES
}

/// The owner of badge `expr` (an SQL expression of its number): one of five,
/// by `expr % 5`. The restricted owner of every dataset's badges, and the
/// owner type of their claims.
pub(crate) fn owner_case(expr: &str) -> String {
    let owners = [
        "Loyalty",
        "Loyalty_Promotion",
        "Journeys",
        "Milestones",
        "Audience_Campaigns",
    ];
    let arms: String = owners
        .iter()
        .enumerate()
        .map(|(k, o)| format!(" WHEN {k} THEN '{o}'"))
        .collect();
    format!("CASE {expr} % 5{arms} END")
}

/// The database at `url`, migrated, for bulk loads: bulk statements run for
/// minutes, and the service's 5 s statement deadline is not for them.
pub(crate) async fn open_for_loading(url: &str) -> anyhow::Result<Store> {
    let settings = PoolSettings {
        statement_timeout: std::time::Duration::from_secs(3600),
        ..PoolSettings::default()
    };
    let url = url.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    store::migrate(&url, &settings).await?;
    Ok(Store::connect(&url, &settings).await?)
}

pub async fn run(args: Args) -> anyhow::Result<Built> {
    let (badges, heavy) = (args.badges.max(PER_CUSTOMER), args.heavy.max(0));
    let started = Instant::now();
    let store = open_for_loading(&args.database_url).await?;
    let db = store.connection();
    let backend = db.get_database_backend();
    let exec =
        |sql: String| async move { db.execute_raw(Statement::from_string(backend, sql)).await };

    let existing = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT id FROM orgs WHERE name = 'bench'",
        ))
        .await?;
    anyhow::ensure!(
        existing.is_none(),
        "the database already holds a benchmark org; use a fresh database"
    );
    exec("INSERT INTO orgs (name, created_at) VALUES ('bench', 0)".into()).await?;
    let org: i32 = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT id FROM orgs WHERE name = 'bench'",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("org missing"))?
        .try_get("", "id")?;
    let hash = hash_secret("bench")?;
    exec(format!(
        "INSERT INTO api_clients (org_id, username, secret_hash, can_read, can_write, disabled, created_at) \
         VALUES ({org}, 'bench', '{hash}', TRUE, TRUE, FALSE, 0)"
    ))
    .await?;

    let series = Series(backend);
    // 24-hex ids: a fixed prefix and the number.
    let id = |prefix: &str, expr: &str| match backend {
        DbBackend::Postgres => format!("'{prefix}' || lpad(to_hex({expr}), 16, '0')"),
        _ => format!("'{prefix}' || printf('%016x', {expr})"),
    };
    let (with, from) = series.single(0, GROUPS - 1);
    exec(format!(
        "{with}INSERT INTO badge_groups (id, org_id, name, rank, created_at) \
         SELECT {}, {org}, 'group ' || i, i, 0 FROM {from}",
        id("67000000", "i")
    ))
    .await?;
    let (with, from) = series.single(0, badges - 1);
    exec(format!(
        "{with}INSERT INTO badges (id, org_id, name, name_lower, description, earn_type, active, starts_on, expires_on, \
         created_on, last_updated_on, group_id, rank, earned_badge_expiry, issued_badge_expiry) \
         SELECT {}, {org}, 'Badge ' || i, 'badge ' || i, 'benchmark badge', \
         CASE WHEN i % 2 = 0 THEN 'EARN' ELSE 'ISSUE_EARN' END, i % 10 <> 9, \
         {STARTS} + i * 1000000, {EXPIRES} + (i * 7919 % 1000) * 86400000000, i * 1000, i * 1000 + 500, \
         {}, i % 5, '{{\"expiryType\":\"NEVER\"}}', '{{\"expiryType\":\"NEVER\"}}' FROM {from}",
        id("66000000", "i"),
        id("67000000", &format!("i % {GROUPS}"))
    ))
    .await?;
    exec(format!(
        "{with}INSERT INTO badge_owners (org_id, badge_id, owner, position) SELECT {org}, {}, {}, 0 FROM {from}",
        id("66000000", "i"),
        owner_case("i")
    ))
    .await?;
    exec(format!(
        "{with}INSERT INTO badge_owners (org_id, badge_id, owner, position) \
         SELECT {org}, {}, 'Rewards_Catalog', 1 FROM {from} WHERE i % 3 = 0",
        id("66000000", "i")
    ))
    .await?;
    exec(format!(
        "{with}INSERT INTO badge_claims (org_id, badge_id, owner_type, reference_id, is_active) \
         SELECT {org}, {}, {}, 'ref-' || i, i % 4 <> 0 FROM {from}",
        id("66000000", "i"),
        owner_case("i")
    ))
    .await?;
    exec(format!(
        "{with}INSERT INTO badge_images (org_id, badge_id, name, file_svc_handle, url, tag) \
         SELECT {org}, {}, 'image', 'handle-' || i, 'https://cdn.example.com/badges/' || i || '.png', 'EARNED' FROM {from}",
        id("66000000", "i")
    ))
    .await?;

    let regular = args.awards / PER_CUSTOMER;
    let end = FIRST_REGULAR + regular; // one past the last regular customer
    let customer_rows = |from: i64, to: i64| {
        let (with, range) = series.single(from, to);
        format!(
            "{with}INSERT INTO customers (org_id, customer_id, email, mobile, external_id, card_number) \
             SELECT {org}, i, 'customer' || i || '@example.com', NULL, 'ext-' || i, NULL FROM {range}"
        )
    };
    exec(customer_rows(0, ONE_PAGE)).await?;
    if regular > 0 {
        exec(customer_rows(FIRST_REGULAR, end - 1)).await?;
    }

    // Awards of customers `from..=to`, `per` each, then the enrolments that
    // their ISSUE_EARN badges need: in batches, so no statement grows without
    // bound, each batch one transaction.
    let mut batches: Vec<(i64, i64, i64, String)> = Vec::new();
    let every_badge = id("66000000", "j");
    for from in (1..=heavy).step_by(100) {
        batches.push((from, (from + 99).min(heavy), badges, every_badge.clone()));
    }
    batches.push((ONE_PAGE, ONE_PAGE, PER_CUSTOMER, every_badge));
    let regular_badge = id("66000000", &format!("(i * 7 + j * 101) % {badges}"));
    let batch = 20_000;
    let mut from = FIRST_REGULAR;
    while from < end {
        let to = (from + batch).min(end) - 1;
        batches.push((from, to, PER_CUSTOMER, regular_badge.clone()));
        from = to + 1;
    }
    let loaded: i64 = batches.iter().map(|(f, t, per, _)| (t - f + 1) * per).sum();
    let statements: Vec<Vec<String>> = batches
        .into_iter()
        .map(|(from, to, per, badge)| {
            let (with, range) = series.pairs(from, to, per);
            vec![
                format!(
                    "{with}INSERT INTO awards (earned_badge_id, org_id, badge_id, customer_id, awarded_at, event_at, expires_at, revoked) \
                     SELECT {}, {org}, {badge}, i, {STARTS} + (i * 31 + j) * 1000000, {STARTS} + (i * 31 + j) * 1000000 - 5000000, \
                     CASE WHEN j % 10 = 9 THEN {STARTS} + 86400000000 ELSE NULL END, FALSE FROM {range}",
                    id("65000000", &format!("i * {badges} + j")),
                ),
                format!(
                    "INSERT INTO enrolments (issued_badge_id, org_id, badge_id, customer_id, issued_at, expires_at, revoked) \
                     SELECT '67' || substr(earned_badge_id, 3, 22), org_id, badge_id, customer_id, awarded_at - 60000000, NULL, FALSE FROM awards \
                     WHERE org_id = {org} AND customer_id BETWEEN {from} AND {to} \
                     AND substr(badge_id, 24, 1) IN ('1','3','5','7','9','b','d','f')"
                ),
            ]
        })
        .collect();
    load_batches(db, statements).await?;
    // The badges' counts and the customers' state rows, as the service's
    // writes would have kept them.
    store.recount_badges(Some(org)).await?;
    let folding = Instant::now();
    store.rebuild_states(Some(org), |_| {}).await?;
    let state_seconds = (folding.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    let enrolments: i64 = db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT COUNT(*) AS n FROM enrolments WHERE org_id = {org}"),
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("count missing"))?
        .try_get("", "n")?;
    if backend == DbBackend::Postgres {
        // VACUUM as well, as autovacuum would in time: it sets the
        // visibility map, so index-only scans need not visit the heap, and
        // the runs measure the steady state rather than the first reads
        // after a bulk load.
        exec("VACUUM (ANALYZE)".into()).await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let built = Built {
        org,
        badges,
        regular_customers: regular,
        awards: loaded,
        enrolments,
        seconds: (seconds * 10.0).round() / 10.0,
        rows_per_second: ((loaded + enrolments) as f64 / seconds).round(),
        state_seconds,
    };
    println!("{}", serde_json::to_string(&built)?);
    Ok(built)
}

/// Runs each batch in a transaction of its own. On PostgreSQL two batches
/// run at once, and a superuser skips the foreign-key triggers for them
/// (`session_replication_role = replica`, as a restore does): the rows are
/// consistent by construction, and the triggers would double the load time.
/// SQLite has one writer, so its batches run one after another.
pub(crate) async fn load_batches(
    db: &sea_orm::DatabaseConnection,
    batches: Vec<Vec<String>>,
) -> anyhow::Result<()> {
    use sea_orm::TransactionTrait;
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let superuser = postgres
        && db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
            ))
            .await?
            .and_then(|r| r.try_get::<bool>("", "rolsuper").ok())
            .unwrap_or(false);
    let parallel = if postgres { 2 } else { 1 };
    let mut running = tokio::task::JoinSet::new();
    for statements in batches {
        while running.len() >= parallel {
            if let Some(done) = running.join_next().await {
                done??;
            }
        }
        let db = db.clone();
        running.spawn(async move {
            let txn = db.begin().await?;
            if superuser {
                txn.execute_unprepared("SET LOCAL session_replication_role = replica")
                    .await?;
            }
            for sql in statements {
                txn.execute_unprepared(&sql).await?;
            }
            txn.commit().await?;
            anyhow::Ok(())
        });
    }
    while let Some(done) = running.join_next().await {
        done??;
    }
    Ok(())
}
