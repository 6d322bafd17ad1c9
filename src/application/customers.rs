//! Customers and what they hold: their identifiers, enrolments, awards,
//! revocations and imported history. Every write that records a customer's
//! events first locks the customers' rows and reads the clock under those
//! locks, so one customer's events carry times in the order their writes
//! commit.

use std::collections::HashSet;

use super::requests::{self, Begun};
use super::{BadgeService, invalid_unless_empty};
use crate::domain::Micros;
use crate::domain::Problem;
use crate::domain::admin::{
    self, BulkEarnItem, EarnBulkOutcome, EarnBulkRequest, EarnOutcome, EarnRequest, EnrolOutcome,
    EnrolRequest, ImportItemRequest, ImportOutcome, Revocations, RevokeCommand, RevokeIssueRequest,
    RevokeOutcome, RevokedIssue, UpsertCustomerCommand,
};
use crate::domain::badge::BadgeRules;
use crate::domain::constraints::{self, Level, Tally};
use crate::domain::customer_email;
use crate::domain::detail::TriggeredBy;
use crate::domain::enums::{EarnType, Owner};
use crate::domain::events::Event;
use crate::domain::ids::new_object_id;
use crate::domain::list::CustomerRef;
use crate::domain::principal::Principal;
use crate::domain::rules::{self, Enrolment};
use crate::error::{Error, Result};
use crate::store::{Counted, NewAward, NewCustomer, NewEnrolment, Tx, Unique};

/// The module a write names, as stored with what it writes.
fn triggered_by(t: &Option<(Owner, String)>) -> Option<TriggeredBy> {
    t.as_ref().map(|(owner, reference)| TriggeredBy {
        owner_type: *owner,
        reference_id: Some(reference.clone()),
    })
}

/// 810 unless the earn's `triggeredBy` is an active claim of the badge (an
/// earn that names none needs none: MemberCare awards without a claim).
async fn check_claim(tx: &Tx<'_>, badge_id: &str, t: &Option<(Owner, String)>) -> Result<()> {
    match t {
        Some((owner, reference)) if !tx.claim_is_active(badge_id, *owner, reference).await? => {
            Err(Error::Invalid(vec![Problem::claim_required()]))
        }
        _ => Ok(()),
    }
}

/// One award about to be written.
struct Award {
    badge_id: String,
    customer_id: i64,
    earned_badge_id: String,
    issued_id: Option<String>,
    expires_on: Option<Micros>,
    awarded_at: Micros,
    event_at: Micros,
}

impl Award {
    fn new(
        badge: &BadgeRules,
        badge_id: &str,
        customer_id: i64,
        enrolment: Option<Enrolment>,
        now: Micros,
        event_at: Micros,
    ) -> Self {
        Award {
            badge_id: badge_id.to_owned(),
            customer_id,
            earned_badge_id: new_object_id(now),
            // The enrolment an ISSUE_EARN earn used; an EARN badge's earn
            // uses none.
            issued_id: enrolment
                .filter(|_| badge.earn_type == EarnType::IssueEarn)
                .and_then(|e| e.id),
            expires_on: badge.award_expiry(now),
            awarded_at: now,
            event_at,
        }
    }

    /// Its row and its event.
    fn write(
        self,
        org_id: i32,
        request_id: &Option<String>,
        triggered_by: &Option<TriggeredBy>,
    ) -> (NewAward, Event) {
        let event = Event::BadgeEarned {
            customer_id: self.customer_id,
            badge_id: self.badge_id.clone(),
            earned_badge_id: self.earned_badge_id.clone(),
            occurred_at: self.event_at,
            expires_on: self.expires_on,
            triggered_by: triggered_by.clone(),
        };
        let row = NewAward {
            earned_badge_id: self.earned_badge_id,
            org_id,
            badge_id: self.badge_id,
            customer_id: self.customer_id,
            awarded_at: self.awarded_at,
            event_at: self.event_at,
            expires_at: self.expires_on,
            revoked: false,
            request_id: request_id.clone(),
            triggered_by: triggered_by.clone(),
        };
        (row, event)
    }
}

/// What the rules need of the badge `id`; 1054 when the org has no such badge.
async fn badge_rules(tx: &Tx<'_>, id: &str) -> Result<BadgeRules> {
    tx.badge_rules(id)
        .await?
        .ok_or_else(|| Error::NotFound(Problem::badge_not_found("badgeMetaId")))
}

