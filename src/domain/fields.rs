//! Reading one field of a request, for both transports alike: REST reads
//! text and JSON numbers, gRPC enum numbers and timestamps, and both turn
//! them into the same values or the same problem, with one code and one
//! message. A field that could not be read travels in its command as
//! `Err(problem)`, so that validation reports it with every other problem of
//! the request.

use super::enums::{EarnType, Owner};
use super::expiry::{ExpiryRule, RelativeUnit};
use super::{Micros, Problem};

/// A field as read from the wire: its value, or why it has none.
pub type Field<T> = Result<T, Problem>;

/// The problem of an owner that is not one of the contract's (714).
pub fn unknown_owner(field: &str) -> Problem {
    Problem::owner_invalid(
        field,
        format!("{field} must be one of {}", Owner::expected()),
    )
}

/// An owner by its name (case-insensitive).
pub fn owner(raw: &str, field: &str) -> Field<Owner> {
    Owner::parse(raw).ok_or_else(|| unknown_owner(field))
}

/// The problem of an earn type that is not EARN or ISSUE_EARN.
pub fn unknown_earn_type() -> Problem {
    Problem::invalid(
        "earnType",
        format!("earnType must be one of {}", EarnType::expected()),
    )
}

pub fn earn_type(raw: &str) -> Field<EarnType> {
    EarnType::parse(raw).ok_or_else(unknown_earn_type)
}

/// The problem of a time that is no instant this service can hold.
pub fn invalid_time(field: &str) -> Problem {
    Problem::invalid(field, format!("{field} is not a valid time"))
}

/// A time given as epoch seconds (a JSON number, fractions allowed) or as
/// its ISO 8601 twin `{field}ISO`; at most one of them.
pub fn epoch_or_iso(seconds: Option<f64>, iso: Option<&str>, field: &str) -> Field<Option<Micros>> {
    match (seconds, iso) {
        (Some(_), Some(_)) => Err(Problem::invalid(
            field,
            format!("give {field} or {field}ISO, not both"),
        )),
        (Some(s), None) => {
            let micros = s * 1_000_000.0;
            if s.is_finite() && micros.abs() < 9.0e18 {
                Ok(Some(Micros(micros.round() as i64)))
            } else {
                Err(invalid_time(field))
            }
        }
        (None, Some(text)) => Micros::parse_iso(text)
            .map(Some)
            .ok_or_else(|| invalid_time(field)),
        (None, None) => Ok(None),
    }
}

/// A `google.protobuf.Timestamp`'s seconds and nanos.
pub fn timestamp(seconds: i64, nanos: i32, field: &str) -> Field<Micros> {
    Micros::from_seconds_nanos(seconds, nanos).ok_or_else(|| invalid_time(field))
}

/// The kinds of expiry rule, by their wire names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiryKind {
    Never,
    Relative,
    Absolute,
    WithBadge,
}

impl ExpiryKind {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw.to_ascii_uppercase().as_str() {
            "NEVER" => ExpiryKind::Never,
            "RELATIVE" => ExpiryKind::Relative,
            "ABSOLUTE" => ExpiryKind::Absolute,
            "WITH_BADGE" => ExpiryKind::WithBadge,
            _ => return None,
        })
    }
}

impl RelativeUnit {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw.to_ascii_uppercase().as_str() {
            "DAYS" => RelativeUnit::Days,
            "WEEKS" => RelativeUnit::Weeks,
            "MONTHS" => RelativeUnit::Months,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RelativeUnit::Days => "DAYS",
            RelativeUnit::Weeks => "WEEKS",
            RelativeUnit::Months => "MONTHS",
        }
    }
}

/// The parts of an expiry rule as a caller sent them; `None` where absent.
/// A kind or unit that is not one of the contract's is `Some(Err(()))`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExpiryParts {
    pub kind: Option<Result<ExpiryKind, ()>>,
    pub unit: Option<Result<RelativeUnit, ()>>,
    pub value: Option<u32>,
    /// Epoch seconds.
    pub expires_on: Option<i64>,
}

