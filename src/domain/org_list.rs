//! The org's badge list (`GET /badgeMeta`, BEHAVIOUR.md §9.2): filters,
//! sort and page over the catalogue's index, in memory; the page's rows
//! come from the row cache and their counts from the store.

use std::cmp::Ordering;

use super::catalogue::{Catalogue, OwnerSet};
use super::enums::{Action, BadgeStatus, CatalogueSort, EarnType, Owner, SortOrder};
use super::fields::Field;
use super::list::{dedup, group_filter, name_filter, paging, take};
use super::{Micros, Problem};

/// The list's parameters as a transport read them.
#[derive(Clone, Debug)]
pub struct OrgListParams {
    pub status: Field<Vec<BadgeStatus>>,
    pub earn_type: Field<Vec<EarnType>>,
    pub action: Field<Vec<Action>>,
    pub owner: Field<Vec<Owner>>,
    pub claimed_by: Field<Vec<Owner>>,
    pub unclaimed: Field<Option<bool>>,
    pub name: Field<Option<String>>,
    pub group_id: Field<Option<String>>,
    pub start_on: Field<Option<Micros>>,
    pub expires_on: Field<Option<Micros>>,
    pub sort_on: Field<Option<CatalogueSort>>,
    pub order: Field<Option<SortOrder>>,
    pub page: Field<Option<i64>>,
    pub size: Field<Option<i64>>,
    pub unknown: Vec<Problem>,
}

impl Default for OrgListParams {
    fn default() -> Self {
        OrgListParams {
            status: Ok(Vec::new()),
            earn_type: Ok(Vec::new()),
            action: Ok(Vec::new()),
            owner: Ok(Vec::new()),
            claimed_by: Ok(Vec::new()),
            unclaimed: Ok(None),
            name: Ok(None),
            group_id: Ok(None),
            start_on: Ok(None),
            expires_on: Ok(None),
            sort_on: Ok(None),
            order: Ok(None),
            page: Ok(None),
            size: Ok(None),
            unknown: Vec::new(),
        }
    }
}

/// A valid org list query. Empty lists filter nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgListQuery {
    pub status: Vec<BadgeStatus>,
    pub earn_type: Vec<EarnType>,
    pub action: Vec<Action>,
    pub owner: OwnerSet,
    pub claimed_by: OwnerSet,
    pub unclaimed: bool,
    /// Folded, for a case-insensitive substring match.
    pub name: Option<String>,
    pub group_id: Option<String>,
    /// Badges that start after this.
    pub start_on: Option<Micros>,
    /// Badges that expire before this.
    pub expires_on: Option<Micros>,
    pub sort_on: CatalogueSort,
    pub order: SortOrder,
    pub page: i64,
    pub size: i64,
}

pub fn validate(params: OrgListParams) -> Result<OrgListQuery, Vec<Problem>> {
    let OrgListParams {
        status,
        earn_type,
        action,
        owner,
        claimed_by,
        unclaimed,
        name,
        group_id,
        start_on,
        expires_on,
        sort_on,
        order,
        page,
        size,
        unknown,
    } = params;
    let mut problems = Vec::new();
    let p = &mut problems;
    let status = dedup(take(status, p).unwrap_or_default());
    let earn_type = dedup(take(earn_type, p).unwrap_or_default());
    let action = dedup(take(action, p).unwrap_or_default());
    let owner = OwnerSet::of(take(owner, p).unwrap_or_default());
    let claimed_by = OwnerSet::of(take(claimed_by, p).unwrap_or_default());
    let unclaimed = take(unclaimed, p).flatten().unwrap_or(false);
    let (start_on, expires_on) = (take(start_on, p).flatten(), take(expires_on, p).flatten());
    let (sort_on, order) = (take(sort_on, p), take(order, p));
    let (page, size) = (take(page, p).flatten(), take(size, p).flatten());
    let name = take(name, p).flatten();
    let group_id = take(group_id, p).flatten();
    let (page, size) = paging(page, size, &mut problems);
    let name = name_filter(name, &mut problems).map(|n| n.to_lowercase());
    let group_id = group_filter(group_id, &mut problems);
    problems.extend(unknown);
    match (problems.is_empty(), sort_on, order) {
        (true, Some(sort_on), Some(order)) => Ok(OrgListQuery {
            status,
            earn_type,
            action,
            owner,
            claimed_by,
            unclaimed,
            name,
            group_id,
            start_on,
            expires_on,
            sort_on: sort_on.unwrap_or(CatalogueSort::Id),
            order: order.unwrap_or(SortOrder::Desc),
            page,
            size,
        }),
        _ => Err(problems),
    }
}

