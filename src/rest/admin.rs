//! The admin routes of BEHAVIOUR.md §4 and the OAuth token route, in the
//! upstream JSON spellings. Bodies reject unknown fields; times are epoch
//! seconds or the `*ISO` twin field. Each handler reads its body into a
//! domain request (a field it cannot read carries its problem), calls the
//! shared service with the caller the gate authenticated, and answers its
//! typed envelope; every error goes through `ApiError`.

use std::sync::Arc;

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::Caller;
use super::error::{ApiError, rejection};
use super::json::{
    AwardJson, BadgeDefinitionJson, CustomerJson, EnrolmentJson, Envelope, EpochSeconds,
    ExpiryJson, GroupJson, ImageJson, RevokedJson, TokenJson, ok,
};
use crate::application::BadgeService;
use crate::auth::{Secret, Source};
use crate::domain::admin::{
    ClaimRequest, EarnRequest, EnrolRequest, ImportItemRequest, NewBadgeRequest, NewGroupCommand,
    RevokeCommand, UpsertCustomerCommand,
};
use crate::domain::fields;

/// The header that allows a badge to start in the past.
pub const MIGRATION_HEADER: &str = "X-CAP-BADGES-MIGRATION";

type Svc = State<Arc<BadgeService>>;
type Answer<T> = Result<Json<Envelope<T>>, ApiError>;

/// A JSON body. One that is not its JSON is a 400 (413 when too large), in
/// the envelope, naming `body`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(e) => {
                let status = match e.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
                    _ => StatusCode::BAD_REQUEST,
                };
                Err(rejection(status, &e.body_text(), Some("body")))
            }
        }
    }
}

/// A time of a body: epoch seconds or its `*ISO` twin.
fn time(
    seconds: Option<f64>,
    iso: Option<String>,
    field: &str,
) -> fields::Field<Option<crate::domain::Micros>> {
    fields::epoch_or_iso(seconds, iso.as_deref(), field)
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
    JsonBody(b): JsonBody<GroupBody>,
) -> Answer<GroupJson> {
    let GroupBody { name, rank } = b;
    let g = s
        .create_group(&caller, NewGroupCommand { name, rank })
        .await?;
    Ok(ok(g.into()))
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
    images: Vec<ImageJson>,
    ownership: Option<OwnershipBody>,
    earned_badge_expiry: Option<ExpiryJson>,
    issued_badge_expiry: Option<ExpiryJson>,
}

pub async fn create_badge(
    State(s): Svc,
    Caller(caller): Caller,
    headers: HeaderMap,
    JsonBody(b): JsonBody<BadgeBody>,
) -> Answer<BadgeDefinitionJson> {
    let BadgeBody {
        name,
        description,
        earn_type,
        start_on,
        start_on_iso,
        expires_on,
        expires_on_iso,
        active,
        badge_group_id,
        badge_rank,
        images,
        ownership,
        earned_badge_expiry,
        issued_badge_expiry,
    } = b;
    let migration = headers
        .get(MIGRATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("migration"));
    let request = NewBadgeRequest {
        name,
        description,
        earn_type: fields::earn_type(&earn_type),
        starts_on: time(start_on, start_on_iso, "startOn"),
        expires_on: time(expires_on, expires_on_iso, "expiresOn"),
        active,
        group_id: badge_group_id,
        rank: badge_rank,
        images: images.into_iter().map(Into::into).collect(),
        owners: ownership
            .map(|o| o.restricted_to_owners)
            .unwrap_or_default()
            .iter()
            .map(|o| fields::owner(o, "ownership.restrictedToOwners"))
            .collect(),
        earned_badge_expiry: ExpiryJson::read(earned_badge_expiry, "earnedBadgeExpiry"),
        issued_badge_expiry: ExpiryJson::read(issued_badge_expiry, "issuedBadgeExpiry"),
        migration,
    };
    Ok(ok(s.create_badge(&caller, request).await?.into()))
}

