//! The write side: commands of the admin API and their validation with the
//! upstream error codes (`problem`); the expiry rules are in `expiry`.

use serde::{Deserialize, Serialize};

use super::badge::{Badge, Extras, Image};
use super::enums::{EarnType, Owner};
pub use super::expiry::{ExpiryRule, RelativeUnit};
use super::fields::Field;
use super::ids::is_object_id;
use super::list::CustomerRef;
use super::shape::{
    MAX_DESCRIPTION_BYTES, MAX_IDENTIFIER_BYTES, MAX_IMAGE_FIELD_BYTES, MAX_IMAGES, MAX_NAME_BYTES,
    MAX_REFERENCE_BYTES, MAX_REQUEST_ID_BYTES, MAX_URL_BYTES, text,
};
use super::{Micros, Problem};

/// Most customers in one bulk enrolment, and items in one import.
pub const MAX_BATCH: usize = 1000;

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
        problems.push(Problem::group_rank_required());
    }
    problems
}

/// A new badge as a caller sent it: the fields a transport could fail to
/// read carry their problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewBadgeRequest {
    pub name: String,
    pub description: String,
    pub earn_type: Field<EarnType>,
    pub starts_on: Field<Option<Micros>>,
    pub expires_on: Field<Option<Micros>>,
    pub active: bool,
    pub group_id: Option<String>,
    pub rank: Option<i32>,
    pub images: Vec<Image>,
    pub owners: Vec<Field<Owner>>,
    pub earned_badge_expiry: Field<ExpiryRule>,
    pub issued_badge_expiry: Field<ExpiryRule>,
    /// Upstream's fields kept as given, and the constraints as sent; their
    /// checks are `extras::check`.
    pub extras: Extras<serde_json::Value>,
    /// Set by `X-CAP-BADGES-MIGRATION: migration`: a start in the past is allowed.
    pub migration: bool,
}

/// Every problem of a field set aside, its value otherwise.
fn read<T>(field: Field<T>, problems: &mut Vec<Problem>) -> Option<T> {
    field.map_err(|p| problems.push(p)).ok()
}

/// Checks a new badge and reports every problem at once.
/// A badge's window: both ends given (`Some(None)` is a missing one), start
/// before expiry, and not in the past unless for a migration.
fn check_window(
    starts_on: Option<Option<Micros>>,
    expires_on: Option<Option<Micros>>,
    migration: bool,
    now: Micros,
    problems: &mut Vec<Problem>,
) {
    match (starts_on, expires_on) {
        (Some(Some(start)), Some(Some(end))) => {
            if start >= end {
                problems.push(Problem::start_after_expiry());
            }
            if !migration && start < now {
                problems.push(Problem::start_in_past());
            }
        }
        (start, end) => {
            if start == Some(None) {
                problems.push(Problem::invalid("startOn", "startOn is required"));
            }
            if end == Some(None) {
                problems.push(Problem::invalid("expiresOn", "expiresOn is required"));
            }
        }
    }
}

/// A badge's images: at most [`MAX_IMAGES`], each text within its cap.
fn check_images(images: &[Image], problems: &mut Vec<Problem>) {
    if images.len() > MAX_IMAGES {
        problems.push(Problem::invalid(
            "images",
            format!("a badge may have at most {MAX_IMAGES} images"),
        ));
    }
    for (i, image) in images.iter().take(MAX_IMAGES).enumerate() {
        let Image {
            name,
            file_svc_handle,
            url,
            tag,
        } = image;
        for (field, value, max) in [
            ("name", name, MAX_IMAGE_FIELD_BYTES),
            ("fileSvcHandle", file_svc_handle, MAX_IMAGE_FIELD_BYTES),
            ("url", url, MAX_URL_BYTES),
            ("tag", tag, MAX_IMAGE_FIELD_BYTES),
        ] {
            text(&format!("images[{i}].{field}"), value, false, max, problems);
        }
    }
}

/// Who writes a badge, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Author {
    pub org_id: i32,
    pub client_id: i32,
    pub now: Micros,
}

