//! Lockout after repeated credential failures, per key: the authenticator
//! keys it by username and the address the checks come from.
//!
//! A check first takes an attempt: failures already counted plus checks still
//! running may not reach the limit, so N guesses sent at once count as N and
//! only `max_failures` of them are ever checked in one window.
//!
//! The table is bounded: at most `capacity` usernames, each at most
//! [`super::MAX_USERNAME_BYTES`] long (longer ones are refused before they get
//! here). To make room it forgets usernames that are not
//! locked out, expired windows first, then the least recently seen; it never
//! forgets a locked-out username. When every entry is locked out, a new
//! username is refused (429) rather than let in uncounted. Failures reach the
//! table only after an argon2 check, whose pool bounds their rate (about a
//! hundred a second on two cores), so ten thousand locked entries at once
//! cannot happen with the default window and limit.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::Micros;
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug)]
struct Entry {
    window_start: Micros,
    failures: u32,
    running: u32,
    last_seen: Micros,
}

#[derive(Debug)]
pub struct Lockout {
    max_failures: u32,
    window_micros: i64,
    capacity: usize,
    entries: Mutex<HashMap<Box<str>, Entry>>,
}

/// A check under way; say how it ended with [`Attempt::failed`] or
/// [`Attempt::succeeded`]. Dropped without either (an abandoned or errored
/// check), it counts as neither.
#[must_use]
pub struct Attempt<'a> {
    lockout: &'a Lockout,
    key: Option<Box<str>>,
}

impl Lockout {
    /// `max_failures` of 0 turns the lockout off.
    pub fn new(max_failures: u32, window_seconds: u64, capacity: usize) -> Self {
        Lockout {
            max_failures,
            window_micros: (window_seconds as i64).saturating_mul(1_000_000),
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Usernames tracked now.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts a check of `key`; `Throttled` while it is locked out, or while
    /// as many checks are running as failures remain.
    pub fn begin(&self, key: &str, now: Micros) -> Result<Attempt<'_>> {
        if self.max_failures == 0 {
            return Ok(Attempt {
                lockout: self,
                key: None,
            });
        }
        let mut entries = self
            .entries
            .lock()
            .map_err(|_| Error::Internal("lockout table poisoned".into()))?;
        if !entries.contains_key(key) && entries.len() >= self.capacity {
            self.make_room(&mut entries, now);
            if entries.len() >= self.capacity {
                return Err(Error::Throttled {
                    retry_after_seconds: 1,
                });
            }
        }
        let window = self.window_micros;
        let entry = entries.entry(key.into()).or_insert(Entry {
            window_start: now,
            failures: 0,
            running: 0,
            last_seen: now,
        });
        if now.0 >= entry.window_start.0.saturating_add(window) {
            entry.window_start = now;
            entry.failures = 0;
        }
        entry.last_seen = now;
        if entry.failures.saturating_add(entry.running) >= self.max_failures {
            let ends = entry.window_start.0.saturating_add(window);
            let retry_after_seconds = if entry.failures >= self.max_failures {
                seconds_until(now, ends)
            } else {
                1
            };
            return Err(Error::Throttled {
                retry_after_seconds,
            });
        }
        entry.running += 1;
        Ok(Attempt {
            lockout: self,
            key: Some(key.into()),
        })
    }

    fn locked(&self, e: &Entry, now: Micros) -> bool {
        e.failures >= self.max_failures
            && now.0 < e.window_start.0.saturating_add(self.window_micros)
    }

    /// Forgets up to a tenth of the table, never a locked-out or running entry.
    fn make_room(&self, entries: &mut HashMap<Box<str>, Entry>, now: Micros) {
        let mut candidates: Vec<(bool, Micros, Box<str>)> = entries
            .iter()
            .filter(|(_, e)| e.running == 0 && !self.locked(e, now))
            .map(|(k, e)| {
                let live = now.0 < e.window_start.0.saturating_add(self.window_micros);
                (live, e.last_seen, k.clone())
            })
            .collect();
        // Expired windows first, then the least recently seen.
        candidates.sort_unstable();
        let room = (self.capacity / 10).max(1);
        for (_, _, key) in candidates.into_iter().take(room) {
            entries.remove(&key);
        }
    }

    fn finish(&self, key: &str, failed: Option<bool>, now: Micros) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let Some(entry) = entries.get_mut(key) else {
            return;
        };
        entry.running = entry.running.saturating_sub(1);
        match failed {
            Some(true) => {
                if now.0 >= entry.window_start.0.saturating_add(self.window_micros) {
                    entry.window_start = now;
                    entry.failures = 0;
                }
                entry.failures = entry.failures.saturating_add(1);
            }
            Some(false) => {
                entry.failures = 0;
                if entry.running == 0 {
                    entries.remove(key);
                }
            }
            None => {
                if entry.running == 0 && entry.failures == 0 {
                    entries.remove(key);
                }
            }
        }
    }
}

