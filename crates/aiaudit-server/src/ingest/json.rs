//! Events as clients send them (public for the fuzz target and for clients that want the
//! server's own checks): the JSON schema of `POST /v1/events`, the body formats (one
//! object, an array, or NDJSON), and their conversion into [`Event`]s with every check named.

use aiaudit::{AuditLogger, Event};
use aiaudit_core::event::{Actor, ModelRef, Operation, Source};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use utoipa::ToSchema;

use crate::config::Limits;
use crate::error::ApiError;

/// An event to record. Only `name` is required; `type` defaults to `event` and `status` to
/// `INFO`. Unknown fields are refused, so that a misspelt field is never silently lost.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// Event type: `model_inference`, `model_training`, `data_access`, `data_transformation`,
    /// `evaluation`, `deployment`, `drift`, `compliance_check`, `user_request`, `error`, or any
    /// word (1 to 128 bytes, no spaces).
    #[serde(rename = "type", default)]
    #[schema(example = "model_inference", pattern = "^[!-~]{1,128}$")]
    pub kind: Option<String>,
    /// The human message.
    #[schema(example = "Prediction served")]
    pub name: String,
    /// DEBUG, INFO, NOTICE, WARNING, ERROR, FAILURE, CRITICAL, or a status the server registers.
    #[serde(default)]
    #[schema(example = "INFO", pattern = "^[A-Za-z0-9_]{1,32}$")]
    pub status: Option<String>,
    /// When it happened (RFC 3339), if not now; kept beside the log's own time.
    #[serde(default)]
    pub occurred: Option<String>,
    /// Who caused it.
    #[serde(default)]
    pub actor: Option<ActorInput>,
    /// The data subject it is about.
    #[serde(default)]
    pub subject: Option<String>,
    /// The run, trail or trace.
    #[serde(default)]
    pub operation: Option<OperationInput>,
    /// The id of the event this one follows from.
    #[serde(default)]
    pub parent: Option<String>,
    /// The model concerned.
    #[serde(default)]
    pub model: Option<ModelInput>,
    /// Regulations the event is kept for.
    #[serde(default)]
    pub regulations: Option<Vec<String>>,
    /// Free-form details (a JSON object).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub details: Option<aiaudit_core::strict_json::StrictObject>,
    /// Where it was recorded (defaults to the server).
    #[serde(default)]
    pub source: Option<SourceInput>,
}

/// Who caused an event.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActorInput {
    /// A person's user id.
    #[serde(default)]
    pub user: Option<String>,
    /// A service identity (defaults to the token's name).
    #[serde(default)]
    pub service: Option<String>,
    /// The client's network address.
    #[serde(default)]
    pub ip: Option<String>,
}

/// A run, trail or trace.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationInput {
    /// Unique id of the run.
    #[serde(default)]
    pub id: Option<String>,
    /// The operation's name.
    #[serde(default)]
    pub name: Option<String>,
}

/// A model.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelInput {
    /// Model name.
    pub name: String,
    /// Model version.
    #[serde(default)]
    pub version: Option<String>,
}

/// Where an event was recorded.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceInput {
    /// Host name.
    #[serde(default)]
    pub host: Option<String>,
    /// Process id.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 4294967295u64)]
    pub pid: Option<u32>,
    /// Program name.
    #[serde(default)]
    pub process: Option<String>,
    /// Source file.
    #[serde(default)]
    pub file: Option<String>,
    /// Line.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 4294967295u64)]
    pub line: Option<u32>,
    /// Function.
    #[serde(default)]
    pub function: Option<String>,
}

/// The body's format, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/json`: one event object, or an array of them.
    Json,
    /// `application/x-ndjson`: one event object per line.
    Ndjson,
}

impl BodyFormat {
    /// The format a `Content-Type` names, or a 415 naming what is accepted.
    pub fn from_content_type(ct: Option<&str>) -> Result<Self, ApiError> {
        let essence = ct
            .map(|c| {
                c.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        match essence.as_str() {
            "application/json" => Ok(BodyFormat::Json),
            "application/x-ndjson" | "application/jsonl" => Ok(BodyFormat::Ndjson),
            "" => Err(unsupported("no Content-Type")),
            other => Err(unsupported(&format!("Content-Type {other:?}"))),
        }
    }
}

fn unsupported(what: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!(
            "{what}: send application/json (an event or an array of events) or application/x-ndjson (one event per line)"
        ),
    )
}

/// Parses a body into events, refusing more than `limits.max_batch`.
pub fn parse_body(
    body: &[u8],
    format: BodyFormat,
    limits: &Limits,
) -> Result<Vec<EventInput>, ApiError> {
    let events = match format {
        BodyFormat::Json => {
            let first = body.iter().find(|b| !b.is_ascii_whitespace());
            match first {
                Some(b'{') => vec![from_json(body, None)?],
                Some(b'[') => array(body, limits)?,
                None => return Err(ApiError::bad_request("invalid_json", "the body is empty")),
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "invalid_json",
                        "the body must be a JSON object (one event) or an array of events",
                    ));
                }
            }
        }
        BodyFormat::Ndjson => {
            let mut events = Vec::new();
            for (i, line) in body.split(|b| *b == b'\n').enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                if events.len() == limits.max_batch {
                    return Err(too_many(limits));
                }
                let n = events.len();
                events.push(from_json(line, Some(i + 1)).map_err(|e| {
                    if e.code == "invalid_event" {
                        e.at_event(n)
                    } else {
                        e
                    }
                })?);
            }
            events
        }
    };
    if events.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_event",
            "the body holds no event",
        ));
    }
    if events.len() > limits.max_batch {
        return Err(too_many(limits));
    }
    Ok(events)
}

