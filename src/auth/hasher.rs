//! A fixed pool of argon2 workers with a short queue.
//!
//! Verifying an argon2id secret costs tens of milliseconds of CPU and, with
//! the default parameters, 19 MiB of memory. On tokio's blocking pool every
//! wrong secret took a thread and its own 19 MiB, so a stream of bad
//! credentials grew the process without bound, and a check kept running after
//! its caller had gone. Here a fixed number of threads each own one memory
//! buffer, reused for every check while checks keep coming and freed once
//! none came for [`IDLE`] (checks are rare: a verified secret is remembered);
//! a check waits in a bounded queue, and a full queue refuses at once (429 /
//! RESOURCE_EXHAUSTED). A check whose caller has gone by the time a worker
//! takes it is skipped.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::password_hash::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use prometheus_client::metrics::counter::Counter;
use tokio::sync::oneshot;

use super::Secret;
use crate::error::{Error, Result};

/// The largest argon2 memory cost (KiB) a stored hash may ask for; a worker's
/// buffer never grows past it. The default parameters use 19 MiB.
const MAX_MEMORY_KIB: u32 = 64 * 1024;

/// How long a worker keeps its buffer without a check to run.
const IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a caller refused for a full queue should wait (s).
const RETRY_AFTER_SECONDS: u64 = 1;

struct Job {
    secret: Secret,
    phc: Arc<str>,
    answer: oneshot::Sender<bool>,
}

/// What the pool has done, for `/metrics` (clones share the counts).
#[derive(Clone, Debug, Default)]
pub struct HasherStats {
    /// Checks run.
    pub verified: Counter,
    /// Checks refused at once for a full queue.
    pub refused: Counter,
    /// Checks skipped because their caller had gone.
    pub skipped: Counter,
}

/// Handle to the worker pool; cloning shares it. The workers stop when the
/// last handle is dropped.
#[derive(Clone)]
pub struct Hasher {
    jobs: SyncSender<Job>,
    /// Kept so that the queue stays open even without a worker (tests).
    _inbox: Arc<Mutex<Receiver<Job>>>,
    stats: Arc<HasherStats>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hasher")
    }
}

impl Hasher {
    /// `workers` threads (at least 1) and room for `queue` waiting checks.
    pub fn new(workers: usize, queue: usize) -> Hasher {
        Self::with_workers(workers.max(1), queue)
    }

    fn with_workers(workers: usize, queue: usize) -> Hasher {
        let (jobs, inbox) = sync_channel::<Job>(queue);
        let inbox = Arc::new(Mutex::new(inbox));
        let stats = Arc::new(HasherStats::default());
        for i in 0..workers {
            let inbox = inbox.clone();
            let stats = stats.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(&inbox, &stats));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start an argon2 worker");
            }
        }
        Hasher {
            jobs,
            _inbox: inbox,
            stats,
        }
    }

    pub fn stats(&self) -> &HasherStats {
        &self.stats
    }

    /// Whether `secret` matches the PHC string `phc`. `Throttled` at once when
    /// the queue is full.
    pub async fn verify(&self, secret: Secret, phc: Arc<str>) -> Result<bool> {
        let (answer, outcome) = oneshot::channel();
        match self.jobs.try_send(Job {
            secret,
            phc,
            answer,
        }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.stats.refused.inc();
                return Err(Error::Throttled {
                    retry_after_seconds: RETRY_AFTER_SECONDS,
                });
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(Error::Internal("the argon2 workers have stopped".into()));
            }
        }
        outcome
            .await
            .map_err(|_| Error::Internal("an argon2 worker dropped a check".into()))
    }
}

fn work(inbox: &Mutex<Receiver<Job>>, stats: &HasherStats) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        // The lock is held only while waiting for the next job.
        let job = match inbox.lock() {
            Ok(rx) if memory.is_empty() => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Ok(rx) => rx.recv_timeout(IDLE),
            Err(_) => return,
        };
        let job = match job {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                // Idle: the buffer goes back to the system until needed.
                memory = Vec::new();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if job.answer.is_closed() {
            // The caller gave up while the check waited: do not spend on it.
            stats.skipped.inc();
            continue;
        }
        let ok = verify_with(&job.secret, &job.phc, &mut memory);
        stats.verified.inc();
        let _ = job.answer.send(ok);
    }
}

/// Verifies in `memory`, which grows to the hash's memory cost and is kept.
fn verify_with(secret: &Secret, phc: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (hash.hash, hash.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = hash
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or_default();
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    if params.m_cost() > MAX_MEMORY_KIB {
        tracing::error!(
            m_cost = params.m_cost(),
            "a stored secret hash asks for more memory than allowed"
        );
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    if argon
        .hash_password_into_with_memory(
            secret.expose().as_bytes(),
            salt,
            &mut out,
            &mut memory[..blocks],
        )
        .is_err()
    {
        return false;
    }
    // `Output` compares in constant time.
    Output::new(&out).is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_only_the_right_secret_and_refuses_when_full() {
        let phc: Arc<str> = super::super::hash_secret("right").unwrap().into();
        let hasher = Hasher::new(1, 1);
        assert!(
            hasher
                .verify(Secret::new("right"), phc.clone())
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(Secret::new("wrong"), phc.clone())
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(Secret::new("right"), "not a hash".into())
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        // No worker, and a queue already full.
        let hasher = Hasher::with_workers(0, 2);
        while hasher
            .jobs
            .try_send(Job {
                secret: Secret::new("y"),
                phc: "y".into(),
                answer: oneshot::channel().0,
            })
            .is_ok()
        {}
        assert!(matches!(
            hasher.verify(Secret::new("z"), "z".into()).await,
            Err(Error::Throttled {
                retry_after_seconds: 1
            })
        ));
        assert_eq!(hasher.stats().refused.get(), 1);
    }
}
