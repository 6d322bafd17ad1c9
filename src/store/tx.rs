//! The write transaction handle the application's use cases run in: small
//! operations (find a badge, lock customers, claim a request id, insert an
//! award, append events) that return what they found or whether a unique key
//! was taken. No rule is decided here and no problem code is chosen; a write
//! that is dropped without [`Tx::commit`] rolls back.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
};

use super::Store;
use super::badges::{insert_badge_rows, read_badge, stored, update_badge_rows};
use super::counts::{COUNT_SLOTS, add_counts};
use super::entity::{award, badge, badge_claim, badge_group, customer, enrolment, idempotency_key};
use super::expiry::stored_rule;
use super::seed::{NewAward, NewCustomer, NewEnrolment};
use super::states;
use crate::domain::Micros;
use crate::domain::badge::{Badge, BadgeRules, Claim};
use crate::domain::catalogue::{AwardRow, EnrolmentRow, IndexedGroup};
use crate::domain::constraints::Constraint;
use crate::domain::enums::{EarnType, Owner};
use crate::domain::events::Event;
use crate::domain::holdings::Change;
use crate::domain::list::CustomerRef;
use crate::domain::principal::Principal;
use crate::domain::rules::Enrolment;
use crate::error::{Error, Result};

/// A write of the caller's org, in one transaction.
pub struct Tx<'s> {
    store: &'s Store,
    txn: DatabaseTransaction,
    org: i32,
    /// Whether events were appended, so the relay is woken at commit.
    appended: bool,
    /// What the write did to each customer's badges, in order: applied to
    /// their state rows at commit.
    changes: Vec<(i64, Change)>,
    /// The state rows of the customers locked, read with their locks.
    locked: BTreeMap<i64, Option<states::Stored>>,
}

/// An insert under a unique key: written, or the key was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Unique {
    Written,
    Taken,
}

/// The request id a write claims: which kind of write, the caller's id, and
/// the fingerprint of what the caller asked.
#[derive(Clone, Debug)]
pub struct RequestKey<'a> {
    pub kind: &'static str,
    pub request_id: &'a str,
    pub fingerprint: String,
}

/// How a write that carries a request id begins.
pub enum Claimed<'s> {
    /// The id is this write's, claimed in its transaction; its answer must be
    /// stored ([`Tx::store_answer`]) before commit.
    Fresh(Tx<'s>),
    /// An earlier write claimed it: its fingerprint and stored answer.
    Taken { fingerprint: String, answer: String },
}

pub(super) fn unique(written: std::result::Result<(), DbErr>) -> Result<Unique> {
    match written {
        Ok(()) => Ok(Unique::Written),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Ok(Unique::Taken)
        }
        Err(e) => Err(e.into()),
    }
}

/// A badge's `last_updated_on` after a change at `now`: `now`, or one past
/// what it was when that is not earlier. It is the version of the badge's
/// row (the row cache, `crate::catalogue`, trusts it), so every change moves
/// it forward, even two in one microsecond or under a clock that stepped back.
fn touched(now: Micros) -> sea_orm::sea_query::SimpleExpr {
    let column = || Expr::col(badge::Column::LastUpdatedOn);
    Expr::case(column().lt(now.0), now.0)
        .finally(column().add(1))
        .into()
}

/// The limits kept in a badge's extras column: all a write's rules need of
/// it (its tags, benefits and custom fields are not read).
#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct StoredLimits {
    customer_constraints: Vec<Constraint>,
    badge_constraints: Vec<Constraint>,
}

/// What the rules need of a badge's row.
fn rules_of(b: &badge::Model) -> Result<BadgeRules> {
    let limits: StoredLimits = stored(serde_json::from_str(&b.extras).ok(), &b.extras)?;
    Ok(BadgeRules {
        earn_type: stored(EarnType::parse(&b.earn_type), &b.earn_type)?,
        active: b.active,
        starts_on: Micros(b.starts_on),
        expires_on: Micros(b.expires_on),
        earned_badge_expiry: stored_rule(&b.earned_badge_expiry)?,
        issued_badge_expiry: stored_rule(&b.issued_badge_expiry)?,
        customer_constraints: limits.customer_constraints,
        badge_constraints: limits.badge_constraints,
    })
}

