//! `BadgeAdminService`: proto in, the shared service, proto out.

use std::sync::Arc;

use prost_types::Timestamp;
use tonic::{Request, Response, Status};

use super::catalogue::{badge_request, custom_field_out, data_type, group_out, written};
use super::convert::{identifier, owner, timestamp};
use super::{caller, status::to_status};
use crate::application::BadgeService;
use crate::domain::admin::{
    ClaimRequest, EarnBulkRequest, EarnRequest, EnrolRequest, ImportItemRequest, NewGroupCommand,
    RevokeCommand, RevokeIssueRequest, UpsertCustomerCommand,
};
use crate::domain::custom_fields::CustomFieldRequest;
use crate::domain::enums::Owner;
use crate::domain::fields::{self, Field};
use crate::domain::list::{CustomerRef, customer_ref};
use crate::domain::{Micros, Problem};
use crate::error::Error;
use crate::proto;
use crate::proto::badge_admin_service_server::BadgeAdminService;
use crate::wire::ts;

pub use crate::proto::badge_admin_service_server::BadgeAdminServiceServer;

#[derive(Clone, Debug)]
pub struct GrpcBadgeAdmin {
    service: Arc<BadgeService>,
}

impl GrpcBadgeAdmin {
    pub fn new(service: Arc<BadgeService>) -> Self {
        GrpcBadgeAdmin { service }
    }
}

fn owner_of(raw: i32, field: &str) -> Field<crate::domain::enums::Owner> {
    owner(raw).ok_or_else(|| fields::unknown_owner(field))
}

/// A `triggeredBy` as the domain reads it.
fn triggered(t: proto::TriggeredBy) -> (Field<Owner>, String) {
    (
        owner_of(t.owner_type, "triggeredBy.ownerType"),
        t.reference_id,
    )
}

/// A time of a message: a timestamp, if given.
fn time(t: Option<Timestamp>, field: &str) -> Field<Option<Micros>> {
    timestamp(t, field)
}

fn item_errors(problems: Vec<Problem>) -> Vec<proto::ItemError> {
    problems
        .into_iter()
        .map(|p| proto::ItemError {
            code: p.code as i32,
            message: p.message,
            reference: p.reference,
        })
        .collect()
}

fn opt_ts(m: Option<Micros>) -> Option<Timestamp> {
    m.map(ts)
}

