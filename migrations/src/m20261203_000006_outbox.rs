use sea_orm_migration::{prelude::*, schema::*};

use crate::dialect::Dialect;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    EventId,
    OrgId,
    EventType,
    CustomerId,
    Payload,
    RecordedAt,
    PublishedAt,
}

#[derive(DeriveIden)]
enum RelayLease {
    Table,
    Id,
    Holder,
    Until,
}

#[derive(DeriveIden)]
enum Awards {
    Table,
    ExpiryRecorded,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Events, written in the transaction of the write that causes them
        // and published to NATS by one relay at a time, in `id` order.
        m.create_table(
            Table::create()
                .table(Outbox::Table)
                .col(big_pk_auto(Outbox::Id))
                .col(string_len_uniq(Outbox::EventId, 24))
                .col(integer(Outbox::OrgId))
                .col(string_len(Outbox::EventType, 64))
                .col(big_integer_null(Outbox::CustomerId))
                .col(blob(Outbox::Payload))
                .col(big_integer(Outbox::RecordedAt))
                .col(big_integer_null(Outbox::PublishedAt))
                .to_owned(),
        )
        .await?;
        // What the relay reads (the unpublished rows, oldest first) and what
        // pruning deletes (published rows by age): each a partial index.
        let conn = m.get_connection();
        conn.execute_unprepared(
            "CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL",
        )
        .await?;

        // One row: which process relays, and until when its lease lasts.
        m.create_table(
            Table::create()
                .table(RelayLease::Table)
                .col(integer(RelayLease::Id).primary_key())
                .col(string_len(RelayLease::Holder, 64))
                .col(big_integer(RelayLease::Until))
                .to_owned(),
        )
        .await?;
        conn.execute_unprepared("INSERT INTO relay_lease (id, holder, until) VALUES (1, '', 0)")
            .await?;

        // Whether an award's BadgeAwardExpired event is recorded. Awards that
        // expired before events existed have none to send.
        m.alter_table(
            Table::alter()
                .table(Awards::Table)
                .add_column(boolean(Awards::ExpiryRecorded).default(false))
                .to_owned(),
        )
        .await?;
        let now = Dialect::of(m)?.now_micros();
        conn.execute_unprepared(&format!(
            "UPDATE awards SET expiry_recorded = TRUE WHERE expires_at IS NOT NULL AND expires_at <= {now}"
        ))
        .await?;
        // The sweeper's search: awards whose expiry is still to be recorded.
        conn.execute_unprepared(
            "CREATE INDEX awards_expiry_pending ON awards (expires_at) \
             WHERE expiry_recorded = FALSE AND revoked = FALSE AND expires_at IS NOT NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let conn = m.get_connection();
        conn.execute_unprepared("DROP INDEX awards_expiry_pending")
            .await?;
        m.alter_table(
            Table::alter()
                .table(Awards::Table)
                .drop_column(Awards::ExpiryRecorded)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(RelayLease::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Outbox::Table).to_owned())
            .await
    }
}
