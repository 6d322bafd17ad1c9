//! The gRPC transport: proto messages in, the shared service, proto out.

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

/// Credentials from the `authorization` metadata entry.
fn credentials<T>(request: &Request<T>) -> Option<Credentials> {
    request
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(Credentials::from_authorization)
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
