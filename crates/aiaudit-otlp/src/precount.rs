//! Counting a request's spans or log records before decoding it: a body of empty spans costs
//! two bytes each on the wire and hundreds in memory once decoded, so the batch limit is
//! applied to the count first.

use serde::Deserialize;

use crate::Encoding;

/// How many spans or log records `body` holds (both signals nest them alike:
/// request → resource → scope → item), counted without decoding them; `None` when the body is
/// malformed, which the decoder then reports.
pub fn items(body: &[u8], encoding: Encoding) -> Option<usize> {
    match encoding {
        Encoding::Protobuf => wire(body, 0),
        Encoding::Json => serde_json::from_slice::<Top>(body)
            .ok()
            .map(|t| t.r.iter().flat_map(|m| &m.s).map(|l| l.items.0).sum()),
    }
}

/// One protobuf varint.
fn varint(buf: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let (&b, rest) = buf.split_first()?;
        *buf = rest;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// The count of items under the length-delimited fields 1 (resources), 2 (scopes), 2 (items)
/// from nesting `depth`.
fn wire(mut buf: &[u8], depth: usize) -> Option<usize> {
    const PATH: [u64; 3] = [1, 2, 2];
    let mut n = 0usize;
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        match key & 7 {
            0 => {
                varint(&mut buf)?;
            }
            1 => buf = buf.get(8..)?,
            5 => buf = buf.get(4..)?,
            2 => {
                let len = usize::try_from(varint(&mut buf)?).ok()?;
                let inner = buf.get(..len)?;
                buf = buf.get(len..)?;
                if key >> 3 == PATH[depth] {
                    n += if depth == 2 {
                        1
                    } else {
                        wire(inner, depth + 1)?
                    };
                }
            }
            _ => return None,
        }
    }
    Some(n)
}

#[derive(Deserialize)]
struct Top {
    #[serde(rename = "resourceSpans", alias = "resourceLogs", default)]
    r: Vec<Mid>,
}

#[derive(Deserialize)]
struct Mid {
    #[serde(rename = "scopeSpans", alias = "scopeLogs", default)]
    s: Vec<Low>,
}

#[derive(Deserialize)]
struct Low {
    #[serde(rename = "spans", alias = "logRecords", default)]
    items: Count,
}

/// A JSON array's length, its elements skipped.
#[derive(Default)]
struct Count(usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
        }
        d.deserialize_seq(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message as _;

    #[test]
    fn counts_without_decoding() {
        let req = ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans {
                    scope_spans: vec![
                        ScopeSpans {
                            spans: vec![Span::default(); 3],
                            schema_url: "x".into(),
                            ..ScopeSpans::default()
                        },
                        ScopeSpans {
                            spans: vec![Span {
                                name: "n".into(),
                                start_time_unix_nano: 9,
                                ..Span::default()
                            }],
                            ..ScopeSpans::default()
                        },
                    ],
                    schema_url: "s".into(),
                    ..ResourceSpans::default()
                };
                2
            ],
        };
        let bytes = req.encode_to_vec();
        assert_eq!(items(&bytes, Encoding::Protobuf), Some(8));
        assert_eq!(items(&bytes[..bytes.len() - 1], Encoding::Protobuf), None);
        let json = br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{},{"body":{"stringValue":"x"}}]}]}]}"#;
        assert_eq!(items(json, Encoding::Json), Some(2));
        assert_eq!(items(b"{", Encoding::Json), None);
    }
}
