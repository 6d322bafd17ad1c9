//! What the list call reads: the customer's state, in one statement that
//! also re-checks the caller's client row and reads the org's catalogue
//! version; and, when that version moved, the org's catalogue.

use std::collections::HashMap;

use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
    QueryTrait, Select, Statement,
};

use super::badges::stored;
use super::entity::{badge, badge_claim, badge_group, badge_owner, org};
use super::sql::Sql;
use super::{Dialect, Store};
use crate::domain::Micros;
use crate::domain::badge::Badge;
use crate::domain::catalogue::{
    AwardRow, Catalogue, CustomerState, EnrolmentRow, IndexedBadge, IndexedGroup, OwnerSet,
};
use crate::domain::detail::{EarnedBadge, History, IssuedBadge, MAX_HISTORY, TriggeredBy};
use crate::domain::enums::{EarnType, Owner};
use crate::domain::holdings::Holdings;
use crate::domain::list::CustomerRef;
use crate::domain::principal::Principal;
use crate::error::{Error, Result};

/// What one round trip tells a list call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerRead {
    /// The org's catalogue version when the statement ran.
    pub catalogue_version: i64,
    /// The customer's state, or `None` when no customer of the org matches.
    pub state: Option<CustomerState>,
    /// The customer's history with one badge, when the scope asked for it
    /// and the customer was found.
    pub history: Option<History>,
    /// `Scope::Kept`: the customer's state row, when it was there and fresh
    /// (then `state` holds no rows).
    pub kept: Option<Vec<u8>>,
}

/// What a list call knows of the customer after its one round trip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldingsRead {
    pub catalogue_version: i64,
    /// `None` when no customer of the org matches.
    pub holdings: Option<Holdings>,
}

/// One row of the customer-state statement: the header (what the call
/// checks), or one award or enrolment of the customer.
#[derive(Debug, FromQueryResult)]
struct StateRow {
    /// 0 header, 1 award, 2 enrolment, 3 award of the history, 4 enrolment
    /// of the history.
    kind: i32,
    badge_id: Option<String>,
    seq: Option<i64>,
    at: Option<i64>,
    event_at: Option<i64>,
    expires_at: Option<i64>,
    revoked: Option<bool>,
    catalogue_version: Option<i64>,
    client_generation: Option<i64>,
    customer_id: Option<i64>,
    /// History rows: the award's or enrolment's public id.
    public_id: Option<String>,
    /// History rows: who triggered them.
    triggered_by_owner: Option<String>,
    triggered_by_reference: Option<String>,
    /// History rows: when they were revoked.
    revoked_at: Option<i64>,
    /// The header of a list call: the customer's state row, when there is
    /// one that is not stale.
    body: Option<Vec<u8>>,
}

const HEADER: i32 = 0;
const AWARD: i32 = 1;
const ENROLMENT: i32 = 2;
const HISTORY_AWARD: i32 = 3;
const HISTORY_ENROLMENT: i32 = 4;

/// What of the customer's state a call reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Every badge, from the customer's state row when it is there and not
    /// stale (the list call); the awards and enrolments are read only when
    /// it is not.
    Kept,
    /// Every badge, from the awards and enrolments (what the state row is
    /// checked against, and the path when a row does not read).
    All,
    /// One badge (the detail call); with `history`, also the customer's
    /// newest awards (revoked ones too) and enrolments of it, one more than
    /// `domain::detail::MAX_HISTORY` of each so that a cut can be told.
    Badge { id: &'a str, history: bool },
}

