//! SeaORM entities, one per table of `migrations/`.

pub mod api_client;
pub mod award;
pub mod badge;
pub mod badge_claim;
pub mod badge_count;
pub mod badge_group;
pub mod badge_image;
pub mod badge_owner;
pub mod catalogue_snapshot;
pub mod custom_field;
pub mod customer;
pub mod enrolment;
pub mod idempotency_key;
pub mod org;
pub mod outbox;
