//! A user's data access: seed 003's report (GDPR Art. 15).

use aiaudit_core::Query;
use aiaudit_core::event::types;
use aiaudit_core::report::{AccessReport, AccessRow};

use super::{Head, counts, since};
use crate::error::Result;
use crate::reader::LogReader;

/// Seed 003's `data_access_report`: every prediction requested by `user` in the last `days`
/// days, with the models used and each request's id, time and model (GDPR Art. 15).
pub fn data_access(reader: &LogReader, user: &str, days: u32, now_ns: i64) -> Result<AccessReport> {
    let q = Query {
        user: Some(user.to_owned()),
        kind: Some(types::MODEL_INFERENCE.to_owned()),
        since_ns: Some(since(days, now_ns)),
        ..Query::default()
    };
    let mut requests = Vec::new();
    let mut models = Vec::new();
    reader.candidates(&q, &mut |e| {
        let h = Head::parse(&e.data)?;
        if !h.matches(&q) {
            return Ok(true);
        }
        let model = h.model_name().unwrap_or("null").to_owned();
        let request_id = Head::detail_str(h.details.request_id)
            .map(|s| s.into_owned())
            .or(h
                .operation
                .as_ref()
                .and_then(|o| o.id.as_deref().map(str::to_owned)))
            .unwrap_or_else(|| h.id.to_string());
        models.push(model.clone());
        requests.push(AccessRow {
            request_id,
            timestamp: h.time.into_owned(),
            model,
        });
        Ok(true)
    })?;
    Ok(AccessReport {
        user_id: user.to_owned(),
        period_days: days,
        total_requests: requests.len() as u64,
        models_used: counts(models.iter().map(String::as_str)),
        requests,
    })
}
