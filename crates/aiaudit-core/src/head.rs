//! The head of a sealed record ([`RecordHead`]): the members that queries, verification and
//! summaries read, borrowed from the leaf data without building the whole record. One parse
//! serves all three.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

use crate::error::Result;

/// The members of a sealed record that queries, verification and summaries need, borrowed from
/// the leaf data without building the whole record: one parse serves all three.
#[derive(Debug, Deserialize)]
pub struct RecordHead<'a> {
    /// `seq`.
    pub seq: u64,
    /// `id`.
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    /// `time`.
    #[serde(borrow)]
    pub time: Cow<'a, str>,
    /// `type`.
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    /// `name`.
    #[serde(borrow, default)]
    pub name: Cow<'a, str>,
    /// `status`.
    #[serde(borrow)]
    pub status: Cow<'a, str>,
    /// `regulations`.
    #[serde(borrow, default)]
    pub regulations: Vec<Cow<'a, str>>,
    /// `model`.
    #[serde(borrow, default)]
    pub model: Option<HeadModel<'a>>,
    /// `actor.user`.
    #[serde(borrow, default)]
    pub actor: Option<HeadActor<'a>>,
    /// `operation`.
    #[serde(borrow, default)]
    pub operation: Option<HeadOperation<'a>>,
    /// `subject`.
    #[serde(borrow, default)]
    pub subject: Option<Cow<'a, str>>,
    /// `details`.
    #[serde(borrow, default)]
    pub details: Option<HeadDetails<'a>>,
}

/// `details` of a [`RecordHead`]: what is indexed, and what a summary counts. Members that
/// only rare events carry stay JSON text until asked for.
#[derive(Debug, Default, Deserialize)]
pub struct HeadDetails<'a> {
    /// `details.dataset`: a dataset name or a list of them.
    #[serde(borrow, default)]
    pub dataset: Option<&'a RawValue>,
    /// `details.inputs`: a dataset name or a list of them.
    #[serde(borrow, default)]
    pub inputs: Option<&'a RawValue>,
    /// `details.outputs`: what the event made (lineage).
    #[serde(borrow, default)]
    pub outputs: Option<&'a RawValue>,
    /// `details.dataset_name`: a dataset read (seed 004).
    #[serde(borrow, default)]
    pub dataset_name: Option<&'a RawValue>,
    /// `details.input_data`: a dataset read (seed 004).
    #[serde(borrow, default)]
    pub input_data: Option<&'a RawValue>,
    /// `details.output_data`: a dataset made (seed 004).
    #[serde(borrow, default)]
    pub output_data: Option<&'a RawValue>,
    /// `details.model_id`: a model read (seed 004).
    #[serde(borrow, default)]
    pub model_id: Option<&'a RawValue>,
    /// `details.verified_by`: a person or a list of them.
    #[serde(borrow, default)]
    pub verified_by: Option<&'a RawValue>,
    /// `details.status`: the final status an `audit_closed` event gives its operation.
    #[serde(borrow, default)]
    pub status: Option<&'a RawValue>,
    /// `details.environment` of a deployment.
    #[serde(borrow, default)]
    pub environment: Option<&'a RawValue>,
    /// `details.latency_ms`, as JSON text.
    #[serde(borrow, default)]
    pub latency_ms: Option<&'a RawValue>,
    /// `details.output`, for its label.
    #[serde(borrow, default)]
    pub output: Option<UsageOutput<'a>>,
    /// `details.input_hash`, if it is a string.
    #[serde(borrow, default, deserialize_with = "string_or_none")]
    pub input_hash: Option<Cow<'a, str>>,
    /// `details.ingest_id`, if it is a string.
    #[serde(borrow, default, deserialize_with = "string_or_none")]
    pub ingest_id: Option<Cow<'a, str>>,
}

/// A string member, or `None` for any other JSON value (a detail named `input_hash` that is
/// not a hash is not indexed, and not an error).
fn string_or_none<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Cow<'a, str>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Maybe<'a> {
        Text(#[serde(borrow)] Cow<'a, str>),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Maybe::deserialize(d)? {
        Maybe::Text(t) => Some(t),
        Maybe::Other(_) => None,
    })
}

/// `model` of a [`RecordHead`].
#[derive(Debug, Default, Deserialize)]
pub struct HeadModel<'a> {
    /// `model.name`.
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    /// `model.version`.
    #[serde(borrow, default)]
    pub version: Option<Cow<'a, str>>,
}

/// `actor` of a [`RecordHead`].
#[derive(Debug, Default, Deserialize)]
pub struct HeadActor<'a> {
    /// `actor.user`.
    #[serde(borrow, default)]
    pub user: Option<Cow<'a, str>>,
}

