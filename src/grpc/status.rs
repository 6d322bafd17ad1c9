//! The one mapping from `Error` to `tonic::Status`. Every status carries
//! google.rpc details with the same numeric codes a REST caller sees:
//! `ErrorInfo.metadata["code"]`; for bad requests one `BadRequest` field
//! violation per problem (field = the parameter, reason = its code); for a
//! missing customer, badge or group a `ResourceInfo` naming the parameter.
//!
//! ErrorInfo's metadata is a map, which protobuf encodes in hash order; it
//! holds one entry only, so that equal errors are equal bytes (a foreign
//! customer must be indistinguishable from a missing one).

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::domain::Problem;
use crate::error::Error;

/// The `ErrorInfo.domain` of every error this service returns.
pub const ERROR_DOMAIN: &str = "badges.capillary";

pub fn to_status(error: Error) -> Status {
    match error {
        Error::Unauthenticated => with_info(Code::Unauthenticated, "Unauthorized", 401, None),
        Error::StaleClient => {
            let mut status = with_info(Code::Unauthenticated, "Unauthorized", 401, None);
            status.metadata_mut().insert(
                crate::auth::gate::STALE_CLIENT_HEADER,
                tonic::metadata::MetadataValue::from_static("1"),
            );
            status
        }
        Error::PermissionDenied => with_info(Code::PermissionDenied, "Forbidden", 403, None),
        Error::NotFound(problem) => with_info(
            Code::NotFound,
            &problem.message,
            problem.code,
            problem.reference.as_deref(),
        ),
        Error::Invalid(problems) => invalid(Code::InvalidArgument, &problems),
        Error::Conflict(problems) => invalid(Code::AlreadyExists, &problems),
        Error::Throttled {
            retry_after_seconds,
        } => {
            let mut details = ErrorDetails::new();
            details.set_error_info(
                reason(Code::ResourceExhausted),
                ERROR_DOMAIN,
                code_only(429),
            );
            details.set_retry_info(Some(std::time::Duration::from_secs(retry_after_seconds)));
            retry_after(
                Status::with_error_details(Code::ResourceExhausted, "Too many requests", details),
                retry_after_seconds,
            )
        }
        Error::Timeout(detail) => {
            tracing::warn!(error = %detail, "database deadline exceeded");
            retry_after(
                with_info(Code::DeadlineExceeded, "Service unavailable", 503, None),
                crate::error::UNAVAILABLE_RETRY_AFTER_SECONDS,
            )
        }
        Error::Unavailable(detail) => {
            tracing::warn!(error = %detail, "database unavailable");
            retry_after(
                with_info(Code::Unavailable, "Service unavailable", 503, None),
                crate::error::UNAVAILABLE_RETRY_AFTER_SECONDS,
            )
        }
        Error::Internal(detail) => {
            tracing::error!(error = %detail, "internal error");
            with_info(Code::Internal, "Internal server error", 500, None)
        }
    }
}

/// The REST header's twin, in metadata.
fn retry_after(mut status: Status, seconds: u64) -> Status {
    if let Ok(v) = seconds.to_string().parse() {
        status.metadata_mut().insert("retry-after", v);
    }
    status
}

fn code_only(numeric: u32) -> HashMap<String, String> {
    HashMap::from([("code".to_owned(), numeric.to_string())])
}

fn with_info(code: Code, message: &str, numeric: u32, reference: Option<&str>) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(reason(code), ERROR_DOMAIN, code_only(numeric));
    if let Some(reference) = reference {
        let resource = match reference {
            "badgeMetaId" => "badge",
            "badgeGroupId" => "group",
            _ => "customer",
        };
        details.set_resource_info(resource, "", "", reference);
    }
    Status::with_error_details(code, message, details)
}

fn invalid(code: Code, problems: &[Problem]) -> Status {
    let message = problems
        .iter()
        .map(|p| p.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let first = problems.first().map_or(400, |p| p.code);
    let mut details = ErrorDetails::new();
    details.set_error_info(reason(code), ERROR_DOMAIN, code_only(first));
    details.set_bad_request(
        problems
            .iter()
            .map(|p| FieldViolation {
                field: p.reference.clone().unwrap_or_default(),
                description: p.message.clone(),
                reason: p.code.to_string(),
                localized_message: None,
            })
            .collect::<Vec<_>>(),
    );
    Status::with_error_details(code, message, details)
}

fn reason(code: Code) -> &'static str {
    match code {
        Code::Unauthenticated => "UNAUTHENTICATED",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::NotFound => "NOT_FOUND",
        Code::Unavailable => "UNAVAILABLE",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}