/// The rules of a badge about to be earned. A badge limited for all
/// customers together has its row locked first (before any customer's, the
/// order every earn takes), so that earns of it count one after the other;
/// its rules are read again under the lock.
async fn earned_badge_rules(tx: &Tx<'_>, id: &str) -> Result<BadgeRules> {
    let badge = badge_rules(tx, id).await?;
    if !constraints::limits(&badge.badge_constraints) {
        return Ok(badge);
    }
    tx.lock_badge(id).await?;
    badge_rules(tx, id).await
}

/// The badge's limits for an earn at `at` by `customers` (whose rows this
/// write has locked), with the awards counted so far: per customer, and for
/// all customers together. Each level costs one indexed read, and none when
/// it has no limit.
async fn tallies(
    tx: &Tx<'_>,
    badge_id: &str,
    badge: &BadgeRules,
    customers: &[i64],
    at: Micros,
) -> Result<(Tally, Tally)> {
    let tally = async |level, list: &[constraints::Constraint], who| -> Result<Tally> {
        let tally = Tally::new(level, list, at, badge.starts_on);
        if tally.is_empty() {
            return Ok(tally);
        }
        let counts = tx.count_awards(badge_id, who, &tally.spans()).await?;
        Ok(tally.counted(counts))
    };
    Ok((
        tally(
            Level::Customer,
            &badge.customer_constraints,
            Counted::Customers(customers),
        )
        .await?,
        tally(Level::Badge, &badge.badge_constraints, Counted::Everyone).await?,
    ))
}

impl BadgeService {
    /// Creates or replaces a customer; 409 naming each identifier that
    /// another customer of the org holds.
    pub async fn upsert_customer(&self, p: &Principal, c: UpsertCustomerCommand) -> Result<i64> {
        invalid_unless_empty(admin::validate_customer(&c))?;
        let customer = NewCustomer {
            org_id: p.org_id,
            customer_id: c.customer_id,
            email: c.email.as_deref().map(customer_email),
            mobile: c.mobile,
            external_id: c.external_id,
            card_number: c.card_number,
        };
        let tx = self.store.begin(p).await?;
        let mut taken = Vec::new();
        for (field, holder) in [
            ("email", customer.email.clone().map(CustomerRef::Email)),
            ("mobile", customer.mobile.clone().map(CustomerRef::Mobile)),
            (
                "externalId",
                customer.external_id.clone().map(CustomerRef::ExternalId),
            ),
            (
                "cardNumber",
                customer.card_number.clone().map(CustomerRef::CardNumber),
            ),
        ] {
            let Some(holder) = holder else { continue };
            if tx
                .find_customer(&holder)
                .await?
                .is_some_and(|id| id != customer.customer_id)
            {
                taken.push(Problem::identifier_taken(
                    field,
                    format!("{field} belongs to another customer"),
                ));
            }
        }
        if !taken.is_empty() {
            return Err(Error::Conflict(taken));
        }
        // A concurrent writer may take an identifier between the check and
        // the write.
        if tx.save_customer(&customer).await? == Unique::Taken {
            return Err(Error::Conflict(vec![Problem::identifier_taken(
                "customerId",
                "an identifier belongs to another customer",
            )]));
        }
        tx.commit().await?;
        Ok(customer.customer_id)
    }

    /// Enrols customers in an ISSUE_EARN badge; each customer succeeds or
    /// fails on their own, and the enrolments are written together.
    pub async fn enrol(&self, p: &Principal, r: EnrolRequest) -> Result<Vec<EnrolOutcome>> {
        let c = admin::validate_enrol(r).map_err(Error::Invalid)?;
        let request = c.request_id.as_deref();
        let (mut tx, key) =
            match requests::begin(&self.store, p, "enrol", request, &c, self.clock.now()).await? {
                Begun::Replay(answer) => return Ok(answer),
                Begun::Fresh(tx, key) => (tx, key),
            };
        let badge = badge_rules(&tx, &c.badge_id).await?;
        invalid_unless_empty(rules::check_enrol_badge(&badge))?;
        let existing = tx.lock_customers(&c.customers).await?;
        let now = self.clock.now();
        // The issue event's time: the request's, else the recording's.
        let issued = c.issued_at.unwrap_or(now);
        invalid_unless_empty(rules::check_enrol_event(&badge, issued))?;
        let latest = tx.latest_enrolments(&c.badge_id, &c.customers).await?;
        let triggered_by = triggered_by(&c.triggered_by);
        let mut outcomes = Vec::with_capacity(c.customers.len());
        let mut rows = Vec::new();
        let mut events = Vec::new();
        let mut seen = HashSet::new();
        for &customer_id in &c.customers {
            let repeated = !seen.insert(customer_id);
            let verdict = rules::check_enrol_customer(
                existing.contains(&customer_id),
                latest.get(&customer_id),
                repeated,
                now,
            );
            if let Some(problem) = verdict {
                outcomes.push(EnrolOutcome {
                    customer_id,
                    issued_id: None,
                    expires_on: None,
                    problems: vec![problem],
                });
                continue;
            }
            let expires = badge.enrolment_expiry(now);
            let issued_badge_id = new_object_id(now);
            events.push(Event::CustomerEnrolled {
                customer_id,
                badge_id: c.badge_id.clone(),
                issued_badge_id: issued_badge_id.clone(),
                occurred_at: issued,
                expires_on: expires,
            });
            rows.push(NewEnrolment {
                issued_badge_id: issued_badge_id.clone(),
                org_id: p.org_id,
                badge_id: c.badge_id.clone(),
                customer_id,
                issued_at: now,
                expires_at: expires,
                revoked: false,
                request_id: c.request_id.clone(),
                event_at: Some(issued),
                triggered_by: triggered_by.clone(),
            });
            outcomes.push(EnrolOutcome {
                customer_id,
                issued_id: Some(issued_badge_id),
                expires_on: expires,
                problems: vec![],
            });
        }
        tx.insert_enrolments(rows).await?;
        tx.append(now, events).await?;
        requests::commit(tx, key, &outcomes).await?;
        Ok(outcomes)
    }

