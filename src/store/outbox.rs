//! The transactional outbox (BEHAVIOUR.md §8): events are written in the
//! transaction of the write that causes them, and read, marked published and
//! pruned by the relay (`crate::events::relay`); one relay at a time holds
//! the lease. Awards whose expiry passed are found here too, once each.
//!
//! Order: the writes that cause a customer's events lock that customer's row
//! first (`lock_customers`) and read the clock only then, so one customer's
//! events get their outbox ids and their `recorded_at` in the order the
//! writes commit, and the relay publishes in id order. (Across processes this
//! holds as far as their clocks agree.)

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::OnceLock;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
};
use tokio::sync::Notify;

use super::Store;
use super::entity::{customer, outbox};
use super::sql::Sql;
use crate::domain::events::{Event, Recorded};
use crate::domain::ids::new_object_id;
use crate::domain::{Clock, Micros};
use crate::error::Result;

/// How an event is written into the outbox: its wire form, which the relay
/// publishes as it is. The store knows no wire format; the server hands it
/// `events::wire::encode` when it turns events on.
pub type EventEncoder = fn(&Recorded) -> Vec<u8>;

/// Whether this process records events (with what encoder), shared by every
/// clone of the store, and the bell the relay waits on.
#[derive(Debug, Default)]
pub(crate) struct EventsSwitch {
    encoder: OnceLock<EventEncoder>,
    written: Notify,
}

/// An outbox row as the relay publishes it.
pub type OutboxRow = outbox::Model;

/// What the outbox holds that is not yet published.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxBacklog {
    pub pending: i64,
    /// When the oldest unpublished event was recorded.
    pub oldest: Option<Micros>,
}

#[derive(Debug, FromQueryResult)]
struct Backlog {
    pending: i64,
    oldest: Option<i64>,
}

#[derive(Debug, FromQueryResult)]
struct Candidate {
    id: i32,
    org_id: i32,
    customer_id: i64,
}

#[derive(Debug, FromQueryResult)]
struct ExpiredAward {
    org_id: i32,
    customer_id: i64,
    badge_id: String,
    earned_badge_id: String,
    expires_at: i64,
}

impl Store {
    /// From now on, writes record their events, encoded by `encoder` (every
    /// clone of this store; the first encoder given stays).
    pub fn record_events(&self, encoder: EventEncoder) {
        let _ = self.events.encoder.set(encoder);
    }

    pub fn records_events(&self) -> bool {
        self.events.encoder.get().is_some()
    }

    /// Completes when a write of this process has recorded events (or at
    /// once if one did since the last wait).
    pub async fn events_written(&self) {
        self.events.written.notified().await;
    }

    /// Wakes the relay after a commit that may have recorded events.
    pub(crate) fn ring(&self) {
        if self.records_events() {
            self.events.written.notify_one();
        }
    }

    /// Writes `events`, recorded at `now` in `org`, in `txn`; nothing when
    /// this process records no events.
    pub(crate) async fn record(
        &self,
        txn: &DatabaseTransaction,
        org: i32,
        now: Micros,
        events: Vec<Event>,
    ) -> Result<()> {
        let Some(encode) = self.events.encoder.get() else {
            return Ok(());
        };
        if events.is_empty() {
            return Ok(());
        }
        let rows: Vec<outbox::ActiveModel> = events
            .into_iter()
            .map(|event| {
                let recorded = Recorded {
                    id: new_object_id(now),
                    org_id: org,
                    recorded_at: now,
                    event,
                };
                outbox::ActiveModel {
                    event_id: Set(recorded.id.clone()),
                    org_id: Set(org),
                    event_type: Set(recorded.event.kind().type_name().to_owned()),
                    customer_id: Set(recorded.event.customer_id()),
                    payload: Set(encode(&recorded)),
                    recorded_at: Set(now.0),
                    published_at: Set(None),
                    ..Default::default()
                }
            })
            .collect();
        outbox::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
        Ok(())
    }

    /// Locks the rows of these customers of `org` until `txn` ends (on
    /// PostgreSQL; SQLite runs one write at a time anyway), in ascending order
    /// so that writes never wait for each other in a circle; returns the ids
    /// that exist. Every write that records a customer's events takes it
    /// first, so that customer's events are recorded in commit order.
    pub(crate) async fn lock_customers(
        &self,
        txn: &DatabaseTransaction,
        org: i32,
        ids: &[i64],
    ) -> Result<BTreeSet<i64>> {
        let ids: BTreeSet<i64> = ids.iter().copied().collect();
        Ok(customer::Entity::find()
            .select_only()
            .column(customer::Column::CustomerId)
            .filter(customer::Column::OrgId.eq(org))
            .filter(customer::Column::CustomerId.is_in(ids.iter().copied()))
            .order_by_asc(customer::Column::CustomerId)
            .lock_exclusive()
            .into_tuple::<i64>()
            .all(txn)
            .await?
            .into_iter()
            .collect())
    }

    /// Takes or renews the relay lease for `holder` until `until`: whether
    /// `holder` holds it now.
    pub async fn take_relay_lease(&self, holder: &str, now: Micros, until: Micros) -> Result<bool> {
        let mut sql = Sql::new(self.dialect);
        sql.push("UPDATE relay_lease SET holder = ")
            .bind(holder)
            .push(", until = ")
            .bind(until.0)
            .push(" WHERE id = 1 AND (holder = ")
            .bind(holder)
            .push(" OR until < ")
            .bind(now.0)
            .push(")");
        Ok(self.writer.execute_raw(sql.build()).await?.rows_affected() == 1)
    }

