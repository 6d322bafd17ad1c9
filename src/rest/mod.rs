//! The JSON gateway: the upstream "Get all customer badges" GET, on the same
//! listener as gRPC. It turns path, query and headers into the list call's
//! parameters and calls the same `BadgeService` in-process; nothing about
//! badges is decided here.

mod admin;
mod catalogue;
mod catalogue_json;
mod error;
mod json;
mod loose;
mod query;

use std::sync::Arc;

use axum::Json;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};

use crate::application::{BadgeService, Reserved};
use crate::delivery::AnswerMemory;
use crate::domain::principal::Principal;
pub use error::{ApiError, rejection};
use json::{DetailData, Envelope, ListData, OlderListData};

pub use crate::auth::gate::{MAX_BODY_BYTES, OAUTH_TOKEN_HEADER};

/// Where OAuth tokens are issued (upstream's route).
pub const TOKEN_ROUTE: &str = "/v3/oauth/token/generate";
pub use admin::MIGRATION_HEADER;
pub use query::{IDENTIFIER_HEADER, MAX_PARAMS};

/// The list route; equal to the RPC's `google.api.http` annotation.
pub const LIST_ROUTE: &str = "/api_gateway/v1/badges/management/{customer_id}";
/// The detail route; equal to the RPC's `google.api.http` annotation.
pub const DETAIL_ROUTE: &str = "/api_gateway/v1/badges/management/{customer_id}/badge/{badge_id}";
/// The older customer list (upstream "Get badges for customer").
pub const OLDER_LIST_ROUTE: &str = "/api_gateway/v1/badges/customer/{customer_id}";
/// Where the OpenAPI document of the gateway is served.
pub const OPENAPI_ROUTE: &str = "/openapi.json";
/// The OpenAPI 3.1 document, kept in the repository.
pub const OPENAPI_JSON: &str = include_str!("../../docs/openapi.json");

/// Longest accepted request target (path and query), in bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most header bytes (names and values) a request may carry.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The caller, as the gate (`crate::auth::gate`) authenticated it. Every
/// route that needs a caller runs behind the gate, so a missing one is a 401.
pub struct Caller(pub Principal);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .copied()
            .map(Caller)
            .ok_or(ApiError(crate::error::Error::Unauthenticated))
    }
}

/// The REST routes, grouped by the right they need. The server puts
/// admission (`server::gate`) around each group with that right, so the
/// right of a call follows from where it is routed.
pub struct Routes {
    /// The read calls (`read` right).
    pub read: axum::Router,
    /// The admin API (`write` right).
    pub write: axum::Router,
    /// The OAuth token route: no credentials; its body is a secret.
    pub token: axum::Router,
    /// The OpenAPI document: no credentials.
    pub open: axum::Router,
}

pub fn routes(service: Arc<BadgeService>) -> Routes {
    const B: &str = "/api_gateway/v1/badges";
    let read = axum::Router::new()
        .route(LIST_ROUTE, get(list_customer_badges))
        .route(DETAIL_ROUTE, get(get_customer_badge))
        .route(OLDER_LIST_ROUTE, get(older_customer_badges))
        .route(&format!("{B}/badgeMeta"), get(catalogue::list_badges))
        .route(
            &format!("{B}/badgeMeta/getFixedWindowDetails"),
            get(catalogue::fixed_window_details),
        )
        .route(&format!("{B}/badgeMeta/{{id}}"), get(catalogue::get_badge))
        .route(&format!("{B}/group"), get(catalogue::list_groups))
        .route(&format!("{B}/group/{{id}}"), get(catalogue::get_group))
        .route(
            &format!("{B}/customField"),
            get(catalogue::list_custom_fields),
        )
        .route(
            &format!("{B}/customField/{{id}}"),
            get(catalogue::get_custom_field),
        );
    // A path may have read methods here and write methods there; the two
    // groups' routes are merged by path, and only one of them may answer
    // the methods a path does not have (405): the read group for the paths
    // it has, each write route of its own otherwise. Either way that answer
    // is behind the group's admission, like the path's methods.
    let only = |route: MethodRouter<Arc<BadgeService>>| route.fallback(method_not_allowed);
    let write = axum::Router::new()
        .route(&format!("{B}/group"), post(catalogue::create_group))
        .route(&format!("{B}/group/{{id}}"), put(catalogue::update_group))
        .route(
            &format!("{B}/badgeMeta"),
            post(catalogue::create_badge).put(catalogue::update_badge),
        )
        .route(
            &format!("{B}/badgeMeta/{{id}}/activate"),
            only(put(catalogue::activate)),
        )
        .route(
            &format!("{B}/badgeMeta/{{id}}/deactivate"),
            only(put(catalogue::deactivate)),
        )
        .route(
            &format!("{B}/badgeMeta/{{id}}/claim"),
            only(post(catalogue::claim)),
        )
        .route(
            &format!("{B}/badgeMeta/{{id}}/unclaim"),
            only(post(catalogue::unclaim)),
        )
        .route(
            &format!("{B}/customField"),
            post(catalogue::create_custom_field),
        )
        .route(
            &format!("{B}/customField/{{id}}"),
            put(catalogue::update_custom_field),
        )
        .route(&format!("{B}/customers"), only(put(admin::upsert_customer)))
        .route(
            &format!("{B}/badgeMeta/customer/issueBulk"),
            only(post(admin::enrol)),
        )
        .route(
            &format!("{B}/badgeMeta/customer/revokeIssue"),
            only(post(admin::revoke_issue)),
        )
        .route(&format!("{B}/customer/earn"), only(post(admin::earn)))
        .route(
            &format!("{B}/customer/earnBulk"),
            only(post(admin::earn_bulk)),
        )
        .route(
            &format!("{B}/customer/revokeEarn"),
            only(post(admin::revoke)),
        )
        .route(
            &format!("{B}/import/customerBadges"),
            only(put(admin::import)),
        );
    let token = axum::Router::new().route(TOKEN_ROUTE, post(admin::generate_token));
    let open = axum::Router::new().route(OPENAPI_ROUTE, get(openapi));
    let finish = |group: axum::Router<Arc<BadgeService>>| {
        group
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .layer(middleware::from_fn(limits))
            .with_state(service.clone())
    };
    let answered = |group: axum::Router<Arc<BadgeService>>| {
        group.method_not_allowed_fallback(method_not_allowed)
    };
    Routes {
        read: finish(answered(read)),
        write: finish(write),
        token: finish(answered(token)),
        open: finish(answered(open)),
    }
}

