//! What an ingest answers: when (`Wait`) and with what (`IngestReceipt`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// When `POST /v1/events` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Wait {
    /// Once they are committed and fsynced (the default): 201.
    #[default]
    Commit,
    /// Once the events are sealed (seqs and ids assigned), before they are durable: 202, and
    /// lost if the server stops before the commit. An explicit opt-in (`seal` is the same).
    #[serde(alias = "seal")]
    None,
}

/// Where the events of one request went.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IngestReceipt {
    /// Events recorded.
    #[schema(minimum = 1)]
    pub count: usize,
    /// Their seqs, in the order sent (consecutive).
    pub seqs: Vec<u64>,
    /// Their ids (UUIDv7), in the order sent.
    pub ids: Vec<String>,
    /// Whether they were committed before this answer.
    pub committed: bool,
    /// The committed log size, when `committed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub size: Option<u64>,
    /// Present when the events are not durable yet (`wait=none`): what that means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// The warning of a `wait=none` answer.
pub(crate) const NOT_DURABLE: &str = "accepted before commit (wait=none): these events are lost if the server stops before it commits them; wait=commit, the default, answers only once they are durable";
