//! Events for other services (BEHAVIOUR.md §8), published to NATS JetStream.
//!
//! Writes record their events in the outbox, in their own transaction
//! (`store::outbox`). The relay ([`relay`]) publishes them in the order they
//! were recorded and marks them published; one relay per database holds the
//! lease at a time. The sweeper ([`sweeper`]) records a BadgeAwardExpired for
//! each award whose expiry passed. Neither is on the path of a call: writes
//! go on while NATS is down, and their events follow when it returns.

pub mod relay;
pub mod sweeper;
pub mod tail;
pub mod wire;

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

use crate::auth::Secret;
pub use wire::Format;

/// Where and how events are published.
#[derive(Clone, Debug)]
pub struct EventsConfig {
    /// `nats://host:4222` (it may hold credentials, so it never prints).
    pub nats_url: Secret,
    /// The JetStream stream the service creates or updates at start.
    pub stream: String,
    /// Subjects are `<prefix>.<org_id>.<event>`; the stream takes `<prefix>.>`.
    pub subject_prefix: String,
    pub format: Format,
    /// Published events are deleted from the outbox after this long.
    pub retention: Duration,
    /// How often the sweeper looks for awards whose expiry passed.
    pub sweep_interval: Duration,
}

impl EventsConfig {
    pub const DEFAULT_STREAM: &str = "BADGES";
    pub const DEFAULT_SUBJECT_PREFIX: &str = "badges.v1";
    pub const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 3600);
    pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(10);

    /// The defaults, publishing to `nats_url`.
    pub fn new(nats_url: Secret) -> Self {
        EventsConfig {
            nats_url,
            stream: Self::DEFAULT_STREAM.to_owned(),
            subject_prefix: Self::DEFAULT_SUBJECT_PREFIX.to_owned(),
            format: Format::Protobuf,
            retention: Self::DEFAULT_RETENTION,
            sweep_interval: Self::DEFAULT_SWEEP_INTERVAL,
        }
    }

    /// What the stream holds: every subject under the prefix.
    pub fn stream_subjects(&self) -> String {
        format!("{}.>", self.subject_prefix)
    }
}

/// What publishing has done, for `/metrics` (clones share the figures).
#[derive(Clone, Debug, Default)]
pub struct EventStats {
    /// Events acknowledged by JetStream (republished duplicates included).
    pub published: Counter,
    /// Republished events that JetStream dropped as duplicates (by id).
    pub duplicates: Counter,
    /// Publishes that failed or were not acknowledged in time (retried).
    pub failures: Counter,
    /// BadgeAwardExpired events the sweeper recorded.
    pub expiries: Counter,
    /// Events in the outbox not yet published (read at each scrape).
    pub pending: Gauge,
    /// Age of the oldest unpublished event (s); 0 when none (read at each scrape).
    pub lag_seconds: Gauge,
    /// 1 while connected to NATS.
    pub connected: Gauge,
}
