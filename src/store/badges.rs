//! A badge's rows: the `badges` row with its images, restricted owners and
//! claims, written from a [`Badge`] and read back into one, by the admin
//! API's writes, the catalogue and the seed alike.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use super::Dialect;
use super::entity::{badge, badge_claim, badge_image, badge_owner};
use super::expiry::{stored_rule, stored_rule_json};
use crate::domain::Micros;
use crate::domain::badge::{Badge, Claim, Extras, Image};
use crate::domain::enums::{EarnType, Owner};
use crate::error::{Error, Result};

/// A stored enum value or rule that no longer parses is corrupt data, not
/// bad input.
pub(super) fn stored<T>(parsed: Option<T>, raw: &str) -> Result<T> {
    parsed.ok_or_else(|| Error::Internal(format!("unknown stored value {raw:?}")))
}

/// The parts of badges read apart from their rows, by badge id.
#[derive(Default)]
pub(super) struct Parts {
    pub images: HashMap<String, Vec<Image>>,
    pub owners: HashMap<String, Vec<Owner>>,
    pub claims: HashMap<String, Vec<Claim>>,
}

impl Parts {
    /// Adds rows read in their order (images and claims by id, owners by
    /// position).
    pub fn add(
        &mut self,
        images: Vec<badge_image::Model>,
        owners: Vec<badge_owner::Model>,
        claims: Vec<badge_claim::Model>,
    ) -> Result<()> {
        for i in images {
            self.images.entry(i.badge_id).or_default().push(Image {
                name: i.name,
                file_svc_handle: i.file_svc_handle,
                url: i.url,
                tag: i.tag,
            });
        }
        for o in owners {
            let owner = stored(Owner::parse(&o.owner), &o.owner)?;
            self.owners.entry(o.badge_id).or_default().push(owner);
        }
        for c in claims {
            self.claims.entry(c.badge_id).or_default().push(Claim {
                owner_type: stored(Owner::parse(&c.owner_type), &c.owner_type)?,
                reference_id: c.reference_id,
                is_active: c.is_active,
            });
        }
        Ok(())
    }

    /// The badge of row `b`, with its parts taken out of these.
    pub fn badge(&mut self, b: badge::Model) -> Result<Badge> {
        Ok(Badge {
            earn_type: stored(EarnType::parse(&b.earn_type), &b.earn_type)?,
            earned_badge_expiry: stored_rule(&b.earned_badge_expiry)?,
            issued_badge_expiry: stored_rule(&b.issued_badge_expiry)?,
            images: self.images.remove(&b.id).unwrap_or_default(),
            owners: self.owners.remove(&b.id).unwrap_or_default(),
            claims: self.claims.remove(&b.id).unwrap_or_default(),
            id: b.id,
            org_id: b.org_id,
            name: b.name,
            description: b.description,
            active: b.active,
            starts_on: Micros(b.starts_on),
            expires_on: Micros(b.expires_on),
            created_on: Micros(b.created_on),
            last_updated_on: Micros(b.last_updated_on),
            group_id: b.group_id,
            rank: b.rank,
            created_by: b.created_by,
            last_updated_by: b.last_updated_by,
            extras: stored(serde_json::from_str(&b.extras).ok(), &b.extras)?,
        })
    }
}

/// The badge `id` of `org`, with its parts.
pub(super) async fn read_badge(
    conn: &impl ConnectionTrait,
    dialect: Dialect,
    org: i32,
    id: &str,
) -> Result<Option<Badge>> {
    Ok(read_badges(conn, dialect, org, &[id.to_owned()])
        .await?
        .pop())
}

/// The badges `ids` of `org` (those it has), with their parts, by key.
pub(super) async fn read_badges(
    conn: &impl ConnectionTrait,
    dialect: Dialect,
    org: i32,
    ids: &[String],
) -> Result<Vec<Badge>> {
    let rows = badge::Entity::find()
        .filter(badge::Column::OrgId.eq(org))
        .filter(Expr::col(badge::Column::Id).is_in(ids.iter().map(|id| dialect.object_id(id))))
        .all(conn)
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let found = || rows.iter().map(|b| dialect.object_id(&b.id));
    let images = badge_image::Entity::find()
        .filter(badge_image::Column::OrgId.eq(org))
        .filter(Expr::col(badge_image::Column::BadgeId).is_in(found()))
        .order_by_asc(badge_image::Column::Id)
        .all(conn)
        .await?;
    let owners = badge_owner::Entity::find()
        .filter(badge_owner::Column::OrgId.eq(org))
        .filter(Expr::col(badge_owner::Column::BadgeId).is_in(found()))
        .order_by_asc(badge_owner::Column::Position)
        .all(conn)
        .await?;
    let claims = badge_claim::Entity::find()
        .filter(badge_claim::Column::OrgId.eq(org))
        .filter(Expr::col(badge_claim::Column::BadgeId).is_in(found()))
        .order_by_asc(badge_claim::Column::Id)
        .all(conn)
        .await?;
    let mut parts = Parts::default();
    parts.add(images, owners, claims)?;
    rows.into_iter().map(|b| parts.badge(b)).collect()
}

