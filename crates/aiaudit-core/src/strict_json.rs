//! JSON from outside, read strictly: an object with the same key twice is refused at any
//! depth, where `serde_json::Value` would keep the last one and silently drop the first. Every
//! entry point that takes JSON from a client (HTTP, NATS, the CLI, Python) reads details
//! through this module, so that what is sealed is what the client sent, once.
//!
//! ```
//! use aiaudit_core::strict_json;
//!
//! let v = strict_json::from_str(r#"{"a": {"b": 1}}"#)?;
//! assert_eq!(v["a"]["b"], 1);
//! let e = strict_json::from_str(r#"{"a": {"b": 1, "b": 2}}"#).expect_err("duplicate");
//! assert!(e.to_string().contains("duplicate key \"b\""));
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A JSON value with no duplicate keys at any depth.
#[derive(Debug, Clone, PartialEq)]
pub struct StrictValue(pub Value);

/// A JSON object with no duplicate keys at any depth.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StrictObject(pub Map<String, Value>);

/// Parses JSON text strictly.
pub fn from_str(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str::<StrictValue>(text).map(|v| v.0)
}

/// Parses JSON bytes strictly.
pub fn from_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<StrictValue>(bytes).map(|v| v.0)
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number JSON cannot hold"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        StrictValue::deserialize(d).map(|v| v.0)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(StrictValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        strict_map(map).map(Value::Object)
    }
}

fn strict_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Map<String, Value>, A::Error> {
    let mut out = Map::new();
    while let Some(key) = map.next_key::<String>()? {
        if out.contains_key(&key) {
            return Err(de::Error::custom(format_args!(
                "duplicate key {key:?}: each key may appear once in an object"
            )));
        }
        let StrictValue(v) = map.next_value()?;
        out.insert(key, v);
    }
    Ok(out)
}

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor).map(StrictValue)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        strict_map(map)
    }
}

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ObjectVisitor).map(StrictObject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_as_value_without_duplicates() {
        let text = r#"{"a":[1,-2,3.5,1e300,"x",null,true,{"b":{}}],"c":18446744073709551615}"#;
        assert_eq!(
            from_str(text).expect("strict"),
            serde_json::from_str::<Value>(text).expect("lenient")
        );
    }

    #[test]
    fn duplicates_refused_at_any_depth() {
        for text in [
            r#"{"a":1,"a":2}"#,
            r#"{"x":{"a":1,"a":1}}"#,
            r#"[{"ok":1},{"deep":[{"a":{"k":1,"k":2}}]}]"#,
        ] {
            let e = from_str(text).expect_err(text);
            assert!(e.to_string().contains("duplicate key"), "{e}");
        }
        let e = serde_json::from_str::<StrictObject>(r#"{"a":{"b":1,"b":1}}"#).expect_err("object");
        assert!(e.to_string().contains("duplicate key \"b\""), "{e}");
        serde_json::from_str::<StrictObject>("[1]").expect_err("not an object");
    }
}