/// The badge `id` that `r` asks for, written by `by`, or every problem of
/// `r`.
pub fn validate_badge(r: NewBadgeRequest, id: String, by: Author) -> Result<Badge, Vec<Problem>> {
    let Author {
        org_id,
        client_id,
        now,
    } = by;
    let NewBadgeRequest {
        name,
        description,
        earn_type,
        starts_on,
        expires_on,
        active,
        group_id,
        rank,
        images,
        owners,
        earned_badge_expiry,
        issued_badge_expiry,
        extras,
        migration,
    } = r;
    let mut problems = Vec::new();
    text("name", &name, true, MAX_NAME_BYTES, &mut problems);
    let extras = super::extras::check(extras, &mut problems);
    text(
        "description",
        &description,
        false,
        MAX_DESCRIPTION_BYTES,
        &mut problems,
    );
    let earn_type = read(earn_type, &mut problems);
    let owner_problems = problems.len();
    let owners: Vec<Owner> = owners
        .into_iter()
        .filter_map(|o| read(o, &mut problems))
        .collect();
    // An owner list of only invalid owners is reported as invalid (714),
    // not also as empty (728).
    if owners.is_empty() && problems.len() == owner_problems {
        problems.push(Problem::no_owner());
    }
    let starts_on = read(starts_on, &mut problems);
    let expires_on = read(expires_on, &mut problems);
    check_window(starts_on, expires_on, migration, now, &mut problems);
    if let Some(g) = &group_id
        && !is_object_id(g)
    {
        problems.push(Problem::invalid(
            "badgeGroupId",
            "badgeGroupId must be 24 lower-case hex characters",
        ));
    }
    check_images(&images, &mut problems);
    let earned_badge_expiry = read(earned_badge_expiry, &mut problems);
    let issued_badge_expiry = read(issued_badge_expiry, &mut problems);
    match (
        problems.is_empty(),
        earn_type,
        starts_on.flatten(),
        expires_on.flatten(),
        earned_badge_expiry,
        issued_badge_expiry,
    ) {
        (
            true,
            Some(earn_type),
            Some(starts_on),
            Some(expires_on),
            Some(earned_badge_expiry),
            Some(issued_badge_expiry),
        ) => Ok(Badge {
            id,
            org_id,
            name,
            description,
            earn_type,
            starts_on,
            expires_on,
            active,
            group_id,
            rank,
            images,
            owners,
            earned_badge_expiry,
            issued_badge_expiry,
            created_on: now,
            last_updated_on: now,
            claims: Vec::new(),
            created_by: Some(client_id),
            last_updated_by: Some(client_id),
            extras,
        }),
        _ => Err(problems),
    }
}

/// A claim or unclaim as a caller sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimRequest {
    pub badge_id: String,
    pub owner_type: Field<Owner>,
    pub reference_id: String,
}

/// A valid claim or unclaim of a badge by a module instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClaimCommand {
    pub badge_id: String,
    pub owner_type: Owner,
    pub reference_id: String,
}

pub fn validate_claim(r: ClaimRequest) -> Result<ClaimCommand, Vec<Problem>> {
    let ClaimRequest {
        badge_id,
        owner_type,
        reference_id,
    } = r;
    let mut problems = Vec::new();
    check_badge_id(&badge_id, &mut problems);
    let owner_type = read(owner_type, &mut problems);
    if reference_id.trim().is_empty() {
        problems.push(Problem::reference_required());
    } else {
        text(
            "referenceId",
            &reference_id,
            true,
            MAX_REFERENCE_BYTES,
            &mut problems,
        );
    }
    match (problems.is_empty(), owner_type) {
        (true, Some(owner_type)) => Ok(ClaimCommand {
            badge_id,
            owner_type,
            reference_id,
        }),
        _ => Err(problems),
    }
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
    let UpsertCustomerCommand {
        customer_id,
        email,
        mobile,
        external_id,
        card_number,
    } = c;
    let mut problems = Vec::new();
    if *customer_id < 0 {
        problems.push(Problem::invalid(
            "customerId",
            "customerId must be 0 or more",
        ));
    }
    for (field, value) in [
        ("email", email),
        ("mobile", mobile),
        ("externalId", external_id),
        ("cardNumber", card_number),
    ] {
        if let Some(v) = value {
            text(field, v, true, MAX_IDENTIFIER_BYTES, &mut problems);
        }
    }
    problems
}

