//! What upstream's badge carries beside what this service acts on (tags,
//! benefits, the default till, the constraints), and the values of the org's
//! custom fields: their checks (BEHAVIOUR.md §9.1, §9.2).

use std::collections::BTreeMap;

use super::Problem;
use super::badge::Extras;
use super::constraints::{self, Constraint, Level};
use super::custom_fields::CustomField;
use super::shape::{MAX_EXTRAS_BYTES, MAX_KEY_BYTES, MAX_VALUE_BYTES, text};

/// Tags of one badge.
pub const MAX_TAGS: usize = 16;
/// Custom field values of one badge.
pub const MAX_CUSTOM_FIELDS: usize = 16;
/// Benefits of one badge.
pub const MAX_BENEFITS: usize = 8;
/// Constraints of each level.
pub const MAX_CONSTRAINTS: usize = 8;

/// Checks what a badge keeps as given and reads its constraints; every
/// problem into `problems`.
pub fn check(e: Extras<serde_json::Value>, problems: &mut Vec<Problem>) -> Extras {
    let bytes = serde_json::to_vec(&e).map_or(usize::MAX, |b| b.len());
    let Extras {
        tags,
        custom_fields,
        benefits,
        default_till_id,
        customer_constraints,
        badge_constraints,
    } = e;
    if tags.len() > MAX_TAGS {
        problems.push(Problem::invalid(
            "tags",
            format!("a badge may have at most {MAX_TAGS} tags"),
        ));
    }
    for (i, t) in tags.iter().take(MAX_TAGS).enumerate() {
        text(
            &format!("tags[{i}].name"),
            &t.name,
            true,
            MAX_KEY_BYTES,
            problems,
        );
        text(
            &format!("tags[{i}].value"),
            &t.value,
            false,
            MAX_VALUE_BYTES,
            problems,
        );
    }
    if custom_fields.len() > MAX_CUSTOM_FIELDS {
        problems.push(Problem::invalid(
            "customFields",
            format!("a badge may have at most {MAX_CUSTOM_FIELDS} custom field values"),
        ));
    }
    for (name, value) in custom_fields.iter().take(MAX_CUSTOM_FIELDS) {
        let at = format!("customFields.{name}");
        text(&at, name, true, MAX_KEY_BYTES, problems);
        text(&at, value, false, MAX_VALUE_BYTES, problems);
    }
    if benefits.len() > MAX_BENEFITS {
        problems.push(Problem::invalid(
            "benefits",
            format!("a badge may have at most {MAX_BENEFITS} benefits"),
        ));
    }
    if bytes > MAX_EXTRAS_BYTES {
        problems.push(Problem::invalid(
            "benefits",
            format!(
                "tags, customFields, benefits and the constraints take at most \
                 {MAX_EXTRAS_BYTES} bytes of JSON together"
            ),
        ));
    }
    if let Some(i) = benefits.iter().position(|b| !b.is_object()) {
        problems.push(Problem::invalid(
            &format!("benefits[{i}]"),
            "a benefit is a JSON object",
        ));
    }
    if default_till_id.is_some_and(|t| t < 0) {
        problems.push(Problem::invalid(
            "defaultTillId",
            "defaultTillId must be 0 or more",
        ));
    }
    let customer_constraints = constraints(Level::Customer, &customer_constraints, problems);
    let badge_constraints = constraints(Level::Badge, &badge_constraints, problems);
    Extras {
        tags,
        custom_fields,
        benefits,
        default_till_id,
        customer_constraints,
        badge_constraints,
    }
}

/// A level's constraints (BEHAVIOUR.md §11), at most [`MAX_CONSTRAINTS`].
fn constraints(
    level: Level,
    list: &[serde_json::Value],
    problems: &mut Vec<Problem>,
) -> Vec<Constraint> {
    if list.len() > MAX_CONSTRAINTS {
        let field = level.field();
        problems.push(Problem::invalid(
            field,
            format!("{field} holds at most {MAX_CONSTRAINTS} constraints"),
        ));
        return Vec::new();
    }
    constraints::read(level, list, problems)
}

