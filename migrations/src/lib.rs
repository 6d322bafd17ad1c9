//! The schema of the badge service: the only place it is defined.
//!
//! Every time is a BIGINT of microseconds since the Unix epoch, UTC. The same
//! integers compare, index and sort alike on SQLite and PostgreSQL, and carry
//! the precision that the wire format shows.

pub use sea_orm_migration::prelude::*;

mod dialect;
mod m20261126_000001_initial;
mod m20261126_000002_writes;
mod m20261203_000003_client_generation;
mod m20261203_000004_catalogue_version;
mod m20261203_000005_enrolment_ids;
mod m20261203_000006_outbox;
mod m20261206_000007_idempotency_retention;
mod m20261206_000008_catalogue_snapshots;
mod m20261206_000009_catalogue_upstream;
mod m20261206_000010_customer_writes;
mod m20261206_000011_earn_limits;
mod m20261206_000012_customer_states;
mod m20261207_000013_org_keys;

pub use m20261206_000012_customer_states::NAME as CUSTOMER_STATES;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_initial::Migration),
            Box::new(m20261126_000002_writes::Migration),
            Box::new(m20261203_000003_client_generation::Migration),
            Box::new(m20261203_000004_catalogue_version::Migration),
            Box::new(m20261203_000005_enrolment_ids::Migration),
            Box::new(m20261203_000006_outbox::Migration),
            Box::new(m20261206_000007_idempotency_retention::Migration),
            Box::new(m20261206_000008_catalogue_snapshots::Migration),
            Box::new(m20261206_000009_catalogue_upstream::Migration),
            Box::new(m20261206_000010_customer_writes::Migration),
            Box::new(m20261206_000011_earn_limits::Migration),
            Box::new(m20261206_000012_customer_states::Migration),
            Box::new(m20261207_000013_org_keys::Migration),
        ]
    }
}
