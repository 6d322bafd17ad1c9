//! The org's catalogue (BEHAVIOUR.md §9): groups, badges, their activation
//! and claims, custom fields, and the reads of them. Each write moves the
//! org's catalogue version in its transaction, so that every process
//! reloads the catalogue's index with its next call, and carries the org's
//! index snapshot to that version (`Tx::carry_snapshot`), so that reload is
//! one read by key. Reads check the caller's client row and read the
//! version in one statement (`Store::reader`), then take the index and the
//! rows from the caches, like the customer list.

use std::sync::Arc;

use super::{BadgeService, invalid_unless_empty};
use crate::domain::Problem;
use crate::domain::admin::{self, Author, ClaimRequest, Group, NewBadgeRequest, NewGroupCommand};
use crate::domain::badge::{Badge, Claim};
use crate::domain::catalogue::IndexedGroup;
use crate::domain::constraints::Level;
use crate::domain::custom_fields::{self, CustomField, CustomFieldRequest};
use crate::domain::detail::TriggeredBy;
use crate::domain::events::{DefinitionChange, Event};
use crate::domain::extras;
use crate::domain::fixed_windows::{self, FixedWindowPage, FixedWindowParams};
use crate::domain::ids::{is_object_id, new_object_id};
use crate::domain::org_list::{self, OrgListParams};
use crate::domain::principal::Principal;
use crate::domain::rules::{self, ClaimChange, ClaimState};
use crate::domain::update::validate_update;
use crate::error::{Error, Result};
use crate::store::{Counts, Listed, Paging, Tx, Unique};

fn badge_not_found() -> Error {
    Error::NotFound(Problem::badge_not_found("badgeMetaId"))
}

fn group_not_found() -> Error {
    Error::NotFound(Problem::group_not_found())
}

fn custom_field_not_found() -> Error {
    Error::NotFound(Problem::custom_field_not_found())
}

/// The badge `id` as the write in `tx` left it.
async fn written(tx: &Tx<'_>, id: &str) -> Result<Badge> {
    tx.badge(id)
        .await?
        .ok_or_else(|| Error::Internal(format!("badge {id} vanished in its own write")))
}

/// A badge as the catalogue's reads show it: its row, its group's name,
/// and its counts when asked for.
#[derive(Clone, Debug)]
pub struct CatalogueBadge {
    pub badge: Arc<Badge>,
    pub group_name: Option<String>,
    pub counts: Option<Counts>,
}

/// A page of the org's badges.
#[derive(Clone, Debug)]
pub struct BadgePage {
    pub rows: Vec<CatalogueBadge>,
    pub page: i64,
    pub size: i64,
    pub total: i64,
}

impl BadgeService {
    fn author(&self, p: &Principal) -> Author {
        Author {
            org_id: p.org_id,
            client_id: p.client_id,
            now: self.clock.now(),
        }
    }

    // ---- groups

    pub async fn create_group(&self, p: &Principal, c: NewGroupCommand) -> Result<Group> {
        invalid_unless_empty(admin::validate_group(&c))?;
        let by = self.author(p);
        let group = Group {
            id: new_object_id(by.now),
            org_id: p.org_id,
            name: c.name,
            rank: c.rank.unwrap_or_default(),
            created_on: by.now,
            created_by: Some(by.client_id),
            last_updated_on: by.now,
            last_updated_by: Some(by.client_id),
        };
        let tx = self.store.begin(p).await?;
        if tx.insert_group(&group).await? == Unique::Taken {
            return Err(Error::Conflict(vec![Problem::group_name_taken()]));
        }
        tx.carry_snapshot(None).await?;
        tx.commit().await?;
        Ok(group)
    }

