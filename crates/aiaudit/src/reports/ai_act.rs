//! EU AI Act record keeping: what Art. 12 asks the logs of a high-risk system to record, what
//! Art. 19 and 26(6) ask about keeping them (at least six months), and the human oversight
//! Art. 26 asks deployers to document.

use aiaudit_core::Query;
use aiaudit_core::event::types;
use aiaudit_core::timefmt::{format_rfc3339, parse_sealed_time};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::{Head, MAX_ROWS, NS_PER_DAY, bump, status_order};
use crate::error::{Error, Result};
use crate::reader::LogReader;

/// Days in the six months Art. 19(1) and 26(6) ask logs to be kept for (at least).
pub const SIX_MONTHS_DAYS: i64 = 183;

/// What the AI Act report covers.
#[derive(Debug, Clone)]
pub struct AiActOptions {
    /// Only events since this time (Unix ns); `None` for the whole log.
    pub since_ns: Option<i64>,
    /// The time the report is made (Unix ns).
    pub now_ns: i64,
    /// Predictions of a model further apart than this start a new period of use.
    pub gap_ns: i64,
}

impl AiActOptions {
    /// The whole log, now, with periods of use split at gaps of an hour.
    pub fn new(now_ns: i64) -> Self {
        AiActOptions {
            since_ns: None,
            now_ns,
            gap_ns: 3_600 * 1_000_000_000,
        }
    }
}

struct Period {
    model: String,
    start: String,
    start_ns: i64,
    end: String,
    end_ns: i64,
    predictions: u64,
    versions: BTreeSet<String>,
}

#[derive(Default)]
struct Use {
    first: String,
    last: String,
    count: u64,
    types: BTreeSet<String>,
}

impl Use {
    fn see(&mut self, time: &str, kind: &str) {
        if self.first.is_empty() {
            self.first = time.to_owned();
        }
        self.last = time.to_owned();
        self.count += 1;
        if !self.types.contains(kind) {
            self.types.insert(kind.to_owned());
        }
    }

    fn row(self, key: &str, name: &str, count_key: &str) -> Value {
        json!({key: name, count_key: self.count, "first": self.first, "last": self.last, "types": self.types})
    }
}

#[derive(Default)]
struct ModelUse {
    first: String,
    last: String,
    predictions: u64,
    deployments: Vec<Value>,
    trainings: u64,
    evaluations: u64,
}

