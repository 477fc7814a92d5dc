//! The witness over HTTP: `POST /add-checkpoint` (c2sp.org/tlog-witness) and `GET /healthz`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::request::MAX_BODY_BYTES;
use crate::witness::{Outcome, Refusal, Witness};

/// The router of a witness.
pub fn app(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(witness)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn add_checkpoint(State(w): State<Arc<Witness>>, body: Bytes) -> Response {
    let answer = tokio::task::spawn_blocking(move || w.add_checkpoint(&body, now())).await;
    let text = |status: StatusCode, content_type: &'static str, body: String| {
        (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    match answer {
        Ok(Ok(Outcome::Cosigned(lines))) => {
            text(StatusCode::OK, "text/plain; charset=utf-8", lines)
        }
        Ok(Ok(Outcome::Refused(r))) => {
            let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let content_type = match r {
                Refusal::Conflict { .. } => "text/x.tlog.size",
                _ => "text/plain; charset=utf-8",
            };
            let mut message = r.message();
            if !message.ends_with('\n') {
                message.push('\n');
            }
            text(status, content_type, message)
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "the witness state failed; refusing every request");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain; charset=utf-8",
                "the witness cannot keep its state; it cosigns nothing until restarted\n".into(),
            )
        }
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            format!("the request failed: {e}\n"),
        ),
    }
}
