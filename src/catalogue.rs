//! Orgs' catalogues in memory, within a byte budget, never stale.
//!
//! Every change to an org's catalogue moves its version in the same
//! transaction (`store::bump_catalogue`). Each list call reads the version in
//! its one statement, with the customer's state; a cached catalogue older than
//! that is reloaded before the call is answered. So a write acknowledged by
//! any process is in the next answer of every process.
//!
//! The cache (moka) holds at most its budget in bytes, evicting the least
//! recently used orgs. An org whose catalogue alone is larger than the whole
//! budget is still served, from a catalogue loaded for the call, with a
//! warning. Loads of one org are single-flight: calls for a cold org at once
//! wait for one load.

use std::sync::Arc;

use moka::future::Cache;
use moka::notification::RemovalCause;
use moka::ops::compute::{CompResult, Op};
use moka::policy::EvictionPolicy;
use prometheus_client::metrics::counter::Counter;

use crate::domain::catalogue::Catalogue;
use crate::error::{Error, Result};
use crate::store::Store;

/// What the cache has done, for `/metrics` (clones share the counts).
#[derive(Clone, Debug, Default)]
pub struct CatalogueStats {
    /// Calls answered from a cached catalogue of the version they read.
    pub hits: Counter,
    /// Calls that found no catalogue of their org in memory.
    pub misses: Counter,
    /// Catalogues loaded from the database (cold, moved, or over budget).
    pub reloads: Counter,
    /// Catalogues evicted to keep within the budget.
    pub evictions: Counter,
}

#[derive(Clone)]
pub struct Catalogues {
    cache: Cache<i32, Arc<Catalogue>>,
    budget: u64,
    stats: CatalogueStats,
}

impl std::fmt::Debug for Catalogues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Catalogues(budget {} bytes)", self.budget)
    }
}

impl Catalogues {
    pub fn new(budget_bytes: u64) -> Self {
        let stats = CatalogueStats::default();
        let evictions = stats.evictions.clone();
        let cache = Cache::builder()
            .max_capacity(budget_bytes)
            .eviction_policy(EvictionPolicy::lru())
            .weigher(|_, c: &Arc<Catalogue>| u32::try_from(c.bytes()).unwrap_or(u32::MAX))
            .eviction_listener(move |_, _, cause| {
                if cause == RemovalCause::Size {
                    evictions.inc();
                }
            })
            .build();
        Catalogues {
            cache,
            budget: budget_bytes,
            stats,
        }
    }

    pub fn stats(&self) -> &CatalogueStats {
        &self.stats
    }

    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Bytes the cached catalogues take, after pending evictions.
    pub async fn bytes(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.weighted_size()
    }

    /// The catalogue of `org` at `version` or later.
    pub async fn get(&self, store: &Store, org: i32, version: i64) -> Result<Arc<Catalogue>> {
        match self.cache.get(&org).await {
            Some(c) if c.version() >= version => {
                self.stats.hits.inc();
                return Ok(c);
            }
            Some(_) => {}
            None => {
                self.stats.misses.inc();
            }
        }
        let stats = self.stats.clone();
        let budget = self.budget;
        let outcome = self
            .cache
            .entry(org)
            .and_try_compute_with(|cached| async move {
                // Another call may have loaded it while this one waited.
                if let Some(c) = cached
                    && c.value().version() >= version
                {
                    return Ok::<_, Error>(Op::Nop);
                }
                stats.reloads.inc();
                let loaded = store.load_catalogue(org).await?;
                if loaded.bytes() as u64 > budget {
                    tracing::warn!(
                        org,
                        bytes = loaded.bytes(),
                        budget,
                        "an org's catalogue is larger than the whole catalogue cache: \
                         it is loaded for every call; raise --catalogue-cache-bytes"
                    );
                }
                Ok(Op::Put(Arc::new(loaded)))
            })
            .await?;
        match outcome {
            CompResult::Unchanged(e) | CompResult::Inserted(e) | CompResult::ReplacedWith(e) => {
                Ok(e.into_value())
            }
            CompResult::StillNone(_) | CompResult::Removed(_) => Err(Error::Internal(
                "the catalogue cache lost a catalogue it had just loaded".into(),
            )),
        }
    }
}
