//! An org's custom field definitions (BEHAVIOUR.md §9.2): badges carry
//! values of them (checked by `extras::custom_values`).

use super::Micros;
use super::Problem;
use super::fields::Field;
use super::shape::{MAX_KEY_BYTES, MAX_VALUE_BYTES, text};

pub use super::enums::DataType;

/// A custom field of an org.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomField {
    pub id: String,
    pub org_id: i32,
    pub name: String,
    pub data_type: DataType,
    pub is_mandatory: bool,
    pub default_value: Option<String>,
    pub is_active: bool,
    pub created_on: Micros,
    pub created_by: Option<i32>,
    pub last_updated_on: Micros,
    pub last_updated_by: Option<i32>,
}

/// A custom field as a caller sent it (create, or update with `is_active`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomFieldRequest {
    pub name: String,
    pub data_type: Field<DataType>,
    pub is_mandatory: bool,
    pub default_value: Option<String>,
    /// Update only; create makes an active field.
    pub is_active: Option<bool>,
}

/// A valid definition's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomFieldCommand {
    pub name: String,
    pub data_type: DataType,
    pub is_mandatory: bool,
    pub default_value: Option<String>,
    pub is_active: Option<bool>,
}

pub fn validate(r: CustomFieldRequest) -> Result<CustomFieldCommand, Vec<Problem>> {
    let CustomFieldRequest {
        name,
        data_type,
        is_mandatory,
        default_value,
        is_active,
    } = r;
    let mut problems = Vec::new();
    text("name", &name, true, MAX_KEY_BYTES, &mut problems);
    let data_type = data_type.map_err(|p| problems.push(p)).ok();
    if let (Some(t), Some(d)) = (data_type, &default_value)
        && (d.len() > MAX_VALUE_BYTES || !t.accepts(d))
    {
        problems.push(Problem::invalid(
            "defaultValue",
            format!("defaultValue must be a value of {t}"),
        ));
    }
    match (problems.is_empty(), data_type) {
        (true, Some(data_type)) => Ok(CustomFieldCommand {
            name,
            data_type,
            is_mandatory,
            default_value,
            is_active,
        }),
        _ => Err(problems),
    }
}

impl DataType {
    /// Whether `value` is a value of this type.
    pub fn accepts(self, value: &str) -> bool {
        let v = value.trim();
        match self {
            DataType::Integer => v.parse::<i64>().is_ok(),
            DataType::Boolean => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
            DataType::Date => {
                chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok()
                    || Micros::parse_iso(v).is_some()
            }
            DataType::String => !value.contains('\0'),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            DataType::Integer => "an integer",
            DataType::Boolean => "true or false",
            DataType::Date => "a date (YYYY-MM-DD or ISO 8601)",
            DataType::String => "text",
        }
    }
}
