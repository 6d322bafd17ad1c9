//! `BadgeCatalogueService` (the reads of the org's catalogue), and the
//! conversions of badges, groups and custom fields that it and
//! `BadgeAdminService` share.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert::{
    self, action, badge_status, earn_type_to_proto, images, optional, owner, ownership, repeated,
    sort_order, status_to_proto, timestamp,
};
use super::structs::{struct_in, struct_out};
use super::{caller, status::to_status};
use crate::application::{BadgeService, CatalogueBadge};
use crate::domain::Micros;
use crate::domain::admin::{Group, NewBadgeRequest};
use crate::domain::badge::{Badge, Extras, Image, Tag};
use crate::domain::constraints::Level;
use crate::domain::custom_fields::CustomField;
use crate::domain::enums::{
    Action, BadgeStatus, CatalogueSort, DataType, EarnType, Owner, SortOrder,
};
use crate::domain::fields::{self, Field};
use crate::domain::fixed_windows::{FixedWindowParams, Which};
use crate::domain::org_list::{OrgListParams, validate_paging};
use crate::proto;
use crate::proto::badge_catalogue_service_server::BadgeCatalogueService;
use crate::wire::ts;

pub use crate::proto::badge_catalogue_service_server::BadgeCatalogueServiceServer;

#[derive(Clone, Debug)]
pub struct GrpcCatalogue {
    service: Arc<BadgeService>,
}

impl GrpcCatalogue {
    pub fn new(service: Arc<BadgeService>) -> Self {
        GrpcCatalogue { service }
    }
}

// ---- badges

/// The badge a create (or update) message asks for, read by the same rules
/// as REST's body.
pub(super) fn badge_request(r: proto::CreateBadgeRequest) -> NewBadgeRequest {
    let proto::CreateBadgeRequest {
        name,
        description,
        earn_type,
        start_on,
        expires_on,
        active,
        badge_group_id,
        badge_rank,
        images,
        restricted_to_owners,
        earned_badge_expiry,
        issued_badge_expiry,
        migration,
        tags,
        custom_fields,
        benefits,
        default_till_id,
        customer_constraints,
        badge_constraints,
    } = r;
    NewBadgeRequest {
        name,
        description,
        earn_type: earn_type_of(earn_type).ok_or_else(fields::unknown_earn_type),
        starts_on: timestamp(start_on, "startOn"),
        expires_on: timestamp(expires_on, "expiresOn"),
        active,
        group_id: badge_group_id,
        rank: badge_rank,
        images: images
            .into_iter()
            .map(|i| {
                let proto::BadgeImage {
                    name,
                    file_svc_handle,
                    url,
                    tag,
                } = i;
                Image {
                    name,
                    file_svc_handle,
                    url,
                    tag,
                }
            })
            .collect(),
        owners: restricted_to_owners
            .iter()
            .map(|&o| owner(o).ok_or_else(|| fields::unknown_owner("ownership.restrictedToOwners")))
            .collect(),
        earned_badge_expiry: convert::expiry_in(earned_badge_expiry, "earnedBadgeExpiry"),
        issued_badge_expiry: convert::expiry_in(issued_badge_expiry, "issuedBadgeExpiry"),
        extras: Extras {
            tags: tags
                .into_iter()
                .map(|t| Tag {
                    name: t.name,
                    value: t.value,
                })
                .collect(),
            custom_fields: custom_fields.into_iter().collect(),
            benefits: benefits.into_iter().map(struct_in).collect(),
            default_till_id,
            customer_constraints: customer_constraints.into_iter().map(struct_in).collect(),
            badge_constraints: badge_constraints.into_iter().map(struct_in).collect(),
        },
        migration,
    }
}

