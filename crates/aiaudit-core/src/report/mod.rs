//! The data of aiaudit's compliance reports, typed: what `aiaudit::reports` computes and what
//! the renderers of `aiaudit-report` draw, one struct per report. Their JSON form (serde) is the
//! one `aiaudit report --format json`, `GET /v1/reports/…` and the Python API give; its members
//! are listed in docs/format.md §7.
//!
//! ```
//! use aiaudit_core::report::{Report, AccessReport, AccessRow};
//! use std::collections::BTreeMap;
//!
//! let report = Report::Access(AccessReport {
//!     user_id: "u-1".into(),
//!     period_days: 30,
//!     total_requests: 1,
//!     models_used: BTreeMap::from([("credit-risk".to_owned(), 1)]),
//!     requests: vec![AccessRow {
//!         request_id: "r-1".into(),
//!         timestamp: "2026-11-24T09:30:00.000000000Z".into(),
//!         model: "credit-risk".into(),
//!     }],
//! });
//! assert_eq!(report.name(), "access");
//! assert_eq!(report.records(), 1);
//! let json = serde_json::to_value(&report)?;
//! assert_eq!(json["requests"][0]["request_id"], "r-1");
//! # Ok::<(), serde_json::Error>(())
//! ```

mod act;
mod lineage;
mod trail;
mod usage;

pub use act::{
    AiActReport, Coverage, DatasetUse, DayIncidents, DeploymentRow, IncidentRow, Incidents,
    ModelInUse, PeriodRow, PeriodsOfUse, VerifierUse,
};
pub use lineage::{
    LineageArtifact, LineageEdge, LineageEvidence, LineageGraph, LineageNode, LineageReport,
    LineageRun, PredictionUse,
};
pub use trail::{
    AccessReport, AccessRow, CheckOffline, CheckpointInfo, EventRow, IntegrityReport, OperationRow,
    OperationsReport,
};
pub use usage::{DayStatuses, Histogram, HistogramBucket, LatencyStats, UsageReport, VersionSpan};

use serde::Serialize;

/// A made report: one of the kinds, with its data. Serializes as the report's own object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Report {
    /// A model's usage.
    Usage(UsageReport),
    /// A user's data access (GDPR Art. 15).
    Access(AccessReport),
    /// Operations and audit trails.
    Operations(OperationsReport),
    /// Verification and checkpoints.
    Integrity(IntegrityReport),
    /// EU AI Act record keeping.
    AiAct(AiActReport),
    /// A model version's lineage.
    Lineage(LineageReport),
}

impl Report {
    /// The report's name on the command line and in URLs (`usage`, …, `ai-act`, `lineage`).
    pub fn name(&self) -> &'static str {
        match self {
            Report::Usage(_) => "usage",
            Report::Access(_) => "access",
            Report::Operations(_) => "operations",
            Report::Integrity(_) => "integrity",
            Report::AiAct(_) => "ai-act",
            Report::Lineage(_) => "lineage",
        }
    }

    /// How many records the report drew on (for the access log of whoever asked).
    pub fn records(&self) -> u64 {
        match self {
            Report::Usage(r) => r.total_events,
            Report::Access(r) => r.total_requests,
            Report::Operations(r) => r.total_operations,
            Report::Integrity(r) => r.entries,
            Report::AiAct(r) => r.events,
            Report::Lineage(r) => r.runs.len() as u64 + r.predictions.total,
        }
    }

    /// The period's start, for the reports that have one.
    pub fn since(&self) -> Option<&str> {
        match self {
            Report::Operations(r) => r.since.as_deref(),
            Report::AiAct(r) => r.since.as_deref(),
            _ => None,
        }
    }
}
