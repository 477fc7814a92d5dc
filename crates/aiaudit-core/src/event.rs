//! The event model (schema v1): what a caller records, and the sealed record the log keeps.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};

/// Version of the sealed-record schema, written as `v` in every record.
pub const SCHEMA_VERSION: u32 = 1;

/// The event types the schema names. Any other non-empty type string is allowed too.
pub mod types {
    /// A model produced a prediction.
    pub const MODEL_INFERENCE: &str = "model_inference";
    /// A model was trained.
    pub const MODEL_TRAINING: &str = "model_training";
    /// Data was read.
    pub const DATA_ACCESS: &str = "data_access";
    /// Data was transformed.
    pub const DATA_TRANSFORMATION: &str = "data_transformation";
    /// A model was evaluated.
    pub const EVALUATION: &str = "evaluation";
    /// A model was deployed.
    pub const DEPLOYMENT: &str = "deployment";
    /// Drift was measured or detected.
    pub const DRIFT: &str = "drift";
    /// A compliance check ran.
    pub const COMPLIANCE_CHECK: &str = "compliance_check";
    /// A person or system asked for something.
    pub const USER_REQUEST: &str = "user_request";
    /// Something failed.
    pub const ERROR: &str = "error";
    /// Someone read the audit log.
    pub const ACCESS: &str = "access";
    /// A plain `log_event` call.
    pub const EVENT: &str = "event";
}

/// How serious an event is. The seven standard statuses map onto OpenTelemetry severity numbers;
/// a logger may register custom statuses, and any other status is an error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Status {
    /// Diagnostic detail.
    Debug,
    /// Normal operation (the default).
    Info,
    /// Normal but significant.
    Notice,
    /// Something needs attention (drift, a threshold missed).
    Warning,
    /// An operation failed.
    Error,
    /// A pipeline stage failed.
    Failure,
    /// The system is in danger.
    Critical,
    /// A status a logger registered.
    Custom(Arc<str>),
}

impl Status {
    /// The standard statuses, least severe first.
    pub const STANDARD: [Status; 7] = [
        Status::Debug,
        Status::Info,
        Status::Notice,
        Status::Warning,
        Status::Error,
        Status::Failure,
        Status::Critical,
    ];

    /// The status as written in records.
    pub fn as_str(&self) -> &str {
        match self {
            Status::Debug => "DEBUG",
            Status::Info => "INFO",
            Status::Notice => "NOTICE",
            Status::Warning => "WARNING",
            Status::Error => "ERROR",
            Status::Failure => "FAILURE",
            Status::Critical => "CRITICAL",
            Status::Custom(s) => s,
        }
    }

    /// OpenTelemetry severity number (custom statuses count as INFO).
    pub fn severity_number(&self) -> u8 {
        match self {
            Status::Debug => 5,
            Status::Info | Status::Custom(_) => 9,
            Status::Notice => 10,
            Status::Warning => 13,
            Status::Error => 17,
            Status::Failure => 18,
            Status::Critical => 21,
        }
    }

    /// The OpenTelemetry severity number of a status by name (custom statuses count as INFO).
    pub fn severity_of(name: &str) -> u8 {
        Status::standard(name).map_or(9, |s| s.severity_number())
    }

