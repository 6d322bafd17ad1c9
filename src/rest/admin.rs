//! The admin routes of BEHAVIOUR.md §4 and the OAuth token route, in the
//! upstream JSON spellings. Bodies reject unknown fields; times are epoch
//! seconds or the `*ISO` twin field. Each handler reads its body into a
//! domain request (a field it cannot read carries its problem), calls the
//! shared service with the caller the gate authenticated, and answers its
//! typed envelope; every error goes through `ApiError`.

use std::sync::Arc;

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::Caller;
use super::error::{ApiError, rejection};
use super::json::{
    AwardJson, CustomerJson, EarnBulkJson, EarnedItemJson, EnrolAnswerJson, Envelope, EpochSeconds,
    ErrorJson, IssuedItemJson, RevokeIssueJson, RevokedJson, TokenJson, TriggeredByJson, ok,
};
use super::loose::{LooseCustomerId, LooseText, LooseTime, time};
use super::query::{self, IDENTIFIER_HEADER};
use crate::application::BadgeService;
use crate::auth::{Secret, Source};
use crate::domain::admin::{
    EarnBulkRequest, EarnRequest, EnrolRequest, ImportItemRequest, RevokeCommand,
    RevokeIssueRequest, UpsertCustomerCommand,
};
use crate::domain::enums::Owner;
use crate::domain::fields::{self, Field};
use crate::domain::list::{CustomerRef, customer_ref};
use crate::error::Error;

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
pub struct TriggeredByBody {
    owner_type: String,
    reference_id: LooseText,
}

/// A `triggeredBy` as the domain reads it.
fn triggered_by(t: Option<TriggeredByBody>) -> Result<Option<(Field<Owner>, String)>, ApiError> {
    t.map(|t| {
        Ok((
            fields::owner(&t.owner_type, "triggeredBy.ownerType"),
            invalid(t.reference_id.read("triggeredBy.referenceId"))?,
        ))
    })
    .transpose()
}

/// The `triggeredBy` an answer echoes.
fn triggered_by_json(t: &Option<(Field<Owner>, String)>) -> Option<TriggeredByJson> {
    match t {
        Some((Ok(owner), reference)) => Some(TriggeredByJson {
            owner_type: *owner,
            reference_id: Some(reference.clone()),
        }),
        _ => None,
    }
}

fn request_id(r: Option<LooseText>) -> Result<Option<String>, ApiError> {
    r.map(|r| invalid(r.read("requestId"))).transpose()
}

