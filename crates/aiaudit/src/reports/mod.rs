//! Compliance reports as typed data ([`aiaudit_core::report`]), computed in one pass over the
//! matching entries (the usage, operations and AI Act reports merge per-bundle summaries where
//! the store keeps them):
//!
//! - [`model_usage`] and [`data_access`]: seed 003's reports, with its keys;
//! - [`usage`]: the model usage report plus events per day, the status mix, a latency
//!   histogram and a version timeline (what the HTML report draws);
//! - [`operations`]: every operation or trail with its events, statuses, duration and
//!   regulations (seed 004's view);
//! - [`integrity`]: verification, the latest signed checkpoint and how to check it offline;
//! - [`ai_act`]: EU AI Act record keeping (Art. 12, 19 and 26);
//! - [`lineage_report`]: where a model version came from and what came of it, proven against
//!   the latest signed checkpoint.
//!
//! A prediction is a `model_inference` event. Its label is `details.output.prediction`, else
//! `details.output.label` (else `null`); its latency is `details.latency_ms`; its request id is
//! `details.request_id`, else the operation id, else the event id. Days are UTC dates.
//! Rendering (Markdown, HTML, languages) is the `aiaudit-report` crate's job.

mod access;
mod ai_act;
mod fold;
mod integrity;
mod lineage;
mod operations;
mod usage;

pub use access::data_access;
pub use ai_act::{AiActOptions, ai_act};
pub use integrity::integrity;
pub use lineage::lineage_report;
pub use operations::operations;
pub use usage::{model_usage, usage};

use aiaudit_core::Query;
use aiaudit_core::report::Report;
use aiaudit_core::store::{HeadActor, HeadModel};
pub(crate) use aiaudit_core::summary::bump;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::reader::LogReader;

/// A report to make, with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Request {
    /// [`usage`] of `model` over the last `days` days.
    Usage {
        /// The model.
        model: String,
        /// Days back from now.
        days: u32,
    },
    /// [`data_access`] of `user` over the last `days` days.
    Access {
        /// The user.
        user: String,
        /// Days back from now.
        days: u32,
    },
    /// [`operations`] since a time (default: all).
    Operations {
        /// Earliest event time, Unix ns.
        since_ns: Option<i64>,
        /// Event rows listed per operation.
        events_per_operation: usize,
    },
    /// [`integrity()`].
    Integrity,
    /// [`ai_act`] since a time (default: the whole log).
    AiAct {
        /// Earliest event time, Unix ns.
        since_ns: Option<i64>,
    },
    /// [`lineage_report`] of a model version.
    Lineage {
        /// The model.
        model: String,
        /// Its version.
        version: String,
    },
}

impl Request {
    /// The report's name (`usage`, `access`, `operations`, `integrity`, `ai-act`, `lineage`).
    pub fn name(&self) -> &'static str {
        match self {
            Request::Usage { .. } => "usage",
            Request::Access { .. } => "access",
            Request::Operations { .. } => "operations",
            Request::Integrity => "integrity",
            Request::AiAct { .. } => "ai-act",
            Request::Lineage { .. } => "lineage",
        }
    }

    /// The lineage report of `NAME@VERSION` (a model version); an error naming what is
    /// missing otherwise.
    pub fn lineage(model_at_version: &str) -> Result<Request> {
        let s = model_at_version.trim();
        let s = s.strip_prefix("model:").unwrap_or(s);
        match s.rsplit_once('@') {
            Some((model, version)) if !model.is_empty() && !version.is_empty() => {
                Ok(Request::Lineage {
                    model: model.to_owned(),
                    version: version.to_owned(),
                })
            }
            _ => Err(Error::NotFound(format!(
                "{model_at_version:?} names no model version: write it as NAME@VERSION (credit-risk@2.3.0)"
            ))),
        }
    }

    /// Makes the report over `reader`'s log as of `now_ns`.
    pub fn make(&self, reader: &LogReader, now_ns: i64) -> Result<Report> {
        Ok(match self {
            Request::Usage { model, days } => Report::Usage(usage(reader, model, *days, now_ns)?),
            Request::Access { user, days } => {
                Report::Access(data_access(reader, user, *days, now_ns)?)
            }
            Request::Operations {
                since_ns,
                events_per_operation,
            } => Report::Operations(operations(reader, *since_ns, *events_per_operation)?),
            Request::Integrity => Report::Integrity(integrity(reader)?),
            Request::AiAct { since_ns } => Report::AiAct(ai_act(
                reader,
                &AiActOptions {
                    since_ns: *since_ns,
                    ..AiActOptions::new(now_ns)
                },
            )?),
            Request::Lineage { model, version } => {
                Report::Lineage(lineage_report(reader, model, version, now_ns)?)
            }
        })
    }
}

