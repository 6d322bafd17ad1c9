//! The benchmark org. Every size has the same per-customer shape, so size is
//! the only thing that changes:
//! - 1,000 badges, half EARN and half ISSUE_EARN, across 20 groups, each with
//!   one or two restricted owners, one claim and one image;
//! - regular customers holding 10 badges each (an award each, the ISSUE_EARN
//!   ones with an enrolment), `awards / 10` of them;
//! - 20 heavy customers holding every badge (ids 1..=20);
//! - edge customers: 0 holds nothing, 21 holds exactly one page (10 badges).
//!
//! Rows are generated inside the database with recursive CTEs, so the same
//! SQL loads SQLite and PostgreSQL in bulk.

use std::time::Instant;

use badges::auth::hash_secret;
use badges::store::{self, PoolSettings, Store};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(clap::Args)]
pub struct Args {
    /// Database URL (sqlite://… or postgres://…), emptied of a previous benchmark org.
    #[arg(long, env = "BADGES_DATABASE_URL")]
    database_url: String,
    /// Awards of regular customers: 10000, 2000000 (default) or 10000000.
    #[arg(long, default_value_t = 2_000_000)]
    awards: i64,
}

pub const BADGES: i64 = 1000;
pub const HEAVY: i64 = 20;
/// The first regular customer id.
pub const FIRST_REGULAR: i64 = 100;
/// Start of every badge's window (2024-01-01) and its end (2030-01-01), in µs.
const STARTS: i64 = 1_704_067_200_000_000;
const EXPIRES: i64 = 1_893_456_000_000_000;