/// The rows of a new badge (its images, restricted owners, each once, and
/// claims), and the move of its org's catalogue version: the one way a badge
/// is inserted, by the admin API and the seed alike. Run it in a transaction.
pub(super) async fn insert_badge_rows(
    conn: &impl ConnectionTrait,
    new: &Badge,
) -> std::result::Result<(), DbErr> {
    badge::Entity::insert(badge::ActiveModel {
        id: Set(new.id.clone()),
        org_id: Set(new.org_id),
        name_lower: Set(new.name.to_lowercase()),
        name: Set(new.name.clone()),
        description: Set(new.description.clone()),
        earn_type: Set(new.earn_type.as_str().to_owned()),
        active: Set(new.active),
        starts_on: Set(new.starts_on.0),
        expires_on: Set(new.expires_on.0),
        created_on: Set(new.created_on.0),
        last_updated_on: Set(new.last_updated_on.0),
        group_id: Set(new.group_id.clone()),
        rank: Set(new.rank),
        earned_badge_expiry: Set(stored_rule_json(new.earned_badge_expiry)),
        issued_badge_expiry: Set(stored_rule_json(new.issued_badge_expiry)),
        created_by: Set(new.created_by),
        last_updated_by: Set(new.last_updated_by),
        extras: Set(extras_json(&new.extras)),
    })
    .exec_without_returning(conn)
    .await?;
    insert_parts(conn, new).await?;
    super::bump_catalogue(conn, new.org_id).await
}

/// The stored form of a badge's extras.
fn extras_json(e: &Extras) -> String {
    serde_json::to_string(e).unwrap_or_else(|_| "{}".to_owned())
}

/// Rewrites the badge `b` (its id and org as stored) as an update asks:
/// every field but its id, org, creation and claims, and its images and
/// restricted owners; `last_updated_on` moves forward (`touched`), and so
/// does the org's catalogue version. Run it in a transaction.
pub(super) async fn update_badge_rows(
    conn: &impl ConnectionTrait,
    dialect: Dialect,
    b: &Badge,
    touched: sea_orm::sea_query::SimpleExpr,
) -> std::result::Result<(), DbErr> {
    let id = || dialect.object_id(&b.id);
    badge::Entity::update_many()
        .col_expr(badge::Column::Name, Expr::value(b.name.clone()))
        .col_expr(badge::Column::NameLower, Expr::value(b.name.to_lowercase()))
        .col_expr(
            badge::Column::Description,
            Expr::value(b.description.clone()),
        )
        .col_expr(badge::Column::EarnType, Expr::value(b.earn_type.as_str()))
        .col_expr(badge::Column::Active, Expr::value(b.active))
        .col_expr(badge::Column::StartsOn, Expr::value(b.starts_on.0))
        .col_expr(badge::Column::ExpiresOn, Expr::value(b.expires_on.0))
        .col_expr(badge::Column::LastUpdatedOn, touched)
        .col_expr(badge::Column::GroupId, Expr::value(b.group_id.clone()))
        .col_expr(badge::Column::Rank, Expr::value(b.rank))
        .col_expr(
            badge::Column::EarnedBadgeExpiry,
            Expr::value(stored_rule_json(b.earned_badge_expiry)),
        )
        .col_expr(
            badge::Column::IssuedBadgeExpiry,
            Expr::value(stored_rule_json(b.issued_badge_expiry)),
        )
        .col_expr(badge::Column::LastUpdatedBy, Expr::value(b.last_updated_by))
        .col_expr(badge::Column::Extras, Expr::value(extras_json(&b.extras)))
        .filter(Expr::col(badge::Column::Id).eq(id()))
        .filter(badge::Column::OrgId.eq(b.org_id))
        .exec(conn)
        .await?;
    badge_image::Entity::delete_many()
        .filter(badge_image::Column::OrgId.eq(b.org_id))
        .filter(Expr::col(badge_image::Column::BadgeId).eq(id()))
        .exec(conn)
        .await?;
    badge_owner::Entity::delete_many()
        .filter(badge_owner::Column::OrgId.eq(b.org_id))
        .filter(Expr::col(badge_owner::Column::BadgeId).eq(id()))
        .exec(conn)
        .await?;
    insert_parts(
        conn,
        &Badge {
            claims: Vec::new(),
            ..b.clone()
        },
    )
    .await?;
    super::bump_catalogue(conn, b.org_id).await
}

/// A badge's images, restricted owners (each once) and claims.
async fn insert_parts(conn: &impl ConnectionTrait, new: &Badge) -> std::result::Result<(), DbErr> {
    if !new.images.is_empty() {
        badge_image::Entity::insert_many(new.images.iter().map(|i| badge_image::ActiveModel {
            org_id: Set(new.org_id),
            badge_id: Set(new.id.clone()),
            name: Set(i.name.clone()),
            file_svc_handle: Set(i.file_svc_handle.clone()),
            url: Set(i.url.clone()),
            tag: Set(i.tag.clone()),
            ..Default::default()
        }))
        .exec_without_returning(conn)
        .await?;
    }
    let mut owners: Vec<Owner> = Vec::new();
    for o in &new.owners {
        if !owners.contains(o) {
            owners.push(*o);
        }
    }
    if !owners.is_empty() {
        badge_owner::Entity::insert_many(owners.iter().enumerate().map(|(i, o)| {
            badge_owner::ActiveModel {
                org_id: Set(new.org_id),
                badge_id: Set(new.id.clone()),
                owner: Set(o.as_str().to_owned()),
                position: Set(i as i32),
            }
        }))
        .exec_without_returning(conn)
        .await?;
    }
    if !new.claims.is_empty() {
        badge_claim::Entity::insert_many(new.claims.iter().map(|c| badge_claim::ActiveModel {
            org_id: Set(new.org_id),
            badge_id: Set(new.id.clone()),
            owner_type: Set(c.owner_type.as_str().to_owned()),
            reference_id: Set(c.reference_id.clone()),
            is_active: Set(c.is_active),
            ..Default::default()
        }))
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}
