//! Events on the wire: the protobuf messages of `events.proto`, their NATS
//! subjects, and the CloudEvents attributes in each message's headers (the
//! CloudEvents NATS binding: `ce-specversion`, `ce-id`, `ce-type`,
//! `ce-source`, `ce-subject`, `ce-time`), with `Nats-Msg-Id` = the event id
//! so that JetStream's duplicate window drops a republished event.

use std::sync::LazyLock;

use async_nats::HeaderMap;
use bytes::Bytes;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};

use crate::domain::Micros;
use crate::domain::events::{DefinitionChange, Event, EventKind, Recorded};
use crate::error::{Error, Result};
use crate::proto;
use crate::store::OutboxRow;
use crate::wire::{owner_to_proto, ts};

/// What a message body holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The protobuf message (`application/protobuf`).
    #[default]
    Protobuf,
    /// The protobuf JSON form of the same message (`application/json`).
    Json,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Protobuf => "application/protobuf",
            Format::Json => "application/json",
        }
    }
}

/// The event as its protobuf message, encoded: what the outbox stores.
pub fn encode(r: &Recorded) -> Vec<u8> {
    let event_id = r.id.clone();
    let org_id = r.org_id;
    let recorded_at = Some(ts(r.recorded_at));
    match r.event.clone() {
        Event::CustomerEnrolled {
            customer_id,
            badge_id,
            issued_badge_id,
            occurred_at,
            expires_on,
        } => proto::CustomerEnrolled {
            event_id,
            org_id,
            customer_id,
            badge_id,
            issued_badge_id,
            occurred_at: Some(ts(occurred_at)),
            recorded_at,
            expires_on: expires_on.map(ts),
        }
        .encode_to_vec(),
        Event::BadgeEarned {
            customer_id,
            badge_id,
            earned_badge_id,
            occurred_at,
            expires_on,
            triggered_by,
        } => proto::BadgeEarned {
            event_id,
            org_id,
            customer_id,
            badge_id,
            earned_badge_id,
            occurred_at: Some(ts(occurred_at)),
            recorded_at,
            expires_on: expires_on.map(ts),
            triggered_by: triggered_by.map(|t| proto::TriggeredBy {
                owner_type: owner_to_proto(t.owner_type) as i32,
                reference_id: t.reference_id.unwrap_or_default(),
            }),
        }
        .encode_to_vec(),
        Event::BadgeEarnRevoked {
            customer_id,
            badge_id,
            earned_badge_id,
        } => proto::BadgeEarnRevoked {
            event_id,
            org_id,
            customer_id,
            badge_id,
            earned_badge_id,
            occurred_at: recorded_at,
            recorded_at,
        }
        .encode_to_vec(),
        Event::EnrolmentRevoked {
            customer_id,
            badge_id,
            issued_badge_id,
        } => proto::EnrolmentRevoked {
            event_id,
            org_id,
            customer_id,
            badge_id,
            issued_badge_id,
            occurred_at: recorded_at,
            recorded_at,
        }
        .encode_to_vec(),
        Event::BadgeAwardExpired {
            customer_id,
            badge_id,
            earned_badge_id,
            expired_at,
        } => proto::BadgeAwardExpired {
            event_id,
            org_id,
            customer_id,
            badge_id,
            earned_badge_id,
            occurred_at: Some(ts(expired_at)),
            recorded_at,
        }
        .encode_to_vec(),
        Event::BadgeActivationChanged { badge_id, active } => proto::BadgeActivationChanged {
            event_id,
            org_id,
            badge_id,
            active,
            occurred_at: recorded_at,
            recorded_at,
        }
        .encode_to_vec(),
        Event::BadgeDefinitionChanged {
            badge_id,
            change,
            active,
            claim,
        } => {
            use proto::badge_definition_changed::Change;
            let change = match change {
                DefinitionChange::Created => Change::Created,
                DefinitionChange::Updated => Change::Updated,
                DefinitionChange::Claimed => Change::Claimed,
                DefinitionChange::Unclaimed => Change::Unclaimed,
            };
            proto::BadgeDefinitionChanged {
                event_id,
                org_id,
                badge_id,
                change: change as i32,
                active,
                claim: claim.map(|t| proto::TriggeredBy {
                    owner_type: owner_to_proto(t.owner_type) as i32,
                    reference_id: t.reference_id.unwrap_or_default(),
                }),
                occurred_at: recorded_at,
                recorded_at,
            }
            .encode_to_vec()
        }
    }
}

