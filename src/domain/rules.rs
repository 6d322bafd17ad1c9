//! The badge rules of the admin API, as pure functions of the rows they
//! judge: the store loads those rows inside the write's transaction, asks the
//! rule, and writes what it allows. Each rule is tested here without a
//! database.

use super::admin::ImportItem;
use super::badge::BadgeRules;
use super::enums::{EarnType, Owner};
use super::shape::MAX_CLAIMS;
use super::{Micros, Problem};

/// An enrolment as the rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolment {
    /// Its `issuedId` (rows written before ids were kept have none).
    pub id: Option<String>,
    /// When the issue happened: the enrol call's event time, else when it
    /// was recorded.
    pub issued_at: Micros,
    pub expires_at: Option<Micros>,
    pub revoked: bool,
}

impl Enrolment {
    /// Neither revoked nor expired at `now`.
    pub fn live(&self, now: Micros) -> bool {
        !self.revoked && self.expires_at.is_none_or(|x| x > now)
    }

    /// Whether an event at `at` falls inside it: from the issue to its
    /// expiry.
    fn covers(&self, at: Micros) -> bool {
        at >= self.issued_at && self.expires_at.is_none_or(|x| at < x)
    }
}

/// How far ahead of `now` an event time may lie (BEHAVIOUR.md §10).
pub const MAX_EVENT_AHEAD: Micros = Micros(24 * 3_600 * 1_000_000);

/// An earn's event time more than [`MAX_EVENT_AHEAD`] after `now` is a 400
/// naming `field`.
pub fn check_event_ahead(event_at: Micros, now: Micros, field: &str) -> Option<Problem> {
    (event_at.0 > now.0.saturating_add(MAX_EVENT_AHEAD.0))
        .then(|| Problem::invalid(field, format!("{field} may be at most 24 hours after now")))
}

/// May a customer whose latest enrolment in the badge is `enrolment` earn it,
/// for an event at `event_at`, now? 812 when the badge is inactive; 816
/// when the event lies outside the badge's window, or, for ISSUE_EARN,
/// outside the enrolment; 811 when an ISSUE_EARN badge has no live
/// enrolment; 400 for an event more than 24 hours ahead.
pub fn check_earn(
    badge: &BadgeRules,
    enrolment: Option<&Enrolment>,
    event_at: Micros,
    now: Micros,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if !badge.active {
        problems.push(Problem::badge_not_earnable(
            "badgeMetaId",
            "the badge is not active",
        ));
    }
    problems.extend(check_event_ahead(event_at, now, "earnEventDate"));
    if !badge.window_open(event_at) {
        problems.push(Problem::event_outside_window(
            "earnEventDate",
            "earnEventDate is not in the duration of the badge",
        ));
    }
    if badge.earn_type == EarnType::IssueEarn {
        match enrolment.filter(|e| e.live(now)) {
            None => problems.push(Problem::not_enrolled()),
            Some(e) if !e.covers(event_at) && badge.window_open(event_at) => {
                problems.push(Problem::event_outside_window(
                    "earnEventDate",
                    "earnEventDate is not in the duration of the customer's enrolment",
                ))
            }
            Some(_) => {}
        }
    }
    problems
}

/// May an enrol call with its event at `issued_at` enrol anyone? 816 when
/// the event lies outside the badge's window.
pub fn check_enrol_event(badge: &BadgeRules, issued_at: Micros) -> Vec<Problem> {
    if badge.window_open(issued_at) {
        Vec::new()
    } else {
        vec![Problem::event_outside_window(
            "issueEventDate",
            "issueEventDate is not in the duration of the badge",
        )]
    }
}

/// May the badge take enrolments at all? Only ISSUE_EARN badges do (1041).
pub fn check_enrol_badge(badge: &BadgeRules) -> Vec<Problem> {
    if badge.earn_type == EarnType::IssueEarn {
        Vec::new()
    } else {
        vec![Problem::not_issue_earn()]
    }
}

/// May one customer of a bulk enrolment be enrolled? 1026 when they are not a
/// customer of the org; 1040 when their latest enrolment is live, or they
/// came earlier in the same request.
pub fn check_enrol_customer(
    exists: bool,
    latest: Option<&Enrolment>,
    repeated: bool,
    now: Micros,
) -> Option<Problem> {
    if !exists {
        Some(Problem::customer_not_found())
    } else if repeated || latest.is_some_and(|e| e.live(now)) {
        Some(Problem::already_enrolled())
    } else {
        None
    }
}

