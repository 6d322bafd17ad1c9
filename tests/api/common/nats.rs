//! NATS JetStream for the event tests: the server named by
//! `BADGES_TEST_NATS_URL`, a stream and subject prefix of each test's own
//! (deleted at the end, or by a later run if the test panicked first), and a
//! reader of what the stream holds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use badges::auth::Secret;
use badges::domain::events::EventKind;
use badges::events::EventsConfig;
use futures_util::StreamExt;
use prost::Message;

pub const NATS_ENV: &str = "BADGES_TEST_NATS_URL";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Test streams are named `BADGES_T<unix seconds>_…`. One left behind by a
/// test that panicked before `cleanup` is deleted by the first test of a
/// later run, once it is this old (no test runs that long).
const LEFTOVER_AFTER_SECS: u64 = 3600;
static LEFTOVERS_SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

async fn delete_leftover_streams(js: &jetstream::Context) {
    let now = super::since_epoch().as_secs();
    let mut names = js.stream_names();
    let mut old = Vec::new();
    while let Some(Ok(name)) = names.next().await {
        let created = name
            .strip_prefix("BADGES_T")
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|secs| now.saturating_sub(secs) > LEFTOVER_AFTER_SECS) {
            old.push(name);
        }
    }
    for name in old {
        let _ = js.delete_stream(&name).await;
    }
}

/// One message of the stream.
#[derive(Clone, Debug)]
pub struct Received {
    pub subject: String,
    pub headers: HashMap<String, String>,
    pub payload: bytes::Bytes,
    pub kind: EventKind,
}

impl Received {
    pub fn decode<M: Message + Default>(&self) -> M {
        M::decode(self.payload.as_ref()).expect("a protobuf event")
    }

    pub fn id(&self) -> &str {
        &self.headers["ce-id"]
    }
}

/// A stream of the test's own.
pub struct TestStream {
    pub url: String,
    pub name: String,
    pub prefix: String,
    js: jetstream::Context,
}

impl TestStream {
    /// A fresh stream name and prefix, or `None` (saying so) without NATS.
    pub async fn new_or_skip(test: &str) -> Option<TestStream> {
        let Ok(url) = std::env::var(NATS_ENV) else {
            super::skipped(&format!(
                "{test} skipped: it needs NATS JetStream ({NATS_ENV})"
            ));
            return None;
        };
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tag = format!(
            "{}_{}_{n}_{}",
            super::since_epoch().as_secs(),
            std::process::id(),
            super::rand_suffix()
        );
        let client = async_nats::connect(url.as_str())
            .await
            .expect("connect to NATS");
        let js = jetstream::new(client);
        LEFTOVERS_SWEPT
            .get_or_init(|| delete_leftover_streams(&js))
            .await;
        Some(TestStream {
            name: format!("BADGES_T{tag}"),
            prefix: format!("t{tag}.v1"),
            url,
            js,
        })
    }

    /// What a service publishing to this stream is configured with.
    pub fn config(&self) -> EventsConfig {
        self.config_via(&self.url)
    }

    /// The same, with NATS reached at `url` (a proxy, say).
    pub fn config_via(&self, url: &str) -> EventsConfig {
        EventsConfig {
            stream: self.name.clone(),
            subject_prefix: self.prefix.clone(),
            sweep_interval: Duration::from_secs(1),
            ..EventsConfig::new(Secret::new(url))
        }
    }

    /// The environment that points the real binary at this stream.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("BADGES_NATS_URL", self.url.clone()),
            ("BADGES_NATS_STREAM", self.name.clone()),
            ("BADGES_NATS_SUBJECT_PREFIX", self.prefix.clone()),
            ("BADGES_EXPIRY_SWEEP_SECONDS", "1".into()),
        ]
    }

    /// How many messages the stream holds (0 before it exists).
    pub async fn count(&self) -> u64 {
        match self.js.get_stream(&self.name).await {
            Ok(mut s) => s.info().await.map_or(0, |i| i.state.messages),
            Err(_) => 0,
        }
    }

    /// Waits (up to `within`) until the stream holds at least `n` messages;
    /// how many it holds.
    pub async fn wait_for(&self, n: u64, within: Duration) -> u64 {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let count = self.count().await;
            if count >= n || tokio::time::Instant::now() >= deadline {
                return count;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every message the stream holds, in stream order.
    pub async fn messages(&self) -> Vec<Received> {
        let total = self.count().await;
        let mut out = Vec::new();
        if total == 0 {
            return out;
        }
        let stream = self.js.get_stream(&self.name).await.expect("stream");
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy: consumer::DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .expect("consumer");
        let mut messages = consumer.messages().await.expect("messages");
        while (out.len() as u64) < total {
            let m = tokio::time::timeout(Duration::from_secs(10), messages.next())
                .await
                .expect("the stream's messages arrive")
                .expect("a message")
                .expect("readable");
            let headers: HashMap<String, String> = m
                .headers
                .iter()
                .flat_map(|h| h.iter())
                .filter_map(|(k, v)| Some((k.to_string(), v.first()?.as_str().to_owned())))
                .collect();
            let kind = EventKind::of_type_name(&headers["ce-type"]).expect("a known ce-type");
            out.push(Received {
                subject: m.subject.to_string(),
                headers,
                payload: m.payload.clone(),
                kind,
            });
        }
        out
    }

    /// Empties the stream (between backends of one test).
    pub async fn purge(&self) {
        if let Ok(s) = self.js.get_stream(&self.name).await {
            let _ = s.purge().await;
        }
    }

    pub async fn cleanup(self) {
        let _ = self.js.delete_stream(&self.name).await;
    }
}