    /// Renames and re-ranks the group `id`: 732, 733 as create; 1055 when
    /// the org has no such group.
    pub async fn update_group(&self, p: &Principal, id: &str, c: NewGroupCommand) -> Result<Group> {
        invalid_unless_empty(admin::validate_group(&c))?;
        if !is_object_id(id) {
            return Err(group_not_found());
        }
        let by = self.author(p);
        let tx = self.store.begin(p).await?;
        let before = tx.group(id).await?.ok_or_else(group_not_found)?;
        let group = Group {
            name: c.name,
            rank: c.rank.unwrap_or_default(),
            last_updated_on: by.now,
            last_updated_by: Some(by.client_id),
            ..before
        };
        if tx.update_group(&group).await? == Unique::Taken {
            return Err(Error::Conflict(vec![Problem::group_name_taken()]));
        }
        tx.carry_group_snapshot(
            &group.id,
            IndexedGroup {
                name: group.name.clone(),
                rank: group.rank,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(group)
    }

    pub async fn get_group(&self, p: &Principal, id: &str) -> Result<Group> {
        self.store.reader(p).await?;
        if !is_object_id(id) {
            return Err(group_not_found());
        }
        self.store
            .group(p.org_id, id)
            .await?
            .ok_or_else(group_not_found)
    }

    pub async fn list_groups(&self, p: &Principal, paging: Paging) -> Result<Listed<Group>> {
        self.store.reader(p).await?;
        self.store.groups(p.org_id, paging).await
    }

    // ---- badges

    pub async fn create_badge(&self, p: &Principal, r: NewBadgeRequest) -> Result<Badge> {
        let by = self.author(p);
        let mut badge =
            admin::validate_badge(r, new_object_id(by.now), by).map_err(Error::Invalid)?;
        let mut tx = self.store.begin(p).await?;
        if let Some(group) = &badge.group_id
            && !tx.group_exists(group).await?
        {
            return Err(Error::NotFound(Problem::group_not_found()));
        }
        badge.extras.custom_fields =
            extras::custom_values(&badge.extras.custom_fields, &tx.custom_fields().await?)
                .map_err(Error::Invalid)?;
        if tx.insert_badge(&badge).await? == Unique::Taken {
            return Err(Error::Conflict(vec![Problem::badge_name_taken()]));
        }
        let created = written(&tx, &badge.id).await?;
        tx.append(
            by.now,
            vec![definition_changed(&created, DefinitionChange::Created)],
        )
        .await?;
        tx.carry_snapshot(Some(&created)).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Rewrites the badge `id` as `r` asks (BEHAVIOUR.md §9.2, the rules of
    /// `domain::update`); 1054 when the org has no such badge.
    pub async fn update_badge(&self, p: &Principal, id: &str, r: NewBadgeRequest) -> Result<Badge> {
        if !is_object_id(id) {
            return Err(Error::NotFound(Problem::badge_not_found("id")));
        }
        let by = self.author(p);
        let mut tx = self.store.begin(p).await?;
        let before = tx
            .badge(id)
            .await?
            .ok_or_else(|| Error::NotFound(Problem::badge_not_found("id")))?;
        let mut after = validate_update(&before, r, by).map_err(Error::Invalid)?;
        if let Some(group) = &after.group_id
            && !tx.group_exists(group).await?
        {
            return Err(Error::NotFound(Problem::group_not_found()));
        }
        after.extras.custom_fields =
            extras::custom_values(&after.extras.custom_fields, &tx.custom_fields().await?)
                .map_err(Error::Invalid)?;
        if tx.update_badge(&after, by.now).await? == Unique::Taken {
            return Err(Error::Conflict(vec![Problem::badge_name_taken()]));
        }
        let updated = written(&tx, id).await?;
        let mut events = vec![definition_changed(&updated, DefinitionChange::Updated)];
        if before.active != updated.active {
            events.push(Event::BadgeActivationChanged {
                badge_id: id.to_owned(),
                active: updated.active,
            });
        }
        tx.append(by.now, events).await?;
        tx.carry_snapshot(Some(&updated)).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// The badge `id` as stored, with its counts when `include_statistics`;
    /// 1054 when the org has no such badge (another org's alike).
    pub async fn get_badge(
        &self,
        p: &Principal,
        id: &str,
        include_statistics: bool,
    ) -> Result<CatalogueBadge> {
        let version = self.store.reader(p).await?;
        let not_found = || Error::NotFound(Problem::badge_not_found("badgeId"));
        if !is_object_id(id) {
            return Err(not_found());
        }
        let catalogue = self.catalogues.get(&self.store, p.org_id, version).await?;
        let pos = catalogue.position(id).ok_or_else(not_found)?;
        let badge = self.catalogues.row(&self.store, &catalogue, pos).await?;
        let counts = if include_statistics {
            let counts = self.store.badge_counts(p.org_id, &[id]).await?;
            Some(counts.get(id).copied().unwrap_or_default())
        } else {
            None
        };
        Ok(CatalogueBadge {
            group_name: catalogue
                .group_name(catalogue.entry(pos))
                .map(str::to_owned),
            badge,
            counts,
        })
    }

    /// A badge's fixed-window cycles (`getFixedWindowDetails`, BEHAVIOUR.md
    /// §11): computed from the badge, with, on request, each cycle's awards
    /// counted (one indexed read per level); 1054 for another org's or a
    /// missing badge, 1026 for a customer the org does not have.
    pub async fn fixed_window_details(
        &self,
        p: &Principal,
        params: FixedWindowParams,
    ) -> Result<FixedWindowPage> {
        let q = fixed_windows::validate(params).map_err(Error::Invalid)?;
        let version = self.store.reader(p).await?;
        let catalogue = self.catalogues.get(&self.store, p.org_id, version).await?;
        let pos = catalogue
            .position(&q.badge_id)
            .ok_or_else(badge_not_found)?;
        let badge = self.catalogues.row(&self.store, &catalogue, pos).await?;
        if let Some(c) = q.customer_id
            && !self.store.customer_exists(p.org_id, c).await?
        {
            return Err(Error::NotFound(Problem::customer_not_found()));
        }
        let (mut cycles, total) = fixed_windows::select(&badge, &q);
        if q.include_earn_count {
            let spans = fixed_windows::spans(&cycles, Level::Badge);
            if !spans.is_empty() {
                let counts = self
                    .store
                    .count_awards_now(p.org_id, &badge.id, None, &spans)
                    .await?;
                fixed_windows::fill(&mut cycles, Level::Badge, &counts);
            }
            let spans = fixed_windows::spans(&cycles, Level::Customer);
            if let (false, Some(c)) = (spans.is_empty(), q.customer_id) {
                let counts = self
                    .store
                    .count_awards_now(p.org_id, &badge.id, Some(c), &spans)
                    .await?;
                fixed_windows::fill(&mut cycles, Level::Customer, &counts);
            }
        }
        Ok(FixedWindowPage {
            badge_id: badge.id.clone(),
            org_id: p.org_id,
            customer_id: q.customer_id,
            start: q.start,
            end: q.end,
            cycles,
            paging: q.paging,
            total,
        })
    }

    /// A page of the org's badges (BEHAVIOUR.md §9.2), each with its counts:
    /// one statement for the caller and the version, the page from the
    /// index in memory, its rows from the row cache, and one statement by
    /// key for the page's counts.
    pub async fn list_badges(&self, p: &Principal, params: OrgListParams) -> Result<BadgePage> {
        let query = org_list::validate(params).map_err(Error::Invalid)?;
        let version = self.store.reader(p).await?;
        let now = self.clock.now();
        let catalogue = self.catalogues.get(&self.store, p.org_id, version).await?;
        let (positions, total) = org_list::select(&catalogue, &query, now);
        let badges = self
            .catalogues
            .rows(&self.store, &catalogue, &positions)
            .await?;
        let ids: Vec<&str> = badges.iter().map(|b| b.id.as_str()).collect();
        let counts = self.store.badge_counts(p.org_id, &ids).await?;
        let rows = badges
            .iter()
            .zip(&positions)
            .map(|(badge, &pos)| CatalogueBadge {
                group_name: catalogue
                    .group_name(catalogue.entry(pos))
                    .map(str::to_owned),
                counts: Some(counts.get(&badge.id).copied().unwrap_or_default()),
                badge: badge.clone(),
            })
            .collect();
        Ok(BadgePage {
            rows,
            page: query.page,
            size: query.size,
            total,
        })
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
        let mut tx = self.store.begin(p).await?;
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
        let event = Event::BadgeDefinitionChanged {
            badge_id: badge.id.clone(),
            change: if active {
                DefinitionChange::Claimed
            } else {
                DefinitionChange::Unclaimed
            },
            active: badge.active,
            claim: Some(TriggeredBy {
                owner_type: claim.owner_type,
                reference_id: Some(claim.reference_id),
            }),
        };
        tx.append(now, vec![event]).await?;
        tx.carry_snapshot(Some(&badge)).await?;
        tx.commit().await?;
        Ok(badge)
    }

    // ---- custom fields

    pub async fn create_custom_field(
        &self,
        p: &Principal,
        r: CustomFieldRequest,
    ) -> Result<CustomField> {
        let c = custom_fields::validate(r).map_err(Error::Invalid)?;
        let by = self.author(p);
        let field = CustomField {
            id: new_object_id(by.now),
            org_id: p.org_id,
            name: c.name,
            data_type: c.data_type,
            is_mandatory: c.is_mandatory,
            default_value: c.default_value,
            is_active: c.is_active.unwrap_or(true),
            created_on: by.now,
            created_by: Some(by.client_id),
            last_updated_on: by.now,
            last_updated_by: Some(by.client_id),
        };
        let tx = self.store.begin(p).await?;
        if tx.insert_custom_field(&field).await? == Unique::Taken {
            return Err(Error::Conflict(vec![Problem::custom_field_name_taken()]));
        }
        tx.commit().await?;
        Ok(field)
    }

    /// Rewrites the custom field `id`. Badges keep the values they hold: a
    /// field's type or mandatory flag binds the badges written after.
    pub async fn update_custom_field(
        &self,
        p: &Principal,
        id: &str,
        r: CustomFieldRequest,
    ) -> Result<CustomField> {
        let c = custom_fields::validate(r).map_err(Error::Invalid)?;
        if !is_object_id(id) {
            return Err(custom_field_not_found());
        }
        let by = self.author(p);
        let tx = self.store.begin(p).await?;
        let before = tx
            .custom_fields()
            .await?
            .into_iter()
            .find(|f| f.id == id)
            .ok_or_else(custom_field_not_found)?;
        let field = CustomField {
            name: c.name,
            data_type: c.data_type,
            is_mandatory: c.is_mandatory,
            default_value: c.default_value,
            is_active: c.is_active.unwrap_or(before.is_active),
            last_updated_on: by.now,
            last_updated_by: Some(by.client_id),
            ..before
        };
        if tx.update_custom_field(&field).await? == Unique::Taken {
            return Err(Error::Conflict(vec![Problem::custom_field_name_taken()]));
        }
        tx.commit().await?;
        Ok(field)
    }

    pub async fn get_custom_field(&self, p: &Principal, id: &str) -> Result<CustomField> {
        self.store.reader(p).await?;
        if !is_object_id(id) {
            return Err(custom_field_not_found());
        }
        self.store
            .custom_field(p.org_id, id)
            .await?
            .ok_or_else(custom_field_not_found)
    }

    pub async fn list_custom_fields(
        &self,
        p: &Principal,
        active: Option<bool>,
        paging: Paging,
    ) -> Result<Listed<CustomField>> {
        self.store.reader(p).await?;
        self.store.custom_fields(p.org_id, active, paging).await
    }
}

/// The event of a change to a badge's definition.
fn definition_changed(badge: &Badge, change: DefinitionChange) -> Event {
    Event::BadgeDefinitionChanged {
        badge_id: badge.id.clone(),
        change,
        active: badge.active,
        claim: None,
    }
}
