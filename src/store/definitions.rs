//! The org's definitions besides its badges, groups and custom fields, and
//! the badges' counts: written in a use case's transaction ([`Tx`]), read
//! by the catalogue's read calls (`Store::reader`), each read checking the
//! caller's client row first, as every call does.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::custom_fields;
use super::entity::{badge_group, custom_field};
use super::sql::Sql;
use super::{Store, Tx, Unique};
use crate::domain::Micros;
use crate::domain::admin::Group;
use crate::domain::custom_fields::CustomField;
use crate::domain::enums::SortOrder;
pub use crate::domain::org_list::Paging;
use crate::domain::principal::Principal;
use crate::error::{Error, Result};

/// A page of a list: its rows and how many there are in all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed<T> {
    pub rows: Vec<T>,
    pub total: i64,
}

fn group(m: badge_group::Model) -> Group {
    Group {
        id: m.id,
        org_id: m.org_id,
        name: m.name,
        rank: m.rank,
        created_on: Micros(m.created_at),
        created_by: m.created_by,
        last_updated_on: Micros(m.last_updated_on.unwrap_or(m.created_at)),
        last_updated_by: m.last_updated_by,
    }
}

/// The org's catalogue version and whether the caller's client row is
/// still what it was when it was authenticated, in one statement.
#[derive(Debug, FromQueryResult)]
struct Header {
    catalogue_version: Option<i64>,
    client_generation: Option<i64>,
}

impl Store {
    /// Checks the caller's client row and reads the org's catalogue
    /// version, in one statement; `StaleClient` when the row changed.
    pub async fn reader(&self, p: &Principal) -> Result<i64> {
        let mut sql = Sql::new(self.dialect);
        sql.push("SELECT (SELECT catalogue_version FROM orgs WHERE id = ")
            .bind(p.org_id)
            .push(") AS catalogue_version, (SELECT generation FROM api_clients WHERE id = ")
            .bind(p.client_id)
            .push(" AND disabled = FALSE) AS client_generation");
        let header = Header::find_by_statement(sql.build())
            .one(&self.db)
            .await?
            .ok_or_else(|| Error::Internal("the reader's header had no row".into()))?;
        if header.client_generation != Some(p.generation) {
            return Err(Error::StaleClient);
        }
        header
            .catalogue_version
            .ok_or_else(|| Error::Internal(format!("org {} has no row", p.org_id)))
    }

    /// The org's group `id` (after [`Store::reader`]).
    pub async fn group(&self, org: i32, id: &str) -> Result<Option<Group>> {
        Ok(badge_group::Entity::find()
            .filter(Expr::col(badge_group::Column::Id).eq(self.dialect.object_id(id)))
            .filter(badge_group::Column::OrgId.eq(org))
            .one(&self.db)
            .await?
            .map(group))
    }

    /// A page of the org's groups, by creation (after [`Store::reader`]).
    pub async fn groups(&self, org: i32, paging: Paging) -> Result<Listed<Group>> {
        let find = badge_group::Entity::find().filter(badge_group::Column::OrgId.eq(org));
        let total = find.clone().count(&self.db).await? as i64;
        let rows = ordered(
            find,
            paging.order,
            badge_group::Column::CreatedAt,
            badge_group::Column::Id,
        )
        .offset((paging.page * paging.size) as u64)
        .limit(paging.size as u64)
        .all(&self.db)
        .await?;
        Ok(Listed {
            rows: rows.into_iter().map(group).collect(),
            total,
        })
    }

    /// The org's custom field `id` (after [`Store::reader`]).
    pub async fn custom_field(&self, org: i32, id: &str) -> Result<Option<CustomField>> {
        custom_field::Entity::find()
            .filter(Expr::col(custom_field::Column::Id).eq(self.dialect.object_id(id)))
            .filter(custom_field::Column::OrgId.eq(org))
            .one(&self.db)
            .await?
            .map(custom_fields::of)
            .transpose()
    }

    /// A page of the org's custom fields, by last update, of those active
    /// or not when `active` says (after [`Store::reader`]).
    pub async fn custom_fields(
        &self,
        org: i32,
        active: Option<bool>,
        paging: Paging,
    ) -> Result<Listed<CustomField>> {
        let mut find = custom_field::Entity::find().filter(custom_field::Column::OrgId.eq(org));
        if let Some(active) = active {
            find = find.filter(custom_field::Column::IsActive.eq(active));
        }
        let total = find.clone().count(&self.db).await? as i64;
        let rows = ordered(
            find,
            paging.order,
            custom_field::Column::LastUpdatedOn,
            custom_field::Column::Id,
        )
        .offset((paging.page * paging.size) as u64)
        .limit(paging.size as u64)
        .all(&self.db)
        .await?;
        Ok(Listed {
            rows: rows
                .into_iter()
                .map(custom_fields::of)
                .collect::<Result<_>>()?,
            total,
        })
    }
}

