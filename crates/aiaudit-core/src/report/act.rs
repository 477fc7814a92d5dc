//! The EU AI Act record-keeping report.

use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What Art. 12 asks the logs of a high-risk system to record, whether they are kept long
/// enough (Art. 19, 26(6)), and who verified results (Art. 26).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AiActReport {
    /// When the report was made.
    pub generated_at: String,
    /// The period's start, if any.
    pub since: Option<String>,
    /// Events in the period.
    pub events: u64,
    /// How far back the log reaches.
    pub coverage: Coverage,
    /// Art. 12(3)(a): each stretch of predictions of a model.
    pub periods_of_use: PeriodsOfUse,
    /// Each model version in use.
    pub models_in_use: Vec<ModelInUse>,
    /// Versions not listed.
    pub models_omitted: u64,
    /// Art. 12(3)(b): datasets the pipeline read, transformed or evaluated against.
    pub reference_data: Vec<DatasetUse>,
    /// Datasets not listed.
    pub reference_data_omitted: u64,
    /// Art. 12(3)(d), 26(2): people who verified results.
    pub verifiers: Vec<VerifierUse>,
    /// People not listed.
    pub verifiers_omitted: u64,
    /// Art. 12(2)(a), 26(5): events of WARNING or worse.
    pub incidents: Incidents,
}

/// How far back the log reaches, against the six months Art. 19(1) and 26(6) ask for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// The log's first event.
    pub first_event: Option<String>,
    /// The period's last event.
    pub last_event: Option<String>,
    /// Days from the first event to when the report was made.
    pub days_covered: Option<i64>,
    /// Six months before the report.
    pub required_from: String,
    /// Whether the first event is at least that old.
    pub covers_six_months: bool,
}

/// Stretches of predictions with no gap longer than `gap_s`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodsOfUse {
    /// All of them.
    pub total: u64,
    /// The older ones not listed.
    pub omitted: u64,
    /// The gap that starts a new period, s.
    pub gap_s: i64,
    /// The newest.
    pub periods: Vec<PeriodRow>,
}

/// One period of use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodRow {
    /// The model.
    pub model: String,
    /// First prediction's sealed time.
    pub start: String,
    /// Last prediction's sealed time.
    pub end: String,
    /// Seconds from start to end.
    pub duration_s: f64,
    /// Predictions.
    pub predictions: u64,
    /// Versions used.
    pub versions: BTreeSet<String>,
}

/// A model version in use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInUse {
    /// The model.
    pub model: String,
    /// The version.
    pub version: String,
    /// First prediction's sealed time.
    pub first_prediction: Option<String>,
    /// Last prediction's sealed time.
    pub last_prediction: Option<String>,
    /// Predictions.
    pub predictions: u64,
    /// `model_training` events.
    pub trainings: u64,
    /// `model_evaluation` events.
    pub evaluations: u64,
    /// `model_deployment` events.
    pub deployments: Vec<DeploymentRow>,
}

/// A deployment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeploymentRow {
    /// Sealed time.
    pub time: String,
    /// `details.environment` as recorded.
    pub environment: Value,
    /// `actor.user`.
    pub by: Option<String>,
}

/// A dataset the pipeline used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetUse {
    /// The dataset.
    pub dataset: String,
    /// Events naming it.
    pub uses: u64,
    /// First of those.
    pub first: String,
    /// Last of those.
    pub last: String,
    /// Their types.
    pub types: BTreeSet<String>,
}

/// A person who verified results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifierUse {
    /// The person.
    pub person: String,
    /// Verifications.
    pub verifications: u64,
    /// First of those.
    pub first: String,
    /// Last of those.
    pub last: String,
    /// Their event types.
    pub types: BTreeSet<String>,
}

/// Events of WARNING or worse (the server's own `access` and `admin` records left out).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incidents {
    /// All of them.
    pub total: u64,
    /// By status.
    pub by_status: BTreeMap<String, u64>,
    /// By UTC day.
    pub per_day: Vec<DayIncidents>,
    /// The older ones not listed.
    pub omitted: u64,
    /// The newest, newest first.
    pub events: Vec<IncidentRow>,
}

/// Incidents of one UTC day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayIncidents {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// All of them.
    pub total: u64,
    /// By status.
    pub statuses: BTreeMap<String, u64>,
}

/// One incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentRow {
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
    /// The model, if any.
    pub model: Option<String>,
}
