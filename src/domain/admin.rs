//! The write side: commands of the admin API, their validation with the
//! upstream error codes, and the expiry rules of awards and enrolments.

use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};

use super::enums::{EarnType, Owner};
use super::list::{Claim, Image, is_object_id};
use super::shape::{
    MAX_CLAIMS, MAX_DESCRIPTION_BYTES, MAX_IDENTIFIER_BYTES, MAX_IMAGE_FIELD_BYTES, MAX_IMAGES,
    MAX_NAME_BYTES, MAX_REFERENCE_BYTES, MAX_REQUEST_ID_BYTES, MAX_URL_BYTES, text,
};
use super::{Micros, Problem};

pub const CODE_OWNER_INVALID: u32 = 714;
pub const CODE_START_AFTER_EXPIRY: u32 = 720;
pub const CODE_START_IN_PAST: u32 = 722;
pub const CODE_BADGE_NAME_TAKEN: u32 = 725;
pub const CODE_NO_OWNER: u32 = 728;
pub const CODE_GROUP_RANK_REQUIRED: u32 = 732;
pub const CODE_GROUP_NAME_TAKEN: u32 = 733;
pub const CODE_UNKNOWN_CLAIM: u32 = 737;
pub const CODE_REQUEST_ID_REUSED: u32 = 809;
pub const CODE_NOT_ENROLLED: u32 = 811;
pub const CODE_NO_ACTIVE_AWARD: u32 = 814;
pub const CODE_ALREADY_ENROLLED: u32 = 1040;
pub const CODE_BADGE_NOT_FOUND: u32 = 1054;
pub const CODE_IDENTIFIER_TAKEN: u32 = 409;
pub const CODE_GROUP_NOT_FOUND: u32 = 1055;
/// An earn outside what the badge allows now: inactive, or its window closed.
pub const CODE_BADGE_NOT_EARNABLE: u32 = 812;
/// Enrolment into a badge that is not ISSUE_EARN.
pub const CODE_NOT_ISSUE_EARN: u32 = 1041;

/// Most customers in one bulk enrolment, and items in one import.
pub const MAX_BATCH: usize = 1000;

pub fn problem(code: u32, message: impl Into<String>, reference: &str) -> Problem {
    Problem {
        code,
        message: message.into(),
        reference: Some(reference.to_owned()),
    }
}

/// How long an award or enrolment lasts. On the wire:
/// `{"expiryType": "NEVER"}`, `{"expiryType": "RELATIVE", "relativeExpiryType":
/// "DAYS", "value": 3}`, `{"expiryType": "ABSOLUTE", "expiresOn": 1800000000}`,
/// `{"expiryType": "WITH_BADGE"}`; other fields are refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ExpiryRuleWire", into = "ExpiryRuleWire")]
pub enum ExpiryRule {
    #[default]
    Never,
    Relative {
        relative_expiry_type: RelativeUnit,
        value: u32,
    },
    Absolute {
        /// Epoch seconds.
        expires_on: i64,
    },
    WithBadge,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum ExpiryType {
    Never,
    Relative,
    Absolute,
    WithBadge,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ExpiryRuleWire {
    expiry_type: ExpiryType,
    #[serde(skip_serializing_if = "Option::is_none")]
    relative_expiry_type: Option<RelativeUnit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_on: Option<i64>,
}

impl TryFrom<ExpiryRuleWire> for ExpiryRule {
    type Error = String;

    fn try_from(w: ExpiryRuleWire) -> Result<Self, Self::Error> {
        let extra = |ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(format!("fields that {:?} does not take", w.expiry_type))
            }
        };
        match w.expiry_type {
            ExpiryType::Never | ExpiryType::WithBadge => {
                extra(
                    w.relative_expiry_type.is_none() && w.value.is_none() && w.expires_on.is_none(),
                )?;
                Ok(if matches!(w.expiry_type, ExpiryType::Never) {
                    ExpiryRule::Never
                } else {
                    ExpiryRule::WithBadge
                })
            }
            ExpiryType::Relative => {
                extra(w.expires_on.is_none())?;
                match (w.relative_expiry_type, w.value) {
                    (Some(relative_expiry_type), Some(value)) => Ok(ExpiryRule::Relative {
                        relative_expiry_type,
                        value,
                    }),
                    _ => Err("RELATIVE needs relativeExpiryType and value".into()),
                }
            }
            ExpiryType::Absolute => {
                extra(w.relative_expiry_type.is_none() && w.value.is_none())?;
                w.expires_on
                    .map(|expires_on| ExpiryRule::Absolute { expires_on })
                    .ok_or_else(|| "ABSOLUTE needs expiresOn".into())
            }
        }
    }
}

