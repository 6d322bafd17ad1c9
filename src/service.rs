//! The one implementation of every call. Transports turn their wire form into
//! these arguments and the results back into their wire form; nothing about
//! badges is decided outside this module and `domain`.

use std::sync::Arc;

use crate::auth::{Authenticator, IssuedToken, Principal, Secret};
use crate::catalogue::Catalogues;
use crate::domain::Problem;
use crate::domain::admin::{
    self, BadgeDefinition, ClaimCommand, EarnCommand, EarnOutcome, EnrolCommand, EnrolOutcome,
    GroupView, ImportItem, ImportOutcome, MAX_BATCH, NewBadgeCommand, NewGroupCommand,
    RevokeCommand, UpsertCustomerCommand,
};
use crate::domain::clock::SharedClock;
use crate::domain::list::{self, ListPage, ListParams};
use crate::domain::page;
use crate::error::{Error, Result};
use crate::store::Store;

/// Every call takes the [`Principal`] that the gate (`crate::auth::gate`)
/// authenticated and whose right it checked; nothing here sees credentials.
#[derive(Debug)]
pub struct BadgeService {
    store: Store,
    auth: Arc<Authenticator>,
    catalogues: Catalogues,
    clock: SharedClock,
}

impl BadgeService {
    pub fn new(
        store: Store,
        auth: Arc<Authenticator>,
        catalogues: Catalogues,
        clock: SharedClock,
    ) -> Arc<Self> {
        Arc::new(BadgeService {
            store,
            auth,
            catalogues,
            clock,
        })
    }

    pub fn catalogues(&self) -> &Catalogues {
        &self.catalogues
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// `ListCustomerBadges`: every parameter, then the customer in the
    /// caller's org, then the page. One round trip to the database reads the
    /// customer's state (and checks the caller's client row and the org's
    /// catalogue version); the page is computed in memory.
    pub async fn list_customer_badges(
        &self,
        p: &Principal,
        params: ListParams,
        problems: Vec<Problem>,
    ) -> Result<ListPage> {
        let query = list::validate(params, problems).map_err(Error::Invalid)?;
        let now = self.clock.now();
        let read = self.store.read_customer(p, &query.customer).await?;
        let state = read
            .state
            .ok_or_else(|| Error::NotFound(Problem::customer_not_found()))?;
        let catalogue = self
            .catalogues
            .get(&self.store, p.org_id, read.catalogue_version)
            .await?;
        Ok(page::page(&catalogue, &state, &query, now))
    }

    /// Trades a client's key and secret for an OAuth token.
    pub async fn issue_token(&self, key: &str, secret: Secret) -> Result<IssuedToken> {
        self.auth.issue_token(key, secret, self.clock.now()).await
    }

    pub async fn create_group(
        &self,
        p: &Principal,
        command: NewGroupCommand,
        problems: Vec<Problem>,
    ) -> Result<GroupView> {
        checked(problems, admin::validate_group(&command))?;
        self.store.create_group(p, &command, self.clock.now()).await
    }

    pub async fn create_badge(
        &self,
        p: &Principal,
        command: NewBadgeCommand,
        problems: Vec<Problem>,
    ) -> Result<BadgeDefinition> {
        let now = self.clock.now();
        checked(problems, admin::validate_badge(&command, now))?;
        self.store.create_badge(p, &command, now).await
    }

    pub async fn set_badge_active(
        &self,
        p: &Principal,
        badge_id: &str,
        active: bool,
    ) -> Result<BadgeDefinition> {
        if !list::is_object_id(badge_id) {
            return Err(Error::NotFound(admin::problem(
                admin::CODE_BADGE_NOT_FOUND,
                "Badge not found",
                "badgeMetaId",
            )));
        }
        self.store
            .set_badge_active(p, badge_id, active, self.clock.now())
            .await
    }

    /// Claims (`active`) or unclaims a badge.
    pub async fn set_claim(
        &self,
        p: &Principal,
        command: ClaimCommand,
        active: bool,
        problems: Vec<Problem>,
    ) -> Result<BadgeDefinition> {
        checked(problems, admin::validate_claim(&command))?;
        self.store
            .set_claim(p, &command, active, self.clock.now())
            .await
    }

    pub async fn upsert_customer(
        &self,
        p: &Principal,
        command: UpsertCustomerCommand,
        problems: Vec<Problem>,
    ) -> Result<i64> {
        checked(problems, admin::validate_customer(&command))?;
        self.store.upsert_customer(p, &command).await?;
        Ok(command.customer_id)
    }

    pub async fn enrol(
        &self,
        p: &Principal,
        command: EnrolCommand,
        problems: Vec<Problem>,
    ) -> Result<Vec<EnrolOutcome>> {
        checked(problems, admin::validate_enrol(&command))?;
        self.store.enrol(p, &command, self.clock.now()).await
    }

    pub async fn earn(
        &self,
        p: &Principal,
        command: EarnCommand,
        problems: Vec<Problem>,
    ) -> Result<EarnOutcome> {
        checked(problems, admin::validate_earn(&command))?;
        self.store.earn(p, &command, self.clock.now()).await
    }

    pub async fn revoke(
        &self,
        p: &Principal,
        command: RevokeCommand,
        problems: Vec<Problem>,
    ) -> Result<()> {
        checked(problems, admin::validate_revoke(&command))?;
        self.store.revoke(p, &command).await
    }

    pub async fn import(
        &self,
        p: &Principal,
        items: Vec<ImportItem>,
        problems: Vec<Problem>,
    ) -> Result<Vec<ImportOutcome>> {
        let mut own = Vec::new();
        if items.is_empty() || items.len() > MAX_BATCH {
            own.push(admin::problem(
                400,
                format!("send 1 to {MAX_BATCH} items"),
                "items",
            ));
        }
        checked(problems, own)?;
        self.store.import(p, &items, self.clock.now()).await
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
