use sea_orm::entity::prelude::*;

/// A share of a badge's counts: writes add to one of a few slots per
/// badge, reads sum them.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "badge_counts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub badge_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub slot: i16,
    /// Enrolments that are not revoked.
    pub issued: i64,
    /// Awards that are not revoked.
    pub earned: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
