//! The HTTP layer in front of every matched route, REST and gRPC alike: it
//! runs admission (`auth::gate`: credentials, right, rate, place in flight),
//! reads the whole request body within the read timeout and size cap, and
//! renders every refusal in the caller's transport. It hands the call, with
//! its `Principal` in the request's extensions, to the handler; a caller
//! that sends its body slowly holds nothing but its own connection, and only
//! until the read timeout.
//!
//! It runs around each group of routes with the right the group needs
//! ([`Admission`]), so a call's right follows from where it is routed.
//! Health checks, reflection, metrics and the OpenAPI document have none;
//! the OAuth token route gets the body timeout and size cap (its secret is
//! checked by the handler, on the bounded argon2 pool).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::auth::gate::{Gate, MAX_BODY_BYTES, STALE_CLIENT_HEADER, credentials};
use crate::auth::{Access, Source};
use crate::delivery::{Peer, PlaceInFlight};
use crate::domain::problems::Problem;
use crate::error::Error;
use crate::rest::is_grpc;

const GRPC_FRAME_HEADER: usize = 5;

/// Refuses compressed gRPC messages on every route, the open ones too
/// (health, reflection), before anything else reads them.
pub async fn encodings(request: Request, next: Next) -> Response {
    if is_grpc(request.headers())
        && let Some(refused) = unsupported_encoding(request.headers())
    {
        return refused;
    }
    next.run(request).await
}

/// Admission for one group of routes: the gate, and the right the group's
/// calls need.
#[derive(Clone, Debug)]
pub struct Admission {
    pub gate: Arc<Gate>,
    pub access: Access,
}

pub async fn gate(
    State(Admission { gate, access }): State<Admission>,
    request: Request,
    next: Next,
) -> Response {
    let grpc = is_grpc(request.headers());
    match access {
        Access::Token => {
            let source = source(&request);
            return match read_body(&gate, request, grpc).await {
                Ok((mut parts, body)) => {
                    parts.extensions.insert(source);
                    next.run(Request::from_parts(parts, Body::from(body))).await
                }
                Err(refused) => refused,
            };
        }
        Access::Read | Access::Write => {}
    }

    let now = gate.now();
    let credentials = credentials(request.headers());
    let source = source(&request);
    let mut principal = match gate
        .check(credentials.as_ref(), source, access, now, false)
        .await
    {
        Ok(p) => p,
        Err(e) => return answer(e, grpc),
    };
    if let Err(e) = gate.take_rate(principal.client_id) {
        return answer(e, grpc);
    }
    let (parts, body) = match read_body(&gate, request, grpc).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    // Every call behind the gate is unary: a gRPC call must carry its one
    // message (tonic would answer INTERNAL, a server error, for the
    // caller's mistake).
    if grpc && body.is_empty() {
        return answer(
            Error::Invalid(vec![Problem::invalid(
                "body",
                "the request message is missing",
            )]),
            grpc,
        );
    }
    let slot = match gate.enter(principal.client_id) {
        Ok(slot) => slot,
        Err(e) => return answer(e, grpc),
    };
    // The handler checks the client row's generation in its own round trip
    // to the database. When it moved since the row was cached, the caller is
    // authenticated again from a fresh row, and the call runs once more.
    let mut fresh = false;
    loop {
        let mut request = Request::from_parts(parts.clone(), Body::from(body.clone()));
        request.extensions_mut().insert(principal);
        let mut response = next.clone().run(request).await;
        if response.headers_mut().remove(STALE_CLIENT_HEADER).is_none() {
            // The place is held until the answer has been handed over
            // (crate::delivery).
            response
                .extensions_mut()
                .insert(PlaceInFlight(Arc::new(slot)));
            return response;
        }
        gate.forget(principal.client_id);
        if fresh {
            return answer(Error::Unauthenticated, grpc);
        }
        fresh = true;
        principal = match gate
            .check(credentials.as_ref(), source, access, now, true)
            .await
        {
            Ok(p) => p,
            Err(e) => return answer(e, grpc),
        };
    }
}

/// The address the call came from.
fn source(request: &Request) -> Source {
    Source(
        request
            .extensions()
            .get::<Peer>()
            .and_then(|p| p.tcp.remote_addr)
            .map(|a| a.ip()),
    )
}

/// Messages are never compressed here. tonic would refuse another
/// `grpc-encoding` by repeating the whole header value in its answer; this
/// names at most [`ECHOED_ENCODING_CHARS`] of it.
fn unsupported_encoding(headers: &HeaderMap) -> Option<Response> {
    let value = headers.get("grpc-encoding")?;
    if value.as_bytes() == b"identity" {
        return None;
    }
    let shown: String = String::from_utf8_lossy(value.as_bytes())
        .chars()
        .filter(|c| !c.is_control())
        .take(ECHOED_ENCODING_CHARS)
        .collect();
    let mut response = tonic::Status::unimplemented(format!(
        "messages compressed with `{shown}` are not supported; send them uncompressed"
    ))
    .into_http();
    response
        .headers_mut()
        .insert("grpc-accept-encoding", HeaderValue::from_static("identity"));
    Some(response)
}

/// The most of an unsupported `grpc-encoding` an answer repeats.
const ECHOED_ENCODING_CHARS: usize = 32;

/// An error answer in the caller's transport.
pub fn answer(error: Error, grpc: bool) -> Response {
    if grpc {
        crate::grpc::status::to_status(error).into_http()
    } else {
        crate::rest::ApiError(error).into_response()
    }
}

/// The request's head and whole body, or the answer to a body that came
/// too slowly (408, closing the connection) or was too large (413).
async fn read_body(gate: &Gate, request: Request, grpc: bool) -> Result<(Parts, Bytes), Response> {
    let (parts, body) = request.into_parts();
    let cap = MAX_BODY_BYTES + if grpc { GRPC_FRAME_HEADER } else { 0 };
    // A body declared too large is refused before a byte of it is read,
    // so an HTTP/1.1 caller that asked `Expect: 100-continue` is told 413
    // instead of being invited to send it.
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(too_large(grpc));
    }
    let read = tokio::time::timeout(gate.body_timeout(), Limited::new(body, cap).collect()).await;
    match read {
        Ok(Ok(collected)) => Ok((parts, collected.to_bytes())),
        Err(_elapsed) => Err(too_slow(grpc)),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(grpc)),
        Ok(Err(_broken)) => Err(if grpc {
            tonic::Status::cancelled("request body not received").into_http()
        } else {
            crate::rest::rejection(
                StatusCode::BAD_REQUEST,
                "Request body not received",
                Some("body"),
            )
        }),
    }
}

/// A body over the size cap.
fn too_large(grpc: bool) -> Response {
    if grpc {
        tonic::Status::out_of_range("request message too large").into_http()
    } else {
        let mut r = crate::rest::rejection(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large",
            Some("body"),
        );
        // What the caller may still send of it is not read.
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        r
    }
}

/// A body that did not arrive within the read timeout.
fn too_slow(grpc: bool) -> Response {
    if grpc {
        return tonic::Status::deadline_exceeded("request body not received in time").into_http();
    }
    let mut r = crate::rest::rejection(
        StatusCode::REQUEST_TIMEOUT,
        "Request body not received in time",
        Some("body"),
    );
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}