impl From<ExpiryRule> for ExpiryRuleWire {
    fn from(r: ExpiryRule) -> Self {
        let wire = |expiry_type| ExpiryRuleWire {
            expiry_type,
            relative_expiry_type: None,
            value: None,
            expires_on: None,
        };
        match r {
            ExpiryRule::Never => wire(ExpiryType::Never),
            ExpiryRule::WithBadge => wire(ExpiryType::WithBadge),
            ExpiryRule::Absolute { expires_on } => ExpiryRuleWire {
                expires_on: Some(expires_on),
                ..wire(ExpiryType::Absolute)
            },
            ExpiryRule::Relative {
                relative_expiry_type,
                value,
            } => ExpiryRuleWire {
                relative_expiry_type: Some(relative_expiry_type),
                value: Some(value),
                ..wire(ExpiryType::Relative)
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RelativeUnit {
    Days,
    Weeks,
    Months,
}

impl ExpiryRule {
    /// When something starting at `from` expires under this rule; `None` is never.
    pub fn expires_at(self, from: Micros, badge_expires_on: Micros) -> Option<Micros> {
        match self {
            ExpiryRule::Never => None,
            ExpiryRule::WithBadge => Some(badge_expires_on),
            ExpiryRule::Absolute { expires_on } => {
                Some(Micros(expires_on.saturating_mul(1_000_000)))
            }
            ExpiryRule::Relative {
                relative_expiry_type,
                value,
            } => {
                let day = 86_400_000_000i64;
                let add = |d: i64| {
                    Some(Micros(
                        from.0.saturating_add(d.saturating_mul(i64::from(value))),
                    ))
                };
                match relative_expiry_type {
                    RelativeUnit::Days => add(day),
                    RelativeUnit::Weeks => add(7 * day),
                    RelativeUnit::Months => DateTime::<Utc>::from_timestamp_micros(from.0)
                        .and_then(|t| t.checked_add_months(Months::new(value)))
                        .map(Micros::from_datetime)
                        .or(Some(Micros(i64::MAX))),
                }
            }
        }
    }

    pub fn validate(self, reference: &str, problems: &mut Vec<Problem>) {
        if let ExpiryRule::Relative { value: 0, .. } = self {
            problems.push(problem(
                400,
                format!("{reference}.value must be at least 1"),
                reference,
            ));
        }
    }
}

/// A new group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewGroupCommand {
    pub name: String,
    pub rank: Option<i32>,
}

pub fn validate_group(c: &NewGroupCommand) -> Vec<Problem> {
    let mut problems = Vec::new();
    text("name", &c.name, true, MAX_NAME_BYTES, &mut problems);
    if c.rank.is_none() {
        problems.push(problem(
            CODE_GROUP_RANK_REQUIRED,
            "rank is required",
            "rank",
        ));
    }
    problems
}

/// A new badge definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewBadgeCommand {
    pub name: String,
    pub description: String,
    pub earn_type: EarnType,
    /// Required; `None` only when the caller left it out.
    pub starts_on: Option<Micros>,
    /// Required; `None` only when the caller left it out.
    pub expires_on: Option<Micros>,
    pub active: bool,
    pub group_id: Option<String>,
    pub rank: Option<i32>,
    pub images: Vec<Image>,
    pub owners: Vec<Owner>,
    pub earned_badge_expiry: ExpiryRule,
    pub issued_badge_expiry: ExpiryRule,
    /// Set by `X-CAP-BADGES-MIGRATION: migration`: a start in the past is allowed.
    pub migration: bool,
}

pub fn validate_badge(c: &NewBadgeCommand, now: Micros) -> Vec<Problem> {
    let mut problems = Vec::new();
    text("name", &c.name, true, MAX_NAME_BYTES, &mut problems);
    text(
        "description",
        &c.description,
        false,
        MAX_DESCRIPTION_BYTES,
        &mut problems,
    );
    if c.owners.is_empty() {
        problems.push(problem(
            CODE_NO_OWNER,
            "at least one restricted owner is required",
            "ownership.restrictedToOwners",
        ));
    }
    match (c.starts_on, c.expires_on) {
        (Some(start), Some(end)) => {
            if start >= end {
                problems.push(problem(
                    CODE_START_AFTER_EXPIRY,
                    "startOn must be before expiresOn",
                    "startOn",
                ));
            }
            if !c.migration && start < now {
                problems.push(problem(
                    CODE_START_IN_PAST,
                    "startOn may not be in the past",
                    "startOn",
                ));
            }
        }
        (start, end) => {
            if start.is_none() {
                problems.push(problem(400, "startOn is required", "startOn"));
            }
            if end.is_none() {
                problems.push(problem(400, "expiresOn is required", "expiresOn"));
            }
        }
    }
    if let Some(g) = &c.group_id
        && !is_object_id(g)
    {
        problems.push(problem(
            400,
            "badgeGroupId must be 24 lower-case hex characters",
            "badgeGroupId",
        ));
    }
    if c.images.len() > MAX_IMAGES {
        problems.push(problem(
            400,
            format!("a badge may have at most {MAX_IMAGES} images"),
            "images",
        ));
    }
    for (i, image) in c.images.iter().take(MAX_IMAGES).enumerate() {
        for (field, value, max) in [
            ("name", &image.name, MAX_IMAGE_FIELD_BYTES),
            (
                "fileSvcHandle",
                &image.file_svc_handle,
                MAX_IMAGE_FIELD_BYTES,
            ),
            ("url", &image.url, MAX_URL_BYTES),
            ("tag", &image.tag, MAX_IMAGE_FIELD_BYTES),
        ] {
            text(
                &format!("images[{i}].{field}"),
                value,
                false,
                max,
                &mut problems,
            );
        }
    }
    c.earned_badge_expiry
        .validate("earnedBadgeExpiry", &mut problems);
    c.issued_badge_expiry
        .validate("issuedBadgeExpiry", &mut problems);
    problems
}

/// A claim or unclaim of a badge by a module instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClaimCommand {
    pub badge_id: String,
    pub owner_type: Owner,
    pub reference_id: String,
}

pub fn validate_claim(c: &ClaimCommand) -> Vec<Problem> {
    let mut problems = Vec::new();
    badge_id(&c.badge_id, &mut problems);
    text(
        "referenceId",
        &c.reference_id,
        true,
        MAX_REFERENCE_BYTES,
        &mut problems,
    );
    problems
}

/// Creates a customer or replaces its identifiers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpsertCustomerCommand {
    pub customer_id: i64,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub external_id: Option<String>,
    pub card_number: Option<String>,
}