fn too_many(limits: &Limits) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        "batch_too_large",
        format!(
            "a request may carry at most {} events; split the batch",
            limits.max_batch
        ),
    )
}

fn from_json<T: serde::de::DeserializeOwned>(
    text: &[u8],
    line: Option<usize>,
) -> Result<T, ApiError> {
    let at = match line {
        Some(l) => format!("line {l}: "),
        None => String::new(),
    };
    let fail = |path: String, inner: serde_json::Error| json_error(&path, inner, &at);
    let mut de = serde_json::Deserializer::from_slice(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        fail(path, e.into_inner())
    })?;
    de.end().map_err(|e| fail(String::new(), e))?;
    Ok(value)
}

/// Parsing stops at the first event past the limit, so a huge array of tiny events costs no
/// more memory than the limit allows.
struct Bounded {
    max: usize,
}

const TOO_MANY: &str = "aiaudit: more events than the batch limit";

impl<'de> serde::de::DeserializeSeed<'de> for Bounded {
    type Value = Vec<EventInput>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Bounded {
    type Value = Vec<EventInput>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of events")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.max));
        while let Some(e) = seq.next_element::<EventInput>()? {
            if out.len() == self.max {
                return Err(serde::de::Error::custom(TOO_MANY));
            }
            out.push(e);
        }
        Ok(out)
    }
}

/// A JSON array of events, at most `limits.max_batch` of them.
fn array(body: &[u8], limits: &Limits) -> Result<Vec<EventInput>, ApiError> {
    use serde::de::DeserializeSeed;
    let seed = || Bounded {
        max: limits.max_batch,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let fast = seed()
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    let first = match fast {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    if first.to_string().contains(TOO_MANY) {
        return Err(too_many(limits));
    }
    // Parsed again, tracking the path, only to name the field at fault.
    let mut de = serde_json::Deserializer::from_slice(body);
    let mut track = serde_path_to_error::Track::new();
    let traced = seed().deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track));
    let (path, inner) = match traced {
        Err(e) => (track.path().to_string(), e),
        Ok(_) => (String::new(), first),
    };
    let index = path
        .strip_prefix('[')
        .and_then(|p| p.split(']').next())
        .and_then(|i| i.parse::<usize>().ok());
    let err = json_error(&path, inner, "");
    Err(match index {
        Some(i) if err.code == "invalid_event" => err.at_event(i),
        _ => err,
    })
}

/// The 400 for a JSON failure at `path`, prefixed with `at` (an NDJSON line).
fn json_error(path: &str, inner: serde_json::Error, at: &str) -> ApiError {
    let msg = inner.to_string();
    if msg.contains("recursion limit") {
        return ApiError::bad_request("too_deep", format!("{at}the JSON is nested too deeply"));
    }
    let code = if inner.is_data() {
        "invalid_event"
    } else {
        "invalid_json"
    };
    let field = if path == "." || path.is_empty() || !inner.is_data() {
        String::new()
    } else {
        format!("{path}: ")
    };
    ApiError::bad_request(code, format!("{at}{field}{msg}"))
}

/// Depth of a JSON value: a scalar is 0, `{"a": 1}` is 1.
fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Event types only the server records (reads, administration, erasure): a client could
/// otherwise plant records that look like the server's own.
pub const RESERVED_TYPES: [&str; 6] = [
    "access",
    "admin",
    aiaudit::subjects::ERASURE_TYPE,
    // A key change carries the log's own signatures (aiaudit::keys).
    aiaudit_core::keys::KEY_EVENT_TYPE,
    // An archive run names the files the log's own records moved to.
    aiaudit_core::archive::ARCHIVE_EVENT_TYPE,
    // Raised by the server's alert rules, which never evaluate them: a client's would escape
    // every rule.
    "alert",
];

/// Detail keys only the server sets: `ingest_id` names the queue message an event came from,
/// and a client that set it could make a redelivered message pass for committed.
pub const RESERVED_DETAILS: [&str; 1] = [aiaudit_core::store::indexed::INGEST_ID];

