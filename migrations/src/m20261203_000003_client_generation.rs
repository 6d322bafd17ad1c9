use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiClients {
    Table,
    Generation,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Moves whenever the client's secret, rights or state change. OAuth
        // tokens carry it, so a change ends every token the client had.
        m.alter_table(
            Table::alter()
                .table(ApiClients::Table)
                .add_column(big_integer(ApiClients::Generation).default(1))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(ApiClients::Table)
                .drop_column(ApiClients::Generation)
                .to_owned(),
        )
        .await
    }
}