pub fn validate_customer(c: &UpsertCustomerCommand) -> Vec<Problem> {
    let mut problems = Vec::new();
    if c.customer_id < 0 {
        problems.push(problem(400, "customerId must be 0 or more", "customerId"));
    }
    for (field, value) in [
        ("email", &c.email),
        ("mobile", &c.mobile),
        ("externalId", &c.external_id),
        ("cardNumber", &c.card_number),
    ] {
        if let Some(v) = value {
            text(field, v, true, MAX_IDENTIFIER_BYTES, &mut problems);
        }
    }
    problems
}

/// Enrols customers into an ISSUE_EARN badge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnrolCommand {
    pub badge_id: String,
    pub customers: Vec<i64>,
    pub request_id: Option<String>,
    pub issued_at: Option<Micros>,
}

pub fn validate_enrol(c: &EnrolCommand) -> Vec<Problem> {
    let mut problems = Vec::new();
    badge_id(&c.badge_id, &mut problems);
    if c.customers.is_empty() || c.customers.len() > MAX_BATCH {
        problems.push(problem(
            400,
            format!("customers must hold 1 to {MAX_BATCH} ids"),
            "customers",
        ));
    }
    request_id(&c.request_id, &mut problems);
    problems
}

/// One enrolment's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolOutcome {
    pub customer_id: i64,
    pub expires_on: Option<Micros>,
    pub problems: Vec<Problem>,
}

/// An award of a badge to a customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EarnCommand {
    pub badge_id: String,
    pub customer_id: i64,
    pub request_id: Option<String>,
    pub event_at: Option<Micros>,
    pub triggered_by: Option<(Owner, String)>,
}

