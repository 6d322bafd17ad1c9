//! Limits that keep one caller from hurting the others, and the process
//! within its memory: the settings of every limit (each default is here and
//! nowhere else), a request rate per API client, and the calls each client
//! and the process may have in flight.
//! All live in memory per process and are bounded in size.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::clock::SharedClock;

/// Every caller limit. `Limits::DEFAULT` holds the defaults that the command
/// line, the tests and embedders share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Failed credential checks per username before it is locked out (0: never).
    pub auth_max_failures: u32,
    /// How long failed checks count, and a lockout lasts (s).
    pub auth_failure_window_seconds: u64,
    /// Most usernames the lockout table tracks.
    pub lockout_capacity: usize,
    /// Calls per second per API client (0: no limit).
    pub rate_per_second: u32,
    /// Calls an API client may make at once before the rate applies.
    pub rate_burst: u32,
    /// Calls in flight per process; `None`: the database pool's size.
    pub max_in_flight: Option<usize>,
    /// Calls in flight per API client; `None`: three quarters of
    /// `max_in_flight` (at least 1), so that one client at its limit leaves
    /// room for the others.
    pub max_in_flight_per_client: Option<usize>,
    /// How long a caller may take to send a request's body (ms).
    pub body_read_timeout_ms: u64,
    /// How long an answer waits for its caller to read the next part of it
    /// before it is dropped and the stream reset (ms).
    pub answer_stall_ms: u64,
    /// argon2 workers; 0: one per core.
    pub argon2_workers: usize,
    /// Checks that may wait for an argon2 worker; 0: four per worker.
    pub argon2_queue: usize,
    /// Bytes of orgs' catalogue indexes kept in memory.
    pub catalogue_cache_bytes: u64,
    /// Bytes of badges' rows (what pages show) kept in memory.
    pub row_cache_bytes: u64,
    /// Bytes of list answers being built or waiting for their callers, per
    /// process; a client may hold three quarters of it.
    pub answer_budget_bytes: u64,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        auth_max_failures: 10,
        auth_failure_window_seconds: 60,
        lockout_capacity: 10_000,
        rate_per_second: 1000,
        rate_burst: 2000,
        max_in_flight: None,
        max_in_flight_per_client: None,
        body_read_timeout_ms: 10_000,
        answer_stall_ms: 10_000,
        argon2_workers: 0,
        argon2_queue: 0,
        catalogue_cache_bytes: 96 * 1024 * 1024,
        row_cache_bytes: 32 * 1024 * 1024,
        answer_budget_bytes: 16 * 1024 * 1024,
    };

    /// Calls in flight per process, given the pool's size.
    pub fn in_flight(&self, pool_size: u32) -> usize {
        self.max_in_flight.unwrap_or(pool_size as usize).max(1)
    }

    /// Calls in flight per client, given the process's cap.
    pub fn in_flight_per_client(&self, in_flight: usize) -> usize {
        self.max_in_flight_per_client
            .unwrap_or((in_flight * 3).div_ceil(4))
            .clamp(1, in_flight)
    }

    pub fn argon2_workers(&self) -> usize {
        if self.argon2_workers > 0 {
            self.argon2_workers
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        }
    }

    pub fn argon2_queue(&self) -> usize {
        if self.argon2_queue > 0 {
            self.argon2_queue
        } else {
            4 * self.argon2_workers()
        }
    }

    pub fn answer_stall(&self) -> Duration {
        Duration::from_millis(self.answer_stall_ms.max(1))
    }

    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_millis(self.body_read_timeout_ms.max(1))
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// The service clock as governor reads it: time since the epoch.
#[derive(Clone, Debug)]
struct GovernorClock(SharedClock);

impl governor::clock::Clock for GovernorClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Duration::from_micros(u64::try_from(self.0.now().0).unwrap_or(0))
    }
}

/// A token bucket per API client (governor's GCRA): `burst` calls at once,
/// refilled at `per_second`, on the service clock.
pub struct RateLimit {
    limiter:
        Option<RateLimiter<i32, DashMapStateStore<i32>, GovernorClock, NoOpMiddleware<Duration>>>,
    clock: GovernorClock,
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateLimit")
    }
}

impl RateLimit {
    /// `per_second` of 0 turns the limit off.
    pub fn new(per_second: u32, burst: u32, clock: SharedClock) -> Self {
        let clock = GovernorClock(clock);
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
            RateLimiter::dashmap_with_clock(
                Quota::per_second(rate).allow_burst(burst),
                clock.clone(),
            )
        });
        RateLimit { limiter, clock }
    }

    /// Takes one call from `client`'s bucket; `Err(seconds to wait)` when empty.
    pub fn check(&self, client: i32) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&self.clock));
            (wait.as_secs_f64().ceil() as u64).max(1)
        })
    }
}

/// Calls in flight: a cap for the process, and a smaller one per API client.
#[derive(Clone, Debug)]
pub struct Shares {
    inner: Arc<SharesInner>,
}

#[derive(Debug)]
struct SharesInner {
    process: Arc<Semaphore>,
    per_client: usize,
    clients: Mutex<HashMap<i32, usize>>,
}

/// One call's place in flight; released when dropped.
#[derive(Debug)]
pub struct Slot {
    shares: Arc<SharesInner>,
    client: i32,
    _permit: OwnedSemaphorePermit,
}