    /// Revokes enrolments in a badge: every live one of each customer, or
    /// the ones named; each item succeeds or fails on its own, and the
    /// revocations and their events are written together.
    pub async fn revoke_issue(
        &self,
        p: &Principal,
        r: RevokeIssueRequest,
    ) -> Result<Vec<RevokedIssue>> {
        let c = admin::validate_revoke_issue(r).map_err(Error::Invalid)?;
        let request = c.request_id.as_deref();
        let (mut tx, key) =
            match requests::begin(&self.store, p, "revokeIssue", request, &c, self.clock.now())
                .await?
            {
                Begun::Replay(answer) => return Ok(answer),
                Begun::Fresh(tx, key) => (tx, key),
            };
        badge_rules(&tx, &c.badge_id).await?;
        let items: Vec<(i64, Option<&str>, String)> = match &c.revocations {
            Revocations::Customers(ids) => ids
                .iter()
                .enumerate()
                .map(|(i, &id)| (id, None, format!("customers[{i}]")))
                .collect(),
            Revocations::Issuals(issuals) => issuals
                .iter()
                .enumerate()
                .map(|(i, (id, issue))| {
                    (
                        *id,
                        Some(issue.as_str()),
                        format!("revokeIssuals[{i}].issueId"),
                    )
                })
                .collect(),
        };
        let ids: Vec<i64> = items.iter().map(|(id, _, _)| *id).collect();
        let existing = tx.lock_customers(&ids).await?;
        let now = self.clock.now();
        let mut answer = Vec::with_capacity(items.len());
        let mut events = Vec::new();
        for (customer_id, issue, reference) in items {
            let revoked = if existing.contains(&customer_id) {
                tx.revoke_enrolments(&c.badge_id, customer_id, issue, now)
                    .await?
            } else {
                answer.push(RevokedIssue {
                    customer_id,
                    issued_id: issue.map(str::to_owned),
                    problem: Some(Problem::customer_not_found()),
                });
                continue;
            };
            if revoked.is_empty() {
                answer.push(RevokedIssue {
                    customer_id,
                    issued_id: issue.map(str::to_owned),
                    problem: Some(Problem::no_issue_instance(&reference)),
                });
            }
            for issued_badge_id in revoked {
                events.push(Event::EnrolmentRevoked {
                    customer_id,
                    badge_id: c.badge_id.clone(),
                    issued_badge_id: issued_badge_id.clone(),
                });
                answer.push(RevokedIssue {
                    customer_id,
                    issued_id: Some(issued_badge_id),
                    problem: None,
                });
            }
        }
        tx.append(now, events).await?;
        requests::commit(tx, key, &answer).await?;
        Ok(answer)
    }

