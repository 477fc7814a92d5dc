//! Lineage over HTTP: `POST /api/v1/lineage` takes OpenLineage RunEvents at the path Marquez
//! serves them, so that an OpenLineage integration (Airflow, Spark, dbt, Flink, the Python
//! client) logs into aiaudit with only its URL changed; `GET /v1/lineage/{target}` walks the
//! lineage of anything in the log (the dashboard's lineage view).

use std::collections::BTreeSet;

use aiaudit::lineage::{Direction, Graph, LineageOptions, Node};
use aiaudit_core::event::types::ACCESS;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::caller::{Authorized, Ingest, Read};
use super::{P, Q};
use crate::access;
use crate::auth::Role;
use crate::error::ApiError;
use crate::ingest::receipt::Wait;
use crate::state::AppState;

/// Most readers per artifact a walk lists.
const MAX_PER_ARTIFACT: usize = 1_000;

/// Record one OpenLineage RunEvent (spec 2-0-2): a `run_started`, `run_completed`,
/// `run_failed`, `run_aborted`, `run_running` or `run_event` event whose operation is the run,
/// with its input and output datasets as lineage and the RunEvent kept whole in
/// `details.openlineage`. Answers once committed.
#[utoipa::path(
    post,
    path = "/api/v1/lineage",
    tag = "events",
    request_body(content((Object = "application/json")), description = "An OpenLineage RunEvent"),
    responses(
        (status = 201, description = "Committed", body = crate::ingest::receipt::IngestReceipt),
        (status = 400, description = "Not JSON, not a 2-0-x RunEvent, or a field missing or wrong (named)", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "The token's role may not write", body = crate::error::ErrorBody),
        (status = 413, description = "Body too large", body = crate::error::ErrorBody),
        (status = 503, description = "The log is not accepting events", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn post_lineage(
    State(state): State<AppState>,
    Authorized { caller, .. }: Authorized<Ingest>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    crate::ingest::submit::accepting(&state)?;
    let bytes = super::read_body(&state, &headers, body, state.limits.max_body_bytes).await?;
    let event = crate::ingest::openlineage::to_event(&bytes, &caller.token.name)?;
    drop(bytes);
    let (_, receipt) =
        crate::ingest::submit::submit(&state, vec![event], Wait::Commit, None).await?;
    Ok((StatusCode::CREATED, axum::Json(receipt)).into_response())
}

/// Parameters of a lineage walk.
#[derive(Debug, Default, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LineageParams {
    /// `upstream`, `downstream` or `both` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(pattern = "^(upstream|downstream|both)$")]
    pub direction: Option<String>,
    /// Readers listed per artifact walking downstream (default 50, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    pub per_artifact: Option<usize>,
}

/// The lineage of an event, request or artifact: upstream (what it came from) and downstream
/// (what came of it), as the graph `aiaudit lineage --format json` prints (recorded as an
/// `access` event). `target` is a seq, an event id, a request (operation) id, `NAME@VERSION`
/// of a model, or an artifact key `kind:name[@version]`.
#[utoipa::path(
    get,
    path = "/v1/lineage/{target}",
    tag = "events",
    params(("target" = String, Path, description = "A seq, event id, request id, model@version or artifact key"), LineageParams),
    responses(
        (status = 200, description = "The graph: targets, events by seq, artifacts by key, edges, truncated", body = Object),
        (status = 400, description = "A bad parameter", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "The token's role may not read", body = crate::error::ErrorBody),
        (status = 404, description = "Nothing in the log by that name", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn get_lineage(
    State(state): State<AppState>,
    Authorized { caller, route, .. }: Authorized<Read>,
    P(target): P<String>,
    Q(params): Q<LineageParams>,
) -> Result<axum::Json<Graph>, ApiError> {
    let direction = match params.direction.as_deref().unwrap_or("both") {
        "upstream" => Direction::Upstream,
        "downstream" => Direction::Downstream,
        "both" => Direction::Both,
        other => {
            return Err(ApiError::parameter(format!(
                "direction {other:?}: use upstream, downstream or both"
            )));
        }
    };
    let per_artifact = params.per_artifact.unwrap_or(50);
    if !(1..=MAX_PER_ARTIFACT).contains(&per_artifact) {
        return Err(ApiError::parameter(format!(
            "per_artifact must be between 1 and {MAX_PER_ARTIFACT}"
        )));
    }
    let opts = LineageOptions {
        direction,
        per_artifact,
        ..LineageOptions::default()
    };
    let t = target.clone();
    let walked = state
        .read(move |r| Ok(aiaudit::lineage::lineage(r, &t, &opts)?))
        .await;
    let mut filter = serde_json::to_value(&params).map_err(ApiError::internal)?;
    if let serde_json::Value::Object(m) = &mut filter {
        m.insert("target".into(), serde_json::Value::String(target));
    }
    let mut graph = match walked {
        Ok(g) => g,
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            // A miss is a read too.
            access::record(&state, &caller, &route, filter, 0).await?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    // The access log is the audit role's: its records leave the graph for anyone else.
    if !caller.role.allows(Role::Audit) {
        let hidden: BTreeSet<u64> = graph
            .events
            .values()
            .filter(|e| e.kind == ACCESS)
            .map(|e| e.seq)
            .collect();
        let shows = |n: &Node| !matches!(n, Node::Event { seq } if hidden.contains(seq));
        graph.events.retain(|seq, _| !hidden.contains(seq));
        graph.edges.retain(|e| shows(&e.from) && shows(&e.to));
        graph.targets.retain(|n| shows(n));
    }
    access::record(&state, &caller, &route, filter, graph.events.len() as u64).await?;
    Ok(axum::Json(graph))
}
