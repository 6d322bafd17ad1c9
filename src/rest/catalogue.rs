//! The catalogue's routes (BEHAVIOUR.md §9): badges, groups and custom
//! fields, read and written in upstream's bodies as upstream's clients send
//! them (§9.1). Each handler reads its body into a domain request (a field
//! it cannot read carries its problem), calls the application with the
//! caller the gate authenticated, and answers upstream's shape.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::Caller;
use super::admin::{JsonBody, MIGRATION_HEADER};
use super::catalogue_json::{
    ActivationJson, BadgeJson, BadgeListJson, BadgeView, ClaimedJson, CustomFieldJson,
    CustomFieldListJson, FixedWindowJson, GroupJson, GroupListJson, UnclaimedJson,
};
use super::error::ApiError;
use super::json::{Envelope, ImageJson, ok};
use super::loose::{self, LooseText, LooseTime, Scalar, time};
use super::query;
use crate::application::BadgeService;
use crate::domain::Problem;
use crate::domain::admin::{ClaimRequest, ExpiryRule, NewBadgeRequest, NewGroupCommand};
use crate::domain::badge::{Extras, Tag};
use crate::domain::custom_fields::CustomFieldRequest;
use crate::domain::enums::SortOrder;
use crate::domain::fields::{self, AbsoluteType, ExpiryKind, ExpiryParts, Field};
use crate::domain::fixed_windows::{FixedWindowParams, Which};
use crate::domain::org_list::Paging;
use crate::error::Error;

type Svc = State<Arc<BadgeService>>;
type Answer<T> = Result<Json<Envelope<T>>, ApiError>;

fn paging(query: Option<&str>) -> Result<Paging, ApiError> {
    query::paging_params(query, |_, _| Ok(false)).map_err(|p| ApiError(Error::Invalid(p)))
}

// ---- groups

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupBody {
    name: String,
    #[serde(default, deserialize_with = "loose::whole")]
    rank: Option<i32>,
}

pub async fn create_group(
    State(s): Svc,
    Caller(caller): Caller,
    JsonBody(GroupBody { name, rank }): JsonBody<GroupBody>,
) -> Answer<GroupJson> {
    let g = s
        .create_group(&caller, NewGroupCommand { name, rank })
        .await?;
    Ok(ok(g.into()))
}

pub async fn update_group(
    State(s): Svc,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(GroupBody { name, rank }): JsonBody<GroupBody>,
) -> Answer<GroupJson> {
    let g = s
        .update_group(&caller, &id, NewGroupCommand { name, rank })
        .await?;
    Ok(ok(g.into()))
}

pub async fn get_group(
    State(s): Svc,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Answer<GroupJson> {
    Ok(ok(s.get_group(&caller, &id).await?.into()))
}

pub async fn list_groups(
    State(s): Svc,
    Caller(caller): Caller,
    RawQuery(q): RawQuery,
) -> Answer<GroupListJson> {
    let paging = paging(q.as_deref())?;
    let listed = s.list_groups(&caller, paging).await?;
    Ok(ok(GroupListJson::of(listed, paging.page, paging.size)))
}

// ---- badges

/// An expiry rule as upstream's clients write it (see `fields::expiry`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpiryBody {
    expiry_type: String,
    relative_expiry_type: Option<String>,
    /// Upstream's own spelling, in every one of its examples: when a body
    /// gives both spellings, this one wins.
    #[serde(rename = "relativeExpirytype")]
    relative_expirytype: Option<String>,
    #[serde(default, deserialize_with = "loose::whole")]
    value: Option<u32>,
    #[serde(rename = "type")]
    absolute_type: Option<String>,
    expires_on: Option<LooseTime>,
    expire_with_badge_meta: Option<bool>,
}