/// May a historical award be imported? 1054 when the badge is not the
/// org's; 816 when the event lies outside its window; 1026 when the customer
/// is not the org's; 400 when it would expire before its event. No
/// enrolment or activation is needed.
pub fn check_import(
    badge: Option<&BadgeRules>,
    customer_exists: bool,
    item: &ImportItem,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    match badge {
        None => problems.push(Problem::badge_not_found("badgeMetaId")),
        Some(b) if !b.window_open(item.event_at) => problems.push(Problem::event_outside_window(
            "earnEventDate",
            "earnEventDate is not in the duration of the badge",
        )),
        Some(_) => {}
    }
    if !customer_exists {
        problems.push(Problem::customer_not_found());
    }
    if item.expires_on.is_some_and(|x| x <= item.event_at) {
        problems.push(Problem::invalid(
            "earnExpiresOn",
            "earnExpiresOn must be after earnEventDate",
        ));
    }
    problems
}

/// A claim as the rules see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimState {
    pub is_active: bool,
}

/// What a claim or unclaim does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimChange {
    /// A new claim, active.
    Insert,
    /// The existing claim, set active or not.
    Set(bool),
}

/// May `owner` claim (`activate`) or unclaim the badge, given its restricted
/// owners, the claim of that owner and reference if any, and how many claims
/// the badge holds? 714 when the owner is not among the restricted ones; 737
/// to unclaim a claim that does not exist; 400 past the claims cap.
pub fn check_claim(
    restricted_to: &[Owner],
    owner: Owner,
    existing: Option<ClaimState>,
    activate: bool,
    claims: usize,
) -> Result<ClaimChange, Vec<Problem>> {
    if !restricted_to.contains(&owner) {
        return Err(vec![Problem::owner_invalid(
            "ownerType",
            "ownerType is not one of the badge's restricted owners",
        )]);
    }
    match (existing, activate) {
        (None, false) => Err(vec![Problem::unknown_claim()]),
        (None, true) if claims >= MAX_CLAIMS => Err(vec![Problem::invalid(
            "referenceId",
            format!("a badge may hold at most {MAX_CLAIMS} claims"),
        )]),
        (None, true) => Ok(ClaimChange::Insert),
        (Some(_), active) => Ok(ClaimChange::Set(active)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::expiry::ExpiryRule;

    const DAY: i64 = 86_400_000_000;
    const NOW: Micros = Micros(1_000 * DAY);

    fn badge(earn_type: EarnType) -> BadgeRules {
        BadgeRules {
            earn_type,
            active: true,
            starts_on: Micros(NOW.0 - DAY),
            expires_on: Micros(NOW.0 + DAY),
            earned_badge_expiry: ExpiryRule::Never,
            issued_badge_expiry: ExpiryRule::Never,
            customer_constraints: vec![],
            badge_constraints: vec![],
        }
    }

    fn codes(problems: &[Problem]) -> Vec<u32> {
        problems.iter().map(|p| p.code).collect()
    }

    fn enrolment(issued_at: Micros, expires_at: Option<Micros>, revoked: bool) -> Enrolment {
        Enrolment {
            id: None,
            issued_at,
            expires_at,
            revoked,
        }
    }

    #[test]
    fn earning_needs_an_active_badge_an_open_window_and_for_issue_earn_a_live_enrolment() {
        let earn = badge(EarnType::Earn);
        assert!(check_earn(&earn, None, NOW, NOW).is_empty());
        let inactive = BadgeRules {
            active: false,
            ..earn.clone()
        };
        assert_eq!(codes(&check_earn(&inactive, None, NOW, NOW)), [812]);
        assert_eq!(
            codes(&check_earn(&earn, None, Micros(NOW.0 + DAY), NOW)),
            [816],
            "the window is half open: its end is closed"
        );
        assert!(check_earn(&earn, None, earn.starts_on, NOW).is_empty());

        let issue = badge(EarnType::IssueEarn);
        assert_eq!(codes(&check_earn(&issue, None, NOW, NOW)), [811]);
        let live = enrolment(Micros(NOW.0 - DAY / 2), None, false);
        assert!(check_earn(&issue, Some(&live), NOW, NOW).is_empty());
        assert_eq!(
            codes(&check_earn(
                &issue,
                Some(&live),
                Micros(NOW.0 - DAY / 2 - 1),
                NOW
            )),
            [816],
            "an event before the enrolment"
        );
        for dead in [
            enrolment(Micros(0), Some(NOW), false),
            enrolment(Micros(0), None, true),
        ] {
            assert_eq!(codes(&check_earn(&issue, Some(&dead), NOW, NOW)), [811]);
        }
        let closed_inactive = BadgeRules {
            active: false,
            ..issue.clone()
        };
        assert_eq!(
            codes(&check_earn(&closed_inactive, None, Micros(0), NOW)),
            [812, 816, 811],
            "every problem at once"
        );
    }

    #[test]
    fn an_event_may_lie_at_most_a_day_ahead() {
        let mut long = badge(EarnType::Earn);
        long.expires_on = Micros(NOW.0 + 10 * DAY);
        assert!(check_earn(&long, None, Micros(NOW.0 + DAY), NOW).is_empty());
        let problems = check_earn(&long, None, Micros(NOW.0 + DAY + 1), NOW);
        assert_eq!(codes(&problems), [400]);
        assert_eq!(problems[0].reference.as_deref(), Some("earnEventDate"));
        assert_eq!(
            check_event_ahead(Micros(i64::MAX), Micros(i64::MAX), "x"),
            None
        );
    }

    #[test]
    fn enrolment_events_lie_in_the_badge_s_window() {
        let b = badge(EarnType::IssueEarn);
        assert!(check_enrol_event(&b, NOW).is_empty());
        assert_eq!(codes(&check_enrol_event(&b, b.expires_on)), [816]);
    }

    #[test]
    fn enrolment_takes_issue_earn_badges_and_one_live_enrolment_per_customer() {
        assert!(check_enrol_badge(&badge(EarnType::IssueEarn)).is_empty());
        assert_eq!(codes(&check_enrol_badge(&badge(EarnType::Earn))), [1041]);
        let live = enrolment(Micros(0), Some(Micros(NOW.0 + 1)), false);
        let expired = enrolment(Micros(0), Some(NOW), false);
        assert_eq!(check_enrol_customer(true, None, false, NOW), None);
        assert_eq!(check_enrol_customer(true, Some(&expired), false, NOW), None);
        assert_eq!(
            check_enrol_customer(true, Some(&live), false, NOW).map(|p| p.code),
            Some(1040)
        );
        assert_eq!(
            check_enrol_customer(true, None, true, NOW).map(|p| p.code),
            Some(1040)
        );
        assert_eq!(
            check_enrol_customer(false, Some(&live), true, NOW).map(|p| p.code),
            Some(1026),
            "an unknown customer is reported as such first"
        );
    }

    #[test]
    fn imports_need_the_org_s_badge_and_customer_and_an_event_in_its_window() {
        let b = badge(EarnType::IssueEarn);
        let item = |event_at: Micros, expires_on: Option<Micros>| ImportItem {
            badge_id: "0000000000000000000000b1".into(),
            customer_id: 1,
            event_at,
            expires_on,
        };
        assert!(check_import(Some(&b), true, &item(NOW, None)).is_empty());
        assert_eq!(codes(&check_import(None, true, &item(NOW, None))), [1054]);
        assert_eq!(
            codes(&check_import(
                Some(&b),
                false,
                &item(Micros(0), Some(Micros(0)))
            )),
            [816, 1026, 400]
        );
        let inactive = BadgeRules { active: false, ..b };
        assert!(
            check_import(Some(&inactive), true, &item(NOW, Some(Micros(NOW.0 + 1)))).is_empty(),
            "history needs no activation"
        );
    }

    #[test]
    fn claims_are_for_restricted_owners_and_capped() {
        let owners = [Owner::Loyalty, Owner::Journeys];
        assert_eq!(
            check_claim(&owners, Owner::Loyalty, None, true, 0),
            Ok(ClaimChange::Insert)
        );
        assert_eq!(
            check_claim(
                &owners,
                Owner::Loyalty,
                Some(ClaimState { is_active: true }),
                false,
                1
            ),
            Ok(ClaimChange::Set(false))
        );
        let code = |r: Result<ClaimChange, Vec<Problem>>| r.unwrap_err()[0].code;
        assert_eq!(
            code(check_claim(&owners, Owner::Milestones, None, true, 0)),
            714
        );
        assert_eq!(
            code(check_claim(&owners, Owner::Loyalty, None, false, 0)),
            737
        );
        assert_eq!(
            code(check_claim(&owners, Owner::Loyalty, None, true, MAX_CLAIMS)),
            400
        );
        assert_eq!(
            check_claim(
                &owners,
                Owner::Loyalty,
                Some(ClaimState { is_active: false }),
                true,
                MAX_CLAIMS
            ),
            Ok(ClaimChange::Set(true)),
            "reclaiming an existing claim adds none"
        );
    }
}
