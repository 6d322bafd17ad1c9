use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Enrolments {
    Table,
    RevokedAt,
    TriggeredByOwner,
    TriggeredByReference,
}

#[derive(DeriveIden)]
enum Awards {
    Table,
    RevokedAt,
}

/// Adds one nullable column (SQLite alters one column per statement).
async fn add(m: &SchemaManager<'_>, table: impl IntoIden, column: ColumnDef) -> Result<(), DbErr> {
    m.alter_table(Table::alter().table(table).add_column(column).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // When an enrolment or an award was revoked (NULL when it is not,
        // and for rows revoked before this migration, whose time was not
        // kept), and the module that enrolled a customer (upstream's
        // `triggeredBy` of the enrol call), which the detail call shows.
        // Nullable columns without defaults: adding them rewrites no row
        // and takes no lock beyond the catalogue's, on either database.
        add(
            m,
            Enrolments::Table,
            big_integer_null(Enrolments::RevokedAt),
        )
        .await?;
        add(
            m,
            Enrolments::Table,
            string_null(Enrolments::TriggeredByOwner),
        )
        .await?;
        add(
            m,
            Enrolments::Table,
            string_null(Enrolments::TriggeredByReference),
        )
        .await?;
        add(m, Awards::Table, big_integer_null(Awards::RevokedAt)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in [
            (Awards::Table.into_iden(), Awards::RevokedAt.into_iden()),
            (
                Enrolments::Table.into_iden(),
                Enrolments::TriggeredByReference.into_iden(),
            ),
            (
                Enrolments::Table.into_iden(),
                Enrolments::TriggeredByOwner.into_iden(),
            ),
            (
                Enrolments::Table.into_iden(),
                Enrolments::RevokedAt.into_iden(),
            ),
        ] {
            m.alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