/// The API's descriptors, for reading any event message generically.
static POOL: LazyLock<Option<DescriptorPool>> =
    LazyLock::new(|| DescriptorPool::decode(crate::proto::FILE_DESCRIPTOR_SET).ok());

fn descriptor(kind: EventKind) -> Result<MessageDescriptor> {
    POOL.as_ref()
        .and_then(|p| p.get_message_by_name(kind.type_name()))
        .ok_or_else(|| Error::Internal(format!("no descriptor for {}", kind.type_name())))
}

/// An event message read generically, whichever its kind.
pub fn decode(kind: EventKind, payload: &[u8]) -> Result<DynamicMessage> {
    DynamicMessage::decode(descriptor(kind)?, payload)
        .map_err(|e| Error::Internal(format!("undecodable {} event: {e}", kind.type_name())))
}

/// The protobuf JSON form of an event message.
pub fn to_json(message: &DynamicMessage) -> Result<serde_json::Value> {
    serde_json::to_value(message).map_err(|e| Error::Internal(e.to_string()))
}

/// Reads an event body in `content_type` (protobuf, or its JSON form).
pub fn read_body(kind: EventKind, content_type: &str, body: &[u8]) -> Result<DynamicMessage> {
    if content_type.starts_with("application/json") {
        let mut de = serde_json::Deserializer::from_slice(body);
        DynamicMessage::deserialize(descriptor(kind)?, &mut de)
            .map_err(|e| Error::Internal(format!("unreadable JSON event: {e}")))
    } else {
        decode(kind, body)
    }
}

/// The NATS subject of an event: `<prefix>.<org_id>.<event>`.
pub fn subject(prefix: &str, org_id: i32, kind: EventKind) -> String {
    format!("{prefix}.{org_id}.{}", kind.subject_token())
}

