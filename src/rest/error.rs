//! The one mapping from `Error` to an HTTP answer in the upstream envelope:
//! `{"data": null, "errors": [{code, message, reference}], "warnings": []}`.
//! Internal error text never reaches the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::json::{Envelope, ErrorJson, ListData};
use crate::domain::Problem;
use crate::error::Error;

/// An error answer.
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

fn one(code: u32, message: &str) -> Vec<ErrorJson> {
    vec![ErrorJson {
        code,
        message: message.to_owned(),
        reference: None,
    }]
}

/// An envelope holding only errors.
pub fn envelope(status: StatusCode, errors: Vec<ErrorJson>) -> Response {
    let body: Envelope<ListData> = Envelope {
        data: None,
        errors,
        warnings: Vec::new(),
    };
    (status, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self.0 {
            Error::Unauthenticated => {
                let mut r = envelope(StatusCode::UNAUTHORIZED, one(401, "Unauthorized"));
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"badges\""),
                );
                r
            }
            Error::StaleClient => {
                let mut r = envelope(StatusCode::UNAUTHORIZED, one(401, "Unauthorized"));
                r.headers_mut().insert(
                    crate::auth::gate::STALE_CLIENT_HEADER,
                    HeaderValue::from_static("1"),
                );
                r
            }
            Error::PermissionDenied => envelope(StatusCode::FORBIDDEN, one(403, "Forbidden")),
            Error::Invalid(problems) => envelope(
                StatusCode::BAD_REQUEST,
                problems.into_iter().map(ErrorJson::from).collect(),
            ),
            Error::Conflict(problems) => envelope(
                StatusCode::CONFLICT,
                problems.into_iter().map(ErrorJson::from).collect(),
            ),
            Error::NotFound(problem) => envelope(StatusCode::NOT_FOUND, vec![problem.into()]),
            Error::Throttled {
                retry_after_seconds,
            } => {
                let mut r = envelope(StatusCode::TOO_MANY_REQUESTS, one(429, "Too many requests"));
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
                r
            }
            Error::Unavailable(detail) | Error::Timeout(detail) => {
                tracing::warn!(error = %detail, "database unavailable or too slow");
                let mut r = envelope(
                    StatusCode::SERVICE_UNAVAILABLE,
                    one(503, "Service unavailable"),
                );
                r.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(crate::error::UNAVAILABLE_RETRY_AFTER_SECONDS),
                );
                r
            }
            Error::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                envelope(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    one(500, "Internal server error"),
                )
            }
        }
    }
}

/// A request the gateway itself rejects (path, method, size).
pub fn rejection(status: StatusCode, message: &str, reference: Option<&str>) -> Response {
    envelope(
        status,
        vec![ErrorJson::from(Problem {
            code: u32::from(status.as_u16()),
            message: message.to_owned(),
            reference: reference.map(str::to_owned),
        })],
    )
}
