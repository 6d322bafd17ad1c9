//! The application: every call's use case, once, over the store's
//! transaction handle. Transports turn their wire form into these arguments
//! and the results back into their wire form; each use case validates, loads
//! what the rules need, asks the domain's rules, writes, and appends its
//! events, in that order and in the open. Nothing about badges is decided
//! outside this layer and `domain`.
//!
//! - this module: the read calls (list, detail) and the token call;
//! - [`catalogue`]: groups, badges, activation, claims;
//! - [`customers`]: customers, enrolments, awards, revocations, imports;
//! - [`requests`]: the requestId a write may carry (idempotent replays).

mod catalogue;
mod customers;
mod requests;

pub use catalogue::{BadgePage, CatalogueBadge};

use std::sync::Arc;

use crate::auth::{Authenticator, IssuedToken, Principal, Secret, Source};
use crate::catalogue::Catalogues;
use crate::domain::Problem;
use crate::domain::catalogue::{Catalogue, CustomerState};
use crate::domain::clock::SharedClock;
use crate::domain::constraints;
use crate::domain::detail::{self, BadgeDetail, DetailParams, History};
use crate::domain::holdings::Holdings;
use crate::domain::list::{self, CustomerRef, ListPage, ListParams};
use crate::domain::older_list::{self, OlderListParams, OlderPage, OlderRow};
use crate::domain::page;
use crate::error::{Error, Result};
use crate::limits::{AnswerBudget, AnswerBytes};
use crate::store::{Scope, Store};

/// Every call takes the [`Principal`] that the gate (`crate::auth::gate`)
/// authenticated and whose right it checked; nothing here sees credentials.
#[derive(Debug)]
pub struct BadgeService {
    store: Store,
    auth: Arc<Authenticator>,
    catalogues: Catalogues,
    answers: AnswerBudget,
    clock: SharedClock,
}

/// An answer with the memory reserved for it, which the transports give to
/// the delivery layer (`crate::delivery`) with the answer, so that it is
/// held until the answer has been handed over.
#[derive(Debug)]
pub struct Reserved<T> {
    pub answer: T,
    /// About how many bytes the answer takes encoded.
    pub bytes: usize,
    pub memory: AnswerBytes,
}

impl BadgeService {
    pub fn new(
        store: Store,
        auth: Arc<Authenticator>,
        catalogues: Catalogues,
        answers: AnswerBudget,
        clock: SharedClock,
    ) -> Arc<Self> {
        Arc::new(BadgeService {
            store,
            auth,
            catalogues,
            answers,
            clock,
        })
    }

