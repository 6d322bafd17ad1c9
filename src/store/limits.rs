//! What earn limits are decided from (BEHAVIOUR.md §11): how many of a
//! badge's awards that are not revoked lie in each of a few time spans, for
//! each of some customers or for all customers together, in one indexed read;
//! and the lock that makes a badge-level count exact under concurrency.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect};

use super::Store;
use super::entity::customer;
use super::sql::Sql;
use super::tx::Tx;
use crate::domain::Micros;
use crate::domain::constraints::Span;
use crate::error::Result;

/// Whose awards a count covers.
#[derive(Clone, Copy, Debug)]
pub enum Counted<'a> {
    /// Each of these customers' own (the map is keyed by customer).
    Customers(&'a [i64]),
    /// All customers' together (the map's one key is 0).
    Everyone,
}

impl Store {
    /// The number of the org's non-revoked awards of `badge_id` whose event
    /// time lies in each of `spans`, for each customer of `who` (customers
    /// without awards are absent) or for everyone together.
    pub(crate) async fn count_awards(
        &self,
        conn: &impl ConnectionTrait,
        org: i32,
        badge_id: &str,
        who: Counted<'_>,
        spans: &[Span],
    ) -> Result<HashMap<i64, Vec<u64>>> {
        if spans.is_empty() {
            return Ok(HashMap::new());
        }
        let mut sql = Sql::new(self.dialect);
        sql.push("SELECT ");
        match who {
            Counted::Customers(_) => sql.push("customer_id"),
            Counted::Everyone => sql.push("CAST(0 AS BIGINT)"),
        };
        for span in spans {
            sql.push(", COALESCE(SUM(CASE WHEN ");
            condition(&mut sql, span);
            sql.push(" THEN 1 ELSE 0 END), 0)");
        }
        sql.push(" FROM awards WHERE org_id = ").bind(org);
        match who {
            Counted::Customers(ids) => {
                // The customer's awards, by `ix_awards_customer_badge`'s
                // (org_id, customer_id), the badge's among them by filter:
                // the badge is compared as an expression so that the plan
                // cannot pick `ix_awards_badge_event` instead and read every
                // customer's awards of the badge in the window (which a
                // planner without statistics, on a new table, would).
                sql.push(" AND customer_id IN (");
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.bind(*id);
                }
                sql.push(") AND badge_id || '' = ").bind(badge_id);
            }
            Counted::Everyone => {
                // Only the awards some span holds are read, by
                // `ix_awards_badge_event`'s (org_id, badge_id, event_at).
                sql.push(" AND badge_id = ").bind_object_id(badge_id);
                let from = spans.iter().map(|s| s.from).min().flatten();
                let until = spans
                    .iter()
                    .map(|s| s.until)
                    .try_fold(Micros(i64::MIN), |m, u| u.map(|u| m.max(u)));
                if let Some(from) = from {
                    sql.push(" AND event_at >= ").bind(from.0);
                }
                if let Some(until) = until {
                    sql.push(" AND event_at < ").bind(until.0);
                }
            }
        }
        sql.push(" AND revoked = ").bind(false);
        if let Counted::Customers(_) = who {
            sql.push(" GROUP BY customer_id");
        }
        let mut out = HashMap::new();
        for row in conn.query_all_raw(sql.build()).await? {
            let key: i64 = row.try_get_by_index(0)?;
            let counts = (1..=spans.len())
                .map(|i| row.try_get_by_index::<i64>(i).map(|n| n.max(0) as u64))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            out.insert(key, counts);
        }
        Ok(out)
    }
}

impl Store {
    /// The org's non-revoked awards of `badge_id` in each of `spans`, of one
    /// customer or (`None`) of all customers together, outside any write
    /// (the detail call's standings, the fixed-window cycles).
    pub async fn count_awards_now(
        &self,
        org: i32,
        badge_id: &str,
        customer: Option<i64>,
        spans: &[Span],
    ) -> Result<Vec<u64>> {
        let one;
        let (who, key) = match customer {
            Some(id) => {
                one = [id];
                (Counted::Customers(&one), id)
            }
            None => (Counted::Everyone, 0),
        };
        let mut counts = self
            .count_awards(&self.db, org, badge_id, who, spans)
            .await?;
        Ok(counts.remove(&key).unwrap_or_else(|| vec![0; spans.len()]))
    }

    /// Whether the org has the customer `id`.
    pub async fn customer_exists(&self, org: i32, id: i64) -> Result<bool> {
        Ok(customer::Entity::find_by_id((org, id))
            .select_only()
            .column(customer::Column::CustomerId)
            .into_tuple::<i64>()
            .one(&self.db)
            .await?
            .is_some())
    }
}

/// `event_at` in the span (`1 = 1` for the unbounded one).
fn condition(sql: &mut Sql, span: &Span) {
    match (span.from, span.until) {
        (None, None) => sql.push("1 = 1"),
        (Some(f), None) => sql.push("event_at >= ").bind(f.0),
        (None, Some(u)) => sql.push("event_at < ").bind(u.0),
        (Some(f), Some(u)) => sql
            .push("event_at >= ")
            .bind(f.0)
            .push(" AND event_at < ")
            .bind(u.0),
    };
}

impl Tx<'_> {
    /// Counts as [`Store::count_awards`], in this write.
    pub async fn count_awards(
        &self,
        badge_id: &str,
        who: Counted<'_>,
        spans: &[Span],
    ) -> Result<HashMap<i64, Vec<u64>>> {
        self.store()
            .count_awards(self.conn(), self.org(), badge_id, who, spans)
            .await
    }

    /// Locks the badge's row until this write ends, so that writes counting
    /// all customers' awards of it run one at a time (SQLite's writes already
    /// do).
    pub async fn lock_badge(&self, badge_id: &str) -> Result<()> {
        let store = self.store();
        if !store.dialect.locks_rows() {
            return Ok(());
        }
        let mut sql = Sql::new(store.dialect);
        sql.push("SELECT id FROM badges WHERE org_id = ")
            .bind(self.org())
            .push(" AND id = ")
            .bind_object_id(badge_id)
            .push(" FOR UPDATE");
        self.conn().query_all_raw(sql.build()).await?;
        Ok(())
    }
}
