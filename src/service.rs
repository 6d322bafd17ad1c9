//! The one implementation of every call. Transports turn their wire form into
//! these arguments and the results back into their wire form; nothing about
//! badges is decided outside this module and `domain`.

use std::sync::Arc;

use crate::auth::{Authenticator, Credentials, IssuedToken, Principal, Secret, TokenKeys};
use crate::domain::Problem;
use crate::domain::admin::{
    self, BadgeDefinition, ClaimCommand, EarnCommand, EarnOutcome, EnrolCommand, EnrolOutcome,
    GroupView, ImportItem, ImportOutcome, MAX_BATCH, NewBadgeCommand, NewGroupCommand,
    RevokeCommand, UpsertCustomerCommand,
};
use crate::domain::clock::SharedClock;
use crate::domain::list::{self, ListPage, ListParams};
use crate::error::{Error, Result};
use crate::limits::{FailureThrottle, RateLimiter};
use crate::store::Store;

/// Limits on callers; see `crate::limits`.
#[derive(Clone, Copy, Debug)]
pub struct LimitSettings {
    /// Failed credential checks per username before a lockout (0: none).
    pub auth_max_failures: u32,
    /// How long failures count, and a lockout lasts (s).
    pub auth_failure_window_seconds: u64,
    /// Calls per second per API client (0: no limit).
    pub rate_per_second: u32,
    /// Calls an API client may make at once.
    pub rate_burst: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            auth_max_failures: 10,
            auth_failure_window_seconds: 60,
            rate_per_second: 1000,
            rate_burst: 2000,
        }
    }
}

#[derive(Debug)]
pub struct BadgeService {
    store: Store,
    auth: Authenticator,
    clock: SharedClock,
    rate: RateLimiter<i32>,
}

impl BadgeService {
    pub fn new(store: Store, clock: SharedClock, keys: TokenKeys) -> Arc<Self> {
        Self::with_limits(store, clock, keys, LimitSettings::default())
    }