impl ExpiryBody {
    /// The rule (NEVER when absent or null), or the problem of `field`.
    fn read(rule: Option<ExpiryBody>, field: &str) -> Field<ExpiryRule> {
        let Some(r) = rule else {
            return Ok(ExpiryRule::Never);
        };
        let expires_on = time(r.expires_on, None, &format!("{field}.expiresOn"))?
            .map(|m| m.0.div_euclid(1_000_000));
        fields::expiry(
            ExpiryParts {
                kind: Some(ExpiryKind::parse(&r.expiry_type).ok_or(())),
                unit: r
                    .relative_expirytype
                    .or(r.relative_expiry_type)
                    .map(|u| crate::domain::admin::RelativeUnit::parse(&u).ok_or(())),
                value: r.value,
                expires_on,
                absolute_type: r.absolute_type.map(|t| AbsoluteType::parse(&t).ok_or(())),
                with_badge_meta: r.expire_with_badge_meta,
            },
            field,
        )
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OwnershipBody {
    #[serde(default)]
    restricted_to_owners: Vec<String>,
    /// Claims change only by claim and unclaim; a body that carries them
    /// (one of upstream's update examples does) has them ignored.
    #[serde(default)]
    #[allow(dead_code)]
    claims: Option<IgnoredAny>,
}

/// A badge as upstream's create and update bodies write it. The fields of
/// upstream's answers that a client may send back as it read them (`orgId`,
/// `status`, the counts, who and when) are accepted and ignored: the
/// service keeps them.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)] // the read-only fields are read only to be ignored
pub struct BadgeBody {
    /// Update only: the badge to rewrite.
    id: Option<String>,
    name: String,
    #[serde(default)]
    description: Option<String>,
    earn_type: String,
    start_on: Option<LooseTime>,
    #[serde(rename = "startOnISO")]
    start_on_iso: Option<String>,
    expires_on: Option<LooseTime>,
    #[serde(rename = "expiresOnISO")]
    expires_on_iso: Option<String>,
    /// Upstream's bodies say `isActive`, its answers `active`; a client
    /// may send both (an answer read back with one changed), and then
    /// `isActive` wins, as an `*ISO` twin wins over its epoch field.
    active: Option<bool>,
    is_active: Option<bool>,
    badge_group_id: Option<String>,
    #[serde(default, deserialize_with = "loose::whole")]
    badge_rank: Option<i32>,
    #[serde(default)]
    images: Option<Vec<ImageJson>>,
    ownership: Option<OwnershipBody>,
    earned_badge_expiry: Option<ExpiryBody>,
    issued_badge_expiry: Option<ExpiryBody>,
    #[serde(default)]
    tags: Option<Vec<Tag>>,
    #[serde(default)]
    custom_fields: Option<BTreeMap<String, Scalar>>,
    #[serde(default)]
    benefits: Option<Vec<serde_json::Value>>,
    #[serde(default, deserialize_with = "loose::whole")]
    default_till_id: Option<i64>,
    #[serde(default)]
    customer_constraints: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    badge_constraints: Option<Vec<serde_json::Value>>,
    // Read-only, from upstream's answers: ignored.
    #[serde(default)]
    org_id: Option<IgnoredAny>,
    #[serde(default)]
    status: Option<IgnoredAny>,
    #[serde(default)]
    created_on: Option<IgnoredAny>,
    #[serde(default)]
    created_by: Option<IgnoredAny>,
    #[serde(default)]
    last_updated_on: Option<IgnoredAny>,
    #[serde(default)]
    last_updated_by: Option<IgnoredAny>,
    #[serde(default)]
    issued_count: Option<IgnoredAny>,
    #[serde(default)]
    earned_count: Option<IgnoredAny>,
    #[serde(default)]
    badge_numeric_id: Option<IgnoredAny>,
    #[serde(default)]
    badge_group_name: Option<IgnoredAny>,
}

impl BadgeBody {
    /// The id (update) and the badge the body asks for.
    fn read(self, headers: &HeaderMap) -> (Option<String>, NewBadgeRequest) {
        let BadgeBody {
            id,
            name,
            description,
            earn_type,
            start_on,
            start_on_iso,
            expires_on,
            expires_on_iso,
            active,
            is_active,
            badge_group_id,
            badge_rank,
            images,
            ownership,
            earned_badge_expiry,
            issued_badge_expiry,
            tags,
            custom_fields,
            benefits,
            default_till_id,
            customer_constraints,
            badge_constraints,
            ..
        } = self;
        let migration = headers
            .get(MIGRATION_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("migration"));
        let request = NewBadgeRequest {
            name,
            description: description.unwrap_or_default(),
            earn_type: fields::earn_type(&earn_type),
            starts_on: time(start_on, start_on_iso, "startOn"),
            expires_on: time(expires_on, expires_on_iso, "expiresOn"),
            active: is_active.or(active).unwrap_or(false),
            group_id: badge_group_id,
            rank: badge_rank,
            images: images
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            owners: ownership
                .map(|o| o.restricted_to_owners)
                .unwrap_or_default()
                .iter()
                .map(|o| fields::owner(o, "ownership.restrictedToOwners"))
                .collect(),
            earned_badge_expiry: ExpiryBody::read(earned_badge_expiry, "earnedBadgeExpiry"),
            issued_badge_expiry: ExpiryBody::read(issued_badge_expiry, "issuedBadgeExpiry"),
            extras: Extras {
                tags: tags.unwrap_or_default(),
                custom_fields: custom_fields
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.text()))
                    .collect(),
                benefits: benefits.unwrap_or_default(),
                default_till_id,
                customer_constraints: customer_constraints.unwrap_or_default(),
                badge_constraints: badge_constraints.unwrap_or_default(),
            },
            migration,
        };
        (id, request)
    }
}

