//! EU AI Act record keeping: what Art. 12 asks the logs of a high-risk system to record, what
//! Art. 19 and 26(6) ask about keeping them (at least six months), and the human oversight
//! Art. 26 asks deployers to document.

use aiaudit_core::report::{
    AiActReport, Coverage, DatasetUse, DayIncidents, DeploymentRow, IncidentRow, Incidents,
    ModelInUse, PeriodRow, PeriodsOfUse, VerifierUse,
};
use aiaudit_core::summary::Act;
use aiaudit_core::timefmt::format_rfc3339;

use super::fold::{Part, Plan, first_since, fold, records_at};
use super::{Head, MAX_ROWS, NS_PER_DAY};
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
///
/// The period starts at the first entry at or after `since_ns`. Whole bundles are read from
/// their stored summaries (at a gap of at least [`SEGMENT_GAP_NS`]), records only at the
/// period's start, after the last full bundle, and for the listed incidents.
///
/// [`SEGMENT_GAP_NS`]: aiaudit_core::summary::SEGMENT_GAP_NS
pub fn ai_act(reader: &LogReader, opts: &AiActOptions) -> Result<AiActReport> {
    ai_act_on(reader, opts, &Plan::new())
}

pub(super) fn ai_act_on(
    reader: &LogReader,
    opts: &AiActOptions,
    plan: &Plan,
) -> Result<AiActReport> {
    let first_ns = match reader.get(0) {
        Ok(e) => Some(e.time_ns),
        Err(Error::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let lo = first_since(reader, opts.since_ns)?;
    let mut act = Act::default();
    let mut events = 0;
    let mut last_time = None::<String>;
    if let Some(lo) = lo {
        let part = Part::Act {
            gap_ns: opts.gap_ns,
        };
        let size = fold(reader, lo, part, plan, &mut |s| {
            act.merge(&s.act, opts.gap_ns);
            Ok(())
        })?;
        events = size.saturating_sub(lo);
        if size > lo {
            let last = reader.get(size - 1)?;
            last_time = Some(Head::parse(&last.data)?.time.to_string());
        }
    }
    let Act {
        segments: _,
        versions,
        datasets,
        verifiers,
        incidents,
    } = &act;
    let mut incident_rows = Vec::with_capacity(incidents.seqs.len());
    records_at(reader, &incidents.seqs, &mut |h| {
        incident_rows.push(IncidentRow {
            seq: h.seq,
            time: h.time.to_string(),
            kind: h.kind.to_string(),
            status: h.status.to_string(),
            name: h.name.to_string(),
            model: h.model_name().map(str::to_owned),
        });
        Ok(())
    })?;
    incident_rows.reverse();

    let six_months_ago = opts.now_ns.saturating_sub(SIX_MONTHS_DAYS * NS_PER_DAY);
    let coverage = Coverage {
        first_event: first_ns.map(format_rfc3339),
        last_event: last_time,
        days_covered: first_ns.map(|f| (opts.now_ns - f) / NS_PER_DAY),
        required_from: format_rfc3339(six_months_ago),
        covers_six_months: first_ns.is_some_and(|f| f <= six_months_ago),
    };
    let periods = act.periods(opts.gap_ns);
    let period_total = periods.len();
    let period_omitted = period_total.saturating_sub(MAX_ROWS);
    let period_rows = periods
        .into_iter()
        .skip(period_omitted)
        .map(|(model, p)| PeriodRow {
            model,
            duration_s: (p.end_ns - p.start_ns) as f64 / 1e9,
            start: p.start,
            end: p.end,
            predictions: p.predictions,
            versions: p.versions,
        })
        .collect();
    let (models_in_use, models_omitted) = super::capped(versions.iter().flat_map(|(model, vs)| {
        vs.iter().map(move |(version, m)| ModelInUse {
            model: model.clone(),
            version: version.clone(),
            first_prediction: m.first.clone(),
            last_prediction: m.last.clone(),
            predictions: m.predictions,
            trainings: m.trainings,
            evaluations: m.evaluations,
            deployments: m
                .deployments
                .iter()
                .map(|d| DeploymentRow {
                    time: d.time.clone(),
                    environment: d.environment.clone(),
                    by: d.by.clone(),
                })
                .collect(),
        })
    }));
    let (reference_data, data_omitted) = super::capped(datasets.iter().map(|(k, u)| DatasetUse {
        dataset: k.clone(),
        uses: u.count,
        first: u.first.clone(),
        last: u.last.clone(),
        types: u.types.clone(),
    }));
    let (verifier_rows, verifiers_omitted) =
        super::capped(verifiers.iter().map(|(k, u)| VerifierUse {
            person: k.clone(),
            verifications: u.count,
            first: u.first.clone(),
            last: u.last.clone(),
            types: u.types.clone(),
        }));
    Ok(AiActReport {
        generated_at: format_rfc3339(opts.now_ns),
        since: opts.since_ns.map(format_rfc3339),
        events,
        coverage,
        periods_of_use: PeriodsOfUse {
            total: period_total as u64,
            omitted: period_omitted as u64,
            gap_s: opts.gap_ns / 1_000_000_000,
            periods: period_rows,
        },
        models_in_use,
        models_omitted: models_omitted as u64,
        reference_data,
        reference_data_omitted: data_omitted as u64,
        verifiers: verifier_rows,
        verifiers_omitted: verifiers_omitted as u64,
        incidents: Incidents {
            total: incidents.total,
            by_status: incidents.by_status.clone(),
            per_day: incidents
                .per_day
                .iter()
                .map(|(day, s)| DayIncidents {
                    day: day.clone(),
                    total: s.values().sum(),
                    statuses: s.clone(),
                })
                .collect(),
            omitted: incidents.total.saturating_sub(MAX_ROWS as u64),
            events: incident_rows,
        },
    })
}
