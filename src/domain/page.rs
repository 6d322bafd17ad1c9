//! One page of the list, computed in memory from the org's catalogue and the
//! customer's state: which badges match, how they sort, how many there are,
//! and the rows of the page. Nothing here reads a clock or a database; `now`
//! is given, so badgeStatus, holding and expiry are those of the call.

use std::cmp::Ordering;

use super::Micros;
use super::badge::Badge;
use super::catalogue::{BadgeState, Catalogue, Entry, OwnerSet, answer_bytes};
use super::cursor::{Cursor, Keyset};
use super::enums::{BadgeStatus, BadgeType, EarnType, IssueStatus, Operator, SortOn, SortOrder};
use super::holdings::Holdings;
use super::ids::ObjectId;
use super::list::{CustomerBadge, LatestAward, ListPage, ListQuery};

/// The row of `badge` (whose group is named `group_name`) as the customer
/// whose state of it is `state` sees it at `now`: the same for the list and
/// for the detail call.
pub fn row(
    badge: &Badge,
    group_name: Option<&str>,
    state: &BadgeState,
    now: Micros,
) -> CustomerBadge {
    let issue_status = state.latest_enrolment.map(|e| {
        if e.revoked {
            IssueStatus::Revoked
        } else if e.expires_at.is_some_and(|x| x <= now) {
            IssueStatus::Expired
        } else {
            IssueStatus::Live
        }
    });
    CustomerBadge {
        id: badge.id.clone(),
        name: badge.name.clone(),
        description: badge.description.clone(),
        earn_type: badge.earn_type,
        group_id: badge.group_id.clone(),
        group_name: group_name.map(str::to_owned),
        rank: badge.rank,
        created_on: badge.created_on,
        last_updated_on: badge.last_updated_on,
        images: badge.images.clone(),
        status: BadgeStatus::at(now, badge.starts_on, badge.expires_on),
        starts_on: badge.starts_on,
        expires_on: badge.expires_on,
        earn_count: state.earn_count,
        restricted_to_owners: badge.owners.clone(),
        claims: badge.claims.clone(),
        issue_status,
        active: badge.active,
        latest_award: state.latest_award.map(|a| LatestAward {
            awarded_at: a.awarded_at,
            event_at: a.event_at,
        }),
    }
}

/// The filters of a query, ready to test each badge.
struct Filter<'q> {
    catalogue: &'q Catalogue,
    q: &'q ListQuery,
    owners: OwnerSet,
    claimed_by: OwnerSet,
    now: Micros,
}

impl Filter<'_> {
    fn matches(&self, e: &Entry, s: &BadgeState) -> bool {
        let (b, q, now) = (e, self.q, self.now);
        let of_type = q.badge_types.iter().any(|t| match t {
            BadgeType::AvailableToIssue => b.earn_type == EarnType::IssueEarn && !s.holds(now),
            BadgeType::Available => b.earn_type == EarnType::Earn && !s.holds(now),
            BadgeType::Earned => s.holds(now),
            BadgeType::Expired => b.expires_on <= now || s.held_once(now),
        });
        // Each status by its own window test: a badge whose start is not
        // before its end is both upcoming and expired, as the SQL said.
        let status = q.statuses.is_empty()
            || q.statuses.iter().any(|st| match st {
                BadgeStatus::Upcoming => b.starts_on > now,
                BadgeStatus::Live => b.starts_on <= now && b.expires_on > now,
                BadgeStatus::Expired => b.expires_on <= now,
            });
        let date = |filter: Option<super::list::DateFilter>, at: Micros| {
            filter.is_none_or(|f| match f.operator {
                Operator::LessThan => at < f.at,
                Operator::GreaterThan => at > f.at,
            })
        };
        of_type
            && status
            && (q.active.is_empty() || q.active.contains(&b.active))
            && (q.owners.is_empty() || e.owners.meets(self.owners))
            && (q.claimed_by.is_empty() || e.active_claims.meets(self.claimed_by))
            && q.name
                .as_ref()
                .is_none_or(|n| self.catalogue.name_lower(e).contains(n.as_str()))
            && date(q.start_on, b.starts_on)
            && date(q.expires_on, b.expires_on)
            && q.group_id
                .as_ref()
                .is_none_or(|g| self.catalogue.group_id(e) == Some(g.as_str()))
    }
}

/// The sort key of a badge for the customer.
fn sort_key(sort_on: SortOn, b: &Entry, s: &BadgeState, now: Micros) -> Option<i64> {
    let award = s.latest_award;
    match sort_on {
        SortOn::ExpiresOn => Some(b.expires_on.0),
        SortOn::LastModifiedDate => Some(b.last_updated_on.0),
        SortOn::LastExpiredBadge => Some(
            award
                .and_then(|a| a.expires_at)
                .filter(|x| *x <= now)
                .unwrap_or(b.expires_on)
                .0,
        ),
        SortOn::LastIssuedDate => s.latest_enrolment.map(|e| e.issued_at.0),
        SortOn::LastEarnedEventDate => award.map(|a| a.event_at.0),
        SortOn::LastEarnedOnDate => award.map(|a| a.awarded_at.0),
    }
}

/// Rows without a key last in both directions, then the key in the asked
/// direction, then the badge id ascending: one order on every backend.
fn order(order: SortOrder, a: (Option<i64>, ObjectId), b: (Option<i64>, ObjectId)) -> Ordering {
    let keys = match (a.0, b.0) {
        (Some(x), Some(y)) => match order {
            SortOrder::Asc => x.cmp(&y),
            SortOrder::Desc => y.cmp(&x),
        },
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    keys.then_with(|| a.1.cmp(&b.1))
}

/// Which badges a page shows, before its rows are built: what it takes to
/// answer can be known (and reserved) first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Catalogue positions, in the page's order.
    positions: Vec<u32>,
    /// The customer's state of each badge it has any, by position.
    states: Vec<(u32, BadgeState)>,
    page: i64,
    requested_size: i64,
    total: i64,
    next_page_token: Option<String>,
}

