//! The list call's queries.
//!
//! One page costs a bounded number of statements, whatever its size:
//! the customer lookup, the page itself, a count when the page alone cannot
//! tell the total (a full page, or one past the end), and, when the page has
//! rows, one batched `IN` query each for images, owners and claims.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};

use super::Store;
use super::entity::{badge_claim, badge_image, badge_owner, customer};
use super::sql::Sql;
use crate::domain::Micros;
use crate::domain::cursor::{Cursor, Keyset};
use crate::domain::enums::{
    BadgeStatus, BadgeType, EarnType, IssueStatus, Operator, Owner, SortOn, SortOrder,
};
use crate::domain::list::{
    Claim, CustomerBadge, CustomerRef, Image, LatestAward, ListPage, ListQuery,
};
use crate::domain::time::NEVER;
use crate::error::{Error, Result};

/// The columns of one page row.
#[derive(Debug, FromQueryResult)]
struct PageRow {
    id: String,
    name: String,
    description: String,
    earn_type: String,
    active: bool,
    starts_on: i64,
    expires_on: i64,
    created_on: i64,
    last_updated_on: i64,
    group_id: Option<String>,
    rank: Option<i32>,
    group_name: Option<String>,
    earn_count: Option<i64>,
    awarded_at: Option<i64>,
    event_at: Option<i64>,
    enrol_expires_at: Option<i64>,
    enrol_revoked: Option<bool>,
    sort_key: Option<i64>,
}

#[derive(Debug, FromQueryResult)]
struct CountRow {
    total: i64,
}

impl Store {
    /// The customer's id in `org`, or `None` when no customer of that org
    /// matches: another org's customer is exactly as absent as a missing one.
    pub async fn find_customer(&self, org: i32, customer: &CustomerRef) -> Result<Option<i64>> {
        let query = customer::Entity::find().filter(customer::Column::OrgId.eq(org));
        let query = match customer {
            CustomerRef::Id(id) => query.filter(customer::Column::CustomerId.eq(*id)),
            CustomerRef::Email(v) => query.filter(customer::Column::Email.eq(v.as_str())),
            CustomerRef::Mobile(v) => query.filter(customer::Column::Mobile.eq(v.as_str())),
            CustomerRef::ExternalId(v) => query.filter(customer::Column::ExternalId.eq(v.as_str())),
            CustomerRef::CardNumber(v) => query.filter(customer::Column::CardNumber.eq(v.as_str())),
        };
        Ok(query
            .select_only()
            .column(customer::Column::CustomerId)
            .into_tuple::<i64>()
            .one(&self.db)
            .await?)
    }

    /// One page of customer `customer` of `org`, as seen at `now`.
    pub async fn list_customer_badges(
        &self,
        org: i32,
        customer: i64,
        q: &ListQuery,
        now: Micros,
    ) -> Result<ListPage> {
        let rows =
            PageRow::find_by_statement(page_statement(self.backend(), org, customer, q, now))
                .all(&self.db)
                .await?;

        let returned = rows.len() as i64;
        let total = if (returned > 0 && returned < q.size) || (returned == 0 && q.page == 0) {
            q.offset() + returned
        } else {
            self.count(org, customer, q, now).await?
        };

        let next_page_token = match (&q.keyset, rows.last()) {
            (Some(_), Some(last)) if (q.page + 1).saturating_mul(q.size) < total => Some(
                Cursor {
                    page: q.page + 1,
                    key: last.sort_key,
                    id: last.id.clone(),
                    query: q.fingerprint(),
                }
                .encode(),
            ),
            _ => None,
        };
        let rows = self.assemble(rows, now).await?;
        Ok(ListPage {
            rows,
            page: q.page,
            requested_size: q.size,
            total,
            next_page_token,
        })
    }

    async fn count(&self, org: i32, customer: i64, q: &ListQuery, now: Micros) -> Result<i64> {
        let mut sql = Sql::new(self.backend());
        push_latest_award(&mut sql, org, customer);
        sql.push(" SELECT COUNT(*) AS total FROM badges b LEFT JOIN la ON la.badge_id = b.id");
        push_where(&mut sql, org, q, now);
        let row = CountRow::find_by_statement(sql.build())
            .one(&self.db)
            .await?;
        Ok(row.map_or(0, |r| r.total))
    }

