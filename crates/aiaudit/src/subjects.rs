//! Data subjects: access (GDPR Art. 15) and erasure by crypto-shredding (Art. 17).
//!
//! Erasure destroys the subject's key in the subject key file and records the erasure as an
//! event; the log is not touched, so `verify` and every proof still pass, and the subject's
//! encrypted fields read as `[ERASED]` from then on.

use aiaudit_core::redact::reveal;
use aiaudit_core::{Event, Query, Record};
use aiaudit_sqlite::SubjectKeyFile;
use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::error::Result;
use crate::logger::AuditLogger;
use crate::reader::LogReader;

/// Every event about `subject`, oldest first, with its encrypted fields decrypted where the
/// subject's key still exists (`[ERASED]` where it does not), and a summary: event types,
/// purposes, models and users involved, first and last time, and the encrypted fields' state.
pub fn subject_access(
    reader: &LogReader,
    keys: Option<&SubjectKeyFile>,
    subject: &str,
) -> Result<Value> {
    let entries = reader.query(&Query {
        subject: Some(subject.to_owned()),
        ..Query::default()
    })?;
    let key = match keys {
        Some(k) => k.get(subject)?,
        None => None,
    };
    let (mut decrypted, mut erased) = (0usize, 0usize);
    let mut types: BTreeMap<String, u64> = BTreeMap::new();
    let mut purposes: BTreeMap<String, u64> = BTreeMap::new();
    let mut models: BTreeMap<String, u64> = BTreeMap::new();
    let mut users: BTreeMap<String, u64> = BTreeMap::new();
    let mut events = Vec::with_capacity(entries.len());
    let mut erasures = Vec::new();
    for e in &entries {
        let mut r = Record::from_leaf_data(&e.data)?;
        let (d, x) = reveal(&mut r.name, &mut r.details, subject, key.as_ref());
        decrypted += d;
        erased += x;
        *types.entry(r.kind.clone()).or_default() += 1;
        if r.kind == ERASURE_TYPE {
            erasures.push(r.time.clone());
        }
        if let Some(p) = r.details.get("purpose").and_then(Value::as_str) {
            *purposes.entry(p.to_owned()).or_default() += 1;
        }
        if let Some(m) = &r.model {
            let name = match &m.version {
                Some(v) => format!("{} {v}", m.name),
                None => m.name.clone(),
            };
            *models.entry(name).or_default() += 1;
        }
        if let Some(u) = r.actor.as_ref().and_then(|a| a.user.clone()) {
            *users.entry(u).or_default() += 1;
        }
        events.push(serde_json::to_value(&r).map_err(aiaudit_core::Error::from)?);
    }
    Ok(json!({
        "subject": subject,
        "events": events,
        "summary": {
            "count": entries.len(),
            "first": entries.first().map(|e| aiaudit_core::timefmt::format_rfc3339(e.time_ns)),
            "last": entries.last().map(|e| aiaudit_core::timefmt::format_rfc3339(e.time_ns)),
            "types": types,
            "purposes": purposes,
            "models": models,
            "users": users,
            "encrypted_fields": {"decrypted": decrypted, "erased": erased},
            "key": if key.is_some() { "present" } else if erasures.is_empty() { "none" } else { "destroyed" },
            "erasures": erasures,
        },
    }))
}

/// The event type of an erasure.
pub const ERASURE_TYPE: &str = "erasure";

/// Erases `subject`: destroys its key through the writer (after every event queued before it
/// is sealed), then records the erasure (type `erasure`, the subject, whether a key existed,
/// the events concerned and the reason). Returns whether a key existed and the erasure's seq.
/// The subject's id is kept only in the event's `subject` field.
pub fn forget(log: &AuditLogger, subject: &str, reason: Option<&str>) -> Result<(bool, u64)> {
    log.flush()?;
    let events = log
        .reader()?
        .query(&Query {
            subject: Some(subject.to_owned()),
            ..Query::default()
        })?
        .len();
    let mut e = Event::new(ERASURE_TYPE, "Data subject erased (crypto-shredding)")
        .subject(subject)
        .detail("events_concerned", events as u64);
    if let Some(r) = reason {
        e = e.detail("reason", r);
    }
    let seq = log.forget(e)?;
    let record = Record::from_leaf_data(&log.reader()?.get(seq)?.data)?;
    let existed = record.details.get("key_destroyed") == Some(&Value::Bool(true));
    Ok((existed, seq))
}