pub async fn create_badge(
    State(s): Svc,
    Caller(caller): Caller,
    headers: HeaderMap,
    JsonBody(b): JsonBody<BadgeBody>,
) -> Answer<BadgeJson> {
    let (id, request) = b.read(&headers);
    if id.is_some() {
        return Err(ApiError(Error::Invalid(vec![Problem::invalid(
            "id",
            "create takes no id: the service makes one",
        )])));
    }
    let badge = s.create_badge(&caller, request).await?;
    Ok(ok(BadgeJson::written(badge, s.now())))
}

pub async fn update_badge(
    State(s): Svc,
    Caller(caller): Caller,
    headers: HeaderMap,
    JsonBody(b): JsonBody<BadgeBody>,
) -> Answer<BadgeJson> {
    let (id, request) = b.read(&headers);
    let Some(id) = id else {
        return Err(ApiError(Error::Invalid(vec![Problem::invalid(
            "id",
            "id is required: the badge to update",
        )])));
    };
    let badge = s.update_badge(&caller, &id, request).await?;
    Ok(ok(BadgeJson::written(badge, s.now())))
}

pub async fn get_badge(
    State(s): Svc,
    Caller(caller): Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Answer<BadgeJson> {
    let mut statistics = Ok(false);
    // upstream's page also names `limit` and `order` here, for nothing it
    // shows: they are accepted and have no effect.
    query::paging_params(q.as_deref(), |key, value| match key {
        "includeStatistics" => {
            statistics = query::query_boolean(key, value);
            Ok(true)
        }
        _ => Ok(false),
    })
    .map_err(|p| ApiError(Error::Invalid(p)))?;
    let statistics = statistics.map_err(|p| ApiError(Error::Invalid(vec![p])))?;
    let badge = s.get_badge(&caller, &id, statistics).await?;
    Ok(ok(BadgeJson::of(&badge, BadgeView::Read, s.now())))
}

/// `GET /badgeMeta/getFixedWindowDetails`: a badge's fixed-window cycles.
pub async fn fixed_window_details(
    State(s): Svc,
    Caller(caller): Caller,
    RawQuery(q): RawQuery,
) -> Answer<FixedWindowJson> {
    let mut params = FixedWindowParams {
        badge_id: None,
        which: Ok(None),
        customer_id: Ok(None),
        cycle_reference: None,
        include_earn_count: Ok(false),
        start: Ok(None),
        end: Ok(None),
        paging: Ok(Paging {
            page: 0,
            size: 10,
            order: SortOrder::Asc,
        }),
    };
    params.paging = query::paging_params(q.as_deref(), |key, value| {
        match key {
            "badgeMetaId" => params.badge_id = Some(value.to_owned()),
            "constraintType" => {
                params.which = Which::parse(value).map(Some).ok_or_else(|| {
                    Problem::invalid(
                        "constraintType",
                        "constraintType must be BADGE, CUSTOMER or ALL",
                    )
                })
            }
            "customerId" => params.customer_id = query::query_integer(key, value),
            "fixedWindowCycleReferenceId" => params.cycle_reference = Some(value.to_owned()),
            "includeEarnCount" => params.include_earn_count = query::query_boolean(key, value),
            "startDate" => params.start = query::query_date(key, value),
            "endDate" => params.end = query::query_date(key, value),
            _ => return Ok(false),
        }
        Ok(true)
    });
    let page = s.fixed_window_details(&caller, params).await?;
    Ok(ok(FixedWindowJson::of(page)))
}

pub async fn list_badges(
    State(s): Svc,
    Caller(caller): Caller,
    RawQuery(q): RawQuery,
) -> Answer<BadgeListJson> {
    let page = s
        .list_badges(&caller, query::org_list_params(q.as_deref()))
        .await?;
    Ok(ok(BadgeListJson::of(&page, s.now())))
}

pub async fn activate(
    State(s): Svc,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Answer<ActivationJson> {
    // upstream's curl sends `{"active": true}` to both routes; the route
    // decides, and a body is not read.
    let b = s.set_badge_active(&caller, &id, true).await?;
    Ok(ok(ActivationJson {
        id: b.id,
        is_active: b.active,
    }))
}

pub async fn deactivate(
    State(s): Svc,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Answer<ActivationJson> {
    let b = s.set_badge_active(&caller, &id, false).await?;
    Ok(ok(ActivationJson {
        id: b.id,
        is_active: b.active,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClaimBody {
    owner_type: String,
    reference_id: Option<LooseText>,
}

fn claim_request(badge_id: String, b: ClaimBody) -> Result<ClaimRequest, ApiError> {
    let ClaimBody {
        owner_type,
        reference_id,
    } = b;
    let reference_id = match reference_id {
        None => String::new(),
        Some(r) => r
            .read("referenceId")
            .map_err(|p| ApiError(Error::Invalid(vec![p])))?,
    };
    Ok(ClaimRequest {
        badge_id,
        owner_type: fields::owner(&owner_type, "ownerType"),
        reference_id,
    })
}

pub async fn claim(
    State(s): Svc,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ClaimBody>,
) -> Answer<ClaimedJson> {
    let request = claim_request(id, b)?;
    let (owner_type, reference_id) = (request.owner_type.clone(), request.reference_id.clone());
    let badge = s.set_claim(&caller, request, true).await?;
    Ok(ok(ClaimedJson {
        badge_meta_id: badge.id,
        owner_type: owner_type.map_err(|p| ApiError(Error::Invalid(vec![p])))?,
        reference_id,
    }))
}

pub async fn unclaim(
    State(s): Svc,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ClaimBody>,
) -> Answer<UnclaimedJson> {
    let request = claim_request(id, b)?;
    let (owner_type, reference_id) = (request.owner_type.clone(), request.reference_id.clone());
    s.set_claim(&caller, request, false).await?;
    Ok(ok(UnclaimedJson {
        owner_type: owner_type.map_err(|p| ApiError(Error::Invalid(vec![p])))?,
        reference_id,
        is_active: false,
    }))
}

// ---- custom fields

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomFieldBody {
    name: String,
    data_type: String,
    #[serde(default)]
    is_mandatory: bool,
    default_value: Option<Scalar>,
    is_active: Option<bool>,
}

impl CustomFieldBody {
    fn read(self) -> CustomFieldRequest {
        CustomFieldRequest {
            name: self.name,
            data_type: crate::domain::enums::DataType::parse(&self.data_type).ok_or_else(|| {
                crate::domain::list::not_one_of(
                    "dataType",
                    &crate::domain::enums::DataType::expected(),
                )
            }),
            is_mandatory: self.is_mandatory,
            default_value: self.default_value.map(|v| v.text()),
            is_active: self.is_active,
        }
    }
}

pub async fn create_custom_field(
    State(s): Svc,
    Caller(caller): Caller,
    JsonBody(b): JsonBody<CustomFieldBody>,
) -> Answer<CustomFieldJson> {
    Ok(ok(s.create_custom_field(&caller, b.read()).await?.into()))
}

pub async fn update_custom_field(
    State(s): Svc,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<CustomFieldBody>,
) -> Answer<CustomFieldJson> {
    Ok(ok(s
        .update_custom_field(&caller, &id, b.read())
        .await?
        .into()))
}

pub async fn get_custom_field(
    State(s): Svc,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Answer<CustomFieldJson> {
    Ok(ok(s.get_custom_field(&caller, &id).await?.into()))
}

pub async fn list_custom_fields(
    State(s): Svc,
    Caller(caller): Caller,
    RawQuery(q): RawQuery,
) -> Answer<CustomFieldListJson> {
    let mut active: Field<Option<bool>> = Ok(None);
    let paging = query::paging_params(q.as_deref(), |key, value| match key {
        "isActive" => {
            active = query::query_boolean(key, value).map(Some);
            Ok(true)
        }
        // upstream's one sort: by last update.
        "sortOn" if value.eq_ignore_ascii_case("LAST_UPDATED_DATE") => Ok(true),
        "sortOn" => Err(Problem::invalid(
            "sortOn",
            "sortOn must be LAST_UPDATED_DATE",
        )),
        _ => Ok(false),
    })
    .map_err(|p| ApiError(Error::Invalid(p)))?;
    let active = active.map_err(|p| ApiError(Error::Invalid(vec![p])))?;
    let listed = s.list_custom_fields(&caller, active, paging).await?;
    Ok(ok(CustomFieldListJson::of(
        listed,
        paging.page,
        paging.size,
    )))
}
