//! The detail call (BEHAVIOUR.md §7): one badge as one customer sees it, the
//! same row the list would show, and on request the customer's history with
//! it. Nothing here reads a clock or a database.

use std::collections::BTreeMap;

use super::admin::ExpiryRule;
use super::badge::{Badge, Claim};
use super::catalogue::{Catalogue, CustomerState};
use super::constraints::{self, Standing};
use super::enums::{EarnType, IdentifierType, IssueStatus, Owner};
use super::fields::Field;
use super::holdings::Holdings;
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
    /// When it was revoked (none for awards revoked before the time was
    /// kept).
    pub revoked_at: Option<Micros>,
    pub triggered_by: Option<TriggeredBy>,
}

impl EarnedBadge {
    /// Neither revoked nor expired at `now` (upstream's `isActive`).
    pub fn is_active(&self, now: Micros) -> bool {
        !self.revoked && self.expires_at.is_none_or(|x| x > now)
    }
}

/// The module that caused an award or an enrolment: what the call named,
/// or `Historical_Import` (with no reference) for imported awards.
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
    pub revoked_at: Option<Micros>,
    pub triggered_by: Option<TriggeredBy>,
}

impl IssuedBadge {
    /// Its status at `now`: REVOKED, EXPIRED or LIVE.
    pub fn status(&self, now: Micros) -> IssueStatus {
        if self.revoked {
            IssueStatus::Revoked
        } else if self.expires_at.is_some_and(|x| x <= now) {
            IssueStatus::Expired
        } else {
            IssueStatus::Live
        }
    }
}

/// The customer's history with the badge as read: newest first, at most
/// `MAX_HISTORY + 1` of each, so that a cut can be told.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    pub awards: Vec<EarnedBadge>,
    pub enrolments: Vec<IssuedBadge>,
}

/// The history as answered (upstream's `issualDetails` and `earnDetails`),
/// with the badge's limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statistics {
    /// Every enrolment of the customer in the badge, whatever its status.
    pub issued_count: i64,
    /// Newest first, each with its status at the call's `now`.
    pub issuals: Vec<(IssuedBadge, IssueStatus)>,
    pub issuals_truncated: bool,
    /// The latest enrolment's status.
    pub issued_status: Option<IssueStatus>,
    /// The customer's awards that are not revoked (the list's earnCount).
    pub earn_count: i64,
    /// Newest first, each with whether it is active at the call's `now`.
    pub earns: Vec<(EarnedBadge, bool)>,
    pub earns_truncated: bool,
    /// The customer's standing against each customer constraint, and all
    /// customers' against each badge constraint, at the call's `now`.
    pub customer_constraints: Vec<Standing>,
    pub badge_constraints: Vec<Standing>,
}

/// What the detail call answers: the badge seen from the customer, in
/// upstream's shape (BEHAVIOUR.md §7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadgeDetail {
    /// The list's row: the badge's own fields, the customer's latest award.
    pub row: CustomerBadge,
    /// upstream's `claimedBy`: the badge's active claims.
    pub claimed_by: Vec<Claim>,
    pub earned_badge_expiry: ExpiryRule,
    /// ISSUE_EARN badges only.
    pub issued_badge_expiry: Option<ExpiryRule>,
    /// Awards neither revoked nor expired at `now`.
    pub active_earned_count: i64,
    pub custom_fields: BTreeMap<String, String>,
    /// With `includeStatistics`.
    pub statistics: Option<Statistics>,
}

/// The badge `badge`, at `pos` of `catalogue`, as the customer whose state
/// is `state` sees it at `now`, with the history when read, and then
/// `badge_counts`: all customers' awards in each of
/// `constraints::standing_spans` of the badge constraints.
pub fn detail(
    catalogue: &Catalogue,
    state: &CustomerState,
    pos: u32,
    badge: &Badge,
    history: Option<History>,
    badge_counts: &[u64],
    now: Micros,
) -> BadgeDetail {
    let group = catalogue.group_name(catalogue.entry(pos));
    let badge_state = Holdings::fold(state).of(&badge.id);
    let row = row(badge, group, &badge_state, now);
    let active_earned_count = state
        .awards
        .iter()
        .filter(|a| a.badge_id == badge.id && a.expires_at.is_none_or(|x| x > now))
        .count() as i64;
    let statistics = history.map(|h| {
        let History {
            awards: mut earns,
            enrolments: mut issuals,
        } = h;
        let earns_truncated = earns.len() > MAX_HISTORY;
        let issuals_truncated = issuals.len() > MAX_HISTORY;
        earns.truncate(MAX_HISTORY);
        issuals.truncate(MAX_HISTORY);
        Statistics {
            issued_count: state
                .enrolments
                .iter()
                .filter(|e| e.badge_id == badge.id)
                .count() as i64,
            issuals: issuals
                .into_iter()
                .map(|e| {
                    let status = e.status(now);
                    (e, status)
                })
                .collect(),
            issuals_truncated,
            issued_status: row.issue_status,
            earn_count: row.earn_count,
            earns: earns
                .into_iter()
                .map(|a| {
                    let active = a.is_active(now);
                    (a, active)
                })
                .collect(),
            earns_truncated,
            customer_constraints: customer_standings(state, badge, now),
            badge_constraints: constraints::standings(
                &badge.extras.badge_constraints,
                now,
                badge.starts_on,
                badge_counts,
            ),
        }
    });
    BadgeDetail {
        row,
        claimed_by: badge
            .claims
            .iter()
            .filter(|c| c.is_active)
            .cloned()
            .collect(),
        earned_badge_expiry: badge.earned_badge_expiry,
        issued_badge_expiry: (badge.earn_type == EarnType::IssueEarn)
            .then_some(badge.issued_badge_expiry),
        active_earned_count,
        custom_fields: badge.extras.custom_fields.clone(),
        statistics,
    }
}

/// The customer's standing against the badge's customer constraints at
/// `now`, counted over the awards of the state (every one not revoked).
fn customer_standings(state: &CustomerState, badge: &Badge, now: Micros) -> Vec<Standing> {
    let list = &badge.extras.customer_constraints;
    let counts: Vec<u64> = constraints::standing_spans(list, now, badge.starts_on)
        .iter()
        .map(|span| {
            state
                .awards
                .iter()
                .filter(|a| a.badge_id == badge.id && span.contains(a.event_at))
                .count() as u64
        })
        .collect();
    constraints::standings(list, now, badge.starts_on, &counts)
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