/// A badge as the API writes it, with its group's name and counts where
/// the call has them, its status at `now`.
pub(super) fn badge_out(b: &CatalogueBadge, now: Micros) -> proto::BadgeDefinition {
    // Every field named: a new one does not compile until it is mapped.
    let Badge {
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
        images: badge_images,
        owners,
        claims,
        earned_badge_expiry,
        issued_badge_expiry,
        created_on,
        last_updated_on,
        created_by,
        last_updated_by,
        extras,
    } = b.badge.as_ref().clone();
    let Extras {
        tags,
        custom_fields,
        benefits,
        default_till_id,
        customer_constraints,
        badge_constraints,
    } = extras;
    proto::BadgeDefinition {
        id,
        org_id,
        name,
        description,
        earn_type: earn_type_to_proto(earn_type) as i32,
        start_on: Some(ts(starts_on)),
        expires_on: Some(ts(expires_on)),
        active,
        badge_group_id: group_id,
        badge_rank: rank,
        images: images(badge_images),
        ownership: Some(ownership(owners, claims)),
        earned_badge_expiry: Some(convert::expiry_out(earned_badge_expiry)),
        issued_badge_expiry: Some(convert::expiry_out(issued_badge_expiry)),
        created_on: Some(ts(created_on)),
        last_updated_on: Some(ts(last_updated_on)),
        status: status_to_proto(BadgeStatus::at(now, starts_on, expires_on)) as i32,
        created_by,
        last_updated_by,
        tags: tags
            .into_iter()
            .map(|t| proto::BadgeTag {
                name: t.name,
                value: t.value,
            })
            .collect(),
        custom_fields: custom_fields.into_iter().collect(),
        benefits: benefits.into_iter().map(struct_out).collect(),
        default_till_id,
        customer_constraints: customer_constraints
            .iter()
            .map(|c| struct_out(c.to_json()))
            .collect(),
        badge_constraints: badge_constraints
            .iter()
            .map(|c| struct_out(c.to_json()))
            .collect(),
        badge_group_name: b.group_name.clone(),
        issued_count: b.counts.map(|c| c.issued),
        earned_count: b.counts.map(|c| c.earned),
    }
}

/// A badge just written.
pub(super) fn written(badge: Badge, now: Micros) -> proto::BadgeDefinition {
    badge_out(
        &CatalogueBadge {
            badge: Arc::new(badge),
            group_name: None,
            counts: None,
        },
        now,
    )
}

pub(super) fn group_out(g: Group) -> proto::Group {
    let Group {
        id,
        org_id,
        name,
        rank,
        created_on,
        created_by,
        last_updated_on,
        last_updated_by,
    } = g;
    proto::Group {
        id,
        name,
        rank,
        org_id,
        created_on: Some(ts(created_on)),
        created_by,
        last_updated_on: Some(ts(last_updated_on)),
        last_updated_by,
        is_active: true,
    }
}

pub(super) fn data_type(raw: i32) -> Field<DataType> {
    use proto::CustomFieldDataType as P;
    match P::try_from(raw) {
        Ok(P::Integer) => Ok(DataType::Integer),
        Ok(P::Boolean) => Ok(DataType::Boolean),
        Ok(P::Date) => Ok(DataType::Date),
        Ok(P::String) => Ok(DataType::String),
        _ => Err(crate::domain::list::not_one_of(
            "dataType",
            &DataType::expected(),
        )),
    }
}

pub(super) fn custom_field_out(f: CustomField) -> proto::CustomField {
    use proto::CustomFieldDataType as P;
    let CustomField {
        id,
        org_id,
        name,
        data_type,
        is_mandatory,
        default_value,
        is_active,
        created_on,
        created_by,
        last_updated_on,
        last_updated_by,
    } = f;
    proto::CustomField {
        id,
        org_id,
        name,
        data_type: match data_type {
            DataType::Integer => P::Integer,
            DataType::Boolean => P::Boolean,
            DataType::Date => P::Date,
            DataType::String => P::String,
        } as i32,
        is_mandatory,
        default_value,
        is_active,
        created_on: Some(ts(created_on)),
        created_by,
        last_updated_on: Some(ts(last_updated_on)),
        last_updated_by,
    }
}

/// Page `page`, filled by `rows`, of `total` rows at `size` a page.
fn pagination(page: i64, rows: usize, total: i64, size: i64) -> proto::Pagination {
    proto::Pagination {
        page: page as i32,
        size: rows as i32,
        total,
        total_pages: (total + size - 1) / size.max(1),
    }
}