/// `operation` of a [`RecordHead`].
#[derive(Debug, Default, Deserialize)]
pub struct HeadOperation<'a> {
    /// `operation.id`.
    #[serde(borrow, default)]
    pub id: Option<Cow<'a, str>>,
    /// `operation.name`.
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
}

impl<'a> RecordHead<'a> {
    /// Parses the head of leaf data.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        Ok(serde_json::from_slice(data)?)
    }
}

/// A prediction's output; any other shape (a list, a number) has no label.
#[derive(Debug, Default)]
pub struct UsageOutput<'a> {
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

impl<'a> RecordHead<'a> {
    /// `actor.user`.
    pub fn user(&self) -> Option<&str> {
        self.actor.as_ref()?.user.as_deref()
    }

    /// `model.name`.
    pub fn model_name(&self) -> Option<&str> {
        self.model.as_ref().map(|m| m.name.as_ref())
    }

    /// `model.version`.
    pub fn version(&self) -> Option<&str> {
        self.model.as_ref()?.version.as_deref()
    }

    /// The UTC date of the event, `YYYY-MM-DD`.
    pub fn day(&self) -> &str {
        self.time.get(..10).unwrap_or(&self.time)
    }

    /// Is the status WARNING or more severe (custom statuses count as INFO)?
    pub fn is_incident(&self) -> bool {
        crate::Status::severity_of(&self.status) >= 13
    }

    /// The record's details (none read as empty).
    pub fn detail(&self) -> &HeadDetails<'a> {
        const NONE: &HeadDetails<'static> = &HeadDetails {
            dataset: None,
            inputs: None,
            outputs: None,
            dataset_name: None,
            input_data: None,
            output_data: None,
            model_id: None,
            verified_by: None,
            status: None,
            environment: None,
            latency_ms: None,
            output: None,
            input_hash: None,
            ingest_id: None,
        };
        self.details.as_ref().unwrap_or(NONE)
    }

    /// The artifacts the record reads and writes ([`crate::lineage::links`]).
    pub fn links(&self) -> Vec<(crate::lineage::Role, crate::lineage::Artifact)> {
        self.with_lineage(crate::lineage::links)
    }

    /// The index values of [`RecordHead::links`] ([`crate::lineage::index_keys`]).
    pub fn artifact_keys(&self) -> Vec<String> {
        self.with_lineage(crate::lineage::index_keys)
    }

    /// `f` over the record's type, model and lineage details (parsed only when present).
    fn with_lineage<T>(
        &self,
        f: impl FnOnce(
            &str,
            Option<(&str, Option<&str>)>,
            &dyn Fn(&str) -> Option<serde_json::Value>,
        ) -> T,
    ) -> T {
        let d = self.detail();
        let raw = |k: &str| -> Option<&RawValue> {
            match k {
                "inputs" => d.inputs,
                "outputs" => d.outputs,
                "dataset" => d.dataset,
                "dataset_name" => d.dataset_name,
                "input_data" => d.input_data,
                "output_data" => d.output_data,
                "model_id" => d.model_id,
                _ => None,
            }
        };
        let model = self
            .model
            .as_ref()
            .map(|m| (m.name.as_ref(), m.version.as_deref()));
        f(&self.kind, model, &|k| {
            raw(k).and_then(|r| serde_json::from_str(r.get()).ok())
        })
    }

    /// `details.latency_ms` if it is a finite number.
    pub fn latency_ms(&self) -> Option<f64> {
        self.details
            .as_ref()?
            .latency_ms
            .and_then(|r| r.get().parse::<f64>().ok())
            .filter(|l| l.is_finite())
    }

    /// The label as a report key: `details.output.prediction`, else `details.output.label`;
    /// a string as itself (borrowed when it has no escapes), any other value as its JSON text,
    /// none as `null`.
    pub fn label(&self) -> Cow<'a, str> {
        let out = self.details.as_ref().and_then(|d| d.output.as_ref());
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
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn head(details: &str) -> String {
        format!(
            r#"{{"details":{details},"id":"x","model":{{"name":"m"}},"seq":0,"status":"INFO","time":"2026-11-24T10:00:00.000000000Z","type":"model_inference"}}"#
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
            let h = RecordHead::parse(text.as_bytes()).unwrap();
            assert_eq!(h.label(), label, "{details}");
            assert_eq!(h.latency_ms(), latency, "{details}");
            assert_eq!(h.day(), "2026-11-24");
        }
        assert!(RecordHead::parse(b"{\"status\":1}").is_err());
    }
}
