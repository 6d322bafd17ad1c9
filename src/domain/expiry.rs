//! How long an award or enrolment lasts once recorded.

use chrono::{DateTime, Months, Utc};

use super::Micros;

/// How long an award or enrolment lasts: never, for a number of days,
/// weeks or calendar months from when it was recorded, until a fixed time,
/// or as long as the badge's own window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExpiryRule {
    #[default]
    Never,
    Relative {
        relative_expiry_type: RelativeUnit,
        value: u32,
    },
    Absolute {
        /// Epoch seconds.
        expires_on: i64,
    },
    WithBadge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelativeUnit {
    Days,
    Weeks,
    Months,
}

impl ExpiryRule {
    /// When something starting at `from` expires under this rule; `None` is never.
    pub fn expires_at(self, from: Micros, badge_expires_on: Micros) -> Option<Micros> {
        match self {
            ExpiryRule::Never => None,
            ExpiryRule::WithBadge => Some(badge_expires_on),
            ExpiryRule::Absolute { expires_on } => {
                Some(Micros(expires_on.saturating_mul(1_000_000)))
            }
            ExpiryRule::Relative {
                relative_expiry_type,
                value,
            } => {
                let day = 86_400_000_000i64;
                let add = |d: i64| {
                    Some(Micros(
                        from.0.saturating_add(d.saturating_mul(i64::from(value))),
                    ))
                };
                match relative_expiry_type {
                    RelativeUnit::Days => add(day),
                    RelativeUnit::Weeks => add(7 * day),
                    RelativeUnit::Months => DateTime::<Utc>::from_timestamp_micros(from.0)
                        .and_then(|t| t.checked_add_months(Months::new(value)))
                        .map(Micros::from_datetime)
                        .or(Some(Micros(i64::MAX))),
                }
            }
        }
    }
}
