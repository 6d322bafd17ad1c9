//! What an update of a badge may change (BEHAVIOUR.md §9.2): the whole
//! definition is sent again, and checked as a new one, except that the
//! start may lie in the past; then against the stored badge and the clock.

use super::Problem;
use super::admin::{Author, NewBadgeRequest, validate_badge};
use super::badge::Badge;
use super::constraints::{self, Level};
use super::enums::BadgeStatus;

/// The badge `before` as `r` asks it to be, written by `by`, or every
/// problem: 723 when startOn changes once the badge is not UPCOMING, 724
/// when expiresOn changes to the past, 714 when an owner with an active
/// claim is removed, 400 when earnType changes once the badge is not
/// UPCOMING, 826 when its constraints change in a way a live badge's may not
/// (`constraints::check_change`). Its claims, creation and id stay.
pub fn validate_update(
    before: &Badge,
    mut r: NewBadgeRequest,
    by: Author,
) -> Result<Badge, Vec<Problem>> {
    // A start in the past is fine on update (upstream: "even into the
    // past" while UPCOMING); 723 decides whether it may move at all.
    r.migration = true;
    let mut after = validate_badge(r, before.id.clone(), by)?;
    let mut problems = Vec::new();
    let started =
        BadgeStatus::at(by.now, before.starts_on, before.expires_on) != BadgeStatus::Upcoming;
    if started && after.starts_on != before.starts_on {
        problems.push(Problem::start_locked());
    }
    if after.expires_on != before.expires_on && after.expires_on < by.now {
        problems.push(Problem::expiry_in_past());
    }
    if started && after.earn_type != before.earn_type {
        problems.push(Problem::invalid(
            "earnType",
            "earnType can change only while the badge is UPCOMING",
        ));
    }
    if started {
        for (level, was, is) in [
            (
                Level::Customer,
                &before.extras.customer_constraints,
                &after.extras.customer_constraints,
            ),
            (
                Level::Badge,
                &before.extras.badge_constraints,
                &after.extras.badge_constraints,
            ),
        ] {
            problems.extend(constraints::check_change(was, is, level));
        }
    }
    for claim in before.claims.iter().filter(|c| c.is_active) {
        if !after.owners.contains(&claim.owner_type) {
            problems.push(Problem::owner_invalid(
                "ownership.restrictedToOwners",
                format!(
                    "{} has an active claim on this badge and cannot be removed",
                    claim.owner_type
                ),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    after.claims = before.claims.clone();
    after.created_on = before.created_on;
    after.created_by = before.created_by;
    // `last_updated_on` is the store's to move (forward from the stored one).
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Micros;
    use crate::domain::badge::Claim;
    use crate::domain::enums::{EarnType, Owner};
    use crate::domain::expiry::ExpiryRule;
    use crate::domain::problems::{CODE_EXPIRY_IN_PAST, CODE_OWNER_INVALID, CODE_START_LOCKED};

    const DAY: i64 = 86_400_000_000;
    const START: Micros = Micros(1_000 * DAY);

    fn stored() -> Badge {
        validate_badge(
            request(START, Micros(START.0 + 10 * DAY)),
            "a".repeat(24),
            by(Micros(START.0 - 5 * DAY)),
        )
        .unwrap()
    }

    fn request(starts: Micros, expires: Micros) -> NewBadgeRequest {
        NewBadgeRequest {
            name: "Gold".into(),
            description: "d".into(),
            earn_type: Ok(EarnType::Earn),
            starts_on: Ok(Some(starts)),
            expires_on: Ok(Some(expires)),
            active: true,
            group_id: None,
            rank: None,
            images: vec![],
            owners: vec![Ok(Owner::Loyalty), Ok(Owner::Journeys)],
            earned_badge_expiry: Ok(ExpiryRule::Never),
            issued_badge_expiry: Ok(ExpiryRule::Never),
            extras: Default::default(),
            migration: false,
        }
    }

    fn by(now: Micros) -> Author {
        Author {
            org_id: 1,
            client_id: 9,
            now,
        }
    }

    fn codes(r: Result<Badge, Vec<Problem>>) -> Vec<u32> {
        r.err().unwrap_or_default().iter().map(|p| p.code).collect()
    }

    #[test]
    fn the_start_moves_only_while_upcoming_even_into_the_past() {
        let before = stored();
        let moved = |now: Micros| {
            validate_update(
                &before,
                request(Micros(START.0 - 20 * DAY), before.expires_on),
                by(now),
            )
        };
        // One microsecond before the start it is UPCOMING: the start may
        // move, into the past too.
        let after = moved(Micros(START.0 - 1)).unwrap();
        assert_eq!(after.starts_on, Micros(START.0 - 20 * DAY));
        assert_eq!(after.created_on, before.created_on);
        assert_eq!(after.last_updated_by, Some(9));
        // At the start it is LIVE: 723.
        assert_eq!(codes(moved(START)), [CODE_START_LOCKED]);
        // Unchanged, a LIVE badge's other fields may change.
        let mut renamed = request(START, before.expires_on);
        renamed.name = "Gold II".into();
        assert_eq!(
            validate_update(&before, renamed, by(START)).unwrap().name,
            "Gold II"
        );
    }

    #[test]
    fn an_expiry_moved_into_the_past_is_724() {
        let before = stored();
        let now = Micros(START.0 + 5 * DAY);
        let past = request(START, Micros(now.0 - 1));
        assert_eq!(
            codes(validate_update(&before, past, by(now))),
            [CODE_EXPIRY_IN_PAST]
        );
        let later = request(START, Micros(now.0 + DAY));
        assert!(validate_update(&before, later, by(now)).is_ok());
    }

    #[test]
    fn an_owner_with_an_active_claim_stays() {
        let mut before = stored();
        before.claims = vec![
            Claim {
                owner_type: Owner::Journeys,
                reference_id: "j-1".into(),
                is_active: true,
            },
            Claim {
                owner_type: Owner::Loyalty,
                reference_id: "l-1".into(),
                is_active: false,
            },
        ];
        let now = Micros(START.0 - DAY);
        let mut only_loyalty = request(START, before.expires_on);
        only_loyalty.owners = vec![Ok(Owner::Loyalty)];
        assert_eq!(
            codes(validate_update(&before, only_loyalty, by(now))),
            [CODE_OWNER_INVALID]
        );
        let mut only_journeys = request(START, before.expires_on);
        only_journeys.owners = vec![Ok(Owner::Journeys), Ok(Owner::Milestones)];
        let after = validate_update(&before, only_journeys, by(now)).unwrap();
        assert_eq!(after.claims, before.claims, "claims are kept");
    }
}
