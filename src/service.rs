//! The one implementation of every call. Transports turn their wire form into
//! these arguments and the results back into their wire form; nothing about
//! badges is decided outside this module and `domain`.

use std::sync::Arc;

use crate::auth::{Authenticator, Credentials};
use crate::domain::Problem;
use crate::domain::clock::SharedClock;
use crate::domain::list::{self, ListPage, ListParams};
use crate::error::{Error, Result};
use crate::store::Store;

#[derive(Debug)]
pub struct BadgeService {
    store: Store,
    auth: Authenticator,
    clock: SharedClock,
}

impl BadgeService {
    pub fn new(store: Store, clock: SharedClock) -> Arc<Self> {
        Arc::new(BadgeService {
            auth: Authenticator::new(store.clone()),
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
        let principal = self.auth.authenticate(credentials).await?;
        if !principal.can_read {
            return Err(Error::PermissionDenied);
        }
        let query = list::validate(params, problems).map_err(Error::Invalid)?;
        let customer = self
            .store
            .find_customer(principal.org_id, &query.customer)
            .await?
            .ok_or_else(|| Error::NotFound(Problem::customer_not_found()))?;
        self.store
            .list_customer_badges(principal.org_id, customer, &query, self.clock.now())
            .await
    }
}