async fn list_customer_badges(
    State(service): State<Arc<BadgeService>>,
    Caller(caller): Caller,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Ok(Path(customer_id)) = path else {
        return undecodable_customer();
    };
    let params = query::list_params(
        customer_id,
        headers.get(IDENTIFIER_HEADER).map(|v| v.as_bytes()),
        query.as_deref(),
    );
    reserved_answer(
        service.list_customer_badges(&caller, params).await,
        ListData::from,
    )
}

async fn older_customer_badges(
    State(service): State<Arc<BadgeService>>,
    Caller(caller): Caller,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Ok(Path(customer_id)) = path else {
        return undecodable_customer();
    };
    let params = query::older_list_params(
        customer_id,
        headers.get(IDENTIFIER_HEADER).map(|v| v.as_bytes()),
        query.as_deref(),
    );
    reserved_answer(
        service.older_customer_badges(&caller, params).await,
        OlderListData::from,
    )
}

/// The answer to a customer path segment that does not decode.
fn undecodable_customer() -> Response {
    rejection(
        StatusCode::BAD_REQUEST,
        "customerId must be valid percent-encoded UTF-8",
        Some("customerId"),
    )
}

/// A page whose memory was reserved, as `data` writes it: encoded at
/// about its size, the reservation held until its body is sent.
fn reserved_answer<A, T: serde::Serialize>(
    answer: crate::error::Result<Reserved<A>>,
    data: impl FnOnce(A) -> T,
) -> Response {
    match answer {
        Ok(Reserved {
            answer,
            bytes,
            memory,
        }) => {
            let envelope = Envelope {
                data: Some(data(answer)),
                errors: Vec::new(),
                warnings: Vec::new(),
            };
            let mut response = sized_json(&envelope, bytes);
            response
                .extensions_mut()
                .insert(AnswerMemory(Arc::new(memory)));
            response
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// `value` as a JSON answer, written into a buffer of about its size
/// (`estimate`, less the envelope) so that a large page is not copied as
/// its buffer grows.
fn sized_json<T: serde::Serialize>(value: &T, estimate: usize) -> Response {
    let mut buf = Vec::with_capacity(estimate.saturating_add(512));
    match serde_json::to_writer(&mut buf, value) {
        Ok(()) => (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            buf,
        )
            .into_response(),
        Err(e) => ApiError(crate::error::Error::Internal(e.to_string())).into_response(),
    }
}

async fn get_customer_badge(
    State(service): State<Arc<BadgeService>>,
    Caller(caller): Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Envelope<DetailData>>, ApiError> {
    let Ok(Path((customer_id, badge_id))) = path else {
        return Err(ApiError(crate::error::Error::Invalid(vec![
            crate::domain::Problem::invalid(
                "customerId",
                "customerId and badgeId must be valid percent-encoded UTF-8",
            ),
        ])));
    };
    let params = query::detail_params(
        customer_id,
        badge_id,
        headers.get(IDENTIFIER_HEADER).map(|v| v.as_bytes()),
        query.as_deref(),
    );
    let detail = service.get_customer_badge(&caller, params).await?;
    Ok(json::ok(DetailData::of(detail)))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

/// Whether a request is a gRPC call (by its content type).
pub fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// What a path no route serves answers: 404 in the envelope, or gRPC's
/// UNIMPLEMENTED for a gRPC call to an unknown service.
pub async fn not_found(headers: HeaderMap) -> Response {
    if is_grpc(&headers) {
        return tonic::Status::unimplemented("unknown service or method").into_http();
    }
    rejection(StatusCode::NOT_FOUND, "Not found", None)
}

/// What a method a path does not have answers: 405 in the envelope.
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
