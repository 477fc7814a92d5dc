//! OTLP/HTTP into a running server: GenAI spans, plain spans and log records become events with
//! the documented fields, content is a hash unless kept, and every kind of bad request is a
//! clear 4xx in OTLP's own error form that writes nothing.

mod common;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status};
use prost::Message as _;
use serde_json::Value;

const TRACE: [u8; 16] = [
    0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c,
];
const ROOT: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
const CHILD: [u8; 8] = [9, 10, 11, 12, 13, 14, 15, 16];
const T0: u64 = 1_764_000_000_000_000_000;

fn s(v: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(v.into())),
    })
}

fn i(v: i64) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::IntValue(v)),
    })
}

fn kv(k: &str, v: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: v,
        ..KeyValue::default()
    }
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            kv("service.name", s("support-bot")),
            kv("host.name", s("worker-7")),
            kv("process.pid", i(4242)),
        ],
        ..Resource::default()
    })
}

fn chat_span(prompt: &str) -> Span {
    Span {
        trace_id: TRACE.to_vec(),
        span_id: CHILD.to_vec(),
        parent_span_id: ROOT.to_vec(),
        name: "chat gpt-4o".into(),
        kind: 3,
        start_time_unix_nano: T0,
        end_time_unix_nano: T0 + 1_250_000_000,
        attributes: vec![
            kv("gen_ai.operation.name", s("chat")),
            kv("gen_ai.provider.name", s("openai")),
            kv("gen_ai.request.model", s("gpt-4o")),
            kv("gen_ai.response.model", s("gpt-4o-2024-08-06")),
            kv("gen_ai.usage.input_tokens", i(31)),
            kv("gen_ai.usage.output_tokens", i(12)),
            kv(
                "gen_ai.response.finish_reasons",
                Some(AnyValue {
                    value: Some(any_value::Value::ArrayValue(
                        opentelemetry_proto::tonic::common::v1::ArrayValue {
                            values: vec![s("stop").unwrap_or_default()],
                        },
                    )),
                }),
            ),
            kv("gen_ai.input.messages", s(prompt)),
            kv("enduser.id", s("alice")),
        ],
        ..Span::default()
    }
}

fn message_event(text: &str) -> opentelemetry_proto::tonic::trace::v1::span::Event {
    opentelemetry_proto::tonic::trace::v1::span::Event {
        time_unix_nano: T0 + 1,
        name: "gen_ai.user.message".into(),
        attributes: vec![kv("content", s(text)), kv("role", s("user"))],
        ..Default::default()
    }
}

fn root_span() -> Span {
    Span {
        trace_id: TRACE.to_vec(),
        span_id: ROOT.to_vec(),
        name: "POST /answer".into(),
        kind: 2,
        start_time_unix_nano: T0 - 1_000_000,
        end_time_unix_nano: T0 + 1_300_000_000,
        attributes: vec![
            kv("http.request.method", s("POST")),
            kv("http.response.status_code", i(500)),
        ],
        status: Some(Status {
            message: "upstream timed out".into(),
            code: status::StatusCode::Error as i32,
        }),
        ..Span::default()
    }
}

fn traces(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "opentelemetry.instrumentation.openai".into(),
                    version: "0.40.0".into(),
                    ..InstrumentationScope::default()
                }),
                spans,
                schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
            }],
            ..ResourceSpans::default()
        }],
    }
}

async fn post(
    h: &common::Harness,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String, Vec<u8>) {
    let mut req = h
        .http
        .post(format!("{}{path}", h.url))
        .header("content-type", content_type)
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(h.token(t));
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, ct, resp.bytes().await.expect("body").to_vec())
}