/// An award as the customer's state folds it.
fn award_of(a: award::Model) -> AwardRow {
    AwardRow {
        seq: i64::from(a.id),
        badge_id: a.badge_id,
        awarded_at: Micros(a.awarded_at),
        event_at: Micros(a.event_at),
        expires_at: a.expires_at.map(Micros),
    }
}

impl Store {
    /// Begins a write of the caller `p`, whose client row must still be what
    /// it was when it was authenticated (`StaleClient` otherwise).
    pub async fn begin(&self, p: &Principal) -> Result<Tx<'_>> {
        Ok(Tx {
            store: self,
            txn: self.write_txn_as(p).await?,
            org: p.org_id,
            appended: false,
            changes: Vec::new(),
            locked: BTreeMap::new(),
        })
    }

    /// Begins a write that claims `key` in its transaction. When another
    /// write holds the key, that write's transaction has committed (a
    /// concurrent claim waits for it on the unique index), and its
    /// fingerprint and answer are returned instead.
    pub async fn begin_claiming(
        &self,
        p: &Principal,
        key: &RequestKey<'_>,
        now: Micros,
    ) -> Result<Claimed<'_>> {
        let tx = self.begin(p).await?;
        let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
            org_id: Set(tx.org),
            kind: Set(key.kind.to_owned()),
            request_id: Set(key.request_id.to_owned()),
            fingerprint: Set(key.fingerprint.clone()),
            response: Set(String::new()),
            created_at: Set(now.0),
        })
        .exec_without_returning(&tx.txn)
        .await
        .map(|_| ());
        if unique(inserted)? == Unique::Written {
            return Ok(Claimed::Fresh(tx));
        }
        let org = tx.org;
        tx.txn.rollback().await?;
        let stored = idempotency_key::Entity::find_by_id((
            org,
            key.kind.to_owned(),
            key.request_id.to_owned(),
        ))
        .one(&self.db)
        .await?
        .ok_or_else(|| Error::Internal("idempotency key vanished".into()))?;
        Ok(Claimed::Taken {
            fingerprint: stored.fingerprint,
            answer: stored.response,
        })
    }
}