fn ordered<E: EntityTrait>(
    find: sea_orm::Select<E>,
    order: SortOrder,
    by: E::Column,
    then: E::Column,
) -> sea_orm::Select<E> {
    match order {
        SortOrder::Asc => find.order_by_asc(by).order_by_asc(then),
        SortOrder::Desc => find.order_by_desc(by).order_by_desc(then),
    }
}

impl Tx<'_> {
    /// The org's group `id`.
    pub async fn group(&self, id: &str) -> Result<Option<Group>> {
        Ok(badge_group::Entity::find()
            .filter(Expr::col(badge_group::Column::Id).eq(self.store().dialect.object_id(id)))
            .filter(badge_group::Column::OrgId.eq(self.org()))
            .one(self.conn())
            .await?
            .map(group))
    }

    /// Inserts a group (its name is unique in the org).
    pub async fn insert_group(&self, g: &Group) -> Result<Unique> {
        debug_assert_eq!(g.org_id, self.org());
        let inserted = badge_group::Entity::insert(badge_group::ActiveModel {
            id: Set(g.id.clone()),
            org_id: Set(g.org_id),
            name: Set(g.name.clone()),
            rank: Set(g.rank),
            created_at: Set(g.created_on.0),
            created_by: Set(g.created_by),
            last_updated_by: Set(g.last_updated_by),
            last_updated_on: Set(Some(g.last_updated_on.0)),
        })
        .exec_without_returning(self.conn())
        .await
        .map(|_| ());
        let outcome = super::tx::unique(inserted)?;
        if outcome == Unique::Written {
            super::bump_catalogue(self.conn(), self.org()).await?;
        }
        Ok(outcome)
    }

    /// Rewrites the group `g` (name and rank, who and when): `Taken` when
    /// another group of the org has its name. Its badges' rows show its
    /// name, so the org's catalogue version moves.
    pub async fn update_group(&self, g: &Group) -> Result<Unique> {
        let updated = badge_group::Entity::update_many()
            .col_expr(badge_group::Column::Name, Expr::value(g.name.clone()))
            .col_expr(badge_group::Column::Rank, Expr::value(g.rank))
            .col_expr(
                badge_group::Column::LastUpdatedBy,
                Expr::value(g.last_updated_by),
            )
            .col_expr(
                badge_group::Column::LastUpdatedOn,
                Expr::value(g.last_updated_on.0),
            )
            .filter(Expr::col(badge_group::Column::Id).eq(self.store().dialect.object_id(&g.id)))
            .filter(badge_group::Column::OrgId.eq(self.org()))
            .exec(self.conn())
            .await
            .map(|_| ());
        let outcome = super::tx::unique(updated)?;
        if outcome == Unique::Written {
            super::bump_catalogue(self.conn(), self.org()).await?;
        }
        Ok(outcome)
    }

    /// Every custom field of the org, active or not.
    pub async fn custom_fields(&self) -> Result<Vec<CustomField>> {
        custom_field::Entity::find()
            .filter(custom_field::Column::OrgId.eq(self.org()))
            .all(self.conn())
            .await?
            .into_iter()
            .map(custom_fields::of)
            .collect()
    }

    /// Inserts a custom field (its name is unique in the org).
    pub async fn insert_custom_field(&self, f: &CustomField) -> Result<Unique> {
        debug_assert_eq!(f.org_id, self.org());
        super::tx::unique(
            custom_field::Entity::insert(custom_fields::model(f))
                .exec_without_returning(self.conn())
                .await
                .map(|_| ()),
        )
    }

    /// Rewrites the custom field `f`; `Taken` when another field of the org
    /// has its name.
    pub async fn update_custom_field(&self, f: &CustomField) -> Result<Unique> {
        debug_assert_eq!(f.org_id, self.org());
        super::tx::unique(
            custom_field::Entity::update(custom_fields::model(f))
                .exec(self.conn())
                .await
                .map(|_| ()),
        )
    }
}
