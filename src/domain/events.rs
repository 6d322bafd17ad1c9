//! What other services learn of a customer's badges (BEHAVIOUR.md §8): the
//! events, as the writes that cause them record them. No I/O here; the store
//! writes them to the outbox in the write's own transaction and
//! `crate::events` publishes them.

use super::Micros;
use super::detail::TriggeredBy;

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    CustomerEnrolled {
        customer_id: i64,
        badge_id: String,
        issued_badge_id: String,
        occurred_at: Micros,
        expires_on: Option<Micros>,
    },
    BadgeEarned {
        customer_id: i64,
        badge_id: String,
        earned_badge_id: String,
        occurred_at: Micros,
        expires_on: Option<Micros>,
        triggered_by: Option<TriggeredBy>,
    },
    BadgeEarnRevoked {
        customer_id: i64,
        badge_id: String,
        earned_badge_id: String,
    },
    EnrolmentRevoked {
        customer_id: i64,
        badge_id: String,
        issued_badge_id: String,
    },
    BadgeAwardExpired {
        customer_id: i64,
        badge_id: String,
        earned_badge_id: String,
        expired_at: Micros,
    },
    BadgeActivationChanged {
        badge_id: String,
        active: bool,
    },
    /// A badge was created or updated, or claimed or unclaimed (`claim`
    /// says by whom).
    BadgeDefinitionChanged {
        badge_id: String,
        change: DefinitionChange,
        active: bool,
        claim: Option<TriggeredBy>,
    },
}

/// What changed a badge's definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefinitionChange {
    Created,
    Updated,
    Claimed,
    Unclaimed,
}

/// The kinds of event, each with its names on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    CustomerEnrolled,
    BadgeEarned,
    BadgeEarnRevoked,
    EnrolmentRevoked,
    BadgeAwardExpired,
    BadgeActivationChanged,
    BadgeDefinitionChanged,
}

impl EventKind {
    pub const ALL: [EventKind; 7] = [
        EventKind::CustomerEnrolled,
        EventKind::BadgeEarned,
        EventKind::BadgeEarnRevoked,
        EventKind::EnrolmentRevoked,
        EventKind::BadgeAwardExpired,
        EventKind::BadgeActivationChanged,
        EventKind::BadgeDefinitionChanged,
    ];

    /// The last token of the event's NATS subject.
    pub fn subject_token(self) -> &'static str {
        match self {
            EventKind::CustomerEnrolled => "customer_enrolled",
            EventKind::BadgeEarned => "badge_earned",
            EventKind::BadgeEarnRevoked => "badge_earn_revoked",
            EventKind::EnrolmentRevoked => "enrolment_revoked",
            EventKind::BadgeAwardExpired => "badge_award_expired",
            EventKind::BadgeActivationChanged => "badge_activation_changed",
            EventKind::BadgeDefinitionChanged => "badge_definition_changed",
        }
    }

    /// The protobuf message's full name: also the CloudEvents `type`.
    pub fn type_name(self) -> &'static str {
        match self {
            EventKind::CustomerEnrolled => "capillary.badges.v1.CustomerEnrolled",
            EventKind::BadgeEarned => "capillary.badges.v1.BadgeEarned",
            EventKind::BadgeEarnRevoked => "capillary.badges.v1.BadgeEarnRevoked",
            EventKind::EnrolmentRevoked => "capillary.badges.v1.EnrolmentRevoked",
            EventKind::BadgeAwardExpired => "capillary.badges.v1.BadgeAwardExpired",
            EventKind::BadgeActivationChanged => "capillary.badges.v1.BadgeActivationChanged",
            EventKind::BadgeDefinitionChanged => "capillary.badges.v1.BadgeDefinitionChanged",
        }
    }

    pub fn of_type_name(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.type_name() == name)
    }
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::CustomerEnrolled { .. } => EventKind::CustomerEnrolled,
            Event::BadgeEarned { .. } => EventKind::BadgeEarned,
            Event::BadgeEarnRevoked { .. } => EventKind::BadgeEarnRevoked,
            Event::EnrolmentRevoked { .. } => EventKind::EnrolmentRevoked,
            Event::BadgeAwardExpired { .. } => EventKind::BadgeAwardExpired,
            Event::BadgeActivationChanged { .. } => EventKind::BadgeActivationChanged,
            Event::BadgeDefinitionChanged { .. } => EventKind::BadgeDefinitionChanged,
        }
    }

    /// The customer it concerns (none for a change to a badge itself).
    pub fn customer_id(&self) -> Option<i64> {
        match self {
            Event::CustomerEnrolled { customer_id, .. }
            | Event::BadgeEarned { customer_id, .. }
            | Event::BadgeEarnRevoked { customer_id, .. }
            | Event::EnrolmentRevoked { customer_id, .. }
            | Event::BadgeAwardExpired { customer_id, .. } => Some(*customer_id),
            Event::BadgeActivationChanged { .. } | Event::BadgeDefinitionChanged { .. } => None,
        }
    }
}

/// An event as recorded: its id, its org and when the service recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// 24 hex characters; a republished event keeps it.
    pub id: String,
    pub org_id: i32,
    pub recorded_at: Micros,
    pub event: Event,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_distinct_names_that_read_back() {
        let mut tokens: Vec<&str> = EventKind::ALL.iter().map(|k| k.subject_token()).collect();
        tokens.sort_unstable();
        tokens.dedup();
        assert_eq!(tokens.len(), EventKind::ALL.len());
        for k in EventKind::ALL {
            assert_eq!(EventKind::of_type_name(k.type_name()), Some(k));
            assert!(
                k.subject_token()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_')
            );
        }
        assert_eq!(EventKind::of_type_name("capillary.badges.v1.Nope"), None);
    }
}