impl Tx<'_> {
    pub fn org(&self) -> i32 {
        self.org
    }

    pub(super) fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    pub(super) fn store(&self) -> &Store {
        self.store
    }

    /// The name and rank of the org's group `id`.
    pub(super) async fn indexed_group(&self, id: &str) -> Result<Option<IndexedGroup>> {
        Ok(badge_group::Entity::find()
            .select_only()
            .columns([badge_group::Column::Name, badge_group::Column::Rank])
            .filter(Expr::col(badge_group::Column::Id).eq(self.id(id)))
            .filter(badge_group::Column::OrgId.eq(self.org))
            .into_tuple::<(String, i32)>()
            .one(&self.txn)
            .await?
            .map(|(name, rank)| IndexedGroup { name, rank }))
    }

    /// An object id to compare with an id column (see `Dialect::object_id`).
    fn id(&self, id: &str) -> sea_orm::sea_query::SimpleExpr {
        self.store.dialect.object_id(id)
    }

    /// Brings the state rows of the customers written to up to date, makes
    /// the write visible, and wakes the relay when it appended events.
    pub async fn commit(self) -> Result<()> {
        states::keep(
            &self.txn,
            self.store.dialect,
            self.org,
            &self.changes,
            &self.locked,
        )
        .await?;
        self.txn.commit().await?;
        if self.appended {
            self.store.ring();
        }
        Ok(())
    }

    /// Appends `events`, recorded at `now`, to the outbox.
    pub async fn append(&mut self, now: Micros, events: Vec<Event>) -> Result<()> {
        self.appended |= !events.is_empty();
        self.store.record(&self.txn, self.org, now, events).await
    }

    /// Stores the answer of the request id claimed by `begin_claiming`.
    pub async fn store_answer(&self, key: &RequestKey<'_>, answer: String) -> Result<()> {
        idempotency_key::Entity::update_many()
            .col_expr(idempotency_key::Column::Response, Expr::value(answer))
            .filter(idempotency_key::Column::OrgId.eq(self.org))
            .filter(idempotency_key::Column::Kind.eq(key.kind))
            .filter(idempotency_key::Column::RequestId.eq(key.request_id))
            .exec(&self.txn)
            .await?;
        Ok(())
    }

    /// What the rules need of the badge `id`, when the org has it.
    pub async fn badge_rules(&self, id: &str) -> Result<Option<BadgeRules>> {
        badge::Entity::find()
            .filter(Expr::col(badge::Column::Id).eq(self.id(id)))
            .filter(badge::Column::OrgId.eq(self.org))
            .one(&self.txn)
            .await?
            .as_ref()
            .map(rules_of)
            .transpose()
    }

    /// What the rules need of each of the badges `ids` the org has.
    pub async fn badges_rules(&self, ids: &[&str]) -> Result<HashMap<String, BadgeRules>> {
        badge::Entity::find()
            .filter(badge::Column::OrgId.eq(self.org))
            .filter(Expr::col(badge::Column::Id).is_in(ids.iter().map(|id| self.id(id))))
            .all(&self.txn)
            .await?
            .iter()
            .map(|b| Ok((b.id.clone(), rules_of(b)?)))
            .collect()
    }

    /// The badge `id` with its images, owners and claims.
    pub async fn badge(&self, id: &str) -> Result<Option<Badge>> {
        read_badge(&self.txn, self.store.dialect, self.org, id).await
    }

    pub async fn group_exists(&self, id: &str) -> Result<bool> {
        Ok(badge_group::Entity::find()
            .filter(Expr::col(badge_group::Column::Id).eq(self.id(id)))
            .filter(badge_group::Column::OrgId.eq(self.org))
            .one(&self.txn)
            .await?
            .is_some())
    }

    /// Inserts a badge with its parts (its name is unique in the org).
    pub async fn insert_badge(&self, b: &Badge) -> Result<Unique> {
        debug_assert_eq!(b.org_id, self.org);
        unique(insert_badge_rows(&self.txn, b).await)
    }

    /// Rewrites the badge `b` as an update asks (see
    /// `badges::update_badge_rows`); `Taken` when another badge of the org
    /// has its name.
    pub async fn update_badge(&self, b: &Badge, now: Micros) -> Result<Unique> {
        debug_assert_eq!(b.org_id, self.org);
        unique(update_badge_rows(&self.txn, self.store.dialect, b, touched(now)).await)
    }

    pub async fn set_badge_active(&self, id: &str, active: bool, now: Micros) -> Result<()> {
        badge::Entity::update_many()
            .col_expr(badge::Column::Active, Expr::value(active))
            .col_expr(badge::Column::LastUpdatedOn, touched(now))
            .filter(Expr::col(badge::Column::Id).eq(self.id(id)))
            .filter(badge::Column::OrgId.eq(self.org))
            .exec(&self.txn)
            .await?;
        Ok(super::bump_catalogue(&self.txn, self.org).await?)
    }

    /// Writes a claim of the badge `id`: the row of its owner type and
    /// reference is updated when it `exists`, inserted otherwise.
    pub async fn save_claim(&self, id: &str, c: &Claim, exists: bool, now: Micros) -> Result<()> {
        if exists {
            badge_claim::Entity::update_many()
                .col_expr(badge_claim::Column::IsActive, Expr::value(c.is_active))
                .filter(badge_claim::Column::OrgId.eq(self.org))
                .filter(Expr::col(badge_claim::Column::BadgeId).eq(self.id(id)))
                .filter(badge_claim::Column::OwnerType.eq(c.owner_type.as_str()))
                .filter(badge_claim::Column::ReferenceId.eq(c.reference_id.as_str()))
                .exec(&self.txn)
                .await?;
        } else {
            badge_claim::Entity::insert(badge_claim::ActiveModel {
                org_id: Set(self.org),
                badge_id: Set(id.to_owned()),
                owner_type: Set(c.owner_type.as_str().to_owned()),
                reference_id: Set(c.reference_id.clone()),
                is_active: Set(c.is_active),
                ..Default::default()
            })
            .exec_without_returning(&self.txn)
            .await?;
        }
        badge::Entity::update_many()
            .col_expr(badge::Column::LastUpdatedOn, touched(now))
            .filter(Expr::col(badge::Column::Id).eq(self.id(id)))
            .filter(badge::Column::OrgId.eq(self.org))
            .exec(&self.txn)
            .await?;
        Ok(super::bump_catalogue(&self.txn, self.org).await?)
    }

    /// The id of the org's customer that `who` names.
    pub async fn find_customer(&self, who: &CustomerRef) -> Result<Option<i64>> {
        let find = customer::Entity::find()
            .select_only()
            .column(customer::Column::CustomerId)
            .filter(customer::Column::OrgId.eq(self.org));
        let find = match who {
            CustomerRef::Id(id) => find.filter(customer::Column::CustomerId.eq(*id)),
            CustomerRef::Email(v) => find.filter(customer::Column::Email.eq(v.as_str())),
            CustomerRef::Mobile(v) => find.filter(customer::Column::Mobile.eq(v.as_str())),
            CustomerRef::ExternalId(v) => find.filter(customer::Column::ExternalId.eq(v.as_str())),
            CustomerRef::CardNumber(v) => find.filter(customer::Column::CardNumber.eq(v.as_str())),
        };
        Ok(find.into_tuple::<i64>().one(&self.txn).await?)
    }

    /// Writes the customer's row, inserted or replaced; `Taken` when one of
    /// its identifiers belongs to another customer.
    pub async fn save_customer(&self, c: &NewCustomer) -> Result<Unique> {
        debug_assert_eq!(c.org_id, self.org);
        let model = customer::ActiveModel {
            org_id: Set(self.org),
            customer_id: Set(c.customer_id),
            email: Set(c.email.clone()),
            mobile: Set(c.mobile.clone()),
            external_id: Set(c.external_id.clone()),
            card_number: Set(c.card_number.clone()),
        };
        let exists = self.find_customer(&CustomerRef::Id(c.customer_id)).await?;
        let written = if exists.is_some() {
            customer::Entity::update(model)
                .exec(&self.txn)
                .await
                .map(|_| ())
        } else {
            customer::Entity::insert(model)
                .exec_without_returning(&self.txn)
                .await
                .map(|_| ())
        };
        unique(written)
    }

    /// Locks the rows of the customers `ids` (see `Store::lock_customers`),
    /// reading their state rows in the same statement for the commit; the
    /// ids that exist.
    pub async fn lock_customers(&mut self, ids: &[i64]) -> Result<BTreeSet<i64>> {
        let locked = states::lock_with_states(&self.txn, self.store.dialect, self.org, ids).await?;
        let existing = locked.keys().copied().collect();
        self.locked.extend(locked);
        Ok(existing)
    }

    /// The latest enrolment of each of `customers` in the badge `badge_id`.
    pub async fn latest_enrolments(
        &self,
        badge_id: &str,
        customers: &[i64],
    ) -> Result<HashMap<i64, Enrolment>> {
        let mut latest = HashMap::new();
        for e in enrolment::Entity::find()
            .filter(enrolment::Column::OrgId.eq(self.org))
            .filter(Expr::col(enrolment::Column::BadgeId).eq(self.id(badge_id)))
            .filter(enrolment::Column::CustomerId.is_in(customers.iter().copied()))
            .order_by_asc(enrolment::Column::IssuedAt)
            .order_by_asc(enrolment::Column::Id)
            .all(&self.txn)
            .await?
        {
            latest.insert(
                e.customer_id,
                Enrolment {
                    id: e.issued_badge_id,
                    issued_at: Micros(e.event_at.unwrap_or(e.issued_at)),
                    expires_at: e.expires_at.map(Micros),
                    revoked: e.revoked,
                },
            );
        }
        Ok(latest)
    }

    /// Inserts enrolments, and counts them in their badges' counts.
    pub async fn insert_enrolments(&mut self, rows: Vec<NewEnrolment>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for r in rows.iter().filter(|r| !r.revoked) {
            *counts.entry(r.badge_id.clone()).or_default() += 1;
        }
        let inserted =
            enrolment::Entity::insert_many(rows.into_iter().map(super::seed::enrolment_row))
                .exec_with_returning(&self.txn)
                .await?;
        self.changes.extend(inserted.into_iter().map(|e| {
            (
                e.customer_id,
                Change::Enrolled(EnrolmentRow {
                    seq: i64::from(e.id),
                    badge_id: e.badge_id,
                    issued_at: Micros(e.issued_at),
                    expires_at: e.expires_at.map(Micros),
                    revoked: e.revoked,
                }),
            )
        }));
        self.count(counts, |n| (n, 0)).await
    }

    /// Inserts awards, and counts them in their badges' counts.
    pub async fn insert_awards(&mut self, rows: Vec<NewAward>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for r in rows.iter().filter(|r| !r.revoked) {
            *counts.entry(r.badge_id.clone()).or_default() += 1;
        }
        let inserted = award::Entity::insert_many(rows.into_iter().map(super::seed::award_row))
            .exec_with_returning(&self.txn)
            .await?;
        self.changes.extend(
            inserted
                .into_iter()
                .filter(|a| !a.revoked)
                .map(|a| (a.customer_id, Change::Earned(award_of(a)))),
        );
        self.count(counts, |n| (0, n)).await
    }

    /// Adds to the counts of each badge of `counts`, in id order (so that
    /// two writes lock the rows they share in one order), all in one slot
    /// taken in turn by this process's writes, so that concurrent writes of
    /// one badge seldom share a row.
    async fn count(
        &self,
        counts: BTreeMap<String, i64>,
        as_counts: fn(i64) -> (i64, i64),
    ) -> Result<()> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let slot = NEXT.fetch_add(1, Ordering::Relaxed) % COUNT_SLOTS;
        for (badge, n) in counts {
            let (issued, earned) = as_counts(n);
            add_counts(
                &self.txn,
                self.store.dialect,
                self.org,
                &badge,
                slot,
                issued,
                earned,
            )
            .await?;
        }
        Ok(())
    }

    /// Whether the badge `badge_id` (one of the org's, as the caller has
    /// checked) holds an active claim of `owner` and `reference`.
    pub async fn claim_is_active(
        &self,
        badge_id: &str,
        owner: Owner,
        reference: &str,
    ) -> Result<bool> {
        Ok(badge_claim::Entity::find()
            .filter(badge_claim::Column::OrgId.eq(self.org))
            .filter(Expr::col(badge_claim::Column::BadgeId).eq(self.id(badge_id)))
            .filter(badge_claim::Column::OwnerType.eq(owner.as_str()))
            .filter(badge_claim::Column::ReferenceId.eq(reference))
            .filter(badge_claim::Column::IsActive.eq(true))
            .count(&self.txn)
            .await?
            > 0)
    }

    /// Revokes the customer's live enrolments in the badge (only
    /// `issued_id` when given) at `now`, and takes them out of the badge's
    /// counts; the ids revoked.
    pub async fn revoke_enrolments(
        &mut self,
        badge_id: &str,
        customer_id: i64,
        issued_id: Option<&str>,
        now: Micros,
    ) -> Result<Vec<String>> {
        let live = enrolment::Entity::find()
            .filter(enrolment::Column::OrgId.eq(self.org))
            .filter(Expr::col(enrolment::Column::BadgeId).eq(self.id(badge_id)))
            .filter(enrolment::Column::CustomerId.eq(customer_id))
            .filter(enrolment::Column::Revoked.eq(false))
            .filter(
                Condition::any()
                    .add(enrolment::Column::ExpiresAt.is_null())
                    .add(enrolment::Column::ExpiresAt.gt(now.0)),
            )
            .filter(enrolment::Column::IssuedBadgeId.is_not_null());
        let live = match issued_id {
            Some(id) => live.filter(Expr::col(enrolment::Column::IssuedBadgeId).eq(self.id(id))),
            None => live,
        };
        let rows = live
            .order_by_asc(enrolment::Column::IssuedAt)
            .order_by_asc(enrolment::Column::Id)
            .all(&self.txn)
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        enrolment::Entity::update_many()
            .col_expr(enrolment::Column::Revoked, Expr::value(true))
            .col_expr(enrolment::Column::RevokedAt, Expr::value(now.0))
            .filter(enrolment::Column::OrgId.eq(self.org))
            .filter(enrolment::Column::Id.is_in(rows.iter().map(|r| r.id)))
            .exec(&self.txn)
            .await?;
        let n = rows.len() as i64;
        self.count(BTreeMap::from([(badge_id.to_owned(), -n)]), |n| (n, 0))
            .await?;
        self.changes.push((
            customer_id,
            Change::EnrolmentsRevoked {
                badge_id: badge_id.to_owned(),
                seqs: rows.iter().map(|r| i64::from(r.id)).collect(),
            },
        ));
        Ok(rows.into_iter().filter_map(|r| r.issued_badge_id).collect())
    }

    /// Revokes the customer's award `earned_badge_id` of the badge at `now`;
    /// whether there was such an award that was not revoked.
    pub async fn revoke_award(
        &mut self,
        badge_id: &str,
        customer_id: i64,
        earned_badge_id: &str,
        now: Micros,
    ) -> Result<bool> {
        let updated = award::Entity::update_many()
            .col_expr(award::Column::Revoked, Expr::value(true))
            .col_expr(award::Column::RevokedAt, Expr::value(now.0))
            .filter(award::Column::OrgId.eq(self.org))
            .filter(Expr::col(award::Column::EarnedBadgeId).eq(self.id(earned_badge_id)))
            .filter(Expr::col(award::Column::BadgeId).eq(self.id(badge_id)))
            .filter(award::Column::CustomerId.eq(customer_id))
            .filter(award::Column::Revoked.eq(false))
            .exec(&self.txn)
            .await?;
        let revoked = updated.rows_affected > 0;
        if revoked {
            self.count(BTreeMap::from([(badge_id.to_owned(), -1)]), |n| (0, n))
                .await?;
            // The customer's awards of the badge that remain: the state's
            // latest award and expiry are recomputed from them.
            let remaining = award::Entity::find()
                .filter(award::Column::OrgId.eq(self.org))
                .filter(award::Column::CustomerId.eq(customer_id))
                .filter(Expr::col(award::Column::BadgeId).eq(self.id(badge_id)))
                .filter(award::Column::Revoked.eq(false))
                .all(&self.txn)
                .await?;
            self.changes.push((
                customer_id,
                Change::AwardRevoked {
                    badge_id: badge_id.to_owned(),
                    remaining: remaining.into_iter().map(award_of).collect(),
                },
            ));
        }
        Ok(revoked)
    }
}

impl Store {
    /// Deletes up to `limit` of the oldest request ids claimed before
    /// `before`; how many. Every process may run it at once: a row is
    /// deleted once, and a later run finds the rest.
    pub async fn prune_request_ids(&self, before: Micros, limit: u64) -> Result<u64> {
        let mut sql = super::sql::Sql::new(self.dialect);
        sql.push(super::ACROSS_ORGS)
            .push(
                "DELETE FROM idempotency_keys WHERE (org_id, kind, request_id) IN \
             (SELECT org_id, kind, request_id FROM idempotency_keys WHERE created_at < ",
            )
            .bind(before.0)
            .push(" ORDER BY created_at LIMIT ")
            .push(&limit.to_string())
            .push(")");
        Ok(self.writer.execute_raw(sql.build()).await?.rows_affected())
    }
}
