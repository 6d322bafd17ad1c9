//! The customer state rows (`customer_states`): what each customer holds of
//! the org's badges (`domain::holdings`), read by the list call by key and
//! written by every write of awards or enrolments in its own transaction
//! (`Tx::commit`). The awards and enrolments stay the truth: this module
//! also folds a customer's rows from them, for a row that is missing or
//! stale, for the rebuild and for the verification.

use std::collections::{BTreeMap, HashMap};

use sea_orm::{ConnectionTrait, DatabaseTransaction, FromQueryResult, Statement};

use super::sql::Sql;
use super::{Dialect, Store};
use crate::domain::Micros;
use crate::domain::catalogue::{AwardRow, CustomerState, EnrolmentRow};
use crate::domain::holdings::{Change, Holdings};
use crate::error::{Error, Result};

/// How many customers one batch of the rebuild and the verification takes:
/// one transaction each, holding its customers' rows for a few milliseconds.
pub const BATCH: u64 = 500;

/// Which of an org's customers a statement reads.
#[derive(Clone, Copy, Debug)]
pub(super) enum Which<'a> {
    These(&'a [i64]),
    /// Every customer from the first to the last id, both included.
    Between(i64, i64),
}

impl Which<'_> {
    fn push(self, sql: &mut Sql) {
        match self {
            Which::These(ids) => {
                sql.push(" AND customer_id IN (");
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.bind(*id);
                }
                sql.push(")");
            }
            Which::Between(first, last) => {
                sql.push(" AND customer_id BETWEEN ")
                    .bind(first)
                    .push(" AND ")
                    .bind(last);
            }
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct TableRow {
    /// 1 award (not revoked), 2 enrolment.
    kind: i32,
    customer_id: i64,
    badge_id: String,
    seq: i64,
    at: i64,
    event_at: Option<i64>,
    expires_at: Option<i64>,
    revoked: bool,
}

/// The awards that are not revoked and the enrolments of the customers, by
/// customer: what their holdings are folded from.
pub(super) async fn table_rows(
    conn: &impl ConnectionTrait,
    dialect: Dialect,
    org: i32,
    which: Which<'_>,
) -> Result<HashMap<i64, CustomerState>> {
    let mut sql = Sql::new(dialect);
    sql.push(
        "SELECT 1 AS kind, customer_id, badge_id, CAST(id AS BIGINT) AS seq, awarded_at AS at, \
         event_at, expires_at, revoked FROM awards WHERE org_id = ",
    )
    .bind(org);
    which.push(&mut sql);
    sql.push(
        " AND revoked = FALSE UNION ALL SELECT 2, customer_id, badge_id, CAST(id AS BIGINT), \
         issued_at, NULL, expires_at, revoked FROM enrolments WHERE org_id = ",
    )
    .bind(org);
    which.push(&mut sql);
    let mut states: HashMap<i64, CustomerState> = HashMap::new();
    for r in TableRow::find_by_statement(sql.build()).all(conn).await? {
        let state = states.entry(r.customer_id).or_default();
        if r.kind == 1 {
            state.awards.push(AwardRow {
                seq: r.seq,
                badge_id: r.badge_id,
                awarded_at: Micros(r.at),
                event_at: Micros(
                    r.event_at
                        .ok_or_else(|| Error::Internal("award row without event_at".into()))?,
                ),
                expires_at: r.expires_at.map(Micros),
            });
        } else {
            state.enrolments.push(EnrolmentRow {
                seq: r.seq,
                badge_id: r.badge_id,
                issued_at: Micros(r.at),
                expires_at: r.expires_at.map(Micros),
                revoked: r.revoked,
            });
        }
    }
    Ok(states)
}

#[derive(Debug, FromQueryResult)]
struct StoredRow {
    customer_id: i64,
    body: Vec<u8>,
    stale: bool,
}

/// A customer's state row as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Stored {
    pub body: Vec<u8>,
    pub stale: bool,
}

/// The state rows of the customers, by customer.
pub(super) async fn stored(
    conn: &impl ConnectionTrait,
    dialect: Dialect,
    org: i32,
    which: Which<'_>,
) -> Result<HashMap<i64, Stored>> {
    let mut sql = Sql::new(dialect);
    sql.push("SELECT customer_id, body, stale FROM customer_states WHERE org_id = ")
        .bind(org);
    which.push(&mut sql);
    Ok(StoredRow::find_by_statement(sql.build())
        .all(conn)
        .await?
        .into_iter()
        .map(|r| {
            (
                r.customer_id,
                Stored {
                    body: r.body,
                    stale: r.stale,
                },
            )
        })
        .collect())
}

