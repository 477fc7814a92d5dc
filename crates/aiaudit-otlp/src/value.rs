//! OTLP values onto JSON: attributes as an object (keys unique, counted, nesting bounded),
//! content replaced by its hash unless kept.

use base64::Engine as _;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use serde_json::{Map, Value};

use crate::Options;
use crate::content::{content_hash, is_content_key};
use crate::error::Error;

/// Where a span or record sits in its request, for errors: built only when one is raised.
pub(crate) struct At<'a> {
    /// `resourceSpans[0].scopeSpans[1].spans[3]`, made on demand.
    pub path: &'a dyn Fn() -> String,
    /// The item's position among the request's spans or records.
    pub index: Option<usize>,
}

impl At<'_> {
    pub(crate) fn fail(&self, why: impl Into<String>) -> Error {
        Error::invalid(&(self.path)(), self.index, why)
    }
}

/// `kvs` as a JSON object. `what` names the list in errors (`attributes`, `resource
/// attributes`). Content keys are hashed unless `opts.keep_content`.
pub(crate) fn attributes(
    kvs: Vec<KeyValue>,
    opts: &Options,
    at: &At<'_>,
    what: &str,
) -> Result<Map<String, Value>, Error> {
    attributes_with(kvs, opts, at, what, is_content_key)
}

/// [`attributes`] with `content` deciding which keys are content (a GenAI message event's
/// attributes have more).
pub(crate) fn attributes_with(
    kvs: Vec<KeyValue>,
    opts: &Options,
    at: &At<'_>,
    what: &str,
    content: fn(&str) -> bool,
) -> Result<Map<String, Value>, Error> {
    if kvs.len() > opts.max_attributes {
        return Err(at.fail(format!(
            "{} {what}; the limit is {} ([otlp] max_attributes)",
            kvs.len(),
            opts.max_attributes
        )));
    }
    let mut out = Map::new();
    for kv in kvs {
        let v =
            any(kv.value, 0, opts).map_err(|why| at.fail(format!("{what}.{:?}: {why}", kv.key)))?;
        let v = if !opts.keep_content && content(&kv.key) {
            Value::String(content_hash(&v))
        } else {
            v
        };
        if out.contains_key(&kv.key) {
            return Err(at.fail(format!("{what}: duplicate key {:?}", kv.key)));
        }
        out.insert(kv.key, v);
    }
    Ok(out)
}

/// One value as JSON, at nesting `depth`.
pub(crate) fn any(v: Option<AnyValue>, depth: usize, opts: &Options) -> Result<Value, String> {
    use any_value::Value as V;
    let Some(v) = v.and_then(|a| a.value) else {
        return Ok(Value::Null);
    };
    Ok(match v {
        V::StringValue(s) => Value::String(s),
        V::BoolValue(b) => Value::Bool(b),
        // The sealed record's numbers are doubles: an integer a double cannot hold exactly is
        // kept exactly as a decimal string.
        V::IntValue(i) if i.unsigned_abs() <= 1 << 53 => Value::from(i),
        V::IntValue(i) => Value::String(i.to_string()),
        V::DoubleValue(d) => match serde_json::Number::from_f64(d) {
            Some(n) => Value::Number(n),
            None if d.is_nan() => Value::String("NaN".into()),
            None if d > 0.0 => Value::String("Infinity".into()),
            None => Value::String("-Infinity".into()),
        },
        V::BytesValue(b) => {
            let mut m = Map::new();
            m.insert(
                "base64".into(),
                Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
            );
            Value::Object(m)
        }
        V::ArrayValue(a) => {
            deeper(depth, opts)?;
            let most = opts.max_attributes.saturating_mul(64);
            if a.values.len() > most {
                return Err(format!(
                    "an array of {} values; the limit is {most} (64 × [otlp] max_attributes)",
                    a.values.len()
                ));
            }
            Value::Array(
                a.values
                    .into_iter()
                    .map(|x| any(Some(x), depth + 1, opts))
                    .collect::<Result<_, _>>()?,
            )
        }
        V::KvlistValue(l) => {
            deeper(depth, opts)?;
            if l.values.len() > opts.max_attributes {
                return Err(format!(
                    "a kvlist of {} entries; the limit is {} ([otlp] max_attributes)",
                    l.values.len(),
                    opts.max_attributes
                ));
            }
            let mut m = Map::new();
            for kv in l.values {
                let x = any(kv.value, depth + 1, opts)?;
                if m.contains_key(&kv.key) {
                    return Err(format!("a kvlist holds the key {:?} twice", kv.key));
                }
                m.insert(kv.key, x);
            }
            Value::Object(m)
        }
        V::StringValueStrindex(_) => {
            return Err("string_value_strindex belongs to profiles, not to traces or logs".into());
        }
    })
}

fn deeper(depth: usize, opts: &Options) -> Result<(), String> {
    if depth + 1 > opts.max_depth {
        return Err(format!(
            "nested more than {} levels deep (max_depth)",
            opts.max_depth
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    fn s(x: &str) -> Option<AnyValue> {
        Some(AnyValue {
            value: Some(any_value::Value::StringValue(x.into())),
        })
    }

    fn kv(k: &str, v: Option<AnyValue>) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: v,
            ..KeyValue::default()
        }
    }

    #[test]
    fn values_and_rules() {
        let opts = Options::new("t");
        let path = || "spans[0]".to_owned();
        let at = At {
            path: &path,
            index: Some(0),
        };
        let nested = Some(AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: vec![kv("a", s("x")), kv("b", None)],
            })),
        });
        let nan = Some(AnyValue {
            value: Some(any_value::Value::DoubleValue(f64::NAN)),
        });
        let bytes = Some(AnyValue {
            value: Some(any_value::Value::BytesValue(vec![0, 255])),
        });
        let m = attributes(
            vec![
                kv("k", nested),
                kv("n", nan),
                kv("b", bytes),
                kv("input.value", s("secret prompt")),
                kv(
                    "big",
                    Some(AnyValue {
                        value: Some(any_value::Value::IntValue(i64::MAX)),
                    }),
                ),
            ],
            &opts,
            &at,
            "attributes",
        )
        .expect("converts");
        assert_eq!(m["k"]["a"], "x");
        assert!(m["k"]["b"].is_null());
        assert_eq!(m["n"], "NaN");
        assert_eq!(m["b"]["base64"], "AP8=");
        assert_eq!(m["big"], "9223372036854775807");
        assert!(
            m["input.value"]
                .as_str()
                .is_some_and(|v| v.starts_with("sha256:"))
        );

        let e = attributes(
            vec![kv("k", s("1")), kv("k", s("2"))],
            &opts,
            &at,
            "attributes",
        )
        .expect_err("duplicate");
        assert!(e.to_string().contains("duplicate key \"k\""), "{e}");

        let mut deep = s("leaf");
        for _ in 0..40 {
            deep = Some(AnyValue {
                value: Some(any_value::Value::ArrayValue(ArrayValue {
                    values: deep.into_iter().collect(),
                })),
            });
        }
        let e = attributes(vec![kv("d", deep)], &opts, &at, "attributes").expect_err("deep");
        assert!(e.to_string().contains("levels deep"), "{e}");

        let many = (0..1025).map(|i| kv(&format!("k{i}"), s("v"))).collect();
        let e = attributes(many, &opts, &at, "attributes").expect_err("many");
        assert_eq!(
            e.to_string(),
            "spans[0]: 1025 attributes; the limit is 1024 ([otlp] max_attributes)"
        );
    }
}
