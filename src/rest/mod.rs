//! The JSON gateway: the upstream "Get all customer badges" GET, on the same
//! listener as gRPC. It turns path, query and headers into the list call's
//! parameters and calls the same `BadgeService` in-process; nothing about
//! badges is decided here.

mod error;
mod json;
mod query;

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::auth::Credentials;
use crate::service::BadgeService;
use error::{ApiError, rejection};
use json::{Envelope, ListData};

pub use query::{IDENTIFIER_HEADER, MAX_PARAMS};

/// The list route; equal to the RPC's `google.api.http` annotation.
pub const LIST_ROUTE: &str = "/api_gateway/v1/badges/management/{customer_id}";
/// Where the OpenAPI document of the gateway is served.
pub const OPENAPI_ROUTE: &str = "/openapi.json";
/// The OpenAPI 3.1 document, kept in the repository.
pub const OPENAPI_JSON: &str = include_str!("../../docs/openapi.json");

/// Longest accepted request target (path and query), in bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most header bytes (names and values) a request may carry.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

pub fn router(service: Arc<BadgeService>) -> axum::Router {
    axum::Router::new()
        .route(LIST_ROUTE, get(list_customer_badges))
        .route(OPENAPI_ROUTE, get(openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(limits))
        .with_state(service)
}

async fn list_customer_badges(
    State(service): State<Arc<BadgeService>>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Ok(Path(customer_id)) = path else {
        return rejection(
            StatusCode::BAD_REQUEST,
            "customerId must be valid percent-encoded UTF-8",
            Some("customerId"),
        );
    };
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(Credentials::from_authorization);
    let (params, problems) = query::list_params(
        customer_id,
        headers.get(IDENTIFIER_HEADER).map(|v| v.as_bytes()),
        query.as_deref(),
    );
    match service
        .list_customer_badges(credentials, params, problems)
        .await
    {
        Ok(page) => Json(Envelope {
            data: Some(ListData::from(page)),
            errors: Vec::new(),
            warnings: Vec::new(),
        })
        .into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

/// Unknown paths. A gRPC call to an unknown service gets a gRPC answer, not JSON.
async fn not_found(headers: HeaderMap) -> Response {
    let grpc = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    if grpc {
        return tonic::Status::unimplemented("unknown service or method").into_http();
    }
    rejection(StatusCode::NOT_FOUND, "Not found", None)
}

async fn method_not_allowed() -> Response {
    rejection(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed", None)
}

/// Rejects oversized request targets (414) and headers (431) before any work.
async fn limits(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let target = uri.path().len() + uri.query().map_or(0, |q| q.len() + 1);
    if target > MAX_URI_BYTES {
        return rejection(StatusCode::URI_TOO_LONG, "Request URI too long", None);
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return rejection(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request headers too large",
            None,
        );
    }
    next.run(request).await
}