/// A bulk enrolment as a caller sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrolRequest {
    pub badge_id: String,
    pub customers: Vec<i64>,
    pub request_id: Option<String>,
    pub issued_at: Field<Option<Micros>>,
    /// The module instance that enrolled them: its owner type and reference.
    pub triggered_by: Option<(Field<Owner>, String)>,
}

/// A valid enrolment of customers into an ISSUE_EARN badge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnrolCommand {
    pub badge_id: String,
    pub customers: Vec<i64>,
    pub request_id: Option<String>,
    pub issued_at: Option<Micros>,
    /// Left out of the fingerprint when absent, so that a retry of a call
    /// made before enrolments took it still replays.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub triggered_by: Option<(Owner, String)>,
}

pub fn validate_enrol(r: EnrolRequest) -> Result<EnrolCommand, Vec<Problem>> {
    let EnrolRequest {
        badge_id,
        customers,
        request_id,
        issued_at,
        triggered_by,
    } = r;
    let mut problems = Vec::new();
    check_batch(
        &badge_id,
        customers.len(),
        "customers",
        &request_id,
        &mut problems,
    );
    let issued_at = read(issued_at, &mut problems);
    let triggered_by = read_triggered_by(triggered_by, &mut problems);
    match (problems.is_empty(), issued_at, triggered_by) {
        (true, Some(issued_at), Some(triggered_by)) => Ok(EnrolCommand {
            badge_id,
            customers,
            request_id,
            issued_at,
            triggered_by,
        }),
        _ => Err(problems),
    }
}

/// A `triggeredBy` read: `Some(None)` when absent, `None` when it has a
/// problem (pushed).
fn read_triggered_by(
    triggered_by: Option<(Field<Owner>, String)>,
    problems: &mut Vec<Problem>,
) -> Option<Option<(Owner, String)>> {
    match triggered_by {
        None => Some(None),
        Some((owner, reference)) => {
            text(
                "triggeredBy.referenceId",
                &reference,
                true,
                MAX_REFERENCE_BYTES,
                problems,
            );
            read(owner, problems).map(|o| Some((o, reference)))
        }
    }
}

/// One enrolment's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolOutcome {
    pub customer_id: i64,
    /// The enrolment's id (`issuedId`); answers kept before ids were
    /// answered have none.
    #[serde(default)]
    pub issued_id: Option<String>,
    pub expires_on: Option<Micros>,
    pub problems: Vec<Problem>,
}

/// An award as a caller asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarnRequest {
    pub badge_id: String,
    pub customer_id: i64,
    pub request_id: Option<String>,
    pub event_at: Field<Option<Micros>>,
    /// The module instance that triggered it: its owner type and reference.
    pub triggered_by: Option<(Field<Owner>, String)>,
}

/// A valid award of a badge to a customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EarnCommand {
    pub badge_id: String,
    pub customer_id: i64,
    pub request_id: Option<String>,
    pub event_at: Option<Micros>,
    pub triggered_by: Option<(Owner, String)>,
}

pub fn validate_earn(r: EarnRequest) -> Result<EarnCommand, Vec<Problem>> {
    let EarnRequest {
        badge_id,
        customer_id,
        request_id,
        event_at,
        triggered_by,
    } = r;
    let mut problems = Vec::new();
    check_badge_id(&badge_id, &mut problems);
    check_request_id(&request_id, &mut problems);
    let event_at = read(event_at, &mut problems);
    let triggered_by = read_triggered_by(triggered_by, &mut problems);
    match (problems.is_empty(), event_at, triggered_by) {
        (true, Some(event_at), Some(triggered_by)) => Ok(EarnCommand {
            badge_id,
            customer_id,
            request_id,
            event_at,
            triggered_by,
        }),
        _ => Err(problems),
    }
}

