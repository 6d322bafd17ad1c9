use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    OrgId,
    Kind,
    RequestId,
    Fingerprint,
    Response,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Enrolments {
    Table,
    EventAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // A write that carries a requestId first claims its key here. The
        // primary key makes a concurrent duplicate wait for, then fail
        // against, the first; the stored answer is what retries get back.
        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(integer(IdempotencyKeys::OrgId))
                .col(string_len(IdempotencyKeys::Kind, 16))
                .col(string_len(IdempotencyKeys::RequestId, 128))
                .col(char_len(IdempotencyKeys::Fingerprint, 64))
                .col(text(IdempotencyKeys::Response))
                .col(big_integer(IdempotencyKeys::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(IdempotencyKeys::OrgId)
                        .col(IdempotencyKeys::Kind)
                        .col(IdempotencyKeys::RequestId),
                )
                .to_owned(),
        )
        .await?;
        // When the enrolment's event happened, as the caller said.
        m.alter_table(
            Table::alter()
                .table(Enrolments::Table)
                .add_column(big_integer_null(Enrolments::EventAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Enrolments::Table)
                .drop_column(Enrolments::EventAt)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await
    }
}