    /// Adds images, owners and claims to a page, each in one batched query.
    async fn assemble(&self, rows: Vec<PageRow>, now: Micros) -> Result<Vec<CustomerBadge>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();

        let mut images: HashMap<String, Vec<Image>> = HashMap::new();
        for i in badge_image::Entity::find()
            .filter(badge_image::Column::BadgeId.is_in(ids.iter().cloned()))
            .order_by_asc(badge_image::Column::BadgeId)
            .order_by_asc(badge_image::Column::Id)
            .all(&self.db)
            .await?
        {
            images.entry(i.badge_id).or_default().push(Image {
                name: i.name,
                file_svc_handle: i.file_svc_handle,
                url: i.url,
                tag: i.tag,
            });
        }

        let mut owners: HashMap<String, Vec<Owner>> = HashMap::new();
        for o in badge_owner::Entity::find()
            .filter(badge_owner::Column::BadgeId.is_in(ids.iter().cloned()))
            .order_by_asc(badge_owner::Column::BadgeId)
            .order_by_asc(badge_owner::Column::Position)
            .all(&self.db)
            .await?
        {
            owners
                .entry(o.badge_id)
                .or_default()
                .push(stored(Owner::parse(&o.owner), &o.owner)?);
        }

        let mut claims: HashMap<String, Vec<Claim>> = HashMap::new();
        for c in badge_claim::Entity::find()
            .filter(badge_claim::Column::BadgeId.is_in(ids))
            .order_by_asc(badge_claim::Column::BadgeId)
            .order_by_asc(badge_claim::Column::Id)
            .all(&self.db)
            .await?
        {
            claims.entry(c.badge_id).or_default().push(Claim {
                owner_type: stored(Owner::parse(&c.owner_type), &c.owner_type)?,
                reference_id: c.reference_id,
                is_active: c.is_active,
            });
        }

        rows.into_iter()
            .map(|r| {
                let starts_on = Micros(r.starts_on);
                let expires_on = Micros(r.expires_on);
                let issue_status = match (r.enrol_revoked, r.enrol_expires_at) {
                    (None, _) => None,
                    (Some(true), _) => Some(IssueStatus::Revoked),
                    (Some(false), Some(exp)) if Micros(exp) <= now => Some(IssueStatus::Expired),
                    (Some(false), _) => Some(IssueStatus::Live),
                };
                let latest_award = match (r.awarded_at, r.event_at) {
                    (Some(a), Some(e)) => Some(LatestAward {
                        awarded_at: Micros(a),
                        event_at: Micros(e),
                    }),
                    _ => None,
                };
                Ok(CustomerBadge {
                    earn_type: stored(EarnType::parse(&r.earn_type), &r.earn_type)?,
                    images: images.remove(&r.id).unwrap_or_default(),
                    restricted_to_owners: owners.remove(&r.id).unwrap_or_default(),
                    claims: claims.remove(&r.id).unwrap_or_default(),
                    status: BadgeStatus::at(now, starts_on, expires_on),
                    id: r.id,
                    name: r.name,
                    description: r.description,
                    group_id: r.group_id,
                    group_name: r.group_name,
                    rank: r.rank,
                    created_on: Micros(r.created_on),
                    last_updated_on: Micros(r.last_updated_on),
                    starts_on,
                    expires_on,
                    earn_count: r.earn_count.unwrap_or(0),
                    issue_status,
                    active: r.active,
                    latest_award,
                })
            })
            .collect()
    }
}

/// The page query of the list call, exactly as the service issues it.
pub fn page_statement(
    backend: DbBackend,
    org: i32,
    customer: i64,
    q: &ListQuery,
    now: Micros,
) -> Statement {
    let mut sql = Sql::new(backend);
    push_latest_award(&mut sql, org, customer);
    push_latest_enrolment(&mut sql, org, customer);
    sql.push(
        " SELECT b.id, b.name, b.description, b.earn_type, b.active, b.starts_on, \
         b.expires_on, b.created_on, b.last_updated_on, b.group_id, b.rank, \
         g.name AS group_name, la.earn_count, la.awarded_at, la.event_at, \
         le.expires_at AS enrol_expires_at, le.revoked AS enrol_revoked, ",
    );
    push_sort_key(&mut sql, q, now);
    sql.push(
        " AS sort_key \
         FROM badges b \
         LEFT JOIN badge_groups g ON g.id = b.group_id \
         LEFT JOIN la ON la.badge_id = b.id \
         LEFT JOIN le ON le.badge_id = b.id",
    );
    push_where(&mut sql, org, q, now);
    if let Some(Keyset::After(cursor)) = &q.keyset {
        push_after(&mut sql, q, cursor, now);
    }
    push_order(&mut sql, q, now);
    sql.push(" LIMIT ")
        .bind(q.size)
        .push(" OFFSET ")
        .bind(q.skip());
    sql.build()
}

