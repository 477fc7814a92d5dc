//! `GET /v1/reports/{kind}`: the compliance reports for the `read` role (`integrity`: `audit`), as JSON, Markdown or
//! a self-contained HTML page, each an audited read.

use aiaudit::reports::Request;
use aiaudit_core::timefmt::{DayEdge, now_ns, parse_bound};
use aiaudit_report::{Context, Lang};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::IntoParams;

use super::caller::Authenticated;
use super::{P, Q};
use crate::access;
use crate::auth::Role;
use crate::error::ApiError;
use crate::state::AppState;

/// Parameters of a report.
#[derive(Debug, Default, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// The model (usage report), or the model version as `NAME@VERSION` (lineage report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The user (access report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The period, in days back from now (usage: default 30; access: default 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 36500)]
    pub days: Option<u32>,
    /// Only events since this time: RFC 3339, a date, or an age such as `7d` (operations,
    /// ai-act).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Events listed per operation (operations; default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 0, maximum = 1000)]
    pub events: Option<usize>,
    /// `json` (default), `md`, or `html` (one page with inline CSS and SVG charts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(pattern = "^(json|md|html)$")]
    pub format: Option<String>,
    /// Language of md and html: `en` (default), `de` or `fr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// Most event rows per operation a report lists.
const MAX_EVENTS: usize = 1_000;

fn request(kind: &str, p: &ReportParams, now: i64) -> Result<Request, ApiError> {
    let need = |v: &Option<String>, name: &str| {
        v.clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::parameter(format!("the {kind} report needs {name}=")))
    };
    let days = |default: u32| {
        let d = p.days.unwrap_or(default);
        if (1..=36_500).contains(&d) {
            Ok(d)
        } else {
            Err(ApiError::parameter("days must be between 1 and 36500"))
        }
    };
    let since = || {
        p.since
            .as_deref()
            .map(|s| parse_bound(s, DayEdge::Start, now))
            .transpose()
            .map_err(|e| ApiError::parameter(format!("since: {e}")))
    };
    Ok(match kind {
        "usage" => Request::Usage {
            model: need(&p.model, "model")?,
            days: days(30)?,
        },
        "access" => Request::Access {
            user: need(&p.user, "user")?,
            days: days(90)?,
        },
        "operations" => {
            let events = p.events.unwrap_or(100);
            if events > MAX_EVENTS {
                return Err(ApiError::parameter(format!(
                    "events must be at most {MAX_EVENTS}"
                )));
            }
            Request::Operations {
                since_ns: since()?,
                events_per_operation: events,
            }
        }
        "integrity" => Request::Integrity,
        "ai-act" => Request::AiAct { since_ns: since()? },
        "lineage" => Request::lineage(&need(&p.model, "model=NAME@VERSION")?)
            .map_err(|e| ApiError::parameter(format!("model: {e}")))?,
        other => {
            return Err(ApiError::not_found(format!(
                "no report {other:?}: use usage, access, operations, integrity, ai-act or lineage"
            )));
        }
    })
}

/// A report: `usage` (`model`, `days`): seed 003's model usage report with events per day,
/// status mix, latency histogram and version timeline; `access` (`user`, `days`): a user's
/// data access (GDPR Art. 15); `operations` (`since`, `events`): every operation or trail;
/// `integrity` (role `audit`): the verification result, the latest signed checkpoint and how to
/// check it offline; `ai-act` (`since`): EU AI Act record keeping (Art. 12, 19, 26); `lineage`
/// (`model=NAME@VERSION`): a model version's lineage, proven against the latest checkpoint.
#[utoipa::path(
    get,
    path = "/v1/reports/{kind}",
    tag = "events",
    params(("kind" = String, Path, description = "usage, access, operations, integrity, ai-act or lineage"), ReportParams),
    responses(
        (status = 200, description = "The report: JSON, or text/markdown or text/html by `format`", body = Object),
        (status = 400, description = "A missing or bad parameter", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "The token's role may not read", body = crate::error::ErrorBody),
        (status = 404, description = "No such report", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn report(
    State(state): State<AppState>,
    auth: Authenticated,
    P(kind): P<String>,
    Q(params): Q<ReportParams>,
) -> Result<Response, ApiError> {
    // The integrity report runs a full verification, which is the audit role's (as
    // `/v1/verify` is); the others are reads.
    let need = if kind == "integrity" {
        Role::Audit
    } else {
        Role::Read
    };
    let (caller, route) = auth.needs(&state, need).await?;
    let now = now_ns();
    let req = request(&kind, &params, now)?;
    let format = params.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "md" | "html") {
        return Err(ApiError::parameter(format!(
            "format {format:?}: use json, md or html"
        )));
    }
    let lang: Lang = params
        .lang
        .as_deref()
        .unwrap_or("en")
        .parse()
        .map_err(|e: aiaudit_report::Error| ApiError::parameter(e.to_string()))?;
    let made = req.clone();
    let (report, origin) = state
        .read(move |r| Ok((made.make(r, now)?, r.info().origin.clone())))
        .await?;
    let mut filter = serde_json::to_value(&params).map_err(ApiError::internal)?;
    if let Value::Object(m) = &mut filter {
        m.insert("kind".into(), Value::String(kind));
    }
    access::record(&state, &caller, &route, filter, report.records()).await?;
    let ctx = Context::new(lang, origin, now);
    Ok(match format {
        "md" => (
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            aiaudit_report::markdown(&report, &ctx).map_err(ApiError::internal)?,
        )
            .into_response(),
        "html" => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                // The page needs nothing from anywhere: say so to the browser.
                (header::CONTENT_SECURITY_POLICY, super::HTML_POLICY),
            ],
            aiaudit_report::html(&report, &ctx).map_err(ApiError::internal)?,
        )
            .into_response(),
        _ => axum::Json(report).into_response(),
    })
}
