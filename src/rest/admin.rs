//! The admin routes of BEHAVIOUR.md §4 and the OAuth token route, in the
//! upstream JSON spellings. Bodies reject unknown fields; times are epoch
//! seconds or the `*ISO` twin field. Each handler reads its body into a
//! domain command and calls the shared service.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::Caller;
use super::error::{ApiError, rejection};
use super::json::{EpochSeconds, ErrorJson};
use crate::auth::Principal;
use crate::auth::Secret;
use crate::domain::admin::{
    BadgeDefinition, CODE_OWNER_INVALID, ClaimCommand, EarnCommand, EnrolCommand, ExpiryRule,
    ImportItem, NewBadgeCommand, NewGroupCommand, RevokeCommand, UpsertCustomerCommand, problem,
};
use crate::domain::enums::{EarnType, Owner};
use crate::domain::list::{Claim, Image};
use crate::domain::{Micros, Problem};
use crate::service::BadgeService;

/// The header that allows a badge to start in the past.
pub const MIGRATION_HEADER: &str = "X-CAP-BADGES-MIGRATION";

type Svc = State<Arc<BadgeService>>;
type Body<T> = Result<Json<T>, JsonRejection>;

/// The success envelope.
fn ok<T: Serialize>(data: T) -> Response {
    Json(serde_json::json!({ "data": data, "errors": [], "warnings": [] })).into_response()
}

/// A body that could not be read as its JSON (the gate already answered
/// 401/403 for the caller).
fn bad_body(e: JsonRejection) -> Response {
    let status = match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    rejection(status, &e.body_text(), Some("body"))
}

/// Epoch seconds (a JSON number) or its `*ISO` twin; a problem when both or
/// neither are given (unless optional), or when malformed.
fn time(
    seconds: Option<f64>,
    iso: Option<&str>,
    field: &str,
    required: bool,
    problems: &mut Vec<Problem>,
) -> Option<Micros> {
    match (seconds, iso) {
        (Some(_), Some(_)) => {
            problems.push(problem(
                400,
                format!("give {field} or {field}ISO, not both"),
                field,
            ));
            None
        }
        (Some(s), None) => {
            let micros = s * 1_000_000.0;
            if s.is_finite() && micros.abs() < 9.0e18 {
                Some(Micros(micros.round() as i64))
            } else {
                problems.push(problem(400, format!("{field} is out of range"), field));
                None
            }
        }
        (None, Some(text)) => {
            let parsed = Micros::parse_iso(text);
            if parsed.is_none() {
                problems.push(problem(
                    400,
                    format!("{field}ISO must be an ISO 8601 time"),
                    field,
                ));
            }
            parsed
        }
        (None, None) => {
            if required {
                problems.push(problem(400, format!("{field} is required"), field));
            }
            None
        }
    }
}

fn owner(raw: &str, field: &str, problems: &mut Vec<Problem>) -> Option<Owner> {
    let parsed = Owner::parse(raw);
    if parsed.is_none() {
        problems.push(problem(
            CODE_OWNER_INVALID,
            format!("{field} must be one of {}", Owner::expected()),
            field,
        ));
    }
    parsed
}

// ---- groups

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupBody {
    name: String,
    rank: Option<i32>,
}

pub async fn create_group(
    State(s): Svc,
    Caller(caller): Caller,
    body: Body<GroupBody>,
) -> Response {
    let Json(b) = match body {
        Ok(b) => b,
        Err(e) => return bad_body(e),
    };
    let command = NewGroupCommand {
        name: b.name,
        rank: b.rank,
    };
    match s.create_group(&caller, command, vec![]).await {
        Ok(g) => ok(serde_json::json!({ "id": g.id, "name": g.name, "rank": g.rank })),
        Err(e) => ApiError(e).into_response(),
    }
}