pub fn validate_earn(c: &EarnCommand) -> Vec<Problem> {
    let mut problems = Vec::new();
    badge_id(&c.badge_id, &mut problems);
    request_id(&c.request_id, &mut problems);
    if let Some((_, r)) = &c.triggered_by {
        text(
            "triggeredBy.referenceId",
            r,
            true,
            MAX_REFERENCE_BYTES,
            &mut problems,
        );
    }
    problems
}

/// What an earn answers, stored for retries with the same requestId.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarnOutcome {
    pub badge_id: String,
    pub customer_id: i64,
    pub earned_badge_id: String,
    pub expires_on: Option<Micros>,
    pub request_id: Option<String>,
}

/// Revokes one award.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RevokeCommand {
    pub badge_id: String,
    pub customer_id: i64,
    pub earned_badge_id: String,
}

pub fn validate_revoke(c: &RevokeCommand) -> Vec<Problem> {
    let mut problems = Vec::new();
    badge_id(&c.badge_id, &mut problems);
    if !is_object_id(&c.earned_badge_id) {
        problems.push(problem(
            400,
            "earnedBadgeId must be 24 lower-case hex characters",
            "earnedBadgeId",
        ));
    }
    problems
}

/// One historical award to import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportItem {
    pub badge_id: String,
    pub customer_id: i64,
    pub event_at: Micros,
    pub expires_on: Option<Micros>,
}

/// One imported award's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOutcome {
    pub badge_id: String,
    pub customer_id: i64,
    pub result: Result<(String, Option<Micros>), Vec<Problem>>,
}

/// A stored group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupView {
    pub id: String,
    pub name: String,
    pub rank: i32,
}

/// A stored badge definition, as create and update calls answer it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadgeDefinition {
    pub id: String,
    pub name: String,
    pub description: String,
    pub earn_type: EarnType,
    pub starts_on: Micros,
    pub expires_on: Micros,
    pub active: bool,
    pub group_id: Option<String>,
    pub rank: Option<i32>,
    pub images: Vec<Image>,
    pub owners: Vec<Owner>,
    pub claims: Vec<Claim>,
    pub earned_badge_expiry: ExpiryRule,
    pub issued_badge_expiry: ExpiryRule,
    pub created_on: Micros,
    pub last_updated_on: Micros,
}

fn badge_id(id: &str, problems: &mut Vec<Problem>) {
    if !is_object_id(id) {
        problems.push(problem(
            400,
            "badgeMetaId must be 24 lower-case hex characters",
            "badgeMetaId",
        ));
    }
}

fn request_id(id: &Option<String>, problems: &mut Vec<Problem>) {
    if let Some(id) = id {
        if id.is_empty() || id.len() > MAX_REQUEST_ID_BYTES {
            problems.push(problem(
                400,
                format!("requestId must be 1 to {MAX_REQUEST_ID_BYTES} bytes"),
                "requestId",
            ));
        } else if id.contains('\0') {
            problems.push(super::shape::no_nul("requestId"));
        }
    }
}

