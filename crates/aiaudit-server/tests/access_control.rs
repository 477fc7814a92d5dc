//! The route × role matrix: no token → 401, a wrong role → 403 (both JSON), the right role
//! passes; health and metrics open or protected as configured; revocation is immediate.

mod common;

use reqwest::Method;
use serde_json::{Value, json};

/// (method, path, body, the weakest role allowed).
fn routes() -> Vec<(Method, &'static str, Option<Value>, &'static str)> {
    vec![
        (
            Method::POST,
            "/v1/events",
            Some(json!({"name": "x"})),
            "ingest",
        ),
        (Method::GET, "/v1/events", None, "read"),
        (Method::GET, "/v1/events/0", None, "read"),
        (Method::GET, "/v1/events?type=access", None, "audit"),
        (Method::GET, "/v1/checkpoint", None, "read"),
        (Method::GET, "/v1/proofs/inclusion?seq=0", None, "audit"),
        (Method::GET, "/v1/proofs/consistency?from=1", None, "audit"),
        (Method::GET, "/v1/verify", None, "audit"),
        (Method::GET, "/v1/tokens", None, "admin"),
        (
            Method::POST,
            "/v1/tokens",
            Some(json!({"name": "new", "role": "read"})),
            "admin",
        ),
        (
            Method::POST,
            "/v1/subjects/s-1/erasure",
            Some(json!({"reason": "test"})),
            "admin",
        ),
        (Method::DELETE, "/v1/tokens/no-such-token", None, "admin"),
        (Method::GET, "/metrics", None, "audit"),
        (Method::GET, "/v1/reports/integrity", None, "audit"),
        (
            Method::GET,
            "/v1/reports/usage?model=m&days=7",
            None,
            "read",
        ),
        (Method::GET, "/v1/reports/operations", None, "read"),
        (
            Method::GET,
            "/v1/reports/ai-act?format=html&lang=de",
            None,
            "read",
        ),
        (Method::GET, "/v1/stream", None, "read"),
        (Method::GET, "/v1/stream?type=access", None, "audit"),
        (Method::GET, "/v1/whoami", None, "any"),
    ]
}

fn allows(role: &str, need: &str) -> bool {
    need == "any" || role == "admin" || role == need || (role == "audit" && need == "read")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_for_every_role() {
    let h = common::start().await;
    // Something to read, and a checkpoint to prove against.
    let (s, _) = h
        .post_json(
            "ingest",
            "/v1/events?wait=commit",
            &json!([{"name": "a"}, {"name": "b"}]),
        )
        .await;
    assert_eq!(s, 201);
    for (method, path, body, need) in routes() {
        let send = |token: Option<&str>| {
            let mut r = h.http.request(method.clone(), format!("{}{path}", h.url));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            if let Some(b) = &body {
                r = r.json(b);
            }
            r.send()
        };
        let resp = send(None).await.expect("request");
        assert_eq!(
            resp.status().as_u16(),
            401,
            "{method} {path} without a token"
        );
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        let e: Value = resp.json().await.expect("JSON error");
        assert_eq!(e["error"]["code"], "unauthorized", "{method} {path}");
        let resp = send(Some("aiat_000000000000_deadbeef"))
            .await
            .expect("request");
        assert_eq!(
            resp.status().as_u16(),
            401,
            "{method} {path} with a forged token"
        );
        for role in ["ingest", "read", "audit", "admin"] {
            let resp = send(Some(h.token(role))).await.expect("request");
            let status = resp.status().as_u16();
            // A live stream that was let in never ends: its status is the answer.
            if path.starts_with("/v1/stream") && status == 200 {
                assert!(allows(role, need), "{method} {path} as {role}");
                continue;
            }
            let e: Value = resp.json().await.unwrap_or(Value::Null);
            if allows(role, need) {
                assert!(
                    status != 401 && status != 403,
                    "{method} {path} as {role}: {status} {e}"
                );
                assert!(status < 500, "{method} {path} as {role}: {status} {e}");
            } else {
                assert_eq!(status, 403, "{method} {path} as {role}: {e}");
                assert_eq!(e["error"]["code"], "forbidden");
                assert!(
                    e["error"]["message"]
                        .as_str()
                        .expect("message")
                        .contains(need),
                    "{e}"
                );
            }
        }
    }
    // Health is open by default; metrics are not.
    let resp = h
        .http
        .get(format!("{}/healthz", h.url))
        .send()
        .await
        .expect("healthz");
    assert_eq!(resp.status().as_u16(), 200);
    let resp = h
        .http
        .get(format!("{}/readyz", h.url))
        .send()
        .await
        .expect("readyz");
    let r: Value = resp.json().await.expect("json");
    assert_eq!(r["status"], "ready");
    // A read-role token never sees access events, even unfiltered.
    let (_, page) = h.get_json("read", "/v1/events?limit=1000").await;
    assert!(
        page["events"]
            .as_array()
            .expect("events")
            .iter()
            .all(|e| e["type"] != "access")
    );
    let (_, page) = h
        .get_json("audit", "/v1/events?type=access&limit=1000")
        .await;
    assert!(!page["events"].as_array().expect("events").is_empty());
    h.server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_health_open_metrics_and_revocation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = common::start_with(dir, |c| {
        c.open_health = false;
        c.open_metrics = true;
    })
    .await;
    let get = |path: &'static str, token: Option<String>| {
        let mut r = h.http.get(format!("{}{path}", h.url));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    assert_eq!(
        get("/healthz", None).await.expect("r").status().as_u16(),
        401
    );
    assert_eq!(
        get("/readyz", None).await.expect("r").status().as_u16(),
        401
    );
    let audit = Some(h.token("audit").to_owned());
    assert_eq!(
        get("/healthz", audit).await.expect("r").status().as_u16(),
        200
    );
    let m = get("/metrics", None).await.expect("r");
    assert_eq!(m.status().as_u16(), 200);
    let text = m.text().await.expect("text");
    assert!(
        text.contains("aiaudit_auth_failures_total{reason=\"missing\"}"),
        "{text}"
    );

    // Revoked over the API (or by `aiaudit token revoke`): refused on the next request.
    let (s, created) = h
        .post_json(
            "admin",
            "/v1/tokens",
            &json!({"name": "temp", "role": "read"}),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let temp = created["token"].as_str().expect("token").to_owned();
    let ok = get("/v1/events", Some(temp.clone())).await.expect("r");
    assert_eq!(ok.status().as_u16(), 200);
    let resp = h
        .http
        .delete(format!("{}/v1/tokens/temp", h.url))
        .bearer_auth(h.token("admin"))
        .send()
        .await
        .expect("revoke");
    assert_eq!(resp.status().as_u16(), 200);
    let refused = get("/v1/events", Some(temp)).await.expect("r");
    assert_eq!(refused.status().as_u16(), 401);
    // The token list never shows a token, only hashes' owners.
    let (_, list) = h.get_json("admin", "/v1/tokens").await;
    let listed = list.to_string();
    assert!(!listed.contains("aiat_"), "{listed}");
    assert!(listed.contains("\"revoked\""));
    h.server.shutdown().await.expect("shutdown");
}
