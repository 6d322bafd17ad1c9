//! Orgs' catalogues in memory, within byte budgets, never stale: each org's
//! index (what filters, sorts and pages need) in one cache, the rows of the
//! badges pages have shown (texts, images, owners, claims) in another.
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
//!
//! A badge's row is cached by its id and checked against the index: every
//! change to a badge moves its `last_updated_on`, so a cached row whose
//! `last_updated_on` is not the index entry's (older, or written by a pod
//! whose clock is behind) is read again, by key, with the other rows of the
//! page that are missing.

use std::sync::Arc;

use moka::future::Cache;
use moka::notification::RemovalCause;
use moka::ops::compute::{CompResult, Op};
use moka::policy::EvictionPolicy;
use prometheus_client::metrics::counter::Counter;

use crate::domain::badge::Badge;
use crate::domain::catalogue::{Catalogue, row_bytes};
use crate::domain::ids::ObjectId;
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
    /// Badge rows found in the row cache, current.
    pub row_hits: Counter,
    /// Badge rows read from the database (missing or changed).
    pub row_misses: Counter,
}

#[derive(Clone)]
pub struct Catalogues {
    cache: Cache<i32, Arc<Catalogue>>,
    budget: u64,
    rows: moka::sync::Cache<(i32, ObjectId), Arc<Badge>>,
    row_budget: u64,
    /// Row reads of one org run one at a time (orgs share these stripes), so
    /// calls that miss the same rows at once read them once.
    row_loads: Arc<[tokio::sync::Mutex<()>; ROW_LOAD_STRIPES]>,
    stats: CatalogueStats,
}

/// Stripes of the row reads' single flight.
const ROW_LOAD_STRIPES: usize = 64;

impl std::fmt::Debug for Catalogues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Catalogues(budget {} bytes, rows {} bytes)",
            self.budget, self.row_budget
        )
    }
}

impl Catalogues {
    pub fn new(budget_bytes: u64, row_budget_bytes: u64) -> Self {
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
        let rows = moka::sync::Cache::builder()
            .max_capacity(row_budget_bytes)
            .weigher(|_, b: &Arc<Badge>| u32::try_from(row_bytes(b)).unwrap_or(u32::MAX))
            .build();
        Catalogues {
            cache,
            budget: budget_bytes,
            rows,
            row_budget: row_budget_bytes,
            row_loads: Arc::new(std::array::from_fn(|_| tokio::sync::Mutex::new(()))),
            stats,
        }
    }

    pub fn stats(&self) -> &CatalogueStats {
        &self.stats
    }

    pub fn budget(&self) -> u64 {
        self.budget
    }

    pub fn row_budget(&self) -> u64 {
        self.row_budget
    }

    /// Bytes the cached rows take, after pending evictions.
    pub fn row_bytes(&self) -> u64 {
        self.rows.run_pending_tasks();
        self.rows.weighted_size()
    }

    /// The rows of the badges at `positions` of `catalogue`, in that order:
    /// from the row cache when current (their `last_updated_on` is the index
    /// entry's), the others read by key in one snapshot, one read of an org
    /// at a time.
    pub async fn rows(
        &self,
        store: &Store,
        catalogue: &Catalogue,
        positions: &[u32],
    ) -> Result<Vec<Arc<Badge>>> {
        let mut rows = self.cached_rows(catalogue, positions);
        let missing = rows.iter().filter(|r| r.is_none()).count();
        self.stats
            .row_hits
            .inc_by((positions.len() - missing) as u64);
        if missing > 0 {
            let org = catalogue.org_id();
            let stripe = org.unsigned_abs() as usize % ROW_LOAD_STRIPES;
            let _flight = self.row_loads[stripe].lock().await;
            // Another call may have read them while this one waited.
            rows = self.cached_rows(catalogue, positions);
            let ids: Vec<String> = rows
                .iter()
                .zip(positions)
                .filter(|(row, _)| row.is_none())
                .map(|(_, &pos)| catalogue.entry(pos).id.to_string())
                .collect();
            if !ids.is_empty() {
                self.stats.row_misses.inc_by(ids.len() as u64);
                for badge in store.read_badges(org, &ids).await? {
                    let Some(id) = ObjectId::parse(&badge.id) else {
                        continue;
                    };
                    let badge = Arc::new(badge);
                    for (slot, &pos) in rows.iter_mut().zip(positions) {
                        if slot.is_none() && catalogue.entry(pos).id == id {
                            *slot = Some(badge.clone());
                        }
                    }
                    self.rows.insert((org, id), badge);
                }
            }
        }
        // Badges are never deleted: a badge the index has has a row.
        rows.into_iter()
            .zip(positions)
            .map(|(row, &pos)| {
                row.ok_or_else(|| {
                    Error::Internal(format!(
                        "badge {} of org {} is in the index but has no row",
                        catalogue.entry(pos).id,
                        catalogue.org_id()
                    ))
                })
            })
            .collect()
    }

    /// The row of the badge at `pos` of `catalogue` (see [`Catalogues::rows`]).
    pub async fn row(&self, store: &Store, catalogue: &Catalogue, pos: u32) -> Result<Arc<Badge>> {
        self.rows(store, catalogue, &[pos])
            .await?
            .pop()
            .ok_or_else(|| Error::Internal("a badge's row went missing".into()))
    }

    /// The cached rows of the badges at `positions` that are current.
    fn cached_rows(&self, catalogue: &Catalogue, positions: &[u32]) -> Vec<Option<Arc<Badge>>> {
        positions
            .iter()
            .map(|&pos| {
                let entry = catalogue.entry(pos);
                self.rows
                    .get(&(catalogue.org_id(), entry.id))
                    .filter(|b| b.last_updated_on == entry.last_updated_on)
            })
            .collect()
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
