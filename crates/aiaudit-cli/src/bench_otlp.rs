//! OTLP requests for the benchmarks: GenAI chat spans as an instrumented LLM service exports
//! them (the GenAI semantic conventions, a resource of seven attributes).

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;

use crate::demo::Rng;

fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..KeyValue::default()
    }
}

fn s(v: impl Into<String>) -> any_value::Value {
    any_value::Value::StringValue(v.into())
}

/// An `ExportTraceServiceRequest` of `n` chat spans, protobuf-encoded; `batch` varies the ids.
pub fn spans_request(rng: &mut Rng, batch: u64, n: u64) -> Vec<u8> {
    let resource = Resource {
        attributes: vec![
            kv("service.name", s("support-bot")),
            kv("service.version", s("1.4.0")),
            kv("deployment.environment.name", s("production")),
            kv("host.name", s("worker-7")),
            kv("telemetry.sdk.name", s("opentelemetry")),
            kv("telemetry.sdk.language", s("python")),
            kv("telemetry.sdk.version", s("1.38.0")),
        ],
        ..Resource::default()
    };
    let models = ["gpt-4o", "claude-sonnet-4", "llama-3.1-70b"];
    let spans = (0..n)
        .map(|i| {
            let m = models[(rng.next_u64() % 3) as usize];
            let start = 1_764_000_000_000_000_000 + (batch * n + i) * 1_000_000;
            let input = 20 + rng.next_u64() % 2_000;
            let output = 5 + rng.next_u64() % 500;
            let mut trace = [0u8; 16];
            trace[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
            trace[8..].copy_from_slice(&(batch * n + i).to_be_bytes());
            Span {
                trace_id: trace.to_vec(),
                span_id: rng.next_u64().to_be_bytes().to_vec(),
                parent_span_id: rng.next_u64().to_be_bytes().to_vec(),
                name: format!("chat {m}"),
                kind: 3,
                start_time_unix_nano: start,
                end_time_unix_nano: start + 200_000_000 + rng.next_u64() % 2_000_000_000,
                attributes: vec![
                    kv("gen_ai.operation.name", s("chat")),
                    kv("gen_ai.provider.name", s("openai")),
                    kv("gen_ai.request.model", s(m)),
                    kv("gen_ai.response.model", s(format!("{m}-2025-08-06"))),
                    kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(input as i64)),
                    kv("gen_ai.usage.output_tokens", any_value::Value::IntValue(output as i64)),
                    kv(
                        "gen_ai.response.finish_reasons",
                        any_value::Value::ArrayValue(
                            opentelemetry_proto::tonic::common::v1::ArrayValue {
                                values: vec![AnyValue {
                                    value: Some(s("stop")),
                                }],
                            },
                        ),
                    ),
                    kv(
                        "gen_ai.input.messages",
                        s(format!(
                            r#"[{{"role":"user","parts":[{{"type":"text","content":"question {} about order {}"}}]}}]"#,
                            rng.next_u64() % 1_000,
                            rng.next_u64() % 100_000
                        )),
                    ),
                    kv("enduser.id", s(format!("user-{}", rng.next_u64() % 500))),
                ],
                ..Span::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "opentelemetry.instrumentation.openai_v2".into(),
                    version: "2.1b0".into(),
                    ..InstrumentationScope::default()
                }),
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
    .encode_to_vec()
}
