//! Every tenant table keyed by its org first (README, "Keyed by org"): the
//! schema as the migrations leave it on PostgreSQL, and the migration that
//! moves the keys run over rows written before it, on both backends. (That
//! every statement names its org is checked on every test's database, by
//! `common::org_scope`.)

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DbBackend, FromQueryResult, Statement};

use crate::common::{Backend, TestDb, backends};

/// The tables shared by every org (the check's list, `common::org_scope`).
const GLOBAL: &[&str] = &[
    "api_clients",
    "orgs",
    "outbox",
    "relay_lease",
    "seaql_migrations",
];

#[derive(Debug, FromQueryResult)]
struct Key {
    table_name: String,
    first: Option<String>,
}

#[derive(Debug, FromQueryResult)]
struct Foreign {
    name: String,
    first: String,
    target: String,
    validated: bool,
}

#[tokio::test]
async fn every_tenant_table_is_keyed_by_its_org_first() {
    let Some(db) = TestDb::postgres_or_skip("org keys").await else {
        return;
    };
    badges::store::migrate(&db.database_url(), &Default::default())
        .await
        .unwrap();
    let conn = Database::connect(db.url.as_str()).await.unwrap();
    let keys = Key::find_by_statement(Statement::from_string(
        DbBackend::Postgres,
        "SELECT c.relname::text AS table_name, \
           (SELECT a.attname::text FROM pg_attribute a \
             WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[0]) AS first \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' \
         LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary \
         WHERE c.relkind = 'r' ORDER BY 1",
    ))
    .all(&conn)
    .await
    .unwrap();
    let mut tenant = Vec::new();
    for k in &keys {
        if GLOBAL.contains(&k.table_name.as_str()) {
            continue;
        }
        assert_eq!(
            k.first.as_deref(),
            Some("org_id"),
            "{}'s primary key does not lead with org_id",
            k.table_name
        );
        tenant.push(k.table_name.as_str());
    }
    assert!(
        tenant.len() >= 13 && tenant.contains(&"badge_images") && tenant.contains(&"awards"),
        "tenant tables: {tenant:?}"
    );
    // Every foreign key to a tenant table carries the org, and holds for
    // the rows there are.
    let foreign = Foreign::find_by_statement(Statement::from_string(
        DbBackend::Postgres,
        "SELECT conname::text AS name, \
           (SELECT a.attname::text FROM pg_attribute a \
             WHERE a.attrelid = k.conrelid AND a.attnum = k.conkey[1]) AS first, \
           k.confrelid::regclass::text AS target, k.convalidated AS validated \
         FROM pg_constraint k WHERE k.contype = 'f' ORDER BY 1",
    ))
    .all(&conn)
    .await
    .unwrap();
    let mut to_tenants = 0;
    for f in &foreign {
        if GLOBAL.contains(&f.target.as_str()) {
            continue;
        }
        to_tenants += 1;
        assert_eq!(f.first, "org_id", "{} names no org", f.name);
        assert!(f.validated, "{} is not validated", f.name);
    }
    assert!(to_tenants >= 6, "{foreign:?}");
    conn.close().await.ok();
}

/// Rows of a badge's parts written before the migration get their badge's
/// org, in two orgs whose badges were written alike; the counts read by org
/// see only their own org's.
#[tokio::test]
async fn the_org_keys_migration_gives_the_rows_there_their_org() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let conn = Database::connect(db.url.as_str()).await.unwrap();
        // The schema as the release before the org keys left it.
        Migrator::up(&conn, Some(12)).await.unwrap();
        for (org, badge) in [
            (1, "0000000000000000000000b1"),
            (2, "0000000000000000000000b2"),
        ] {
            for sql in [
                format!("INSERT INTO orgs (id, name, created_at) VALUES ({org}, 'org {org}', 0)"),
                format!(
                    "INSERT INTO badges (id, org_id, name, name_lower, description, earn_type, \
                     active, starts_on, expires_on, created_on, last_updated_on, group_id, rank, \
                     earned_badge_expiry, issued_badge_expiry) VALUES ('{badge}', {org}, 'B', 'b', \
                     '', 'ISSUE_EARN', TRUE, 0, 1, 0, 0, NULL, NULL, \
                     '{{\"expiryType\":\"NEVER\"}}', '{{\"expiryType\":\"NEVER\"}}')"
                ),
                format!(
                    "INSERT INTO badge_images (badge_id, name, file_svc_handle, url, tag) \
                     VALUES ('{badge}', 'i', 'h', 'u', 'EARNED')"
                ),
                format!(
                    "INSERT INTO badge_owners (badge_id, owner, position) \
                     VALUES ('{badge}', 'Loyalty', 0)"
                ),
                format!(
                    "INSERT INTO badge_claims (badge_id, owner_type, reference_id, is_active) \
                     VALUES ('{badge}', 'Loyalty', 'r', TRUE)"
                ),
                format!(
                    "INSERT INTO badge_counts (badge_id, slot, issued, earned) \
                     VALUES ('{badge}', 0, {org}, {})",
                    10 * org
                ),
                format!("INSERT INTO customers (org_id, customer_id) VALUES ({org}, 7)"),
                format!(
                    "INSERT INTO awards (earned_badge_id, org_id, badge_id, customer_id, \
                     awarded_at, event_at, revoked) \
                     VALUES ('0000000000000000000000a{org}', {org}, '{badge}', 7, 1, 1, FALSE)"
                ),
            ] {
                conn.execute_unprepared(&sql).await.unwrap();
            }
        }
        Migrator::up(&conn, None).await.unwrap();
        for table in [
            "badge_images",
            "badge_owners",
            "badge_claims",
            "badge_counts",
        ] {
            #[derive(FromQueryResult)]
            struct Row {
                org: i32,
                badge_id: String,
            }
            let rows = Row::find_by_statement(Statement::from_string(
                conn.get_database_backend(),
                format!("SELECT org_id AS org, badge_id FROM {table} ORDER BY badge_id"),
            ))
            .all(&conn)
            .await
            .unwrap();
            let got: Vec<(i32, String)> = rows
                .into_iter()
                .map(|r| (r.org, r.badge_id.trim_end().to_owned()))
                .collect();
            assert_eq!(
                got,
                vec![
                    (1, "0000000000000000000000b1".to_owned()),
                    (2, "0000000000000000000000b2".to_owned())
                ],
                "{backend:?} {table}"
            );
        }
        conn.close().await.ok();
        let store = db.connect(&Default::default()).await;
        let b2 = "0000000000000000000000b2";
        let counts = store.badge_counts(2, &[b2]).await.unwrap();
        assert_eq!(
            counts.get(b2).copied(),
            Some(badges::store::Counts {
                issued: 2,
                earned: 20
            }),
            "{backend:?}"
        );
        // The same badge id asked for by the other org: nothing.
        assert!(store.badge_counts(1, &[b2]).await.unwrap().is_empty());
        if backend == Backend::Postgres {
            db.cleanup().await;
        }
    }
}
