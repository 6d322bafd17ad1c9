//! The application, assembled once: the store, the credential checks and
//! caller limits, and the service both transports call. `badges serve` and
//! the tests build it the same way, so the tests run the app the binary runs.

use std::sync::Arc;

use crate::application::BadgeService;
use crate::auth::gate::Gate;
use crate::auth::{Authenticator, Hasher, Lockout, TokenKeys};
use crate::catalogue::Catalogues;
use crate::delivery::Connections;
use crate::domain::clock::SharedClock;
use crate::events::{EventStats, EventsConfig};
use crate::limits::{AnswerBudget, Limits};
use crate::store::Store;

/// Everything a server needs to serve.
#[derive(Clone, Debug)]
pub struct App {
    pub service: Arc<BadgeService>,
    pub gate: Arc<Gate>,
    /// Open connections, closed when an answer on them goes unread.
    pub connections: Connections,
    pub store: Store,
    pub clock: SharedClock,
    /// With events on: where they go, and what publishing them has done.
    pub events: Option<(EventsConfig, EventStats)>,
}

impl App {
    pub fn new(store: Store, clock: SharedClock, keys: TokenKeys, limits: &Limits) -> App {
        let hasher = Hasher::new(limits.argon2_workers(), limits.argon2_queue());
        let lockout = Lockout::new(
            limits.auth_max_failures,
            limits.auth_failure_window_seconds,
            limits.lockout_capacity,
        );
        let auth = Arc::new(Authenticator::new(store.clone(), keys, hasher, lockout));
        let in_flight = limits.in_flight(store.pool_stats().max);
        let gate = Gate::new(auth.clone(), limits, in_flight, clock.clone());
        let catalogues = Catalogues::new(limits.catalogue_cache_bytes, limits.row_cache_bytes);
        let answers = AnswerBudget::new(limits.answer_budget_bytes);
        App {
            service: BadgeService::new(store.clone(), auth, catalogues, answers, clock.clone()),
            gate,
            connections: Connections::new(limits.answer_stall()),
            store,
            clock,
            events: None,
        }
    }

    /// Turns events on: from now on writes record them in the outbox, and
    /// the server runs the relay and the expiry sweeper.
    pub fn with_events(mut self, config: EventsConfig) -> App {
        self.store.record_events(crate::events::wire::encode);
        self.events = Some((config, EventStats::default()));
        self
    }
}
