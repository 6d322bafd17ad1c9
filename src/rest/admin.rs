//! The admin routes of BEHAVIOUR.md §4 and the OAuth token route, in the
//! upstream JSON spellings. Bodies reject unknown fields; times are epoch
//! seconds or the `*ISO` twin field. Each handler reads its body into a
//! domain request (a field it cannot read carries its problem), calls the
//! shared service with the caller the gate authenticated, and answers its
//! typed envelope; every error goes through `ApiError`.

use std::sync::Arc;

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::Caller;
use super::error::{ApiError, rejection};
use super::json::{
    AwardJson, CustomerJson, EnrolmentJson, Envelope, EpochSeconds, RevokedJson, TokenJson, ok,
};
use super::loose::{LooseCustomerId, LooseText, LooseTime, time};
use crate::application::BadgeService;
use crate::auth::{Secret, Source};
use crate::domain::admin::{
    EarnRequest, EnrolRequest, ImportItemRequest, RevokeCommand, UpsertCustomerCommand,
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

/// A value read from a loose field, or the 400 of its problem.
fn invalid<T>(field: crate::domain::fields::Field<T>) -> Result<T, ApiError> {
    field.map_err(|p| ApiError(crate::error::Error::Invalid(vec![p])))
}

// ---- customers

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerBody {
    customer_id: LooseCustomerId,
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
        customer_id: invalid(customer_id.read("customerId"))?,
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
    customers: Vec<LooseCustomerId>,
    request_id: Option<LooseText>,
    issue_event_date: Option<LooseTime>,
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
        customers: customers
            .iter()
            .enumerate()
            .map(|(i, c)| invalid(c.read(&format!("customers[{i}]"))))
            .collect::<Result<_, _>>()?,
        request_id: request_id
            .map(|r| invalid(r.read("requestId")))
            .transpose()?,
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
    reference_id: LooseText,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EarnBody {
    badge_meta_id: String,
    customer_id: LooseCustomerId,
    request_id: Option<LooseText>,
    earn_event_date: Option<LooseTime>,
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
    let triggered_by = match triggered_by {
        None => None,
        Some(t) => Some((
            fields::owner(&t.owner_type, "triggeredBy.ownerType"),
            invalid(t.reference_id.read("triggeredBy.referenceId"))?,
        )),
    };
    let request = EarnRequest {
        badge_id: badge_meta_id,
        customer_id: invalid(customer_id.read("customerId"))?,
        request_id: request_id
            .map(|r| invalid(r.read("requestId")))
            .transpose()?,
        event_at: time(earn_event_date, earn_event_date_iso, "earnEventDate"),
        triggered_by,
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
    customer_id: LooseCustomerId,
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
        customer_id: invalid(customer_id.read("customerId"))?,
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
    customer_id: LooseCustomerId,
    earn_event_date: Option<LooseTime>,
    #[serde(rename = "earnEventDateISO")]
    earn_event_date_iso: Option<String>,
    earn_expires_on: Option<LooseTime>,
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
        .enumerate()
        .map(|(i, b)| {
            let ImportBody {
                badge_meta_id,
                customer_id,
                earn_event_date,
                earn_event_date_iso,
                earn_expires_on,
                earn_expires_on_iso,
            } = b;
            Ok(ImportItemRequest {
                badge_id: badge_meta_id,
                customer_id: invalid(customer_id.read(&format!("[{i}].customerId")))?,
                event_at: time(earn_event_date, earn_event_date_iso, "earnEventDate"),
                expires_on: time(earn_expires_on, earn_expires_on_iso, "earnExpiresOn"),
            })
        })
        .collect::<Result<_, ApiError>>()?;
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
