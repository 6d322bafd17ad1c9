//! A badge's counts (BEHAVIOUR.md §9.2: `issuedCount`, `earnedCount`): the
//! enrolments and awards that are not revoked, kept by the writes that
//! change them, in their transactions, spread over a few rows per badge so
//! that concurrent writes of one badge seldom wait for each other, and
//! summed on read: the same few rows whether the badge has ten awards or
//! ten million.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, FromQueryResult};

use super::Store;
use super::sql::Sql;
use crate::error::Result;

/// Slots of a badge's counts: concurrent writes of one badge spread over
/// them, so that they seldom wait for each other's row lock; a read sums
/// at most this many rows per badge.
pub const COUNT_SLOTS: u32 = 16;

/// A badge's enrolments and awards that are not revoked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub issued: i64,
    pub earned: i64,
}

/// Adds `issued` enrolments and `earned` awards (either may be negative)
/// to the counts of `org`'s badge, in the slot `slot` of [`COUNT_SLOTS`].
pub(super) async fn add_counts(
    conn: &impl ConnectionTrait,
    dialect: super::Dialect,
    org: i32,
    badge_id: &str,
    slot: u32,
    issued: i64,
    earned: i64,
) -> Result<()> {
    if issued == 0 && earned == 0 {
        return Ok(());
    }
    let mut sql = Sql::new(dialect);
    sql.push("INSERT INTO badge_counts (org_id, badge_id, slot, issued, earned) VALUES (")
        .bind(org)
        .push(", ")
        .bind(badge_id)
        .push(", ")
        .bind((slot % COUNT_SLOTS) as i16)
        .push(", ")
        .bind(issued)
        .push(", ")
        .bind(earned)
        .push(
            ") ON CONFLICT (org_id, badge_id, slot) DO UPDATE SET \
             issued = badge_counts.issued + excluded.issued, \
             earned = badge_counts.earned + excluded.earned",
        );
    conn.execute_raw(sql.build()).await?;
    Ok(())
}

impl Store {
    /// Counts the badges' enrolments and awards afresh, from the tables,
    /// of the org `org` or of every org: for data written around the writes
    /// that keep the counts (the benchmark's bulk loads), in one transaction.
    pub async fn recount_badges(&self, org: Option<i32>) -> Result<()> {
        use sea_orm::TransactionTrait;
        let orgs = self.orgs(org).await?;
        let txn = self.writer.begin().await?;
        for org in orgs {
            let mut delete = Sql::new(self.dialect);
            delete
                .push("DELETE FROM badge_counts WHERE org_id = ")
                .bind(org);
            txn.execute_raw(delete.build()).await?;
            let mut insert = Sql::new(self.dialect);
            insert
                .push(
                    "INSERT INTO badge_counts (org_id, badge_id, slot, issued, earned) \
                     SELECT b.org_id, b.id, 0, COALESCE(e.n, 0), COALESCE(a.n, 0) FROM badges b \
                     LEFT JOIN (SELECT badge_id, COUNT(*) AS n FROM enrolments \
                     WHERE revoked = FALSE AND org_id = ",
                )
                .bind(org)
                .push(
                    " GROUP BY badge_id) e ON e.badge_id = b.id \
                     LEFT JOIN (SELECT badge_id, COUNT(*) AS n FROM awards \
                     WHERE revoked = FALSE AND org_id = ",
                )
                .bind(org)
                .push(" GROUP BY badge_id) a ON a.badge_id = b.id WHERE b.org_id = ")
                .bind(org);
            txn.execute_raw(insert.build()).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// The enrolments and awards that are not revoked of each of `org`'s
    /// badges `ids` (those without any: none), summed over their slots, in
    /// one statement by key.
    pub async fn badge_counts(&self, org: i32, ids: &[&str]) -> Result<HashMap<String, Counts>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        #[derive(FromQueryResult)]
        struct Row {
            badge_id: String,
            issued: i64,
            earned: i64,
        }
        let mut sql = Sql::new(self.dialect);
        sql.push(
            "SELECT badge_id, CAST(SUM(issued) AS BIGINT) AS issued, \
             CAST(SUM(earned) AS BIGINT) AS earned FROM badge_counts WHERE org_id = ",
        )
        .bind(org)
        .push(" AND badge_id IN (");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_object_id(id);
        }
        sql.push(") GROUP BY badge_id");
        Ok(Row::find_by_statement(sql.build())
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| {
                (
                    r.badge_id.trim_end().to_owned(),
                    Counts {
                        issued: r.issued,
                        earned: r.earned,
                    },
                )
            })
            .collect())
    }
}
