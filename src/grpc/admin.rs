//! `BadgeAdminService`: proto in, the shared service, proto out.

use std::sync::Arc;

use prost_types::Timestamp;
use tonic::{Request, Response, Status};

use super::convert::{images, owner, ownership, timestamp, ts};
use super::{caller, status::to_status};
use crate::domain::admin::{
    BadgeDefinition, CODE_OWNER_INVALID, ClaimCommand, EarnCommand, EnrolCommand, ExpiryRule,
    ImportItem, NewBadgeCommand, NewGroupCommand, RelativeUnit, RevokeCommand,
    UpsertCustomerCommand, problem,
};
use crate::domain::enums::EarnType;
use crate::domain::list::Image;
use crate::domain::{Micros, Problem};
use crate::proto::badge_admin_service_server::BadgeAdminService;
use crate::proto::{self, expiry_rule};
use crate::service::BadgeService;

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

fn expiry_in(
    rule: Option<proto::ExpiryRule>,
    field: &str,
    problems: &mut Vec<Problem>,
) -> ExpiryRule {
    use expiry_rule::{ExpiryType as T, RelativeUnit as U};
    let Some(r) = rule else {
        return ExpiryRule::Never;
    };
    match T::try_from(r.expiry_type) {
        Ok(T::Unspecified | T::Never) => ExpiryRule::Never,
        Ok(T::WithBadge) => ExpiryRule::WithBadge,
        Ok(T::Absolute) => match r.expires_on {
            Some(t) => ExpiryRule::Absolute {
                expires_on: t.seconds,
            },
            None => {
                problems.push(problem(
                    400,
                    format!("{field}.expiresOn is required"),
                    field,
                ));
                ExpiryRule::Never
            }
        },
        Ok(T::Relative) => {
            let unit = match U::try_from(r.relative_expiry_type) {
                Ok(U::Days) => RelativeUnit::Days,
                Ok(U::Weeks) => RelativeUnit::Weeks,
                Ok(U::Months) => RelativeUnit::Months,
                _ => {
                    problems.push(problem(
                        400,
                        format!("{field}.relativeExpiryType is required"),
                        field,
                    ));
                    RelativeUnit::Days
                }
            };
            ExpiryRule::Relative {
                relative_expiry_type: unit,
                value: r.value,
            }
        }
        Err(_) => {
            problems.push(problem(
                400,
                format!("{field}.expiryType is unknown"),
                field,
            ));
            ExpiryRule::Never
        }
    }
}

fn expiry_out(rule: ExpiryRule) -> proto::ExpiryRule {
    use expiry_rule::{ExpiryType as T, RelativeUnit as U};
    let mut out = proto::ExpiryRule::default();
    match rule {
        ExpiryRule::Never => out.expiry_type = T::Never as i32,
        ExpiryRule::WithBadge => out.expiry_type = T::WithBadge as i32,
        ExpiryRule::Absolute { expires_on } => {
            out.expiry_type = T::Absolute as i32;
            out.expires_on = Some(Timestamp {
                seconds: expires_on,
                nanos: 0,
            });
        }
        ExpiryRule::Relative {
            relative_expiry_type,
            value,
        } => {
            out.expiry_type = T::Relative as i32;
            out.value = value;
            out.relative_expiry_type = match relative_expiry_type {
                RelativeUnit::Days => U::Days,
                RelativeUnit::Weeks => U::Weeks,
                RelativeUnit::Months => U::Months,
            } as i32;
        }
    }
    out
}

fn badge_out(b: BadgeDefinition) -> proto::BadgeDefinition {
    proto::BadgeDefinition {
        id: b.id,
        name: b.name,
        description: b.description,
        earn_type: match b.earn_type {
            EarnType::Earn => proto::EarnType::Earn,
            EarnType::IssueEarn => proto::EarnType::IssueEarn,
        } as i32,
        start_on: Some(ts(b.starts_on)),
        expires_on: Some(ts(b.expires_on)),
        active: b.active,
        badge_group_id: b.group_id,
        badge_rank: b.rank,
        images: images(b.images),
        ownership: Some(ownership(b.owners, b.claims)),
        earned_badge_expiry: Some(expiry_out(b.earned_badge_expiry)),
        issued_badge_expiry: Some(expiry_out(b.issued_badge_expiry)),
        created_on: Some(ts(b.created_on)),
        last_updated_on: Some(ts(b.last_updated_on)),
    }
}

