//! `GET /v1/events` and `GET /v1/events/{target}`.

use aiaudit::StoredEntry;
use aiaudit_core::event::types::ACCESS;
use axum::extract::State;
use serde::Serialize;
use serde_json::json;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use super::caller::{Authenticated, Authorized, Read};
use super::{P, Q};
use crate::access;
use crate::auth::Role;
use crate::error::ApiError;
use crate::openapi::SealedRecord;
use crate::query::{EventFilter, page_size, to_query};
use crate::state::AppState;

/// A page of events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// The sealed records, in the order asked.
    #[schema(value_type = Vec<SealedRecord>)]
    pub events: Vec<Box<RawValue>>,
    /// Pass as `cursor` for the next page; absent at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One entry: its sealed record and leaf hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryOut {
    /// Position in the log.
    #[schema(minimum = 0)]
    pub seq: u64,
    /// SHA-256(0x00 ‖ record), hex.
    pub leaf_hash: String,
    /// The sealed record.
    #[schema(value_type = SealedRecord)]
    pub record: Box<RawValue>,
}

/// Query events. Tokens with role `read` do not see the access log (`type=access` needs
/// `audit`). Every query is recorded as an `access` event.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "events",
    params(EventFilter),
    responses(
        (status = 200, description = "Matching events", body = EventPage),
        (status = 400, description = "A bad filter", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "The token's role may not read this", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn list_events(
    State(state): State<AppState>,
    auth: Authenticated,
    Q(filter): Q<EventFilter>,
) -> Result<axum::Json<EventPage>, ApiError> {
    let need = if filter.kind.as_deref() == Some(ACCESS) {
        Role::Audit
    } else {
        Role::Read
    };
    let (caller, route) = auth.needs(&state, need).await?;
    let hide_access = !caller.role.allows(Role::Audit);
    let hide_own = (filter.own_access == Some(false)).then(|| caller.token.name.clone());
    let page = page_size(filter.limit, state.limits.max_page)?;
    let q = to_query(&filter, page)?;
    let (entries, scanned_to, more) = state
        .read(move |r| {
            let found = r.query(&q)?;
            let more = found.len() > page;
            let last = found[..found.len().min(page)].last().map(|e| e.seq);
            Ok((found, last, more))
        })
        .await?;
    let events = entries
        .into_iter()
        .take(page)
        .filter(|e| !((hide_access && e.kind == ACCESS) || own_read(e, hide_own.as_deref())))
        .map(|e| raw(&e))
        .collect::<Result<Vec<_>, _>>()?;
    let filter_json = serde_json::to_value(&filter).map_err(ApiError::internal)?;
    access::record(&state, &caller, &route, filter_json, events.len() as u64).await?;
    Ok(axum::Json(EventPage {
        events,
        next_cursor: if more {
            scanned_to.map(|s| s.to_string())
        } else {
            None
        },
    }))
}

/// Is `e` an access event of the reader named `own` (who asked not to see them)?
pub(crate) fn own_read(e: &StoredEntry, own: Option<&str>) -> bool {
    own.is_some_and(|me| e.kind == ACCESS && e.user.as_deref() == Some(me))
}

fn raw(e: &StoredEntry) -> Result<Box<RawValue>, ApiError> {
    let text = std::str::from_utf8(&e.data).map_err(ApiError::internal)?;
    RawValue::from_string(text.to_owned()).map_err(ApiError::internal)
}

/// Show one event by seq or id (recorded as an `access` event).
#[utoipa::path(
    get,
    path = "/v1/events/{target}",
    tag = "events",
    params(("target" = String, Path, description = "A seq number or an event id")),
    responses(
        (status = 200, description = "The entry", body = EntryOut),
        (status = 400, description = "Neither a seq nor an id", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "The token's role may not read this", body = crate::error::ErrorBody),
        (status = 404, description = "No such entry", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn get_event(
    State(state): State<AppState>,
    Authorized { caller, route, .. }: Authorized<Read>,
    P(target): P<String>,
) -> Result<axum::Json<EntryOut>, ApiError> {
    let by_seq = target.parse::<u64>().ok();
    if by_seq.is_none() && target.len() != 36 {
        return Err(ApiError::parameter(format!(
            "{target:?} is neither a seq number nor an event id"
        )));
    }
    let t = target.clone();
    let found = state
        .read(move |r| {
            let got = match by_seq {
                Some(seq) => r.get(seq),
                None => r.get_by_id(&t),
            };
            match got {
                Ok(e) => Ok(Some(e)),
                Err(aiaudit::Error::NotFound(_)) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    // A hidden access event reads as absent to a token that may not see the access log.
    let found = found.filter(|e| e.kind != ACCESS || caller.role.allows(Role::Audit));
    let filter = json!({ "target": target });
    access::record(&state, &caller, &route, filter, u64::from(found.is_some())).await?;
    let e = found.ok_or_else(|| ApiError::not_found(format!("no event {target}")))?;
    Ok(axum::Json(EntryOut {
        seq: e.seq,
        leaf_hash: e.leaf_hash.iter().map(|b| format!("{b:02x}")).collect(),
        record: raw(&e)?,
    }))
}
