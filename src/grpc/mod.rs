//! The gRPC transport: proto messages in, the shared service, proto out.

pub mod admin;
mod convert;
pub mod status;

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::auth::Credentials;
use crate::proto::customer_badge_service_server::CustomerBadgeService;
use crate::proto::{ListCustomerBadgesRequest, ListCustomerBadgesResponse};
use crate::service::BadgeService;

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

/// Credentials from the `x-cap-api-oauth-token` or `authorization` metadata.
fn credentials<T>(request: &Request<T>) -> Option<Credentials> {
    let text = |name: &str| request.metadata().get(name).and_then(|v| v.to_str().ok());
    Credentials::from_headers(text("authorization"), text("x-cap-api-oauth-token"))
}

#[tonic::async_trait]
impl CustomerBadgeService for GrpcCustomerBadges {
    async fn list_customer_badges(
        &self,
        request: Request<ListCustomerBadgesRequest>,
    ) -> Result<Response<ListCustomerBadgesResponse>, Status> {
        let credentials = credentials(&request);
        let (params, problems) = convert::list_params(request.into_inner());
        let page = self
            .service
            .list_customer_badges(credentials, params, problems)
            .await
            .map_err(status::to_status)?;
        Ok(Response::new(convert::list_response(page)))
    }
}
