//! The relay: publishes the outbox to NATS JetStream, in the order events
//! were recorded, and marks what JetStream acknowledged.
//!
//! One relay per database publishes at a time: it holds the lease
//! (`relay_lease`, renewed while it runs, given up at shutdown, taken over by
//! another process once it lapses). Events are published one after the other,
//! each acknowledged before the next is sent, so a customer's events reach
//! the stream in their order even across failures; an event whose
//! acknowledgement was lost is sent again with the same `Nats-Msg-Id`, which
//! JetStream's duplicate window drops. While NATS is unreachable the relay
//! retries with a growing pause (at most [`MAX_BACKOFF`]); writes do not wait
//! for it.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, message::PublishMessage, stream};
use tokio::sync::watch;

use super::{EventStats, EventsConfig, wire};
use crate::domain::Micros;
use crate::domain::clock::SharedClock;
use crate::store::Store;

/// Events read from the outbox at a time.
const BATCH: u64 = 256;
/// How often the relay looks for events written by other processes (its
/// own process's writes wake it at once).
const POLL: Duration = Duration::from_millis(500);
/// How long a lease lasts unless renewed; it is renewed when a third is left.
const LEASE: Duration = Duration::from_secs(15);
/// The longest pause between attempts while NATS fails.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How long JetStream keeps an event id to drop a republished event.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);
/// How long the first connection to NATS may take before the relay counts
/// its absence as failures.
const CONNECTING: Duration = Duration::from_secs(5);
/// How often published events past the retention are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Publishing failures in a row: the first is logged at WARN, the rest at
/// DEBUG, and the end of the outage at INFO with how many there were (each
/// is counted in `badges_events_publish_failures_total`).
#[derive(Debug, Default)]
struct Outage {
    failures: u64,
    since: Option<Instant>,
}

impl Outage {
    fn failed(&mut self, error: &anyhow::Error, retry_in: Duration) {
        self.failures += 1;
        let retry_in_ms = retry_in.as_millis() as u64;
        if self.since.is_none() {
            self.since = Some(Instant::now());
            tracing::warn!(error = %error, retry_in_ms, "publishing events failed; they wait in the outbox");
        } else {
            tracing::debug!(error = %error, retry_in_ms, "publishing events failed again");
        }
    }

    fn over(&mut self) {
        if let Some(since) = self.since.take() {
            tracing::info!(
                failures = self.failures,
                seconds = since.elapsed().as_secs(),
                "publishing events again"
            );
        }
        self.failures = 0;
    }
}

/// What the relay's rounds carry from one to the next.
struct Round {
    client: async_nats::Client,
    started: Instant,
    stream_ready: bool,
    /// Until when this process holds the lease (service clock).
    holds_until: Micros,
    /// A process without the lease looks whether it lapsed this often.
    lease_tried: Option<Instant>,
    /// Pruning runs on this process's monotonic clock; the lease on the
    /// service clock, which every process shares.
    pruned_at: Option<Instant>,
}

pub struct Relay {
    store: Store,
    config: EventsConfig,
    stats: EventStats,
    clock: SharedClock,
    /// Who this process is in the lease table.
    holder: String,
}

impl Relay {
    pub fn new(store: Store, config: EventsConfig, stats: EventStats, clock: SharedClock) -> Self {
        let holder = crate::domain::ids::new_object_id(clock.now());
        Relay {
            store,
            config,
            stats,
            clock,
            holder,
        }
    }