/// The count query of the list call, exactly as the service issues it.
pub fn count_statement(
    backend: DbBackend,
    org: i32,
    customer: i64,
    q: &ListQuery,
    now: Micros,
) -> Statement {
    let mut sql = Sql::new(backend);
    push_latest_award(&mut sql, org, customer);
    sql.push(" SELECT COUNT(*) AS total FROM badges b LEFT JOIN la ON la.badge_id = b.id");
    push_where(&mut sql, org, q, now);
    sql.build()
}

/// A stored enum value that no longer parses is corrupt data, not bad input.
fn stored<T>(parsed: Option<T>, raw: &str) -> Result<T> {
    parsed.ok_or_else(|| Error::Internal(format!("unknown stored enum value {raw:?}")))
}

/// `la`: per badge, the customer's latest non-revoked award, with the count of
/// such awards and the instant until which the customer holds the badge.
/// `MATERIALIZED` (PostgreSQL 12+, SQLite 3.35+): computed once per statement,
/// never once per badge row, whatever plan the planner picks.
fn push_latest_award(sql: &mut Sql, org: i32, customer: i64) {
    sql.push(
        "WITH aw AS (SELECT badge_id, awarded_at, event_at, expires_at, \
         COUNT(*) OVER (PARTITION BY badge_id) AS earn_count, \
         MAX(COALESCE(expires_at, ",
    )
    .push(&NEVER.0.to_string())
    .push(
        ")) OVER (PARTITION BY badge_id) AS hold_until, \
         ROW_NUMBER() OVER (PARTITION BY badge_id ORDER BY awarded_at DESC, id DESC) AS rn \
         FROM awards WHERE org_id = ",
    )
    .bind(org)
    .push(" AND customer_id = ")
    .bind(customer)
    .push(" AND revoked = FALSE), la AS MATERIALIZED (SELECT * FROM aw WHERE rn = 1)");
}

/// `le`: per badge, the customer's latest enrolment.
fn push_latest_enrolment(sql: &mut Sql, org: i32, customer: i64) {
    sql.push(
        ", en AS (SELECT badge_id, issued_at, expires_at, revoked, \
         ROW_NUMBER() OVER (PARTITION BY badge_id ORDER BY issued_at DESC, id DESC) AS rn \
         FROM enrolments WHERE org_id = ",
    )
    .bind(org)
    .push(" AND customer_id = ")
    .bind(customer)
    .push("), le AS MATERIALIZED (SELECT * FROM en WHERE rn = 1)");
}