/// The one statement of a list or detail call: a header row with the org's
/// catalogue version, the caller's client generation (NULL once disabled),
/// the customer's id (NULL when no customer of the org matches) and, for
/// `Scope::Kept`, the customer's state row when it is fresh, and nothing
/// else; for the other scopes the customer's awards that are not revoked
/// and their enrolments follow, by index, of one badge and with its history
/// when `scope` says so.
pub fn customer_state_statement(
    dialect: Dialect,
    p: &Principal,
    customer: &CustomerRef,
    scope: Scope<'_>,
) -> Statement {
    let mut sql = Sql::new(dialect);
    let kept = scope == Scope::Kept;
    // The state row by key, before the customer's row when the customer is
    // named by id: a fresh state row says the customer exists, so the
    // customers row is then not read (its condition is a one-time filter).
    let by_id = match customer {
        CustomerRef::Id(id) if kept => Some(*id),
        _ => None,
    };
    sql.push("WITH ");
    if let Some(id) = by_id {
        sql.push(
            "st AS MATERIALIZED (SELECT customer_id, body FROM customer_states WHERE org_id = ",
        )
        .bind(p.org_id)
        .push(" AND customer_id = ")
        .bind(id)
        .push(" AND stale = FALSE), ");
    }
    sql.push("cu AS MATERIALIZED (SELECT customer_id FROM customers WHERE org_id = ")
        .bind(p.org_id);
    match customer {
        CustomerRef::Id(id) => sql.push(" AND customer_id = ").bind(*id),
        CustomerRef::Email(v) => sql.push(" AND email = ").bind(v.as_str()),
        CustomerRef::Mobile(v) => sql.push(" AND mobile = ").bind(v.as_str()),
        CustomerRef::ExternalId(v) => sql.push(" AND external_id = ").bind(v.as_str()),
        CustomerRef::CardNumber(v) => sql.push(" AND card_number = ").bind(v.as_str()),
    };
    if by_id.is_some() {
        sql.push(" AND NOT EXISTS (SELECT 1 FROM st)");
    }
    sql.push(")");
    if kept && by_id.is_none() {
        sql.push(
            ", st AS MATERIALIZED (SELECT customer_id, body FROM customer_states WHERE org_id = ",
        )
        .bind(p.org_id)
        .push(" AND customer_id = (SELECT customer_id FROM cu) AND stale = FALSE)");
    }
    sql.push(" SELECT ")
        .push(&HEADER.to_string())
        .push(
            " AS kind, NULL AS badge_id, NULL AS seq, NULL AS at, NULL AS event_at, \
             NULL AS expires_at, NULL AS revoked, \
             (SELECT catalogue_version FROM orgs WHERE id = ",
        )
        .bind(p.org_id)
        .push(") AS catalogue_version, (SELECT generation FROM api_clients WHERE id = ")
        .bind(p.client_id)
        .push(" AND disabled = FALSE) AS client_generation, ")
        .push(if kept {
            "COALESCE((SELECT customer_id FROM st), (SELECT customer_id FROM cu))"
        } else {
            "(SELECT customer_id FROM cu)"
        })
        .push(
            " AS customer_id, \
             NULL AS public_id, NULL AS triggered_by_owner, NULL AS triggered_by_reference, \
             CAST(NULL AS BIGINT) AS revoked_at, ",
        )
        .push(if kept {
            "(SELECT body FROM st)"
        } else {
            dialect.null_bytes()
        })
        .push(" AS body");
    if kept {
        // The header is all: a call that finds no fresh row reads the
        // tables with a second statement (`Store::read_holdings`), so this
        // one names no award or enrolment and opens fewer relations.
        return sql.build();
    }
    let (badge, history) = match scope {
        Scope::All | Scope::Kept => (None, false),
        Scope::Badge { id, history } => (Some(id), history),
    };
    // The customer's rows in the org, of the one badge when there is one.
    let of_customer = |sql: &mut Sql| {
        sql.push(" WHERE org_id = ")
            .bind(p.org_id)
            .push(" AND customer_id = (SELECT customer_id FROM cu)");
        if let Some(id) = badge {
            sql.push(" AND badge_id = ").bind(id);
        }
    };
    sql.push(" UNION ALL SELECT ")
        .push(&AWARD.to_string())
        .push(
            ", badge_id, CAST(id AS BIGINT), awarded_at, event_at, expires_at, revoked, \
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM awards",
        );
    of_customer(&mut sql);
    sql.push(" AND revoked = FALSE");
    sql.push(" UNION ALL SELECT ")
        .push(&ENROLMENT.to_string())
        .push(
            ", badge_id, CAST(id AS BIGINT), issued_at, NULL, expires_at, revoked, \
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM enrolments",
        );
    of_customer(&mut sql);
    if history {
        let limit = (MAX_HISTORY + 1).to_string();
        sql.push(" UNION ALL SELECT * FROM (SELECT ")
            .push(&HISTORY_AWARD.to_string())
            .push(
                " AS kind, badge_id, CAST(id AS BIGINT) AS seq, awarded_at, event_at, \
                 expires_at, revoked, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), \
                 CAST(NULL AS BIGINT), earned_badge_id, \
                 triggered_by_owner, triggered_by_reference, revoked_at, ",
            )
            .push(dialect.null_bytes())
            .push(" FROM awards");
        of_customer(&mut sql);
        sql.push(" ORDER BY awarded_at DESC, id DESC LIMIT ")
            .push(&limit)
            .push(") h");
        sql.push(" UNION ALL SELECT * FROM (SELECT ")
            .push(&HISTORY_ENROLMENT.to_string())
            .push(
                " AS kind, badge_id, CAST(id AS BIGINT) AS seq, issued_at, event_at, \
                 expires_at, revoked, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), \
                 CAST(NULL AS BIGINT), issued_badge_id, \
                 triggered_by_owner, triggered_by_reference, revoked_at, ",
            )
            .push(dialect.null_bytes())
            .push(" FROM enrolments");
        of_customer(&mut sql);
        sql.push(" ORDER BY issued_at DESC, id DESC LIMIT ")
            .push(&limit)
            .push(") he");
    }
    sql.build()
}

