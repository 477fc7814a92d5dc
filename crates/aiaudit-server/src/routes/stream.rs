//! `GET /v1/stream`: new events as server-sent events, as they are committed, and
//! `GET /v1/whoami`: what the caller's token may do (the dashboard shows only that).

use aiaudit::Query;
use aiaudit_core::event::types::ACCESS;
use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};

use super::Q;
use super::caller::Authenticated;
use crate::access;
use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::state::AppState;

/// Most events in one message of the stream.
const BATCH: usize = 500;

/// Filters of the live stream.
#[derive(Debug, Default, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamFilter {
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
    /// `false`: leave out the `access` events of the caller's own reads. Default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_access: Option<bool>,
    /// Start after this seq (default: the log's current end, so only new events come).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 0)]
    pub after: Option<u64>,
}

struct Follow {
    state: AppState,
    caller: Caller,
    filter: serde_json::Value,
    delivered: u64,
    query: Query,
    after: Option<u64>,
    hide_access: bool,
    /// The caller's name, when its own access events are left out.
    hide_own: Option<String>,
    committed: tokio::sync::watch::Receiver<u64>,
    stopping: tokio::sync::watch::Receiver<bool>,
    failed: bool,
}

impl Follow {
    /// The next message: a batch of events, or an error after which the stream ends; `None`
    /// when the server stops.
    async fn next(mut self) -> Option<(Result<SseEvent, Infallible>, Follow)> {
        loop {
            if self.failed || *self.stopping.borrow() {
                return None;
            }
            // Marks what is committed now as seen, so a wake-up finds only newer entries.
            self.committed.borrow_and_update();
            let mut q = self.query.clone();
            q.after_seq = self.after;
            q.limit = BATCH;
            let found = self.state.read(move |r| Ok(r.query(&q)?)).await;
            let entries = match found {
                Ok(e) => e,
                Err(e) => {
                    self.failed = true;
                    let msg = serde_json::json!({"error": {"code": e.code, "message": e.message}});
                    return Some((
                        Ok(SseEvent::default().event("error").data(msg.to_string())),
                        self,
                    ));
                }
            };
            if let Some(last) = entries.last() {
                self.after = Some(last.seq);
                let records: Vec<&str> = entries
                    .iter()
                    .filter(|e| {
                        !((self.hide_access && e.kind == ACCESS)
                            || super::events::own_read(e, self.hide_own.as_deref()))
                    })
                    .filter_map(|e| std::str::from_utf8(&e.data).ok())
                    .collect();
                if records.is_empty() {
                    continue;
                }
                self.delivered += records.len() as u64;
                let data = format!("[{}]", records.join(","));
                let event = SseEvent::default()
                    .event("events")
                    .id(last.seq.to_string())
                    .data(data);
                return Some((Ok(event), self));
            }
            tokio::select! {
                _ = self.committed.changed() => {}
                _ = self.stopping.changed() => {}
                () = tokio::time::sleep(Duration::from_secs(10)) => {}
            }
        }
    }
}

impl Drop for Follow {
    /// The records a stream delivered are themselves a read: recorded when it ends, however it
    /// ends (the client left, the server stops, an error).
    fn drop(&mut self) {
        access::record_streamed(
            &self.state,
            &self.caller,
            ROUTE,
            std::mem::take(&mut self.filter),
            self.delivered,
        );
    }
}

const ROUTE: &str = "GET /v1/stream";

/// New events as they are committed, as server-sent events: each `events` message holds a
/// JSON array of sealed records (oldest first) and carries the last one's seq as its `id`;
/// an `error` message ends the stream. Opening a stream is recorded as an `access` event, and
/// so is its end, with the number of records it delivered (`outcome` `streamed`).
/// Tokens with role `read` do not see access events.
#[utoipa::path(
    get,
    path = "/v1/stream",
    tag = "events",
    params(StreamFilter),
    responses(
        (status = 200, description = "A text/event-stream of `events` messages", content_type = "text/event-stream", body = String),
        (status = 400, description = "A bad filter", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "The token's role may not read this", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn stream(
    State(state): State<AppState>,
    auth: Authenticated,
    Q(filter): Q<StreamFilter>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let need = if filter.kind.as_deref() == Some(ACCESS) {
        Role::Audit
    } else {
        Role::Read
    };
    let (caller, route) = auth.needs(&state, need).await?;
    let after = match filter.after {
        Some(a) => Some(a),
        None => state.read(|r| Ok(r.size()?)).await?.checked_sub(1),
    };
    let query = Query {
        kind: filter.kind.clone(),
        status: filter.status.as_ref().map(|s| s.to_ascii_uppercase()),
        model: filter.model.clone(),
        user: filter.user.clone(),
        operation: filter.operation.clone(),
        ..Query::default()
    };
    let filter_json = serde_json::to_value(&filter).map_err(ApiError::internal)?;
    access::record(&state, &caller, &route, filter_json.clone(), 0).await?;
    let follow = Follow {
        caller: caller.clone(),
        filter: filter_json,
        delivered: 0,
        hide_access: !caller.role.allows(Role::Audit),
        hide_own: (filter.own_access == Some(false)).then(|| caller.token.name.clone()),
        committed: state.committed.subscribe(),
        stopping: state.stopping.subscribe(),
        state,
        query,
        after,
        failed: false,
    };
    let events = futures_util::stream::unfold(follow, Follow::next);
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// What a token may do.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    /// The token's id.
    pub id: String,
    /// The token's name.
    pub name: String,
    /// Its role.
    pub role: String,
    /// May it write events?
    pub ingest: bool,
    /// May it query events and reports?
    pub read: bool,
    /// May it see proofs, verification and the access log?
    pub audit: bool,
    /// May it manage tokens and erase subjects?
    pub admin: bool,
    /// The log's origin.
    pub origin: String,
    /// The verifier key the log states (check it against the one you keep).
    pub verifier_key: String,
}

/// The caller's token and what its role allows (any valid token; not a read of the log).
#[utoipa::path(
    get,
    path = "/v1/whoami",
    tag = "admin",
    responses(
        (status = 200, description = "The token and its rights", body = WhoAmI),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn whoami(
    State(state): State<AppState>,
    Authenticated { caller: c, .. }: Authenticated,
) -> Result<axum::Json<WhoAmI>, ApiError> {
    Ok(axum::Json(WhoAmI {
        ingest: c.role.allows(Role::Ingest),
        read: c.role.allows(Role::Read),
        audit: c.role.allows(Role::Audit),
        admin: c.role.allows(Role::Admin),
        origin: state.logger.info().origin.clone(),
        verifier_key: state.logger.info().verifier_key.clone(),
        id: c.token.id,
        name: c.token.name,
        role: c.role.to_string(),
    }))
}
