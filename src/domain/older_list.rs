//! The older customer list (upstream "Get badges for customer",
//! `GET /customer/{customerId}`, BEHAVIOUR.md §10): the customer's badges
//! of the asked types, by rank or by their latest award, paged by `limit`.
//! It reads its parameters into the list call's query, selects with the
//! list call's own filters (`page`), and answers upstream's older row.

use std::sync::Arc;

use super::Problem;
use super::badge::Badge;
use super::enums::{BadgeStatus, BadgeType, IdentifierType, OlderSortOn, SortOn, SortOrder};
use super::fields::Field;
use super::list::{CustomerBadge, ListParams, ListQuery, validate as validate_list};

/// The parameters of an older list call as a transport read them.
#[derive(Clone, Debug)]
pub struct OlderListParams {
    pub customer_id: String,
    pub identifier_type: Field<Option<IdentifierType>>,
    /// AVAILABLE_TO_ISSUE when none is given, as upstream's default.
    pub badge_type: Field<Vec<BadgeType>>,
    pub sort_on: Field<Option<OlderSortOn>>,
    pub include_expired: Field<bool>,
    pub limit: Field<Option<i64>>,
    pub page: Field<Option<i64>>,
    pub group_id: Field<Option<String>>,
    /// Parameters the request held that the call does not have.
    pub unknown: Vec<Problem>,
}

impl Default for OlderListParams {
    fn default() -> Self {
        OlderListParams {
            customer_id: String::new(),
            identifier_type: Ok(None),
            badge_type: Ok(Vec::new()),
            sort_on: Ok(None),
            include_expired: Ok(false),
            limit: Ok(None),
            page: Ok(None),
            group_id: Ok(None),
            unknown: Vec::new(),
        }
    }
}

/// A validated older list request: the list call's query, and whether it
/// sorts by rank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OlderQuery {
    pub query: ListQuery,
    pub by_rank: bool,
}

/// Every problem of the request at once. `limit` is the list call's
/// `size` (1 to 100, default 10); without `includeExpired` the badges whose
/// window has ended are left out; RANK sorts ascending (see
/// `page::select_ranked`), the latest-award sorts newest first.
pub fn validate(p: OlderListParams) -> Result<OlderQuery, Vec<Problem>> {
    let OlderListParams {
        customer_id,
        identifier_type,
        badge_type,
        sort_on,
        include_expired,
        limit,
        page,
        group_id,
        unknown,
    } = p;
    let mut problems = Vec::new();
    let sort = sort_on.map_err(|e| problems.push(e)).ok().flatten();
    let include_expired = include_expired.map_err(|e| problems.push(e)).ok();
    let badge_type = badge_type.map(|t| {
        if t.is_empty() {
            vec![BadgeType::AvailableToIssue]
        } else {
            t
        }
    });
    let list = ListParams {
        customer_id,
        identifier_type,
        page,
        size: limit,
        sort_on: Ok(Some(match sort {
            Some(OlderSortOn::LastEarnedEventDate) => SortOn::LastEarnedEventDate,
            _ => SortOn::LastEarnedOnDate,
        })),
        order: Ok(Some(SortOrder::Desc)),
        badge_type,
        badge_status: Ok(if include_expired == Some(true) {
            Vec::new()
        } else {
            vec![BadgeStatus::Upcoming, BadgeStatus::Live]
        }),
        group_id,
        unknown,
        ..Default::default()
    };
    let query = match validate_list(list) {
        Ok(query) => Some(query),
        Err(found) => {
            // The list's `size` is this call's `limit`.
            problems.extend(found.into_iter().map(|mut p| {
                if p.reference.as_deref() == Some("size") {
                    p.reference = Some("limit".into());
                    p.message = p.message.replace("size", "limit");
                }
                p
            }));
            None
        }
    };
    match (query, include_expired, problems.is_empty()) {
        (Some(query), Some(_), true) => Ok(OlderQuery {
            query,
            by_rank: !matches!(
                sort,
                Some(OlderSortOn::LastEarnedOnDate | OlderSortOn::LastEarnedEventDate)
            ),
        }),
        _ => Err(problems),
    }
}

/// One row of the older list: the badge, and what the customer has of it
/// (the list's row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OlderRow {
    pub badge: Arc<Badge>,
    pub row: CustomerBadge,
}

impl OlderRow {
    /// upstream's `earnedCount`: the customer's awards that are not
    /// revoked, none without one.
    pub fn earned_count(&self) -> Option<i64> {
        (self.row.earn_count > 0).then_some(self.row.earn_count)
    }

    /// upstream's `description`: none when empty.
    pub fn description(&self) -> Option<String> {
        Some(self.row.description.clone()).filter(|d| !d.is_empty())
    }
}

/// One page of the older list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OlderPage {
    pub rows: Vec<OlderRow>,
    pub page: i64,
    pub requested_size: i64,
    pub total: i64,
}

impl OlderPage {
    /// ceil(total / requested size): 0 when nothing matches.
    pub fn total_pages(&self) -> i64 {
        (self.total + self.requested_size - 1) / self.requested_size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> OlderListParams {
        OlderListParams {
            customer_id: "7".into(),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_are_upstream_s() {
        let q = validate(params()).unwrap();
        assert!(q.by_rank);
        assert_eq!(q.query.badge_types, [BadgeType::AvailableToIssue]);
        assert_eq!(q.query.statuses, [BadgeStatus::Upcoming, BadgeStatus::Live]);
        assert_eq!((q.query.page, q.query.size), (0, 10));
        let all = validate(OlderListParams {
            include_expired: Ok(true),
            sort_on: Ok(Some(OlderSortOn::LastEarnedEventDate)),
            ..params()
        })
        .unwrap();
        assert!(!all.by_rank && all.query.statuses.is_empty());
        assert_eq!(
            (all.query.sort_on, all.query.order),
            (SortOn::LastEarnedEventDate, SortOrder::Desc)
        );
    }

    #[test]
    fn every_problem_at_once_and_limit_named_as_sent() {
        let problems = validate(OlderListParams {
            customer_id: "x".into(),
            limit: Ok(Some(101)),
            include_expired: Err(Problem::invalid("includeExpired", "not a boolean")),
            ..params()
        })
        .unwrap_err();
        let refs: Vec<_> = problems
            .iter()
            .filter_map(|p| p.reference.as_deref())
            .collect();
        assert!(refs.contains(&"includeExpired"), "{refs:?}");
        assert!(
            refs.contains(&"limit") && refs.contains(&"customerId"),
            "{refs:?}"
        );
        assert!(!refs.contains(&"size"));
    }
}
