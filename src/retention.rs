//! Housekeeping every process runs: request ids (`requestId`, the replay
//! of writes) are kept for a retention period and then deleted, oldest
//! first, in small batches, so the table stays the size of the period's
//! writes.

use std::time::Duration;

use tokio::sync::watch;

use crate::domain::Micros;
use crate::domain::clock::SharedClock;
use crate::store::Store;

/// Rows deleted in one statement.
const BATCH: u64 = 1_000;
/// How often a process looks for request ids past their retention.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Until `stop`: deletes request ids claimed more than `retention` ago.
pub async fn run(
    store: Store,
    clock: SharedClock,
    retention: Duration,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let retention = i64::try_from(retention.as_micros()).unwrap_or(i64::MAX);
    loop {
        // The first sweep waits too: a starting process serves first.
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        let before = Micros(clock.now().0.saturating_sub(retention));
        loop {
            match store.prune_request_ids(before, BATCH).await {
                Ok(n) if n >= BATCH => continue,
                Ok(n) => {
                    if n > 0 {
                        tracing::debug!(deleted = n, "request ids past their retention");
                    }
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "deleting old request ids failed; retrying later");
                    break;
                }
            }
        }
    }
}