/// What an earn answers, stored for retries with the same requestId.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarnOutcome {
    pub badge_id: String,
    pub customer_id: i64,
    pub earned_badge_id: String,
    pub expires_on: Option<Micros>,
    pub request_id: Option<String>,
    /// The enrolment the earn used (ISSUE_EARN), as `issuedId`.
    #[serde(default)]
    pub issued_id: Option<String>,
}

/// An earn for many customers as a caller sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarnBulkRequest {
    pub badge_id: String,
    pub customers: Vec<i64>,
    pub request_id: Option<String>,
    pub event_at: Field<Option<Micros>>,
    pub triggered_by: Option<(Field<Owner>, String)>,
}

/// A valid earn of one badge for many customers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EarnBulkCommand {
    pub badge_id: String,
    pub customers: Vec<i64>,
    pub request_id: Option<String>,
    pub event_at: Option<Micros>,
    pub triggered_by: Option<(Owner, String)>,
}

pub fn validate_earn_bulk(r: EarnBulkRequest) -> Result<EarnBulkCommand, Vec<Problem>> {
    let EarnBulkRequest {
        badge_id,
        customers,
        request_id,
        event_at,
        triggered_by,
    } = r;
    let mut problems = Vec::new();
    check_batch(
        &badge_id,
        customers.len(),
        "customerIds",
        &request_id,
        &mut problems,
    );
    let event_at = read(event_at, &mut problems);
    let triggered_by = read_triggered_by(triggered_by, &mut problems);
    match (problems.is_empty(), event_at, triggered_by) {
        (true, Some(event_at), Some(triggered_by)) => Ok(EarnBulkCommand {
            badge_id,
            customers,
            request_id,
            event_at,
            triggered_by,
        }),
        _ => Err(problems),
    }
}

/// One customer's earn of an earn for many: the award, or its problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkEarnItem {
    pub customer_id: i64,
    pub earned_badge_id: Option<String>,
    pub issued_id: Option<String>,
    pub expires_on: Option<Micros>,
    pub problem: Option<Problem>,
}

/// What an earn for many answers, kept for retries with its requestId.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarnBulkOutcome {
    pub items: Vec<BulkEarnItem>,
}

/// Most revocations in one revokeIssue (upstream's cap).
pub const MAX_REVOCATIONS: usize = 20;

/// Which enrolments a revokeIssue names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Revocations {
    /// Every live enrolment of each customer.
    Customers(Vec<i64>),
    /// These enrolments, each of its customer.
    Issuals(Vec<(i64, String)>),
}

/// A revokeIssue as a caller sent it: `issuals` wins when both are given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeIssueRequest {
    pub badge_id: String,
    pub customers: Option<Vec<i64>>,
    pub issuals: Option<Vec<(i64, String)>>,
    pub request_id: Option<String>,
}

/// A valid revocation of enrolments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RevokeIssueCommand {
    pub badge_id: String,
    pub revocations: Revocations,
    pub request_id: Option<String>,
}

/// Checks a revokeIssue: 1051 with neither list (or both empty), at most
/// [`MAX_REVOCATIONS`] items, each issueId an id.
pub fn validate_revoke_issue(r: RevokeIssueRequest) -> Result<RevokeIssueCommand, Vec<Problem>> {
    let RevokeIssueRequest {
        badge_id,
        customers,
        issuals,
        request_id,
    } = r;
    let mut problems = Vec::new();
    check_badge_id(&badge_id, &mut problems);
    check_request_id(&request_id, &mut problems);
    let revocations = match (issuals, customers) {
        (Some(i), _) if !i.is_empty() => Some(("revokeIssuals", Revocations::Issuals(i))),
        (_, Some(c)) if !c.is_empty() => Some(("customers", Revocations::Customers(c))),
        _ => {
            problems.push(Problem::revocations_required());
            None
        }
    };
    if let Some((field, r)) = &revocations {
        let n = match r {
            Revocations::Customers(c) => c.len(),
            Revocations::Issuals(i) => {
                for (n, (_, id)) in i.iter().enumerate() {
                    if !is_object_id(id) {
                        problems.push(Problem::invalid(
                            &format!("revokeIssuals[{n}].issueId"),
                            "issueId must be 24 lower-case hex characters",
                        ));
                    }
                }
                i.len()
            }
        };
        if n > MAX_REVOCATIONS {
            problems.push(Problem::invalid(
                field,
                format!("{field} may hold at most {MAX_REVOCATIONS} items"),
            ));
        }
    }
    match (problems.is_empty(), revocations) {
        (true, Some((_, revocations))) => Ok(RevokeIssueCommand {
            badge_id,
            revocations,
            request_id,
        }),
        _ => Err(problems),
    }
}

