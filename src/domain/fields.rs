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

/// A time as a caller wrote it in an epoch field: a number, or text.
#[derive(Clone, Debug, PartialEq)]
pub enum TimeValue {
    Number(f64),
    Text(String),
}

/// Numbers above this are epoch milliseconds, not seconds: 10^11 seconds is
/// the year 5138, 10^11 milliseconds March 1973 (BEHAVIOUR.md §9.1).
const MILLIS_ABOVE: f64 = 1.0e11;

/// An epoch number: seconds (fractions allowed), or milliseconds above
/// [`MILLIS_ABOVE`].
fn epoch_number(n: f64, field: &str) -> Field<Micros> {
    let seconds = if n.abs() > MILLIS_ABOVE {
        n / 1000.0
    } else {
        n
    };
    let micros = seconds * 1_000_000.0;
    if micros.is_finite() && micros.abs() < 9.0e18 {
        Ok(Micros(micros.round() as i64))
    } else {
        Err(invalid_time(field))
    }
}

/// A time in an epoch field: a number (seconds or milliseconds), or text
/// holding a number or an ISO 8601 instant.
fn epoch_value(value: &TimeValue, field: &str) -> Field<Micros> {
    match value {
        TimeValue::Number(n) => epoch_number(*n, field),
        TimeValue::Text(text) => match text.trim().parse::<f64>() {
            Ok(n) => epoch_number(n, field),
            Err(_) => Micros::parse_iso(text).ok_or_else(|| invalid_time(field)),
        },
    }
}

