//! `GET /v1/stream` (server-sent events), `GET /v1/whoami`, the dashboard's files, and the
//! reports over HTTP in every format and language.

mod common;

use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Reads a server-sent event stream until `done` says the messages so far are enough.
async fn read_until(
    resp: &mut reqwest::Response,
    done: impl Fn(&[(String, String, String)]) -> bool,
) -> Vec<(String, String, String)> {
    let mut buf = String::new();
    let mut messages = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done(&messages) {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, resp.chunk())
            .await
            .expect("a message within 15 s")
            .expect("stream read")
            .expect("the stream stays open");
        buf.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        while let Some(end) = buf.find("\n\n") {
            let msg: String = buf.drain(..end + 2).collect();
            let (mut event, mut id, mut data) = (String::new(), String::new(), String::new());
            for line in msg.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    event = v.to_owned();
                } else if let Some(v) = line.strip_prefix("id: ") {
                    id = v.to_owned();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push_str(v);
                }
            }
            if !event.is_empty() {
                messages.push((event, id, data));
            }
        }
    }
    messages
}

fn records(messages: &[(String, String, String)]) -> Vec<Value> {
    messages
        .iter()
        .filter(|m| m.0 == "events")
        .flat_map(|m| serde_json::from_str::<Vec<Value>>(&m.2).expect("a JSON array of records"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_events_arrive_filtered_and_the_stream_ends_at_shutdown() {
    let h = common::start().await;
    let (s, _) = h
        .post_json(
            "ingest",
            "/v1/events?wait=commit",
            &json!([{"name": "before"}]),
        )
        .await;
    assert_eq!(s, 201);
    let open = |role: &str, q: &str| {
        h.http
            .get(format!("{}/v1/stream{q}", h.url))
            .bearer_auth(h.token(role))
            .send()
    };
    let mut warnings = open("audit", "?status=warning").await.expect("stream");
    assert_eq!(warnings.status().as_u16(), 200);
    assert_eq!(warnings.headers()["content-type"], "text/event-stream");
    let mut everything = open("read", "").await.expect("stream");
    let mut replay = open("audit", "?after=0&type=event").await.expect("stream");

    let (s, _) = h
        .post_json(
            "ingest",
            "/v1/events?wait=commit",
            &json!([
                {"name": "ok", "status": "INFO"},
                {"name": "hot", "status": "WARNING", "model": {"name": "m"}},
                {"name": "ok 2"}
            ]),
        )
        .await;
    assert_eq!(s, 201);

    let got = read_until(&mut warnings, |m| !records(m).is_empty()).await;
    let recs = records(&got);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["name"], "hot");
    let last = got.iter().rfind(|m| m.0 == "events").expect("a message");
    assert_eq!(last.1, recs[0]["seq"].to_string(), "the id is the last seq");

    // The read role sees new events, never access events (its own stream opening is one).
    let got = read_until(&mut everything, |m| records(m).len() >= 3).await;
    let recs = records(&got);
    let names: Vec<&str> = recs.iter().filter_map(|r| r["name"].as_str()).collect();
    assert!(
        records(&got).iter().all(|r| r["type"] != "access"),
        "{names:?}"
    );
    assert_eq!(&names[..3], ["ok", "hot", "ok 2"]);

    // after=0 replays from seq 1 on, in order.
    let got = read_until(&mut replay, |m| records(m).len() >= 3).await;
    let seqs: Vec<u64> = records(&got)
        .iter()
        .filter_map(|r| r["seq"].as_u64())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(
        records(&got)[0]["name"],
        "ok",
        "seq 0 (before) is not after 0"
    );

    // Each stream opening is an audited read.
    let (_, page) = h
        .get_json("audit", "/v1/events?type=access&limit=100")
        .await;
    let streams = page["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["details"]["route"] == "GET /v1/stream")
        .count();
    assert_eq!(streams, 3);

    // A stream's end is recorded with the records it delivered.
    drop(warnings);
    let deadline = Instant::now() + Duration::from_secs(10);
    let streamed = loop {
        let (_, page) = h
            .get_json("audit", "/v1/events?type=access&limit=1000")
            .await;
        let found: Vec<Value> = page["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["details"]["outcome"] == "streamed")
            .cloned()
            .collect();
        if !found.is_empty() || Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(streamed.len(), 1, "{streamed:?}");
    assert_eq!(streamed[0]["details"]["records"], 1);
    assert_eq!(streamed[0]["details"]["filter"]["status"], "warning");
    assert_eq!(streamed[0]["actor"]["user"], "audit-token");

    // Shutdown ends open streams instead of waiting out the grace period.
    let t = Instant::now();
    h.server.shutdown().await.expect("shutdown");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    drop((everything, replay));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_and_the_dashboard_files() {
    let h = common::start().await;
    let (s, me) = h.get_json("read", "/v1/whoami").await;
    assert_eq!(s, 200);
    assert_eq!(me["role"], "read");
    assert_eq!(me["name"], "read-token");
    assert_eq!(
        (me["read"].clone(), me["audit"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(me["verifier_key"], h.server.verifier_key());
    let (s, me) = h.get_json("admin", "/v1/whoami").await;
    assert_eq!(
        (s, me["ingest"].clone(), me["admin"].clone()),
        (200, json!(true), json!(true))
    );

    for (path, kind, needle) in [
        ("/", "text/html", "<script src=\"/assets/dashboard.js\""),
        (
            "/assets/dashboard.js",
            "text/javascript",
            "rootFromInclusion",
        ),
        ("/assets/dashboard.css", "text/css", ".panel"),
    ] {
        let resp = h
            .http
            .get(format!("{}{path}", h.url))
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let ct = resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(ct.starts_with(kind), "{path}: {ct}");
        let csp = resp.headers()["content-security-policy"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        let body = resp.text().await.expect("body");
        assert!(body.contains(needle), "{path}");
    }
    h.server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_in_every_format_and_language() {
    let h = common::start().await;
    let events: Vec<Value> = (0..30)
        .map(|i| {
            json!({
                "type": "model_inference",
                "name": "p",
                "model": {"name": "risk", "version": if i < 10 { "1" } else { "2" }},
                "actor": {"user": format!("u{}", i % 3)},
                "operation": {"id": "run-1", "name": "scoring"},
                "details": {"output": {"prediction": if i % 2 == 0 { "yes" } else { "no" }}, "latency_ms": i},
            })
        })
        .chain([json!({"type": "drift", "name": "d", "status": "WARNING", "model": {"name": "risk"}})])
        .collect();
    let (s, _) = h
        .post_json("ingest", "/v1/events?wait=commit", &json!(events))
        .await;
    assert_eq!(s, 201);

    let (s, usage) = h.get_json("read", "/v1/reports/usage?model=risk").await;
    assert_eq!(s, 200, "{usage}");
    assert_eq!(usage["total_predictions"], 30);
    assert_eq!(usage["total_events"], 31);
    assert_eq!(
        usage["prediction_distribution"],
        json!({"no": 15, "yes": 15})
    );
    assert_eq!(usage["versions_used"], json!({"1": 10, "2": 20}));
    assert_eq!(usage["status_mix"], json!({"INFO": 30, "WARNING": 1}));
    assert_eq!(usage["events_per_day"][0]["total"], 31);

    let (s, ops) = h.get_json("read", "/v1/reports/operations?events=5").await;
    assert_eq!(s, 200);
    assert_eq!(ops["total_operations"], 1);
    assert_eq!(ops["operations"][0]["events"], 30);
    assert_eq!(
        ops["operations"][0]["event_rows"].as_array().map(Vec::len),
        Some(5)
    );
    assert_eq!(ops["operations"][0]["event_rows_omitted"], 25);

    let (s, act) = h.get_json("read", "/v1/reports/ai-act").await;
    assert_eq!(s, 200);
    assert_eq!(act["incidents"]["total"], 1);
    assert_eq!(act["periods_of_use"]["total"], 1);
    assert_eq!(act["coverage"]["covers_six_months"], false);

    let get = |q: &str| {
        h.http
            .get(format!("{}/v1/reports/{q}", h.url))
            .bearer_auth(h.token("read"))
            .send()
    };
    let resp = get("usage?model=risk&format=html&lang=fr")
        .await
        .expect("html");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    assert!(
        resp.headers()["content-security-policy"]
            .to_str()
            .expect("ascii")
            .starts_with("default-src 'none'")
    );
    let html = resp.text().await.expect("body");
    assert!(html.contains("<html lang=\"fr\">") && html.contains("Utilisation du modèle : risk"));
    assert_eq!(html.matches("<svg").count(), 4);
    assert!(!html.contains("<script"));
    // The integrity report verifies the log: the audit role's, as /v1/verify is.
    let md = h
        .http
        .get(format!("{}/v1/reports/integrity?format=md&lang=de", h.url))
        .bearer_auth(h.token("audit"))
        .send()
        .await
        .expect("md");
    assert_eq!(md.headers()["content-type"], "text/markdown; charset=utf-8");
    let md = md.text().await.expect("body");
    assert!(md.starts_with("# Integrität des Protokolls"), "{md}");
    assert!(md.contains("| Einträge |"), "{md}");

    for (q, code, says) in [
        ("usage?model=risk&format=pdf", 400, "use json, md or html"),
        (
            "usage?model=risk&format=html&lang=pt",
            400,
            "use en, de or fr",
        ),
        ("operations?since=yesterday", 400, "since"),
        ("operations?events=1001", 400, "events must be at most 1000"),
        ("usage", 400, "needs model="),
        ("usage?model=risk&days=0", 400, "days"),
        ("ai_act", 404, "ai-act"),
        ("integrity", 403, "needs role audit"),
    ] {
        let resp = get(q).await.expect("request");
        assert_eq!(resp.status().as_u16(), code, "{q}");
        let e: Value = resp.json().await.expect("JSON error");
        assert!(
            e["error"]["message"]
                .as_str()
                .expect("message")
                .contains(says),
            "{q}: {e}"
        );
    }
    h.server.shutdown().await.expect("shutdown");
}
