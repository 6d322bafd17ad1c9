//! Inserts: orgs and API clients for the command line, and the badge data
//! that demo loading and tests write. On the pool each call is its own
//! transaction; [`Store::seed`] runs many of them as one.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    TransactionSession, TransactionTrait,
};

use super::Store;
use super::entity::{
    api_client, award, badge, badge_claim, badge_group, badge_image, badge_owner, customer,
    enrolment, org,
};
use super::expiry::stored_rule_json;
use crate::domain::Micros;
use crate::domain::admin::ExpiryRule;
use crate::domain::enums::{EarnType, Owner};
use crate::domain::list::{Claim, Image};
use crate::error::Result;

#[derive(Clone, Debug)]
pub struct NewOrg {
    pub name: String,
    pub created_at: Micros,
}

#[derive(Clone, Debug)]
pub struct NewApiClient {
    pub org_id: i32,
    pub username: String,
    /// An argon2id PHC string.
    pub secret_hash: String,
    pub can_read: bool,
    pub can_write: bool,
    pub created_at: Micros,
}

#[derive(Clone, Debug, Default)]
pub struct NewCustomer {
    pub org_id: i32,
    pub customer_id: i64,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub external_id: Option<String>,
    pub card_number: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewGroup {
    pub id: String,
    pub org_id: i32,
    pub name: String,
    pub rank: i32,
    pub created_at: Micros,
}

#[derive(Clone, Debug)]
pub struct NewBadge {
    pub id: String,
    pub org_id: i32,
    pub name: String,
    pub description: String,
    pub earn_type: EarnType,
    pub active: bool,
    pub starts_on: Micros,
    pub expires_on: Micros,
    pub created_on: Micros,
    pub last_updated_on: Micros,
    pub group_id: Option<String>,
    pub rank: Option<i32>,
    pub images: Vec<Image>,
    /// Each owner once, in this order (a repeat is dropped).
    pub owners: Vec<Owner>,
    pub claims: Vec<Claim>,
    pub earned_badge_expiry: ExpiryRule,
    pub issued_badge_expiry: ExpiryRule,
}

#[derive(Clone, Debug)]
pub struct NewEnrolment {
    pub issued_badge_id: String,
    pub org_id: i32,
    pub badge_id: String,
    pub customer_id: i64,
    pub issued_at: Micros,
    pub expires_at: Option<Micros>,
    pub revoked: bool,
}

#[derive(Clone, Debug)]
pub struct NewAward {
    pub earned_badge_id: String,
    pub org_id: i32,
    pub badge_id: String,
    pub customer_id: i64,
    pub awarded_at: Micros,
    pub event_at: Micros,
    pub expires_at: Option<Micros>,
    pub revoked: bool,
}

/// The inserts, on the pool or inside a transaction.
pub struct Writer<'c, C>(&'c C);

/// Inserts that land together or not at all: [`SeedTxn::commit`] makes them
/// visible; dropping it rolls them back.
pub struct SeedTxn(DatabaseTransaction);

impl SeedTxn {
    pub fn writer(&self) -> Writer<'_, DatabaseTransaction> {
        Writer(&self.0)
    }

    pub async fn commit(self) -> Result<()> {
        Ok(self.0.commit().await?)
    }
}

impl Store {
    /// Begins a transaction for inserts that must land together.
    pub async fn seed(&self) -> Result<SeedTxn> {
        Ok(SeedTxn(self.write_txn().await?))
    }