/// One revoked enrolment, or one item's problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedIssue {
    pub customer_id: i64,
    pub issued_id: Option<String>,
    pub problem: Option<Problem>,
}

/// Revokes one award of a customer, named by id or by another identifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeCommand {
    pub badge_id: String,
    pub customer: CustomerRef,
    pub earned_badge_id: String,
}

/// What a revoke answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeOutcome {
    pub badge_id: String,
    pub customer_id: i64,
    pub earned_badge_id: String,
}

pub fn validate_revoke(c: &RevokeCommand) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_badge_id(&c.badge_id, &mut problems);
    if !is_object_id(&c.earned_badge_id) {
        problems.push(Problem::invalid(
            "earnedBadgeId",
            "earnedBadgeId must be 24 lower-case hex characters",
        ));
    }
    problems
}

/// One historical award to import, as a caller sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportItemRequest {
    pub badge_id: String,
    pub customer_id: i64,
    /// Required.
    pub event_at: Field<Option<Micros>>,
    pub expires_on: Field<Option<Micros>>,
}

/// One valid historical award to import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportItem {
    pub badge_id: String,
    pub customer_id: i64,
    pub event_at: Micros,
    pub expires_on: Option<Micros>,
}

/// Checks an import: 1 to [`MAX_BATCH`] items, each with its event time.
/// A field's problem names its item: `items[2].earnEventDate`.
pub fn validate_import(items: Vec<ImportItemRequest>) -> Result<Vec<ImportItem>, Vec<Problem>> {
    let mut problems = Vec::new();
    if items.is_empty() || items.len() > MAX_BATCH {
        problems.push(Problem::invalid(
            "items",
            format!("send 1 to {MAX_BATCH} items"),
        ));
    }
    let mut valid = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let ImportItemRequest {
            badge_id,
            customer_id,
            event_at,
            expires_on,
        } = item;
        let mut own = Vec::new();
        let event_at = match read(event_at, &mut own) {
            Some(Some(at)) => Some(at),
            Some(None) => {
                own.push(Problem::invalid(
                    "earnEventDate",
                    "earnEventDate is required",
                ));
                None
            }
            None => None,
        };
        let expires_on = read(expires_on, &mut own);
        problems.extend(own.into_iter().map(|mut p| {
            p.reference = p.reference.map(|r| format!("items[{i}].{r}"));
            p
        }));
        if let (Some(event_at), Some(expires_on)) = (event_at, expires_on) {
            valid.push(ImportItem {
                badge_id,
                customer_id,
                event_at,
                expires_on,
            });
        }
    }
    if problems.is_empty() {
        Ok(valid)
    } else {
        Err(problems)
    }
}

/// One imported award's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOutcome {
    pub badge_id: String,
    pub customer_id: i64,
    pub result: Result<(String, Option<Micros>), Vec<Problem>>,
}

/// A group of an org.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub id: String,
    pub org_id: i32,
    pub name: String,
    pub rank: i32,
    pub created_on: Micros,
    /// The API client that wrote it (`None` for the seed's and the demo's).
    pub created_by: Option<i32>,
    pub last_updated_on: Micros,
    pub last_updated_by: Option<i32>,
}

fn check_badge_id(id: &str, problems: &mut Vec<Problem>) {
    if !is_object_id(id) {
        problems.push(Problem::invalid(
            "badgeMetaId",
            "badgeMetaId must be 24 lower-case hex characters",
        ));
    }
}

