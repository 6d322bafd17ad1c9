use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "badges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    /// `name` lower-cased in Rust (Unicode-aware), for the substring filter.
    pub name_lower: String,
    pub description: String,
    pub earn_type: String,
    pub active: bool,
    pub starts_on: i64,
    pub expires_on: i64,
    pub created_on: i64,
    pub last_updated_on: i64,
    pub group_id: Option<String>,
    pub rank: Option<i32>,
    /// JSON expiry rule for awards.
    pub earned_badge_expiry: String,
    /// JSON expiry rule for enrolments.
    pub issued_badge_expiry: String,
    pub created_by: Option<i32>,
    pub last_updated_by: Option<i32>,
    /// JSON: upstream's fields kept as given (`domain::badge::Extras`).
    pub extras: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
