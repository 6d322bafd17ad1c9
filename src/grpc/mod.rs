//! The gRPC transport: proto messages in, the shared service, proto out.

pub mod admin;
pub mod catalogue;
pub(crate) mod convert;
pub mod status;
mod structs;

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::application::{BadgeService, Reserved};
use crate::delivery::AnswerMemory;
use crate::domain::principal::Principal;
use crate::proto;
use crate::proto::customer_badge_service_server::CustomerBadgeService;
use crate::proto::{
    GetCustomerBadgeRequest, GetCustomerBadgeResponse, ListCustomerBadgesRequest,
    ListCustomerBadgesResponse,
};

pub use crate::proto::customer_badge_service_server::CustomerBadgeServiceServer;

#[derive(Clone, Debug)]
pub struct GrpcCustomerBadges {
    service: Arc<BadgeService>,
}

impl GrpcCustomerBadges {
    pub fn new(service: Arc<BadgeService>) -> Self {
        GrpcCustomerBadges { service }
    }
}

/// The caller, as the gate (`crate::auth::gate`) authenticated it. Every
/// method runs behind the gate, so a missing one is UNAUTHENTICATED.
fn caller<T>(request: &Request<T>) -> Result<Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        .copied()
        .ok_or_else(|| status::to_status(crate::error::Error::Unauthenticated))
}

#[tonic::async_trait]
impl CustomerBadgeService for GrpcCustomerBadges {
    async fn list_customer_badges(
        &self,
        request: Request<ListCustomerBadgesRequest>,
    ) -> Result<Response<ListCustomerBadgesResponse>, Status> {
        let caller = caller(&request)?;
        let params = convert::list_params(request.into_inner());
        let Reserved { answer, memory, .. } = self
            .service
            .list_customer_badges(&caller, params)
            .await
            .map_err(status::to_status)?;
        let mut response = Response::new(convert::list_response(answer));
        response
            .extensions_mut()
            .insert(AnswerMemory(Arc::new(memory)));
        Ok(response)
    }

    async fn get_badges_for_customer(
        &self,
        request: Request<proto::GetBadgesForCustomerRequest>,
    ) -> Result<Response<proto::GetBadgesForCustomerResponse>, Status> {
        let caller = caller(&request)?;
        let params = convert::older_params(request.into_inner());
        let Reserved { answer, memory, .. } = self
            .service
            .older_customer_badges(&caller, params)
            .await
            .map_err(status::to_status)?;
        let mut response = Response::new(convert::older_response(answer));
        response
            .extensions_mut()
            .insert(AnswerMemory(Arc::new(memory)));
        Ok(response)
    }

    async fn get_customer_badge(
        &self,
        request: Request<GetCustomerBadgeRequest>,
    ) -> Result<Response<GetCustomerBadgeResponse>, Status> {
        let caller = caller(&request)?;
        let params = convert::detail_params(request.into_inner());
        let detail = self
            .service
            .get_customer_badge(&caller, params)
            .await
            .map_err(status::to_status)?;
        Ok(Response::new(convert::detail_response(detail)))
    }
}
