use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Awards {
    Table,
    OrgId,
    BadgeId,
    EventAt,
}

const INDEX: &str = "ix_awards_badge_event";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Earn limits for all customers together (BEHAVIOUR.md §11) count a
        // badge's awards in a span of event times: this index serves that
        // count. Per-customer limits use `ix_awards_customer_badge`.
        m.create_index(
            Index::create()
                .name(INDEX)
                .table(Awards::Table)
                .col(Awards::OrgId)
                .col(Awards::BadgeId)
                .col(Awards::EventAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name(INDEX).table(Awards::Table).to_owned())
            .await
    }
}
