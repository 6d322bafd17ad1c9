//! Limits that keep one caller from hurting the others: throttling of
//! repeated credential failures, and a request rate per API client. Both live
//! in memory per process, bounded in size, and run on the service clock.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use crate::domain::Micros;

/// Most keys either limiter tracks; past this it forgets everything, which
/// only ever errs towards letting callers through.
const MAX_KEYS: usize = 100_000;

/// After `max_failures` failed credential checks for one username within
/// `window`, further checks for it are refused until the window ends.
#[derive(Debug)]
pub struct FailureThrottle {
    max_failures: u32,
    window_micros: i64,
    failures: Mutex<HashMap<String, (Micros, u32)>>,
}

impl FailureThrottle {
    pub fn new(max_failures: u32, window_seconds: u64) -> Self {
        FailureThrottle {
            max_failures,
            window_micros: (window_seconds as i64).saturating_mul(1_000_000),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(seconds to wait)` while `key` is locked out.
    pub fn locked(&self, key: &str, now: Micros) -> Option<u64> {
        if self.max_failures == 0 {
            return None;
        }
        let failures = self.failures.lock().ok()?;
        let (since, count) = *failures.get(key)?;
        let ends = since.0.saturating_add(self.window_micros);
        (count >= self.max_failures && now.0 < ends).then(|| seconds_until(now, ends))
    }

    pub fn failed(&self, key: &str, now: Micros) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() >= MAX_KEYS {
            failures.clear();
        }
        let entry = failures.entry(key.to_owned()).or_insert((now, 0));
        if now.0 >= entry.0.0.saturating_add(self.window_micros) {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }

    pub fn succeeded(&self, key: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(key);
        }
    }
}

/// A token bucket per key: `burst` calls at once, refilled at `per_second`.
#[derive(Debug)]
pub struct RateLimiter<K> {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, (f64, Micros)>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `per_second` of 0 turns the limit off.
    pub fn new(per_second: u32, burst: u32) -> Self {
        RateLimiter {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token; `Err(seconds to wait)` when there is none.
    pub fn take(&self, key: &K, now: Micros) -> Result<(), u64> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            buckets.clear();
        }
        let (tokens, at) = buckets.entry(key.clone()).or_insert((self.burst, now));
        let elapsed = (now.0 - at.0).max(0) as f64 / 1e6;
        *tokens = (*tokens + elapsed * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

fn seconds_until(now: Micros, then: i64) -> u64 {
    ((then - now.0).max(0) as u64).div_ceil(1_000_000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    #[test]
    fn failures_lock_out_until_the_window_ends() {
        let t = FailureThrottle::new(3, 60);
        for i in 0..3 {
            assert_eq!(t.locked("u", Micros(i * S)), None);
            t.failed("u", Micros(i * S));
        }
        assert_eq!(t.locked("u", Micros(3 * S)), Some(57));
        assert_eq!(t.locked("other", Micros(3 * S)), None);
        assert_eq!(t.locked("u", Micros(60 * S)), None, "the window has passed");
        t.failed("u", Micros(61 * S));
        assert_eq!(
            t.locked("u", Micros(61 * S)),
            None,
            "a new window counts afresh"
        );
        t.succeeded("u");
        assert_eq!(t.locked("u", Micros(61 * S)), None);
    }

    #[test]
    fn buckets_allow_a_burst_then_the_rate() {
        let r = RateLimiter::new(2, 4);
        for _ in 0..4 {
            assert_eq!(r.take(&1, Micros(0)), Ok(()));
        }
        assert_eq!(r.take(&1, Micros(0)), Err(1));
        assert_eq!(r.take(&2, Micros(0)), Ok(()), "keys are independent");
        assert_eq!(
            r.take(&1, Micros(S / 2)),
            Ok(()),
            "half a second refills one"
        );
        assert_eq!(r.take(&1, Micros(S / 2)), Err(1));
        assert_eq!(
            RateLimiter::new(0, 0).take(&1, Micros(0)),
            Ok(()),
            "0 is off"
        );
    }
}
