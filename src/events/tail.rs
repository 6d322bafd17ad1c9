//! `badges events tail`: prints events from the stream as JSON lines, for
//! debugging as grpcurl is for calls. Each line is the event in the
//! CloudEvents JSON format (`specversion`, `id`, `type`, `source`,
//! `subject`, `time`, `datacontenttype`, `data`), `data` being the event
//! message in its protobuf JSON form, plus `natssubject` and `sequence`.

use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;

use super::wire;
use crate::domain::events::EventKind;

/// Where a tail begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// The first event the stream holds.
    First,
    /// The latest event that matches.
    Latest,
    /// Events published from now on.
    New,
}

/// What to print.
#[derive(Clone, Debug)]
pub struct Tail {
    pub nats_url: crate::auth::Secret,
    pub stream: String,
    pub subject_prefix: String,
    /// Only this org's events.
    pub org: Option<i32>,
    /// Only events of this kind (its subject token, e.g. `badge_earned`).
    pub event: Option<String>,
    /// Where in the stream to begin.
    pub start: Start,
    /// Stop after this many events.
    pub limit: Option<u64>,
    /// Stop when no event came for this long.
    pub idle: Option<Duration>,
}

impl Tail {
    /// The subject filter: `<prefix>.<org|*>.<event|*>`.
    pub fn filter(&self) -> String {
        format!(
            "{}.{}.{}",
            self.subject_prefix,
            self.org.map_or("*".to_owned(), |o| o.to_string()),
            self.event.as_deref().unwrap_or("*")
        )
    }

    pub async fn run(self) -> anyhow::Result<()> {
        if let Some(e) = &self.event {
            anyhow::ensure!(
                EventKind::ALL.iter().any(|k| k.subject_token() == e),
                "no event kind {e:?}; one of {}",
                EventKind::ALL.map(|k| k.subject_token()).join(", ")
            );
        }
        let client = async_nats::connect(self.nats_url.expose())
            .await
            .context("connecting to NATS")?;
        let js = jetstream::new(client);
        let stream = js
            .get_stream(&self.stream)
            .await
            .with_context(|| format!("no JetStream stream {:?}", self.stream))?;
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: self.filter(),
                deliver_policy: match self.start {
                    Start::First => consumer::DeliverPolicy::All,
                    Start::Latest => consumer::DeliverPolicy::Last,
                    Start::New => consumer::DeliverPolicy::New,
                },
                ..Default::default()
            })
            .await
            .context("creating a consumer")?;
        let mut messages = consumer.messages().await.context("reading the stream")?;
        let mut printed = 0u64;
        loop {
            if self.limit.is_some_and(|l| printed >= l) {
                return Ok(());
            }
            let next = match self.idle {
                Some(idle) => match tokio::time::timeout(idle, messages.next()).await {
                    Ok(next) => next,
                    Err(_) => return Ok(()),
                },
                None => messages.next().await,
            };
            let Some(message) = next else {
                return Ok(());
            };
            let message = message.context("reading the stream")?;
            println!("{}", line(&message)?);
            printed += 1;
        }
    }
}

/// One message as a CloudEvents JSON line.
fn line(m: &jetstream::Message) -> anyhow::Result<serde_json::Value> {
    let header = |name: &str| {
        m.headers
            .as_ref()
            .and_then(|h| h.get(name))
            .map(|v| v.as_str().to_owned())
    };
    let kind_name = header("ce-type").unwrap_or_default();
    let content_type = header("content-type").unwrap_or_default();
    let data = match EventKind::of_type_name(&kind_name) {
        Some(kind) => wire::to_json(&wire::read_body(kind, &content_type, &m.payload)?)?,
        None => serde_json::Value::Null,
    };
    let sequence = m.info().ok().map(|i| i.stream_sequence);
    Ok(serde_json::json!({
        "specversion": header("ce-specversion"),
        "id": header("ce-id"),
        "type": kind_name,
        "source": header("ce-source"),
        "subject": header("ce-subject"),
        "time": header("ce-time"),
        "datacontenttype": "application/json",
        "natssubject": m.subject.as_str(),
        "sequence": sequence,
        "data": data,
    }))
}