/// Who triggered a history row, as stored.
fn triggered_by(owner: Option<String>, reference: Option<String>) -> Result<Option<TriggeredBy>> {
    owner
        .map(|owner| {
            Ok(TriggeredBy {
                owner_type: stored(Owner::parse(&owner), &owner)?,
                reference_id: reference,
            })
        })
        .transpose()
}

fn field<T>(value: Option<T>, name: &str) -> Result<T> {
    value.ok_or_else(|| Error::Internal(format!("customer state row without {name}")))
}

impl Store {
    /// The customer's state (of every badge, or of one with its history, as
    /// `scope` says), the org's catalogue version and the caller's client
    /// generation, in one round trip. `StaleClient` when the caller's client
    /// row changed since it was authenticated.
    pub async fn read_customer(
        &self,
        p: &Principal,
        customer: &CustomerRef,
        scope: Scope<'_>,
    ) -> Result<CustomerRead> {
        let statement = customer_state_statement(self.dialect(), p, customer, scope);
        let rows = StateRow::find_by_statement(statement).all(&self.db).await?;
        let mut rows = rows.into_iter();
        let header = rows
            .next()
            .filter(|h| h.kind == HEADER)
            .ok_or_else(|| Error::Internal("customer state without its header".into()))?;
        if header.client_generation != Some(p.generation) {
            return Err(Error::StaleClient);
        }
        let catalogue_version = field(header.catalogue_version, "catalogue_version")?;
        if header.customer_id.is_none() {
            return Ok(CustomerRead {
                catalogue_version,
                state: None,
                history: None,
                kept: None,
            });
        }
        let mut state = CustomerState::default();
        let mut history =
            matches!(scope, Scope::Badge { history: true, .. }).then(History::default);
        for r in rows {
            let badge_id = field(r.badge_id, "badge_id")?;
            let seq = field(r.seq, "seq")?;
            let at = Micros(field(r.at, "at")?);
            let expires_at = r.expires_at.map(Micros);
            let revoked = field(r.revoked, "revoked")?;
            match (r.kind, history.as_mut()) {
                (AWARD, _) => state.awards.push(AwardRow {
                    seq,
                    badge_id,
                    awarded_at: at,
                    event_at: Micros(field(r.event_at, "event_at")?),
                    expires_at,
                }),
                (ENROLMENT, _) => state.enrolments.push(EnrolmentRow {
                    seq,
                    badge_id,
                    issued_at: at,
                    expires_at,
                    revoked,
                }),
                (HISTORY_AWARD, Some(h)) => h.awards.push(EarnedBadge {
                    earned_badge_id: field(r.public_id, "earned_badge_id")?,
                    earned_on: at,
                    event_at: Micros(field(r.event_at, "event_at")?),
                    expires_at,
                    revoked,
                    revoked_at: r.revoked_at.map(Micros),
                    triggered_by: triggered_by(r.triggered_by_owner, r.triggered_by_reference)?,
                }),
                (HISTORY_ENROLMENT, Some(h)) => h.enrolments.push(IssuedBadge {
                    issued_badge_id: field(r.public_id, "issued_badge_id")?,
                    issued_on: at,
                    event_at: r.event_at.map(Micros),
                    expires_at,
                    revoked,
                    revoked_at: r.revoked_at.map(Micros),
                    triggered_by: triggered_by(r.triggered_by_owner, r.triggered_by_reference)?,
                }),
                (other, _) => return Err(Error::Internal(format!("state row of kind {other}"))),
            }
        }
        Ok(CustomerRead {
            catalogue_version,
            state: Some(state),
            history,
            kept: header.body,
        })
    }

