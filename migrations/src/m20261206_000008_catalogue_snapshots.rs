use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CatalogueSnapshots {
    Table,
    OrgId,
    Version,
    Format,
    Data,
}

#[derive(DeriveIden)]
enum Orgs {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Each org's catalogue index, encoded, as of `version` of its
        // catalogue: read by key when a process loads the org. A row whose
        // version is behind the org's (a writer that does not keep it, such
        // as a previous release) is rebuilt by the next reader.
        m.create_table(
            Table::create()
                .table(CatalogueSnapshots::Table)
                .col(integer(CatalogueSnapshots::OrgId).primary_key())
                .col(big_integer(CatalogueSnapshots::Version))
                .col(integer(CatalogueSnapshots::Format))
                .col(blob(CatalogueSnapshots::Data))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_catalogue_snapshots_org")
                        .from(CatalogueSnapshots::Table, CatalogueSnapshots::OrgId)
                        .to(Orgs::Table, Orgs::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(CatalogueSnapshots::Table).to_owned())
            .await
    }
}