    /// Awards a badge to a customer.
    pub async fn earn(&self, p: &Principal, r: EarnRequest) -> Result<EarnOutcome> {
        let c = admin::validate_earn(r).map_err(Error::Invalid)?;
        let request = c.request_id.as_deref();
        let (mut tx, key) =
            match requests::begin(&self.store, p, "earn", request, &c, self.clock.now()).await? {
                Begun::Replay(answer) => return Ok(answer),
                Begun::Fresh(tx, key) => (tx, key),
            };
        let badge = earned_badge_rules(&tx, &c.badge_id).await?;
        check_claim(&tx, &c.badge_id, &c.triggered_by).await?;
        if !tx
            .lock_customers(&[c.customer_id])
            .await?
            .contains(&c.customer_id)
        {
            return Err(Error::NotFound(Problem::customer_not_found()));
        }
        let now = self.clock.now();
        let event_at = c.event_at.unwrap_or(now);
        let latest = tx
            .latest_enrolments(&c.badge_id, &[c.customer_id])
            .await?
            .remove(&c.customer_id);
        invalid_unless_empty(rules::check_earn(&badge, latest.as_ref(), event_at, now))?;
        let (per_customer, per_badge) =
            tallies(&tx, &c.badge_id, &badge, &[c.customer_id], event_at).await?;
        invalid_unless_empty(
            [per_customer.refusal(c.customer_id), per_badge.refusal(0)]
                .into_iter()
                .flatten()
                .collect(),
        )?;
        let award = Award::new(&badge, &c.badge_id, c.customer_id, latest, now, event_at);
        let triggered_by = triggered_by(&c.triggered_by);
        let outcome = EarnOutcome {
            badge_id: c.badge_id.clone(),
            customer_id: c.customer_id,
            earned_badge_id: award.earned_badge_id.clone(),
            expires_on: award.expires_on,
            request_id: c.request_id.clone(),
            issued_id: award.issued_id.clone(),
        };
        let (row, event) = award.write(p.org_id, &c.request_id, &triggered_by);
        tx.insert_awards(vec![row]).await?;
        tx.append(now, vec![event]).await?;
        requests::commit(tx, key, &outcome).await?;
        Ok(outcome)
    }

    /// Awards a badge to many customers in one transaction: each customer
    /// succeeds or fails on their own (1026, 811, 816 for their enrolment,
    /// 1058 past a limit, in the order given); a rule of the badge or the
    /// call refuses the whole call.
    pub async fn earn_bulk(&self, p: &Principal, r: EarnBulkRequest) -> Result<EarnBulkOutcome> {
        let c = admin::validate_earn_bulk(r).map_err(Error::Invalid)?;
        let request = c.request_id.as_deref();
        let (mut tx, key) =
            match requests::begin(&self.store, p, "earnBulk", request, &c, self.clock.now()).await?
            {
                Begun::Replay(answer) => return Ok(answer),
                Begun::Fresh(tx, key) => (tx, key),
            };
        let badge = earned_badge_rules(&tx, &c.badge_id).await?;
        check_claim(&tx, &c.badge_id, &c.triggered_by).await?;
        let existing = tx.lock_customers(&c.customers).await?;
        let now = self.clock.now();
        let event_at = c.event_at.unwrap_or(now);
        // The badge's own rules answer for the whole call; an enrolment's,
        // for its customer.
        let badge_problems = rules::check_earn(
            &BadgeRules {
                earn_type: EarnType::Earn,
                ..badge.clone()
            },
            None,
            event_at,
            now,
        );
        invalid_unless_empty(badge_problems)?;
        let mut latest = tx.latest_enrolments(&c.badge_id, &c.customers).await?;
        let (mut per_customer, mut per_badge) =
            tallies(&tx, &c.badge_id, &badge, &c.customers, event_at).await?;
        let triggered_by = triggered_by(&c.triggered_by);
        let mut items = Vec::with_capacity(c.customers.len());
        let mut rows = Vec::new();
        let mut events = Vec::new();
        let mut seen = HashSet::new();
        for (i, &customer_id) in c.customers.iter().enumerate() {
            let enrolment = latest.remove(&customer_id);
            let problem = if !existing.contains(&customer_id) {
                Some(Problem::customer_not_found())
            } else if !seen.insert(customer_id) {
                Some(Problem::invalid(
                    &format!("customerIds[{i}]"),
                    "the customer appears earlier in customerIds",
                ))
            } else {
                rules::check_earn(&badge, enrolment.as_ref(), event_at, now)
                    .into_iter()
                    .next()
                    .or_else(|| per_customer.refusal(customer_id))
                    .or_else(|| per_badge.refusal(0))
            };
            if let Some(problem) = problem {
                items.push(BulkEarnItem {
                    customer_id,
                    earned_badge_id: None,
                    issued_id: None,
                    expires_on: None,
                    problem: Some(problem),
                });
                continue;
            }
            per_customer.add(customer_id);
            per_badge.add(0);
            let award = Award::new(&badge, &c.badge_id, customer_id, enrolment, now, event_at);
            items.push(BulkEarnItem {
                customer_id,
                earned_badge_id: Some(award.earned_badge_id.clone()),
                issued_id: award.issued_id.clone(),
                expires_on: award.expires_on,
                problem: None,
            });
            let (row, event) = award.write(p.org_id, &c.request_id, &triggered_by);
            rows.push(row);
            events.push(event);
        }
        let outcome = EarnBulkOutcome { items };
        tx.insert_awards(rows).await?;
        tx.append(now, events).await?;
        requests::commit(tx, key, &outcome).await?;
        Ok(outcome)
    }

