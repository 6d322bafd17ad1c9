//! The org's catalogue: groups, badges, their activation and their claims.
//! Each write moves the org's catalogue version in its transaction, so that
//! every process reloads the catalogue's index with its next call, and
//! carries the org's index snapshot to that version (`Tx::carry_snapshot`),
//! so that reload is one read by key.

use super::{BadgeService, invalid_unless_empty};
use crate::domain::Problem;
use crate::domain::admin::{self, ClaimRequest, GroupView, NewBadgeRequest, NewGroupCommand};
use crate::domain::badge::{Badge, Claim};
use crate::domain::events::Event;
use crate::domain::ids::{is_object_id, new_object_id};
use crate::domain::principal::Principal;
use crate::domain::rules::{self, ClaimChange, ClaimState};
use crate::error::{Error, Result};
use crate::store::{NewGroup, Tx, Unique};

fn badge_not_found() -> Error {
    Error::NotFound(Problem::badge_not_found("badgeMetaId"))
}

/// The badge `id` as the write in `tx` left it.
async fn written(tx: &Tx<'_>, id: &str) -> Result<Badge> {
    tx.badge(id)
        .await?
        .ok_or_else(|| Error::Internal(format!("badge {id} vanished in its own write")))
}

impl BadgeService {
    pub async fn create_group(&self, p: &Principal, c: NewGroupCommand) -> Result<GroupView> {
        invalid_unless_empty(admin::validate_group(&c))?;
        let now = self.clock.now();
        let group = NewGroup {
            id: new_object_id(now),
            org_id: p.org_id,
            name: c.name,
            rank: c.rank.unwrap_or_default(),
            created_at: now,
        };
        let tx = self.store.begin(p).await?;
        if tx.insert_group(&group).await? == Unique::Taken {
            return Err(Error::Conflict(vec![Problem::group_name_taken()]));
        }
        tx.carry_snapshot(None).await?;
        tx.commit().await?;
        Ok(GroupView {
            id: group.id,
            name: group.name,
            rank: group.rank,
        })
    }

    pub async fn create_badge(&self, p: &Principal, r: NewBadgeRequest) -> Result<Badge> {
        let now = self.clock.now();
        let badge =
            admin::validate_badge(r, p.org_id, new_object_id(now), now).map_err(Error::Invalid)?;
        let tx = self.store.begin(p).await?;
        if let Some(group) = &badge.group_id
            && !tx.group_exists(group).await?
        {
            return Err(Error::NotFound(Problem::group_not_found()));
        }
        if tx.insert_badge(&badge).await? == Unique::Taken {
            return Err(Error::Conflict(vec![Problem::badge_name_taken()]));
        }
        let created = written(&tx, &badge.id).await?;
        tx.carry_snapshot(Some(&created)).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Activates (`active`) or deactivates a badge; an event when that
    /// changed it.
    pub async fn set_badge_active(&self, p: &Principal, id: &str, active: bool) -> Result<Badge> {
        if !is_object_id(id) {
            return Err(badge_not_found());
        }
        let now = self.clock.now();
        let mut tx = self.store.begin(p).await?;
        let before = tx.badge_rules(id).await?.ok_or_else(badge_not_found)?;
        tx.set_badge_active(id, active, now).await?;
        if before.active != active {
            let event = Event::BadgeActivationChanged {
                badge_id: id.to_owned(),
                active,
            };
            tx.append(now, vec![event]).await?;
        }
        let badge = written(&tx, id).await?;
        tx.carry_snapshot(Some(&badge)).await?;
        tx.commit().await?;
        Ok(badge)
    }

    /// Claims (`active`) or unclaims a badge for a module instance.
    pub async fn set_claim(&self, p: &Principal, r: ClaimRequest, active: bool) -> Result<Badge> {
        let c = admin::validate_claim(r).map_err(Error::Invalid)?;
        let now = self.clock.now();
        let tx = self.store.begin(p).await?;
        let badge = tx.badge(&c.badge_id).await?.ok_or_else(badge_not_found)?;
        let existing = badge
            .claims
            .iter()
            .find(|k| k.owner_type == c.owner_type && k.reference_id == c.reference_id);
        let change = rules::check_claim(
            &badge.owners,
            c.owner_type,
            existing.map(|k| ClaimState {
                is_active: k.is_active,
            }),
            active,
            badge.claims.len(),
        )
        .map_err(Error::Invalid)?;
        let is_active = match change {
            ClaimChange::Set(active) => active,
            ClaimChange::Insert => true,
        };
        let claim = Claim {
            owner_type: c.owner_type,
            reference_id: c.reference_id,
            is_active,
        };
        tx.save_claim(&c.badge_id, &claim, existing.is_some(), now)
            .await?;
        let badge = written(&tx, &c.badge_id).await?;
        tx.carry_snapshot(Some(&badge)).await?;
        tx.commit().await?;
        Ok(badge)
    }
}
