//! The many-tenant dataset: `orgs` orgs named `tenant-{k}`, each with a
//! catalogue of the benchmark org's shape (`badges` badges across 20 groups,
//! half EARN and half ISSUE_EARN, one or two restricted owners, a claim and an
//! image each) under its own ids and names, `customers` customers (ids from
//! 10,000) holding 10 badges each, and one read+write client `tenant-{k}`
//! (secret `bench`). PostgreSQL only: rows are generated inside the database
//! by `generate_series`, a batch of orgs per transaction.

use std::time::Instant;

use badges::auth::hash_secret;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::dataset::{FIRST_REGULAR, PER_CUSTOMER, owner_case};

#[derive(Clone, Debug, clap::Args, serde::Serialize, serde::Deserialize)]
pub struct Args {
    /// PostgreSQL URL of a database without tenants yet.
    #[arg(long, env = "BADGES_DATABASE_URL")]
    pub database_url: String,
    #[arg(long, default_value_t = 1000)]
    pub orgs: i64,
    /// Badges of each org.
    #[arg(long, default_value_t = 1000)]
    pub badges: i64,
    /// Customers of each org.
    #[arg(long, default_value_t = 100)]
    pub customers: i64,
}

/// What a build made.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Built {
    pub orgs: i64,
    pub badges: i64,
    pub customers: i64,
    pub rows: i64,
    pub seconds: f64,
}

const GROUPS: i64 = 20;
/// Orgs per transaction.
const BATCH: i64 = 50;
const STARTS: i64 = 1_704_067_200_000_000;
const EXPIRES: i64 = 1_893_456_000_000_000;

/// A 24-hex id: a two-hex tag, the org number in 6 hex, `expr` in 16.
fn id(tag: &str, expr: &str) -> String {
    format!("'{tag}' || lpad(to_hex(t.k), 6, '0') || lpad(to_hex({expr}), 16, '0')")
}

/// The statements that fill orgs `from..=to` (by number `k`).
fn statements(from: i64, to: i64, a: &Args, hash: &str) -> Vec<String> {
    let tenants = format!(
        "(SELECT o.id AS org, CAST(substr(o.name, 8) AS bigint) AS k FROM orgs o \
         WHERE o.name LIKE 'tenant-%' AND CAST(substr(o.name, 8) AS bigint) BETWEEN {from} AND {to}) t"
    );
    let badges = a.badges;
    let owner = owner_case("s.i");
    let badge_id = id("69", "s.i");
    let per_badge = |what: &str| {
        format!(
            "{what} FROM {tenants} CROSS JOIN generate_series(0::bigint, {}) AS s(i)",
            badges - 1
        )
    };
    let end = FIRST_REGULAR + a.customers - 1;
    vec![
        format!(
            "INSERT INTO api_clients (org_id, username, secret_hash, can_read, can_write, disabled, created_at, generation) \
             SELECT t.org, 'tenant-' || t.k, '{hash}', TRUE, TRUE, FALSE, 0, 1 FROM {tenants}"
        ),
        format!(
            "INSERT INTO badge_groups (id, org_id, name, rank, created_at) \
             SELECT {}, t.org, 'group ' || s.i, s.i, 0 FROM {tenants} CROSS JOIN generate_series(0::bigint, {}) AS s(i)",
            id("68", "s.i"),
            GROUPS - 1
        ),
        per_badge(&format!(
            "INSERT INTO badges (id, org_id, name, name_lower, description, earn_type, active, starts_on, expires_on, \
             created_on, last_updated_on, group_id, rank, earned_badge_expiry, issued_badge_expiry) \
             SELECT {badge_id}, t.org, 'Badge ' || s.i || ' of tenant ' || t.k, 'badge ' || s.i || ' of tenant ' || t.k, \
             'benchmark badge of tenant ' || t.k, CASE WHEN s.i % 2 = 0 THEN 'EARN' ELSE 'ISSUE_EARN' END, s.i % 10 <> 9, \
             {STARTS} + s.i * 1000000, {EXPIRES} + (s.i * 7919 % 1000) * 86400000000, s.i * 1000, s.i * 1000 + 500, \
             {}, s.i % 5, '{{\"expiryType\":\"NEVER\"}}', '{{\"expiryType\":\"NEVER\"}}'",
            id("68", &format!("s.i % {GROUPS}"))
        )),
        per_badge(&format!(
            "INSERT INTO badge_owners (org_id, badge_id, owner, position) SELECT t.org, {badge_id}, {owner}, 0"
        )),
        format!(
            "INSERT INTO badge_owners (org_id, badge_id, owner, position) SELECT t.org, {badge_id}, 'Rewards_Catalog', 1 \
             FROM {tenants} CROSS JOIN generate_series(0::bigint, {}) AS s(i) WHERE s.i % 3 = 0",
            badges - 1
        ),
        per_badge(&format!(
            "INSERT INTO badge_claims (org_id, badge_id, owner_type, reference_id, is_active) \
             SELECT t.org, {badge_id}, {owner}, 'ref-' || s.i, s.i % 4 <> 0"
        )),
        per_badge(&format!(
            "INSERT INTO badge_images (org_id, badge_id, name, file_svc_handle, url, tag) \
             SELECT t.org, {badge_id}, 'image', 'handle-' || t.k || '-' || s.i, \
             'https://cdn.example.com/tenants/' || t.k || '/badges/' || s.i || '.png', 'EARNED'"
        )),
        format!(
            "INSERT INTO customers (org_id, customer_id, email, mobile, external_id, card_number) \
             SELECT t.org, s.i, 'customer' || s.i || '@tenant' || t.k || '.example.com', NULL, 'ext-' || s.i, NULL \
             FROM {tenants} CROSS JOIN generate_series({FIRST_REGULAR}::bigint, {end}) AS s(i)"
        ),
        format!(
            "INSERT INTO awards (earned_badge_id, org_id, badge_id, customer_id, awarded_at, event_at, expires_at, revoked) \
             SELECT {}, t.org, {}, c.i, {STARTS} + (c.i * 31 + j.j) * 1000000, {STARTS} + (c.i * 31 + j.j) * 1000000 - 5000000, \
             CASE WHEN j.j % 10 = 9 THEN {STARTS} + 86400000000 ELSE NULL END, FALSE \
             FROM {tenants} CROSS JOIN generate_series({FIRST_REGULAR}::bigint, {end}) AS c(i) \
             CROSS JOIN generate_series(0::bigint, {}) AS j(j)",
            id("6a", &format!("c.i * {PER_CUSTOMER} + j.j")),
            id("69", &format!("(c.i * 7 + j.j * 101) % {badges}")),
            PER_CUSTOMER - 1
        ),
        format!(
            "INSERT INTO enrolments (issued_badge_id, org_id, badge_id, customer_id, issued_at, expires_at, revoked) \
             SELECT '6b' || substr(a.earned_badge_id, 3, 22), a.org_id, a.badge_id, a.customer_id, a.awarded_at - 60000000, NULL, FALSE \
             FROM awards a JOIN {tenants} ON a.org_id = t.org \
             WHERE substr(a.badge_id, 24, 1) IN ('1','3','5','7','9','b','d','f')"
        ),
    ]
}