    /// Revokes one award; 814 when the customer has no such award that is
    /// not revoked, 1026 when the org has no such customer.
    pub async fn revoke(&self, p: &Principal, c: RevokeCommand) -> Result<RevokeOutcome> {
        invalid_unless_empty(admin::validate_revoke(&c))?;
        let mut tx = self.store.begin(p).await?;
        let customer_id = match &c.customer {
            CustomerRef::Id(id) => Some(*id),
            other => tx.find_customer(other).await?,
        };
        let Some(customer_id) = customer_id else {
            return Err(Error::NotFound(Problem::customer_not_found()));
        };
        if !tx
            .lock_customers(&[customer_id])
            .await?
            .contains(&customer_id)
        {
            return Err(Error::NotFound(Problem::customer_not_found()));
        }
        let now = self.clock.now();
        if !tx
            .revoke_award(&c.badge_id, customer_id, &c.earned_badge_id, now)
            .await?
        {
            return Err(Error::Invalid(vec![Problem::no_active_award()]));
        }
        let event = Event::BadgeEarnRevoked {
            customer_id,
            badge_id: c.badge_id.clone(),
            earned_badge_id: c.earned_badge_id.clone(),
        };
        tx.append(now, vec![event]).await?;
        tx.commit().await?;
        Ok(RevokeOutcome {
            badge_id: c.badge_id,
            customer_id,
            earned_badge_id: c.earned_badge_id,
        })
    }

    /// Imports historical awards; each item succeeds or fails on its own, and
    /// the successful ones are written in one transaction.
    pub async fn import(
        &self,
        p: &Principal,
        items: Vec<ImportItemRequest>,
    ) -> Result<Vec<ImportOutcome>> {
        let items = admin::validate_import(items).map_err(Error::Invalid)?;
        let mut tx = self.store.begin(p).await?;
        let badge_ids: Vec<&str> = items
            .iter()
            .map(|i| i.badge_id.as_str())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let badges = tx.badges_rules(&badge_ids).await?;
        let customer_ids: Vec<i64> = items.iter().map(|i| i.customer_id).collect();
        let customers = tx.lock_customers(&customer_ids).await?;
        let now = self.clock.now();
        let imported = Some(TriggeredBy {
            owner_type: Owner::HistoricalImport,
            reference_id: None,
        });
        let mut outcomes = Vec::with_capacity(items.len());
        let mut rows = Vec::new();
        let mut events = Vec::new();
        for item in items {
            let badge = badges.get(&item.badge_id);
            let problems = rules::check_import(badge, customers.contains(&item.customer_id), &item);
            let (Some(b), true) = (badge, problems.is_empty()) else {
                outcomes.push(ImportOutcome {
                    badge_id: item.badge_id,
                    customer_id: item.customer_id,
                    result: Err(problems),
                });
                continue;
            };
            let expires_on = item.expires_on.or_else(|| b.award_expiry(item.event_at));
            let earned_badge_id = new_object_id(now);
            rows.push(NewAward {
                earned_badge_id: earned_badge_id.clone(),
                org_id: p.org_id,
                badge_id: item.badge_id.clone(),
                customer_id: item.customer_id,
                awarded_at: now,
                event_at: item.event_at,
                expires_at: expires_on,
                revoked: false,
                request_id: None,
                triggered_by: imported.clone(),
            });
            events.push(Event::BadgeEarned {
                customer_id: item.customer_id,
                badge_id: item.badge_id.clone(),
                earned_badge_id: earned_badge_id.clone(),
                occurred_at: item.event_at,
                expires_on,
                triggered_by: imported.clone(),
            });
            outcomes.push(ImportOutcome {
                badge_id: item.badge_id,
                customer_id: item.customer_id,
                result: Ok((earned_badge_id, expires_on)),
            });
        }
        tx.insert_awards(rows).await?;
        tx.append(now, events).await?;
        tx.commit().await?;
        Ok(outcomes)
    }
}