/// A badge's custom field values checked against the org's definitions:
/// each names an active field and parses as its type; a mandatory field
/// that is missing takes its default, or is a problem. The values to store.
pub fn custom_values(
    values: &BTreeMap<String, String>,
    fields: &[CustomField],
) -> Result<BTreeMap<String, String>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut out = BTreeMap::new();
    for (name, value) in values {
        let at = format!("customFields.{name}");
        match fields.iter().find(|f| f.is_active && &f.name == name) {
            None => problems.push(Problem::invalid(
                &at,
                format!("the org has no active custom field named {name:?}"),
            )),
            Some(f) if value.len() > MAX_VALUE_BYTES || !f.data_type.accepts(value) => {
                problems.push(Problem::invalid(
                    &at,
                    format!(
                        "{name} must be {} (at most {MAX_VALUE_BYTES} bytes)",
                        f.data_type.describe()
                    ),
                ));
            }
            Some(_) => {
                out.insert(name.clone(), value.clone());
            }
        }
    }
    for f in fields.iter().filter(|f| f.is_active && f.is_mandatory) {
        if values.contains_key(&f.name) {
            continue;
        }
        match &f.default_value {
            Some(d) => {
                out.insert(f.name.clone(), d.clone());
            }
            None => problems.push(Problem::invalid(
                &format!("customFields.{}", f.name),
                format!("{} is mandatory", f.name),
            )),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Micros;
    use crate::domain::badge::Tag;
    use crate::domain::enums::DataType;

    fn field(
        name: &str,
        data_type: DataType,
        mandatory: bool,
        default: Option<&str>,
    ) -> CustomField {
        CustomField {
            id: "0".repeat(24),
            org_id: 1,
            name: name.into(),
            data_type,
            is_mandatory: mandatory,
            default_value: default.map(Into::into),
            is_active: true,
            created_on: Micros(0),
            created_by: None,
            last_updated_on: Micros(0),
            last_updated_by: None,
        }
    }

    #[test]
    fn custom_values_parse_as_their_type_and_mandatory_ones_take_defaults() {
        let fields = [
            field("tier", DataType::Integer, false, None),
            field("vip", DataType::Boolean, true, Some("false")),
            field("launch", DataType::Date, false, None),
            field("owner", DataType::String, true, None),
        ];
        let values = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let ok = custom_values(
            &values(&[("tier", "3"), ("launch", "2026-01-31"), ("owner", "x")]),
            &fields,
        )
        .unwrap();
        assert_eq!(ok.get("vip").map(String::as_str), Some("false"));
        let refs = |r: Result<_, Vec<Problem>>| -> Vec<String> {
            r.unwrap_err()
                .into_iter()
                .filter_map(|p| p.reference)
                .collect()
        };
        assert_eq!(
            refs(custom_values(
                &values(&[("tier", "three"), ("nope", "1")]),
                &fields
            )),
            [
                "customFields.nope",
                "customFields.tier",
                "customFields.owner"
            ]
        );
        assert_eq!(
            refs(custom_values(
                &values(&[("owner", "x"), ("launch", "someday")]),
                &fields
            )),
            ["customFields.launch"]
        );
    }

    #[test]
    fn constraints_are_read_and_the_rest_kept() {
        let mut e: Extras<serde_json::Value> = Extras {
            tags: vec![Tag {
                name: "k".into(),
                value: "v".into(),
            }],
            customer_constraints: vec![
                serde_json::json!({"constraintType": "CUSTOMER_BADGE_NO_LIMIT"}),
            ],
            badge_constraints: vec![
                serde_json::json!({"constraintType": "BADGE_FIXED_VALUE", "maxEarnLimit": 3}),
            ],
            ..Default::default()
        };
        let mut problems = Vec::new();
        let read = check(e.clone(), &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(read.tags, e.tags);
        assert_eq!(
            read.badge_constraints[0].kind,
            crate::domain::constraints::Kind::FixedValue { max: 3 }
        );
        e.badge_constraints = vec![serde_json::json!({"constraintType": "BADGE_FIXED_VALUE"})];
        e.benefits = vec![serde_json::json!(1)];
        check(e, &mut problems);
        let refs: Vec<_> = problems
            .iter()
            .filter_map(|p| p.reference.as_deref())
            .collect();
        assert_eq!(refs, ["benefits[0]", "badgeConstraints[0].maxEarnLimit"]);
    }
}
