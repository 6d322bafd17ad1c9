//! Admission: what a call needs of its caller, decided in this order for
//! REST and gRPC alike, each step answering with the crate's error
//!
//! 1. authenticates (Basic or OAuth token), with the lockout: 401, 429;
//! 2. checks the right the call needs: 403;
//! 3. takes one call from the client's rate: 429;
//! 4. (the server's layer reads the whole request body within the read
//!    timeout and size cap: 408, 413);
//! 5. takes a place in flight, within the client's share and the process's
//!    cap: 429.
//!
//! The HTTP layer that runs these steps and renders their errors in the
//! caller's transport is `server::gate`, so that this module knows no wire
//! format. 401 → 403 → 400 holds for every handler by construction, and only
//! calls whose request is complete and authenticated count against the caps.

use std::sync::Arc;

use axum::http::{HeaderMap, header};

use super::{Access, Authenticator, Credentials, Principal, Source};
use crate::domain::Micros;
use crate::domain::clock::SharedClock;
use crate::error::{Error, Result};
use crate::limits::{Limits, RateLimit, Shares, Slot};

/// The upstream OAuth token header.
pub const OAUTH_TOKEN_HEADER: &str = "X-CAP-API-OAUTH-TOKEN";
/// Largest accepted request body (REST and gRPC alike; gRPC adds a 5-byte
/// frame header, and each gRPC method caps its own message below this).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The shared state of admission.
#[derive(Debug)]
pub struct Gate {
    auth: Arc<Authenticator>,
    rate: RateLimit,
    shares: Shares,
    body_timeout: std::time::Duration,
    clock: SharedClock,
}

impl Gate {
    /// `in_flight`: the process's cap (already resolved against the pool).
    pub fn new(
        auth: Arc<Authenticator>,
        limits: &Limits,
        in_flight: usize,
        clock: SharedClock,
    ) -> Arc<Self> {
        Arc::new(Gate {
            auth,
            rate: RateLimit::new(limits.rate_per_second, limits.rate_burst, clock.clone()),
            shares: Shares::new(in_flight, limits.in_flight_per_client(in_flight)),
            body_timeout: limits.body_read_timeout(),
            clock,
        })
    }

    pub fn authenticator(&self) -> &Arc<Authenticator> {
        &self.auth
    }

    /// How long a caller may take to send a request's body.
    pub fn body_timeout(&self) -> std::time::Duration {
        self.body_timeout
    }

    pub fn now(&self) -> Micros {
        self.clock.now()
    }

    /// Authenticates and checks the right `access` needs.
    pub async fn check(
        &self,
        credentials: Option<&Credentials>,
        source: Source,
        access: Access,
        now: Micros,
        fresh: bool,
    ) -> Result<Principal> {
        let principal = self
            .auth
            .authenticate(credentials, source, now, fresh)
            .await?;
        tracing::Span::current().record("org_id", principal.org_id);
        if principal.allows(access) {
            Ok(principal)
        } else {
            Err(Error::PermissionDenied)
        }
    }

    /// Takes one call from the client's rate.
    pub fn take_rate(&self, client: i32) -> Result<()> {
        self.rate
            .check(client)
            .map_err(|retry_after_seconds| Error::Throttled {
                retry_after_seconds,
            })
    }

    /// A place in flight for a call of `client`.
    pub fn enter(&self, client: i32) -> Result<Slot> {
        self.shares.try_enter(client).ok_or(Error::Throttled {
            retry_after_seconds: 1,
        })
    }

    /// Drops a client's cached row, found out of date.
    pub fn forget(&self, client_id: i32) {
        self.auth.forget(client_id);
    }
}

/// Credentials from `X-CAP-API-OAUTH-TOKEN` or `Authorization` (HTTP headers
/// and gRPC metadata alike).
pub fn credentials(headers: &HeaderMap) -> Option<Credentials> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    Credentials::from_headers(
        text(header::AUTHORIZATION.as_str()),
        text(OAUTH_TOKEN_HEADER),
    )
}

/// Marks an answer whose call found the caller's client row changed; the
/// gate removes it before the answer leaves.
pub const STALE_CLIENT_HEADER: &str = "x-badges-stale-client";
