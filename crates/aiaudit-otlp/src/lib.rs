//! OpenTelemetry onto the audit log: OTLP trace and log requests (protobuf or the OTLP JSON
//! mapping) decoded with `opentelemetry-proto` and turned into [`Event`](aiaudit_core::Event)s, one per span or log
//! record, with the GenAI semantic conventions (and OpenInference's and OpenLLMetry's names)
//! mapped onto `model_inference`, `tool_call`, … events with model, provider, tokens and
//! finish reasons. Prompt and completion content becomes a SHA-256 hash where it stands unless
//! [`Options::keep_content`] is set. docs/format.md §6 ("OTLP ingest") is the mapping's
//! reference; the server (`POST /v1/traces`, `/v1/logs`) and the Python
//! `aiaudit.integrations.otel` both use this crate, so both record the same events.
//!
//! Every check runs before anything is returned: a request either becomes its events whole or
//! is refused with an [`Error`] naming the span or record at fault
//! (`resourceSpans[0].scopeSpans[0].spans[2]: …`).
//!
//! ```
//! use aiaudit_otlp::{Encoding, Options, traces};
//!
//! let body = br#"{"resourceSpans":[{"resource":{"attributes":[
//!     {"key":"service.name","value":{"stringValue":"chatbot"}}]},
//!   "scopeSpans":[{"spans":[{
//!     "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
//!     "name":"chat gpt-4o","startTimeUnixNano":"1700000000000000000",
//!     "endTimeUnixNano":"1700000000250000000",
//!     "attributes":[
//!       {"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
//!       {"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},
//!       {"key":"gen_ai.usage.input_tokens","value":{"intValue":"12"}},
//!       {"key":"gen_ai.input.messages","value":{"stringValue":"[{\"role\":\"user\"}]"}}]}]}]}]}"#;
//! let request = traces::decode(body, Encoding::Json)?;
//! let events = traces::to_events(request, &Options::new("otel-token"))?;
//! let e = &events[0];
//! assert_eq!(e.kind, "model_inference");
//! assert_eq!(e.model.as_ref().map(|m| m.name.as_str()), Some("gpt-4o"));
//! assert_eq!(e.details["tokens"]["input"], 12);
//! assert_eq!(e.details["latency_ms"], 250.0);
//! // The prompt is kept as a hash only.
//! let prompt = e.details["attributes"]["gen_ai.input.messages"].as_str().unwrap_or("");
//! assert!(prompt.starts_with("sha256:"));
//! # Ok::<(), aiaudit_otlp::Error>(())
//! ```

mod common;
mod content;
mod error;
mod genai;
pub mod logs;
mod precount;
pub mod traces;
mod value;

pub use content::{content_hash, is_content_key, is_message_key};
pub use error::Error;
pub use precount::items;

/// How a request body is encoded, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json`: the OTLP JSON mapping.
    Json,
}

impl Encoding {
    /// The encoding a `Content-Type` names (parameters ignored), or `None`.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let essence = ct.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("application/x-protobuf")
            || essence.eq_ignore_ascii_case("application/protobuf")
        {
            Some(Encoding::Protobuf)
        } else if essence.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else {
            None
        }
    }

    /// The `Content-Type` of answers in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// What a conversion may take and keep.
#[derive(Debug, Clone)]
pub struct Options {
    /// `actor.service` of events whose resource names no `service.name` (the server passes its
    /// token's name).
    pub service: String,
    /// Keep prompt and completion content instead of its hash (`[otlp] keep_content`).
    pub keep_content: bool,
    /// Most attributes (and span events, and links) on one span, record, resource or scope.
    pub max_attributes: usize,
    /// Deepest nesting of one attribute value (a scalar is 0).
    pub max_depth: usize,
    /// Most spans or records in one request.
    pub max_events: usize,
}

impl Options {
    /// The defaults: content hashed, 1,024 attributes, depth 32, 10,000 events a request.
    pub fn new(service: impl Into<String>) -> Self {
        Options {
            service: service.into(),
            keep_content: false,
            max_attributes: 1024,
            max_depth: 32,
            max_events: 10_000,
        }
    }
}