/// The positions of the page's badges in `catalogue`, in order, and how many
/// badges match in all.
pub fn select(catalogue: &Catalogue, q: &OrgListQuery, now: Micros) -> (Vec<u32>, i64) {
    let mut matching: Vec<u32> = (0..catalogue.len() as u32)
        .filter(|&pos| {
            let e = catalogue.entry(pos);
            let status = BadgeStatus::at(now, e.starts_on, e.expires_on);
            let action = if e.active {
                Action::Activated
            } else {
                Action::Deactivated
            };
            (q.status.is_empty() || q.status.contains(&status))
                && (q.earn_type.is_empty() || q.earn_type.contains(&e.earn_type))
                && (q.action.is_empty() || q.action.contains(&action))
                && (q.owner == OwnerSet::default() || e.owners.meets(q.owner))
                && (q.claimed_by == OwnerSet::default() || e.active_claims.meets(q.claimed_by))
                && (!q.unclaimed || e.active_claims == OwnerSet::default())
                && q.name
                    .as_deref()
                    .is_none_or(|n| catalogue.name_lower(e).contains(n))
                && q.group_id
                    .as_deref()
                    .is_none_or(|g| catalogue.group_id(e) == Some(g))
                && q.start_on.is_none_or(|t| e.starts_on > t)
                && q.expires_on.is_none_or(|t| e.expires_on < t)
        })
        .collect();
    let total = matching.len() as i64;
    // Positions are in id order; every sort ends on the id.
    let key = |a: &u32, b: &u32| -> Ordering {
        let (ea, eb) = (catalogue.entry(*a), catalogue.entry(*b));
        match q.sort_on {
            CatalogueSort::Id => Ordering::Equal,
            CatalogueSort::Name => catalogue.name_lower(ea).cmp(catalogue.name_lower(eb)),
            CatalogueSort::StartDate => ea.starts_on.cmp(&eb.starts_on),
        }
        .then(a.cmp(b))
    };
    match q.order {
        SortOrder::Asc => matching.sort_by(key),
        SortOrder::Desc => matching.sort_by(|a, b| key(b, a)),
    }
    let skip = (q.page * q.size) as usize;
    let page = matching
        .into_iter()
        .skip(skip)
        .take(q.size as usize)
        .collect();
    (page, total)
}

/// Which page of a list of groups or custom fields, and its order by
/// creation (groups) or last update (custom fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    pub page: i64,
    pub size: i64,
    pub order: SortOrder,
}

/// Paging as a transport read it: page from 0, size 1 to 100 (default 10),
/// order (default ASC), and any parameter the call does not have.
pub fn validate_paging(
    page: Field<Option<i64>>,
    size: Field<Option<i64>>,
    order: Field<Option<SortOrder>>,
    unknown: Vec<Problem>,
) -> Result<Paging, Vec<Problem>> {
    let mut problems = Vec::new();
    let (page, size) = (take(page, &mut problems), take(size, &mut problems));
    let order = take(order, &mut problems);
    let (page, size) = paging(page.flatten(), size.flatten(), &mut problems);
    problems.extend(unknown);
    match (problems.is_empty(), order) {
        (true, Some(order)) => Ok(Paging {
            page,
            size,
            order: order.unwrap_or(SortOrder::Asc),
        }),
        _ => Err(problems),
    }
}