fn push_where(sql: &mut Sql, org: i32, q: &ListQuery, now: Micros) {
    sql.push(" WHERE b.org_id = ").bind(org);

    sql.push(" AND (");
    for (i, t) in q.badge_types.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        match t {
            BadgeType::AvailableToIssue | BadgeType::Available => {
                let earn_type = if *t == BadgeType::Available {
                    EarnType::Earn
                } else {
                    EarnType::IssueEarn
                };
                sql.push("(b.earn_type = ")
                    .bind(earn_type.as_str())
                    .push(" AND (la.hold_until IS NULL OR la.hold_until <= ")
                    .bind(now.0)
                    .push("))");
            }
            BadgeType::Earned => {
                sql.push("la.hold_until > ").bind(now.0);
            }
            BadgeType::Expired => {
                sql.push("(b.expires_on <= ")
                    .bind(now.0)
                    .push(" OR la.hold_until <= ")
                    .bind(now.0)
                    .push(")");
            }
        }
    }
    sql.push(")");

    if !q.active.is_empty() {
        sql.push(" AND b.active IN ")
            .bind_list(q.active.iter().copied());
    }
    if !q.statuses.is_empty() {
        sql.push(" AND (");
        for (i, s) in q.statuses.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            match s {
                BadgeStatus::Upcoming => sql.push("b.starts_on > ").bind(now.0),
                BadgeStatus::Live => sql
                    .push("(b.starts_on <= ")
                    .bind(now.0)
                    .push(" AND b.expires_on > ")
                    .bind(now.0)
                    .push(")"),
                BadgeStatus::Expired => sql.push("b.expires_on <= ").bind(now.0),
            };
        }
        sql.push(")");
    }
    if !q.owners.is_empty() {
        sql.push(
            " AND EXISTS (SELECT 1 FROM badge_owners o WHERE o.badge_id = b.id AND o.owner IN ",
        )
        .bind_list(q.owners.iter().map(|o| o.as_str()))
        .push(")");
    }
    if !q.claimed_by.is_empty() {
        sql.push(
            " AND EXISTS (SELECT 1 FROM badge_claims c WHERE c.badge_id = b.id \
             AND c.is_active = TRUE AND c.owner_type IN ",
        )
        .bind_list(q.claimed_by.iter().map(|o| o.as_str()))
        .push(")");
    }
    if let Some(name) = &q.name {
        sql.push(" AND b.name_lower LIKE ")
            .bind(format!("%{}%", escape_like(name)))
            .push(" ESCAPE '\\'");
    }
    for (column, filter) in [("b.starts_on", q.start_on), ("b.expires_on", q.expires_on)] {
        if let Some(f) = filter {
            let op = match f.operator {
                Operator::LessThan => " < ",
                Operator::GreaterThan => " > ",
            };
            sql.push(" AND ").push(column).push(op).bind(f.at.0);
        }
    }
    if let Some(group) = &q.group_id {
        sql.push(" AND b.group_id = ").bind(group.as_str());
    }
}

/// The sort key's expression.
fn push_sort_key(sql: &mut Sql, q: &ListQuery, now: Micros) {
    match q.sort_on {
        SortOn::ExpiresOn => sql.push("b.expires_on"),
        SortOn::LastModifiedDate => sql.push("b.last_updated_on"),
        SortOn::LastExpiredBadge => sql
            .push("(CASE WHEN la.expires_at <= ")
            .bind(now.0)
            .push(" THEN la.expires_at ELSE b.expires_on END)"),
        SortOn::LastIssuedDate => sql.push("le.issued_at"),
        SortOn::LastEarnedEventDate => sql.push("la.event_at"),
        SortOn::LastEarnedOnDate => sql.push("la.awarded_at"),
    };
}

/// Whether rows can lack the sort key (they sort last).
fn nullable(sort_on: SortOn) -> bool {
    matches!(
        sort_on,
        SortOn::LastIssuedDate | SortOn::LastEarnedEventDate | SortOn::LastEarnedOnDate
    )
}

/// ORDER BY the sort key, rows without a value last in both directions, ties
/// broken by badge id ascending: the same order on every backend.
fn push_order(sql: &mut Sql, q: &ListQuery, now: Micros) {
    let dir = match q.order {
        SortOrder::Desc => " DESC",
        SortOrder::Asc => " ASC",
    };
    sql.push(" ORDER BY ");
    if nullable(q.sort_on) {
        sql.push("(");
        push_sort_key(sql, q, now);
        sql.push(" IS NULL), ");
    }
    push_sort_key(sql, q, now);
    sql.push(dir).push(", b.id ASC");
}

/// Keyset paging: only rows after the cursor in the order of `push_order`.
fn push_after(sql: &mut Sql, q: &ListQuery, cursor: &Cursor, now: Micros) {
    let beyond = match q.order {
        SortOrder::Desc => " < ",
        SortOrder::Asc => " > ",
    };
    sql.push(" AND (");
    match cursor.key {
        Some(key) => {
            push_sort_key(sql, q, now);
            sql.push(beyond).bind(key).push(" OR (");
            push_sort_key(sql, q, now);
            sql.push(" = ")
                .bind(key)
                .push(" AND b.id > ")
                .bind(cursor.id.as_str())
                .push(")");
            if nullable(q.sort_on) {
                sql.push(" OR ");
                push_sort_key(sql, q, now);
                sql.push(" IS NULL");
            }
        }
        None => {
            push_sort_key(sql, q, now);
            sql.push(" IS NULL AND b.id > ").bind(cursor.id.as_str());
        }
    }
    sql.push(")");
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
