//! `GET /v1/reports/{kind}`: the compliance reports, for the `read` role, each an audited read.

use aiaudit_core::timefmt::now_ns;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::IntoParams;

use super::{P, Peer, Q, require};
use crate::access;
use crate::auth::Role;
use crate::error::ApiError;
use crate::state::AppState;

/// Parameters of a report.
#[derive(Debug, Default, Deserialize, Serialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// The model (usage report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The user (access report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The period, in days back from now (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 36500)]
    pub days: Option<u32>,
}

/// A report: `usage` (`model`, `days`): seed 003's model usage report; `access` (`user`,
/// `days`): a user's data access (GDPR Art. 15); `integrity`: the verification result, the
/// latest signed checkpoint, the verifier key and how to check the log offline.
#[utoipa::path(
    get,
    path = "/v1/reports/{kind}",
    tag = "events",
    params(("kind" = String, Path, description = "usage, access or integrity"), ReportParams),
    responses(
        (status = 200, description = "The report", body = Object),
        (status = 400, description = "A missing or bad parameter", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "The token's role may not read", body = crate::error::ErrorBody),
        (status = 404, description = "No such report", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn report(
    State(state): State<AppState>,
    Peer(peer): Peer,
    P(kind): P<String>,
    Q(params): Q<ReportParams>,
    headers: HeaderMap,
) -> Result<axum::Json<Value>, ApiError> {
    let route = "GET /v1/reports/{kind}";
    let caller = require(&state, &headers, peer, Role::Read, route).await?;
    let days = params.days.unwrap_or(30);
    if !(1..=36_500).contains(&days) {
        return Err(ApiError::parameter("days must be between 1 and 36500"));
    }
    let need = |v: &Option<String>, name: &str| {
        v.clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::parameter(format!("the {kind} report needs {name}=")))
    };
    let now = now_ns();
    let (value, records) = match kind.as_str() {
        "usage" => {
            let model = need(&params.model, "model")?;
            let v = state
                .read(move |r| Ok(aiaudit::reports::model_usage(r, &model, days, now)?))
                .await?;
            let n = v["total_predictions"].as_u64().unwrap_or(0);
            (v, n)
        }
        "access" => {
            let user = need(&params.user, "user")?;
            let v = state
                .read(move |r| Ok(aiaudit::reports::data_access(r, &user, days, now)?))
                .await?;
            let n = v["total_requests"].as_u64().unwrap_or(0);
            (v, n)
        }
        "integrity" => {
            let v = state.read(|r| Ok(aiaudit::reports::integrity(r)?)).await?;
            let n = v["entries"].as_u64().unwrap_or(0);
            (v, n)
        }
        other => {
            return Err(ApiError::not_found(format!(
                "no report {other:?}: use usage, access or integrity"
            )));
        }
    };
    let mut filter = serde_json::to_value(&params).map_err(ApiError::internal)?;
    if let Value::Object(m) = &mut filter {
        m.insert("kind".into(), Value::String(kind));
    }
    access::record(&state, &caller, route, filter, records).await?;
    Ok(axum::Json(value))
}
