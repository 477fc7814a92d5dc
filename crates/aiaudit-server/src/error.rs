//! Errors: the crate's own [`Error`] (starting a server), and [`ApiError`], the one JSON error
//! every route answers with.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::path::PathBuf;
use utoipa::ToSchema;

/// What can stop a server from starting or running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration file is unreadable or wrong.
    #[error("{path}: {why}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong (with its line where the parser knows it).
        why: String,
    },
    /// A setting is invalid (from the command line or the file).
    #[error("{0}")]
    Invalid(String),
    /// Opening the log failed.
    #[error(transparent)]
    Log(#[from] aiaudit::Error),
    /// Opening the token file failed.
    #[error(transparent)]
    Tokens(#[from] aiaudit_sqlite::Error),
    /// Binding the address, reading TLS files or serving failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The failure.
        source: std::io::Error,
    },
}

/// The body of every error answer: `{"error": {"code": …, "message": …}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// One error: a stable machine-readable code and a message naming the problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code: `unauthorized`, `forbidden`, `invalid_json`, `invalid_event`,
    /// `unknown_status`, `unsupported_media_type`, `body_too_large`, `batch_too_large`,
    /// `too_deep`, `invalid_parameter`, `not_found`, `method_not_allowed`, `unavailable`,
    /// `internal`.
    pub code: String,
    /// What is wrong, for a person.
    pub message: String,
    /// For a refused batch, the position (from 0) of the event at fault: a client can set it
    /// aside and send the others again.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub index: Option<usize>,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code.
    pub code: &'static str,
    /// The message.
    pub message: String,
    /// The event at fault in a refused batch.
    pub index: Option<usize>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            index: None,
        }
    }

    /// The same error, naming the event at fault.
    pub fn at_event(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 `invalid_parameter`.
    pub fn parameter(message: impl Into<String>) -> Self {
        Self::bad_request("invalid_parameter", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500 with a generic message; the detail goes to the server's log only.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the server's log has the details",
        )
    }
}

impl From<aiaudit::Error> for ApiError {
    fn from(e: aiaudit::Error) -> Self {
        use aiaudit::Error as E;
        match e {
            E::Rejected { index, source } => {
                let inner = ApiError::from(*source);
                let code = if inner.status == StatusCode::BAD_REQUEST {
                    inner.code
                } else {
                    "invalid_event"
                };
                ApiError::bad_request(code, format!("event {index}: {}", inner.message))
                    .at_event(index)
            }
            E::Core(core) => core_error(core),
            E::NotFound(m) => ApiError::not_found(m),
            E::Poisoned(detail) => {
                tracing::error!(%detail, "the log's writer stopped");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the log stopped accepting events after a failed write; the server's log has the details",
                )
            }
            E::Closed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the server is shutting down",
            ),
            other => ApiError::internal(other),
        }
    }
}

fn core_error(e: aiaudit_core::Error) -> ApiError {
    use aiaudit_core::Error as C;
    match e {
        C::UnknownStatus { .. } => ApiError::bad_request("unknown_status", e.to_string()),
        C::InvalidEvent(_) | C::Canonical(_) | C::Time { .. } => {
            ApiError::bad_request("invalid_event", e.to_string())
        }
        C::TilePath { .. } => ApiError::bad_request("invalid_tile_path", e.to_string()),
        // The format cannot carry the record: nothing the caller can change.
        C::EntryTooLong { .. } => {
            ApiError::new(StatusCode::NOT_IMPLEMENTED, "entry_too_long", e.to_string())
        }
        other => ApiError::internal(other),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                index: self.index,
            },
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
