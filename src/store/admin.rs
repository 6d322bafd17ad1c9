//! The admin API's writes. Each call is one transaction: a failed write
//! leaves nothing behind. Writes that carry a requestId claim it first in
//! `idempotency_keys`, so a concurrent duplicate waits for the first and then
//! gets its answer.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, QueryOrder, SqlErr,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::Store;
use super::entity::{
    award, badge, badge_claim, badge_group, badge_image, badge_owner, customer, enrolment,
    idempotency_key,
};
use super::expiry::stored_rule;
use super::sql::Sql;
use super::writes::{NewBadge, insert_badge_rows};
use crate::domain::Problem;
use crate::domain::admin::{
    BadgeDefinition, CODE_BADGE_NAME_TAKEN, CODE_BADGE_NOT_FOUND, CODE_GROUP_NAME_TAKEN,
    CODE_GROUP_NOT_FOUND, CODE_IDENTIFIER_TAKEN, CODE_NO_ACTIVE_AWARD, CODE_REQUEST_ID_REUSED,
    ClaimCommand, EarnCommand, EarnOutcome, EnrolCommand, EnrolOutcome, GroupView, ImportItem,
    ImportOutcome, NewBadgeCommand, NewGroupCommand, RevokeCommand, UpsertCustomerCommand, problem,
};
use crate::domain::detail::TriggeredBy;
use crate::domain::enums::{EarnType, Owner};
use crate::domain::events::Event;
use crate::domain::ids::new_object_id;
use crate::domain::list::{Claim, Image};
use crate::domain::principal::Principal;
use crate::domain::rules::{self, BadgeRules, ClaimChange, ClaimState, Enrolment};
use crate::domain::{Clock, Micros};
use crate::error::{Error, Result};

fn badge_not_found() -> Error {
    Error::NotFound(problem(
        CODE_BADGE_NOT_FOUND,
        "Badge not found",
        "badgeMetaId",
    ))
}

fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// A stored enum value that no longer parses is corrupt data, not bad input.
fn stored<T>(parsed: Option<T>, raw: &str) -> Result<T> {
    parsed.ok_or_else(|| Error::Internal(format!("unknown stored value {raw:?}")))
}

/// What the rules need of a stored badge.
fn badge_rules(b: &badge::Model) -> Result<BadgeRules> {
    Ok(BadgeRules {
        earn_type: stored(EarnType::parse(&b.earn_type), &b.earn_type)?,
        active: b.active,
        starts_on: Micros(b.starts_on),
        expires_on: Micros(b.expires_on),
        earned_badge_expiry: stored_rule(&b.earned_badge_expiry)?,
        issued_badge_expiry: stored_rule(&b.issued_badge_expiry)?,
    })
}

fn enrolment_of(e: &enrolment::Model) -> Enrolment {
    Enrolment {
        expires_at: e.expires_at.map(Micros),
        revoked: e.revoked,
    }
}

/// SHA-256 hex of a command's canonical JSON.
pub fn fingerprint<T: Serialize>(command: &T) -> Result<String> {
    let json = serde_json::to_vec(command).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(hex::encode(Sha256::digest(json)))
}

/// How a write that may carry a requestId starts.
enum Begun<T> {
    /// A transaction of this call's own; with a requestId, the key is claimed
    /// in it and the answer must be stored before commit.
    Fresh(DatabaseTransaction),
    /// A previous call with the same requestId and body answered this.
    Replay(T),
}

impl Store {
    async fn find_badge(
        &self,
        txn: &DatabaseTransaction,
        org: i32,
        id: &str,
    ) -> Result<badge::Model> {
        badge::Entity::find_by_id(id.to_owned())
            .filter(badge::Column::OrgId.eq(org))
            .one(txn)
            .await?
            .ok_or_else(badge_not_found)
    }