// ---- badges

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OwnershipBody {
    restricted_to_owners: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BadgeBody {
    name: String,
    #[serde(default)]
    description: String,
    earn_type: String,
    start_on: Option<f64>,
    #[serde(rename = "startOnISO")]
    start_on_iso: Option<String>,
    expires_on: Option<f64>,
    #[serde(rename = "expiresOnISO")]
    expires_on_iso: Option<String>,
    #[serde(default)]
    active: bool,
    badge_group_id: Option<String>,
    badge_rank: Option<i32>,
    #[serde(default)]
    images: Vec<Image>,
    ownership: Option<OwnershipBody>,
    #[serde(default)]
    earned_badge_expiry: ExpiryRule,
    #[serde(default)]
    issued_badge_expiry: ExpiryRule,
}

/// A stored badge in the upstream spelling.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BadgeJson {
    id: String,
    name: String,
    description: String,
    earn_type: &'static str,
    start_on: EpochSeconds,
    expires_on: EpochSeconds,
    active: bool,
    badge_group_id: Option<String>,
    badge_rank: Option<i32>,
    images: Vec<Image>,
    ownership: OwnershipJson,
    earned_badge_expiry: ExpiryRule,
    issued_badge_expiry: ExpiryRule,
    created_on: EpochSeconds,
    last_updated_on: EpochSeconds,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OwnershipJson {
    restricted_to_owners: Vec<Owner>,
    claims: Vec<ClaimJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClaimJson {
    owner_type: Owner,
    reference_id: String,
    is_active: bool,
}

impl From<BadgeDefinition> for BadgeJson {
    fn from(b: BadgeDefinition) -> Self {
        BadgeJson {
            id: b.id,
            name: b.name,
            description: b.description,
            earn_type: b.earn_type.as_str(),
            start_on: EpochSeconds(b.starts_on),
            expires_on: EpochSeconds(b.expires_on),
            active: b.active,
            badge_group_id: b.group_id,
            badge_rank: b.rank,
            images: b.images,
            ownership: OwnershipJson {
                restricted_to_owners: b.owners,
                claims: b
                    .claims
                    .into_iter()
                    .map(
                        |Claim {
                             owner_type,
                             reference_id,
                             is_active,
                         }| ClaimJson {
                            owner_type,
                            reference_id,
                            is_active,
                        },
                    )
                    .collect(),
            },
            earned_badge_expiry: b.earned_badge_expiry,
            issued_badge_expiry: b.issued_badge_expiry,
            created_on: EpochSeconds(b.created_on),
            last_updated_on: EpochSeconds(b.last_updated_on),
        }
    }
}

fn badge_answer(r: crate::error::Result<BadgeDefinition>) -> Response {
    match r {
        Ok(b) => ok(BadgeJson::from(b)),
        Err(e) => ApiError(e).into_response(),
    }
}

pub async fn create_badge(
    State(s): Svc,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Body<BadgeBody>,
) -> Response {
    let Json(b) = match body {
        Ok(b) => b,
        Err(e) => return bad_body(e),
    };
    let mut problems = Vec::new();
    let earn_type = EarnType::parse(&b.earn_type);
    if earn_type.is_none() {
        problems.push(problem(
            400,
            format!("earnType must be one of {}", EarnType::expected()),
            "earnType",
        ));
    }
    let starts_on = time(
        b.start_on,
        b.start_on_iso.as_deref(),
        "startOn",
        false,
        &mut problems,
    );
    let expires_on = time(
        b.expires_on,
        b.expires_on_iso.as_deref(),
        "expiresOn",
        false,
        &mut problems,
    );
    let owners: Vec<Owner> = b
        .ownership
        .map(|o| o.restricted_to_owners)
        .unwrap_or_default()
        .iter()
        .filter_map(|o| owner(o, "ownership.restrictedToOwners", &mut problems))
        .collect();
    let migration = headers
        .get(MIGRATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("migration"));
    let command = NewBadgeCommand {
        name: b.name,
        description: b.description,
        earn_type: earn_type.unwrap_or(EarnType::Earn),
        starts_on,
        expires_on,
        active: b.active,
        group_id: b.badge_group_id,
        rank: b.badge_rank,
        images: b.images,
        owners,
        earned_badge_expiry: b.earned_badge_expiry,
        issued_badge_expiry: b.issued_badge_expiry,
        migration,
    };
    // An owner list holding only invalid owners is reported as invalid (714)
    // and not also as empty (728): `service::checked` keeps one problem per field.
    badge_answer(s.create_badge(&caller, command, problems).await)
}

pub async fn activate(State(s): Svc, Caller(caller): Caller, Path(id): Path<String>) -> Response {
    badge_answer(s.set_badge_active(&caller, &id, true).await)
}

pub async fn deactivate(State(s): Svc, Caller(caller): Caller, Path(id): Path<String>) -> Response {
    badge_answer(s.set_badge_active(&caller, &id, false).await)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimBody {
    owner_type: String,
    reference_id: String,
}

async fn claim_or_unclaim(
    s: Arc<BadgeService>,
    caller: Principal,
    id: String,
    body: Body<ClaimBody>,
    active: bool,
) -> Response {
    let Json(b) = match body {
        Ok(b) => b,
        Err(e) => return bad_body(e),
    };
    let mut problems = Vec::new();
    let owner_type = owner(&b.owner_type, "ownerType", &mut problems);
    let Some(owner_type) = owner_type else {
        return ApiError(crate::error::Error::Invalid(problems)).into_response();
    };
    let command = ClaimCommand {
        badge_id: id,
        owner_type,
        reference_id: b.reference_id,
    };
    badge_answer(s.set_claim(&caller, command, active, problems).await)
}

pub async fn claim(
    State(s): Svc,
    Caller(caller): Caller,
    Path(id): Path<String>,
    body: Body<ClaimBody>,
) -> Response {
    claim_or_unclaim(s, caller, id, body, true).await
}

pub async fn unclaim(
    State(s): Svc,
    Caller(caller): Caller,
    Path(id): Path<String>,
    body: Body<ClaimBody>,
) -> Response {
    claim_or_unclaim(s, caller, id, body, false).await
}

// ---- customers

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerBody {
    customer_id: i64,
    email: Option<String>,
    mobile: Option<String>,
    external_id: Option<String>,
    card_number: Option<String>,
}

pub async fn upsert_customer(
    State(s): Svc,
    Caller(caller): Caller,
    body: Body<CustomerBody>,
) -> Response {
    let Json(b) = match body {
        Ok(b) => b,
        Err(e) => return bad_body(e),
    };
    let command = UpsertCustomerCommand {
        customer_id: b.customer_id,
        email: b.email,
        mobile: b.mobile,
        external_id: b.external_id,
        card_number: b.card_number,
    };
    match s.upsert_customer(&caller, command, vec![]).await {
        Ok(id) => ok(serde_json::json!({ "customerId": id })),
        Err(e) => ApiError(e).into_response(),
    }
}

// ---- enrolments and awards

/// One item's envelope in a batch answer.
#[derive(Serialize)]
struct ItemEnvelope<T: Serialize> {
    data: Option<T>,
    errors: Vec<ErrorJson>,
    warnings: Vec<ErrorJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrolBody {
    badge_meta_id: String,
    customers: Vec<i64>,
    request_id: Option<String>,
    issue_event_date: Option<f64>,
    #[serde(rename = "issueEventDateISO")]
    issue_event_date_iso: Option<String>,
}

pub async fn enrol(State(s): Svc, Caller(caller): Caller, body: Body<EnrolBody>) -> Response {
    let Json(b) = match body {
        Ok(b) => b,
        Err(e) => return bad_body(e),
    };
    let mut problems = Vec::new();
    let issued_at = time(
        b.issue_event_date,
        b.issue_event_date_iso.as_deref(),
        "issueEventDate",
        false,
        &mut problems,
    );
    let badge_id = b.badge_meta_id.clone();
    let command = EnrolCommand {
        badge_id: b.badge_meta_id,
        customers: b.customers,
        request_id: b.request_id,
        issued_at,
    };
    match s.enrol(&caller, command, problems).await {
        Ok(outcomes) => Json(
            outcomes
                .into_iter()
                .map(|o| {
                    let ok = o.problems.is_empty();
                    ItemEnvelope {
                        data: ok.then(|| {
                            serde_json::json!({
                                "badgeMetaId": badge_id,
                                "customerId": o.customer_id,
                                "expiresOn": o.expires_on.map(EpochSeconds),
                            })
                        }),
                        errors: o.problems.into_iter().map(ErrorJson::from).collect(),
                        warnings: vec![],
                    }
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TriggeredByBody {
    owner_type: String,
    reference_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EarnBody {
    badge_meta_id: String,
    customer_id: i64,
    request_id: Option<String>,
    earn_event_date: Option<f64>,
    #[serde(rename = "earnEventDateISO")]
    earn_event_date_iso: Option<String>,
    triggered_by: Option<TriggeredByBody>,
}

pub async fn earn(State(s): Svc, Caller(caller): Caller, body: Body<EarnBody>) -> Response {
    let Json(b) = match body {
        Ok(b) => b,
        Err(e) => return bad_body(e),
    };
    let mut problems = Vec::new();
    let event_at = time(
        b.earn_event_date,
        b.earn_event_date_iso.as_deref(),
        "earnEventDate",
        false,
        &mut problems,
    );
    let triggered_by = b.triggered_by.and_then(|t| {
        owner(&t.owner_type, "triggeredBy.ownerType", &mut problems).map(|o| (o, t.reference_id))
    });
    let command = EarnCommand {
        badge_id: b.badge_meta_id,
        customer_id: b.customer_id,
        request_id: b.request_id,
        event_at,
        triggered_by,
    };
    match s.earn(&caller, command, problems).await {
        Ok(o) => ok(serde_json::json!({
            "badgeMetaId": o.badge_id,
            "customerId": o.customer_id,
            "earnedBadgeId": o.earned_badge_id,
            "expiresOn": o.expires_on.map(EpochSeconds),
            "requestId": o.request_id,
        })),
        Err(e) => ApiError(e).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevokeBody {
    badge_meta_id: String,
    customer_id: i64,
    earned_badge_id: String,
}

pub async fn revoke(State(s): Svc, Caller(caller): Caller, body: Body<RevokeBody>) -> Response {
    let Json(b) = match body {
        Ok(b) => b,
        Err(e) => return bad_body(e),
    };
    let earned_badge_id = b.earned_badge_id.clone();
    let command = RevokeCommand {
        badge_id: b.badge_meta_id,
        customer_id: b.customer_id,
        earned_badge_id: b.earned_badge_id,
    };
    match s.revoke(&caller, command, vec![]).await {
        Ok(()) => ok(serde_json::json!({ "earnedBadgeId": earned_badge_id, "revoked": true })),
        Err(e) => ApiError(e).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportBody {
    badge_meta_id: String,
    customer_id: i64,
    earn_event_date: Option<f64>,
    #[serde(rename = "earnEventDateISO")]
    earn_event_date_iso: Option<String>,
    earn_expires_on: Option<f64>,
    #[serde(rename = "earnExpiresOnISO")]
    earn_expires_on_iso: Option<String>,
}

pub async fn import(
    State(s): Svc,
    Caller(caller): Caller,
    body: Body<Vec<ImportBody>>,
) -> Response {
    let Json(items) = match body {
        Ok(b) => b,
        Err(e) => return bad_body(e),
    };
    let mut problems = Vec::new();
    let items: Vec<ImportItem> = items
        .into_iter()
        .enumerate()
        .filter_map(|(i, b)| {
            let mut own = Vec::new();
            let event_at = time(
                b.earn_event_date,
                b.earn_event_date_iso.as_deref(),
                "earnEventDate",
                true,
                &mut own,
            );
            let expires_on = time(
                b.earn_expires_on,
                b.earn_expires_on_iso.as_deref(),
                "earnExpiresOn",
                false,
                &mut own,
            );
            problems.extend(own.into_iter().map(|mut p| {
                p.reference = p.reference.map(|r| format!("[{i}].{r}"));
                p
            }));
            Some(ImportItem {
                badge_id: b.badge_meta_id,
                customer_id: b.customer_id,
                event_at: event_at?,
                expires_on,
            })
        })
        .collect();
    match s.import(&caller, items, problems).await {
        Ok(outcomes) => Json(
            outcomes
                .into_iter()
                .map(|o| match o.result {
                    Ok((earned_badge_id, expires_on)) => ItemEnvelope {
                        data: Some(serde_json::json!({
                            "badgeMetaId": o.badge_id,
                            "customerId": o.customer_id,
                            "earnedBadgeId": earned_badge_id,
                            "expiresOn": expires_on.map(EpochSeconds),
                        })),
                        errors: vec![],
                        warnings: vec![],
                    },
                    Err(problems) => ItemEnvelope {
                        data: None,
                        errors: problems.into_iter().map(ErrorJson::from).collect(),
                        warnings: vec![],
                    },
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

// ---- OAuth

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    key: String,
    secret: String,
}

pub async fn generate_token(State(s): Svc, body: Body<TokenBody>) -> Response {
    let Json(b) = match body {
        Ok(b) => b,
        Err(e) => return rejection(StatusCode::BAD_REQUEST, &e.body_text(), Some("body")),
    };
    match s.issue_token(&b.key, Secret::new(b.secret)).await {
        Ok(t) => ok(serde_json::json!({
            "accessToken": t.access_token.expose(),
            "ttlSeconds": t.ttl_seconds,
        })),
        Err(e) => ApiError(e).into_response(),
    }
}