/// What every write of one badge for a batch of customers checks: the
/// badge id, 1 to [`MAX_BATCH`] customers (in `field`), the requestId.
fn check_batch(
    badge_id: &str,
    customers: usize,
    field: &str,
    request_id: &Option<String>,
    problems: &mut Vec<Problem>,
) {
    check_badge_id(badge_id, problems);
    if customers == 0 || customers > MAX_BATCH {
        problems.push(Problem::invalid(
            field,
            format!("{field} must hold 1 to {MAX_BATCH} ids"),
        ));
    }
    check_request_id(request_id, problems);
}

fn check_request_id(id: &Option<String>, problems: &mut Vec<Problem>) {
    if let Some(id) = id {
        if id.is_empty() || id.len() > MAX_REQUEST_ID_BYTES {
            problems.push(Problem::invalid(
                "requestId",
                format!("requestId must be 1 to {MAX_REQUEST_ID_BYTES} bytes"),
            ));
        } else if id.contains('\0') {
            problems.push(super::shape::no_nul("requestId"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::problems::{
        CODE_NO_OWNER, CODE_OWNER_INVALID, CODE_START_AFTER_EXPIRY, CODE_START_IN_PAST,
    };

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

    fn by(now: Micros) -> Author {
        Author {
            org_id: 1,
            client_id: 7,
            now,
        }
    }

    #[test]
    fn badge_validation_reports_every_code() {
        let now = Micros(1_000 * DAY);
        let c = NewBadgeRequest {
            name: " ".into(),
            description: String::new(),
            earn_type: Ok(EarnType::Earn),
            starts_on: Ok(Some(Micros(now.0 - DAY))),
            expires_on: Ok(Some(Micros(now.0 - 2 * DAY))),
            active: true,
            group_id: None,
            rank: None,
            images: vec![],
            owners: vec![],
            earned_badge_expiry: Ok(ExpiryRule::Never),
            issued_badge_expiry: Ok(ExpiryRule::Never),
            extras: Default::default(),
            migration: false,
        };
        let codes: Vec<u32> = validate_badge(c.clone(), String::new(), by(now))
            .unwrap_err()
            .iter()
            .map(|p| p.code)
            .collect();
        assert_eq!(
            codes,
            [
                400,
                CODE_NO_OWNER,
                CODE_START_AFTER_EXPIRY,
                CODE_START_IN_PAST
            ]
        );
        let migration = NewBadgeRequest {
            migration: true,
            ..c.clone()
        };
        assert!(
            !validate_badge(migration, String::new(), by(now))
                .unwrap_err()
                .iter()
                .any(|p| p.code == CODE_START_IN_PAST)
        );
        let unread = NewBadgeRequest {
            name: "fine".into(),
            owners: vec![Err(crate::domain::fields::unknown_owner(
                "ownership.restrictedToOwners",
            ))],
            earn_type: Err(crate::domain::fields::unknown_earn_type()),
            starts_on: Ok(Some(Micros(now.0 + DAY))),
            expires_on: Ok(Some(Micros(now.0 + 2 * DAY))),
            ..c
        };
        let codes: Vec<u32> = validate_badge(unread, String::new(), by(now))
            .unwrap_err()
            .iter()
            .map(|p| p.code)
            .collect();
        assert_eq!(codes, [400, CODE_OWNER_INVALID], "714 and not also 728");
    }

    proptest::proptest! {
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
            let c = NewBadgeRequest {
                name,
                description: String::new(),
                earn_type: Ok(EarnType::Earn),
                starts_on: Ok(start.map(Micros)),
                expires_on: Ok(end.map(Micros)),
                active: true,
                group_id: group,
                rank: None,
                images: vec![],
                owners: vec![Ok(Owner::Loyalty)],
                earned_badge_expiry: Ok(ExpiryRule::Never),
                issued_badge_expiry: Ok(ExpiryRule::Never),
                extras: Default::default(),
                migration: false,
            };
            let _ = validate_badge(c, String::new(), by(Micros(now)));
        }
    }
}