pub async fn activate(
    State(s): Svc,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Answer<BadgeDefinitionJson> {
    Ok(ok(s.set_badge_active(&caller, &id, true).await?.into()))
}

pub async fn deactivate(
    State(s): Svc,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Answer<BadgeDefinitionJson> {
    Ok(ok(s.set_badge_active(&caller, &id, false).await?.into()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimBody {
    owner_type: String,
    reference_id: String,
}

fn claim_request(badge_id: String, b: ClaimBody) -> ClaimRequest {
    let ClaimBody {
        owner_type,
        reference_id,
    } = b;
    ClaimRequest {
        badge_id,
        owner_type: fields::owner(&owner_type, "ownerType"),
        reference_id,
    }
}

pub async fn claim(
    State(s): Svc,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ClaimBody>,
) -> Answer<BadgeDefinitionJson> {
    let badge = s.set_claim(&caller, claim_request(id, b), true).await?;
    Ok(ok(badge.into()))
}

pub async fn unclaim(
    State(s): Svc,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ClaimBody>,
) -> Answer<BadgeDefinitionJson> {
    let badge = s.set_claim(&caller, claim_request(id, b), false).await?;
    Ok(ok(badge.into()))
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
    JsonBody(b): JsonBody<CustomerBody>,
) -> Answer<CustomerJson> {
    let CustomerBody {
        customer_id,
        email,
        mobile,
        external_id,
        card_number,
    } = b;
    let command = UpsertCustomerCommand {
        customer_id,
        email,
        mobile,
        external_id,
        card_number,
    };
    let customer_id = s.upsert_customer(&caller, command).await?;
    Ok(ok(CustomerJson { customer_id }))
}

// ---- enrolments and awards

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

pub async fn enrol(
    State(s): Svc,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<EnrolBody>,
) -> Result<Json<Vec<Envelope<EnrolmentJson>>>, ApiError> {
    let EnrolBody {
        badge_meta_id,
        customers,
        request_id,
        issue_event_date,
        issue_event_date_iso,
    } = b;
    let request = EnrolRequest {
        badge_id: badge_meta_id.clone(),
        customers,
        request_id,
        issued_at: time(issue_event_date, issue_event_date_iso, "issueEventDate"),
    };
    let outcomes = s.enrol(&caller, request).await?;
    Ok(Json(
        outcomes
            .into_iter()
            .map(|o| {
                if o.problems.is_empty() {
                    Envelope::of(EnrolmentJson {
                        badge_meta_id: badge_meta_id.clone(),
                        customer_id: o.customer_id,
                        expires_on: o.expires_on.map(EpochSeconds),
                    })
                } else {
                    Envelope::failed(o.problems)
                }
            })
            .collect(),
    ))
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

pub async fn earn(
    State(s): Svc,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<EarnBody>,
) -> Answer<AwardJson> {
    let EarnBody {
        badge_meta_id,
        customer_id,
        request_id,
        earn_event_date,
        earn_event_date_iso,
        triggered_by,
    } = b;
    let request = EarnRequest {
        badge_id: badge_meta_id,
        customer_id,
        request_id,
        event_at: time(earn_event_date, earn_event_date_iso, "earnEventDate"),
        triggered_by: triggered_by.map(|t| {
            (
                fields::owner(&t.owner_type, "triggeredBy.ownerType"),
                t.reference_id,
            )
        }),
    };
    let o = s.earn(&caller, request).await?;
    Ok(ok(AwardJson {
        badge_meta_id: o.badge_id,
        customer_id: o.customer_id,
        earned_badge_id: o.earned_badge_id,
        expires_on: o.expires_on.map(EpochSeconds),
        request_id: Some(o.request_id),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevokeBody {
    badge_meta_id: String,
    customer_id: i64,
    earned_badge_id: String,
}

pub async fn revoke(
    State(s): Svc,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<RevokeBody>,
) -> Answer<RevokedJson> {
    let RevokeBody {
        badge_meta_id,
        customer_id,
        earned_badge_id,
    } = b;
    let command = RevokeCommand {
        badge_id: badge_meta_id,
        customer_id,
        earned_badge_id: earned_badge_id.clone(),
    };
    s.revoke(&caller, command).await?;
    Ok(ok(RevokedJson {
        earned_badge_id,
        revoked: true,
    }))
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
    JsonBody(items): JsonBody<Vec<ImportBody>>,
) -> Result<Json<Vec<Envelope<AwardJson>>>, ApiError> {
    let items = items
        .into_iter()
        .map(|b| {
            let ImportBody {
                badge_meta_id,
                customer_id,
                earn_event_date,
                earn_event_date_iso,
                earn_expires_on,
                earn_expires_on_iso,
            } = b;
            ImportItemRequest {
                badge_id: badge_meta_id,
                customer_id,
                event_at: time(earn_event_date, earn_event_date_iso, "earnEventDate"),
                expires_on: time(earn_expires_on, earn_expires_on_iso, "earnExpiresOn"),
            }
        })
        .collect();
    let outcomes = s.import(&caller, items).await?;
    Ok(Json(
        outcomes
            .into_iter()
            .map(|o| match o.result {
                Ok((earned_badge_id, expires_on)) => Envelope::of(AwardJson {
                    badge_meta_id: o.badge_id,
                    customer_id: o.customer_id,
                    earned_badge_id,
                    expires_on: expires_on.map(EpochSeconds),
                    request_id: None,
                }),
                Err(problems) => Envelope::failed(problems),
            })
            .collect(),
    ))
}

// ---- OAuth

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    key: String,
    secret: String,
}

pub async fn generate_token(
    State(s): Svc,
    source: Option<Extension<Source>>,
    JsonBody(b): JsonBody<TokenBody>,
) -> Answer<TokenJson> {
    let TokenBody { key, secret } = b;
    let source = source.map(|Extension(s)| s).unwrap_or_default();
    let t = s.issue_token(&key, Secret::new(secret), source).await?;
    Ok(ok(TokenJson {
        access_token: t.access_token.expose().to_owned(),
        ttl_seconds: t.ttl_seconds,
    }))
}
