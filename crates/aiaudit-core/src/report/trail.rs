//! The data access, operations and integrity reports.

use serde::Serialize;
use std::collections::BTreeMap;

/// Every prediction a user requested over a period (seed 003's `data_access_report`, GDPR
/// Art. 15).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessReport {
    /// The user.
    pub user_id: String,
    /// Days back from when the report was made.
    pub period_days: u32,
    /// Requests listed.
    pub total_requests: u64,
    /// Requests per model.
    pub models_used: BTreeMap<String, u64>,
    /// Each request.
    pub requests: Vec<AccessRow>,
}

/// One request of an [`AccessReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessRow {
    /// `details.request_id`, else the operation id, else the event id.
    pub request_id: String,
    /// Sealed time.
    pub timestamp: String,
    /// The model (`null` as text when the event names none).
    pub model: String,
}

/// Every operation or trail since a time, oldest first (seed 004's view).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationsReport {
    /// The period's start, if any.
    pub since: Option<String>,
    /// Operations with an event in the period.
    pub total_operations: u64,
    /// Events in the period without an operation.
    pub events_without_operation: u64,
    /// Older operations not listed.
    pub operations_omitted: u64,
    /// The newest operations.
    pub operations: Vec<OperationRow>,
}

/// One operation of an [`OperationsReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationRow {
    /// Operation id.
    pub id: Option<String>,
    /// Its names, joined by `, `.
    pub name: String,
    /// `open`, or the status its trail was closed with.
    pub state: String,
    /// First event's sealed time.
    pub first: String,
    /// Last event's sealed time.
    pub last: String,
    /// Seconds from first to last.
    pub duration_s: Option<f64>,
    /// Its events.
    pub events: u64,
    /// The most severe status among them.
    pub worst_status: Option<String>,
    /// Regulations its events name.
    pub regulations: Vec<String>,
    /// Events by type.
    pub types: BTreeMap<String, u64>,
    /// Events by status.
    pub statuses: BTreeMap<String, u64>,
    /// Its first events.
    pub event_rows: Vec<EventRow>,
    /// Events not listed in `event_rows`.
    pub event_rows_omitted: u64,
}

/// An event as a report row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRow {
    /// Seq.
    pub seq: u64,
    /// Sealed time.
    pub time: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Status.
    pub status: String,
    /// Name.
    pub name: String,
}

/// A full verification, the latest signed checkpoint, and how to check the log offline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntegrityReport {
    /// Whether verification found nothing wrong.
    pub intact: bool,
    /// Entries verified.
    pub entries: u64,
    /// Signed checkpoints checked.
    pub checkpoints_checked: u64,
    /// The first entry found bad.
    pub first_bad_seq: Option<u64>,
    /// What was found.
    pub findings: Vec<String>,
    /// The log's origin.
    pub origin: String,
    /// Its verifier key.
    pub verifier_key: String,
    /// The latest signed checkpoint.
    pub latest_checkpoint: Option<CheckpointInfo>,
    /// The commands an auditor runs.
    pub check_offline: CheckOffline,
}

/// A signed checkpoint as a report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckpointInfo {
    /// Tree size.
    pub size: u64,
    /// Signing time (RFC 3339).
    pub signed_at: String,
    /// The signed note.
    pub note: String,
}

/// The commands that check a log offline, by what they check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckOffline {
    /// That the log still extends a kept checkpoint.
    pub extends: String,
    /// That one entry is in the log.
    pub entry: String,
}
