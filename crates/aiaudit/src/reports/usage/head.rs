//! The part of a sealed record the usage report reads, borrowed, with everything else left
//! unparsed.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

use crate::error::Result;
use crate::reports::{HeadActor, HeadModel};

/// The members of a record the usage report reads, and only those: over millions of
/// predictions, every member not deserialized is time saved.
#[derive(Debug, Deserialize)]
pub(super) struct UsageHead<'a> {
    #[serde(default, borrow)]
    pub actor: Option<HeadActor<'a>>,
    #[serde(default, borrow)]
    pub details: UsageDetails<'a>,
    #[serde(default, borrow)]
    pub model: Option<HeadModel<'a>>,
    #[serde(borrow)]
    pub status: Cow<'a, str>,
    #[serde(borrow)]
    pub time: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct UsageDetails<'a> {
    #[serde(default, borrow)]
    pub latency_ms: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub output: Option<UsageOutput<'a>>,
}

/// A prediction's output; any other shape (a list, a number) has no label.
#[derive(Debug, Default)]
pub(super) struct UsageOutput<'a> {
    prediction: Option<&'a RawValue>,
    label: Option<&'a RawValue>,
}

impl<'de: 'a, 'a> Deserialize<'de> for UsageOutput<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = UsageOutput<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut out = UsageOutput::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match key.as_ref() {
                        "prediction" => out.prediction = Some(map.next_value()?),
                        "label" => out.label = Some(map.next_value()?),
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(UsageOutput::default())
            }

            fn visit_str<E>(self, _: &str) -> std::result::Result<Self::Value, E> {
                Ok(UsageOutput::default())
            }

            fn visit_bool<E>(self, _: bool) -> std::result::Result<Self::Value, E> {
                Ok(UsageOutput::default())
            }

            fn visit_i64<E>(self, _: i64) -> std::result::Result<Self::Value, E> {
                Ok(UsageOutput::default())
            }

            fn visit_u64<E>(self, _: u64) -> std::result::Result<Self::Value, E> {
                Ok(UsageOutput::default())
            }

            fn visit_f64<E>(self, _: f64) -> std::result::Result<Self::Value, E> {
                Ok(UsageOutput::default())
            }

            fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
                Ok(UsageOutput::default())
            }
        }
        d.deserialize_any(Visit)
    }
}

impl<'a> UsageHead<'a> {
    pub(super) fn parse(data: &'a [u8]) -> Result<UsageHead<'a>> {
        let text = std::str::from_utf8(data).map_err(|e| {
            crate::Error::NotFound(format!(
                "a stored record is not UTF-8 ({e}); run `aiaudit verify`"
            ))
        })?;
        serde_json::from_str(text).map_err(|e| {
            crate::Error::NotFound(format!(
                "a stored record is not readable ({e}); run `aiaudit verify`"
            ))
        })
    }

    pub(super) fn user(&self) -> Option<&str> {
        self.actor.as_ref()?.user.as_deref()
    }

    pub(super) fn day(&self) -> &str {
        self.time.get(..10).unwrap_or(&self.time)
    }

    /// The label as a report key: a string as itself (borrowed when it has no escapes), any
    /// other value as its JSON text, none as `null`.
    pub(super) fn label(&self) -> Cow<'a, str> {
        let out = self.details.output.as_ref();
        match out.and_then(|o| o.prediction.or(o.label)) {
            None => Cow::Borrowed("null"),
            Some(raw) => {
                let t = raw.get();
                match t.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                    Some(inner) if !inner.contains('\\') => Cow::Borrowed(inner),
                    Some(_) => serde_json::from_str::<String>(t)
                        .map(Cow::Owned)
                        .unwrap_or(Cow::Borrowed(t)),
                    None => Cow::Borrowed(t),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(details: &str) -> String {
        format!(
            r#"{{"details":{details},"model":{{"name":"m"}},"status":"INFO","time":"2026-11-24T10:00:00.000000000Z","type":"model_inference"}}"#
        )
    }

    #[test]
    fn labels_and_latencies_of_any_shape() {
        for (details, label, latency) in [
            (
                r#"{"output":{"prediction":"yes","label":"no"},"latency_ms":3.5}"#,
                "yes",
                Some(3.5),
            ),
            (r#"{"output":{"label":7},"latency_ms":"slow"}"#, "7", None),
            (r#"{"output":{"prediction":"a\"b"}}"#, "a\"b", None),
            (r#"{"output":{"prediction":[1,2]}}"#, "[1,2]", None),
            (r#"{"output":[1],"latency_ms":12}"#, "null", Some(12.0)),
            (r#"{}"#, "null", None),
        ] {
            let text = head(details);
            let h = UsageHead::parse(text.as_bytes()).expect("parses");
            assert_eq!(h.label(), label, "{details}");
            let l: Option<f64> = h.details.latency_ms.and_then(|r| r.get().parse().ok());
            assert_eq!(l, latency, "{details}");
        }
        assert!(UsageHead::parse(b"{\"status\":1}").is_err());
    }
}