async fn events(h: &common::Harness, query: &str) -> Vec<Value> {
    let (status, body) = h
        .get_json("audit", &format!("/v1/events?{query}&limit=1000"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().cloned().unwrap_or_default()
}

/// Every event the log holds that did not come from a read (access records).
async fn written(h: &common::Harness) -> usize {
    let all = events(h, "order=asc").await;
    all.iter().filter(|e| e["type"] != "access").count()
}

/// The `google.rpc.Status` of a protobuf error answer: (code, message).
fn rpc_status(body: &[u8]) -> (i32, String) {
    #[derive(Clone, PartialEq, prost::Message)]
    struct RpcStatus {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
    }
    let s = RpcStatus::decode(body).expect("a google.rpc.Status");
    (s.code, s.message)
}

#[tokio::test]
async fn genai_spans_and_logs_become_events() {
    let h = common::start().await;
    let prompt = r#"[{"role":"user","parts":[{"type":"text","content":"Is my card 4111 1111 1111 1111 blocked?"}]}]"#;
    let mut chat = chat_span(prompt);
    chat.events
        .push(message_event("card 4111 1111 1111 1111 again"));
    let body = traces(vec![chat, root_span()]).encode_to_vec();
    let (status, ct, answer) = post(
        &h,
        "/v1/traces",
        Some("ingest"),
        "application/x-protobuf",
        body,
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(ct, "application/x-protobuf");
    assert!(answer.is_empty(), "an empty ExportTraceServiceResponse");

    let got = events(&h, "type=model_inference").await;
    assert_eq!(got.len(), 1);
    let e = &got[0];
    assert_eq!(e["name"], "chat gpt-4o");
    assert_eq!(e["status"], "INFO");
    assert_eq!(e["model"]["name"], "gpt-4o");
    assert_eq!(e["model"]["version"], "gpt-4o-2024-08-06");
    assert_eq!(e["actor"]["user"], "alice");
    assert_eq!(e["actor"]["service"], "support-bot");
    assert_eq!(e["source"]["host"], "worker-7");
    assert_eq!(e["source"]["pid"], 4242);
    assert_eq!(e["operation"]["id"], hex::encode(TRACE));
    assert_eq!(e["parent"], hex::encode(ROOT));
    assert_eq!(e["occurred"], "2025-11-24T16:00:00.000000000Z");
    let d = &e["details"];
    assert_eq!(d["latency_ms"], 1250.0);
    assert_eq!(
        d["tokens"],
        serde_json::json!({"input": 31, "output": 12, "total": 43})
    );
    assert_eq!(
        d["attributes"]["gen_ai.response.finish_reasons"],
        serde_json::json!(["stop"])
    );
    assert_eq!(d["provider"], "openai");
    assert_eq!(d["attributes"]["gen_ai.operation.name"], "chat");
    // Ids are not repeated: the trace is the operation, the parent span the parent.
    assert!(d["otel"].get("trace_id").is_none() && d["otel"].get("parent_span_id").is_none());
    assert_eq!(d["otel"]["span_id"], hex::encode(CHILD));
    assert_eq!(d["otel"]["kind"], "client");
    assert_eq!(
        d["otel"]["scope"]["name"],
        "opentelemetry.instrumentation.openai"
    );
    assert_eq!(d["otel"]["resource"]["service.name"], "support-bot");
    // The prompt is only its hash: the card number is nowhere in the record.
    let want = aiaudit_otlp::content_hash(&Value::String(prompt.into()));
    assert_eq!(d["attributes"]["gen_ai.input.messages"], want);
    // So is a message event's content; its role stays.
    let ev = &d["events"][0];
    assert_eq!(ev["name"], "gen_ai.user.message");
    assert_eq!(ev["attributes"]["role"], "user");
    assert!(
        ev["attributes"]["content"]
            .as_str()
            .is_some_and(|c| c.starts_with("sha256:")),
        "{ev}"
    );
    assert!(!e.to_string().contains("4111"), "{e}");

    let spans = events(&h, "type=span").await;
    assert_eq!(spans.len(), 1);
    let root = &spans[0];
    assert_eq!(root["status"], "ERROR");
    assert_eq!(
        root["details"]["otel"]["status_message"],
        "upstream timed out"
    );
    assert_eq!(
        root["details"]["attributes"]["http.response.status_code"],
        500
    );
    assert!(root.get("parent").is_none());
    // The trace reads back as one operation: the chat span's parent is the root's span id.
    let trace = events(&h, &format!("operation={}", hex::encode(TRACE))).await;
    assert_eq!(trace.len(), 2);

    // A log record in the chat span: severity, parent span, body as the name.
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                log_records: vec![
                    LogRecord {
                        time_unix_nano: T0 + 5,
                        severity_number: 13,
                        severity_text: "WARN".into(),
                        body: s("rate limit close: 95% of quota"),
                        trace_id: TRACE.to_vec(),
                        span_id: CHILD.to_vec(),
                        ..LogRecord::default()
                    },
                    LogRecord {
                        time_unix_nano: T0 + 6,
                        event_name: "gen_ai.user.message".into(),
                        body: s("my password is hunter2"),
                        attributes: vec![kv("gen_ai.provider.name", s("openai"))],
                        ..LogRecord::default()
                    },
                ],
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    };
    let (status, _, answer) = post(
        &h,
        "/v1/logs",
        Some("ingest"),
        "application/x-protobuf",
        logs.encode_to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let got = events(&h, "type=log").await;
    assert_eq!(got.len(), 2, "{got:?}");
    let warn = got
        .iter()
        .find(|e| e["status"] == "WARNING")
        .expect("the warning");
    assert_eq!(warn["name"], "rate limit close: 95% of quota");
    assert_eq!(warn["parent"], hex::encode(CHILD));
    assert_eq!(warn["details"]["otel"]["severity_text"], "WARN");
    let msg = got
        .iter()
        .find(|e| e["name"] == "gen_ai.user.message")
        .expect("the message");
    assert_eq!(
        msg["details"]["body"],
        aiaudit_otlp::content_hash(&Value::String("my password is hunter2".into()))
    );
    assert!(!msg.to_string().contains("hunter2"));

    let (status, body) = h.get_json("audit", "/v1/verify").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn json_and_gzip_with_content_kept_still_redacted() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let h = common::start_with(dir, |c| c.otlp.keep_content = true).await;
    let body = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{
            "traceId":"{}","spanId":"{}","name":"chat","kind":3,
            "startTimeUnixNano":"{T0}","endTimeUnixNano":{},
            "attributes":[
              {{"key":"gen_ai.request.model","value":{{"stringValue":"llama-3"}}}},
              {{"key":"gen_ai.usage.input_tokens","value":{{"intValue":"7"}}}},
              {{"key":"gen_ai.prompt.0.content","value":{{"stringValue":"mail me at jane.doe@example.com"}}}},
              {{"key":"gen_ai.prompt.0.role","value":{{"stringValue":"user"}}}}]}}]}}]}}]}}"#,
        hex::encode(TRACE),
        hex::encode(CHILD),
        T0 + 2_000_000
    );
    // Two gzip members, as a client that compresses in pieces sends them.
    let (head, tail) = body.split_at(body.len() / 2);
    let mut packed = Vec::new();
    for part in [head, tail] {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(part.as_bytes()).expect("gzip");
        packed.extend(gz.finish().expect("gzip"));
    }
    let resp = h
        .http
        .post(format!("{}/v1/traces", h.url))
        .bearer_auth(h.token("ingest"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(packed)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.expect("body"), "{}");
    let got = events(&h, "type=model_inference").await;
    assert_eq!(got.len(), 1);
    let a = &got[0]["details"]["attributes"];
    // Kept, but through the redaction policy: the address is masked, the rest is the text.
    let kept = a["gen_ai.prompt.0.content"].as_str().expect("kept");
    assert!(kept.starts_with("mail me at "), "{kept}");
    assert!(!kept.contains("jane.doe@example.com"), "{kept}");
    assert_eq!(a["gen_ai.prompt.0.role"], "user");
    assert_eq!(got[0]["details"]["latency_ms"], 2.0);
    assert_eq!(got[0]["details"]["tokens"]["input"], 7);
}