pub(crate) const NS_PER_DAY: i64 = 86_400 * 1_000_000_000;

/// The start of a period of `days` days up to `now_ns`.
pub(crate) fn since(days: u32, now_ns: i64) -> i64 {
    now_ns.saturating_sub(i64::from(days).saturating_mul(NS_PER_DAY))
}

/// How many rows a list in a report holds at most; the rest is counted in `*_omitted`.
pub const MAX_ROWS: usize = aiaudit_core::summary::MAX_LISTED;

/// The members of a sealed record that the reports read, borrowed from the leaf data; what
/// only rare events carry stays unparsed JSON text until asked for.
#[derive(Debug, Deserialize)]
pub(crate) struct Head<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub time: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    #[serde(borrow)]
    pub status: Cow<'a, str>,
    #[serde(default, borrow)]
    pub actor: Option<HeadActor<'a>>,
    #[serde(default, borrow)]
    pub model: Option<HeadModel<'a>>,
    #[serde(default, borrow)]
    pub operation: Option<HeadOperation<'a>>,
    #[serde(default, borrow)]
    pub details: HeadDetails<'a>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct HeadOperation<'a> {
    #[serde(default, borrow)]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub name: Option<Cow<'a, str>>,
}

/// The details the reports read, as JSON text; any other member is skipped.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct HeadDetails<'a> {
    #[serde(default, borrow)]
    pub request_id: Option<&'a RawValue>,
}

impl<'a> Head<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Head<'a>> {
        // One UTF-8 check for the whole record, then no check per string.
        let text = std::str::from_utf8(data).map_err(|e| {
            Error::NotFound(format!(
                "a stored record is not UTF-8 ({e}); run `aiaudit verify`"
            ))
        })?;
        serde_json::from_str(text).map_err(|e| {
            Error::NotFound(format!(
                "a stored record is not readable ({e}); run `aiaudit verify`"
            ))
        })
    }

    /// Does the record pass the field filters of `q` that the reports use (type, status,
    /// model, user, operation)? Time and seq bounds are the store's.
    pub fn matches(&self, q: &Query) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| Some(w) == have)
        };
        eq(&q.kind, Some(&self.kind))
            && eq(&q.status, Some(&self.status))
            && eq(&q.model, self.model_name())
            && eq(&q.user, self.user())
            && q.operation.as_deref().is_none_or(|o| {
                self.operation
                    .as_ref()
                    .is_some_and(|op| op.id.as_deref() == Some(o) || op.name.as_deref() == Some(o))
            })
    }

    pub fn user(&self) -> Option<&str> {
        self.actor.as_ref()?.user.as_deref()
    }

    pub fn model_name(&self) -> Option<&str> {
        self.model.as_ref().map(|m| m.name.as_ref())
    }

    /// A detail that names one string.
    pub fn detail_str(raw: Option<&RawValue>) -> Option<Cow<'_, str>> {
        serde_json::from_str(raw?.get()).ok()
    }
}

/// The first [`MAX_ROWS`] items, and how many were left out.
pub(crate) fn capped<T>(items: impl IntoIterator<Item = T>) -> (Vec<T>, usize) {
    let mut kept = Vec::new();
    let mut left = 0;
    for i in items {
        if kept.len() < MAX_ROWS {
            kept.push(i);
        } else {
            left += 1;
        }
    }
    (kept, left)
}

/// Counts of each key, as a JSON object in key order.
pub(crate) fn counts<'a, I: IntoIterator<Item = &'a str>>(items: I) -> BTreeMap<String, u64> {
    let mut m: BTreeMap<String, u64> = BTreeMap::new();
    for i in items {
        bump(&mut m, i);
    }
    m
}

/// The value at quantile `q` of sorted `v`, by the seed's rule: `v[floor(len * q)]`.
pub(crate) fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let i = ((v.len() as f64) * q) as usize;
    v[i.min(v.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_follow_the_seed_rule() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.95), 20.0);
        assert_eq!(quantile(&v, 0.50), 11.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
        assert_eq!(quantile(&[3.0], 0.99), 3.0);
    }

    #[test]
    fn head_reads_request_ids() {
        let data = br#"{"seq":3,"id":"x","time":"2026-11-24T10:00:00.000000000Z","type":"model_inference","name":"n","status":"WARNING","details":{"request_id":"r\u0041","dataset":["a",1,"b"],"other":[1,2]},"v":1}"#;
        let h = Head::parse(data).expect("parses");
        assert_eq!(
            Head::detail_str(h.details.request_id).as_deref(),
            Some("rA")
        );
        assert!(Head::parse(b"{").is_err());
    }
}
