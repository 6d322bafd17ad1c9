//! The reference: the list call as the service computed it in SQL before the
//! catalogue moved into memory (the page statement of `store/list.rs` at
//! 10699ee), kept here, frozen, so that the property test
//! (`differential.rs`) can compare the in-memory path with it on random
//! catalogues, customers and queries, on both backends.

use std::collections::HashMap;

use badges::domain::Micros;
use badges::domain::badge::{Claim, Image};
use badges::domain::cursor::{Cursor, Keyset};
use badges::domain::enums::{
    BadgeStatus, BadgeType, EarnType, IssueStatus, Operator, Owner, SortOn, SortOrder,
};
use badges::domain::list::{CustomerBadge, CustomerRef, LatestAward, ListPage, ListQuery};
use badges::domain::time::NEVER;
use badges::store::entity::customer;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect, Select, Statement, Value,
};

type Result<T> = std::result::Result<T, String>;

/// SQL text and its bound values, with the backend's placeholders.
struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn new(backend: DbBackend) -> Self {
        Sql {
            backend,
            text: String::new(),
            values: Vec::new(),
        }
    }

    fn backend(&self) -> DbBackend {
        self.backend
    }

    fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => {
                let n = self.values.len();
                self.text.push_str(&format!("${n}"));
            }
            _ => self.text.push('?'),
        }
        self
    }

    fn bind_list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.push("(");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v);
        }
        self.push(")")
    }

    fn build(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

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
    /// Rows matching the filters, whatever the page (a window count).
    total: i64,
}

#[derive(Debug, FromQueryResult)]
struct CountRow {
    total: i64,
}

/// One image, owner or claim of a page's badges (`kind` 0, 1 or 2).
#[derive(Debug, FromQueryResult)]
struct DetailRow {
    kind: i32,
    badge_id: String,
    /// The image's name, the owner, or the claim's owner type.
    name_or_owner: String,
    /// The image's file service handle, or the claim's reference id.
    handle_or_reference: Option<String>,
    /// The image's URL.
    url: Option<String>,
    /// The image's tag.
    tag: Option<String>,
    /// Whether the claim is active.
    is_active: bool,
}

/// The customer's id in `org`, or `None` when no customer of that org
/// matches: another org's customer is exactly as absent as a missing one.
pub async fn find_customer(
    db: &DatabaseConnection,
    org: i32,
    customer: &CustomerRef,
) -> Result<Option<i64>> {
    customer_query(org, customer)
        .into_tuple::<i64>()
        .one(db)
        .await
        .map_err(|e| e.to_string())
}

/// One page of the customer `q.customer` of `org`, as seen at `now`, or
/// `None` when no customer of that org matches. The page statement finds
/// the customer itself; only an empty page needs the customer lookup, to
/// tell a missing customer from a page without rows.
pub async fn page(
    db: &DatabaseConnection,
    org: i32,
    q: &ListQuery,
    now: Micros,
) -> Result<Option<ListPage>> {
    let rows = PageRow::find_by_statement(page_statement(db.get_database_backend(), org, q, now))
        .all(db)
        .await
        .map_err(|e| e.to_string())?;

    // The page carries the total; a page past the end (or past every row
    // after its cursor) needs the count statement.
    let total = match rows.first() {
        Some(row) => row.total,
        None => match find_customer(db, org, &q.customer)
            .await
            .map_err(|e| e.to_string())?
        {
            None => return Ok(None),
            Some(_) if q.page == 0 => 0,
            Some(_) => count(db, org, q, now).await.map_err(|e| e.to_string())?,
        },
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
    let rows = assemble(db, org, rows, now)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(ListPage {
        rows,
        page: q.page,
        requested_size: q.size,
        total,
        next_page_token,
    }))
}

async fn count(db: &DatabaseConnection, org: i32, q: &ListQuery, now: Micros) -> Result<i64> {
    let row = CountRow::find_by_statement(count_statement(db.get_database_backend(), org, q, now))
        .one(db)
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.map_or(0, |r| r.total))
}