#[tokio::test]
async fn bad_requests_are_refused_whole_in_otlp_form() {
    let h = common::start().await;
    let good = traces(vec![chat_span("hi"), root_span()]).encode_to_vec();
    let before = written(&h).await;

    // Truncated protobuf.
    let (status, ct, body) = post(
        &h,
        "/v1/traces",
        Some("ingest"),
        "application/x-protobuf",
        good[..good.len() - 7].to_vec(),
    )
    .await;
    assert_eq!((status, ct.as_str()), (400, "application/x-protobuf"));
    let (code, msg) = rpc_status(&body);
    assert_eq!(code, 3, "INVALID_ARGUMENT");
    assert!(
        msg.starts_with(
            "invalid_otlp: the body is not a valid OTLP ExportTraceServiceRequest protobuf message"
        ),
        "{msg}"
    );

    // A wrong content type, and none.
    let (status, ct, body) =
        post(&h, "/v1/traces", Some("ingest"), "text/plain", good.clone()).await;
    assert_eq!((status, ct.as_str()), (415, "application/json"));
    let v: Value = serde_json::from_slice(&body).expect("json status");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("application/x-protobuf or application/json")),
        "{v}"
    );

    // No token: 401 in the request's encoding.
    let (status, _, body) = post(
        &h,
        "/v1/traces",
        None,
        "application/x-protobuf",
        good.clone(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(rpc_status(&body).0, 16);
    // A read token may not write.
    let (status, _, body) = post(
        &h,
        "/v1/logs",
        Some("read"),
        "application/x-protobuf",
        Vec::new(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(rpc_status(&body).0, 7);

    // 100 MB: refused by its declared length.
    let (status, _, body) = post(
        &h,
        "/v1/traces",
        Some("ingest"),
        "application/x-protobuf",
        vec![0u8; 100 * 1024 * 1024],
    )
    .await;
    assert_eq!(status, 413);
    assert!(
        rpc_status(&body).1.contains("larger than"),
        "{:?}",
        rpc_status(&body)
    );

    // 10,000 attributes on the second span: the first, valid, is not written either.
    let mut wide = root_span();
    wide.attributes = (0..10_000).map(|n| kv(&format!("k{n}"), i(n))).collect();
    let (status, _, body) = post(
        &h,
        "/v1/traces",
        Some("ingest"),
        "application/x-protobuf",
        traces(vec![chat_span("x"), wide]).encode_to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    let msg = rpc_status(&body).1;
    assert!(
        msg.contains(
            "resourceSpans[0].scopeSpans[0].spans[1]: 10000 attributes; the limit is 1024"
        ),
        "{msg}"
    );

    // Invalid UTF-8 in an attribute value.
    let marker = "MARKERMARKER";
    let mut bytes = traces(vec![chat_span(marker)]).encode_to_vec();
    let at = bytes
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())
        .expect("marker");
    bytes[at] = 0xff;
    bytes[at + 1] = 0xfe;
    let (status, _, body) = post(
        &h,
        "/v1/traces",
        Some("ingest"),
        "application/x-protobuf",
        bytes,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        rpc_status(&body).1.to_lowercase().contains("utf-8"),
        "{:?}",
        rpc_status(&body)
    );

    // A span id of the wrong length, a span ending before it starts, duplicate keys.
    let mut short = chat_span("x");
    short.span_id = vec![1, 2, 3];
    let mut backwards = chat_span("x");
    backwards.end_time_unix_nano = backwards.start_time_unix_nano - 1;
    let mut twice = chat_span("x");
    twice
        .attributes
        .push(kv("gen_ai.request.model", s("other")));
    for (span, want) in [
        (short, "spanId is 3 bytes; it must be 8"),
        (backwards, "ends"),
        (twice, "duplicate key \"gen_ai.request.model\""),
    ] {
        let (status, _, body) = post(
            &h,
            "/v1/traces",
            Some("ingest"),
            "application/x-protobuf",
            traces(vec![root_span(), span]).encode_to_vec(),
        )
        .await;
        assert_eq!(status, 400, "{want}");
        let msg = rpc_status(&body).1;
        assert!(msg.contains("spans[1]") && msg.contains(want), "{msg}");
    }

    // Malformed JSON names where it broke.
    let (status, _, body) = post(
        &h,
        "/v1/logs",
        Some("ingest"),
        "application/json",
        br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"soon"}]}]}]}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    let v: Value = serde_json::from_slice(&body).expect("json status");
    assert_eq!(v["code"], 3);
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("not valid OTLP JSON")),
        "{v}"
    );

    assert_eq!(
        written(&h).await,
        before,
        "nothing of a refused request is written"
    );
    // And the good request still goes in whole.
    let (status, _, _) = post(
        &h,
        "/v1/traces",
        Some("ingest"),
        "application/x-protobuf",
        good,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(written(&h).await, before + 2);
}
