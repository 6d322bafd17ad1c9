use sea_orm_migration::prelude::*;

use crate::dialect::Dialect;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Enrolments {
    Table,
    IssuedBadgeId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // An enrolment's public id (24 hex characters, like every other id
        // on the wire), shown in the detail call's history. Rows written
        // before this migration get a random one; every write sets it.
        m.alter_table(
            Table::alter()
                .table(Enrolments::Table)
                .add_column(
                    ColumnDef::new(Enrolments::IssuedBadgeId)
                        .string_len(24)
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        let fill = format!(
            "UPDATE enrolments SET issued_badge_id = {} WHERE issued_badge_id IS NULL",
            Dialect::of(m)?.random_object_id("id")
        );
        m.get_connection().execute_unprepared(&fill).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Enrolments::Table)
                .drop_column(Enrolments::IssuedBadgeId)
                .to_owned(),
        )
        .await
    }
}