    pub fn with_limits(
        store: Store,
        clock: SharedClock,
        keys: TokenKeys,
        limits: LimitSettings,
    ) -> Arc<Self> {
        Arc::new(BadgeService {
            auth: Authenticator::new(
                store.clone(),
                keys,
                FailureThrottle::new(limits.auth_max_failures, limits.auth_failure_window_seconds),
            ),
            rate: RateLimiter::new(limits.rate_per_second, limits.rate_burst),
            store,
            clock,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// `ListCustomerBadges`: credentials first, then every parameter, then the
    /// customer in the caller's org, then the page.
    pub async fn list_customer_badges(
        &self,
        credentials: Option<Credentials>,
        params: ListParams,
        problems: Vec<Problem>,
    ) -> Result<ListPage> {
        let principal = self.principal(credentials).await?;
        if !principal.can_read {
            return Err(Error::PermissionDenied);
        }
        let query = list::validate(params, problems).map_err(Error::Invalid)?;
        self.store
            .list_customer_badges(principal.org_id, &query, self.clock.now())
            .await?
            .ok_or_else(|| Error::NotFound(Problem::customer_not_found()))
    }

    /// Trades a client's key and secret for an OAuth token.
    pub async fn issue_token(&self, key: &str, secret: Secret) -> Result<IssuedToken> {
        self.auth.issue_token(key, secret, self.clock.now()).await
    }

    /// Checks credentials and the client's call rate, and notes the caller's
    /// org on the call's span.
    async fn principal(&self, credentials: Option<Credentials>) -> Result<Principal> {
        let now = self.clock.now();
        let principal = self.auth.authenticate(credentials, now).await?;
        tracing::Span::current().record("org_id", principal.org_id);
        self.rate
            .take(&principal.client_id, now)
            .map_err(|retry_after_seconds| Error::Throttled {
                retry_after_seconds,
            })?;
        Ok(principal)
    }

    /// Only the credential and right checks of a write, for a transport that
    /// cannot build the command but must still answer 401/403 first.
    pub async fn check_writer(&self, credentials: Option<Credentials>) -> Result<()> {
        self.writer(credentials).await.map(|_| ())
    }

    async fn writer(&self, credentials: Option<Credentials>) -> Result<Principal> {
        let principal = self.principal(credentials).await?;
        if !principal.can_write {
            return Err(Error::PermissionDenied);
        }
        Ok(principal)
    }

    pub async fn create_group(
        &self,
        credentials: Option<Credentials>,
        command: NewGroupCommand,
        problems: Vec<Problem>,
    ) -> Result<GroupView> {
        let p = self.writer(credentials).await?;
        checked(problems, admin::validate_group(&command))?;
        self.store
            .create_group(p.org_id, &command, self.clock.now())
            .await
    }

    pub async fn create_badge(
        &self,
        credentials: Option<Credentials>,
        command: NewBadgeCommand,
        problems: Vec<Problem>,
    ) -> Result<BadgeDefinition> {
        let p = self.writer(credentials).await?;
        let now = self.clock.now();
        checked(problems, admin::validate_badge(&command, now))?;
        self.store.create_badge(p.org_id, &command, now).await
    }

    pub async fn set_badge_active(
        &self,
        credentials: Option<Credentials>,
        badge_id: &str,
        active: bool,
    ) -> Result<BadgeDefinition> {
        let p = self.writer(credentials).await?;
        if !list::is_object_id(badge_id) {
            return Err(Error::NotFound(admin::problem(
                admin::CODE_BADGE_NOT_FOUND,
                "Badge not found",
                "badgeMetaId",
            )));
        }
        self.store
            .set_badge_active(p.org_id, badge_id, active, self.clock.now())
            .await
    }

    /// Claims (`active`) or unclaims a badge.
    pub async fn set_claim(
        &self,
        credentials: Option<Credentials>,
        command: ClaimCommand,
        active: bool,
        problems: Vec<Problem>,
    ) -> Result<BadgeDefinition> {
        let p = self.writer(credentials).await?;
        checked(problems, admin::validate_claim(&command))?;
        self.store
            .set_claim(p.org_id, &command, active, self.clock.now())
            .await
    }

    pub async fn upsert_customer(
        &self,
        credentials: Option<Credentials>,
        command: UpsertCustomerCommand,
        problems: Vec<Problem>,
    ) -> Result<i64> {
        let p = self.writer(credentials).await?;
        checked(problems, admin::validate_customer(&command))?;
        self.store.upsert_customer(p.org_id, &command).await?;
        Ok(command.customer_id)
    }

    pub async fn enrol(
        &self,
        credentials: Option<Credentials>,
        command: EnrolCommand,
        problems: Vec<Problem>,
    ) -> Result<Vec<EnrolOutcome>> {
        let p = self.writer(credentials).await?;
        checked(problems, admin::validate_enrol(&command))?;
        self.store.enrol(p.org_id, &command, self.clock.now()).await
    }

    pub async fn earn(
        &self,
        credentials: Option<Credentials>,
        command: EarnCommand,
        problems: Vec<Problem>,
    ) -> Result<EarnOutcome> {
        let p = self.writer(credentials).await?;
        checked(problems, admin::validate_earn(&command))?;
        self.store.earn(p.org_id, &command, self.clock.now()).await
    }

    pub async fn revoke(
        &self,
        credentials: Option<Credentials>,
        command: RevokeCommand,
        problems: Vec<Problem>,
    ) -> Result<()> {
        let p = self.writer(credentials).await?;
        checked(problems, admin::validate_revoke(&command))?;
        self.store.revoke(p.org_id, &command).await
    }

    pub async fn import(
        &self,
        credentials: Option<Credentials>,
        items: Vec<ImportItem>,
        problems: Vec<Problem>,
    ) -> Result<Vec<ImportOutcome>> {
        let p = self.writer(credentials).await?;
        let mut own = Vec::new();
        if items.is_empty() || items.len() > MAX_BATCH {
            own.push(admin::problem(
                400,
                format!("send 1 to {MAX_BATCH} items"),
                "items",
            ));
        }
        checked(problems, own)?;
        self.store.import(p.org_id, &items, self.clock.now()).await
    }
}

/// The transport's problems and the domain's, together; `Invalid` when any.
/// A field the transport already found malformed is not reported again as
/// missing.
fn checked(mut problems: Vec<Problem>, more: Vec<Problem>) -> Result<()> {
    let named: Vec<Option<String>> = problems.iter().map(|p| p.reference.clone()).collect();
    problems.extend(
        more.into_iter()
            .filter(|p| p.reference.is_none() || !named.contains(&p.reference)),
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(problems))
    }
}
