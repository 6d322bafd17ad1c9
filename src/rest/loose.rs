//! Upstream's loose JSON types, read once each (BEHAVIOUR.md §9.1): a time
//! in an epoch field (a number of seconds or milliseconds, or text), a
//! customer id (a number or a numeric string), a requestId (a string or a
//! number), a custom field value (any JSON scalar). Each deserializes
//! whatever JSON type upstream's examples send, and is judged with its
//! field's name afterwards, so that a bad value is one problem among the
//! request's others rather than a refused body.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::domain::fields::{self, Field, TimeValue};
use crate::domain::{Micros, Problem};

/// A JSON scalar: a number (as its text, exactly as sent) or a string.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Number(serde_json::Number),
    Text(String),
    Bool(bool),
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, a string or a boolean")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Number(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                serde_json::Number::from_f64(v)
                    .map(Scalar::Number)
                    .ok_or_else(|| E::custom("not a finite number"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Text(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl Scalar {
    /// The value as text: a number as written (a whole one without its
    /// `.0`, as JSON counts `3.0` a whole number), a string as is.
    pub fn text(&self) -> String {
        match self {
            Scalar::Number(n) => match whole_number(n) {
                Some(i) => i.to_string(),
                None => n.to_string(),
            },
            Scalar::Text(t) => t.clone(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// A JSON number that is a whole one: `3`, and `3.0` too, as JSON Schema
/// counts integers and as upstream's Java reads them.
fn whole_number(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18)
            .map(|f| f as i64)
    })
}

/// An optional integer field that takes any whole JSON number (`3` or
/// `3.0`); use with `#[serde(default, deserialize_with = "loose::whole")]`.
pub fn whole<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    whole_number(&n)
        .and_then(|i| T::try_from(i).ok())
        .map(Some)
        .ok_or_else(|| de::Error::custom(format!("expected a whole number in range, found {n}")))
}

/// A time in an epoch field: a number or text (see `fields::epoch_or_iso`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct LooseTime(Scalar);

impl LooseTime {
    fn value(&self) -> Option<TimeValue> {
        match &self.0 {
            Scalar::Number(n) => n.as_f64().map(TimeValue::Number),
            Scalar::Text(t) => Some(TimeValue::Text(t.clone())),
            Scalar::Bool(_) => None,
        }
    }
}

/// A time given in `value` (its epoch field) or `iso` (its twin), which wins.
pub fn time(value: Option<LooseTime>, iso: Option<String>, field: &str) -> Field<Option<Micros>> {
    let value = match &value {
        None => None,
        Some(v) => Some(v.value().ok_or_else(|| fields::invalid_time(field))?),
    };
    fields::epoch_or_iso(value.as_ref(), iso.as_deref(), field)
}

/// A customer id: a JSON integer, or a string of one.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct LooseCustomerId(Scalar);

impl LooseCustomerId {
    /// A customer id given as text.
    pub fn text(raw: String) -> Self {
        LooseCustomerId(Scalar::Text(raw))
    }

    /// The id, or the problem of `field`.
    pub fn read(&self, field: &str) -> Field<i64> {
        let parsed = match &self.0 {
            Scalar::Number(n) => whole_number(n),
            Scalar::Text(t) => t.trim().parse::<i64>().ok(),
            Scalar::Bool(_) => None,
        };
        parsed.filter(|id| *id >= 0).ok_or_else(|| {
            Problem::invalid(
                field,
                format!("{field} must be a customer id (a whole number, 0 or more)"),
            )
        })
    }
}

/// Text that upstream's clients also send as a number (a requestId, a
/// referenceId): a string, or a number taken as its text (`2132` and
/// `"2132"` are one request); a boolean is refused.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct LooseText(Scalar);

impl LooseText {
    pub fn read(self, field: &str) -> Field<String> {
        match self.0 {
            Scalar::Bool(_) => Err(Problem::invalid(
                field,
                format!("{field} must be a string or a number"),
            )),
            other => Ok(other.text()),
        }
    }
}

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Scalar::Number(n) => n.serialize(s),
            Scalar::Text(t) => t.serialize(s),
            Scalar::Bool(b) => b.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: serde::de::DeserializeOwned>(json: &str) -> T {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn customer_ids_are_numbers_or_numeric_strings() {
        assert_eq!(
            parse::<LooseCustomerId>("23423").read("customerId"),
            Ok(23423)
        );
        assert_eq!(
            parse::<LooseCustomerId>("\"23423\"").read("customerId"),
            Ok(23423)
        );
        assert_eq!(
            parse::<LooseCustomerId>("3270049.0").read("customerId"),
            Ok(3270049)
        );
        for bad in ["\"abc\"", "-1", "1.5", "true", "1e300"] {
            assert_eq!(
                parse::<LooseCustomerId>(bad)
                    .read("customerId")
                    .unwrap_err()
                    .reference
                    .as_deref(),
                Some("customerId"),
                "{bad}"
            );
        }
        assert!(serde_json::from_str::<LooseCustomerId>("[1]").is_err());
    }

    #[derive(serde::Deserialize)]
    struct Ranked {
        #[serde(default, deserialize_with = "whole")]
        rank: Option<i32>,
    }

    #[test]
    fn whole_numbers_with_or_without_a_fraction_of_zero() {
        let rank = |json: &str| serde_json::from_str::<Ranked>(json).map(|r| r.rank);
        assert_eq!(rank(r#"{"rank": 3461}"#).unwrap(), Some(3461));
        assert_eq!(rank(r#"{"rank": -85718.0}"#).unwrap(), Some(-85718));
        assert_eq!(rank(r#"{"rank": null}"#).unwrap(), None);
        assert_eq!(rank("{}").unwrap(), None);
        for bad in [
            r#"{"rank": 1.5}"#,
            r#"{"rank": 3000000000}"#,
            r#"{"rank": "1"}"#,
        ] {
            assert!(rank(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Scalar::Number(serde_json::Number::from_f64(3.0).unwrap()).text(),
            "3"
        );
    }

    #[test]
    fn texts_are_strings_or_numbers() {
        assert_eq!(
            parse::<LooseText>("2132").read("requestId"),
            Ok("2132".into())
        );
        assert_eq!(
            parse::<LooseText>("\"2132\"").read("requestId"),
            Ok("2132".into())
        );
        assert!(parse::<LooseText>("false").read("requestId").is_err());
    }

    #[test]
    fn times_read_from_numbers_and_text() {
        let t = |json: &str| time(Some(parse(json)), None, "earnEventDate");
        assert_eq!(t("1713860055"), Ok(Some(Micros(1_713_860_055_000_000))));
        assert_eq!(t("1713860055000"), Ok(Some(Micros(1_713_860_055_000_000))));
        assert_eq!(t("1702280977.051"), Ok(Some(Micros(1_702_280_977_051_000))));
        assert_eq!(
            t("\"2023-11-03T21:51:00.192Z\""),
            Ok(Some(Micros(1_699_048_260_192_000)))
        );
        assert!(t("true").is_err());
        assert_eq!(time(None, None, "x"), Ok(None));
    }
}