#[tonic::async_trait]
impl BadgeAdminService for GrpcBadgeAdmin {
    async fn create_group(
        &self,
        request: Request<proto::CreateGroupRequest>,
    ) -> Result<Response<proto::CreateGroupResponse>, Status> {
        let caller = caller(&request)?;
        let proto::CreateGroupRequest { name, rank } = request.into_inner();
        let g = self
            .service
            .create_group(&caller, NewGroupCommand { name, rank })
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::CreateGroupResponse {
            group: Some(group_out(g)),
        }))
    }

    async fn create_badge(
        &self,
        request: Request<proto::CreateBadgeRequest>,
    ) -> Result<Response<proto::CreateBadgeResponse>, Status> {
        let caller = caller(&request)?;
        let request = badge_request(request.into_inner());
        let b = self
            .service
            .create_badge(&caller, request)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::CreateBadgeResponse {
            badge: Some(written(b, self.service.now())),
        }))
    }

    async fn update_badge(
        &self,
        request: Request<proto::UpdateBadgeRequest>,
    ) -> Result<Response<proto::UpdateBadgeResponse>, Status> {
        let caller = caller(&request)?;
        let proto::UpdateBadgeRequest { id, badge } = request.into_inner();
        let request = badge_request(badge.unwrap_or_default());
        let b = self
            .service
            .update_badge(&caller, &id, request)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::UpdateBadgeResponse {
            badge: Some(written(b, self.service.now())),
        }))
    }

    async fn update_group(
        &self,
        request: Request<proto::UpdateGroupRequest>,
    ) -> Result<Response<proto::UpdateGroupResponse>, Status> {
        let caller = caller(&request)?;
        let proto::UpdateGroupRequest { id, name, rank } = request.into_inner();
        let g = self
            .service
            .update_group(&caller, &id, NewGroupCommand { name, rank })
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::UpdateGroupResponse {
            group: Some(group_out(g)),
        }))
    }

    async fn create_custom_field(
        &self,
        request: Request<proto::CreateCustomFieldRequest>,
    ) -> Result<Response<proto::CreateCustomFieldResponse>, Status> {
        let caller = caller(&request)?;
        let proto::CreateCustomFieldRequest {
            name,
            data_type: raw_type,
            is_mandatory,
            default_value,
        } = request.into_inner();
        let request = CustomFieldRequest {
            name,
            data_type: data_type(raw_type),
            is_mandatory,
            default_value,
            is_active: None,
        };
        let f = self
            .service
            .create_custom_field(&caller, request)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::CreateCustomFieldResponse {
            custom_field: Some(custom_field_out(f)),
        }))
    }

    async fn update_custom_field(
        &self,
        request: Request<proto::UpdateCustomFieldRequest>,
    ) -> Result<Response<proto::UpdateCustomFieldResponse>, Status> {
        let caller = caller(&request)?;
        let proto::UpdateCustomFieldRequest {
            id,
            name,
            data_type: raw_type,
            is_mandatory,
            default_value,
            is_active,
        } = request.into_inner();
        let request = CustomFieldRequest {
            name,
            data_type: data_type(raw_type),
            is_mandatory,
            default_value,
            is_active,
        };
        let f = self
            .service
            .update_custom_field(&caller, &id, request)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::UpdateCustomFieldResponse {
            custom_field: Some(custom_field_out(f)),
        }))
    }

    async fn activate_badge(
        &self,
        request: Request<proto::ActivateBadgeRequest>,
    ) -> Result<Response<proto::ActivateBadgeResponse>, Status> {
        let caller = caller(&request)?;
        let id = request.into_inner().badge_meta_id;
        let b = self
            .service
            .set_badge_active(&caller, &id, true)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::ActivateBadgeResponse {
            badge: Some(written(b, self.service.now())),
        }))
    }

    async fn deactivate_badge(
        &self,
        request: Request<proto::DeactivateBadgeRequest>,
    ) -> Result<Response<proto::DeactivateBadgeResponse>, Status> {
        let caller = caller(&request)?;
        let id = request.into_inner().badge_meta_id;
        let b = self
            .service
            .set_badge_active(&caller, &id, false)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::DeactivateBadgeResponse {
            badge: Some(written(b, self.service.now())),
        }))
    }

    async fn claim_badge(
        &self,
        request: Request<proto::ClaimBadgeRequest>,
    ) -> Result<Response<proto::ClaimBadgeResponse>, Status> {
        let caller = caller(&request)?;
        let proto::ClaimBadgeRequest {
            badge_meta_id,
            owner_type,
            reference_id,
        } = request.into_inner();
        let b = self
            .claim(&caller, badge_meta_id, owner_type, reference_id, true)
            .await?;
        Ok(Response::new(proto::ClaimBadgeResponse { badge: Some(b) }))
    }

    async fn unclaim_badge(
        &self,
        request: Request<proto::UnclaimBadgeRequest>,
    ) -> Result<Response<proto::UnclaimBadgeResponse>, Status> {
        let caller = caller(&request)?;
        let proto::UnclaimBadgeRequest {
            badge_meta_id,
            owner_type,
            reference_id,
        } = request.into_inner();
        let b = self
            .claim(&caller, badge_meta_id, owner_type, reference_id, false)
            .await?;
        Ok(Response::new(proto::UnclaimBadgeResponse {
            badge: Some(b),
        }))
    }

    async fn upsert_customer(
        &self,
        request: Request<proto::UpsertCustomerRequest>,
    ) -> Result<Response<proto::UpsertCustomerResponse>, Status> {
        let caller = caller(&request)?;
        let proto::UpsertCustomerRequest {
            customer_id,
            email,
            mobile,
            external_id,
            card_number,
        } = request.into_inner();
        let command = UpsertCustomerCommand {
            customer_id,
            email,
            mobile,
            external_id,
            card_number,
        };
        let customer_id = self
            .service
            .upsert_customer(&caller, command)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::UpsertCustomerResponse { customer_id }))
    }

    async fn enrol_customers(
        &self,
        request: Request<proto::EnrolCustomersRequest>,
    ) -> Result<Response<proto::EnrolCustomersResponse>, Status> {
        let caller = caller(&request)?;
        let proto::EnrolCustomersRequest {
            badge_meta_id,
            customers,
            request_id,
            issue_event_date,
            triggered_by,
        } = request.into_inner();
        let request = EnrolRequest {
            badge_id: badge_meta_id.clone(),
            customers,
            request_id: request_id.clone(),
            issued_at: time(issue_event_date, "issueEventDate"),
            triggered_by: triggered_by.clone().map(triggered),
        };
        let outcomes = self
            .service
            .enrol(&caller, request)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::EnrolCustomersResponse {
            badge_meta_id,
            triggered_by,
            expires_on: opt_ts(
                outcomes
                    .iter()
                    .find_map(|o| o.issued_id.as_ref().and(o.expires_on)),
            ),
            request_id,
            outcomes: outcomes
                .into_iter()
                .map(|o| proto::EnrolmentOutcome {
                    customer_id: o.customer_id,
                    expires_on: opt_ts(o.expires_on),
                    errors: item_errors(o.problems),
                    issued_id: o.issued_id,
                })
                .collect(),
        }))
    }

    async fn revoke_enrolments(
        &self,
        request: Request<proto::RevokeEnrolmentsRequest>,
    ) -> Result<Response<proto::RevokeEnrolmentsResponse>, Status> {
        let caller = caller(&request)?;
        let proto::RevokeEnrolmentsRequest {
            badge_meta_id,
            customers,
            revoke_issuals,
            request_id,
        } = request.into_inner();
        let request = RevokeIssueRequest {
            badge_id: badge_meta_id.clone(),
            customers: Some(customers),
            issuals: Some(
                revoke_issuals
                    .into_iter()
                    .map(|i| (i.customer_id, i.issue_id))
                    .collect(),
            ),
            request_id: request_id.clone(),
        };
        let revoked = self
            .service
            .revoke_issue(&caller, request)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::RevokeEnrolmentsResponse {
            badge_meta_id,
            request_id,
            revoked: revoked
                .into_iter()
                .map(|r| proto::RevokedEnrolment {
                    customer_id: r.customer_id,
                    issued_id: r.issued_id,
                    errors: item_errors(r.problem.into_iter().collect()),
                })
                .collect(),
        }))
    }

    async fn earn_badge(
        &self,
        request: Request<proto::EarnBadgeRequest>,
    ) -> Result<Response<proto::EarnBadgeResponse>, Status> {
        let caller = caller(&request)?;
        let proto::EarnBadgeRequest {
            badge_meta_id,
            customer_id,
            request_id,
            earn_event_date,
            triggered_by,
        } = request.into_inner();
        let request = EarnRequest {
            badge_id: badge_meta_id,
            customer_id,
            request_id,
            event_at: time(earn_event_date, "earnEventDate"),
            triggered_by: triggered_by.map(triggered),
        };
        let o = self
            .service
            .earn(&caller, request)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::EarnBadgeResponse {
            badge_meta_id: o.badge_id,
            customer_id: o.customer_id,
            earned_badge_id: o.earned_badge_id,
            expires_on: opt_ts(o.expires_on),
            request_id: o.request_id,
            issued_id: o.issued_id,
        }))
    }

    async fn earn_badge_bulk(
        &self,
        request: Request<proto::EarnBadgeBulkRequest>,
    ) -> Result<Response<proto::EarnBadgeBulkResponse>, Status> {
        let caller = caller(&request)?;
        let proto::EarnBadgeBulkRequest {
            badge_meta_id,
            customer_ids,
            request_id,
            earn_event_date,
            triggered_by,
        } = request.into_inner();
        let request = EarnBulkRequest {
            badge_id: badge_meta_id.clone(),
            customers: customer_ids,
            request_id: request_id.clone(),
            event_at: time(earn_event_date, "earnEventDate"),
            triggered_by: triggered_by.clone().map(triggered),
        };
        let outcome = self
            .service
            .earn_bulk(&caller, request)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::EarnBadgeBulkResponse {
            badge_meta_id,
            triggered_by,
            request_id,
            earned_badges: outcome
                .items
                .into_iter()
                .map(|i| proto::BulkAward {
                    customer_id: i.customer_id,
                    earned_badge_id: i.earned_badge_id,
                    issued_id: i.issued_id,
                    expires_on: opt_ts(i.expires_on),
                    errors: item_errors(i.problem.into_iter().collect()),
                })
                .collect(),
        }))
    }

    async fn revoke_earn(
        &self,
        request: Request<proto::RevokeEarnRequest>,
    ) -> Result<Response<proto::RevokeEarnResponse>, Status> {
        let caller = caller(&request)?;
        let proto::RevokeEarnRequest {
            badge_meta_id,
            customer_id,
            earned_badge_id,
            identifier_type,
            customer,
        } = request.into_inner();
        let mut problems = Vec::new();
        let customer = match identifier(identifier_type) {
            Err(p) => {
                problems.push(p);
                None
            }
            Ok(None) => Some(CustomerRef::Id(customer_id)),
            Ok(kind) => customer_ref(&customer, kind, &mut problems),
        };
        let Some(customer) = customer else {
            return Err(to_status(Error::Invalid(problems)));
        };
        let command = RevokeCommand {
            badge_id: badge_meta_id,
            customer,
            earned_badge_id,
        };
        let o = self
            .service
            .revoke(&caller, command)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::RevokeEarnResponse {
            earned_badge_id: o.earned_badge_id,
            badge_meta_id: o.badge_id,
            customer_id: o.customer_id,
            is_active: false,
        }))
    }

    async fn import_awards(
        &self,
        request: Request<proto::ImportAwardsRequest>,
    ) -> Result<Response<proto::ImportAwardsResponse>, Status> {
        let caller = caller(&request)?;
        let items = request
            .into_inner()
            .items
            .into_iter()
            .map(|item| {
                let proto::ImportItem {
                    badge_meta_id,
                    customer_id,
                    earn_event_date,
                    earn_expires_on,
                } = item;
                ImportItemRequest {
                    badge_id: badge_meta_id,
                    customer_id,
                    event_at: time(earn_event_date, "earnEventDate"),
                    expires_on: time(earn_expires_on, "earnExpiresOn"),
                }
            })
            .collect();
        let outcomes = self
            .service
            .import(&caller, items)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::ImportAwardsResponse {
            outcomes: outcomes
                .into_iter()
                .map(|o| match o.result {
                    Ok((earned_badge_id, expires_on)) => proto::ImportOutcome {
                        badge_meta_id: o.badge_id,
                        customer_id: o.customer_id,
                        earned_badge_id: Some(earned_badge_id),
                        expires_on: opt_ts(expires_on),
                        errors: vec![],
                    },
                    Err(problems) => proto::ImportOutcome {
                        badge_meta_id: o.badge_id,
                        customer_id: o.customer_id,
                        earned_badge_id: None,
                        expires_on: None,
                        errors: item_errors(problems),
                    },
                })
                .collect(),
        }))
    }
}

impl GrpcBadgeAdmin {
    async fn claim(
        &self,
        caller: &crate::domain::principal::Principal,
        badge_id: String,
        owner_type: i32,
        reference_id: String,
        active: bool,
    ) -> Result<proto::BadgeDefinition, Status> {
        let request = ClaimRequest {
            badge_id,
            owner_type: owner_of(owner_type, "ownerType"),
            reference_id,
        };
        let b = self
            .service
            .set_claim(caller, request, active)
            .await
            .map_err(to_status)?;
        Ok(written(b, self.service.now()))
    }
}