/// Turns one input into an event: statuses checked against the logger's, times parsed,
/// nesting bounded; `service` (the token's name) fills the actor's when the event names none.
/// The client's address is not added: the token says who sent it, and every event would
/// otherwise carry (and hash) the same address.
pub fn to_event(
    input: EventInput,
    index: usize,
    logger: &AuditLogger,
    limits: &Limits,
    service: &str,
) -> Result<Event, ApiError> {
    let at = |e: ApiError| {
        ApiError::bad_request(e.code, format!("event {index}: {}", e.message)).at_event(index)
    };
    let kind = input.kind.unwrap_or_else(|| "event".to_owned());
    if RESERVED_TYPES.contains(&kind.as_str()) {
        return Err(at(ApiError::bad_request(
            "invalid_event",
            format!("type {kind:?} is recorded by the server itself and cannot be sent"),
        )));
    }
    let mut event = Event::new(Cow::Owned(kind), input.name);
    if let Some(s) = input.status {
        event.status = logger.status(&s).map_err(|e| at(e.into()))?;
    }
    if let Some(t) = input.occurred {
        event.occurred_ns = Some(aiaudit_core::timefmt::parse_rfc3339(&t).map_err(|e| {
            at(ApiError::bad_request(
                "invalid_event",
                format!("occurred: {e}"),
            ))
        })?);
    }
    let a = input.actor.unwrap_or(ActorInput {
        user: None,
        service: None,
        ip: None,
    });
    event.actor = Some(Actor {
        user: a.user,
        service: a.service.or_else(|| Some(service.to_owned())),
        ip: a.ip,
    });
    event.subject = input.subject;
    event.operation = input.operation.map(|o| Operation {
        id: o.id,
        name: o.name,
    });
    event.parent = input.parent;
    event.model = input.model.map(|m| ModelRef {
        name: m.name,
        version: m.version,
    });
    event.regulations = input.regulations.unwrap_or_default();
    if let Some(aiaudit_core::strict_json::StrictObject(d)) = input.details {
        if let Some(k) = RESERVED_DETAILS.iter().find(|k| d.contains_key(**k)) {
            return Err(at(ApiError::bad_request(
                "invalid_event",
                format!("details.{k} is set by the server itself and cannot be sent"),
            )));
        }
        let deepest = d.values().map(depth).max().unwrap_or(0) + 1;
        if deepest > limits.max_depth {
            return Err(at(ApiError::bad_request(
                "too_deep",
                format!(
                    "details are nested {deepest} levels deep; the limit is {}",
                    limits.max_depth
                ),
            )));
        }
        event.details = d;
    }
    if let Some(s) = input.source {
        event.source = Source {
            host: s.host.map(Into::into),
            pid: s.pid,
            process: s.process.map(Into::into),
            file: s.file.map(Cow::Owned),
            line: s.line,
            function: s.function.map(Cow::Owned),
        };
    }
    // The schema and numbers are checked once, for the whole batch, by `AuditLogger::submit`.
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_formats_and_limits() {
        let l = Limits {
            max_batch: 2,
            ..Limits::default()
        };
        let one = parse_body(br#"{"name":"a"}"#, BodyFormat::Json, &l).expect("one");
        assert_eq!(one.len(), 1);
        let two = parse_body(
            b"{\"name\":\"a\"}\n\n{\"name\":\"b\"}\n",
            BodyFormat::Ndjson,
            &l,
        )
        .expect("ndjson");
        assert_eq!(two[1].name, "b");
        let e = parse_body(
            br#"[{"name":"a"},{"name":"b"},{"name":"c"}]"#,
            BodyFormat::Json,
            &l,
        )
        .expect_err("three");
        assert_eq!(e.code, "batch_too_large");
        let e =
            parse_body(br#"{"name":"a","stauts":"INFO"}"#, BodyFormat::Json, &l).expect_err("typo");
        assert!(e.message.contains("stauts"), "{}", e.message);
        let e = parse_body(b"{\"name\":\"a\"}\n{oops", BodyFormat::Ndjson, &l).expect_err("bad");
        assert!(e.message.starts_with("line 2:"), "{}", e.message);
        let e = parse_body(b"42", BodyFormat::Json, &l).expect_err("scalar");
        assert_eq!(e.code, "invalid_json");
        let deep = format!(
            "{{\"name\":\"x\",\"details\":{{\"a\":{}{}}}}}",
            "[".repeat(200),
            "]".repeat(200)
        );
        let e = parse_body(deep.as_bytes(), BodyFormat::Json, &l).expect_err("deep");
        assert_eq!(e.code, "too_deep");
        assert!(BodyFormat::from_content_type(Some("text/plain")).is_err());
        assert_eq!(
            BodyFormat::from_content_type(Some("application/json; charset=utf-8")).ok(),
            Some(BodyFormat::Json)
        );
    }
}
