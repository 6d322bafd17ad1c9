//! A custom field's row, written and read back: by the API's writes
//! (`Tx`), its reads, and the seed alike.

use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

use super::badges::stored;
use super::entity::custom_field;
use crate::domain::Micros;
use crate::domain::custom_fields::{CustomField, DataType};
use crate::error::Result;

pub(super) fn of(m: custom_field::Model) -> Result<CustomField> {
    Ok(CustomField {
        data_type: stored(DataType::parse(&m.data_type), &m.data_type)?,
        id: m.id,
        org_id: m.org_id,
        name: m.name,
        is_mandatory: m.is_mandatory,
        default_value: m.default_value,
        is_active: m.is_active,
        created_on: Micros(m.created_on),
        created_by: m.created_by,
        last_updated_on: Micros(m.last_updated_on),
        last_updated_by: m.last_updated_by,
    })
}

pub(super) fn model(f: &CustomField) -> custom_field::ActiveModel {
    custom_field::ActiveModel {
        id: Set(f.id.clone()),
        org_id: Set(f.org_id),
        name: Set(f.name.clone()),
        data_type: Set(f.data_type.as_str().to_owned()),
        is_mandatory: Set(f.is_mandatory),
        default_value: Set(f.default_value.clone()),
        is_active: Set(f.is_active),
        created_on: Set(f.created_on.0),
        created_by: Set(f.created_by),
        last_updated_on: Set(f.last_updated_on.0),
        last_updated_by: Set(f.last_updated_by),
    }
}

/// Inserts a custom field's row (the seed's path; the API's is
/// `Tx::insert_custom_field`, which tells a taken name).
pub(super) async fn insert(conn: &impl ConnectionTrait, f: &CustomField) -> Result<()> {
    custom_field::Entity::insert(model(f))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}