pub async fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    // Bulk statements run for minutes; the service's 5 s deadline is not for them.
    let settings = PoolSettings {
        statement_timeout: std::time::Duration::from_secs(3600),
        ..PoolSettings::default()
    };
    store::migrate(&args.database_url, &settings).await?;
    let store = Store::connect(&args.database_url, &settings).await?;
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

    let seq = |n: i64| {
        format!(
            "WITH RECURSIVE s(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < {}) ",
            n - 1
        )
    };
    // 24-hex ids: a fixed prefix and the number.
    let id = |prefix: &str, expr: &str| match backend {
        DbBackend::Postgres => format!("'{prefix}' || lpad(to_hex({expr}), 16, '0')"),
        _ => format!("'{prefix}' || printf('%016x', {expr})"),
    };
    exec(format!(
        "{} INSERT INTO badge_groups (id, org_id, name, rank, created_at) SELECT {}, {org}, 'group ' || i, i, 0 FROM s",
        seq(20),
        id("67000000", "i")
    ))
    .await?;
    exec(format!(
        "{} INSERT INTO badges (id, org_id, name, name_lower, description, earn_type, active, starts_on, expires_on, \
         created_on, last_updated_on, group_id, rank, earned_badge_expiry, issued_badge_expiry) \
         SELECT {}, {org}, 'Badge ' || i, 'badge ' || i, 'benchmark badge', \
         CASE WHEN i % 2 = 0 THEN 'EARN' ELSE 'ISSUE_EARN' END, i % 10 <> 9, \
         {STARTS} + i * 1000000, {EXPIRES} + (i * 7919 % 1000) * 86400000000, i * 1000, i * 1000 + 500, \
         {}, i % 5, '{{\"expiryType\":\"NEVER\"}}', '{{\"expiryType\":\"NEVER\"}}' FROM s",
        seq(BADGES),
        id("66000000", "i"),
        id("67000000", "i % 20")
    ))
    .await?;
    let owners = [
        "Loyalty",
        "Loyalty_Promotion",
        "Journeys",
        "Milestones",
        "Audience_Campaigns",
    ];
    let owner_case = |expr: &str| {
        let arms: String = owners
            .iter()
            .enumerate()
            .map(|(k, o)| format!(" WHEN {k} THEN '{o}'"))
            .collect();
        format!("CASE {expr}{arms} END")
    };
    exec(format!(
        "{} INSERT INTO badge_owners (badge_id, owner, position) SELECT {}, {}, 0 FROM s",
        seq(BADGES),
        id("66000000", "i"),
        owner_case("i % 5")
    ))
    .await?;
    exec(format!(
        "{} INSERT INTO badge_owners (badge_id, owner, position) SELECT {}, 'Rewards_Catalog', 1 FROM s WHERE i % 3 = 0",
        seq(BADGES),
        id("66000000", "i")
    ))
    .await?;
    exec(format!(
        "{} INSERT INTO badge_claims (badge_id, owner_type, reference_id, is_active) SELECT {}, {}, 'ref-' || i, i % 4 <> 0 FROM s",
        seq(BADGES),
        id("66000000", "i"),
        owner_case("i % 5")
    ))
    .await?;
    exec(format!(
        "{} INSERT INTO badge_images (badge_id, name, file_svc_handle, url, tag) \
         SELECT {}, 'image', 'handle-' || i, 'https://cdn.example.com/badges/' || i || '.png', 'EARNED' FROM s",
        seq(BADGES),
        id("66000000", "i")
    ))
    .await?;

    let regular = args.awards / 10;
    let customers = FIRST_REGULAR + regular;
    exec(format!(
        "{} INSERT INTO customers (org_id, customer_id, email, mobile, external_id, card_number) \
         SELECT {org}, i, 'customer' || i || '@example.com', NULL, 'ext-' || i, NULL FROM s",
        seq(customers)
    ))
    .await?;

    // Awards in batches of customers, so no statement grows without bound.
    let batch = 100_000;
    let award = |from: i64, count: i64, per: i64, badge: &str| {
        format!(
            "WITH RECURSIVE c(i) AS (SELECT CAST({from} AS BIGINT) UNION ALL SELECT i + 1 FROM c WHERE i < {}), \
             k(j) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT j + 1 FROM k WHERE j < {}) \
             INSERT INTO awards (earned_badge_id, org_id, badge_id, customer_id, awarded_at, event_at, expires_at, revoked) \
             SELECT {}, {org}, {}, i, {STARTS} + (i * 31 + j) * 1000000, {STARTS} + (i * 31 + j) * 1000000 - 5000000, \
             CASE WHEN j % 10 = 9 THEN {STARTS} + 86400000000 ELSE NULL END, FALSE FROM c, k",
            from + count - 1,
            per - 1,
            id("65000000", &format!("i * {BADGES} + j")),
            badge
        )
    };
    let regular_badge = id("66000000", &format!("(i * 7 + j * 101) % {BADGES}"));
    let mut loaded = 0i64;
    let mut first = FIRST_REGULAR;
    while first < customers {
        let count = batch.min(customers - first);
        exec(award(first, count, 10, &regular_badge)).await?;
        loaded += count * 10;
        first += count;
    }
    exec(award(1, HEAVY, BADGES, &id("66000000", "j"))).await?;
    exec(award(21, 1, 10, &id("66000000", "j"))).await?;
    loaded += HEAVY * BADGES + 10;
    // Enrolments for the ISSUE_EARN badges held.
    exec(format!(
        "INSERT INTO enrolments (org_id, badge_id, customer_id, issued_at, expires_at, revoked) \
         SELECT org_id, badge_id, customer_id, awarded_at - 60000000, NULL, FALSE FROM awards \
         WHERE org_id = {org} AND substr(badge_id, 24, 1) IN ('1','3','5','7','9','b','d','f')"
    ))
    .await?;
    if backend == DbBackend::Postgres {
        exec("ANALYZE".into()).await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "org": org,
            "badges": BADGES,
            "customers": customers,
            "awards": loaded,
            "seconds": (seconds * 10.0).round() / 10.0,
            "rows_per_second": (loaded as f64 / seconds).round(),
        })
    );
    Ok(())
}