    /// Begins a write. With a requestId, first claims `(org, kind, request_id)`
    /// in the new transaction, or returns the stored answer of the call that
    /// claimed it, or 809 when that call's body differed.
    async fn begin_write<T: DeserializeOwned, C: Serialize>(
        &self,
        p: &Principal,
        kind: &str,
        request_id: Option<&str>,
        command: &C,
        now: Micros,
    ) -> Result<Begun<T>> {
        let org = p.org_id;
        let txn = self.write_txn_as(p).await?;
        let Some(request_id) = request_id else {
            return Ok(Begun::Fresh(txn));
        };
        let fingerprint = fingerprint(command)?;
        let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
            org_id: Set(org),
            kind: Set(kind.to_owned()),
            request_id: Set(request_id.to_owned()),
            fingerprint: Set(fingerprint.to_owned()),
            response: Set(String::new()),
            created_at: Set(now.0),
        })
        .exec_without_returning(&txn)
        .await;
        match inserted {
            Ok(_) => Ok(Begun::Fresh(txn)),
            Err(e) if is_unique_violation(&e) => {
                txn.rollback().await?;
                let stored = idempotency_key::Entity::find_by_id((
                    org,
                    kind.to_owned(),
                    request_id.to_owned(),
                ))
                .one(&self.db)
                .await?
                .ok_or_else(|| Error::Internal("idempotency key vanished".into()))?;
                if stored.fingerprint != fingerprint {
                    return Err(Error::Conflict(vec![problem(
                        CODE_REQUEST_ID_REUSED,
                        "requestId was already used with a different request",
                        "requestId",
                    )]));
                }
                let answer = serde_json::from_str(&stored.response)
                    .map_err(|e| Error::Internal(format!("stored answer: {e}")))?;
                Ok(Begun::Replay(answer))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes up to `limit` of the oldest request ids claimed before
    /// `before`; how many. Every process may run it at once: a row is
    /// deleted once, and a later run finds the rest.
    pub async fn prune_request_ids(&self, before: Micros, limit: u64) -> Result<u64> {
        let mut sql = Sql::new(self.dialect);
        sql.push(
            "DELETE FROM idempotency_keys WHERE (org_id, kind, request_id) IN \
             (SELECT org_id, kind, request_id FROM idempotency_keys WHERE created_at < ",
        )
        .bind(before.0)
        .push(" ORDER BY created_at LIMIT ")
        .push(&limit.to_string())
        .push(")");
        Ok(self.writer.execute_raw(sql.build()).await?.rows_affected())
    }

    async fn store_answer<T: Serialize>(
        &self,
        txn: &DatabaseTransaction,
        org: i32,
        kind: &str,
        request_id: &str,
        answer: &T,
    ) -> Result<()> {
        let json = serde_json::to_string(answer).map_err(|e| Error::Internal(e.to_string()))?;
        idempotency_key::Entity::update_many()
            .col_expr(idempotency_key::Column::Response, Expr::value(json))
            .filter(idempotency_key::Column::OrgId.eq(org))
            .filter(idempotency_key::Column::Kind.eq(kind))
            .filter(idempotency_key::Column::RequestId.eq(request_id))
            .exec(txn)
            .await?;
        Ok(())
    }

    pub async fn create_group(
        &self,
        p: &Principal,
        c: &NewGroupCommand,
        now: Micros,
    ) -> Result<GroupView> {
        let org = p.org_id;
        let txn = self.write_txn_as(p).await?;
        let id = new_object_id(now);
        let rank = c.rank.unwrap_or_default();
        let res = badge_group::Entity::insert(badge_group::ActiveModel {
            id: Set(id.clone()),
            org_id: Set(org),
            name: Set(c.name.clone()),
            rank: Set(rank),
            created_at: Set(now.0),
        })
        .exec_without_returning(&txn)
        .await;
        match res {
            Ok(_) => {
                super::bump_catalogue(&txn, org).await?;
                txn.commit().await?;
                Ok(GroupView {
                    id,
                    name: c.name.clone(),
                    rank,
                })
            }
            Err(e) if is_unique_violation(&e) => Err(Error::Conflict(vec![problem(
                CODE_GROUP_NAME_TAKEN,
                "a group with this name already exists",
                "name",
            )])),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn create_badge(
        &self,
        p: &Principal,
        c: &NewBadgeCommand,
        now: Micros,
    ) -> Result<BadgeDefinition> {
        let org = p.org_id;
        let txn = self.write_txn_as(p).await?;
        if let Some(group) = &c.group_id {
            let found = badge_group::Entity::find_by_id(group.clone())
                .filter(badge_group::Column::OrgId.eq(org))
                .one(&txn)
                .await?;
            if found.is_none() {
                return Err(Error::NotFound(problem(
                    CODE_GROUP_NOT_FOUND,
                    "Badge group not found",
                    "badgeGroupId",
                )));
            }
        }
        let new = NewBadge {
            id: new_object_id(now),
            org_id: org,
            name: c.name.clone(),
            description: c.description.clone(),
            earn_type: c.earn_type,
            active: c.active,
            starts_on: c.starts_on,
            expires_on: c.expires_on,
            created_on: now,
            last_updated_on: now,
            group_id: c.group_id.clone(),
            rank: c.rank,
            images: c.images.clone(),
            owners: c.owners.clone(),
            claims: Vec::new(),
            earned_badge_expiry: c.earned_badge_expiry,
            issued_badge_expiry: c.issued_badge_expiry,
        };
        match insert_badge_rows(&txn, &new).await {
            Ok(()) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::Conflict(vec![problem(
                    CODE_BADGE_NAME_TAKEN,
                    "a badge with this name already exists",
                    "name",
                )]));
            }
            Err(e) => return Err(e.into()),
        }
        let view = self.badge_definition(&txn, org, &new.id).await?;
        txn.commit().await?;
        Ok(view)
    }

    /// A badge with its images, owners and claims.
    async fn badge_definition(
        &self,
        txn: &DatabaseTransaction,
        org: i32,
        id: &str,
    ) -> Result<BadgeDefinition> {
        let b = self.find_badge(txn, org, id).await?;
        let images = badge_image::Entity::find()
            .filter(badge_image::Column::BadgeId.eq(id))
            .order_by_asc(badge_image::Column::Id)
            .all(txn)
            .await?
            .into_iter()
            .map(|i| Image {
                name: i.name,
                file_svc_handle: i.file_svc_handle,
                url: i.url,
                tag: i.tag,
            })
            .collect();
        let owners = badge_owner::Entity::find()
            .filter(badge_owner::Column::BadgeId.eq(id))
            .order_by_asc(badge_owner::Column::Position)
            .all(txn)
            .await?
            .into_iter()
            .map(|o| stored(Owner::parse(&o.owner), &o.owner))
            .collect::<Result<Vec<_>>>()?;
        let claims = badge_claim::Entity::find()
            .filter(badge_claim::Column::BadgeId.eq(id))
            .order_by_asc(badge_claim::Column::Id)
            .all(txn)
            .await?
            .into_iter()
            .map(|c| {
                Ok(Claim {
                    owner_type: stored(Owner::parse(&c.owner_type), &c.owner_type)?,
                    reference_id: c.reference_id,
                    is_active: c.is_active,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let rules = badge_rules(&b)?;
        Ok(BadgeDefinition {
            earn_type: rules.earn_type,
            earned_badge_expiry: rules.earned_badge_expiry,
            issued_badge_expiry: rules.issued_badge_expiry,
            id: b.id,
            name: b.name,
            description: b.description,
            starts_on: Micros(b.starts_on),
            expires_on: Micros(b.expires_on),
            active: b.active,
            group_id: b.group_id,
            rank: b.rank,
            images,
            owners,
            claims,
            created_on: Micros(b.created_on),
            last_updated_on: Micros(b.last_updated_on),
        })
    }

    pub async fn set_badge_active(
        &self,
        p: &Principal,
        id: &str,
        active: bool,
        now: Micros,
    ) -> Result<BadgeDefinition> {
        let org = p.org_id;
        let txn = self.write_txn_as(p).await?;
        let before = self.find_badge(&txn, org, id).await?;
        badge::Entity::update_many()
            .col_expr(badge::Column::Active, Expr::value(active))
            .col_expr(badge::Column::LastUpdatedOn, Expr::value(now.0))
            .filter(badge::Column::Id.eq(id))
            .filter(badge::Column::OrgId.eq(org))
            .exec(&txn)
            .await?;
        let view = self.badge_definition(&txn, org, id).await?;
        super::bump_catalogue(&txn, org).await?;
        if before.active != active {
            let event = Event::BadgeActivationChanged {
                badge_id: id.to_owned(),
                active,
            };
            self.record(&txn, org, now, vec![event]).await?;
        }
        txn.commit().await?;
        self.ring();
        Ok(view)
    }

    /// Claims (`active`) or unclaims a badge for a module instance.
    pub async fn set_claim(
        &self,
        p: &Principal,
        c: &ClaimCommand,
        active: bool,
        now: Micros,
    ) -> Result<BadgeDefinition> {
        let org = p.org_id;
        let txn = self.write_txn_as(p).await?;
        self.find_badge(&txn, org, &c.badge_id).await?;
        let owners = badge_owner::Entity::find()
            .filter(badge_owner::Column::BadgeId.eq(c.badge_id.as_str()))
            .all(&txn)
            .await?
            .into_iter()
            .map(|o| stored(Owner::parse(&o.owner), &o.owner))
            .collect::<Result<Vec<_>>>()?;
        let claims = badge_claim::Entity::find()
            .filter(badge_claim::Column::BadgeId.eq(c.badge_id.as_str()))
            .all(&txn)
            .await?;
        let existing = claims
            .iter()
            .find(|k| k.owner_type == c.owner_type.as_str() && k.reference_id == c.reference_id);
        let change = rules::check_claim(
            &owners,
            c.owner_type,
            existing.map(|k| ClaimState {
                is_active: k.is_active,
            }),
            active,
            claims.len(),
        )
        .map_err(Error::Invalid)?;
        match (change, existing) {
            (ClaimChange::Set(active), Some(claim)) => {
                let mut claim: badge_claim::ActiveModel = claim.clone().into();
                claim.is_active = Set(active);
                claim.update(&txn).await?;
            }
            _ => {
                badge_claim::Entity::insert(badge_claim::ActiveModel {
                    badge_id: Set(c.badge_id.clone()),
                    owner_type: Set(c.owner_type.as_str().to_owned()),
                    reference_id: Set(c.reference_id.clone()),
                    is_active: Set(true),
                    ..Default::default()
                })
                .exec_without_returning(&txn)
                .await?;
            }
        }
        badge::Entity::update_many()
            .col_expr(badge::Column::LastUpdatedOn, Expr::value(now.0))
            .filter(badge::Column::Id.eq(c.badge_id.as_str()))
            .exec(&txn)
            .await?;
        let view = self.badge_definition(&txn, org, &c.badge_id).await?;
        super::bump_catalogue(&txn, org).await?;
        txn.commit().await?;
        Ok(view)
    }

    pub async fn upsert_customer(&self, p: &Principal, c: &UpsertCustomerCommand) -> Result<()> {
        let org = p.org_id;
        let email = c.email.as_ref().map(|e| crate::domain::customer_email(e));
        let txn = self.write_txn_as(p).await?;
        let mut taken = Vec::new();
        for (field, column, value) in [
            ("email", customer::Column::Email, &email),
            ("mobile", customer::Column::Mobile, &c.mobile),
            ("externalId", customer::Column::ExternalId, &c.external_id),
            ("cardNumber", customer::Column::CardNumber, &c.card_number),
        ] {
            let Some(value) = value else { continue };
            let owner = customer::Entity::find()
                .filter(customer::Column::OrgId.eq(org))
                .filter(column.eq(value.as_str()))
                .filter(customer::Column::CustomerId.ne(c.customer_id))
                .one(&txn)
                .await?;
            if owner.is_some() {
                taken.push(problem(
                    CODE_IDENTIFIER_TAKEN,
                    format!("{field} belongs to another customer"),
                    field,
                ));
            }
        }
        if !taken.is_empty() {
            return Err(Error::Conflict(taken));
        }
        let model = customer::ActiveModel {
            org_id: Set(org),
            customer_id: Set(c.customer_id),
            email: Set(email),
            mobile: Set(c.mobile.clone()),
            external_id: Set(c.external_id.clone()),
            card_number: Set(c.card_number.clone()),
        };
        let exists = customer::Entity::find_by_id((org, c.customer_id))
            .one(&txn)
            .await?
            .is_some();
        let written = if exists {
            model.update(&txn).await.map(|_| ())
        } else {
            customer::Entity::insert(model)
                .exec_without_returning(&txn)
                .await
                .map(|_| ())
        };
        match written {
            Ok(()) => {}
            // A concurrent writer took an identifier between the check and the write.
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::Conflict(vec![problem(
                    CODE_IDENTIFIER_TAKEN,
                    "an identifier belongs to another customer",
                    "customerId",
                )]));
            }
            Err(e) => return Err(e.into()),
        }
        txn.commit().await?;
        Ok(())
    }

    pub async fn enrol(
        &self,
        p: &Principal,
        c: &EnrolCommand,
        clock: &dyn Clock,
    ) -> Result<Vec<EnrolOutcome>> {
        let org = p.org_id;
        const KIND: &str = "enrol";
        let request = c.request_id.as_deref();
        let txn = match self.begin_write(p, KIND, request, c, clock.now()).await? {
            Begun::Replay(answer) => return Ok(answer),
            Begun::Fresh(txn) => txn,
        };
        let badge = badge_rules(&self.find_badge(&txn, org, &c.badge_id).await?)?;
        let problems = rules::check_enrol_badge(&badge);
        if !problems.is_empty() {
            return Err(Error::Invalid(problems));
        }
        let existing = self.lock_customers(&txn, org, &c.customers).await?;
        // Read under the customers' locks: their events' times follow the
        // order their writes commit in.
        let now = clock.now();
        // The latest enrolment of each customer in this badge.
        let mut latest: HashMap<i64, Enrolment> = HashMap::new();
        for e in enrolment::Entity::find()
            .filter(enrolment::Column::OrgId.eq(org))
            .filter(enrolment::Column::BadgeId.eq(c.badge_id.as_str()))
            .filter(enrolment::Column::CustomerId.is_in(c.customers.iter().copied()))
            .order_by_asc(enrolment::Column::IssuedAt)
            .order_by_asc(enrolment::Column::Id)
            .all(&txn)
            .await?
        {
            latest.insert(e.customer_id, enrolment_of(&e));
        }
        let mut outcomes = Vec::with_capacity(c.customers.len());
        let mut rows = Vec::new();
        let mut events = Vec::new();
        let mut seen = HashSet::new();
        // The issue event's time: the request's, else the recording's.
        let issued = c.issued_at.unwrap_or(now);
        for &customer_id in &c.customers {
            let repeated = !seen.insert(customer_id);
            let verdict = rules::check_enrol_customer(
                existing.contains(&customer_id),
                latest.get(&customer_id),
                repeated,
                now,
            );
            match verdict {
                Some(p) => outcomes.push(EnrolOutcome {
                    customer_id,
                    expires_on: None,
                    problems: vec![p],
                }),
                None => {
                    let expires = badge.enrolment_expiry(now);
                    let issued_badge_id = new_object_id(now);
                    events.push(Event::CustomerEnrolled {
                        customer_id,
                        badge_id: c.badge_id.clone(),
                        issued_badge_id: issued_badge_id.clone(),
                        occurred_at: issued,
                        expires_on: expires,
                    });
                    rows.push(enrolment::ActiveModel {
                        org_id: Set(org),
                        badge_id: Set(c.badge_id.clone()),
                        customer_id: Set(customer_id),
                        issued_at: Set(now.0),
                        expires_at: Set(expires.map(|m| m.0)),
                        revoked: Set(false),
                        request_id: Set(c.request_id.clone()),
                        event_at: Set(Some(issued.0)),
                        issued_badge_id: Set(Some(issued_badge_id)),
                        ..Default::default()
                    });
                    outcomes.push(EnrolOutcome {
                        customer_id,
                        expires_on: expires,
                        problems: vec![],
                    });
                }
            }
        }
        if !rows.is_empty() {
            enrolment::Entity::insert_many(rows)
                .exec_without_returning(&txn)
                .await?;
        }
        self.record(&txn, org, now, events).await?;
        if let Some(rid) = request {
            self.store_answer(&txn, org, KIND, rid, &outcomes).await?;
        }
        txn.commit().await?;
        self.ring();
        Ok(outcomes)
    }

    pub async fn earn(
        &self,
        p: &Principal,
        c: &EarnCommand,
        clock: &dyn Clock,
    ) -> Result<EarnOutcome> {
        let org = p.org_id;
        const KIND: &str = "earn";
        let request = c.request_id.as_deref();
        let txn = match self.begin_write(p, KIND, request, c, clock.now()).await? {
            Begun::Replay(answer) => return Ok(answer),
            Begun::Fresh(txn) => txn,
        };
        let badge = badge_rules(&self.find_badge(&txn, org, &c.badge_id).await?)?;
        if !self
            .lock_customers(&txn, org, &[c.customer_id])
            .await?
            .contains(&c.customer_id)
        {
            return Err(Error::NotFound(Problem::customer_not_found()));
        }
        // Read under the customer's lock (see `enrol`).
        let now = clock.now();
        let event_at = c.event_at.unwrap_or(now);
        let latest = enrolment::Entity::find()
            .filter(enrolment::Column::OrgId.eq(org))
            .filter(enrolment::Column::BadgeId.eq(c.badge_id.as_str()))
            .filter(enrolment::Column::CustomerId.eq(c.customer_id))
            .order_by_desc(enrolment::Column::IssuedAt)
            .order_by_desc(enrolment::Column::Id)
            .one(&txn)
            .await?
            .map(|e| enrolment_of(&e));
        let problems = rules::check_earn(&badge, latest.as_ref(), event_at, now);
        if !problems.is_empty() {
            return Err(Error::Invalid(problems));
        }
        let expires_on = badge.award_expiry(now);
        let earned_badge_id = new_object_id(now);
        award::Entity::insert(award::ActiveModel {
            earned_badge_id: Set(earned_badge_id.clone()),
            org_id: Set(org),
            badge_id: Set(c.badge_id.clone()),
            customer_id: Set(c.customer_id),
            awarded_at: Set(now.0),
            event_at: Set(event_at.0),
            expires_at: Set(expires_on.map(|m| m.0)),
            revoked: Set(false),
            request_id: Set(c.request_id.clone()),
            triggered_by_owner: Set(c.triggered_by.as_ref().map(|(o, _)| o.as_str().to_owned())),
            triggered_by_reference: Set(c.triggered_by.as_ref().map(|(_, r)| r.clone())),
            ..Default::default()
        })
        .exec_without_returning(&txn)
        .await?;
        let event = Event::BadgeEarned {
            customer_id: c.customer_id,
            badge_id: c.badge_id.clone(),
            earned_badge_id: earned_badge_id.clone(),
            occurred_at: event_at,
            expires_on,
            triggered_by: c
                .triggered_by
                .as_ref()
                .map(|(owner, reference)| TriggeredBy {
                    owner_type: *owner,
                    reference_id: Some(reference.clone()),
                }),
        };
        self.record(&txn, org, now, vec![event]).await?;
        let outcome = EarnOutcome {
            badge_id: c.badge_id.clone(),
            customer_id: c.customer_id,
            earned_badge_id,
            expires_on,
            request_id: c.request_id.clone(),
        };
        if let Some(rid) = request {
            self.store_answer(&txn, org, KIND, rid, &outcome).await?;
        }
        txn.commit().await?;
        self.ring();
        Ok(outcome)
    }

    pub async fn revoke(&self, p: &Principal, c: &RevokeCommand, clock: &dyn Clock) -> Result<()> {
        let org = p.org_id;
        let txn = self.write_txn_as(p).await?;
        self.lock_customers(&txn, org, &[c.customer_id]).await?;
        // Read under the customer's lock (see `enrol`).
        let now = clock.now();
        let updated = award::Entity::update_many()
            .col_expr(award::Column::Revoked, Expr::value(true))
            .filter(award::Column::OrgId.eq(org))
            .filter(award::Column::EarnedBadgeId.eq(c.earned_badge_id.as_str()))
            .filter(award::Column::BadgeId.eq(c.badge_id.as_str()))
            .filter(award::Column::CustomerId.eq(c.customer_id))
            .filter(award::Column::Revoked.eq(false))
            .exec(&txn)
            .await?;
        if updated.rows_affected == 0 {
            return Err(Error::Invalid(vec![problem(
                CODE_NO_ACTIVE_AWARD,
                "there is no active award with this earnedBadgeId for this badge and customer",
                "earnedBadgeId",
            )]));
        }
        let event = Event::BadgeEarnRevoked {
            customer_id: c.customer_id,
            badge_id: c.badge_id.clone(),
            earned_badge_id: c.earned_badge_id.clone(),
        };
        self.record(&txn, org, now, vec![event]).await?;
        txn.commit().await?;
        self.ring();
        Ok(())
    }

    /// Imports historical awards; each item succeeds or fails on its own, and
    /// the successful ones are written in one transaction.
    pub async fn import(
        &self,
        p: &Principal,
        items: &[ImportItem],
        clock: &dyn Clock,
    ) -> Result<Vec<ImportOutcome>> {
        let org = p.org_id;
        let txn = self.write_txn_as(p).await?;
        let badge_ids: HashSet<&str> = items.iter().map(|i| i.badge_id.as_str()).collect();
        let badges: HashMap<String, BadgeRules> = badge::Entity::find()
            .filter(badge::Column::OrgId.eq(org))
            .filter(badge::Column::Id.is_in(badge_ids.iter().map(|s| s.to_string())))
            .all(&txn)
            .await?
            .iter()
            .map(|b| Ok((b.id.clone(), badge_rules(b)?)))
            .collect::<Result<_>>()?;
        let customer_ids: Vec<i64> = items.iter().map(|i| i.customer_id).collect();
        let customers = self.lock_customers(&txn, org, &customer_ids).await?;
        // Read under the customers' locks (see `enrol`).
        let now = clock.now();

        let mut outcomes = Vec::with_capacity(items.len());
        let mut rows = Vec::new();
        let mut events = Vec::new();
        for item in items {
            let badge = badges.get(&item.badge_id);
            let problems = rules::check_import(badge, customers.contains(&item.customer_id), item);
            let (Some(b), true) = (badge, problems.is_empty()) else {
                outcomes.push(ImportOutcome {
                    badge_id: item.badge_id.clone(),
                    customer_id: item.customer_id,
                    result: Err(problems),
                });
                continue;
            };
            let expires_on = item.expires_on.or_else(|| b.award_expiry(item.event_at));
            let earned_badge_id = new_object_id(now);
            rows.push(award::ActiveModel {
                earned_badge_id: Set(earned_badge_id.clone()),
                org_id: Set(org),
                badge_id: Set(item.badge_id.clone()),
                customer_id: Set(item.customer_id),
                awarded_at: Set(now.0),
                event_at: Set(item.event_at.0),
                expires_at: Set(expires_on.map(|m| m.0)),
                revoked: Set(false),
                request_id: Set(None),
                triggered_by_owner: Set(Some(Owner::HistoricalImport.as_str().to_owned())),
                triggered_by_reference: Set(None),
                ..Default::default()
            });
            events.push(Event::BadgeEarned {
                customer_id: item.customer_id,
                badge_id: item.badge_id.clone(),
                earned_badge_id: earned_badge_id.clone(),
                occurred_at: item.event_at,
                expires_on,
                triggered_by: Some(TriggeredBy {
                    owner_type: Owner::HistoricalImport,
                    reference_id: None,
                }),
            });
            outcomes.push(ImportOutcome {
                badge_id: item.badge_id.clone(),
                customer_id: item.customer_id,
                result: Ok((earned_badge_id, expires_on)),
            });
        }
        if !rows.is_empty() {
            award::Entity::insert_many(rows)
                .exec_without_returning(&txn)
                .await?;
        }
        self.record(&txn, org, now, events).await?;
        txn.commit().await?;
        self.ring();
        Ok(outcomes)
    }
}