impl Attempt<'_> {
    pub fn failed(mut self, now: Micros) {
        if let Some(key) = self.key.take() {
            self.lockout.finish(&key, Some(true), now);
        }
    }

    pub fn succeeded(mut self, now: Micros) {
        if let Some(key) = self.key.take() {
            self.lockout.finish(&key, Some(false), now);
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.lockout.finish(&key, None, Micros(i64::MIN));
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

    fn throttled(r: Result<Attempt<'_>>) -> Option<u64> {
        match r {
            Err(Error::Throttled {
                retry_after_seconds,
            }) => Some(retry_after_seconds),
            _ => None,
        }
    }

    #[test]
    fn failures_lock_out_until_the_window_ends() {
        let t = Lockout::new(3, 60, 100);
        for i in 0..3 {
            t.begin("u", Micros(i * S)).unwrap().failed(Micros(i * S));
        }
        assert_eq!(throttled(t.begin("u", Micros(3 * S))), Some(57));
        assert!(t.begin("other", Micros(3 * S)).is_ok());
        let a = t.begin("u", Micros(60 * S)).expect("the window has passed");
        a.failed(Micros(61 * S));
        let a = t
            .begin("u", Micros(61 * S))
            .expect("a new window counts afresh");
        a.succeeded(Micros(61 * S));
        assert!(t.is_empty());
    }

    #[test]
    fn checks_at_once_count_before_they_end() {
        let t = Lockout::new(10, 60, 100);
        let running: Vec<_> = (0..16).map(|_| t.begin("u", Micros(0))).collect();
        let started = running.iter().filter(|r| r.is_ok()).count();
        assert_eq!(started, 10, "only as many checks as failures remain");
        for a in running.into_iter().flatten() {
            a.failed(Micros(S));
        }
        assert_eq!(throttled(t.begin("u", Micros(2 * S))), Some(58));
    }

    #[test]
    fn an_abandoned_check_counts_as_neither() {
        let t = Lockout::new(1, 60, 100);
        drop(t.begin("u", Micros(0)).unwrap());
        assert!(t.begin("u", Micros(0)).is_ok());
        assert!(t.is_empty());
    }

    #[test]
    fn the_table_is_bounded_and_keeps_locked_names() {
        let t = Lockout::new(2, 60, 10);
        for _ in 0..2 {
            t.begin("locked", Micros(0)).unwrap().failed(Micros(0));
        }
        for i in 0..100 {
            let key = format!("guess-{i}");
            if let Ok(a) = t.begin(&key, Micros(i * S / 10)) {
                a.failed(Micros(i * S / 10));
            }
            assert!(t.len() <= 10);
        }
        assert!(
            throttled(t.begin("locked", Micros(11 * S))).is_some(),
            "a locked name is never forgotten to make room"
        );
    }

    #[test]
    fn a_table_full_of_locked_names_refuses_new_ones() {
        let t = Lockout::new(1, 60, 3);
        for k in ["a", "b", "c"] {
            t.begin(k, Micros(0)).unwrap().failed(Micros(0));
        }
        assert_eq!(throttled(t.begin("d", Micros(S))), Some(1));
        assert!(t.begin("d", Micros(61 * S)).is_ok(), "windows end");
    }

    #[test]
    fn zero_turns_it_off() {
        let t = Lockout::new(0, 60, 1);
        for _ in 0..5 {
            t.begin("u", Micros(0)).unwrap().failed(Micros(0));
        }
        assert!(t.begin("u", Micros(0)).is_ok());
        assert!(t.is_empty());
    }
}
