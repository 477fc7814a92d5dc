//! Answers written below HTTP: refusals at accept, a 408 for a head that never finished, and
//! the JSON form of hyper's own empty answers to requests it could not parse. Each carries
//! the same `{"error": …}` body as every other rejection.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::slots::Refusal;
use crate::error::{ErrorBody, ErrorDetail};

/// A whole HTTP/1.1 answer that closes the connection.
pub(crate) fn raw(status: u16, reason: &str, code: &str, message: &str) -> Vec<u8> {
    let body = serde_json::to_string(&ErrorBody {
        error: ErrorDetail {
            code: code.to_owned(),
            message: message.to_owned(),
            index: None,
        },
    })
    .unwrap_or_else(|_| "{}".into());
    let retry = if matches!(status, 429 | 503) {
        "retry-after: 1\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         x-content-type-options: nosniff\r\n{retry}connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// 408 for a request head that did not arrive in time.
pub(crate) fn head_timeout(after: Duration) -> Vec<u8> {
    raw(
        408,
        "Request Timeout",
        "request_timeout",
        &format!(
            "the request head did not arrive within {} s (server.header_timeout)",
            after.as_secs()
        ),
    )
}

/// Answers a connection refused at accept, then lets the client's request drain briefly so
/// that closing does not reset the answer away before the client reads it.
pub(crate) async fn refuse(mut stream: TcpStream, refusal: Refusal) {
    let bytes = match refusal {
        Refusal::PerAddress(_) => raw(
            429,
            "Too Many Requests",
            "too_many_connections",
            &refusal.to_string(),
        ),
        Refusal::Total(_) => raw(
            503,
            "Service Unavailable",
            "server_busy",
            &refusal.to_string(),
        ),
    };
    let write = async {
        stream.write_all(&bytes).await?;
        stream.shutdown().await
    };
    if tokio::time::timeout(Duration::from_millis(500), write)
        .await
        .is_err()
    {
        return;
    }
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(100), async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// hyper answers a request it cannot parse on its own, with an empty body: `400 Bad Request`
/// (method, URI, header or version), `414 URI Too Long` or `431 Request Header Fields Too
/// Large`. The server's own answers always have a body, so an empty one with these statuses is
/// hyper's: replaced by the same status with the JSON error.
pub(crate) fn replace_hypers_own(buf: &[u8]) -> Option<Vec<u8>> {
    let rest = buf
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| buf.strip_prefix(b"HTTP/1.0 "))?;
    // The status first: every answer of the server's own is passed over here.
    let (code, reason, code_name, message) = match rest.get(..3)? {
        b"400" => (
            400,
            "Bad Request",
            "malformed_request",
            "the request could not be parsed as HTTP/1.1 (its method, target, a header or the version is malformed)",
        ),
        b"414" => (
            414,
            "URI Too Long",
            "uri_too_long",
            "the request target is too long",
        ),
        b"431" => (
            431,
            "Request Header Fields Too Large",
            "headers_too_large",
            "the request has too many headers or they are too large",
        ),
        _ => return None,
    };
    // The whole answer is its head, and it says it has no body.
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    if head_end != buf.len() {
        return None;
    }
    let head = String::from_utf8_lossy(buf).to_ascii_lowercase();
    if !head.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    Some(raw(code, reason, code_name, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_empty_answers_are_replaced() {
        let hyper_400 = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 06:00:00 GMT\r\n\r\n";
        let out =
            String::from_utf8(replace_hypers_own(hyper_400).expect("replaced")).expect("utf-8");
        assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
        assert!(out.contains("content-type: application/json"), "{out}");
        assert!(out.ends_with(r#""code":"malformed_request","message":"the request could not be parsed as HTTP/1.1 (its method, target, a header or the version is malformed)"}}"#), "{out}");
        let hyper_431 =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        assert!(replace_hypers_own(hyper_431).is_some());
        // Ours (a body), a success, and a head followed by more bytes stay as they are.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 12\r\n\r\n{\"error\":{}}";
        assert!(replace_hypers_own(ours).is_none());
        assert!(replace_hypers_own(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(
            replace_hypers_own(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").is_none()
        );
        assert!(replace_hypers_own(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n").is_none());
    }
}