/// An expiry rule from its parts: each kind takes exactly its own parts.
pub fn expiry(parts: ExpiryParts, field: &str) -> Field<ExpiryRule> {
    let bad = |what: String| Problem::invalid(field, format!("{field}: {what}"));
    let ExpiryParts {
        kind,
        unit,
        value,
        expires_on,
    } = parts;
    let kind = match kind {
        None => return Ok(ExpiryRule::Never),
        Some(Err(())) => {
            return Err(bad(
                "expiryType must be one of NEVER, RELATIVE, ABSOLUTE, WITH_BADGE".into(),
            ));
        }
        Some(Ok(k)) => k,
    };
    match kind {
        ExpiryKind::Never | ExpiryKind::WithBadge => {
            if unit.is_some() || value.is_some() || expires_on.is_some() {
                return Err(bad(format!(
                    "{} takes no other field",
                    if kind == ExpiryKind::Never {
                        "NEVER"
                    } else {
                        "WITH_BADGE"
                    }
                )));
            }
            Ok(if kind == ExpiryKind::Never {
                ExpiryRule::Never
            } else {
                ExpiryRule::WithBadge
            })
        }
        ExpiryKind::Absolute => match (expires_on, unit, value) {
            (Some(expires_on), None, None) => Ok(ExpiryRule::Absolute { expires_on }),
            (None, _, _) => Err(bad("ABSOLUTE needs expiresOn".into())),
            _ => Err(bad("ABSOLUTE takes expiresOn only".into())),
        },
        ExpiryKind::Relative => match (unit, value, expires_on) {
            (Some(Ok(relative_expiry_type)), Some(value), None) if value > 0 => {
                Ok(ExpiryRule::Relative {
                    relative_expiry_type,
                    value,
                })
            }
            (Some(Ok(_)), Some(_), None) => Err(bad("value must be at least 1".into())),
            (Some(Err(())), _, _) => Err(bad(
                "relativeExpiryType must be one of DAYS, WEEKS, MONTHS".into(),
            )),
            (_, _, Some(_)) => Err(bad(
                "RELATIVE takes relativeExpiryType and value only".into()
            )),
            _ => Err(bad("RELATIVE needs relativeExpiryType and value".into())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_epoch_seconds_or_iso_never_both() {
        assert_eq!(epoch_or_iso(None, None, "startOn"), Ok(None));
        assert_eq!(
            epoch_or_iso(Some(1.5), None, "startOn"),
            Ok(Some(Micros(1_500_000)))
        );
        assert_eq!(
            epoch_or_iso(None, Some("1970-01-01T00:00:02Z"), "startOn"),
            Ok(Some(Micros(2_000_000)))
        );
        for (s, iso) in [
            (Some(1.0), Some("1970-01-01T00:00:02Z")),
            (Some(f64::NAN), None),
            (Some(1e300), None),
            (None, Some("tomorrow")),
        ] {
            assert_eq!(
                epoch_or_iso(s, iso, "startOn")
                    .unwrap_err()
                    .reference
                    .as_deref(),
                Some("startOn")
            );
        }
        assert_eq!(timestamp(1, 0, "t"), Ok(Micros(1_000_000)));
        assert_eq!(timestamp(1, -1, "t"), Err(invalid_time("t")));
    }

    #[test]
    fn expiry_rules_take_exactly_their_parts() {
        let parts = |kind: &str| ExpiryParts {
            kind: Some(ExpiryKind::parse(kind).ok_or(())),
            ..Default::default()
        };
        assert_eq!(expiry(ExpiryParts::default(), "e"), Ok(ExpiryRule::Never));
        assert_eq!(expiry(parts("never"), "e"), Ok(ExpiryRule::Never));
        assert_eq!(expiry(parts("WITH_BADGE"), "e"), Ok(ExpiryRule::WithBadge));
        assert!(expiry(parts("SOMETIMES"), "e").is_err());
        let relative = ExpiryParts {
            unit: Some(Ok(RelativeUnit::Weeks)),
            value: Some(2),
            ..parts("RELATIVE")
        };
        assert_eq!(
            expiry(relative, "e"),
            Ok(ExpiryRule::Relative {
                relative_expiry_type: RelativeUnit::Weeks,
                value: 2
            })
        );
        assert!(
            expiry(
                ExpiryParts {
                    value: Some(0),
                    ..relative
                },
                "e"
            )
            .is_err()
        );
        assert!(
            expiry(
                ExpiryParts {
                    unit: None,
                    ..relative
                },
                "e"
            )
            .is_err()
        );
        assert!(
            expiry(
                ExpiryParts {
                    expires_on: Some(1),
                    ..relative
                },
                "e"
            )
            .is_err()
        );
        let absolute = ExpiryParts {
            expires_on: Some(5),
            ..parts("ABSOLUTE")
        };
        assert_eq!(
            expiry(absolute, "e"),
            Ok(ExpiryRule::Absolute { expires_on: 5 })
        );
        assert!(
            expiry(
                ExpiryParts {
                    value: Some(1),
                    ..absolute
                },
                "e"
            )
            .is_err()
        );
        assert!(
            expiry(
                ExpiryParts {
                    value: Some(1),
                    ..parts("NEVER")
                },
                "e"
            )
            .is_err()
        );
    }

    #[test]
    fn owners_and_earn_types_read_alike_from_either_transport() {
        assert_eq!(owner("loyalty", "ownerType"), Ok(Owner::Loyalty));
        assert_eq!(
            owner("nobody", "ownerType"),
            Err(unknown_owner("ownerType"))
        );
        assert_eq!(unknown_owner("ownerType").code, 714);
        assert_eq!(earn_type("issue_earn"), Ok(EarnType::IssueEarn));
        assert_eq!(earn_type("x"), Err(unknown_earn_type()));
    }

    proptest::proptest! {
        #[test]
        fn any_time_reads_without_panicking(s in proptest::prelude::any::<f64>(), iso in ".{0,40}") {
            let _ = epoch_or_iso(Some(s), None, "t");
            let _ = epoch_or_iso(None, Some(&iso), "t");
        }
    }
}