    /// What the customer holds of every badge, the org's catalogue version
    /// and the caller's client generation, in one round trip when the
    /// customer's state row is fresh. A customer without one (not written
    /// since the rows were filled, or last written by a previous release), or
    /// whose row this release cannot read, costs a second statement: their
    /// awards and enrolments, folded.
    pub async fn read_holdings(
        &self,
        p: &Principal,
        customer: &CustomerRef,
    ) -> Result<HoldingsRead> {
        let read = self.read_customer(p, customer, Scope::Kept).await?;
        let kept = match (&read.state, read.kept) {
            (None, _) => return Ok(HoldingsRead {
                catalogue_version: read.catalogue_version,
                holdings: None,
            }),
            (Some(_), None) => None,
            (Some(_), Some(body)) => Holdings::decode(&body)
                .inspect_err(|e| {
                    tracing::warn!(org = p.org_id, error = %e, "customer state row unread; folding the tables");
                })
                .ok(),
        };
        if let Some(holdings) = kept {
            return Ok(HoldingsRead {
                catalogue_version: read.catalogue_version,
                holdings: Some(holdings),
            });
        }
        let read = self.read_customer(p, customer, Scope::All).await?;
        Ok(HoldingsRead {
            catalogue_version: read.catalogue_version,
            holdings: read.state.map(|s| Holdings::fold(&s)),
        })
    }

    /// The org's catalogue index built from the catalogue's tables, at one
    /// version: read in one snapshot, so the version is that of the rows.
    pub(super) async fn build_catalogue(&self, org: i32) -> Result<Catalogue> {
        let txn = self.snapshot_txn().await?;
        let catalogue = read_catalogue(&txn, org).await?;
        txn.commit().await?;
        Ok(catalogue)
    }

    /// The badges `ids` of `org` with their images, owners and claims, read
    /// by key in one snapshot (the rows of a page); ids the org does not
    /// have are left out.
    pub async fn read_badges(&self, org: i32, ids: &[String]) -> Result<Vec<Badge>> {
        let txn = self.snapshot_txn().await?;
        let badges = super::badges::read_badges(&txn, self.dialect, org, ids).await?;
        txn.commit().await?;
        Ok(badges)
    }
}

/// The queries that read an org's catalogue index, each by index on the org,
/// each of only the columns the index holds.
struct CatalogueQueries {
    version: Select<org::Entity>,
    groups: Select<badge_group::Entity>,
    owners: Select<badge_owner::Entity>,
    claims: Select<badge_claim::Entity>,
    badges: Select<badge::Entity>,
}

