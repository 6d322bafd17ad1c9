use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Badges {
    Table,
    CreatedBy,
    LastUpdatedBy,
    Extras,
}

#[derive(DeriveIden)]
enum BadgeGroups {
    Table,
    CreatedBy,
    LastUpdatedBy,
    LastUpdatedOn,
}

#[derive(DeriveIden)]
enum CustomFields {
    Table,
    Id,
    OrgId,
    Name,
    DataType,
    IsMandatory,
    DefaultValue,
    IsActive,
    CreatedOn,
    CreatedBy,
    LastUpdatedOn,
    LastUpdatedBy,
}

#[derive(DeriveIden)]
enum BadgeCounts {
    Table,
    BadgeId,
    Slot,
    Issued,
    Earned,
}

#[derive(DeriveIden)]
enum Orgs {
    Table,
    Id,
}

/// Adds one nullable column (SQLite alters one column per statement).
async fn add(m: &SchemaManager<'_>, table: impl IntoIden, column: ColumnDef) -> Result<(), DbErr> {
    m.alter_table(Table::alter().table(table).add_column(column).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Who wrote a badge or group (the API client's id; NULL for rows
        // written before this migration, by the seed or the demo), and the
        // fields of upstream's badge this service keeps as given (tags,
        // customFields, benefits, defaultTillId, the constraints) as one
        // JSON object.
        add(m, Badges::Table, integer_null(Badges::CreatedBy)).await?;
        add(m, Badges::Table, integer_null(Badges::LastUpdatedBy)).await?;
        add(
            m,
            Badges::Table,
            ColumnDef::new(Badges::Extras)
                .text()
                .not_null()
                .default("{}")
                .to_owned(),
        )
        .await?;
        add(m, BadgeGroups::Table, integer_null(BadgeGroups::CreatedBy)).await?;
        add(
            m,
            BadgeGroups::Table,
            integer_null(BadgeGroups::LastUpdatedBy),
        )
        .await?;
        add(
            m,
            BadgeGroups::Table,
            big_integer_null(BadgeGroups::LastUpdatedOn),
        )
        .await?;

        // An org's custom field definitions: badges carry values of them.
        m.create_table(
            Table::create()
                .table(CustomFields::Table)
                .col(char_len(CustomFields::Id, 24).primary_key())
                .col(integer(CustomFields::OrgId))
                .col(string(CustomFields::Name))
                .col(string(CustomFields::DataType))
                .col(boolean(CustomFields::IsMandatory))
                .col(string_null(CustomFields::DefaultValue))
                .col(boolean(CustomFields::IsActive))
                .col(big_integer(CustomFields::CreatedOn))
                .col(integer_null(CustomFields::CreatedBy))
                .col(big_integer(CustomFields::LastUpdatedOn))
                .col(integer_null(CustomFields::LastUpdatedBy))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_custom_fields_org")
                        .from(CustomFields::Table, CustomFields::OrgId)
                        .to(Orgs::Table, Orgs::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_custom_fields_org_name")
                .table(CustomFields::Table)
                .col(CustomFields::OrgId)
                .col(CustomFields::Name)
                .unique()
                .to_owned(),
        )
        .await?;

        // A badge's enrolments and awards that are not revoked, counted in
        // a few rows (slots) per badge that concurrent writes spread over,
        // summed on read. Rows of badges that have awards or enrolments
        // already are filled here, in slot 0.
        m.create_table(
            Table::create()
                .table(BadgeCounts::Table)
                .col(char_len(BadgeCounts::BadgeId, 24))
                .col(small_integer(BadgeCounts::Slot))
                .col(big_integer(BadgeCounts::Issued))
                .col(big_integer(BadgeCounts::Earned))
                .primary_key(
                    Index::create()
                        .col(BadgeCounts::BadgeId)
                        .col(BadgeCounts::Slot),
                )
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO badge_counts (badge_id, slot, issued, earned) \
                 SELECT b.id, 0, COALESCE(e.n, 0), COALESCE(a.n, 0) FROM badges b \
                 LEFT JOIN (SELECT badge_id, COUNT(*) AS n FROM enrolments \
                   WHERE revoked = FALSE GROUP BY badge_id) e ON e.badge_id = b.id \
                 LEFT JOIN (SELECT badge_id, COUNT(*) AS n FROM awards \
                   WHERE revoked = FALSE GROUP BY badge_id) a ON a.badge_id = b.id",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(BadgeCounts::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(CustomFields::Table).to_owned())
            .await?;
        for (table, column) in [
            (
                BadgeGroups::Table.into_iden(),
                BadgeGroups::LastUpdatedOn.into_iden(),
            ),
            (
                BadgeGroups::Table.into_iden(),
                BadgeGroups::LastUpdatedBy.into_iden(),
            ),
            (
                BadgeGroups::Table.into_iden(),
                BadgeGroups::CreatedBy.into_iden(),
            ),
            (Badges::Table.into_iden(), Badges::Extras.into_iden()),
            (Badges::Table.into_iden(), Badges::LastUpdatedBy.into_iden()),
            (Badges::Table.into_iden(), Badges::CreatedBy.into_iden()),
        ] {
            m.alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