#[derive(Debug, FromQueryResult)]
struct LockedRow {
    customer_id: i64,
    body: Option<Vec<u8>>,
    stale: Option<bool>,
}

/// Locks the rows of these customers of `org` until `txn` ends (as
/// `Store::lock_customers`: in ascending order, on PostgreSQL; SQLite's
/// write transaction excludes other writers) and reads their state rows in
/// the same statement: per customer that exists, its state row if it has
/// one. On PostgreSQL the state rows are locked too, after the customers':
/// a row another write changed while this statement waited for its
/// customer is then read as that write committed it (a locking read follows
/// the row to its newest version), and one it inserted meanwhile is not
/// seen at all, which makes the commit fold that customer from the tables.
/// Under the customer's lock the row cannot change again before commit.
pub(super) async fn lock_with_states(
    txn: &DatabaseTransaction,
    dialect: Dialect,
    org: i32,
    ids: &[i64],
) -> Result<BTreeMap<i64, Option<Stored>>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let lock = match dialect {
        Dialect::Postgres => " FOR UPDATE",
        Dialect::Sqlite => "",
    };
    let mut sql = Sql::new(dialect);
    sql.push("WITH c AS MATERIALIZED (SELECT customer_id FROM customers WHERE org_id = ")
        .bind(org)
        .push(" AND customer_id IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(*id);
    }
    sql.push(") ORDER BY customer_id")
        .push(lock)
        .push(
            "), s AS MATERIALIZED (SELECT customer_id, body, stale FROM customer_states \
             WHERE org_id = ",
        )
        .bind(org)
        .push(" AND customer_id IN (SELECT customer_id FROM c) ORDER BY customer_id")
        .push(lock)
        .push(
            ") SELECT c.customer_id, s.body, s.stale FROM c \
             LEFT JOIN s ON s.customer_id = c.customer_id ORDER BY c.customer_id",
        );
    Ok(LockedRow::find_by_statement(sql.build())
        .all(txn)
        .await?
        .into_iter()
        .map(|r| {
            let stored = r.body.map(|body| Stored {
                body,
                stale: r.stale.unwrap_or(true),
            });
            (r.customer_id, stored)
        })
        .collect())
}

/// Writes the customers' state rows, fresh.
pub(super) async fn write(
    conn: &impl ConnectionTrait,
    dialect: Dialect,
    org: i32,
    rows: &[(i64, Vec<u8>)],
) -> Result<()> {
    for chunk in rows.chunks(BATCH as usize) {
        let mut sql = Sql::new(dialect);
        sql.push("INSERT INTO customer_states (org_id, customer_id, body, stale) VALUES ");
        for (i, (customer, body)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(org)
                .push(", ")
                .bind(*customer)
                .push(", ")
                .bind(body.clone())
                .push(", FALSE)");
        }
        sql.push(
            " ON CONFLICT (org_id, customer_id) DO UPDATE \
             SET body = excluded.body, stale = FALSE",
        );
        conn.execute_raw(sql.build()).await?;
    }
    Ok(())
}

/// Applies a transaction's changes to its customers' state rows, in the
/// transaction (every write has locked these customers' rows first, so no
/// other write of theirs runs meanwhile). A customer whose row is missing,
/// stale or unreadable is folded from the tables instead, which already hold
/// this transaction's writes.
pub(super) async fn keep(
    txn: &DatabaseTransaction,
    dialect: Dialect,
    org: i32,
    changes: &[(i64, Change)],
    locked: &BTreeMap<i64, Option<Stored>>,
) -> Result<()> {
    let mut by_customer: BTreeMap<i64, Vec<&Change>> = BTreeMap::new();
    for (customer, change) in changes {
        by_customer.entry(*customer).or_default().push(change);
    }
    if by_customer.is_empty() {
        return Ok(());
    }
    // The rows read with the customers' locks (`lock_with_states`); a
    // customer not locked that way is folded from the tables.
    let mut rows = Vec::with_capacity(by_customer.len());
    let mut refold = Vec::new();
    for (customer, changes) in by_customer {
        let kept = locked
            .get(&customer)
            .and_then(Option::as_ref)
            .filter(|s| !s.stale)
            .and_then(|s| Holdings::decode(&s.body).ok());
        match kept {
            Some(mut holdings) => {
                changes.into_iter().for_each(|c| holdings.apply(c));
                rows.push((customer, holdings.encode()));
            }
            None => refold.push(customer),
        }
    }
    if !refold.is_empty() {
        let mut tables = table_rows(txn, dialect, org, Which::These(&refold)).await?;
        for customer in refold {
            let state = tables.remove(&customer).unwrap_or_default();
            rows.push((customer, Holdings::fold(&state).encode()));
        }
    }
    write(txn, dialect, org, &rows).await
}

