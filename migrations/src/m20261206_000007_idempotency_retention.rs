use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    CreatedAt,
}

const INDEX: &str = "idx_idempotency_keys_created_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Keys are kept for a retention period and then deleted oldest
        // first by every process's housekeeping; this serves that delete.
        m.create_index(
            Index::create()
                .name(INDEX)
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(INDEX)
                .table(IdempotencyKeys::Table)
                .to_owned(),
        )
        .await
    }
}