fn fixed_window_level(v: i32) -> Option<Which> {
    use proto::FixedWindowLevel as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::Badge => Which::Badge,
        P::Customer => Which::Customer,
        P::All => Which::All,
    })
}

fn catalogue_sort(v: i32) -> Option<CatalogueSort> {
    use proto::CatalogueSort as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::Id => CatalogueSort::Id,
        P::Name => CatalogueSort::Name,
        P::StartDate => CatalogueSort::StartDate,
    })
}

fn earn_type_of(v: i32) -> Option<EarnType> {
    match proto::EarnType::try_from(v).ok()? {
        proto::EarnType::Unspecified => None,
        proto::EarnType::Earn => Some(EarnType::Earn),
        proto::EarnType::IssueEarn => Some(EarnType::IssueEarn),
    }
}

fn list_params(r: proto::ListBadgesRequest) -> OrgListParams {
    let proto::ListBadgesRequest {
        status,
        earn_type: earn_types,
        action: actions,
        owner: owners,
        claimed_by,
        unclaimed,
        name,
        group_id,
        start_on,
        expires_on,
        sort_on,
        order,
        page,
        size,
    } = r;
    OrgListParams {
        status: repeated(&status, "status", badge_status, BadgeStatus::expected),
        earn_type: repeated(&earn_types, "earnType", earn_type_of, EarnType::expected),
        action: repeated(&actions, "action", action, Action::expected),
        owner: repeated(&owners, "owner", owner, Owner::expected),
        claimed_by: repeated(&claimed_by, "claimedBy", owner, Owner::expected),
        unclaimed: Ok(Some(unclaimed)),
        name: Ok(name),
        group_id: Ok(group_id),
        start_on: timestamp(start_on, "startOn"),
        expires_on: timestamp(expires_on, "expiresOn"),
        sort_on: optional(sort_on, "sortOn", catalogue_sort, CatalogueSort::expected),
        order: optional(order, "order", sort_order, SortOrder::expected),
        page: Ok(page),
        size: Ok(size),
        unknown: Vec::new(),
    }
}

fn paging(
    page: Option<i64>,
    size: Option<i64>,
    order: i32,
) -> Result<crate::domain::org_list::Paging, Status> {
    validate_paging(
        Ok(page),
        Ok(size),
        optional(order, "order", sort_order, SortOrder::expected),
        Vec::new(),
    )
    .map_err(|p| to_status(crate::error::Error::Invalid(p)))
}