/// Folds the customers `ids` (the customers `which` names) from the tables
/// and writes their rows, fresh; every one gets a row, empty or not.
async fn fold_and_write(
    txn: &DatabaseTransaction,
    dialect: Dialect,
    org: i32,
    ids: &[i64],
    which: Which<'_>,
) -> Result<()> {
    let mut tables = table_rows(txn, dialect, org, which).await?;
    let rows: Vec<(i64, Vec<u8>)> = ids
        .iter()
        .map(|id| {
            let state = tables.remove(id).unwrap_or_default();
            (*id, Holdings::fold(&state).encode())
        })
        .collect();
    write(txn, dialect, org, &rows).await
}

/// How far a rebuild or a verification has gone in one org.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub org: i32,
    pub done: u64,
    pub total: u64,
}

/// A customer whose state row does not match the fold of the tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub org: i32,
    pub customer_id: i64,
    pub what: Mismatch,
}

/// What a verification found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verified {
    pub customers: u64,
    /// Rows that do not match the tables (each reported as a
    /// [`Difference`]): a list call would answer wrongly from them.
    pub differences: u64,
    /// Rows missing or marked stale: list calls fold the tables for these
    /// customers (right, but not by one key read) until a write of theirs
    /// or a rebuild renews them.
    pub behind: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// No row, though the customer holds or was enrolled in a badge.
    Missing,
    /// Marked stale by a write that did not keep it.
    Stale,
    /// The row does not read (another layout, or damaged).
    Unreadable(String),
    /// The badges whose state differs.
    Differs(Vec<String>),
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "org {} customer {}: ", self.org, self.customer_id)?;
        match &self.what {
            Mismatch::Missing => write!(f, "no state row"),
            Mismatch::Stale => write!(f, "state row marked stale"),
            Mismatch::Unreadable(e) => write!(f, "{e}"),
            Mismatch::Differs(badges) => write!(f, "badges differ: {}", badges.join(", ")),
        }
    }
}

/// What a customer's row says against the fold of their rows.
fn compare(stored: Option<&Stored>, folded: &Holdings) -> Option<Mismatch> {
    let Some(stored) = stored else {
        return (!folded.is_empty()).then_some(Mismatch::Missing);
    };
    if stored.stale {
        return Some(Mismatch::Stale);
    }
    let kept = match Holdings::decode(&stored.body) {
        Ok(kept) => kept,
        Err(e) => return Some(Mismatch::Unreadable(e.to_string())),
    };
    if kept == *folded {
        return None;
    }
    let mut badges: Vec<String> = kept
        .badges()
        .chain(folded.badges())
        .filter(|(id, _)| kept.of(id) != folded.of(id))
        .map(|(id, _)| id.to_owned())
        .collect();
    badges.sort();
    badges.dedup();
    Some(Mismatch::Differs(badges))
}

#[derive(Debug, FromQueryResult)]
struct Id {
    id: i64,
}