    /// Gives the lease up (at shutdown), so another process takes over at once.
    pub async fn release_relay_lease(&self, holder: &str) -> Result<()> {
        let mut sql = Sql::new(self.dialect);
        sql.push("UPDATE relay_lease SET until = 0 WHERE id = 1 AND holder = ")
            .bind(holder);
        self.writer.execute_raw(sql.build()).await?;
        Ok(())
    }

    /// The oldest unpublished events, in the order they were recorded.
    pub async fn pending_events(&self, limit: u64) -> Result<Vec<OutboxRow>> {
        Ok(outbox::Entity::find()
            .filter(outbox::Column::PublishedAt.is_null())
            .order_by_asc(outbox::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    pub async fn mark_published(&self, ids: &[i64], now: Micros) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        outbox::Entity::update_many()
            .col_expr(outbox::Column::PublishedAt, Expr::value(now.0))
            .filter(outbox::Column::Id.is_in(ids.iter().copied()))
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    /// Deletes events published before `before`; how many.
    pub async fn prune_published(&self, before: Micros) -> Result<u64> {
        Ok(outbox::Entity::delete_many()
            .filter(outbox::Column::PublishedAt.is_not_null())
            .filter(outbox::Column::PublishedAt.lt(before.0))
            .exec(&self.writer)
            .await?
            .rows_affected)
    }

    pub async fn outbox_backlog(&self) -> Result<OutboxBacklog> {
        let backlog = Backlog::find_by_statement(sea_orm::Statement::from_string(
            self.backend(),
            "SELECT COUNT(*) AS pending, MIN(recorded_at) AS oldest FROM outbox \
             WHERE published_at IS NULL",
        ))
        .one(&self.db)
        .await?
        .unwrap_or(Backlog {
            pending: 0,
            oldest: None,
        });
        Ok(OutboxBacklog {
            pending: backlog.pending,
            oldest: backlog.oldest.map(Micros),
        })
    }

    /// Records a BadgeAwardExpired event for up to `limit` awards whose
    /// expiry passed by `now` and has none yet, and marks them; how many.
    /// Safe with several processes sweeping at once: an award's customer is
    /// locked and its mark re-checked, so each award gets one event.
    pub async fn record_expired_awards(&self, clock: &dyn Clock, limit: u64) -> Result<usize> {
        let now = clock.now();
        if !self.records_events() {
            return Ok(0);
        }
        let txn = self.write_txn().await?;
        let mut sql = Sql::new(self.dialect);
        sql.push(super::ACROSS_ORGS)
            .push(
                "SELECT id, org_id, customer_id FROM awards WHERE expiry_recorded = FALSE \
             AND revoked = FALSE AND expires_at IS NOT NULL AND expires_at <= ",
            )
            .bind(now.0)
            .push(" ORDER BY expires_at LIMIT ")
            .push(&limit.to_string());
        let candidates = Candidate::find_by_statement(sql.build()).all(&txn).await?;
        if candidates.is_empty() {
            return Ok(0);
        }
        if self.dialect.locks_rows() {
            let customers: BTreeSet<(i32, i64)> = candidates
                .iter()
                .map(|c| (c.org_id, c.customer_id))
                .collect();
            let mut lock = Sql::new(self.dialect);
            lock.push("SELECT 1 FROM customers WHERE (org_id, customer_id) IN (");
            for (i, (org, customer)) in customers.iter().enumerate() {
                lock.push(if i == 0 { "(" } else { ", (" })
                    .bind(*org)
                    .push(", ")
                    .bind(*customer)
                    .push(")");
            }
            lock.push(") ORDER BY org_id, customer_id FOR UPDATE");
            txn.query_all_raw(lock.build()).await?;
        }
        let mut update = Sql::new(self.dialect);
        update.push("UPDATE awards SET expiry_recorded = TRUE WHERE (org_id, id) IN (");
        for (i, c) in candidates.iter().enumerate() {
            update
                .push(if i == 0 { "(" } else { ", (" })
                .bind(c.org_id)
                .push(", ")
                .bind(c.id)
                .push(")");
        }
        update.push(
            ") AND expiry_recorded = FALSE AND revoked = FALSE \
             RETURNING org_id, customer_id, badge_id, earned_badge_id, expires_at",
        );
        let mut expired = ExpiredAward::find_by_statement(update.build())
            .all(&txn)
            .await?;
        expired.sort_by_key(|a| (a.org_id, a.expires_at, a.customer_id));
        let count = expired.len();
        // The events' time is read under the customers' locks, so that it
        // follows every earlier write of theirs (see `lock_customers`).
        let recorded_at = clock.now();
        let mut by_org: Vec<(i32, Vec<Event>)> = Vec::new();
        for a in expired {
            let event = Event::BadgeAwardExpired {
                customer_id: a.customer_id,
                badge_id: a.badge_id,
                earned_badge_id: a.earned_badge_id,
                expired_at: Micros(a.expires_at),
            };
            match by_org.last_mut() {
                Some((org, events)) if *org == a.org_id => events.push(event),
                _ => by_org.push((a.org_id, vec![event])),
            }
        }
        for (org, events) in by_org {
            self.record(&txn, org, recorded_at, events).await?;
        }
        txn.commit().await?;
        if count > 0 {
            self.ring();
        }
        Ok(count)
    }
}

/// Shared by every clone of a store.
pub(crate) fn switch() -> Arc<EventsSwitch> {
    Arc::new(EventsSwitch::default())
}
