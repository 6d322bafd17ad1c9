//! The detail call (BEHAVIOUR.md §7): one badge as one customer sees it, the
//! same row the list would show, and on request the customer's history with
//! it. Nothing here reads a clock or a database.

use super::admin::ExpiryRule;
use super::badge::Badge;
use super::catalogue::{Catalogue, CustomerState};
use super::enums::{IdentifierType, Owner};
use super::fields::Field;
use super::list::{CustomerBadge, CustomerRef, customer_ref, is_object_id};
use super::page::row;
use super::{Micros, Problem};

/// The newest awards, and the newest enrolments, a history lists.
pub const MAX_HISTORY: usize = 100;

/// The parameters of a detail call as a transport read them.
#[derive(Clone, Debug)]
pub struct DetailParams {
    pub customer_id: String,
    pub identifier_type: Field<Option<IdentifierType>>,
    pub badge_id: String,
    pub include_statistics: Field<bool>,
    /// Parameters the request held that the call does not have.
    pub unknown: Vec<Problem>,
}

/// A validated detail request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetailQuery {
    pub customer: CustomerRef,
    pub badge_id: String,
    pub include_statistics: bool,
}

/// Every problem of the request at once, in field order.
pub fn validate(params: DetailParams) -> Result<DetailQuery, Vec<Problem>> {
    let DetailParams {
        customer_id,
        identifier_type,
        badge_id,
        include_statistics,
        unknown,
    } = params;
    let mut problems = Vec::new();
    let kind = identifier_type.map_err(|p| problems.push(p)).ok();
    let customer = match kind {
        Some(kind) => customer_ref(&customer_id, kind, &mut problems),
        None => None,
    };
    if !is_object_id(&badge_id) {
        problems.push(Problem::invalid(
            "badgeId",
            "badgeId must be 24 lower-case hex characters",
        ));
    }
    let include_statistics = include_statistics.map_err(|p| problems.push(p)).ok();
    problems.extend(unknown);
    match (problems.is_empty(), customer, include_statistics) {
        (true, Some(customer), Some(include_statistics)) => Ok(DetailQuery {
            customer,
            badge_id,
            include_statistics,
        }),
        _ => Err(problems),
    }
}

/// The answer for a badge the caller's org does not have (or that is
/// another org's: the same answer).
pub fn badge_not_found() -> Problem {
    Problem::badge_not_found("badgeId")
}

/// One of the customer's awards of the badge, revoked ones included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarnedBadge {
    pub earned_badge_id: String,
    pub earned_on: Micros,
    pub event_at: Micros,
    pub expires_at: Option<Micros>,
    pub revoked: bool,
    pub triggered_by: Option<TriggeredBy>,
}

/// The module that caused an award: what an earn named, or
/// `Historical_Import` (with no reference) for imported awards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TriggeredBy {
    pub owner_type: Owner,
    pub reference_id: Option<String>,
}

/// One of the customer's enrolments in the badge, revoked ones included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedBadge {
    pub issued_badge_id: String,
    pub issued_on: Micros,
    pub event_at: Option<Micros>,
    pub expires_at: Option<Micros>,
    pub revoked: bool,
}

/// The customer's history with the badge as read: newest first, at most
/// `MAX_HISTORY + 1` of each, so that a cut can be told.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    pub awards: Vec<EarnedBadge>,
    pub enrolments: Vec<IssuedBadge>,
}

/// The history as answered, with the badge's expiry rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statistics {
    pub earned_badges: Vec<EarnedBadge>,
    pub earned_badges_truncated: bool,
    pub issued_badges: Vec<IssuedBadge>,
    pub issued_badges_truncated: bool,
    pub earned_badge_expiry: ExpiryRule,
    pub issued_badge_expiry: ExpiryRule,
}

/// What the detail call answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadgeDetail {
    pub badge: CustomerBadge,
    pub statistics: Option<Statistics>,
}

/// The badge `badge`, at `pos` of `catalogue`, as the customer whose state is `state`
/// sees it at `now` (the list's own row), with the history when read.
pub fn detail(
    catalogue: &Catalogue,
    state: &CustomerState,
    pos: u32,
    badge: &Badge,
    history: Option<History>,
    now: Micros,
) -> BadgeDetail {
    let group = catalogue.group_name(catalogue.entry(pos));
    let statistics = history.map(|h| {
        let History {
            mut awards,
            mut enrolments,
        } = h;
        let earned_badges_truncated = awards.len() > MAX_HISTORY;
        let issued_badges_truncated = enrolments.len() > MAX_HISTORY;
        awards.truncate(MAX_HISTORY);
        enrolments.truncate(MAX_HISTORY);
        Statistics {
            earned_badges: awards,
            earned_badges_truncated,
            issued_badges: enrolments,
            issued_badges_truncated,
            earned_badge_expiry: badge.earned_badge_expiry,
            issued_badge_expiry: badge.issued_badge_expiry,
        }
    });
    BadgeDetail {
        badge: row(badge, group, &state.at(catalogue, pos), now),
        statistics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> DetailParams {
        DetailParams {
            customer_id: "7".into(),
            identifier_type: Ok(None),
            badge_id: "0123456789abcdef01234567".into(),
            include_statistics: Ok(false),
            unknown: Vec::new(),
        }
    }

    #[test]
    fn a_good_request_validates() {
        assert_eq!(
            validate(params()),
            Ok(DetailQuery {
                customer: CustomerRef::Id(7),
                badge_id: "0123456789abcdef01234567".into(),
                include_statistics: false,
            })
        );
    }

    #[test]
    fn every_problem_is_reported_in_field_order() {
        let refs = |p: DetailParams| -> Vec<Option<String>> {
            validate(p)
                .unwrap_err()
                .into_iter()
                .map(|p| p.reference)
                .collect()
        };
        let all_bad = DetailParams {
            customer_id: "x".into(),
            identifier_type: Ok(None),
            badge_id: "0123456789ABCDEF01234567".into(),
            include_statistics: Err(Problem::invalid("includeStatistics", "not a boolean")),
            unknown: vec![Problem::invalid("colour", "unknown parameter")],
        };
        assert_eq!(
            refs(all_bad),
            [
                Some("customerId".into()),
                Some("badgeId".into()),
                Some("includeStatistics".into()),
                Some("colour".into())
            ]
        );
        let bad_kind = DetailParams {
            identifier_type: Err(Problem::invalid_identifier_type()),
            ..params()
        };
        let problems = validate(bad_kind).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, 1028);
        for id in [
            "",
            "0123456789abcdef0123456",
            "0123456789abcdef012345678",
            "0123456789abcdef0123456g",
        ] {
            let p = DetailParams {
                badge_id: id.into(),
                ..params()
            };
            assert_eq!(refs(p), [Some("badgeId".into())], "{id:?}");
        }
    }
}