    fn writer(&self) -> Writer<'_, sea_orm::DatabaseConnection> {
        Writer(&self.writer)
    }

    pub async fn insert_org(&self, new: NewOrg) -> Result<i32> {
        self.writer().insert_org(new).await
    }

    pub async fn insert_api_client(&self, new: NewApiClient) -> Result<i32> {
        self.writer().insert_api_client(new).await
    }

    pub async fn insert_customer(&self, new: NewCustomer) -> Result<()> {
        self.writer().insert_customer(new).await
    }

    pub async fn insert_group(&self, new: NewGroup) -> Result<()> {
        self.writer().insert_group(new).await
    }

    pub async fn insert_badge(&self, new: NewBadge) -> Result<()> {
        self.writer().insert_badge(new).await
    }

    pub async fn insert_enrolment(&self, new: NewEnrolment) -> Result<()> {
        self.writer().insert_enrolment(new).await
    }

    pub async fn insert_award(&self, new: NewAward) -> Result<()> {
        self.writer().insert_award(new).await
    }

    pub async fn find_org_by_name(&self, name: &str) -> Result<Option<i32>> {
        Ok(org::Entity::find()
            .filter(org::Column::Name.eq(name))
            .one(&self.db)
            .await?
            .map(|o| o.id))
    }

    pub async fn find_api_client(&self, username: &str) -> Result<Option<api_client::Model>> {
        Ok(api_client_query(username).one(&self.db).await?)
    }

    pub async fn find_api_client_by_id(&self, id: i32) -> Result<Option<api_client::Model>> {
        Ok(api_client::Entity::find_by_id(id).one(&self.db).await?)
    }

    pub async fn list_api_clients(&self) -> Result<Vec<api_client::Model>> {
        use sea_orm::QueryOrder;
        Ok(api_client::Entity::find()
            .order_by_asc(api_client::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Disables or enables a client, or gives it a new secret hash, and moves
    /// its generation, which ends every token it had; `false` when there is no
    /// such client.
    pub async fn update_api_client(
        &self,
        username: &str,
        disabled: Option<bool>,
        secret_hash: Option<String>,
    ) -> Result<bool> {
        use sea_orm::sea_query::{Expr, ExprTrait};
        let mut update = api_client::Entity::update_many()
            .filter(api_client::Column::Username.eq(username))
            .col_expr(
                api_client::Column::Generation,
                Expr::col(api_client::Column::Generation).add(Expr::val(1)),
            );
        if let Some(d) = disabled {
            update = update.col_expr(api_client::Column::Disabled, Expr::value(d));
        }
        if let Some(h) = secret_hash {
            update = update.col_expr(api_client::Column::SecretHash, Expr::value(h));
        }
        Ok(update.exec(&self.writer).await?.rows_affected > 0)
    }
}

impl<C: ConnectionTrait + TransactionTrait> Writer<'_, C> {
    pub async fn insert_org(&self, new: NewOrg) -> Result<i32> {
        let res = org::Entity::insert(org::ActiveModel {
            name: Set(new.name),
            created_at: Set(new.created_at.0),
            ..Default::default()
        })
        .exec(self.0)
        .await?;
        Ok(res.last_insert_id)
    }

    pub async fn insert_api_client(&self, new: NewApiClient) -> Result<i32> {
        let res = api_client::Entity::insert(api_client::ActiveModel {
            org_id: Set(new.org_id),
            username: Set(new.username),
            secret_hash: Set(new.secret_hash),
            can_read: Set(new.can_read),
            can_write: Set(new.can_write),
            disabled: Set(false),
            created_at: Set(new.created_at.0),
            generation: Set(1),
            ..Default::default()
        })
        .exec(self.0)
        .await?;
        Ok(res.last_insert_id)
    }

    pub async fn insert_customer(&self, new: NewCustomer) -> Result<()> {
        customer::Entity::insert(customer::ActiveModel {
            org_id: Set(new.org_id),
            customer_id: Set(new.customer_id),
            email: Set(new.email.map(|e| crate::domain::customer_email(&e))),
            mobile: Set(new.mobile),
            external_id: Set(new.external_id),
            card_number: Set(new.card_number),
        })
        .exec_without_returning(self.0)
        .await?;
        Ok(())
    }

    pub async fn insert_group(&self, new: NewGroup) -> Result<()> {
        let txn = self.0.begin().await?;
        let org = new.org_id;
        badge_group::Entity::insert(badge_group::ActiveModel {
            id: Set(new.id),
            org_id: Set(new.org_id),
            name: Set(new.name),
            rank: Set(new.rank),
            created_at: Set(new.created_at.0),
        })
        .exec_without_returning(&txn)
        .await?;
        super::bump_catalogue(&txn, org).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Inserts a badge with its images, owners and claims, all or nothing.
    pub async fn insert_badge(&self, new: NewBadge) -> Result<()> {
        let txn = self.0.begin().await?;
        insert_badge_rows(&txn, &new).await?;
        txn.commit().await?;
        Ok(())
    }

    pub async fn insert_enrolment(&self, new: NewEnrolment) -> Result<()> {
        enrolment::Entity::insert(enrolment::ActiveModel {
            org_id: Set(new.org_id),
            badge_id: Set(new.badge_id),
            customer_id: Set(new.customer_id),
            issued_at: Set(new.issued_at.0),
            expires_at: Set(new.expires_at.map(|m| m.0)),
            revoked: Set(new.revoked),
            request_id: Set(None),
            event_at: Set(None),
            issued_badge_id: Set(Some(new.issued_badge_id)),
            ..Default::default()
        })
        .exec_without_returning(self.0)
        .await?;
        Ok(())
    }

    pub async fn insert_award(&self, new: NewAward) -> Result<()> {
        award::Entity::insert(award::ActiveModel {
            earned_badge_id: Set(new.earned_badge_id),
            org_id: Set(new.org_id),
            badge_id: Set(new.badge_id),
            customer_id: Set(new.customer_id),
            awarded_at: Set(new.awarded_at.0),
            event_at: Set(new.event_at.0),
            expires_at: Set(new.expires_at.map(|m| m.0)),
            revoked: Set(new.revoked),
            request_id: Set(None),
            triggered_by_owner: Set(None),
            triggered_by_reference: Set(None),
            ..Default::default()
        })
        .exec_without_returning(self.0)
        .await?;
        Ok(())
    }
}

/// The API client lookup of Basic credentials.
pub(super) fn api_client_query(username: &str) -> sea_orm::Select<api_client::Entity> {
    api_client::Entity::find().filter(api_client::Column::Username.eq(username))
}

/// The rows of a new badge (its images, restricted owners, each once, and
/// claims), and the move of its org's catalogue version: the one way a badge
/// is inserted, by the admin API and the seed alike. Run it in a transaction.
pub(super) async fn insert_badge_rows(
    conn: &impl ConnectionTrait,
    new: &NewBadge,
) -> std::result::Result<(), sea_orm::DbErr> {
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
    })
    .exec_without_returning(conn)
    .await?;
    if !new.images.is_empty() {
        badge_image::Entity::insert_many(new.images.iter().map(|i| badge_image::ActiveModel {
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
            badge_id: Set(new.id.clone()),
            owner_type: Set(c.owner_type.as_str().to_owned()),
            reference_id: Set(c.reference_id.clone()),
            is_active: Set(c.is_active),
            ..Default::default()
        }))
        .exec_without_returning(conn)
        .await?;
    }
    super::bump_catalogue(conn, new.org_id).await
}
