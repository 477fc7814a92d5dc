//! OTLP/HTTP (`POST /v1/traces`, `/v1/logs`): the request read (content type, gzip, size),
//! converted by `aiaudit-otlp`, submitted whole, and answered as the OTLP specification says:
//! an empty `Export…ServiceResponse` on success and a `google.rpc.Status` on failure, each in the
//! request's encoding.

use aiaudit_otlp::{Encoding, Options};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::io::Read as _;

use super::receipt::Wait;
use crate::error::ApiError;
use crate::state::AppState;

/// Which OTLP signal a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// `ExportTraceServiceRequest`.
    Traces,
    /// `ExportLogsServiceRequest`.
    Logs,
}

/// `google.rpc.Status`, the body of every OTLP failure (its `details` are never sent).
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// An error answered in the request's encoding.
pub(crate) struct OtlpError {
    encoding: Encoding,
    error: ApiError,
}

impl OtlpError {
    /// `error` for a request with these headers (JSON when the type is neither).
    pub(crate) fn new(headers: &HeaderMap, error: ApiError) -> Self {
        OtlpError {
            encoding: encoding(headers).unwrap_or(Encoding::Json),
            error,
        }
    }
}

/// The gRPC code closest to an HTTP status, for `google.rpc.Status.code`.
fn grpc_code(s: StatusCode) -> i32 {
    match s.as_u16() {
        400 | 413 | 415 => 3,
        401 => 16,
        403 => 7,
        404 => 5,
        408 => 4,
        429 => 8,
        503 => 14,
        _ => 13,
    }
}

impl IntoResponse for OtlpError {
    fn into_response(self) -> Response {
        let e = self.error;
        let status = RpcStatus {
            code: grpc_code(e.status),
            message: format!("{}: {}", e.code, e.message),
        };
        let body = match self.encoding {
            Encoding::Protobuf => prost::Message::encode_to_vec(&status),
            Encoding::Json => serde_json::json!({"code": status.code, "message": status.message})
                .to_string()
                .into_bytes(),
        };
        let mut resp = (e.status, body).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.encoding.content_type()),
        );
        if matches!(e.status.as_u16(), 429 | 503) {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if e.status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

fn encoding(headers: &HeaderMap) -> Option<Encoding> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(Encoding::from_content_type)
}

fn unsupported(why: String) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        why,
    )
}

/// The body, decompressed when it is gzip, never larger than `limit` either way.
fn decompress(headers: &HeaderMap, raw: &[u8], limit: usize) -> Result<Option<Vec<u8>>, ApiError> {
    let enc = match headers.get(header::CONTENT_ENCODING) {
        None => return Ok(None),
        Some(v) => v.to_str().unwrap_or("").trim().to_ascii_lowercase(),
    };
    match enc.as_str() {
        "" | "identity" => Ok(None),
        // Every member of a multi-member stream: the first alone would drop the rest unseen.
        "gzip" | "x-gzip" => {
            let mut out = Vec::new();
            let read = flate2::read::MultiGzDecoder::new(raw)
                .take(limit as u64 + 1)
                .read_to_end(&mut out);
            match read {
                Err(e) => Err(ApiError::bad_request(
                    "invalid_otlp",
                    format!("the gzip body does not decompress: {e}"),
                )),
                Ok(_) if out.len() > limit => Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!("the body decompresses to more than {limit} bytes"),
                )),
                Ok(_) => Ok(Some(out)),
            }
        }
        other => Err(unsupported(format!(
            "Content-Encoding {other:?}: send the body as it is or gzip"
        ))),
    }
}

fn otlp_error(e: aiaudit_otlp::Error) -> ApiError {
    match e {
        aiaudit_otlp::Error::TooMany { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            e.to_string(),
        ),
        aiaudit_otlp::Error::Invalid { index, .. } => {
            let err = ApiError::bad_request("invalid_otlp", e.to_string());
            match index {
                Some(i) => err.at_event(i),
                None => err,
            }
        }
        other => ApiError::bad_request("invalid_otlp", other.to_string()),
    }
}

/// What is checked before a body is read: its encoding (a 415 for another type) and that the
/// store takes events (a 503 while it retries through an outage).
pub(crate) fn admit(state: &AppState, headers: &HeaderMap) -> Result<Encoding, ApiError> {
    let Some(encoding) = encoding(headers) else {
        let what = match headers.get(header::CONTENT_TYPE) {
            None => "no Content-Type".to_owned(),
            Some(v) => format!("Content-Type {:?}", String::from_utf8_lossy(v.as_bytes())),
        };
        return Err(unsupported(no_type(&what)));
    };
    super::submit::accepting(state)?;
    Ok(encoding)
}

/// Converts and records one export request read whole (`raw`, as it came), answering once it
/// is committed.
pub(crate) async fn export(
    state: &AppState,
    headers: &HeaderMap,
    encoding: Encoding,
    raw: &[u8],
    signal: Signal,
    service: String,
) -> Result<Response, ApiError> {
    let limits = state.limits;
    let inflated = decompress(headers, raw, limits.max_body_bytes)?;
    let bytes: &[u8] = inflated.as_deref().unwrap_or(raw);
    let opts = Options {
        service,
        keep_content: state.otlp.keep_content,
        max_attributes: state.otlp.max_attributes,
        max_depth: limits.max_depth,
        max_events: limits.max_batch,
    };
    // Counted on the wire first: decoded, an empty span costs a hundred times its two bytes.
    if aiaudit_otlp::items(bytes, encoding).is_some_and(|n| n > opts.max_events) {
        return Err(otlp_error(aiaudit_otlp::Error::TooMany {
            limit: opts.max_events,
        }));
    }
    let events = match signal {
        Signal::Traces => aiaudit_otlp::traces::decode(bytes, encoding)
            .and_then(|r| aiaudit_otlp::traces::to_events(r, &opts)),
        Signal::Logs => aiaudit_otlp::logs::decode(bytes, encoding)
            .and_then(|r| aiaudit_otlp::logs::to_events(r, &opts)),
    }
    .map_err(otlp_error)?;
    drop(inflated);
    if !events.is_empty() {
        super::submit::submit(state, events, Wait::Commit, None).await?;
    }
    // Both responses are empty messages: no partial success to report.
    let body = match encoding {
        Encoding::Protobuf => Vec::new(),
        Encoding::Json => b"{}".to_vec(),
    };
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, encoding.content_type())],
        body,
    )
        .into_response())
}

fn no_type(what: &str) -> String {
    format!("{what}: OTLP/HTTP takes application/x-protobuf or application/json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_bounded() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&vec![b'a'; 10_000]).expect("write");
        let packed = gz.finish().expect("finish");
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        let out = decompress(&h, &packed, 10_000).expect("fits");
        assert_eq!(out.map(|v| v.len()), Some(10_000));
        let twice = [packed.clone(), packed.clone()].concat();
        let out = decompress(&h, &twice, 20_000).expect("two members");
        assert_eq!(out.map(|v| v.len()), Some(20_000));
        let e = decompress(&h, &packed, 9_999).expect_err("too large");
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        let e = decompress(&h, b"not gzip", 100).expect_err("bad");
        assert_eq!(e.code, "invalid_otlp");
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        let e = decompress(&h, b"x", 100).expect_err("br");
        assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}