/// One outbox row as a NATS message: subject, headers and body.
pub struct Outgoing {
    pub subject: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The message that publishes `row`, under subjects starting `prefix`.
pub fn outgoing(row: &OutboxRow, prefix: &str, format: Format) -> Result<Outgoing> {
    let kind = EventKind::of_type_name(&row.event_type)
        .ok_or_else(|| Error::Internal(format!("unknown event type {:?}", row.event_type)))?;
    let message = decode(kind, &row.payload)?;
    let field = |name: &str| message.get_field_by_name(name);
    let occurred = field("occurred_at")
        .and_then(|v| {
            v.as_message()
                .map(|m| m.transcode_to::<prost_types::Timestamp>())
        })
        .and_then(|t| t.ok())
        .map(|t| Micros(t.seconds * 1_000_000 + i64::from(t.nanos) / 1_000))
        .unwrap_or(Micros(row.recorded_at));
    let badge = field("badge_id")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let ce_subject = match row.customer_id {
        Some(customer) => format!("customers/{customer}/badges/{badge}"),
        None => format!("badges/{badge}"),
    };
    let body = match format {
        Format::Protobuf => Bytes::from(row.payload.clone()),
        Format::Json => Bytes::from(
            serde_json::to_vec(&to_json(&message)?).map_err(|e| Error::Internal(e.to_string()))?,
        ),
    };
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", row.event_id.as_str());
    headers.insert("ce-specversion", "1.0");
    headers.insert("ce-id", row.event_id.as_str());
    headers.insert("ce-type", kind.type_name());
    headers.insert("ce-source", format!("/badges/orgs/{}", row.org_id).as_str());
    headers.insert("ce-subject", ce_subject.as_str());
    headers.insert("ce-time", occurred.to_rfc3339().as_str());
    headers.insert("content-type", format.content_type());
    Ok(Outgoing {
        subject: subject(prefix, row.org_id, kind),
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::detail::TriggeredBy;
    use crate::domain::enums::Owner;

    fn row(r: &Recorded) -> OutboxRow {
        OutboxRow {
            id: 1,
            event_id: r.id.clone(),
            org_id: r.org_id,
            event_type: r.event.kind().type_name().to_owned(),
            customer_id: r.event.customer_id(),
            payload: encode(r),
            recorded_at: r.recorded_at.0,
            published_at: None,
        }
    }

    #[test]
    fn an_earn_is_a_protobuf_message_with_cloudevents_headers() {
        let r = Recorded {
            id: "0123456789abcdef01234567".into(),
            org_id: 7,
            recorded_at: Micros(1_735_689_600_000_000),
            event: Event::BadgeEarned {
                customer_id: 62090013,
                badge_id: "666638f0ae20cb256ec13e23".into(),
                earned_badge_id: "6667e0a0ae20cb256ec13f02".into(),
                occurred_at: Micros(1_735_689_590_500_000),
                expires_on: None,
                triggered_by: Some(TriggeredBy {
                    owner_type: Owner::Journeys,
                    reference_id: Some("j-1".into()),
                }),
            },
        };
        let out = outgoing(&row(&r), "badges.v1", Format::Protobuf).unwrap();
        assert_eq!(out.subject, "badges.v1.7.badge_earned");
        let header = |n: &str| out.headers.get(n).map(|v| v.as_str().to_owned());
        assert_eq!(header("Nats-Msg-Id").as_deref(), Some(r.id.as_str()));
        assert_eq!(header("ce-id").as_deref(), Some(r.id.as_str()));
        assert_eq!(header("ce-specversion").as_deref(), Some("1.0"));
        assert_eq!(
            header("ce-type").as_deref(),
            Some("capillary.badges.v1.BadgeEarned")
        );
        assert_eq!(header("ce-source").as_deref(), Some("/badges/orgs/7"));
        assert_eq!(
            header("ce-subject").as_deref(),
            Some("customers/62090013/badges/666638f0ae20cb256ec13e23")
        );
        assert_eq!(
            header("ce-time").as_deref(),
            Some("2024-12-31T23:59:50.500Z")
        );
        assert_eq!(
            header("content-type").as_deref(),
            Some("application/protobuf")
        );
        let m = proto::BadgeEarned::decode(out.body.as_ref()).unwrap();
        assert_eq!(m.customer_id, 62090013);
        assert_eq!(m.earned_badge_id, "6667e0a0ae20cb256ec13f02");
        assert_eq!(m.triggered_by.unwrap().reference_id, "j-1");

        let json = outgoing(&row(&r), "badges.v1", Format::Json).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
        assert_eq!(v["eventId"], r.id);
        assert_eq!(v["customerId"], "62090013");
        assert_eq!(v["occurredAt"], "2024-12-31T23:59:50.500Z");
        let back = read_body(EventKind::BadgeEarned, "application/json", &json.body).unwrap();
        assert_eq!(back.encode_to_vec(), encode(&r));
    }

    #[test]
    fn an_activation_concerns_a_badge_not_a_customer() {
        let r = Recorded {
            id: "0123456789abcdef01234568".into(),
            org_id: 3,
            recorded_at: Micros(1_000_000),
            event: Event::BadgeActivationChanged {
                badge_id: "666638f0ae20cb256ec13e23".into(),
                active: false,
            },
        };
        let out = outgoing(&row(&r), "p.v1", Format::Protobuf).unwrap();
        assert_eq!(out.subject, "p.v1.3.badge_activation_changed");
        assert_eq!(
            out.headers.get("ce-subject").map(|v| v.as_str()),
            Some("badges/666638f0ae20cb256ec13e23")
        );
        assert_eq!(
            out.headers.get("ce-time").map(|v| v.as_str()),
            Some("1970-01-01T00:00:01Z")
        );
    }
}
