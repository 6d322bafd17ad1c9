use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub event_id: String,
    pub org_id: i32,
    /// The event's protobuf message name, e.g. `capillary.badges.v1.BadgeEarned`.
    pub event_type: String,
    pub customer_id: Option<i64>,
    /// The event, protobuf-encoded.
    pub payload: Vec<u8>,
    pub recorded_at: i64,
    pub published_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