impl Shares {
    pub fn new(in_flight: usize, per_client: usize) -> Self {
        Shares {
            inner: Arc::new(SharesInner {
                process: Arc::new(Semaphore::new(in_flight.max(1))),
                per_client: per_client.max(1),
                clients: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A place for a call of `client`, or `None` when the client has its
    /// share in flight or the process is full.
    pub fn try_enter(&self, client: i32) -> Option<Slot> {
        let mut clients = self.inner.clients.lock().ok()?;
        let count = clients.entry(client).or_insert(0);
        if *count >= self.inner.per_client {
            return None;
        }
        let permit = self.inner.process.clone().try_acquire_owned().ok();
        let Some(permit) = permit else {
            if *count == 0 {
                clients.remove(&client);
            }
            return None;
        };
        *count += 1;
        Some(Slot {
            shares: self.inner.clone(),
            client,
            _permit: permit,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut clients) = self.shares.clients.lock()
            && let Some(count) = clients.get_mut(&self.client)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                clients.remove(&self.client);
            }
        }
    }
}

/// Memory for answers: what a page takes, from when its rows are built
/// until it has been handed to the connection. Calls in flight bound how
/// many answers exist; this bounds their bytes, whatever their pages hold.
#[derive(Clone, Debug)]
pub struct AnswerBudget {
    inner: Arc<BudgetInner>,
}

#[derive(Debug)]
struct BudgetInner {
    kib: Arc<Semaphore>,
    total_kib: u32,
    per_client_kib: u32,
    clients: Mutex<HashMap<i32, u32>>,
}

/// One answer's share of the budget; given back when dropped.
#[derive(Debug)]
pub struct AnswerBytes {
    inner: Arc<BudgetInner>,
    client: i32,
    kib: u32,
    _permit: OwnedSemaphorePermit,
}

impl AnswerBudget {
    pub fn new(bytes: u64) -> Self {
        let total_kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, Semaphore::MAX_PERMITS as u32);
        AnswerBudget {
            inner: Arc::new(BudgetInner {
                kib: Arc::new(Semaphore::new(total_kib as usize)),
                total_kib,
                per_client_kib: (total_kib * 3).div_ceil(4).max(1),
                clients: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Room for an answer of about `bytes` for `client`, or `None` when the
    /// process or the client's share is full. An answer larger than the
    /// whole budget (or share) may still be made when nothing else holds it.
    pub fn try_reserve(&self, client: i32, bytes: usize) -> Option<AnswerBytes> {
        let inner = &self.inner;
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, inner.total_kib);
        let mut clients = inner.clients.lock().ok()?;
        let used = clients.get(&client).copied().unwrap_or(0);
        if used > 0 && used.saturating_add(kib) > inner.per_client_kib {
            return None;
        }
        let permit = inner.kib.clone().try_acquire_many_owned(kib).ok()?;
        *clients.entry(client).or_insert(0) += kib;
        Some(AnswerBytes {
            inner: inner.clone(),
            client,
            kib,
            _permit: permit,
        })
    }
}

impl Drop for AnswerBytes {
    fn drop(&mut self) {
        if let Ok(mut clients) = self.inner.clients.lock()
            && let Some(used) = clients.get_mut(&self.client)
        {
            *used = used.saturating_sub(self.kib);
            if *used == 0 {
                clients.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{FixedClock, Micros};

    #[test]
    fn buckets_allow_a_burst_then_the_rate() {
        let r = RateLimit::new(2, 4, Arc::new(FixedClock(Micros(1_000_000))));
        for _ in 0..4 {
            assert_eq!(r.check(1), Ok(()));
        }
        assert_eq!(r.check(1), Err(1));
        assert_eq!(r.check(2), Ok(()), "clients are independent");
        assert_eq!(
            RateLimit::new(0, 0, Arc::new(FixedClock(Micros(0)))).check(1),
            Ok(()),
            "0 is off"
        );
    }

    #[test]
    fn one_client_at_its_share_leaves_room_for_others() {
        let shares = Shares::new(4, 3);
        let greedy: Vec<_> = (0..10).filter_map(|_| shares.try_enter(1)).collect();
        assert_eq!(greedy.len(), 3);
        let other = shares.try_enter(2).expect("room for another client");
        assert!(shares.try_enter(3).is_none(), "the process is full");
        drop(other);
        drop(greedy);
        let held: Vec<_> = (0..10).filter_map(|_| shares.try_enter(3)).collect();
        assert_eq!(held.len(), 3, "released on drop");
    }

    #[test]
    fn answers_share_a_byte_budget() {
        let budget = AnswerBudget::new(100 * 1024);
        let a = budget.try_reserve(1, 50 * 1024).expect("room");
        assert!(
            budget.try_reserve(1, 30 * 1024).is_none(),
            "past the client's three quarters"
        );
        let b = budget.try_reserve(2, 50 * 1024).expect("another client");
        assert!(
            budget.try_reserve(3, 1).is_none(),
            "the process's budget is full"
        );
        drop(a);
        assert!(
            budget.try_reserve(3, 1).is_some(),
            "given back when dropped"
        );
        drop(b);
        let huge = budget.try_reserve(4, 10 * 1024 * 1024);
        assert!(huge.is_some(), "one answer over the budget runs alone");
        assert!(budget.try_reserve(5, 1).is_none());
    }

    #[test]
    fn defaults_follow_the_pool() {
        let l = Limits::DEFAULT;
        assert_eq!(l.in_flight(16), 16);
        assert_eq!(l.in_flight_per_client(16), 12);
        assert_eq!(l.in_flight_per_client(1), 1);
    }
}