/// A time given in its epoch field (see [`epoch_value`]) or its ISO 8601
/// twin `{field}ISO`, or both: upstream's clients send both, sometimes
/// disagreeing, and the twin wins (BEHAVIOUR.md §9.1). Each given value must
/// be a valid time.
pub fn epoch_or_iso(
    value: Option<&TimeValue>,
    iso: Option<&str>,
    field: &str,
) -> Field<Option<Micros>> {
    let epoch = value.map(|v| epoch_value(v, field)).transpose()?;
    match iso {
        Some(text) => Micros::parse_iso(text)
            .map(Some)
            .ok_or_else(|| invalid_time(&format!("{field}ISO"))),
        None => Ok(epoch),
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

/// The two kinds of ABSOLUTE expiry upstream names in `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbsoluteType {
    FixedDate,
    WithBadgeMeta,
}

impl AbsoluteType {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw.to_ascii_uppercase().as_str() {
            "FIXED_DATE" => AbsoluteType::FixedDate,
            "WITH_BADGE_META" => AbsoluteType::WithBadgeMeta,
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
    /// ABSOLUTE's `type`.
    pub absolute_type: Option<Result<AbsoluteType, ()>>,
    /// ABSOLUTE's `expireWithBadgeMeta`.
    pub with_badge_meta: Option<bool>,
}

/// An expiry rule from its parts: each kind takes exactly its own parts.
/// ABSOLUTE is upstream's: `type` FIXED_DATE with `expiresOn`, or
/// WITH_BADGE_META (`expireWithBadgeMeta` true or absent; an `expiresOn`
/// beside it, which upstream's answers carry as null, is ignored); without
/// `type`, `expiresOn` means FIXED_DATE and `expireWithBadgeMeta: true`
/// WITH_BADGE_META. This service's older WITH_BADGE kind is still read.
pub fn expiry(parts: ExpiryParts, field: &str) -> Field<ExpiryRule> {
    let bad = |what: String| Problem::invalid(field, format!("{field}: {what}"));
    let ExpiryParts {
        kind,
        unit,
        value,
        expires_on,
        absolute_type,
        with_badge_meta,
    } = parts;
    let kind = match kind {
        None => return Ok(ExpiryRule::Never),
        Some(Err(())) => {
            return Err(bad(
                "expiryType must be one of NEVER, RELATIVE, ABSOLUTE".into()
            ));
        }
        Some(Ok(k)) => k,
    };
    let absolute_only = absolute_type.is_some() || with_badge_meta == Some(true);
    match kind {
        ExpiryKind::Never | ExpiryKind::WithBadge => {
            if unit.is_some() || value.is_some() || expires_on.is_some() || absolute_only {
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
        ExpiryKind::Absolute => {
            if unit.is_some() || value.is_some() {
                return Err(bad(
                    "ABSOLUTE takes type, expiresOn and expireWithBadgeMeta only".into(),
                ));
            }
            match (absolute_type, with_badge_meta, expires_on) {
                (Some(Err(())), _, _) => {
                    Err(bad("type must be one of FIXED_DATE, WITH_BADGE_META".into()))
                }
                (Some(Ok(AbsoluteType::WithBadgeMeta)), Some(false), _) => {
                    Err(bad("WITH_BADGE_META needs expireWithBadgeMeta true".into()))
                }
                (Some(Ok(AbsoluteType::WithBadgeMeta)), _, _) | (None, Some(true), None) => {
                    Ok(ExpiryRule::WithBadge)
                }
                (Some(Ok(AbsoluteType::FixedDate)) | None, Some(true), _) => Err(bad(
                    "FIXED_DATE takes expireWithBadgeMeta false or none".into(),
                )),
                (Some(Ok(AbsoluteType::FixedDate)) | None, _, Some(expires_on)) => {
                    Ok(ExpiryRule::Absolute { expires_on })
                }
                (Some(Ok(AbsoluteType::FixedDate)) | None, _, None) => {
                    Err(bad("ABSOLUTE FIXED_DATE needs expiresOn".into()))
                }
            }
        }
        ExpiryKind::Relative => match (unit, value, expires_on, absolute_only) {
            (_, _, Some(_), _) | (_, _, _, true) => Err(bad(
                "RELATIVE takes relativeExpirytype and value only".into(),
            )),
            (Some(Ok(relative_expiry_type)), Some(value), None, false) if value > 0 => {
                Ok(ExpiryRule::Relative {
                    relative_expiry_type,
                    value,
                })
            }
            (Some(Ok(_)), Some(_), None, false) => Err(bad("value must be at least 1".into())),
            (Some(Err(())), _, _, _) => Err(bad(
                "relativeExpirytype must be one of DAYS, WEEKS, MONTHS".into(),
            )),
            _ => Err(bad("RELATIVE needs relativeExpirytype and value".into())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_seconds_milliseconds_or_iso_and_the_twin_wins() {
        let n = |v: f64| TimeValue::Number(v);
        let t = |v: &str| TimeValue::Text(v.into());
        assert_eq!(epoch_or_iso(None, None, "startOn"), Ok(None));
        assert_eq!(
            epoch_or_iso(Some(&n(1.5)), None, "startOn"),
            Ok(Some(Micros(1_500_000)))
        );
        // Above 10^11 a number is milliseconds.
        assert_eq!(
            epoch_or_iso(Some(&n(1_796_215_795_000.0)), None, "expiresOn"),
            Ok(Some(Micros(1_796_215_795_000_000)))
        );
        assert_eq!(
            epoch_or_iso(Some(&n(1_764_679_795.0)), None, "startOn"),
            Ok(Some(Micros(1_764_679_795_000_000)))
        );
        assert_eq!(
            epoch_or_iso(Some(&t("2023-11-03T21:51:00.192Z")), None, "earnEventDate"),
            Ok(Some(Micros(1_699_048_260_192_000)))
        );
        assert_eq!(
            epoch_or_iso(Some(&t("1713860055")), None, "issueEventDate"),
            Ok(Some(Micros(1_713_860_055_000_000)))
        );
        assert_eq!(
            epoch_or_iso(None, Some("1970-01-01T00:00:02Z"), "startOn"),
            Ok(Some(Micros(2_000_000)))
        );
        // Both given and disagreeing: the ISO twin wins.
        assert_eq!(
            epoch_or_iso(Some(&n(1.0)), Some("1970-01-01T05:30:02+05:30"), "startOn"),
            Ok(Some(Micros(2_000_000)))
        );
        for (value, iso, reference) in [
            (Some(n(f64::NAN)), None, "startOn"),
            (Some(n(1e300)), None, "startOn"),
            (Some(t("tomorrow")), None, "startOn"),
            (None, Some("tomorrow"), "startOnISO"),
            (Some(t("tomorrow")), Some("1970-01-01T00:00:02Z"), "startOn"),
        ] {
            assert_eq!(
                epoch_or_iso(value.as_ref(), iso, "startOn")
                    .unwrap_err()
                    .reference
                    .as_deref(),
                Some(reference)
            );
        }
        assert_eq!(timestamp(1, 0, "t"), Ok(Micros(1_000_000)));
        assert_eq!(timestamp(1, -1, "t"), Err(invalid_time("t")));
    }

    #[test]
    fn absolute_expiries_read_in_upstreams_spellings() {
        let absolute = ExpiryParts {
            kind: Some(Ok(ExpiryKind::Absolute)),
            ..Default::default()
        };
        let fixed = ExpiryParts {
            absolute_type: Some(Ok(AbsoluteType::FixedDate)),
            expires_on: Some(7),
            with_badge_meta: Some(false),
            ..absolute
        };
        assert_eq!(
            expiry(fixed, "e"),
            Ok(ExpiryRule::Absolute { expires_on: 7 })
        );
        let with_meta = ExpiryParts {
            absolute_type: Some(Ok(AbsoluteType::WithBadgeMeta)),
            with_badge_meta: Some(true),
            ..absolute
        };
        assert_eq!(expiry(with_meta, "e"), Ok(ExpiryRule::WithBadge));
        let bare_meta = ExpiryParts {
            with_badge_meta: Some(true),
            ..absolute
        };
        assert_eq!(expiry(bare_meta, "e"), Ok(ExpiryRule::WithBadge));
        for bad in [
            ExpiryParts {
                with_badge_meta: Some(false),
                ..with_meta
            },
            ExpiryParts {
                with_badge_meta: Some(true),
                ..fixed
            },
            ExpiryParts {
                absolute_type: Some(Err(())),
                ..fixed
            },
            ExpiryParts {
                expires_on: None,
                ..fixed
            },
        ] {
            assert!(expiry(bad, "e").is_err(), "{bad:?}");
        }
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
            let _ = epoch_or_iso(Some(&TimeValue::Number(s)), None, "t");
            let _ = epoch_or_iso(Some(&TimeValue::Text(iso.clone())), None, "t");
            let _ = epoch_or_iso(None, Some(&iso), "t");
        }
    }
}
