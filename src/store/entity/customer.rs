use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_id: i64,
    /// Stored lower-cased: emails match case-insensitively.
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub external_id: Option<String>,
    pub card_number: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