fn owner_required(
    raw: i32,
    field: &str,
    problems: &mut Vec<Problem>,
) -> Option<crate::domain::enums::Owner> {
    let o = owner(raw);
    if o.is_none() {
        problems.push(problem(
            CODE_OWNER_INVALID,
            format!("{field} must be a known owner"),
            field,
        ));
    }
    o
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
        let r = request.into_inner();
        let g = self
            .service
            .create_group(
                &caller,
                NewGroupCommand {
                    name: r.name,
                    rank: r.rank,
                },
                vec![],
            )
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::CreateGroupResponse {
            group: Some(proto::Group {
                id: g.id,
                name: g.name,
                rank: g.rank,
            }),
        }))
    }

    async fn create_badge(
        &self,
        request: Request<proto::CreateBadgeRequest>,
    ) -> Result<Response<proto::CreateBadgeResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let mut problems = Vec::new();
        let earn_type = match proto::EarnType::try_from(r.earn_type) {
            Ok(proto::EarnType::Earn) => EarnType::Earn,
            Ok(proto::EarnType::IssueEarn) => EarnType::IssueEarn,
            _ => {
                problems.push(problem(
                    400,
                    "earnType must be EARN or ISSUE_EARN",
                    "earnType",
                ));
                EarnType::Earn
            }
        };
        let owners = r
            .restricted_to_owners
            .iter()
            .filter_map(|&o| owner_required(o, "ownership.restrictedToOwners", &mut problems))
            .collect();
        let command = NewBadgeCommand {
            name: r.name,
            description: r.description,
            earn_type,
            starts_on: timestamp(r.start_on, "startOn", &mut problems),
            expires_on: timestamp(r.expires_on, "expiresOn", &mut problems),
            active: r.active,
            group_id: r.badge_group_id,
            rank: r.badge_rank,
            images: r
                .images
                .into_iter()
                .map(|i| Image {
                    name: i.name,
                    file_svc_handle: i.file_svc_handle,
                    url: i.url,
                    tag: i.tag,
                })
                .collect(),
            owners,
            earned_badge_expiry: expiry_in(
                r.earned_badge_expiry,
                "earnedBadgeExpiry",
                &mut problems,
            ),
            issued_badge_expiry: expiry_in(
                r.issued_badge_expiry,
                "issuedBadgeExpiry",
                &mut problems,
            ),
            migration: r.migration,
        };
        let b = self
            .service
            .create_badge(&caller, command, problems)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::CreateBadgeResponse {
            badge: Some(badge_out(b)),
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
            badge: Some(badge_out(b)),
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
            badge: Some(badge_out(b)),
        }))
    }

    async fn claim_badge(
        &self,
        request: Request<proto::ClaimBadgeRequest>,
    ) -> Result<Response<proto::ClaimBadgeResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let b = self
            .claim(&caller, r.badge_meta_id, r.owner_type, r.reference_id, true)
            .await?;
        Ok(Response::new(proto::ClaimBadgeResponse { badge: Some(b) }))
    }

    async fn unclaim_badge(
        &self,
        request: Request<proto::UnclaimBadgeRequest>,
    ) -> Result<Response<proto::UnclaimBadgeResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let b = self
            .claim(
                &caller,
                r.badge_meta_id,
                r.owner_type,
                r.reference_id,
                false,
            )
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
        let r = request.into_inner();
        let command = UpsertCustomerCommand {
            customer_id: r.customer_id,
            email: r.email,
            mobile: r.mobile,
            external_id: r.external_id,
            card_number: r.card_number,
        };
        let customer_id = self
            .service
            .upsert_customer(&caller, command, vec![])
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::UpsertCustomerResponse { customer_id }))
    }

    async fn enrol_customers(
        &self,
        request: Request<proto::EnrolCustomersRequest>,
    ) -> Result<Response<proto::EnrolCustomersResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let mut problems = Vec::new();
        let issued_at = timestamp(r.issue_event_date, "issueEventDate", &mut problems);
        let command = EnrolCommand {
            badge_id: r.badge_meta_id,
            customers: r.customers,
            request_id: r.request_id,
            issued_at,
        };
        let outcomes = self
            .service
            .enrol(&caller, command, problems)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::EnrolCustomersResponse {
            outcomes: outcomes
                .into_iter()
                .map(|o| proto::EnrolmentOutcome {
                    customer_id: o.customer_id,
                    expires_on: opt_ts(o.expires_on),
                    errors: item_errors(o.problems),
                })
                .collect(),
        }))
    }

    async fn earn_badge(
        &self,
        request: Request<proto::EarnBadgeRequest>,
    ) -> Result<Response<proto::EarnBadgeResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let mut problems = Vec::new();
        let event_at = timestamp(r.earn_event_date, "earnEventDate", &mut problems);
        let triggered_by = r.triggered_by.and_then(|t| {
            owner_required(t.owner_type, "triggeredBy.ownerType", &mut problems)
                .map(|o| (o, t.reference_id))
        });
        let command = EarnCommand {
            badge_id: r.badge_meta_id,
            customer_id: r.customer_id,
            request_id: r.request_id,
            event_at,
            triggered_by,
        };
        let o = self
            .service
            .earn(&caller, command, problems)
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::EarnBadgeResponse {
            badge_meta_id: o.badge_id,
            customer_id: o.customer_id,
            earned_badge_id: o.earned_badge_id,
            expires_on: opt_ts(o.expires_on),
            request_id: o.request_id,
        }))
    }

    async fn revoke_earn(
        &self,
        request: Request<proto::RevokeEarnRequest>,
    ) -> Result<Response<proto::RevokeEarnResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let earned_badge_id = r.earned_badge_id.clone();
        let command = RevokeCommand {
            badge_id: r.badge_meta_id,
            customer_id: r.customer_id,
            earned_badge_id: r.earned_badge_id,
        };
        self.service
            .revoke(&caller, command, vec![])
            .await
            .map_err(to_status)?;
        Ok(Response::new(proto::RevokeEarnResponse { earned_badge_id }))
    }

    async fn import_awards(
        &self,
        request: Request<proto::ImportAwardsRequest>,
    ) -> Result<Response<proto::ImportAwardsResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.into_inner();
        let mut problems = Vec::new();
        let items = r
            .items
            .into_iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let field = format!("items[{i}].earnEventDate");
                let event_at = match item.earn_event_date {
                    None => {
                        problems.push(problem(400, format!("{field} is required"), &field));
                        None
                    }
                    some => timestamp(some, &field, &mut problems),
                };
                let expires_on = timestamp(
                    item.earn_expires_on,
                    &format!("items[{i}].earnExpiresOn"),
                    &mut problems,
                );
                Some(ImportItem {
                    badge_id: item.badge_meta_id,
                    customer_id: item.customer_id,
                    event_at: event_at?,
                    expires_on,
                })
            })
            .collect();
        let outcomes = self
            .service
            .import(&caller, items, problems)
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
        caller: &crate::auth::Principal,
        badge_id: String,
        owner_type: i32,
        reference_id: String,
        active: bool,
    ) -> Result<proto::BadgeDefinition, Status> {
        let mut problems = Vec::new();
        let Some(owner_type) = owner_required(owner_type, "ownerType", &mut problems) else {
            return Err(to_status(crate::error::Error::Invalid(problems)));
        };
        let command = ClaimCommand {
            badge_id,
            owner_type,
            reference_id,
        };
        let b = self
            .service
            .set_claim(caller, command, active, problems)
            .await
            .map_err(to_status)?;
        Ok(badge_out(b))
    }
}