pub async fn run(args: Args) -> anyhow::Result<Built> {
    let started = Instant::now();
    let store = crate::dataset::open_for_loading(&args.database_url).await?;
    let db = store.connection();
    anyhow::ensure!(
        db.get_database_backend() == DbBackend::Postgres,
        "the many-tenant dataset is built on PostgreSQL"
    );
    let count = |sql: &'static str| async move {
        anyhow::Ok(
            db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
                .await?
                .ok_or_else(|| anyhow::anyhow!("no count"))?
                .try_get::<i64>("", "n")?,
        )
    };
    anyhow::ensure!(
        count("SELECT COUNT(*) AS n FROM orgs WHERE name LIKE 'tenant-%'").await? == 0,
        "the database already holds tenants; use a fresh database"
    );
    db.execute_unprepared(&format!(
        "INSERT INTO orgs (name, created_at) SELECT 'tenant-' || k, 0 FROM generate_series(0::bigint, {}) AS s(k)",
        args.orgs - 1
    ))
    .await?;
    let hash = hash_secret("bench")?;
    let mut batches = Vec::new();
    let mut from = 0;
    while from < args.orgs {
        let to = (from + BATCH).min(args.orgs) - 1;
        batches.push(statements(from, to, &args, &hash));
        from = to + 1;
    }
    crate::dataset::load_batches(db, batches).await?;
    // The badges' counts, as the service's writes would have kept them.
    store.recount_badges(None).await?;
    store.rebuild_states(None, |_| {}).await?;
    db.execute_unprepared("VACUUM (ANALYZE)").await?;
    let rows = count(
        "SELECT (SELECT COUNT(*) FROM badges) + (SELECT COUNT(*) FROM badge_owners) \
         + (SELECT COUNT(*) FROM badge_claims) + (SELECT COUNT(*) FROM badge_images) \
         + (SELECT COUNT(*) FROM customers) + (SELECT COUNT(*) FROM awards) \
         + (SELECT COUNT(*) FROM enrolments) AS n",
    )
    .await?;
    let built = Built {
        orgs: args.orgs,
        badges: args.badges,
        customers: args.customers,
        rows,
        seconds: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    };
    println!("{}", serde_json::to_string(&built)?);
    Ok(built)
}
