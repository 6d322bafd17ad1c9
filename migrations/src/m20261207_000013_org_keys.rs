//! Every tenant table keyed by its org first, so that the schema can be
//! distributed by org (Citus) unchanged and no key reaches across orgs.
//!
//! The badge's images, restricted owners, claims and counts get the org of
//! their badge as a column. On PostgreSQL every tenant table's primary key
//! becomes `(org_id, …)`, and the foreign keys to a badge or a group carry
//! the org; on SQLite (one file, never distributed) the primary keys stay,
//! since changing one means rebuilding the table and SQLite only numbers a
//! single-column integer key, and the new columns get org-first indexes.
//!
//! Without downtime on PostgreSQL, while pods of the previous release still
//! serve and write: the migration runs outside one transaction, each step
//! taking only brief locks and safe to run again after a failure. The new
//! keys are built `CONCURRENTLY` (writes go on), then swapped in a short
//! transaction (`ADD PRIMARY KEY USING INDEX` on columns already NOT NULL
//! scans nothing); the new foreign keys are added `NOT VALID` and validated
//! afterwards under a lock that lets writes through. The previous release
//! inserts images, owners, claims and counts without the org: a trigger
//! fills it from the badge. Two indexes stay for that release and go with
//! the next one: `badges (id)`, which the trigger and its reads by id use,
//! and `badge_counts (badge_id, slot)`, the target of its count upsert.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::dialect::Dialect;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables that get their badge's org as a column.
const WITH_BADGE: &[&str] = &[
    "badge_images",
    "badge_owners",
    "badge_claims",
    "badge_counts",
];

/// Each tenant table whose primary key changes, and its new key.
const KEYS: &[(&str, &str)] = &[
    ("badge_groups", "org_id, id"),
    ("badges", "org_id, id"),
    ("custom_fields", "org_id, id"),
    ("badge_images", "org_id, id"),
    ("badge_owners", "org_id, badge_id, owner"),
    ("badge_claims", "org_id, id"),
    ("badge_counts", "org_id, badge_id, slot"),
    ("enrolments", "org_id, id"),
    ("awards", "org_id, id"),
];

/// The foreign keys to a badge or a group: (table, name, columns, target,
/// on delete).
const FOREIGN: &[(&str, &str, &str, &str, &str)] = &[
    (
        "badges",
        "fk_badges_group",
        "org_id, group_id",
        "badge_groups (org_id, id)",
        "NO ACTION",
    ),
    (
        "badge_images",
        "fk_badge_images_badge",
        "org_id, badge_id",
        "badges (org_id, id)",
        "CASCADE",
    ),
    (
        "badge_owners",
        "fk_badge_owners_badge",
        "org_id, badge_id",
        "badges (org_id, id)",
        "CASCADE",
    ),
    (
        "badge_claims",
        "fk_badge_claims_badge",
        "org_id, badge_id",
        "badges (org_id, id)",
        "CASCADE",
    ),
    (
        "enrolments",
        "fk_enrolments_badge",
        "org_id, badge_id",
        "badges (org_id, id)",
        "CASCADE",
    ),
    (
        "awards",
        "fk_awards_badge",
        "org_id, badge_id",
        "badges (org_id, id)",
        "CASCADE",
    ),
];

/// Secondary indexes led by the org that replace ones that were not:
/// (new name, table, columns, unique, the index or constraint it replaces).
const INDEXES: &[(&str, &str, &str, bool, &str)] = &[
    (
        "ix_badge_images_org_badge",
        "badge_images",
        "org_id, badge_id, id",
        false,
        "ix_badge_images_badge",
    ),
    (
        "ix_badge_owners_org_owner",
        "badge_owners",
        "org_id, owner, badge_id",
        false,
        "ix_badge_owners_owner",
    ),
    (
        "ux_badge_claims_org_badge_owner_ref",
        "badge_claims",
        "org_id, badge_id, owner_type, reference_id",
        true,
        "ux_badge_claims_badge_owner_ref",
    ),
    (
        "ix_badge_claims_org_owner_active",
        "badge_claims",
        "org_id, owner_type, is_active, badge_id",
        false,
        "ix_badge_claims_owner_active",
    ),
    (
        "ux_awards_org_earned_badge_id",
        "awards",
        "org_id, earned_badge_id",
        true,
        "awards_earned_badge_id_key",
    ),
];