/// Strings named by a detail that holds one string or a list of them.
fn names(raw: Option<&RawValue>) -> Vec<String> {
    match super::value(raw) {
        Value::String(s) => vec![s],
        Value::Array(a) => a
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The AI Act record-keeping report:
///
/// - `coverage`: the log's first and last event, the days it covers, and whether it reaches
///   back at least six months (Art. 19(1), 26(6));
/// - `periods_of_use`: per model, each stretch of predictions with no gap over
///   [`AiActOptions::gap_ns`] (Art. 12(3)(a));
/// - `models_in_use`: each model version's first and last prediction, trainings, evaluations
///   and deployments;
/// - `reference_data`: every dataset the pipeline read, transformed or evaluated against
///   (`details.dataset`, `details.inputs`; Art. 12(3)(b));
/// - `verifiers`: the people who verified results: the actors of `evaluation` and
///   `compliance_check` events and anyone named in `details.verified_by` (Art. 12(3)(d), 26(2));
/// - `incidents`: events of WARNING or worse, by status and day, newest rows first
///   (Art. 12(2)(a), 26(5)). The server's own `access` and `admin` records are not incidents of
///   the AI system and are left out.
pub fn ai_act(reader: &LogReader, opts: &AiActOptions) -> Result<Value> {
    let first_ns = match reader.get(0) {
        Ok(e) => Some(e.time_ns),
        Err(Error::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let q = Query {
        since_ns: opts.since_ns,
        ..Query::default()
    };
    let mut periods: Vec<Period> = Vec::new();
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    let mut models: BTreeMap<(String, String), ModelUse> = BTreeMap::new();
    let mut data: BTreeMap<String, Use> = BTreeMap::new();
    let mut verifiers: BTreeMap<String, Use> = BTreeMap::new();
    let mut incidents: VecDeque<Value> = VecDeque::new();
    let mut incident_total = 0u64;
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_day: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut events = 0u64;
    let mut last_time = None::<String>;
    reader.candidates(&q, &mut |e| {
        let h = Head::parse(&e.data)?;
        events += 1;
        last_time = Some(h.time.to_string());
        if h.kind == types::ACCESS || h.kind == "admin" {
            return Ok(true);
        }
        let t = parse_sealed_time(&h.time).unwrap_or(e.time_ns);
        if let Some(model) = h.model_name() {
            let version = h.version().unwrap_or("null");
            let key = (model.to_owned(), version.to_owned());
            let m = models.entry(key).or_default();
            match h.kind.as_ref() {
                types::MODEL_INFERENCE => {
                    if m.first.is_empty() {
                        m.first = h.time.to_string();
                    }
                    m.last = h.time.to_string();
                    m.predictions += 1;
                    let cur = open.get(model).copied().filter(|i| {
                        periods
                            .get(*i)
                            .is_some_and(|p| t.saturating_sub(p.end_ns) <= opts.gap_ns)
                    });
                    match cur {
                        Some(i) => {
                            let p = &mut periods[i];
                            p.end = h.time.to_string();
                            p.end_ns = t;
                            p.predictions += 1;
                            if !p.versions.contains(version) {
                                p.versions.insert(version.to_owned());
                            }
                        }
                        None => {
                            open.insert(model.to_owned(), periods.len());
                            periods.push(Period {
                                model: model.to_owned(),
                                start: h.time.to_string(),
                                start_ns: t,
                                end: h.time.to_string(),
                                end_ns: t,
                                predictions: 1,
                                versions: BTreeSet::from([version.to_owned()]),
                            });
                        }
                    }
                }
                types::DEPLOYMENT if m.deployments.len() < MAX_ROWS => m.deployments.push(json!({
                    "time": h.time,
                    "environment": super::value(h.details.environment),
                    "by": h.user(),
                })),
                types::MODEL_TRAINING => m.trainings += 1,
                types::EVALUATION => m.evaluations += 1,
                _ => {}
            }
        }
        let mut datasets = names(h.details.dataset);
        datasets.extend(names(h.details.inputs));
        for d in datasets {
            data.entry(d).or_default().see(&h.time, &h.kind);
        }
        let mut people = names(h.details.verified_by);
        if h.kind == types::EVALUATION || h.kind == types::COMPLIANCE_CHECK {
            people.extend(h.user().map(str::to_owned));
        }
        for p in people {
            verifiers.entry(p).or_default().see(&h.time, &h.kind);
        }
        if h.is_incident() {
            incident_total += 1;
            bump(&mut by_status, &h.status);
            bump(per_day.entry(h.day().to_owned()).or_default(), &h.status);
            if incidents.len() == MAX_ROWS {
                incidents.pop_front();
            }
            let mut row = h.row();
            row["model"] = json!(h.model_name());
            incidents.push_back(row);
        }
        Ok(true)
    })?;
    let incidents: Vec<Value> = incidents.into_iter().rev().collect();

    let six_months_ago = opts.now_ns.saturating_sub(SIX_MONTHS_DAYS * NS_PER_DAY);
    let coverage = json!({
        "first_event": first_ns.map(format_rfc3339),
        "last_event": last_time,
        "days_covered": first_ns.map(|f| (opts.now_ns - f) / NS_PER_DAY),
        "required_from": format_rfc3339(six_months_ago),
        "covers_six_months": first_ns.is_some_and(|f| f <= six_months_ago),
    });
    let period_total = periods.len();
    let period_omitted = period_total.saturating_sub(MAX_ROWS);
    let period_rows: Vec<Value> = periods
        .into_iter()
        .skip(period_omitted)
        .map(|p| {
            json!({
                "model": p.model,
                "start": p.start,
                "end": p.end,
                "duration_s": (p.end_ns - p.start_ns) as f64 / 1e9,
                "predictions": p.predictions,
                "versions": p.versions,
            })
        })
        .collect();
    let (models_in_use, models_omitted) =
        super::capped(models.into_iter().map(|((model, version), m)| {
            json!({
                "model": model,
                "version": version,
                "first_prediction": (!m.first.is_empty()).then_some(m.first),
                "last_prediction": (!m.last.is_empty()).then_some(m.last),
                "predictions": m.predictions,
                "trainings": m.trainings,
                "evaluations": m.evaluations,
                "deployments": m.deployments,
            })
        }));
    let (reference_data, data_omitted) =
        super::capped(data.into_iter().map(|(k, u)| u.row("dataset", &k, "uses")));
    let (verifier_rows, verifiers_omitted) = super::capped(
        verifiers
            .into_iter()
            .map(|(k, u)| u.row("person", &k, "verifications")),
    );
    let mut status_rows: Vec<(String, u64)> = by_status.into_iter().collect();
    status_rows.sort_by(|a, b| status_order(&a.0, &b.0));
    Ok(json!({
        "generated_at": format_rfc3339(opts.now_ns),
        "since": opts.since_ns.map(format_rfc3339),
        "events": events,
        "coverage": coverage,
        "periods_of_use": {
            "total": period_total,
            "omitted": period_omitted,
            "gap_s": opts.gap_ns / 1_000_000_000,
            "periods": period_rows,
        },
        "models_in_use": models_in_use,
        "models_omitted": models_omitted,
        "reference_data": reference_data,
        "reference_data_omitted": data_omitted,
        "verifiers": verifier_rows,
        "verifiers_omitted": verifiers_omitted,
        "incidents": {
            "total": incident_total,
            "by_status": Value::Object(status_rows.into_iter().map(|(k, n)| (k, json!(n))).collect()),
            "per_day": per_day.into_iter().map(|(day, s)| {
                let total: u64 = s.values().sum();
                json!({"day": day, "total": total, "statuses": s})
            }).collect::<Vec<_>>(),
            "omitted": incident_total.saturating_sub(MAX_ROWS as u64),
            "events": incidents,
        },
    }))
}
