//! The seed: rows written as given, for the command line (orgs and API
//! clients) and for the data the demo, the tests and the benchmark's datasets
//! load. It runs no badge rule and records no event, on purpose: seeded data
//! describes a past (badges that started long ago, old, revoked and expired
//! awards) that the admin API rightly refuses to create now, and nobody
//! follows the events of a fixture. What callers write goes through the
//! application layer (`crate::application`) and the transaction handle
//! ([`super::Tx`]) instead. On the pool each insert is its own transaction;
//! [`Store::seed`] runs many of them as one.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    TransactionSession, TransactionTrait,
};

use super::Store;
use super::badges::insert_badge_rows;
use super::entity::{api_client, award, badge_group, customer, enrolment, org};
use crate::domain::Micros;
use crate::domain::badge::Badge;
use crate::domain::custom_fields::CustomField;
use crate::domain::detail::TriggeredBy;
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

/// An enrolment of a customer in a badge.
#[derive(Clone, Debug)]
pub struct NewEnrolment {
    pub issued_badge_id: String,
    pub org_id: i32,
    pub badge_id: String,
    pub customer_id: i64,
    pub issued_at: Micros,
    pub expires_at: Option<Micros>,
    pub revoked: bool,
    /// The requestId of the call that enrolled, when it had one.
    pub request_id: Option<String>,
    /// When the caller said the issue happened, when it said.
    pub event_at: Option<Micros>,
    /// The module that enrolled the customer, when the call named one.
    pub triggered_by: Option<TriggeredBy>,
}

/// An award of a badge to a customer.
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
    /// The requestId of the call that awarded it, when it had one.
    pub request_id: Option<String>,
    pub triggered_by: Option<TriggeredBy>,
}

pub(super) fn enrolment_row(new: NewEnrolment) -> enrolment::ActiveModel {
    let (owner, reference) = match new.triggered_by {
        Some(t) => (Some(t.owner_type.as_str().to_owned()), t.reference_id),
        None => (None, None),
    };
    enrolment::ActiveModel {
        org_id: Set(new.org_id),
        badge_id: Set(new.badge_id),
        customer_id: Set(new.customer_id),
        issued_at: Set(new.issued_at.0),
        expires_at: Set(new.expires_at.map(|m| m.0)),
        revoked: Set(new.revoked),
        request_id: Set(new.request_id),
        event_at: Set(new.event_at.map(|m| m.0)),
        issued_badge_id: Set(Some(new.issued_badge_id)),
        triggered_by_owner: Set(owner),
        triggered_by_reference: Set(reference),
        ..Default::default()
    }
}

pub(super) fn award_row(new: NewAward) -> award::ActiveModel {
    let (owner, reference) = match new.triggered_by {
        Some(t) => (Some(t.owner_type.as_str().to_owned()), t.reference_id),
        None => (None, None),
    };
    award::ActiveModel {
        earned_badge_id: Set(new.earned_badge_id),
        org_id: Set(new.org_id),
        badge_id: Set(new.badge_id),
        customer_id: Set(new.customer_id),
        awarded_at: Set(new.awarded_at.0),
        event_at: Set(new.event_at.0),
        expires_at: Set(new.expires_at.map(|m| m.0)),
        revoked: Set(new.revoked),
        request_id: Set(new.request_id),
        triggered_by_owner: Set(owner),
        triggered_by_reference: Set(reference),
        ..Default::default()
    }
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

    pub async fn insert_badge(&self, new: Badge) -> Result<()> {
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
            created_by: Set(None),
            last_updated_by: Set(None),
            last_updated_on: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        super::bump_catalogue(&txn, org).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Inserts a custom field definition.
    pub async fn insert_custom_field(&self, new: CustomField) -> Result<()> {
        super::custom_fields::insert(self.0, &new).await
    }

    /// Inserts a badge with its images, owners and claims, all or nothing.
    pub async fn insert_badge(&self, new: Badge) -> Result<()> {
        let txn = self.0.begin().await?;
        insert_badge_rows(&txn, &new).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Inserts an enrolment, and counts it in its badge's counts.
    pub async fn insert_enrolment(&self, new: NewEnrolment) -> Result<()> {
        let txn = self.0.begin().await?;
        let (badge, issued) = (new.badge_id.clone(), i64::from(!new.revoked));
        let (org, customer) = (new.org_id, new.customer_id);
        enrolment::Entity::insert(enrolment_row(new))
            .exec_without_returning(&txn)
            .await?;
        count(&txn, org, &badge, issued, 0).await?;
        mark_stale(&txn, org, customer).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Inserts an award, and counts it in its badge's counts.
    pub async fn insert_award(&self, new: NewAward) -> Result<()> {
        let txn = self.0.begin().await?;
        let (badge, earned) = (new.badge_id.clone(), i64::from(!new.revoked));
        let (org, customer) = (new.org_id, new.customer_id);
        award::Entity::insert(award_row(new))
            .exec_without_returning(&txn)
            .await?;
        count(&txn, org, &badge, 0, earned).await?;
        mark_stale(&txn, org, customer).await?;
        txn.commit().await?;
        Ok(())
    }
}

/// Adds to a badge's counts, in slot 0, on the seed's connection.
async fn count(
    conn: &impl ConnectionTrait,
    org: i32,
    badge: &str,
    issued: i64,
    earned: i64,
) -> Result<()> {
    let dialect = super::Dialect::of_backend(conn.get_database_backend())
        .ok_or_else(|| crate::error::Error::Internal("unsupported backend".into()))?;
    super::counts::add_counts(conn, dialect, org, badge, 0, issued, earned).await
}

/// Marks the customer's state row stale: a seeded row is not folded into
/// it, so readers fold the tables until a write or a rebuild renews it.
async fn mark_stale(conn: &impl ConnectionTrait, org: i32, customer: i64) -> Result<()> {
    let dialect = super::Dialect::of_backend(conn.get_database_backend())
        .ok_or_else(|| crate::error::Error::Internal("unsupported backend".into()))?;
    let mut sql = super::sql::Sql::new(dialect);
    sql.push("UPDATE customer_states SET stale = TRUE WHERE org_id = ")
        .bind(org)
        .push(" AND customer_id = ")
        .bind(customer);
    conn.execute_raw(sql.build()).await?;
    Ok(())
}

/// The API client lookup of Basic credentials.
pub(super) fn api_client_query(username: &str) -> sea_orm::Select<api_client::Entity> {
    api_client::Entity::find().filter(api_client::Column::Username.eq(username))
}