/// Fills the org of a row the previous release inserted without it.
const PG_FILL: &str = "CREATE OR REPLACE FUNCTION badges_fill_org() RETURNS trigger \
     LANGUAGE plpgsql AS $$ BEGIN \
       SELECT b.org_id INTO NEW.org_id FROM badges b WHERE b.id = NEW.badge_id; \
       RETURN NEW; \
     END $$";

async fn run(conn: &impl ConnectionTrait, sql: &str) -> Result<(), DbErr> {
    conn.execute_unprepared(sql).await.map(|_| ())
}

/// The columns of `table`'s primary key on PostgreSQL, in order, joined
/// by ", ".
async fn pg_primary_key(conn: &impl ConnectionTrait, table: &str) -> Result<String, DbErr> {
    let row = conn
        .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
            sea_orm_migration::sea_orm::DbBackend::Postgres,
            format!(
                "SELECT string_agg(a.attname, ', ' ORDER BY k.n) AS cols \
                 FROM pg_index i \
                 CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                 WHERE i.indrelid = '{table}'::regclass AND i.indisprimary"
            ),
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<Option<String>>("", "cols")?.unwrap_or_default(),
        None => String::new(),
    })
}

async fn up_postgres(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let conn = m.get_connection();
    // The index builds take as long as the tables need (minutes for tens of
    // millions of awards), past the service's statement deadline; this
    // session only (the migration runs on one connection).
    run(conn, "SET statement_timeout = 0").await?;
    // 1. The org of a badge's parts, kept for the previous release's
    // inserts by the trigger, then filled for the rows there are (tables
    // of the catalogue's size), and required.
    let txn = m.begin().await?;
    let tx = txn.get_connection();
    run(tx, PG_FILL).await?;
    for table in WITH_BADGE {
        run(
            tx,
            &format!("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS org_id INTEGER"),
        )
        .await?;
        run(
            tx,
            &format!("DROP TRIGGER IF EXISTS {table}_fill_org ON {table}"),
        )
        .await?;
        run(
            tx,
            &format!(
                "CREATE TRIGGER {table}_fill_org BEFORE INSERT ON {table} FOR EACH ROW \
                 WHEN (NEW.org_id IS NULL) EXECUTE FUNCTION badges_fill_org()"
            ),
        )
        .await?;
    }
    txn.commit().await?;
    for table in WITH_BADGE {
        run(
            conn,
            &format!(
                "UPDATE {table} t SET org_id = b.org_id FROM badges b \
                 WHERE b.id = t.badge_id AND t.org_id IS NULL"
            ),
        )
        .await?;
        run(
            conn,
            &format!("ALTER TABLE {table} ALTER COLUMN org_id SET NOT NULL"),
        )
        .await?;
    }

    // 2. The new keys, and the indexes the previous release needs meanwhile,
    // built without stopping writes. A build a failure left invalid is
    // dropped and built again.
    let mut swaps = Vec::new();
    for (table, key) in KEYS {
        if pg_primary_key(conn, table).await? == *key {
            continue;
        }
        let index = format!("{table}_org_key");
        run(conn, &format!("DROP INDEX CONCURRENTLY IF EXISTS {index}")).await?;
        run(
            conn,
            &format!("CREATE UNIQUE INDEX CONCURRENTLY {index} ON {table} ({key})"),
        )
        .await?;
        swaps.push((*table, index));
    }
    for (name, table, columns) in [
        ("ux_badges_id", "badges", "id"),
        (
            "ux_badge_counts_badge_slot",
            "badge_counts",
            "badge_id, slot",
        ),
    ] {
        if swaps.iter().any(|(t, _)| *t == table) {
            run(conn, &format!("DROP INDEX CONCURRENTLY IF EXISTS {name}")).await?;
            run(
                conn,
                &format!("CREATE UNIQUE INDEX CONCURRENTLY {name} ON {table} ({columns})"),
            )
            .await?;
        }
    }

    // 3. The swap ([`swap`]). It waits at most half a second for its locks
    // (less than PostgreSQL's default `deadlock_timeout` of 1 s, so that
    // when a write and the swap wait for each other the swap gives way,
    // before the deadlock check would cancel the write), so the service's
    // statements never queue behind it for longer; then it is tried again,
    // up to 30 times.
    let mut attempt = 0;
    while !swaps.is_empty() {
        attempt += 1;
        match swap(m, &swaps).await {
            Ok(()) => break,
            Err(e) if attempt < 30 && e.to_string().contains("lock timeout") => {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
    // 4. The foreign keys checked against the rows there are, while writes
    // go on (a no-op for one already valid).
    for (table, name, _, _, _) in FOREIGN {
        run(
            conn,
            &format!("ALTER TABLE {table} VALIDATE CONSTRAINT {name}"),
        )
        .await?;
    }

    // 5. The secondary indexes led by the org, and the old ones dropped.
    for (name, table, columns, unique, old) in INDEXES {
        let unique = if *unique { "UNIQUE " } else { "" };
        run(conn, &format!("DROP INDEX CONCURRENTLY IF EXISTS {name}")).await?;
        run(
            conn,
            &format!("CREATE {unique}INDEX CONCURRENTLY {name} ON {table} ({columns})"),
        )
        .await?;
        if old.ends_with("_key") {
            run(
                conn,
                &format!("ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {old}"),
            )
            .await?;
        } else {
            run(conn, &format!("DROP INDEX CONCURRENTLY IF EXISTS {old}")).await?;
        }
    }
    Ok(())
}

/// The swap of `swaps` (table, new key's index), in one short transaction:
/// the foreign keys that depend on the old keys go, the new keys take their
/// place, and the foreign keys come back carrying the org, unchecked for now.
async fn swap(m: &SchemaManager<'_>, swaps: &[(&str, String)]) -> Result<(), DbErr> {
    let txn = m.begin().await?;
    let tx = txn.get_connection();
    run(tx, "SET LOCAL lock_timeout = '500ms'").await?;
    // In the order the service's writes take them (a write reads its badge,
    // then writes the awards, enrolments and counts of it), so that the
    // swap waits for the writes in flight and the next ones wait for it,
    // rather than each holding what the other needs.
    run(
        tx,
        "LOCK TABLE badge_groups, badges, awards, enrolments, badge_counts, badge_images, \
         badge_owners, badge_claims, custom_fields IN ACCESS EXCLUSIVE MODE",
    )
    .await?;
    for (table, name, _, _, _) in FOREIGN {
        run(
            tx,
            &format!("ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}"),
        )
        .await?;
    }
    for (table, index) in swaps {
        run(
            tx,
            &format!(
                "ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, \
                     ADD CONSTRAINT {table}_pkey PRIMARY KEY USING INDEX {index}"
            ),
        )
        .await?;
    }
    for (table, name, columns, target, on_delete) in FOREIGN {
        run(
            tx,
            &format!(
                "ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({columns}) \
                     REFERENCES {target} ON DELETE {on_delete} NOT VALID"
            ),
        )
        .await?;
    }
    txn.commit().await
}

/// SQLite: the new columns, filled and required (a default for the rows
/// there are, as SQLite adds a NOT NULL column only with one), and the
/// org-first indexes, in one transaction.
async fn up_sqlite(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let txn = m.begin().await?;
    let tx = txn.get_connection();
    for table in WITH_BADGE {
        run(
            tx,
            &format!("ALTER TABLE {table} ADD COLUMN org_id INTEGER NOT NULL DEFAULT 0"),
        )
        .await?;
        run(
            tx,
            &format!(
                "UPDATE {table} SET org_id = \
                 (SELECT b.org_id FROM badges b WHERE b.id = {table}.badge_id)"
            ),
        )
        .await?;
    }
    for (name, table, columns, unique, old) in INDEXES {
        // The column constraint on awards' earned_badge_id is part of
        // SQLite's table and stays (it is unique on its own), so it gets no
        // second index; the other old indexes are replaced.
        if old.ends_with("_key") {
            continue;
        }
        let unique = if *unique { "UNIQUE " } else { "" };
        run(
            tx,
            &format!("CREATE {unique}INDEX {name} ON {table} ({columns})"),
        )
        .await?;
        run(tx, &format!("DROP INDEX {old}")).await?;
    }
    run(
        tx,
        "CREATE UNIQUE INDEX ux_badge_counts_org_badge_slot ON badge_counts (org_id, badge_id, slot)",
    )
    .await?;
    txn.commit().await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(false)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        match Dialect::of(m)? {
            Dialect::Postgres => up_postgres(m).await,
            Dialect::Sqlite => up_sqlite(m).await,
        }
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the org-first keys are not undone: restore the backup taken before the upgrade"
                .to_owned(),
        ))
    }
}