#[tonic::async_trait]
impl BadgeCatalogueService for GrpcCatalogue {
    async fn get_badge(
        &self,
        request: Request<proto::GetBadgeRequest>,
    ) -> Result<Response<proto::GetBadgeResponse>, Status> {
        let caller = caller(&request)?;
        let proto::GetBadgeRequest {
            badge_id,
            include_statistics,
        } = request.into_inner();
        let b = self
            .service
            .get_badge(&caller, &badge_id, include_statistics)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::GetBadgeResponse {
            badge: Some(badge_out(&b, self.service.now())),
        }))
    }

    async fn list_badges(
        &self,
        request: Request<proto::ListBadgesRequest>,
    ) -> Result<Response<proto::ListBadgesResponse>, Status> {
        let caller = caller(&request)?;
        let page = self
            .service
            .list_badges(&caller, list_params(request.into_inner()))
            .await
            .map_err(to_status)?;
        let now = self.service.now();
        Ok(Response::new(proto::ListBadgesResponse {
            badges: page.rows.iter().map(|b| badge_out(b, now)).collect(),
            pagination: Some(pagination(
                page.page,
                page.rows.len(),
                page.total,
                page.size,
            )),
        }))
    }

    async fn get_fixed_window_details(
        &self,
        request: Request<proto::GetFixedWindowDetailsRequest>,
    ) -> Result<Response<proto::GetFixedWindowDetailsResponse>, Status> {
        let caller = caller(&request)?;
        let proto::GetFixedWindowDetailsRequest {
            badge_meta_id,
            constraint_type,
            customer_id,
            fixed_window_cycle_reference_id,
            include_earn_count,
            start_date,
            end_date,
            page,
            size,
            order,
        } = request.into_inner();
        let params = FixedWindowParams {
            badge_id: Some(badge_meta_id).filter(|id| !id.is_empty()),
            which: optional(
                constraint_type,
                "constraintType",
                fixed_window_level,
                || "BADGE, CUSTOMER, ALL".into(),
            ),
            customer_id: Ok(customer_id),
            cycle_reference: fixed_window_cycle_reference_id,
            include_earn_count: Ok(include_earn_count),
            start: timestamp(start_date, "startDate"),
            end: timestamp(end_date, "endDate"),
            paging: validate_paging(
                Ok(page),
                Ok(size),
                optional(order, "order", sort_order, SortOrder::expected),
                Vec::new(),
            ),
        };
        let p = self
            .service
            .fixed_window_details(&caller, params)
            .await
            .map_err(to_status)?;
        let rows = p.cycles.len();
        Ok(Response::new(proto::GetFixedWindowDetailsResponse {
            badge_meta_id: p.badge_id,
            org_id: p.org_id,
            start_date: p.start.map(ts),
            end_date: p.end.map(ts),
            customer_id: p.customer_id,
            fixed_window_cycles: p
                .cycles
                .into_iter()
                .map(|c| proto::FixedWindowCycle {
                    fixed_window_cycle_reference_id: c.reference,
                    start_date: Some(ts(c.span.start)),
                    end_date: Some(ts(c.span.end)),
                    earn_count: c.earn_count.map(|n| n as i64),
                    constraint_type: match c.level {
                        Level::Customer => "CUSTOMER_BADGE_FIXED_WINDOW",
                        Level::Badge => "BADGE_FIXED_WINDOW",
                    }
                    .into(),
                })
                .collect(),
            pagination: Some(pagination(p.paging.page, rows, p.total, p.paging.size)),
        }))
    }

    async fn get_group(
        &self,
        request: Request<proto::GetGroupRequest>,
    ) -> Result<Response<proto::GetGroupResponse>, Status> {
        let caller = caller(&request)?;
        let id = request.into_inner().id;
        let g = self
            .service
            .get_group(&caller, &id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::GetGroupResponse {
            group: Some(group_out(g)),
        }))
    }

    async fn list_groups(
        &self,
        request: Request<proto::ListGroupsRequest>,
    ) -> Result<Response<proto::ListGroupsResponse>, Status> {
        let caller = caller(&request)?;
        let proto::ListGroupsRequest { page, size, order } = request.into_inner();
        let paging = paging(page, size, order)?;
        let listed = self
            .service
            .list_groups(&caller, paging)
            .await
            .map_err(to_status)?;
        let pagination = pagination(paging.page, listed.rows.len(), listed.total, paging.size);
        Ok(Response::new(proto::ListGroupsResponse {
            groups: listed.rows.into_iter().map(group_out).collect(),
            pagination: Some(pagination),
        }))
    }

    async fn get_custom_field(
        &self,
        request: Request<proto::GetCustomFieldRequest>,
    ) -> Result<Response<proto::GetCustomFieldResponse>, Status> {
        let caller = caller(&request)?;
        let id = request.into_inner().id;
        let f = self
            .service
            .get_custom_field(&caller, &id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::GetCustomFieldResponse {
            custom_field: Some(custom_field_out(f)),
        }))
    }

    async fn list_custom_fields(
        &self,
        request: Request<proto::ListCustomFieldsRequest>,
    ) -> Result<Response<proto::ListCustomFieldsResponse>, Status> {
        let caller = caller(&request)?;
        let proto::ListCustomFieldsRequest {
            page,
            size,
            order,
            is_active,
        } = request.into_inner();
        let paging = paging(page, size, order)?;
        let listed = self
            .service
            .list_custom_fields(&caller, is_active, paging)
            .await
            .map_err(to_status)?;
        let pagination = pagination(paging.page, listed.rows.len(), listed.total, paging.size);
        Ok(Response::new(proto::ListCustomFieldsResponse {
            custom_fields: listed.rows.into_iter().map(custom_field_out).collect(),
            pagination: Some(pagination),
        }))
    }
}
