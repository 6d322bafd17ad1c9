use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orgs {
    Table,
    CatalogueVersion,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Moves, in the same transaction, with every change to the org's
        // badges, groups, images, owners, claims or activation. A process that
        // holds the catalogue in memory reads it with each call and reloads
        // when it moved.
        m.alter_table(
            Table::alter()
                .table(Orgs::Table)
                .add_column(big_integer(Orgs::CatalogueVersion).default(1))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Orgs::Table)
                .drop_column(Orgs::CatalogueVersion)
                .to_owned(),
        )
        .await
    }
}
