//! Instants as microseconds since the Unix epoch, UTC: the unit of the schema.

use chrono::{DateTime, Utc};

/// An instant in microseconds since 1970-01-01T00:00:00Z.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Micros(pub i64);

/// A stand-in for "never" in `MAX(...)` aggregations over optional expiries.
pub const NEVER: Micros = Micros(i64::MAX);

impl Micros {
    pub fn from_datetime(t: DateTime<Utc>) -> Self {
        Micros(t.timestamp_micros())
    }

    /// Whole seconds and nanoseconds, rounding toward negative infinity so that
    /// the fraction is never negative.
    pub fn seconds_nanos(self) -> (i64, u32) {
        let secs = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000);
        (secs, (micros * 1_000) as u32)
    }

    /// Builds an instant from seconds and nanoseconds, as in
    /// `google.protobuf.Timestamp`; `None` when it does not fit.
    pub fn from_seconds_nanos(seconds: i64, nanos: i32) -> Option<Self> {
        if !(0..1_000_000_000).contains(&nanos) {
            return None;
        }
        seconds
            .checked_mul(1_000_000)?
            .checked_add(i64::from(nanos / 1_000))
            .map(Micros)
    }

    /// RFC 3339 in UTC with as many fraction digits as it needs
    /// (`2024-12-31T23:59:50.500Z`), or the micros as text if out of range.
    pub fn to_rfc3339(self) -> String {
        DateTime::<Utc>::from_timestamp_micros(self.0).map_or_else(
            || self.0.to_string(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        )
    }

    /// Parses ISO 8601 / RFC 3339 (`2024-01-31T10:00:00.000Z`); an offset other
    /// than `Z` is converted to UTC.
    pub fn parse_iso(s: &str) -> Option<Self> {
        let t = DateTime::parse_from_rfc3339(s.trim()).ok()?;
        Some(Self::from_datetime(t.with_timezone(&Utc)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iso_with_and_without_offset() {
        let z = Micros::parse_iso("2024-01-31T10:00:00.000Z").unwrap();
        let plus = Micros::parse_iso("2024-01-31T12:00:00.000+02:00").unwrap();
        assert_eq!(z, plus);
        assert_eq!(z.0, 1_706_695_200_000_000);
        assert!(Micros::parse_iso("2024-13-31T10:00:00Z").is_none());
        assert!(Micros::parse_iso("yesterday").is_none());
    }

    #[test]
    fn splits_negative_instants_with_a_positive_fraction() {
        assert_eq!(Micros(-1).seconds_nanos(), (-1, 999_999_000));
        assert_eq!(
            Micros(1_702_280_977_051_000).seconds_nanos(),
            (1_702_280_977, 51_000_000)
        );
        assert_eq!(Micros::from_seconds_nanos(1, 1_000_000_000), None);
        assert_eq!(Micros::from_seconds_nanos(i64::MAX, 0), None);
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_without_panicking(s in ".{0,64}") {
            let _ = Micros::parse_iso(&s);
        }

        #[test]
        fn rfc3339_times_round_trip(secs in 0i64..4_102_444_800, micros in 0i64..1_000_000) {
            let t = chrono::DateTime::<chrono::Utc>::from_timestamp(secs, (micros * 1000) as u32).unwrap();
            let text = t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            proptest::prop_assert_eq!(Micros::parse_iso(&text), Some(Micros(secs * 1_000_000 + micros)));
        }

        #[test]
        fn any_timestamp_converts_without_panicking(secs in proptest::prelude::any::<i64>(), nanos in proptest::prelude::any::<i32>()) {
            if let Some(m) = Micros::from_seconds_nanos(secs, nanos) {
                let (s, n) = m.seconds_nanos();
                proptest::prop_assert!(n < 1_000_000_000);
                proptest::prop_assert_eq!(s, secs);
            }
        }
    }
}
