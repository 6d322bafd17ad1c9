use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrolments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub badge_id: String,
    pub customer_id: i64,
    pub issued_at: i64,
    pub expires_at: Option<i64>,
    pub revoked: bool,
    pub request_id: Option<String>,
    pub event_at: Option<i64>,
    /// The enrolment's public id (24 hex characters).
    pub issued_badge_id: Option<String>,
    pub revoked_at: Option<i64>,
    pub triggered_by_owner: Option<String>,
    pub triggered_by_reference: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