impl Store {
    /// The orgs `org` names, or every org.
    pub(super) async fn orgs(&self, org: Option<i32>) -> Result<Vec<i32>> {
        if let Some(org) = org {
            return Ok(vec![org]);
        }
        let sql = "SELECT CAST(id AS BIGINT) AS id FROM orgs ORDER BY id";
        let rows = Id::find_by_statement(Statement::from_string(self.backend(), sql))
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|r| i32::try_from(r.id).map_err(|_| Error::Internal("org id".into())))
            .collect()
    }

    async fn customer_count(&self, org: i32) -> Result<u64> {
        let mut sql = Sql::new(self.dialect);
        sql.push("SELECT COUNT(*) AS id FROM customers WHERE org_id = ")
            .bind(org);
        let n = Id::find_by_statement(sql.build()).one(&self.db).await?;
        Ok(n.map_or(0, |n| n.id.max(0) as u64))
    }

    /// The next batch of the org's customer ids after `after`, locked when
    /// `lock` (on PostgreSQL; SQLite's write transaction excludes writers).
    async fn customer_batch(
        &self,
        conn: &impl ConnectionTrait,
        org: i32,
        after: i64,
        lock: bool,
    ) -> Result<Vec<i64>> {
        let mut sql = Sql::new(self.dialect);
        sql.push("SELECT customer_id AS id FROM customers WHERE org_id = ")
            .bind(org)
            .push(" AND customer_id > ")
            .bind(after)
            .push(" ORDER BY customer_id LIMIT ")
            .push(&BATCH.to_string());
        if lock && self.dialect == Dialect::Postgres {
            sql.push(" FOR UPDATE");
        }
        Ok(Id::find_by_statement(sql.build())
            .all(conn)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect())
    }

    /// Recomputes the state rows of every customer of `org` (of every org
    /// when `None`) from the tables, in batches of [`BATCH`] customers, each
    /// its own transaction holding only its customers' rows: writes to other
    /// customers go on, and a write to one of these waits for one batch at
    /// most. `progress` hears after each batch. The number of rows written.
    pub async fn rebuild_states(
        &self,
        org: Option<i32>,
        mut progress: impl FnMut(Progress),
    ) -> Result<u64> {
        let mut written = 0;
        for org in self.orgs(org).await? {
            let total = self.customer_count(org).await?;
            let mut done = 0;
            let mut after = i64::MIN;
            loop {
                let txn = self.write_txn().await?;
                let ids = self.customer_batch(&txn, org, after, true).await?;
                let (Some(&first), Some(&last)) = (ids.first(), ids.last()) else {
                    txn.commit().await?;
                    break;
                };
                fold_and_write(&txn, self.dialect, org, &ids, Which::Between(first, last)).await?;
                txn.commit().await?;
                after = last;
                done += ids.len() as u64;
                written += ids.len() as u64;
                progress(Progress {
                    org,
                    done,
                    total: total.max(done),
                });
            }
        }
        Ok(written)
    }

    /// Recomputes the state rows of the customers `ids` of `org` (those that
    /// exist) from the tables, in one transaction; how many were written.
    pub async fn rebuild_customer_states(&self, org: i32, ids: &[i64]) -> Result<u64> {
        let txn = self.write_txn().await?;
        let existing: Vec<i64> = self
            .lock_customers(&txn, org, ids)
            .await?
            .into_iter()
            .collect();
        if !existing.is_empty() {
            fold_and_write(&txn, self.dialect, org, &existing, Which::These(&existing)).await?;
        }
        txn.commit().await?;
        Ok(existing.len() as u64)
    }

    /// Compares every state row of `org` (of every org when `None`) with a
    /// fresh fold of the tables, each batch in one snapshot; `difference`
    /// hears each customer whose row does not match (rows missing or stale
    /// are counted as behind: readers do not trust them).
    pub async fn verify_states(
        &self,
        org: Option<i32>,
        mut difference: impl FnMut(Difference),
        mut progress: impl FnMut(Progress),
    ) -> Result<Verified> {
        let mut verified = Verified::default();
        for org in self.orgs(org).await? {
            let total = self.customer_count(org).await?;
            let mut done = 0;
            let mut after = i64::MIN;
            loop {
                let txn = self.snapshot_txn().await?;
                let ids = self.customer_batch(&txn, org, after, false).await?;
                let (Some(&first), Some(&last)) = (ids.first(), ids.last()) else {
                    txn.commit().await?;
                    break;
                };
                let which = Which::Between(first, last);
                let stored = stored(&txn, self.dialect, org, which).await?;
                let tables = table_rows(&txn, self.dialect, org, which).await?;
                txn.commit().await?;
                for id in &ids {
                    let state = tables.get(id).cloned().unwrap_or_default();
                    match compare(stored.get(id), &Holdings::fold(&state)) {
                        None => {}
                        Some(Mismatch::Missing | Mismatch::Stale) => verified.behind += 1,
                        Some(what) => {
                            verified.differences += 1;
                            difference(Difference {
                                org,
                                customer_id: *id,
                                what,
                            });
                        }
                    }
                }
                after = last;
                done += ids.len() as u64;
                verified.customers += ids.len() as u64;
                progress(Progress {
                    org,
                    done,
                    total: total.max(done),
                });
            }
        }
        Ok(verified)
    }
}