    /// A standard status by name, any case (`"warning"` is WARNING).
    pub fn standard(name: &str) -> Option<Status> {
        Status::STANDARD
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name))
    }

    /// A standard status, or one of `custom`, by name; otherwise a clear error.
    pub fn parse(name: &str, custom: &[Arc<str>]) -> Result<Status> {
        if let Some(s) = Status::standard(name) {
            return Ok(s);
        }
        if let Some(c) = custom.iter().find(|c| ***c == *name) {
            return Ok(Status::Custom(Arc::clone(c)));
        }
        let mut known: Vec<&str> = Status::STANDARD.iter().map(|s| s.as_str()).collect();
        known.extend(custom.iter().map(|c| &**c));
        Err(Error::UnknownStatus {
            status: name.to_owned(),
            known: known.join(", "),
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who caused the event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// A person's user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// A service or workload identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The client's network address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// The run, trail or trace an event belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// A unique id of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The operation's name (e.g. `train_credit_model`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The model an event is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    /// Model name.
    pub name: String,
    /// Model version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Where the event was recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// Host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Arc<str>>,
    /// Process id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Process (program) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<Arc<str>>,
    /// Source file of the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<Cow<'static, str>>,
    /// Line of the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Function of the call, where the caller knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<Cow<'static, str>>,
}

/// An event before sealing: what a caller hands to the logger.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When it happened, Unix nanoseconds (UTC), if the caller knows better than the log's clock
    /// (events imported or forwarded late). The sealed `time` is always the writer's clock, so
    /// that time order is seq order; this claim is kept beside it as `occurred`.
    pub occurred_ns: Option<i64>,
    /// The event type (`model_inference`, … or any custom string).
    pub kind: Cow<'static, str>,
    /// The human message.
    pub name: String,
    /// The status.
    pub status: Status,
    /// Who caused it.
    pub actor: Option<Actor>,
    /// The data subject it is about.
    pub subject: Option<String>,
    /// The run, trail or trace.
    pub operation: Option<Operation>,
    /// The event this one follows from (lineage), by id.
    pub parent: Option<String>,
    /// The model concerned.
    pub model: Option<ModelRef>,
    /// Regulations this event is kept for (`EU AI Act`, `GDPR`, …).
    pub regulations: Vec<String>,
    /// Free-form details. Always nested under `details`, so they can never overwrite a reserved
    /// field of the record.
    pub details: Map<String, Value>,
    /// Where it was recorded.
    pub source: Source,
    /// Redaction marks, set by the writer's redaction policy before sealing: which fields were
    /// redacted and why (never the original value).
    pub redactions: Vec<Value>,
}

impl Event {
    /// An INFO event of `kind` named `name`, with no details.
    pub fn new(kind: impl Into<Cow<'static, str>>, name: impl Into<String>) -> Self {
        Event {
            occurred_ns: None,
            kind: kind.into(),
            name: name.into(),
            status: Status::Info,
            actor: None,
            subject: None,
            operation: None,
            parent: None,
            model: None,
            regulations: Vec::new(),
            details: Map::new(),
            source: Source::default(),
            redactions: Vec::new(),
        }
    }

    /// Sets the status.
    pub fn status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }

    /// Sets one detail.
    pub fn detail(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }

    /// Replaces the details with a JSON object (anything else is an error).
    pub fn details(mut self, details: Value) -> Result<Self> {
        self.details = details_object(details)?;
        Ok(self)
    }

    /// Sets the acting user.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.actor.get_or_insert_with(Actor::default).user = Some(user.into());
        self
    }

    /// Sets the model.
    pub fn model(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.model = Some(ModelRef {
            name: name.into(),
            version: Some(version.into()),
        });
        self
    }

    /// Sets the operation (run) id and name.
    pub fn operation(mut self, id: impl Into<String>, name: impl Into<String>) -> Self {
        self.operation = Some(Operation {
            id: Some(id.into()),
            name: Some(name.into()),
        });
        self
    }

    /// Sets the data subject.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Checks the event against the schema; sealing checks the details' encodability.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(Error::InvalidEvent(why));
        if self.kind.is_empty() || self.kind.len() > 128 {
            return bad(format!(
                "type must be 1 to 128 bytes, got {}",
                self.kind.len()
            ));
        }
        if let Some(c) = self
            .kind
            .chars()
            .find(|c| c.is_control() || c.is_whitespace())
        {
            return bad(format!("type {:?} contains {c:?}", self.kind));
        }
        if self.name.len() > MAX_NAME_LEN {
            return bad(format!(
                "name is {} bytes, the limit is {MAX_NAME_LEN}",
                self.name.len()
            ));
        }
        if let Some(m) = &self.model
            && m.name.is_empty()
        {
            return bad("model name is empty".into());
        }
        if let Some(p) = &self.parent {
            check_id("parent", p)?;
        }
        if let Some(id) = self.operation.as_ref().and_then(|o| o.id.as_deref()) {
            check_id("operation.id", id)?;
        }
        if let Some(ip) = self.actor.as_ref().and_then(|a| a.ip.as_deref())
            && ip.parse::<std::net::IpAddr>().is_err()
        {
            return bad(format!(
                "actor.ip {ip:?} is not an IP address (IPv4 or IPv6); put other client names in details"
            ));
        }
        Ok(())
    }
}

/// The longest id accepted (`parent`, `operation.id`), in bytes.
pub const MAX_ID_LEN: usize = 256;