/// Adds images, owners and claims to a page, in one batched statement.
async fn assemble(
    db: &DatabaseConnection,
    org: i32,
    rows: Vec<PageRow>,
    now: Micros,
) -> Result<Vec<CustomerBadge>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut images: HashMap<String, Vec<Image>> = HashMap::new();
    let mut owners: HashMap<String, Vec<Owner>> = HashMap::new();
    let mut claims: HashMap<String, Vec<Claim>> = HashMap::new();
    for d in DetailRow::find_by_statement(details_statement(db.get_database_backend(), org, &ids))
        .all(db)
        .await
        .map_err(|e| e.to_string())?
    {
        match d.kind {
            0 => images.entry(d.badge_id).or_default().push(Image {
                name: d.name_or_owner,
                file_svc_handle: d.handle_or_reference.unwrap_or_default(),
                url: d.url.unwrap_or_default(),
                tag: d.tag.unwrap_or_default(),
            }),
            1 => owners
                .entry(d.badge_id)
                .or_default()
                .push(stored(Owner::parse(&d.name_or_owner), &d.name_or_owner)?),
            _ => claims.entry(d.badge_id).or_default().push(Claim {
                owner_type: stored(Owner::parse(&d.name_or_owner), &d.name_or_owner)?,
                reference_id: d.handle_or_reference.unwrap_or_default(),
                is_active: d.is_active,
            }),
        }
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

/// The customer lookup: the customer's id in `org`.
fn customer_query(org: i32, customer: &CustomerRef) -> Select<customer::Entity> {
    let query = customer::Entity::find().filter(customer::Column::OrgId.eq(org));
    let query = match customer {
        CustomerRef::Id(id) => query.filter(customer::Column::CustomerId.eq(*id)),
        CustomerRef::Email(v) => query.filter(customer::Column::Email.eq(v.as_str())),
        CustomerRef::Mobile(v) => query.filter(customer::Column::Mobile.eq(v.as_str())),
        CustomerRef::ExternalId(v) => query.filter(customer::Column::ExternalId.eq(v.as_str())),
        CustomerRef::CardNumber(v) => query.filter(customer::Column::CardNumber.eq(v.as_str())),
    };
    query.select_only().column(customer::Column::CustomerId)
}

/// The images (kind 0, in creation order), restricted owners (kind 1, in
/// position order) and claims (kind 2, in creation order) of the badges `ids`.
fn details_statement(backend: DbBackend, org: i32, ids: &[String]) -> Statement {
    let mut sql = Sql::new(backend);
    sql.push(
        "SELECT 0 AS kind, badge_id, id AS seq, name AS name_or_owner, \
         file_svc_handle AS handle_or_reference, url, tag, FALSE AS is_active \
         FROM badge_images WHERE org_id = ",
    )
    .bind(org)
    .push(" AND badge_id IN ")
    .bind_list(ids.iter().map(String::as_str))
    .push(
        " UNION ALL SELECT 1, badge_id, position, owner, NULL, NULL, NULL, FALSE \
         FROM badge_owners WHERE org_id = ",
    )
    .bind(org)
    .push(" AND badge_id IN ")
    .bind_list(ids.iter().map(String::as_str))
    .push(
        " UNION ALL SELECT 2, badge_id, id, owner_type, reference_id, NULL, NULL, is_active \
         FROM badge_claims WHERE org_id = ",
    )
    .bind(org)
    .push(" AND badge_id IN ")
    .bind_list(ids.iter().map(String::as_str))
    .push(" ORDER BY 1, 2, 3");
    sql.build()
}

/// The page query of the list call, exactly as the service issues it.
///
/// `p` holds every matching badge with what ordering needs (its id, its sort
/// key and how many match: a window count, so the page carries its total)
/// and the customer's latest award and enrolment, hash-joined once for all
/// rows. The page is cut from `p` (after the keyset cursor, if any) while its
/// rows are still narrow, and only its own rows are joined, by primary key,
/// to the badge's columns and group. (Joining the award and enrolment CTEs
/// after the cut made the planner nest-loop them, row by row of the page:
/// 25 ms for a heavy customer's keyset page.)
fn page_statement(backend: DbBackend, org: i32, q: &ListQuery, now: Micros) -> Statement {
    let mut sql = Sql::new(backend);
    push_customer(&mut sql, org, &q.customer);
    push_latest_award(&mut sql, org);
    push_latest_enrolment(&mut sql, org);
    sql.push(", p AS (SELECT b.id, ");
    push_sort_key(&mut sql, q, now);
    sql.push(
        " AS sort_key, COUNT(*) OVER () AS total, \
         la.earn_count, la.awarded_at, la.event_at, \
         le.expires_at AS enrol_expires_at, le.revoked AS enrol_revoked \
         FROM badges b LEFT JOIN la ON la.badge_id = b.id \
         LEFT JOIN le ON le.badge_id = b.id",
    );
    push_where(&mut sql, org, q, now);
    // No customer, no rows (whatever a missing customer would "hold").
    sql.push(" AND EXISTS (SELECT 1 FROM cu)");
    sql.push(
        ") SELECT b.id, b.name, b.description, b.earn_type, b.active, b.starts_on, \
         b.expires_on, b.created_on, b.last_updated_on, b.group_id, b.rank, \
         g.name AS group_name, t.earn_count, t.awarded_at, t.event_at, \
         t.enrol_expires_at, t.enrol_revoked, t.sort_key, t.total \
         FROM (SELECT * FROM p t",
    );
    if let Some(Keyset::After(cursor)) = &q.keyset {
        push_after(&mut sql, q, cursor);
    }
    push_order(&mut sql, q);
    sql.push(" LIMIT ")
        .bind(q.size)
        .push(" OFFSET ")
        .bind(q.skip());
    sql.push(") t JOIN badges b ON b.org_id = ").bind(org).push(
        " AND b.id = t.id \
             LEFT JOIN badge_groups g ON g.org_id = b.org_id AND g.id = b.group_id",
    );
    push_order(&mut sql, q);
    sql.build()
}

/// The count query of the list call, exactly as the service issues it (only
/// for a page past the end).
fn count_statement(backend: DbBackend, org: i32, q: &ListQuery, now: Micros) -> Statement {
    let mut sql = Sql::new(backend);
    push_customer(&mut sql, org, &q.customer);
    push_latest_award(&mut sql, org);
    sql.push(" SELECT COUNT(*) AS total FROM badges b LEFT JOIN la ON la.badge_id = b.id");
    push_where(&mut sql, org, q, now);
    sql.push(" AND EXISTS (SELECT 1 FROM cu)");
    sql.build()
}

/// A stored enum value that no longer parses is corrupt data, not bad input.
fn stored<T>(parsed: Option<T>, raw: &str) -> Result<T> {
    parsed.ok_or_else(|| format!("unknown stored enum value {raw:?}"))
}

/// `cu`: the customer, by whichever identifier addresses it, in `org` only.
fn push_customer(sql: &mut Sql, org: i32, customer: &CustomerRef) {
    sql.push("WITH cu AS MATERIALIZED (SELECT customer_id FROM customers WHERE org_id = ")
        .bind(org);
    match customer {
        CustomerRef::Id(id) => sql.push(" AND customer_id = ").bind(*id),
        CustomerRef::Email(v) => sql.push(" AND email = ").bind(v.as_str()),
        CustomerRef::Mobile(v) => sql.push(" AND mobile = ").bind(v.as_str()),
        CustomerRef::ExternalId(v) => sql.push(" AND external_id = ").bind(v.as_str()),
        CustomerRef::CardNumber(v) => sql.push(" AND card_number = ").bind(v.as_str()),
    };
    sql.push(")");
}

/// `la`: per badge, the customer's latest non-revoked award, with the count of
/// such awards and the instant until which the customer holds the badge.
/// `MATERIALIZED` (PostgreSQL 12+, SQLite 3.35+): computed once per statement,
/// never once per badge row, whatever plan the planner picks. PostgreSQL
/// takes the latest row with `DISTINCT ON`, whose row estimate (one per
/// badge) lets the planner hash-join it; a `ROW_NUMBER() = 1` filter is
/// estimated at a handful of rows, and the nested loop that follows costs a
/// heavy customer 100 ms. SQLite has no `DISTINCT ON`.
fn push_latest_award(sql: &mut Sql, org: i32) {
    let postgres = sql.backend() == DbBackend::Postgres;
    sql.push(if postgres {
        ", la AS MATERIALIZED (SELECT DISTINCT ON (badge_id) "
    } else {
        ", aw AS (SELECT "
    })
    .push(
        "badge_id, awarded_at, event_at, expires_at, \
         COUNT(*) OVER (PARTITION BY badge_id) AS earn_count, \
         MAX(COALESCE(expires_at, ",
    )
    .push(&NEVER.0.to_string())
    .push(")) OVER (PARTITION BY badge_id) AS hold_until");
    if !postgres {
        sql.push(
            ", ROW_NUMBER() OVER (PARTITION BY badge_id ORDER BY awarded_at DESC, id DESC) AS rn",
        );
    }
    sql.push(" FROM awards WHERE org_id = ")
        .bind(org)
        .push(" AND customer_id = (SELECT customer_id FROM cu) AND revoked = FALSE");
    sql.push(if postgres {
        " ORDER BY badge_id, awarded_at DESC, id DESC)"
    } else {
        "), la AS MATERIALIZED (SELECT * FROM aw WHERE rn = 1)"
    });
}

/// `le`: per badge, the customer's latest enrolment.
fn push_latest_enrolment(sql: &mut Sql, org: i32) {
    let postgres = sql.backend() == DbBackend::Postgres;
    sql.push(if postgres {
        ", le AS MATERIALIZED (SELECT DISTINCT ON (badge_id) badge_id, issued_at, expires_at, revoked"
    } else {
        ", en AS (SELECT badge_id, issued_at, expires_at, revoked, \
         ROW_NUMBER() OVER (PARTITION BY badge_id ORDER BY issued_at DESC, id DESC) AS rn"
    })
    .push(" FROM enrolments WHERE org_id = ")
    .bind(org)
    .push(" AND customer_id = (SELECT customer_id FROM cu)");
    sql.push(if postgres {
        " ORDER BY badge_id, issued_at DESC, id DESC)"
    } else {
        "), le AS MATERIALIZED (SELECT * FROM en WHERE rn = 1)"
    });
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
            " AND EXISTS (SELECT 1 FROM badge_owners o WHERE o.org_id = b.org_id \
             AND o.badge_id = b.id AND o.owner IN ",
        )
        .bind_list(q.owners.iter().map(|o| o.as_str()))
        .push(")");
    }
    if !q.claimed_by.is_empty() {
        sql.push(
            " AND EXISTS (SELECT 1 FROM badge_claims c WHERE c.org_id = b.org_id AND c.badge_id = b.id \
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
fn push_order(sql: &mut Sql, q: &ListQuery) {
    let dir = match q.order {
        SortOrder::Desc => " DESC",
        SortOrder::Asc => " ASC",
    };
    sql.push(" ORDER BY ");
    if nullable(q.sort_on) {
        sql.push("(t.sort_key IS NULL), ");
    }
    sql.push("t.sort_key").push(dir).push(", t.id ASC");
}

/// Keyset paging: only rows after the cursor in the order of `push_order`.
fn push_after(sql: &mut Sql, q: &ListQuery, cursor: &Cursor) {
    let beyond = match q.order {
        SortOrder::Desc => " < ",
        SortOrder::Asc => " > ",
    };
    sql.push(" WHERE (");
    match cursor.key {
        Some(key) => {
            sql.push("t.sort_key")
                .push(beyond)
                .bind(key)
                .push(" OR (t.sort_key = ")
                .bind(key)
                .push(" AND t.id > ")
                .bind(cursor.id.as_str())
                .push(")");
            if nullable(q.sort_on) {
                sql.push(" OR t.sort_key IS NULL");
            }
        }
        None => {
            sql.push("t.sort_key IS NULL AND t.id > ")
                .bind(cursor.id.as_str());
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
