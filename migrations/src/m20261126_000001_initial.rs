use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orgs {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiClients {
    Table,
    Id,
    OrgId,
    Username,
    SecretHash,
    CanRead,
    CanWrite,
    Disabled,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    OrgId,
    CustomerId,
    Email,
    Mobile,
    ExternalId,
    CardNumber,
}

#[derive(DeriveIden)]
enum BadgeGroups {
    Table,
    Id,
    OrgId,
    Name,
    Rank,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Badges {
    Table,
    Id,
    OrgId,
    Name,
    NameLower,
    Description,
    EarnType,
    Active,
    StartsOn,
    ExpiresOn,
    CreatedOn,
    LastUpdatedOn,
    GroupId,
    Rank,
    EarnedBadgeExpiry,
    IssuedBadgeExpiry,
}

#[derive(DeriveIden)]
enum BadgeImages {
    Table,
    Id,
    BadgeId,
    Name,
    FileSvcHandle,
    Url,
    Tag,
}

#[derive(DeriveIden)]
enum BadgeOwners {
    Table,
    BadgeId,
    Owner,
    Position,
}

#[derive(DeriveIden)]
enum BadgeClaims {
    Table,
    Id,
    BadgeId,
    OwnerType,
    ReferenceId,
    IsActive,
}

#[derive(DeriveIden)]
enum Enrolments {
    Table,
    Id,
    OrgId,
    BadgeId,
    CustomerId,
    IssuedAt,
    ExpiresAt,
    Revoked,
    RequestId,
}

#[derive(DeriveIden)]
enum Awards {
    Table,
    Id,
    EarnedBadgeId,
    OrgId,
    BadgeId,
    CustomerId,
    AwardedAt,
    EventAt,
    ExpiresAt,
    Revoked,
    RequestId,
    TriggeredByOwner,
    TriggeredByReference,
}

fn index(name: &str) -> IndexCreateStatement {
    Index::create().name(name).to_owned()
}

fn fk_org<T: IntoIden + 'static>(table: T, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, Alias::new("org_id"))
        .to(Orgs::Table, Orgs::Id)
        .to_owned()
}

fn fk_badge<T: IntoIden + 'static>(table: T, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, Alias::new("badge_id"))
        .to(Badges::Table, Badges::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn fk_customer<T: IntoIden + 'static>(table: T, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from_tbl(table)
        .from_col(Alias::new("org_id"))
        .from_col(Alias::new("customer_id"))
        .to_tbl(Customers::Table)
        .to_col(Customers::OrgId)
        .to_col(Customers::CustomerId)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Orgs::Table)
                .col(pk_auto(Orgs::Id))
                .col(string_uniq(Orgs::Name))
                .col(big_integer(Orgs::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ApiClients::Table)
                .col(pk_auto(ApiClients::Id))
                .col(integer(ApiClients::OrgId))
                .col(string_uniq(ApiClients::Username))
                .col(string(ApiClients::SecretHash))
                .col(boolean(ApiClients::CanRead))
                .col(boolean(ApiClients::CanWrite))
                .col(boolean(ApiClients::Disabled).default(false))
                .col(big_integer(ApiClients::CreatedAt))
                .foreign_key(&mut fk_org(ApiClients::Table, "fk_api_clients_org"))
                .to_owned(),
        )
        .await?;

        // A customer is addressed by (org, id); each identifier is unique in its
        // org. Emails are stored lower-cased, so the unique index is
        // case-insensitive and lookups need no function index.
        m.create_table(
            Table::create()
                .table(Customers::Table)
                .col(integer(Customers::OrgId))
                .col(big_integer(Customers::CustomerId))
                .col(string_null(Customers::Email))
                .col(string_null(Customers::Mobile))
                .col(string_null(Customers::ExternalId))
                .col(string_null(Customers::CardNumber))
                .primary_key(
                    Index::create()
                        .col(Customers::OrgId)
                        .col(Customers::CustomerId),
                )
                .foreign_key(&mut fk_org(Customers::Table, "fk_customers_org"))
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("ux_customers_email", Customers::Email),
            ("ux_customers_mobile", Customers::Mobile),
            ("ux_customers_external_id", Customers::ExternalId),
            ("ux_customers_card_number", Customers::CardNumber),
        ] {
            m.create_index(
                index(name)
                    .table(Customers::Table)
                    .col(Customers::OrgId)
                    .col(col)
                    .unique()
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(BadgeGroups::Table)
                .col(char_len(BadgeGroups::Id, 24).primary_key())
                .col(integer(BadgeGroups::OrgId))
                .col(string(BadgeGroups::Name))
                .col(integer(BadgeGroups::Rank))
                .col(big_integer(BadgeGroups::CreatedAt))
                .foreign_key(&mut fk_org(BadgeGroups::Table, "fk_badge_groups_org"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ux_badge_groups_org_name")
                .table(BadgeGroups::Table)
                .col(BadgeGroups::OrgId)
                .col(BadgeGroups::Name)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Badges::Table)
                .col(char_len(Badges::Id, 24).primary_key())
                .col(integer(Badges::OrgId))
                .col(string(Badges::Name))
                .col(string(Badges::NameLower))
                .col(text(Badges::Description))
                .col(string_len(Badges::EarnType, 16))
                .col(boolean(Badges::Active))
                .col(big_integer(Badges::StartsOn))
                .col(big_integer(Badges::ExpiresOn))
                .col(big_integer(Badges::CreatedOn))
                .col(big_integer(Badges::LastUpdatedOn))
                .col(char_len_null(Badges::GroupId, 24))
                .col(integer_null(Badges::Rank))
                .col(text(Badges::EarnedBadgeExpiry))
                .col(text(Badges::IssuedBadgeExpiry))
                .foreign_key(&mut fk_org(Badges::Table, "fk_badges_org"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_badges_group")
                        .from(Badges::Table, Badges::GroupId)
                        .to(BadgeGroups::Table, BadgeGroups::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ux_badges_org_name")
                .table(Badges::Table)
                .col(Badges::OrgId)
                .col(Badges::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        // One index per filter and sort key of the list call, each led by the
        // org so that a tenant's scan never touches another tenant's rows, and
        // ended by the id, the tie-breaker of every sort.
        for (name, col) in [
            ("ix_badges_org_expires_on", Badges::ExpiresOn),
            ("ix_badges_org_starts_on", Badges::StartsOn),
            ("ix_badges_org_last_updated_on", Badges::LastUpdatedOn),
            ("ix_badges_org_earn_type", Badges::EarnType),
            ("ix_badges_org_active", Badges::Active),
            ("ix_badges_org_group", Badges::GroupId),
            ("ix_badges_org_name_lower", Badges::NameLower),
        ] {
            m.create_index(
                index(name)
                    .table(Badges::Table)
                    .col(Badges::OrgId)
                    .col(col)
                    .col(Badges::Id)
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(BadgeImages::Table)
                .col(pk_auto(BadgeImages::Id))
                .col(char_len(BadgeImages::BadgeId, 24))
                .col(string(BadgeImages::Name))
                .col(string(BadgeImages::FileSvcHandle))
                .col(text(BadgeImages::Url))
                .col(string(BadgeImages::Tag))
                .foreign_key(&mut fk_badge(BadgeImages::Table, "fk_badge_images_badge"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ix_badge_images_badge")
                .table(BadgeImages::Table)
                .col(BadgeImages::BadgeId)
                .col(BadgeImages::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(BadgeOwners::Table)
                .col(char_len(BadgeOwners::BadgeId, 24))
                .col(string_len(BadgeOwners::Owner, 32))
                .col(integer(BadgeOwners::Position))
                .primary_key(
                    Index::create()
                        .col(BadgeOwners::BadgeId)
                        .col(BadgeOwners::Owner),
                )
                .foreign_key(&mut fk_badge(BadgeOwners::Table, "fk_badge_owners_badge"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ix_badge_owners_owner")
                .table(BadgeOwners::Table)
                .col(BadgeOwners::Owner)
                .col(BadgeOwners::BadgeId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(BadgeClaims::Table)
                .col(pk_auto(BadgeClaims::Id))
                .col(char_len(BadgeClaims::BadgeId, 24))
                .col(string_len(BadgeClaims::OwnerType, 32))
                .col(string(BadgeClaims::ReferenceId))
                .col(boolean(BadgeClaims::IsActive))
                .foreign_key(&mut fk_badge(BadgeClaims::Table, "fk_badge_claims_badge"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ux_badge_claims_badge_owner_ref")
                .table(BadgeClaims::Table)
                .col(BadgeClaims::BadgeId)
                .col(BadgeClaims::OwnerType)
                .col(BadgeClaims::ReferenceId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ix_badge_claims_owner_active")
                .table(BadgeClaims::Table)
                .col(BadgeClaims::OwnerType)
                .col(BadgeClaims::IsActive)
                .col(BadgeClaims::BadgeId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Enrolments::Table)
                .col(pk_auto(Enrolments::Id))
                .col(integer(Enrolments::OrgId))
                .col(char_len(Enrolments::BadgeId, 24))
                .col(big_integer(Enrolments::CustomerId))
                .col(big_integer(Enrolments::IssuedAt))
                .col(big_integer_null(Enrolments::ExpiresAt))
                .col(boolean(Enrolments::Revoked).default(false))
                .col(string_null(Enrolments::RequestId))
                .foreign_key(&mut fk_badge(Enrolments::Table, "fk_enrolments_badge"))
                .foreign_key(&mut fk_customer(
                    Enrolments::Table,
                    "fk_enrolments_customer",
                ))
                .to_owned(),
        )
        .await?;
        // Serves the per-customer aggregation of the list call, latest first.
        m.create_index(
            index("ix_enrolments_customer_badge")
                .table(Enrolments::Table)
                .col(Enrolments::OrgId)
                .col(Enrolments::CustomerId)
                .col(Enrolments::BadgeId)
                .col(Enrolments::IssuedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Awards::Table)
                .col(pk_auto(Awards::Id))
                .col(char_len_uniq(Awards::EarnedBadgeId, 24))
                .col(integer(Awards::OrgId))
                .col(char_len(Awards::BadgeId, 24))
                .col(big_integer(Awards::CustomerId))
                .col(big_integer(Awards::AwardedAt))
                .col(big_integer(Awards::EventAt))
                .col(big_integer_null(Awards::ExpiresAt))
                .col(boolean(Awards::Revoked).default(false))
                .col(string_null(Awards::RequestId))
                .col(string_len_null(Awards::TriggeredByOwner, 32))
                .col(string_null(Awards::TriggeredByReference))
                .foreign_key(&mut fk_badge(Awards::Table, "fk_awards_badge"))
                .foreign_key(&mut fk_customer(Awards::Table, "fk_awards_customer"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("ix_awards_customer_badge")
                .table(Awards::Table)
                .col(Awards::OrgId)
                .col(Awards::CustomerId)
                .col(Awards::BadgeId)
                .col(Awards::AwardedAt)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Awards::Table.into_iden(),
            Enrolments::Table.into_iden(),
            BadgeClaims::Table.into_iden(),
            BadgeOwners::Table.into_iden(),
            BadgeImages::Table.into_iden(),
            Badges::Table.into_iden(),
            BadgeGroups::Table.into_iden(),
            Customers::Table.into_iden(),
            ApiClients::Table.into_iden(),
            Orgs::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
