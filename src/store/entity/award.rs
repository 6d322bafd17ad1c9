use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "awards")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub earned_badge_id: String,
    pub badge_id: String,
    pub customer_id: i64,
    pub awarded_at: i64,
    pub event_at: i64,
    pub expires_at: Option<i64>,
    pub revoked: bool,
    pub request_id: Option<String>,
    pub triggered_by_owner: Option<String>,
    pub triggered_by_reference: Option<String>,
    /// Whether its BadgeAwardExpired event is recorded (in the outbox).
    pub expiry_recorded: bool,
    pub revoked_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