/// A new claim on a badge that already holds `claims` (active or not).
pub fn check_new_claim(claims: usize) -> Vec<Problem> {
    if claims >= MAX_CLAIMS {
        vec![problem(
            400,
            format!("a badge may hold at most {MAX_CLAIMS} claims"),
            "referenceId",
        )]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000;

    #[test]
    fn expiry_rules() {
        let from = Micros(1_706_659_200_000_000); // 2024-01-31T00:00:00Z
        let badge = Micros(from.0 + 400 * DAY);
        assert_eq!(ExpiryRule::Never.expires_at(from, badge), None);
        assert_eq!(ExpiryRule::WithBadge.expires_at(from, badge), Some(badge));
        let days = ExpiryRule::Relative {
            relative_expiry_type: RelativeUnit::Days,
            value: 3,
        };
        assert_eq!(days.expires_at(from, badge), Some(Micros(from.0 + 3 * DAY)));
        let weeks = ExpiryRule::Relative {
            relative_expiry_type: RelativeUnit::Weeks,
            value: 2,
        };
        assert_eq!(
            weeks.expires_at(from, badge),
            Some(Micros(from.0 + 14 * DAY))
        );
        // Calendar months: Jan 31 + 1 month is Feb 29 in 2024.
        let months = ExpiryRule::Relative {
            relative_expiry_type: RelativeUnit::Months,
            value: 1,
        };
        assert_eq!(
            months.expires_at(from, badge),
            Some(Micros(from.0 + 29 * DAY))
        );
        let absolute = ExpiryRule::Absolute {
            expires_on: 1_800_000_000,
        };
        assert_eq!(
            absolute.expires_at(from, badge),
            Some(Micros(1_800_000_000_000_000))
        );
    }

    #[test]
    fn expiry_rules_read_the_upstream_json() {
        let rule: ExpiryRule = serde_json::from_str(
            r#"{"expiryType": "RELATIVE", "relativeExpiryType": "WEEKS", "value": 2}"#,
        )
        .unwrap();
        assert_eq!(
            rule,
            ExpiryRule::Relative {
                relative_expiry_type: RelativeUnit::Weeks,
                value: 2
            }
        );
        assert_eq!(
            serde_json::from_str::<ExpiryRule>(r#"{"expiryType":"NEVER"}"#).unwrap(),
            ExpiryRule::Never
        );
        assert!(serde_json::from_str::<ExpiryRule>(r#"{"expiryType":"NEVER","x":1}"#).is_err());
        assert!(serde_json::from_str::<ExpiryRule>(r#"{"expiryType":"NEVER","value":1}"#).is_err());
        assert!(
            serde_json::from_str::<ExpiryRule>(r#"{"expiryType":"RELATIVE","value":1}"#).is_err()
        );
        let absolute = ExpiryRule::Absolute { expires_on: 5 };
        assert_eq!(
            serde_json::to_string(&absolute).unwrap(),
            r#"{"expiryType":"ABSOLUTE","expiresOn":5}"#
        );
    }

    #[test]
    fn badge_validation_reports_every_code() {
        let now = Micros(1_000 * DAY);
        let c = NewBadgeCommand {
            name: " ".into(),
            description: String::new(),
            earn_type: EarnType::Earn,
            starts_on: Some(Micros(now.0 - DAY)),
            expires_on: Some(Micros(now.0 - 2 * DAY)),
            active: true,
            group_id: None,
            rank: None,
            images: vec![],
            owners: vec![],
            earned_badge_expiry: ExpiryRule::Never,
            issued_badge_expiry: ExpiryRule::Never,
            migration: false,
        };
        let codes: Vec<u32> = validate_badge(&c, now).iter().map(|p| p.code).collect();
        assert_eq!(
            codes,
            [
                400,
                CODE_NO_OWNER,
                CODE_START_AFTER_EXPIRY,
                CODE_START_IN_PAST
            ]
        );
        let migration = NewBadgeCommand {
            migration: true,
            ..c
        };
        assert!(
            !validate_badge(&migration, now)
                .iter()
                .any(|p| p.code == CODE_START_IN_PAST)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_expiry_json_reads_without_panicking(s in ".{0,120}") {
            let _ = serde_json::from_str::<ExpiryRule>(&s);
        }

        #[test]
        fn any_expiry_rule_computes_without_panicking(
            from in proptest::prelude::any::<i64>(),
            badge in proptest::prelude::any::<i64>(),
            value in proptest::prelude::any::<u32>(),
            abs in proptest::prelude::any::<i64>(),
        ) {
            for rule in [
                ExpiryRule::Relative { relative_expiry_type: RelativeUnit::Days, value },
                ExpiryRule::Relative { relative_expiry_type: RelativeUnit::Weeks, value },
                ExpiryRule::Relative { relative_expiry_type: RelativeUnit::Months, value },
                ExpiryRule::Absolute { expires_on: abs },
                ExpiryRule::WithBadge,
                ExpiryRule::Never,
            ] {
                let _ = rule.expires_at(Micros(from), Micros(badge));
            }
        }

        #[test]
        fn any_badge_command_validates_without_panicking(
            name in ".{0,40}",
            start in proptest::option::of(proptest::prelude::any::<i64>()),
            end in proptest::option::of(proptest::prelude::any::<i64>()),
            group in proptest::option::of(".{0,30}"),
            now in proptest::prelude::any::<i64>(),
        ) {
            let c = NewBadgeCommand {
                name,
                description: String::new(),
                earn_type: EarnType::Earn,
                starts_on: start.map(Micros),
                expires_on: end.map(Micros),
                active: true,
                group_id: group,
                rank: None,
                images: vec![],
                owners: vec![Owner::Loyalty],
                earned_badge_expiry: ExpiryRule::Never,
                issued_badge_expiry: ExpiryRule::Never,
                migration: false,
            };
            let _ = validate_badge(&c, Micros(now));
        }
    }
}
