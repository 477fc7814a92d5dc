//! What one client may hold of the server: each limit of `[server]` reached on loopback, with
//! its status and JSON error asserted, and a normal client still answered beside it.

mod common;

use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A connection from the loopback address `source` (127.0.0.x: each its own client address).
async fn connect_from(source: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((source, 0)))
        .expect("bind a loopback source address");
    socket.connect(to).await.expect("connect")
}

/// Everything the server sends until it closes (or `within` passes: then what came so far).
async fn read_all(conn: &mut TcpStream, within: Duration) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(within, conn.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// The status and the JSON body of a raw answer.
fn status_and_json(answer: &str) -> (u16, Value) {
    let status = answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let json = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("the body is not the JSON error ({e}): {answer:?}"));
    (status, json)
}

fn code(json: &Value) -> &str {
    json["error"]["code"].as_str().unwrap_or("")
}

async fn healthz(addr: SocketAddr, source: [u8; 4]) -> u16 {
    let mut c = connect_from(source, addr).await;
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    status_and_json(&read_all(&mut c, Duration::from_secs(5)).await).0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_that_never_finishes_gets_408_and_an_idle_connection_is_closed() {
    let h = common::start_with(tempfile::tempdir().expect("tempdir"), |c| {
        c.connections.header_timeout = Duration::from_secs(1);
        c.connections.idle_timeout = Duration::from_secs(2);
    })
    .await;
    let addr = h.server.local_addr();

    // Half a head, then nothing: 408 with the JSON error, about a second after its first byte.
    let mut slow = connect_from([127, 0, 0, 1], addr).await;
    let start = Instant::now();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let answer = read_all(&mut slow, Duration::from_secs(10)).await;
    let waited = start.elapsed();
    let (status, json) = status_and_json(&answer);
    assert_eq!(status, 408, "{answer}");
    assert_eq!(code(&json), "request_timeout", "{answer}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "cut after {waited:?}"
    );

    // One byte a second keeps no head alive past the header timeout.
    let mut dribble = connect_from([127, 0, 0, 1], addr).await;
    let start = Instant::now();
    let mut cut = false;
    for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" {
        if dribble.write_all(&[*b]).await.is_err() {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        if start.elapsed() > Duration::from_secs(5) {
            break;
        }
    }
    let answer = read_all(&mut dribble, Duration::from_secs(5)).await;
    assert!(
        cut || answer.starts_with("HTTP/1.1 408"),
        "a dribbled head was served: {answer:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(8));

    // A connection that sends nothing is closed after the idle timeout, without an answer.
    let mut silent = connect_from([127, 0, 0, 1], addr).await;
    let start = Instant::now();
    let answer = read_all(&mut silent, Duration::from_secs(10)).await;
    let waited = start.elapsed();
    assert_eq!(answer, "", "nothing was asked, nothing is answered");
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(5),
        "closed after {waited:?}"
    );

    // Keep-alive: a served connection left idle is closed after the idle timeout too.
    let mut kept = connect_from([127, 0, 0, 1], addr).await;
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let start = Instant::now();
    let answer = read_all(&mut kept, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );

    // A handler that takes longer than the idle timeout is not cut: a request in flight is
    // not idle. (A body read is the handler's to bound.)
    assert_eq!(healthz(addr, [127, 0, 0, 2]).await, 200);
    let metrics = h.get_text("audit", "/metrics").await;
    assert!(
        metrics.contains(r#"aiaudit_connections_refused_total{reason="header_timeout"}"#),
        "{metrics}"
    );
    h.server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_arriving_gets_408_and_nothing_is_written() {
    let h = common::start_with(tempfile::tempdir().expect("tempdir"), |c| {
        c.connections.body_timeout = Duration::from_secs(1);
    })
    .await;
    let addr = h.server.local_addr();
    let event = br#"{"type":"model_training","name":"x","status":"INFO"}"#;
    let mut c = connect_from([127, 0, 0, 1], addr).await;
    c.write_all(
        format!(
            "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            h.token("ingest"),
            event.len()
        )
        .as_bytes(),
    )
    .await
    .expect("write");
    c.write_all(&event[..10]).await.expect("write part");
    let answer = read_all(&mut c, Duration::from_secs(10)).await;
    let (status, json) = status_and_json(&answer);
    assert_eq!(status, 408, "{answer}");
    assert_eq!(code(&json), "request_timeout");
    assert!(
        json["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("10 bytes came")),
        "{json}"
    );
    let (_, listed) = h.get_json("read", "/v1/events").await;
    assert_eq!(
        listed["events"].as_array().map(Vec::len),
        Some(0),
        "{listed}"
    );
    h.server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_caps_get_429_or_503_and_others_are_still_served() {
    let h = common::start_with(tempfile::tempdir().expect("tempdir"), |c| {
        c.connections.max_per_address = Some(4);
        c.connections.max_connections = 6;
    })
    .await;
    let addr = h.server.local_addr();
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from([127, 0, 0, 1], addr).await);
    }
    // Accepted connections are counted once the server has accepted them.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fifth = connect_from([127, 0, 0, 1], addr).await;
    let answer = read_all(&mut fifth, Duration::from_secs(5)).await;
    let (status, json) = status_and_json(&answer);
    assert_eq!(status, 429, "{answer}");
    assert_eq!(code(&json), "too_many_connections");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );

    // Another address still gets in, up to the total.
    assert_eq!(healthz(addr, [127, 0, 0, 2]).await, 200);
    held.push(connect_from([127, 0, 0, 2], addr).await);
    held.push(connect_from([127, 0, 0, 3], addr).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut over = connect_from([127, 0, 0, 4], addr).await;
    let answer = read_all(&mut over, Duration::from_secs(5)).await;
    let (status, json) = status_and_json(&answer);
    assert_eq!(status, 503, "{answer}");
    assert_eq!(code(&json), "server_busy");

    // Places come free as connections close.
    held.clear();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(healthz(addr, [127, 0, 0, 1]).await, 200);
    let metrics = h.get_text("audit", "/metrics").await;
    assert!(
        metrics.contains(r#"aiaudit_connections_refused_total{reason="per_address"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"aiaudit_connections_refused_total{reason="total"} 1"#),
        "{metrics}"
    );
    h.server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_past_the_budget_get_503_before_they_are_read() {
    let h = common::start_with(tempfile::tempdir().expect("tempdir"), |c| {
        c.limits.max_body_bytes = 1 << 20;
        c.connections.body_budget = 3 << 20;
    })
    .await;
    let addr = h.server.local_addr();
    let head = |len: usize| {
        format!(
            "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {len}\r\n\r\n",
            h.token("ingest")
        )
    };
    // Three unfinished bodies of 1,000,000 bytes hold the whole budget.
    let mut holding = Vec::new();
    for _ in 0..3 {
        let mut c = connect_from([127, 0, 0, 1], addr).await;
        c.write_all(head(1_000_000).as_bytes()).await.expect("head");
        c.write_all(&[b' '; 1000])
            .await
            .expect("a little of the body");
        holding.push(c);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A fourth, of the same size, does not fit: 503 at once.
    let mut fourth = connect_from([127, 0, 0, 2], addr).await;
    fourth
        .write_all(head(1_000_000).as_bytes())
        .await
        .expect("head");
    let answer = read_all(&mut fourth, Duration::from_secs(5)).await;
    let (status, json) = status_and_json(&answer);
    assert_eq!(status, 503, "{answer}");
    assert_eq!(code(&json), "server_busy");
    // A small event still fits beside them.
    let (status, body) = h
        .post_json(
            "ingest",
            "/v1/events",
            &serde_json::json!({"type":"model_training","name":"x","status":"INFO"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // Finishing one held body (an invalid one) frees its share.
    let mut first = holding.remove(0);
    first
        .write_all(&vec![b' '; 999_000])
        .await
        .expect("the rest");
    let answer = read_all(&mut first, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    drop(first);
    let mut again = connect_from([127, 0, 0, 2], addr).await;
    let event = br#"{"type":"model_training","name":"y","status":"INFO"}"#;
    let mut padded = event.to_vec();
    padded.resize(1_000_000, b' ');
    again
        .write_all(head(padded.len()).as_bytes())
        .await
        .expect("head");
    again.write_all(&padded).await.expect("body");
    let answer = read_all(&mut again, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    h.server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_hyper_cannot_parse_get_the_json_error() {
    let h = common::start().await;
    let addr = h.server.local_addr();
    let mut many_headers = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for i in 0..10_000 {
        many_headers.push_str(&format!("X-H{i}: {i}\r\n"));
    }
    many_headers.push_str("\r\n");
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "a raw 0xff byte in the path",
            b"GET /v1/\xff HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a garbage request line",
            b"\x01\x02garbage\r\n\r\n".to_vec(),
            400,
        ),
        ("no version", b"GET /healthz\r\n\r\n".to_vec(), 400),
        ("10,000 headers", many_headers.into_bytes(), 431),
        (
            "a header without a colon",
            b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n".to_vec(),
            400,
        ),
    ];
    for (what, request, want) in cases {
        let mut c = connect_from([127, 0, 0, 1], addr).await;
        let _ = c.write_all(&request).await;
        let answer = read_all(&mut c, Duration::from_secs(5)).await;
        let (status, json) = status_and_json(&answer);
        assert_eq!(status, want, "{what}: {answer}");
        assert!(!code(&json).is_empty(), "{what}: {answer}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("x-content-type-options: nosniff"),
            "{what}: {answer}"
        );
    }
    assert_eq!(healthz(addr, [127, 0, 0, 1]).await, 200);
    h.server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_longer_than_the_idle_timeout_is_not_cut_and_the_idle_connection_after_it_is() {
    let h = common::start_with(tempfile::tempdir().expect("tempdir"), |c| {
        c.connections.idle_timeout = Duration::from_secs(1);
        c.connections.body_timeout = Duration::from_secs(10);
    })
    .await;
    let addr = h.server.local_addr();
    let event = br#"{"type":"model_training","name":"slow","status":"INFO"}"#;
    let mut c = connect_from([127, 0, 0, 1], addr).await;
    c.write_all(
        format!(
            "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            h.token("ingest"),
            event.len()
        )
        .as_bytes(),
    )
    .await
    .expect("head");
    // In flight for 2.5 idle timeouts: the handler is reading its body, which is not idle.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    c.write_all(event).await.expect("body");
    let start = Instant::now();
    // Kept alive after the answer; closed one idle timeout later.
    let answer = read_all(&mut c, Duration::from_secs(10)).await;
    let waited = start.elapsed();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "the idle connection was closed after {waited:?}"
    );
    h.server.shutdown().await.expect("shutdown");
}