fn catalogue_queries(org: i32) -> CatalogueQueries {
    let of_org = || {
        Query::select()
            .column(badge::Column::Id)
            .from(badge::Entity)
            .and_where(badge::Column::OrgId.eq(org))
            .to_owned()
    };
    CatalogueQueries {
        version: org::Entity::find_by_id(org)
            .select_only()
            .column(org::Column::CatalogueVersion),
        groups: badge_group::Entity::find()
            .select_only()
            .columns([
                badge_group::Column::Id,
                badge_group::Column::Name,
                badge_group::Column::Rank,
            ])
            .filter(badge_group::Column::OrgId.eq(org)),
        owners: badge_owner::Entity::find()
            .select_only()
            .columns([badge_owner::Column::BadgeId, badge_owner::Column::Owner])
            .filter(badge_owner::Column::OrgId.eq(org))
            .filter(badge_owner::Column::BadgeId.in_subquery(of_org())),
        claims: badge_claim::Entity::find()
            .select_only()
            .columns([badge_claim::Column::BadgeId, badge_claim::Column::OwnerType])
            .filter(badge_claim::Column::OrgId.eq(org))
            .filter(badge_claim::Column::BadgeId.in_subquery(of_org()))
            .filter(badge_claim::Column::IsActive.eq(true)),
        badges: badge::Entity::find()
            .select_only()
            .columns([
                badge::Column::Id,
                badge::Column::EarnType,
                badge::Column::Active,
                badge::Column::StartsOn,
                badge::Column::ExpiresOn,
                badge::Column::LastUpdatedOn,
                badge::Column::GroupId,
                badge::Column::NameLower,
                badge::Column::Rank,
            ])
            .filter(badge::Column::OrgId.eq(org)),
    }
}

/// The statements that load an org's catalogue index, as the service issues
/// them (for plan checks).
pub fn catalogue_statements(dialect: Dialect, org: i32) -> Vec<Statement> {
    let backend = dialect.backend();
    let CatalogueQueries {
        version,
        groups,
        owners,
        claims,
        badges,
    } = catalogue_queries(org);
    vec![
        version.build(backend),
        groups.build(backend),
        owners.build(backend),
        claims.build(backend),
        badges.build(backend),
    ]
}

/// A badge's row as the index reads it.
type IndexRow = (
    String,
    String,
    bool,
    i64,
    i64,
    i64,
    Option<String>,
    String,
    Option<i32>,
);

async fn read_catalogue(txn: &DatabaseTransaction, org: i32) -> Result<Catalogue> {
    let CatalogueQueries {
        version,
        groups,
        owners,
        claims,
        badges,
    } = catalogue_queries(org);
    let version: i64 = version
        .into_tuple()
        .one(txn)
        .await?
        .ok_or_else(|| Error::Internal(format!("org {org} has no row")))?;
    let groups: HashMap<String, IndexedGroup> = groups
        .into_tuple::<(String, String, i32)>()
        .all(txn)
        .await?
        .into_iter()
        .map(|(id, name, rank)| (id, IndexedGroup { name, rank }))
        .collect();
    let mut owner_sets: HashMap<String, OwnerSet> = HashMap::new();
    for (badge, owner) in owners.into_tuple::<(String, String)>().all(txn).await? {
        let owner = stored(Owner::parse(&owner), &owner)?;
        let set = owner_sets.entry(badge).or_default();
        *set = set.with(owner);
    }
    let mut claim_sets: HashMap<String, OwnerSet> = HashMap::new();
    for (badge, owner) in claims.into_tuple::<(String, String)>().all(txn).await? {
        let owner = stored(Owner::parse(&owner), &owner)?;
        let set = claim_sets.entry(badge).or_default();
        *set = set.with(owner);
    }
    let badges = badges
        .into_tuple::<IndexRow>()
        .all(txn)
        .await?
        .into_iter()
        .map(
            |(
                id,
                earn_type,
                active,
                starts_on,
                expires_on,
                last_updated_on,
                group_id,
                name_lower,
                rank,
            )| {
                Ok(IndexedBadge {
                    rank,
                    earn_type: stored(EarnType::parse(&earn_type), &earn_type)?,
                    active,
                    starts_on: Micros(starts_on),
                    expires_on: Micros(expires_on),
                    last_updated_on: Micros(last_updated_on),
                    group_id,
                    name_lower,
                    owners: owner_sets.remove(&id).unwrap_or_default(),
                    active_claims: claim_sets.remove(&id).unwrap_or_default(),
                    id,
                })
            },
        )
        .collect::<Result<Vec<_>>>()?;
    Catalogue::new(org, version, badges, &groups)
        .map_err(|e| Error::Internal(format!("org {org}'s catalogue: {e}")))
}