fn customer_ids(ids: &[LooseCustomerId], field: &str) -> Result<Vec<i64>, ApiError> {
    ids.iter()
        .enumerate()
        .map(|(i, c)| invalid(c.read(&format!("{field}[{i}]"))))
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnrolBody {
    badge_meta_id: String,
    customers: Vec<LooseCustomerId>,
    request_id: Option<LooseText>,
    issue_event_date: Option<LooseTime>,
    #[serde(rename = "issueEventDateISO")]
    issue_event_date_iso: Option<String>,
    triggered_by: Option<TriggeredByBody>,
}

pub async fn enrol(
    State(s): Svc,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<EnrolBody>,
) -> Answer<EnrolAnswerJson> {
    let EnrolBody {
        badge_meta_id,
        customers,
        request_id: id,
        issue_event_date,
        issue_event_date_iso,
        triggered_by: by,
    } = b;
    let request = EnrolRequest {
        badge_id: badge_meta_id.clone(),
        customers: customer_ids(&customers, "customers")?,
        request_id: request_id(id)?,
        issued_at: time(issue_event_date, issue_event_date_iso, "issueEventDate"),
        triggered_by: triggered_by(by)?,
    };
    let (echo, request_id) = (
        triggered_by_json(&request.triggered_by),
        request.request_id.clone(),
    );
    let outcomes = s.enrol(&caller, request).await?;
    Ok(ok(EnrolAnswerJson {
        badge_meta_id,
        triggered_by: echo,
        expires_on: outcomes
            .iter()
            .find_map(|o| o.issued_id.as_ref().and(o.expires_on))
            .map(EpochSeconds),
        issued_badges: outcomes
            .into_iter()
            .map(|o| IssuedItemJson {
                customer_id: o.customer_id,
                issued_id: o.issued_id,
                error: o.problems.into_iter().next().map(ErrorJson::from),
            })
            .collect(),
        request_id,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssualBody {
    customer_id: LooseCustomerId,
    issue_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevokeIssueBody {
    badge_meta_id: String,
    customers: Option<Vec<LooseCustomerId>>,
    revoke_issuals: Option<Vec<IssualBody>>,
    request_id: Option<LooseText>,
}

pub async fn revoke_issue(
    State(s): Svc,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<RevokeIssueBody>,
) -> Answer<RevokeIssueJson> {
    let RevokeIssueBody {
        badge_meta_id,
        customers,
        revoke_issuals,
        request_id: id,
    } = b;
    let issuals = revoke_issuals
        .map(|list| {
            list.into_iter()
                .enumerate()
                .map(|(i, b)| {
                    let id = invalid(
                        b.customer_id
                            .read(&format!("revokeIssuals[{i}].customerId")),
                    )?;
                    Ok((id, b.issue_id))
                })
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .transpose()?;
    let request = RevokeIssueRequest {
        badge_id: badge_meta_id.clone(),
        customers: customers
            .map(|c| customer_ids(&c, "customers"))
            .transpose()?,
        issuals,
        request_id: request_id(id)?,
    };
    let request_id = request.request_id.clone();
    let revoked = s.revoke_issue(&caller, request).await?;
    Ok(ok(RevokeIssueJson {
        badge_meta_id,
        revoked_issued_badges: revoked
            .into_iter()
            .map(|r| IssuedItemJson {
                customer_id: r.customer_id,
                issued_id: r.issued_id,
                error: r.problem.map(ErrorJson::from),
            })
            .collect(),
        request_id,
    }))
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
        request_id: id,
        earn_event_date,
        earn_event_date_iso,
        triggered_by: by,
    } = b;
    let request = EarnRequest {
        badge_id: badge_meta_id,
        customer_id: invalid(customer_id.read("customerId"))?,
        request_id: request_id(id)?,
        event_at: time(earn_event_date, earn_event_date_iso, "earnEventDate"),
        triggered_by: triggered_by(by)?,
    };
    let o = s.earn(&caller, request).await?;
    Ok(ok(AwardJson {
        badge_meta_id: o.badge_id,
        customer_id: o.customer_id,
        earned_badge_id: o.earned_badge_id,
        expires_on: o.expires_on.map(EpochSeconds),
        request_id: o.request_id,
        issued_id: Some(o.issued_id),
    }))
}

/// An earn for many, as upstream documents it (`customerIds`,
/// `earnEventDate`) and as its live curl sends it (`issueEventDate`, read
/// alike).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EarnBulkBody {
    badge_meta_id: String,
    customer_ids: Vec<LooseCustomerId>,
    request_id: Option<LooseText>,
    earn_event_date: Option<LooseTime>,
    #[serde(rename = "earnEventDateISO")]
    earn_event_date_iso: Option<String>,
    /// The name upstream's live curl uses; `earnEventDate` wins when both
    /// are given.
    issue_event_date: Option<LooseTime>,
    #[serde(rename = "issueEventDateISO")]
    issue_event_date_iso: Option<String>,
    triggered_by: Option<TriggeredByBody>,
}

pub async fn earn_bulk(
    State(s): Svc,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<EarnBulkBody>,
) -> Answer<EarnBulkJson> {
    let EarnBulkBody {
        badge_meta_id,
        customer_ids: ids,
        request_id: id,
        earn_event_date,
        earn_event_date_iso,
        issue_event_date,
        issue_event_date_iso,
        triggered_by: by,
    } = b;
    let event_at = if earn_event_date.is_some() || earn_event_date_iso.is_some() {
        time(earn_event_date, earn_event_date_iso, "earnEventDate")
    } else {
        time(issue_event_date, issue_event_date_iso, "issueEventDate")
    };
    let request = EarnBulkRequest {
        badge_id: badge_meta_id.clone(),
        customers: customer_ids(&ids, "customerIds")?,
        request_id: request_id(id)?,
        event_at,
        triggered_by: triggered_by(by)?,
    };
    let (echo, request_id) = (
        triggered_by_json(&request.triggered_by),
        request.request_id.clone(),
    );
    let outcome = s.earn_bulk(&caller, request).await?;
    Ok(ok(EarnBulkJson {
        badge_meta_id,
        triggered_by: echo,
        request_id,
        earned_badges: outcome
            .items
            .into_iter()
            .map(|i| EarnedItemJson {
                customer_id: i.customer_id,
                earned_badge_id: i.earned_badge_id,
                issued_id: i.issued_id,
                expires_on: i.expires_on.map(EpochSeconds),
                error: i.problem.map(ErrorJson::from),
            })
            .collect(),
    }))
}

/// A revocation of an award; `customerId` is a number (or its text), or
/// the identifier `X-CAP-CUSTOMER-IDENTIFIER` names.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevokeBody {
    badge_meta_id: String,
    customer_id: LooseText,
    earned_badge_id: String,
}

pub async fn revoke(
    State(s): Svc,
    Caller(caller): Caller,
    headers: HeaderMap,
    JsonBody(b): JsonBody<RevokeBody>,
) -> Answer<RevokedJson> {
    let RevokeBody {
        badge_meta_id,
        customer_id,
        earned_badge_id,
    } = b;
    let kind = invalid(query::identifier_type(
        headers.get(IDENTIFIER_HEADER).map(|v| v.as_bytes()),
    ))?;
    let raw = invalid(customer_id.read("customerId"))?;
    let mut problems = Vec::new();
    let customer = match kind {
        None => Some(CustomerRef::Id(invalid(
            LooseCustomerId::text(raw).read("customerId"),
        )?)),
        kind => customer_ref(&raw, kind, &mut problems),
    };
    let Some(customer) = customer else {
        return Err(ApiError(Error::Invalid(problems)));
    };
    let o = s
        .revoke(
            &caller,
            RevokeCommand {
                badge_id: badge_meta_id,
                customer,
                earned_badge_id,
            },
        )
        .await?;
    Ok(ok(RevokedJson {
        badge_meta_id: o.badge_id,
        customer_id: o.customer_id,
        earned_badge_id: o.earned_badge_id,
        is_active: false,
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
                    issued_id: None,
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