/// Checks an identifier an event refers by (`parent`, `operation.id`): 1 to [`MAX_ID_LEN`]
/// visible ASCII characters, none of them a path separator, a quote or an angle bracket, and
/// not starting with a dot. UUIDs, trace and span ids, request ids, `run-42`, `job:7@host` and
/// `sha256:…` pass; `../../etc`, `<script>` and text with spaces do not.
pub fn check_id(field: &str, id: &str) -> Result<()> {
    let bad = |why: String| Err(Error::InvalidEvent(format!("{field} {id:?}: {why}")));
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return bad(format!(
            "an id is 1 to {MAX_ID_LEN} bytes, this one {}",
            id.len()
        ));
    }
    if let Some(c) = id
        .chars()
        .find(|c| !c.is_ascii_graphic() || matches!(c, '/' | '\\' | '"' | '\'' | '<' | '>' | '`'))
    {
        return bad(format!(
            "an id is visible ASCII without / \\ quotes or angle brackets, and this one has {c:?}"
        ));
    }
    if id.starts_with('.') {
        return bad("an id cannot start with a dot".into());
    }
    Ok(())
}

/// The longest `name` accepted, in bytes.
pub const MAX_NAME_LEN: usize = 64 * 1024;

/// Turns a JSON value into a details object: `null` is no details, an object is kept, anything
/// else is an error naming what was given.
pub fn details_object(details: Value) -> Result<Map<String, Value>> {
    match details {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => Ok(m),
        other => Err(Error::InvalidEvent(format!(
            "details must be a JSON object, got {}",
            json_kind(&other)
        ))),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A sealed record as read back from the log. Its RFC 8785 form is the leaf data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Position in the log (the leaf index).
    pub seq: u64,
    /// UUIDv7 of the event.
    pub id: String,
    /// RFC 3339 UTC time with nanoseconds.
    pub time: String,
    /// Event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Human message.
    pub name: String,
    /// When it happened, if the caller claimed a time other than the log's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred: Option<String>,
    /// Status.
    pub status: String,
    /// Who caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    /// Data subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Run, trail or trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    /// Parent event id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Model concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelRef>,
    /// Regulations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regulations: Vec<String>,
    /// Details.
    pub details: Map<String, Value>,
    /// Where it was recorded.
    #[serde(default)]
    pub source: Source,
    /// Redaction marks: which fields were redacted and why (never the original value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redactions: Vec<Value>,
    /// Schema version.
    pub v: u32,
}

impl Record {
    /// Parses leaf data.
    pub fn from_leaf_data(data: &[u8]) -> Result<Record> {
        Ok(serde_json::from_slice(data)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_ids() {
        for good in [
            "0190a5c4-0000-7000-8000-000000000000",
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "req_abc123",
            "run-42",
            "job:7@host",
            "sha256:9f86d081884c7d65",
            "a.b",
        ] {
            check_id("parent", good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "",
            "../../etc",
            "a/b",
            "a\\b",
            "<script>",
            "a b",
            "\"x\"",
            ".hidden",
            "tab\t",
        ] {
            let e = check_id("parent", bad).expect_err(bad);
            assert!(e.to_string().contains("parent"), "{e}");
        }
        check_id("parent", &"a".repeat(MAX_ID_LEN)).expect("at the limit");
        check_id("parent", &"a".repeat(MAX_ID_LEN + 1)).expect_err("past it");
    }

    #[test]
    fn validate_checks_parent_operation_and_ip() {
        let mut e = Event::new("event", "x");
        e.parent = Some("../../etc".into());
        assert!(
            e.validate()
                .expect_err("parent")
                .to_string()
                .contains("parent")
        );
        e.parent = None;
        e.operation = Some(Operation {
            id: Some("a b".into()),
            name: None,
        });
        assert!(
            e.validate()
                .expect_err("op")
                .to_string()
                .contains("operation.id")
        );
        e.operation = None;
        for ip in ["<script>", "10.0.0.256", "localhost", ""] {
            e.actor = Some(Actor {
                ip: Some(ip.into()),
                ..Actor::default()
            });
            let err = e.validate().expect_err(ip).to_string();
            assert!(err.contains("not an IP address"), "{err}");
        }
        for ip in ["10.0.0.1", "::1", "2001:db8::8a2e:370:7334"] {
            e.actor = Some(Actor {
                ip: Some(ip.into()),
                ..Actor::default()
            });
            e.validate().unwrap_or_else(|err| panic!("{ip}: {err}"));
        }
    }
}
