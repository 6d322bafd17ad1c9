use sea_orm_migration::{prelude::*, schema::*};

use crate::dialect::Dialect;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CustomerStates {
    Table,
    OrgId,
    CustomerId,
    Body,
    Stale,
}

/// The name of this migration, for the store's backfill: it runs after this
/// migration is applied (the rows are filled in batches outside the
/// migration's transaction).
pub const NAME: &str = "m20261206_000012_customer_states";

/// On PostgreSQL, a write to the awards or enrolments by a connection that
/// does not keep the state rows (a pod of the release before this one, during
/// a rolling upgrade, or an operator's own SQL) marks that customer's state
/// row stale, so that readers fold the tables instead until a write of this
/// release or `badges state rebuild` renews it. This release's connections
/// set `badges.keeps_state` at connect time, so the trigger's condition is
/// false for them and its function never runs.
const PG_UP: &[&str] = &[
    "CREATE FUNCTION badges_mark_state_stale() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN \
       UPDATE customer_states SET stale = TRUE \
        WHERE org_id = NEW.org_id AND customer_id = NEW.customer_id AND stale = FALSE; \
       RETURN NULL; \
     END $$",
    "CREATE TRIGGER awards_mark_state_stale AFTER INSERT OR UPDATE ON awards FOR EACH ROW \
     WHEN (current_setting('badges.keeps_state', TRUE) IS DISTINCT FROM 'on') \
     EXECUTE FUNCTION badges_mark_state_stale()",
    "CREATE TRIGGER enrolments_mark_state_stale AFTER INSERT OR UPDATE ON enrolments FOR EACH ROW \
     WHEN (current_setting('badges.keeps_state', TRUE) IS DISTINCT FROM 'on') \
     EXECUTE FUNCTION badges_mark_state_stale()",
];

const PG_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS enrolments_mark_state_stale ON enrolments",
    "DROP TRIGGER IF EXISTS awards_mark_state_stale ON awards",
    "DROP FUNCTION IF EXISTS badges_mark_state_stale()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One row per customer who has one: what they hold of each badge
        // (`domain::holdings`, a versioned binary layout), kept by every
        // write in its transaction; the list call reads it by key. `stale`
        // says it no longer follows the tables (see PG_UP).
        m.create_table(
            Table::create()
                .table(CustomerStates::Table)
                .col(integer(CustomerStates::OrgId))
                .col(big_integer(CustomerStates::CustomerId))
                .col(blob(CustomerStates::Body))
                .col(boolean(CustomerStates::Stale).default(false))
                .primary_key(
                    Index::create()
                        .col(CustomerStates::OrgId)
                        .col(CustomerStates::CustomerId),
                )
                .to_owned(),
        )
        .await?;
        if Dialect::of(m)? == Dialect::Postgres {
            for sql in PG_UP {
                m.get_connection().execute_unprepared(sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if Dialect::of(m)? == Dialect::Postgres {
            for sql in PG_DOWN {
                m.get_connection().execute_unprepared(sql).await?;
            }
        }
        m.drop_table(Table::drop().table(CustomerStates::Table).to_owned())
            .await
    }
}
