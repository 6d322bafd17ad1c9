//! Customers and what they hold: their identifiers, enrolments, awards,
//! revocations and imported history. Every write that records a customer's
//! events first locks the customers' rows and reads the clock under those
//! locks, so one customer's events carry times in the order their writes
//! commit.

use std::collections::HashSet;

use super::requests::{self, Begun};
use super::{BadgeService, invalid_unless_empty};
use crate::domain::Problem;
use crate::domain::admin::{
    self, EarnOutcome, EarnRequest, EnrolOutcome, EnrolRequest, ImportItemRequest, ImportOutcome,
    RevokeCommand, UpsertCustomerCommand,
};
use crate::domain::badge::BadgeRules;
use crate::domain::customer_email;
use crate::domain::detail::TriggeredBy;
use crate::domain::enums::Owner;
use crate::domain::events::Event;
use crate::domain::ids::new_object_id;
use crate::domain::list::CustomerRef;
use crate::domain::principal::Principal;
use crate::domain::rules;
use crate::error::{Error, Result};
use crate::store::{NewAward, NewCustomer, NewEnrolment, Tx, Unique};

/// What the rules need of the badge `id`; 1054 when the org has no such badge.
async fn badge_rules(tx: &Tx<'_>, id: &str) -> Result<BadgeRules> {
    tx.badge_rules(id)
        .await?
        .ok_or_else(|| Error::NotFound(Problem::badge_not_found("badgeMetaId")))
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
        let latest = tx.latest_enrolments(&c.badge_id, &c.customers).await?;
        // The issue event's time: the request's, else the recording's.
        let issued = c.issued_at.unwrap_or(now);
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
                issued_badge_id,
                org_id: p.org_id,
                badge_id: c.badge_id.clone(),
                customer_id,
                issued_at: now,
                expires_at: expires,
                revoked: false,
                request_id: c.request_id.clone(),
                event_at: Some(issued),
            });
            outcomes.push(EnrolOutcome {
                customer_id,
                expires_on: expires,
                problems: vec![],
            });
        }
        tx.insert_enrolments(rows).await?;
        tx.append(now, events).await?;
        requests::commit(tx, key, &outcomes).await?;
        Ok(outcomes)
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
        let badge = badge_rules(&tx, &c.badge_id).await?;
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
        let expires_on = badge.award_expiry(now);
        let earned_badge_id = new_object_id(now);
        let triggered_by = c
            .triggered_by
            .as_ref()
            .map(|(owner, reference)| TriggeredBy {
                owner_type: *owner,
                reference_id: Some(reference.clone()),
            });
        tx.insert_awards(vec![NewAward {
            earned_badge_id: earned_badge_id.clone(),
            org_id: p.org_id,
            badge_id: c.badge_id.clone(),
            customer_id: c.customer_id,
            awarded_at: now,
            event_at,
            expires_at: expires_on,
            revoked: false,
            request_id: c.request_id.clone(),
            triggered_by: triggered_by.clone(),
        }])
        .await?;
        let event = Event::BadgeEarned {
            customer_id: c.customer_id,
            badge_id: c.badge_id.clone(),
            earned_badge_id: earned_badge_id.clone(),
            occurred_at: event_at,
            expires_on,
            triggered_by,
        };
        tx.append(now, vec![event]).await?;
        let outcome = EarnOutcome {
            badge_id: c.badge_id.clone(),
            customer_id: c.customer_id,
            earned_badge_id,
            expires_on,
            request_id: c.request_id.clone(),
        };
        requests::commit(tx, key, &outcome).await?;
        Ok(outcome)
    }

    /// Revokes one award; 814 when the customer has no such award that is
    /// not revoked.
    pub async fn revoke(&self, p: &Principal, c: RevokeCommand) -> Result<()> {
        invalid_unless_empty(admin::validate_revoke(&c))?;
        let mut tx = self.store.begin(p).await?;
        tx.lock_customers(&[c.customer_id]).await?;
        let now = self.clock.now();
        if !tx
            .revoke_award(&c.badge_id, c.customer_id, &c.earned_badge_id)
            .await?
        {
            return Err(Error::Invalid(vec![Problem::no_active_award()]));
        }
        let event = Event::BadgeEarnRevoked {
            customer_id: c.customer_id,
            badge_id: c.badge_id,
            earned_badge_id: c.earned_badge_id,
        };
        tx.append(now, vec![event]).await?;
        tx.commit().await
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