    /// Runs until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let stats = self.stats.clone();
        let connect = async_nats::ConnectOptions::new()
            .name("badges")
            .retry_on_initial_connect()
            .max_reconnects(None)
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis(100u64.saturating_mul(1 << attempts.min(5))).min(MAX_BACKOFF)
            })
            .event_callback(move |event| {
                let stats = stats.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => {
                            stats.connected.set(1);
                            tracing::info!("connected to NATS");
                        }
                        async_nats::Event::Disconnected => {
                            stats.connected.set(0);
                        }
                        // Failed reconnects come once per attempt; the
                        // relay's own failures say what an outage costs.
                        other => tracing::debug!(event = %other, "NATS"),
                    }
                }
            })
            .connect(self.config.nats_url.expose())
            .await;
        let client = match connect {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "the NATS URL is unusable; no events are published");
                return;
            }
        };
        let js = jetstream::new(client.clone());
        let mut outage = Outage::default();
        let mut state = Round {
            client,
            started: Instant::now(),
            stream_ready: false,
            holds_until: Micros(0),
            lease_tried: None,
            pruned_at: None,
        };
        let mut backoff = POLL;
        loop {
            if *stop.borrow() {
                break;
            }
            let outcome = self.round(&js, &mut state).await;
            let failing = outcome.is_err();
            if !failing {
                outage.over();
            }
            let wait = match outcome {
                Ok(true) => {
                    backoff = POLL;
                    continue;
                }
                Ok(false) => {
                    backoff = POLL;
                    POLL
                }
                Err(e) => {
                    self.stats.failures.inc();
                    outage.failed(&e, backoff);
                    // The stream may be what is missing: make sure of it again.
                    state.stream_ready = false;
                    let wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    wait
                }
            };
            // A new event wakes the relay, unless it is waiting out a failure.
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.store.events_written(), if !failing => {}
                _ = stop.changed() => {}
            }
        }
        if state.holds_until > self.clock.now()
            && let Err(e) = self.store.release_relay_lease(&self.holder).await
        {
            tracing::warn!(error = %e, "giving up the relay lease");
        }
    }

    /// Creates the stream, or brings its subjects and duplicate window to
    /// what this service needs.
    /// One round: NATS connected, the stream there, the lease held (taken
    /// or renewed when due), old published events pruned when due, then one
    /// batch published. Whether a full batch went (so another may follow at
    /// once).
    async fn round(&self, js: &jetstream::Context, r: &mut Round) -> anyhow::Result<bool> {
        let now = self.clock.now();
        // While the client is not connected, a request would only wait for
        // its timeout: it is a failed attempt at once. Only a first
        // connection still under way gets a moment.
        match r.client.connection_state() {
            async_nats::connection::State::Connected => {}
            async_nats::connection::State::Pending if r.started.elapsed() < CONNECTING => {
                return Ok(false);
            }
            _ => anyhow::bail!("not connected to NATS"),
        }
        if !r.stream_ready {
            self.ensure_stream(js).await?;
            r.stream_ready = true;
        }
        let holding = r.holds_until > now;
        let due = r.lease_tried.is_none_or(|t| t.elapsed() >= LEASE / 3);
        if (holding && r.holds_until.0 - now.0 < micros(LEASE) / 3) || (!holding && due) {
            r.lease_tried = Some(Instant::now());
            let until = Micros(now.0 + micros(LEASE));
            r.holds_until = if self
                .store
                .take_relay_lease(&self.holder, now, until)
                .await?
            {
                until
            } else {
                Micros(0)
            };
        }
        if r.holds_until <= now {
            return Ok(false);
        }
        if r.pruned_at.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
            let before = Micros(now.0 - micros(self.config.retention));
            let pruned = self.store.prune_published(before).await?;
            if pruned > 0 {
                tracing::debug!(pruned, "pruned published events");
            }
            r.pruned_at = Some(Instant::now());
        }
        self.publish_batch(js).await
    }

    async fn ensure_stream(&self, js: &jetstream::Context) -> anyhow::Result<()> {
        js.create_or_update_stream(stream::Config {
            name: self.config.stream.clone(),
            subjects: vec![self.config.stream_subjects()],
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        })
        .await?;
        tracing::info!(
            stream = %self.config.stream,
            subjects = %self.config.stream_subjects(),
            "JetStream stream ready"
        );
        Ok(())
    }

    /// Publishes the oldest unpublished events, each acknowledged before the
    /// next is sent, and marks those acknowledged; whether more may wait.
    async fn publish_batch(&self, js: &jetstream::Context) -> anyhow::Result<bool> {
        let rows = self.store.pending_events(BATCH).await?;
        let mut acked = Vec::with_capacity(rows.len());
        let mut failure = None;
        for row in &rows {
            let out = wire::outgoing(row, &self.config.subject_prefix, self.config.format)?;
            let sent = async {
                let ack = js
                    .send_publish(
                        out.subject,
                        PublishMessage::build()
                            .payload(out.body)
                            .headers(out.headers),
                    )
                    .await?
                    .await?;
                Ok::<_, anyhow::Error>(ack)
            }
            .await;
            match sent {
                Ok(ack) => {
                    self.stats.published.inc();
                    if ack.duplicate {
                        self.stats.duplicates.inc();
                    }
                    acked.push(row.id);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        self.store.mark_published(&acked, self.clock.now()).await?;
        match failure {
            Some(e) => Err(e),
            None => Ok(rows.len() as u64 == BATCH),
        }
    }
}
