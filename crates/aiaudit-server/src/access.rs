//! Audited reads: every read by a token (query, show, proof, verify, report, export) is
//! recorded in the log itself as an `access` event — who, which route, what filter, how many
//! records — before the answer leaves. A read whose record cannot be queued is refused, so no
//! read goes unrecorded. A request refused for its role is recorded too, as a WARNING.

use aiaudit::Event;
use aiaudit_core::event::Actor;
use aiaudit_core::event::types::ACCESS;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Records that `caller` read `records` records through `route` with `filter`.
pub async fn record(
    state: &AppState,
    caller: &Caller,
    route: &str,
    filter: Value,
    records: u64,
) -> Result<(), ApiError> {
    state
        .record(access_event(caller, route, filter, records, "allowed"))
        .await
}

/// Records, when a live stream ends, how many records it delivered (`outcome` = `streamed`).
/// Called from a destructor, so the record is queued from a task of the current runtime.
pub fn record_streamed(
    state: &AppState,
    caller: &Caller,
    route: &str,
    filter: Value,
    records: u64,
) {
    let event = access_event(caller, route, filter, records, "streamed");
    let state = state.clone();
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(async move {
            if let Err(e) = state.record(event).await {
                tracing::warn!(error = %e.message, "could not record a stream's reads");
            }
        });
    }
}

/// Records a read refused for the caller's role.
pub async fn record_denied(state: &AppState, caller: &Caller, route: &str) {
    let event = access_event(caller, route, Value::Null, 0, "denied");
    if let Err(e) = state.record(event).await {
        tracing::warn!(error = %e.message, "could not record a denied read");
    }
}

fn access_event(caller: &Caller, route: &str, filter: Value, records: u64, outcome: &str) -> Event {
    let mut event = Event::new(ACCESS, route.to_owned());
    if outcome != "allowed" {
        event.status = aiaudit::Status::Warning;
    }
    event.actor = Some(Actor {
        user: Some(caller.token.name.clone()),
        service: None,
        ip: caller.ip.clone(),
    });
    let mut details = serde_json::Map::new();
    details.insert("route".into(), json!(route));
    details.insert("token_id".into(), json!(caller.token.id));
    details.insert("role".into(), json!(caller.role.as_str()));
    details.insert("outcome".into(), json!(outcome));
    if !filter.is_null() {
        details.insert("filter".into(), filter);
    }
    details.insert("records".into(), json!(records));
    event.details = details;
    event
}
