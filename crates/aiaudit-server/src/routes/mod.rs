//! The router: every route with its OpenAPI description, the JSON fallbacks for unknown paths
//! and methods, and the extractors that turn bad parameters into JSON errors.

mod admin;
pub(crate) mod caller;
mod dashboard;
pub(crate) mod events;
mod health;
pub(crate) mod ingest;
mod lineage;
mod otlp;
mod proofs;
mod reports;
mod stream;
mod tiles;

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::openapi::ApiDoc;
use crate::state::AppState;

/// The application: every route, the OpenAPI document at `/openapi.json`, JSON errors for
/// unknown routes, methods and panics, and request counting.
pub fn app(state: AppState) -> axum::Router {
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(ingest::post_events, events::list_events))
        .routes(routes!(events::get_event))
        .routes(routes!(otlp::post_traces))
        .routes(routes!(otlp::post_logs))
        .routes(routes!(lineage::post_lineage))
        .routes(routes!(lineage::get_lineage))
        .routes(routes!(reports::report))
        .routes(routes!(stream::stream))
        .routes(routes!(stream::whoami))
        .routes(routes!(proofs::checkpoint))
        .routes(routes!(proofs::inclusion))
        .routes(routes!(proofs::consistency))
        .routes(routes!(proofs::verify))
        .routes(routes!(admin::create_token, admin::list_tokens))
        .routes(routes!(admin::revoke_token))
        .routes(routes!(admin::erase_subject))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        // The tlog-tiles API is C2SP's, documented there and in docs/format.md §10.
        .route("/checkpoint", axum::routing::get(tiles::checkpoint))
        .route("/tile/{*path}", axum::routing::get(tiles::tile))
        .with_state(state.clone())
        .split_for_parts();
    let spec = api.to_json().unwrap_or_else(|_| "{}".into());
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    spec.clone(),
                )
            }),
        )
        .route("/", axum::routing::get(dashboard::index))
        .route(
            "/assets/dashboard.js",
            axum::routing::get(dashboard::script),
        )
        .route(
            "/assets/dashboard.css",
            axum::routing::get(dashboard::style),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state, count))
        .layer(axum::middleware::map_response(browser_defences))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
}

/// What every HTML page this server sends may do: nothing from anywhere (inline styles and
/// `data:` images for the reports' CSS and SVG), no script but the dashboard's own (which sets
/// its own policy), and no framing by another page.
pub(crate) const HTML_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The browser's own defences on every answer: `nosniff` and no referrer everywhere, and a
/// content security policy on any HTML answer that does not bring a stricter one of its own.
async fn browser_defences(mut resp: Response) -> Response {
    use axum::http::{HeaderValue, header};
    let h = resp.headers_mut();
    h.entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    let html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html {
        h.entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(HeaderValue::from_static(HTML_POLICY));
        h.entry(header::X_FRAME_OPTIONS)
            .or_insert(HeaderValue::from_static("DENY"));
    }
    resp
}

async fn not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not accept {method}", uri.path()),
    )
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal("a request handler panicked").into_response()
}

async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let resp = next.run(req).await;
    state
        .metrics
        .request(method.as_str(), resp.status().as_u16());
    resp
}

/// A request body read whole, holding its share of the server's body budget until dropped.
pub(crate) struct ReadBody {
    bytes: bytes::Bytes,
    _budget: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl std::ops::Deref for ReadBody {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Reads a request body of at most `limit` bytes: 413 (JSON) past it, by the declared length
/// before reading and by the bytes read; 503 when the bytes do not fit in what is left of the
/// server's budget for buffered bodies; 408 when the body does not arrive within the body
/// timeout.
pub(crate) async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: axum::body::Body,
    limit: usize,
) -> Result<ReadBody, ApiError> {
    use http_body_util::BodyExt;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than {limit} bytes"),
        )
    };
    let over_budget = || {
        state.metrics.connection_refused("body_budget");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_busy",
            "the server holds as many request bodies as its budget allows (server.body_budget_bytes); try again shortly",
        )
    };
    let take = |n: usize| {
        let n = u32::try_from(n).map_err(|_| too_large())?;
        Arc::clone(&state.bodies)
            .try_acquire_many_owned(n)
            .map_err(|_| over_budget())
    };
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        drain(body, limit).await;
        return Err(too_large());
    }
    // A declared length takes its whole share before a byte is read; a chunked body takes it
    // as it comes.
    let mut budget = match declared {
        Some(n) if n > 0 => match take(n as usize) {
            Ok(p) => Some(p),
            Err(e) => {
                drain(body, limit).await;
                return Err(e);
            }
        },
        _ => None,
    };
    let reserved = declared.unwrap_or(0) as usize;
    let deadline = tokio::time::Instant::now() + state.body_timeout;
    let mut body = body;
    let mut buf = bytes::BytesMut::with_capacity(reserved);
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(_) => {
                state.metrics.connection_refused("body_timeout");
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    format!(
                        "the body did not arrive within {} s (server.body_timeout); {} bytes came",
                        state.body_timeout.as_secs(),
                        buf.len()
                    ),
                ));
            }
        };
        let frame = frame.map_err(|e| {
            ApiError::bad_request("invalid_json", format!("reading the body failed: {e}"))
        })?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                drain(body, limit).await;
                return Err(too_large());
            }
            let beyond = (buf.len() + data.len()).saturating_sub(reserved.max(buf.len()));
            if beyond > 0 {
                let more = match take(beyond) {
                    Ok(p) => p,
                    Err(e) => {
                        drain(body, limit).await;
                        return Err(e);
                    }
                };
                match &mut budget {
                    Some(b) => b.merge(more),
                    None => budget = Some(more),
                }
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(ReadBody {
        bytes: buf.freeze(),
        _budget: budget,
    })
}

/// Reads and discards what is left of a refused body, up to a few times the limit and for at
/// most two seconds, before the 413 is sent: a client that writes its whole body before reading
/// the answer then reads the JSON error instead of a connection reset (the server closing a
/// socket with unread data resets it). A larger or slower body is cut off.
async fn drain(mut body: axum::body::Body, limit: usize) {
    use http_body_util::BodyExt;
    let cap = limit.saturating_mul(4).max(1 << 20);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    let mut seen = 0usize;
    while seen <= cap {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => seen += frame.data_ref().map_or(0, bytes::Buf::remaining),
            _ => break,
        }
    }
}

/// `Query` whose rejections are JSON errors naming the parameter.
pub(crate) struct Q<T>(pub T);

impl<T, S> FromRequestParts<S> for Q<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        crate::query::parse(parts.uri.query()).map(Q)
    }
}

/// `Path` whose rejections are JSON errors.
pub(crate) struct P<T>(pub T);

impl<T, S> FromRequestParts<S> for P<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| P(p.0))
            .map_err(|e: PathRejection| ApiError::parameter(e.body_text()))
    }
}