    pub fn catalogues(&self) -> &Catalogues {
        &self.catalogues
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The service's clock now: what answers that show a badge's status
    /// judge it by.
    pub fn now(&self) -> crate::domain::Micros {
        self.clock.now()
    }

    /// `ListCustomerBadges`: every parameter, then the customer in the
    /// caller's org, then the page. One round trip to the database reads the
    /// customer's state (and checks the caller's client row and the org's
    /// catalogue version); the page is selected in memory from the org's
    /// index, its badges' rows taken from the row cache (the missing ones
    /// read by key), and its rows built once the memory its answer takes is
    /// reserved (429 when the budget is spent).
    pub async fn list_customer_badges(
        &self,
        p: &Principal,
        params: ListParams,
    ) -> Result<Reserved<ListPage>> {
        let query = list::validate(params).map_err(Error::Invalid)?;
        let now = self.clock.now();
        let (catalogue, state) = self.read_holdings(p, &query.customer).await?;
        let selected = page::select(&catalogue, &state, &query, now);
        let badges = self
            .catalogues
            .rows(&self.store, &catalogue, selected.positions())
            .await?;
        let bytes = selected.answer_bytes(&catalogue, &badges);
        let memory = self.reserve(p, bytes)?;
        Ok(Reserved {
            answer: page::rows(&catalogue, selected, &badges, now),
            bytes,
            memory,
        })
    }

    /// The older customer list (`GET /customer/{customerId}`, upstream "Get
    /// badges for customer"): the list call's one round trip and in-memory
    /// selection, sorted by rank or by the latest award, each row with its
    /// badge (upstream's older row shows the badge's own fields).
    pub async fn older_customer_badges(
        &self,
        p: &Principal,
        params: OlderListParams,
    ) -> Result<Reserved<OlderPage>> {
        let older = older_list::validate(params).map_err(Error::Invalid)?;
        let query = &older.query;
        let now = self.clock.now();
        let (catalogue, state) = self.read_holdings(p, &query.customer).await?;
        let selected = if older.by_rank {
            page::select_ranked(&catalogue, &state, query, now)
        } else {
            page::select(&catalogue, &state, query, now)
        };
        let badges = self
            .catalogues
            .rows(&self.store, &catalogue, selected.positions())
            .await?;
        let bytes = selected.answer_bytes(&catalogue, &badges);
        let memory = self.reserve(p, bytes)?;
        let listed = page::rows(&catalogue, selected, &badges, now);
        Ok(Reserved {
            answer: OlderPage {
                rows: listed
                    .rows
                    .into_iter()
                    .zip(badges)
                    .map(|(row, badge)| OlderRow { badge, row })
                    .collect(),
                page: listed.page,
                requested_size: listed.requested_size,
                total: listed.total,
            },
            bytes,
            memory,
        })
    }

    /// `GetCustomerBadge`: the badge's row as the list would show it to the
    /// customer, and with `include_statistics` their history with it. The
    /// same one round trip as a list call, narrowed to the badge; a missing
    /// customer is reported before a missing badge.
    pub async fn get_customer_badge(
        &self,
        p: &Principal,
        params: DetailParams,
    ) -> Result<BadgeDetail> {
        let query = detail::validate(params).map_err(Error::Invalid)?;
        let now = self.clock.now();
        let scope = Scope::Badge {
            id: &query.badge_id,
            history: query.include_statistics,
        };
        let (catalogue, state, history) = self.read(p, &query.customer, scope).await?;
        let pos = catalogue
            .position(&query.badge_id)
            .ok_or_else(|| Error::NotFound(detail::badge_not_found()))?;
        let badge = self.catalogues.row(&self.store, &catalogue, pos).await?;
        // All customers' standing against the badge constraints: one more
        // indexed read, with statistics and only for a badge that has them.
        let spans = if query.include_statistics {
            constraints::standing_spans(&badge.extras.badge_constraints, now, badge.starts_on)
        } else {
            Vec::new()
        };
        let badge_counts = self
            .store
            .count_awards_now(p.org_id, &badge.id, None, &spans)
            .await?;
        Ok(detail::detail(
            &catalogue,
            &state,
            pos,
            &badge,
            history,
            &badge_counts,
            now,
        ))
    }

    /// The memory a page of about `bytes` takes while it is answered: held
    /// twice, as rows and encoded; 429 when the budget is spent.
    fn reserve(&self, p: &Principal, bytes: usize) -> Result<AnswerBytes> {
        self.answers
            .try_reserve(p.client_id, 2 * bytes)
            .ok_or(Error::Throttled {
                retry_after_seconds: 1,
            })
    }

    /// What the detail call needs: the customer's awards and enrolments of
    /// the badge (and history, when the scope asks) in one round trip, then
    /// the org's catalogue at the version that round trip saw; 1026 when the
    /// customer is not in the caller's org.
    async fn read(
        &self,
        p: &Principal,
        customer: &CustomerRef,
        scope: Scope<'_>,
    ) -> Result<(Arc<Catalogue>, CustomerState, Option<History>)> {
        let read = self.store.read_customer(p, customer, scope).await?;
        let state = read
            .state
            .ok_or_else(|| Error::NotFound(Problem::customer_not_found()))?;
        let catalogue = self
            .catalogues
            .get(&self.store, p.org_id, read.catalogue_version)
            .await?;
        Ok((catalogue, state, read.history))
    }

    /// What a list call needs: what the customer holds of every badge (the
    /// customer's state row) in one round trip, then the org's catalogue at
    /// the version that round trip saw; 1026 when the customer is not in the
    /// caller's org.
    async fn read_holdings(
        &self,
        p: &Principal,
        customer: &CustomerRef,
    ) -> Result<(Arc<Catalogue>, Holdings)> {
        let read = self.store.read_holdings(p, customer).await?;
        let holdings = read
            .holdings
            .ok_or_else(|| Error::NotFound(Problem::customer_not_found()))?;
        let catalogue = self
            .catalogues
            .get(&self.store, p.org_id, read.catalogue_version)
            .await?;
        Ok((catalogue, holdings))
    }

    /// Trades a client's key and secret for an OAuth token.
    pub async fn issue_token(
        &self,
        key: &str,
        secret: Secret,
        source: Source,
    ) -> Result<IssuedToken> {
        self.auth
            .issue_token(key, secret, source, self.clock.now())
            .await
    }
}

pub(crate) fn invalid_unless_empty(problems: Vec<Problem>) -> Result<()> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(problems))
    }
}
