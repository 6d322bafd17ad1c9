use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_clients")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub org_id: i32,
    pub username: String,
    /// argon2id PHC string; never the secret itself.
    pub secret_hash: String,
    pub can_read: bool,
    pub can_write: bool,
    pub disabled: bool,
    pub created_at: i64,
    /// Moves on every change of secret, rights or state; tokens carry it.
    pub generation: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