impl Selection {
    /// The catalogue positions of the page's badges, in the page's order.
    pub fn positions(&self) -> &[u32] {
        &self.positions
    }

    /// About how many bytes the page takes in an answer, with `rows` the
    /// badges of [`Selection::positions`].
    pub fn answer_bytes<B: std::borrow::Borrow<Badge>>(
        &self,
        catalogue: &Catalogue,
        rows: &[B],
    ) -> usize {
        self.positions
            .iter()
            .zip(rows)
            .map(|(&pos, b)| answer_bytes(b.borrow(), catalogue.group_name(catalogue.entry(pos))))
            .sum()
    }
}

/// The page's badges: every matching one counted, the asked slice of them
/// in order.
pub fn select(catalogue: &Catalogue, state: &Holdings, q: &ListQuery, now: Micros) -> Selection {
    let key = |_: u32, e: &Entry, s: &BadgeState| sort_key(q.sort_on, e, s, now);
    select_by(catalogue, state, q, now, &key, q.order)
}

/// As [`select`], sorted by rank (the older list's RANK, see
/// [`Catalogue::rank_order`]); `q`'s sort is not read.
pub fn select_ranked(
    catalogue: &Catalogue,
    state: &Holdings,
    q: &ListQuery,
    now: Micros,
) -> Selection {
    let key = |pos: u32, _: &Entry, _: &BadgeState| Some(i64::from(catalogue.rank_order(pos)));
    select_by(catalogue, state, q, now, &key, SortOrder::Asc)
}

/// The page's badges with each matching badge's sort `key` (by catalogue
/// position) in `direction`.
fn select_by(
    catalogue: &Catalogue,
    state: &Holdings,
    q: &ListQuery,
    now: Micros,
    key: &dyn Fn(u32, &Entry, &BadgeState) -> Option<i64>,
    direction: SortOrder,
) -> Selection {
    let filter = Filter {
        catalogue,
        q,
        owners: OwnerSet::of(q.owners.iter().copied()),
        claimed_by: OwnerSet::of(q.claimed_by.iter().copied()),
        now,
    };
    let states = state.by_position(catalogue);
    let none = BadgeState::default();
    let mut next_state = states.iter().peekable();

    // (sort key, position) of every matching badge.
    let mut matching: Vec<(Option<i64>, u32)> = Vec::new();
    for (pos, e) in catalogue.entries().iter().enumerate() {
        let pos = pos as u32;
        while next_state.next_if(|(p, _)| *p < pos).is_some() {}
        let s = next_state
            .next_if(|(p, _)| *p == pos)
            .map_or(&none, |(_, s)| s);
        if filter.matches(e, s) {
            matching.push((key(pos, e, s), pos));
        }
    }
    let total = matching.len() as i64;

    let entries = catalogue.entries();
    let id = |pos: u32| entries[pos as usize].id;
    let cmp = |a: &(Option<i64>, u32), b: &(Option<i64>, u32)| {
        order(direction, (a.0, id(a.1)), (b.0, id(b.1)))
    };
    // A cursor's id is an object id: `Cursor::decode` checks it.
    if let Some(Keyset::After(cursor)) = &q.keyset
        && let Some(at) = ObjectId::parse(&cursor.id)
    {
        let at = (cursor.key, at);
        matching.retain(|m| order(direction, (m.0, id(m.1)), at) == Ordering::Greater);
    }
    let skip = usize::try_from(q.skip()).unwrap_or(usize::MAX);
    let size = usize::try_from(q.size).unwrap_or(0);
    let wanted = skip.saturating_add(size);
    if matching.len() > wanted && wanted > 0 {
        matching.select_nth_unstable_by(wanted - 1, cmp);
        matching.truncate(wanted);
    }
    matching.sort_unstable_by(cmp);
    let page: Vec<(Option<i64>, u32)> = matching.into_iter().skip(skip).take(size).collect();

    let next_page_token = match (&q.keyset, page.last()) {
        (Some(_), Some(&(key, pos))) if (q.page + 1).saturating_mul(q.size) < total => Some(
            Cursor {
                page: q.page + 1,
                key,
                id: id(pos).to_string(),
                query: q.fingerprint(),
            }
            .encode(),
        ),
        _ => None,
    };
    Selection {
        positions: page.into_iter().map(|(_, pos)| pos).collect(),
        states,
        page: q.page,
        requested_size: q.size,
        total,
        next_page_token,
    }
}

/// The rows of the selected badges at `now`, with `rows` the badges of
/// [`Selection::positions`].
pub fn rows<B: std::borrow::Borrow<Badge>>(
    catalogue: &Catalogue,
    selected: Selection,
    rows: &[B],
    now: Micros,
) -> ListPage {
    let Selection {
        positions,
        states,
        page,
        requested_size,
        total,
        next_page_token,
    } = selected;
    let none = BadgeState::default();
    let rows = positions
        .iter()
        .zip(rows)
        .map(|(&pos, badge)| {
            let s = states
                .binary_search_by_key(&pos, |(p, _)| *p)
                .map_or(&none, |i| &states[i].1);
            let group = catalogue.group_name(catalogue.entry(pos));
            row(badge.borrow(), group, s, now)
        })
        .collect();
    ListPage {
        rows,
        page,
        requested_size,
        total,
        next_page_token,
    }
}
