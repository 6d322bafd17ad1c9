//! JSON values a badge keeps as given (benefits, constraints) as
//! `google.protobuf.Struct`, both ways.

use prost_types::{ListValue, Struct, Value, value::Kind};

fn value_out(v: serde_json::Value) -> Value {
    let kind = match v {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(b),
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        serde_json::Value::String(s) => Kind::StringValue(s),
        serde_json::Value::Array(a) => Kind::ListValue(ListValue {
            values: a.into_iter().map(value_out).collect(),
        }),
        serde_json::Value::Object(o) => Kind::StructValue(struct_of(o)),
    };
    Value { kind: Some(kind) }
}

fn struct_of(o: serde_json::Map<String, serde_json::Value>) -> Struct {
    Struct {
        fields: o.into_iter().map(|(k, v)| (k, value_out(v))).collect(),
    }
}

/// A JSON object as a Struct; anything else (never stored: objects only)
/// as an empty one.
pub(super) fn struct_out(v: serde_json::Value) -> Struct {
    match v {
        serde_json::Value::Object(o) => struct_of(o),
        _ => Struct::default(),
    }
}

fn value_in(v: Value) -> serde_json::Value {
    match v.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        Some(Kind::BoolValue(b)) => serde_json::Value::Bool(b),
        Some(Kind::NumberValue(n)) => {
            // Whole numbers read back as integers, as JSON clients wrote them.
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                serde_json::Value::from(n as i64)
            } else {
                serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, Into::into)
            }
        }
        Some(Kind::StringValue(s)) => serde_json::Value::String(s),
        Some(Kind::ListValue(l)) => l.values.into_iter().map(value_in).collect(),
        Some(Kind::StructValue(s)) => struct_in(s),
    }
}

pub(super) fn struct_in(s: Struct) -> serde_json::Value {
    serde_json::Value::Object(
        s.fields
            .into_iter()
            .map(|(k, v)| (k, value_in(v)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_objects_survive_a_struct() {
        let v = serde_json::json!({
            "benefitType": "COUPON", "seriesId": 12, "ratio": 0.5,
            "nested": {"list": [1, "a", null, true]}
        });
        assert_eq!(struct_in(struct_out(v.clone())), v);
    }
}
