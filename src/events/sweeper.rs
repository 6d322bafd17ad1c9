//! The expiry sweeper: records a BadgeAwardExpired event for each award
//! whose expiry passed, within a sweep interval of it (10 s by default), once
//! per award, across restarts and with every process sweeping
//! (`Store::record_expired_awards` marks each award in the transaction that
//! records its event).

use tokio::sync::watch;

use super::{EventStats, EventsConfig};
use crate::domain::clock::SharedClock;
use crate::store::Store;

/// Awards marked in one transaction.
const BATCH: u64 = 500;

pub async fn run(
    store: Store,
    config: EventsConfig,
    stats: EventStats,
    clock: SharedClock,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        loop {
            match store.record_expired_awards(clock.as_ref(), BATCH).await {
                Ok(n) => {
                    stats.expiries.inc_by(n as u64);
                    if (n as u64) < BATCH {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "recording expired awards failed; retrying at the next sweep");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(config.sweep_interval) => {}
            _ = stop.changed() => {}
        }
    }
}
