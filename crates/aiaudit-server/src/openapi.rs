//! The OpenAPI document: its metadata, the bearer security scheme, and the schemas of the
//! records the API returns (the sealed record as `docs/format.md` defines it).

use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The API's top-level description; the routes add themselves (see `routes::app`).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "aiaudit",
        description = "The tamper-evident audit log for AI pipelines: ingest events, query them, \
            prove and verify. Every route but health and metrics needs `Authorization: Bearer \
            <token>`; every read is itself recorded as an `access` event.",
        license(name = "Apache-2.0")
    ),
    modifiers(&Bearer),
    components(schemas(
        crate::error::ErrorBody,
        crate::error::ErrorDetail,
        SealedRecord,
        crate::query::Order,
        crate::ingest::receipt::Wait,
        crate::auth::Role
    )),
    tags(
        (name = "events", description = "Ingest and query"),
        (name = "otlp", description = "OpenTelemetry (OTLP/HTTP) traces and logs"),
        (name = "proofs", description = "Checkpoints, proofs and verification"),
        (name = "admin", description = "Tokens and erasure"),
        (name = "operations", description = "Health, readiness, metrics")
    )
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// A sealed record exactly as the log hashed it (RFC 8785 JSON; its SHA-256 with a 0x00
/// prefix is the leaf hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct SealedRecord {
    /// Position in the log.
    #[schema(minimum = 0)]
    pub seq: u64,
    /// UUIDv7.
    pub id: String,
    /// The log's time (RFC 3339 UTC, ns).
    pub time: String,
    /// Event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The human message.
    pub name: String,
    /// The time the sender claimed, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occurred: Option<String>,
    /// Status.
    pub status: String,
    /// Who caused it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub actor: Option<serde_json::Value>,
    /// Data subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Run, trail or trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub operation: Option<serde_json::Value>,
    /// Parent event id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Model.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub model: Option<serde_json::Value>,
    /// Regulations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regulations: Option<Vec<String>>,
    /// Details.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// Where it was recorded.
    #[schema(value_type = Object)]
    pub source: serde_json::Value,
    /// Redaction marks.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub redactions: Option<Vec<serde_json::Value>>,
    /// Schema version.
    #[schema(minimum = 1)]
    pub v: u32,
}
