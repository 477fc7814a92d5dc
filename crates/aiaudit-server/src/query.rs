//! Query strings from outside: decoded strictly (a percent-escape that does not decode to
//! UTF-8 is refused, not replaced), a parameter given twice refused, and the filters of
//! `GET /v1/events` turned into a store query with each bad value named. Public for the fuzz
//! target.
//!
//! ```
//! use aiaudit_server::query::{EventFilter, parse};
//!
//! let f: EventFilter = parse(Some("type=model_inference&since=7d&limit=5"))?;
//! assert_eq!(f.kind.as_deref(), Some("model_inference"));
//! let e = parse::<EventFilter>(Some("type=%ff%fe")).expect_err("not UTF-8");
//! assert_eq!(e.status.as_u16(), 400);
//! # Ok::<(), aiaudit_server::ApiError>(())
//! ```

use aiaudit::Query;
use aiaudit_core::timefmt::{DayEdge, now_ns, parse_bound};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// Parses a query string (without the `?`) into `T`: every name and value must decode to
/// UTF-8, and `T`'s own rules apply (unknown or repeated parameters, types).
pub fn parse<T: serde::de::DeserializeOwned>(raw: Option<&str>) -> Result<T, ApiError> {
    let raw = raw.unwrap_or("");
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = |part: &str| {
            let spaced = part.replace('+', " ");
            percent_encoding::percent_decode_str(&spaced)
                .decode_utf8()
                .map(|_| ())
        };
        if decoded(name).is_err() {
            return Err(ApiError::parameter(format!(
                "query parameter name {name:?} does not decode to UTF-8"
            )));
        }
        if decoded(value).is_err() {
            return Err(ApiError::parameter(format!(
                "query parameter {name:?}: its value {value:?} does not decode to UTF-8"
            )));
        }
    }
    serde_urlencoded::from_str(raw)
        .map_err(|e| ApiError::parameter(format!("the query string: {e}")))
}

/// Filters of `GET /v1/events` (the same as `aiaudit query`).
#[derive(Debug, Default, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventFilter {
    /// Event type (`access` needs the audit role).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// Status (any case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Acting user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Operation id or name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Data subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// SHA-256 of an input's canonical JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_hash: Option<String>,
    /// An artifact the events read: `kind:name[@version]`, `name@version` (a model version) or
    /// a dataset's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<String>,
    /// An artifact the events made, written as for `uses`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub makes: Option<String>,
    /// `false`: leave out the `access` events of the caller's own reads (the dashboard's
    /// default, so that reading does not fill the list it reads). Default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_access: Option<bool>,
    /// From: RFC 3339, a date, or an age (`7d`, `12h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Until: RFC 3339, a date (its end), or an age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Most events in the answer (default 100; at most the server's page limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
    /// Continue after this cursor (a previous answer's `next_cursor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// `asc` (oldest first, the default) or `desc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
}

/// Result order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Oldest first.
    Asc,
    /// Newest first.
    Desc,
}

pub(crate) fn page_size(limit: Option<u32>, max: usize) -> Result<usize, ApiError> {
    match limit {
        None => Ok(100.min(max)),
        Some(0) => Err(ApiError::parameter("limit must be at least 1")),
        Some(n) => Ok((n as usize).min(max)),
    }
}

/// The store query for `f`, asking one more than `page` so that the answer knows if more
/// follow.
pub(crate) fn to_query(f: &EventFilter, page: usize) -> Result<Query, ApiError> {
    let now = now_ns();
    let bound = |name: &str, v: &Option<String>, edge| {
        v.as_deref()
            .map(|s| parse_bound(s, edge, now))
            .transpose()
            .map_err(|e| ApiError::parameter(format!("{name}: {e}")))
    };
    let after_seq = match &f.cursor {
        None => None,
        Some(c) => Some(c.parse::<u64>().map_err(|_| {
            ApiError::parameter(format!("cursor {c:?} is not one this server gave"))
        })?),
    };
    Ok(Query {
        kind: f.kind.clone(),
        status: f.status.as_ref().map(|s| s.to_ascii_uppercase()),
        model: f.model.clone(),
        user: f.user.clone(),
        operation: f.operation.clone(),
        subject: f.subject.clone(),
        input_hash: f.input_hash.clone(),
        ingest_id: None,
        uses: artifact_key("uses", &f.uses)?,
        makes: artifact_key("makes", &f.makes)?,
        since_ns: bound("since", &f.since, DayEdge::Start)?,
        until_ns: bound("until", &f.until, DayEdge::End)?,
        after_seq,
        before_seq: None,
        descending: f.order == Some(Order::Desc),
        limit: page + 1,
    })
}

/// The index key of an artifact parameter.
fn artifact_key(name: &str, v: &Option<String>) -> Result<Option<String>, ApiError> {
    v.as_deref()
        .map(|a| {
            aiaudit_core::lineage::Artifact::parse(a)
                .map(|a| a.key())
                .ok_or_else(|| ApiError::parameter(format!("{name} {a:?} names no artifact")))
        })
        .transpose()
}

/// The store query of a `GET /v1/events` query string, for a page of at most `max_page`
/// (what the route runs, without the reading).
pub fn events(raw: Option<&str>, max_page: usize) -> Result<Query, ApiError> {
    let f: EventFilter = parse(raw)?;
    let page = page_size(f.limit, max_page)?;
    to_query(&f, page)
}
