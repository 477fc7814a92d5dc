//! Bad input gets a 4xx JSON error naming the problem, and writes nothing.

mod common;

use serde_json::{Value, json};

struct Case {
    what: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
    names: &'static str,
}

fn case(
    what: &'static str,
    ct: Option<&'static str>,
    body: impl Into<Vec<u8>>,
    status: u16,
    code: &'static str,
    names: &'static str,
) -> Case {
    Case {
        what,
        content_type: ct,
        body: body.into(),
        status,
        code,
        names,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_is_a_named_4xx_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = common::start_with(dir, |c| {
        c.limits.max_body_bytes = 64 * 1024;
        c.limits.max_batch = 5;
        c.limits.max_depth = 4;
    })
    .await;
    let json_ct = Some("application/json");
    let deep = json!({"name": "x", "details": {"a": {"b": {"c": {"d": {"e": 1}}}}}});
    let too_big = format!("{{\"name\":\"{}\"}}", "x".repeat(70 * 1024));
    let many: Vec<Value> = (0..6).map(|_| json!({"name": "x"})).collect();
    let ndjson_many = "{\"name\":\"x\"}\n".repeat(6);
    let cases = vec![
        case(
            "malformed JSON",
            json_ct,
            "{\"name\": ",
            400,
            "invalid_json",
            "EOF",
        ),
        case(
            "not JSON at all",
            json_ct,
            "hello",
            400,
            "invalid_json",
            "JSON object",
        ),
        case("empty body", json_ct, "", 400, "invalid_json", "empty"),
        case(
            "empty array",
            json_ct,
            "[]",
            400,
            "invalid_event",
            "no event",
        ),
        case(
            "a JSON scalar",
            json_ct,
            "42",
            400,
            "invalid_json",
            "JSON object",
        ),
        case(
            "wrong content type",
            Some("text/plain"),
            "{\"name\":\"x\"}",
            415,
            "unsupported_media_type",
            "text/plain",
        ),
        case(
            "no content type",
            None,
            "{\"name\":\"x\"}",
            415,
            "unsupported_media_type",
            "Content-Type",
        ),
        case(
            "missing name",
            json_ct,
            "{\"type\":\"drift\"}",
            400,
            "invalid_event",
            "name",
        ),
        case(
            "a server-only detail",
            json_ct,
            "[{\"name\":\"ok\"},{\"name\":\"x\",\"details\":{\"ingest_id\":\"AIAUDIT:7\"}}]",
            400,
            "invalid_event",
            "event 1: details.ingest_id is set by the server itself",
        ),
        case(
            "unknown field",
            json_ct,
            "{\"name\":\"x\",\"detials\":{}}",
            400,
            "invalid_event",
            "detials",
        ),
        case(
            "details not an object",
            json_ct,
            "{\"name\":\"x\",\"details\":[1]}",
            400,
            "invalid_event",
            "details",
        ),
        case(
            "type with a space",
            json_ct,
            "{\"name\":\"x\",\"type\":\"a b\"}",
            400,
            "invalid_event",
            "type",
        ),
        case(
            "empty model name",
            json_ct,
            "{\"name\":\"x\",\"model\":{\"name\":\"\"}}",
            400,
            "invalid_event",
            "model name",
        ),
        case(
            "a bad occurred time",
            json_ct,
            "{\"name\":\"x\",\"occurred\":\"yesterday\"}",
            400,
            "invalid_event",
            "occurred",
        ),
        case(
            "an integer beyond 2^53",
            json_ct,
            "{\"name\":\"x\",\"details\":{\"n\":18014398509481985}}",
            400,
            "invalid_event",
            "2^53",
        ),
        case(
            "unknown status",
            json_ct,
            "[{\"name\":\"ok\"},{\"name\":\"x\",\"status\":\"SHOUTING\"}]",
            400,
            "unknown_status",
            "event 1: unknown status \"SHOUTING\"",
        ),
        case(
            "body over the limit",
            json_ct,
            too_big,
            413,
            "body_too_large",
            "65536 bytes",
        ),
        case(
            "nesting over the limit",
            json_ct,
            deep.to_string(),
            400,
            "too_deep",
            "limit is 4",
        ),
        case(
            "nesting past the parser",
            json_ct,
            format!(
                "{{\"name\":\"x\",\"details\":{{\"a\":{}{}}}}}",
                "[".repeat(300),
                "]".repeat(300)
            ),
            400,
            "too_deep",
            "nested too deeply",
        ),
        case(
            "batch over the limit",
            json_ct,
            Value::Array(many).to_string(),
            413,
            "batch_too_large",
            "at most 5",
        ),
        case(
            "NDJSON batch over the limit",
            Some("application/x-ndjson"),
            ndjson_many,
            413,
            "batch_too_large",
            "at most 5",
        ),
        case(
            "a bad NDJSON line",
            Some("application/x-ndjson"),
            "{\"name\":\"x\"}\n{\"name\":}\n",
            400,
            "invalid_json",
            "line 2",
        ),
        case(
            "invalid UTF-8",
            json_ct,
            vec![
                b'{', b'"', b'n', b'a', b'm', b'e', b'"', b':', b'"', 0xff, b'"', b'}',
            ],
            400,
            "invalid_json",
            "line 1",
        ),
        case(
            "a key twice at the top",
            json_ct,
            r#"{"name":"x","name":"y"}"#,
            400,
            "invalid_event",
            "duplicate field",
        ),
        case(
            "a key twice deep inside details",
            json_ct,
            r#"{"name":"x","details":{"a":{"b":[{"k":1,"k":2}]}}}"#,
            400,
            "invalid_event",
            "duplicate key \"k\"",
        ),
        case(
            "a key twice in details, in an NDJSON batch",
            Some("application/x-ndjson"),
            "{\"name\":\"x\"}\n{\"name\":\"y\",\"details\":{\"a\":1,\"a\":1}}\n",
            400,
            "invalid_event",
            "line 2",
        ),
        case(
            "a parent that is a path",
            json_ct,
            r#"{"name":"x","parent":"../../etc"}"#,
            400,
            "invalid_event",
            "parent \"../../etc\"",
        ),
        case(
            "an operation id with a space",
            json_ct,
            r#"{"name":"x","operation":{"id":"a b"}}"#,
            400,
            "invalid_event",
            "operation.id",
        ),
        case(
            "an actor.ip that is not an address",
            json_ct,
            r#"{"name":"x","actor":{"ip":"<script>"}}"#,
            400,
            "invalid_event",
            "not an IP address",
        ),
    ];
    for c in &cases {
        let mut r = h
            .http
            .post(format!("{}/v1/events", h.url))
            .bearer_auth(h.token("ingest"))
            .body(c.body.clone());
        if let Some(ct) = c.content_type {
            r = r.header("content-type", ct);
        }
        let resp = r.send().await.expect("request");
        let status = resp.status().as_u16();
        let e: Value = resp.json().await.expect("a JSON error body");
        assert_eq!(status, c.status, "{}: {e}", c.what);
        assert_eq!(e["error"]["code"], c.code, "{}: {e}", c.what);
        let msg = e["error"]["message"].as_str().expect("message");
        assert!(
            msg.contains(c.names),
            "{}: {msg:?} should name {:?}",
            c.what,
            c.names
        );
    }
    // Nothing of all that was written; a good event still is.
    let (s, r) = h
        .post_json("ingest", "/v1/events?wait=commit", &json!({"name": "good"}))
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["seqs"], json!([0]), "no bad event took a seq");
    // Bad query parameters, bad paths, unknown routes and methods: JSON 4xx too.
    for (path, status, code) in [
        ("/v1/events?limit=abc", 400, "invalid_parameter"),
        ("/v1/events?limit=0", 400, "invalid_parameter"),
        ("/v1/events?since=the-dawn", 400, "invalid_parameter"),
        ("/v1/events?cursor=zz", 400, "invalid_parameter"),
        ("/v1/events?order=sideways", 400, "invalid_parameter"),
        ("/v1/events?type=%ff%fe", 400, "invalid_parameter"),
        ("/v1/events?user=%C3", 400, "invalid_parameter"),
        ("/v1/events?type=a&type=b", 400, "invalid_parameter"),
        ("/v1/events?tpye=a", 400, "invalid_parameter"),
        ("/v1/events/not-a-seq", 400, "invalid_parameter"),
        ("/v1/events/18446744073709551615", 404, "not_found"),
        ("/v1/proofs/inclusion?seq=-1", 400, "invalid_parameter"),
        ("/v1/proofs/inclusion", 400, "invalid_parameter"),
        ("/v1/proofs/inclusion?seq=1000000", 404, "not_found"),
        ("/v1/proofs/consistency?from=0", 404, "not_found"),
        ("/v2/anything", 404, "not_found"),
    ] {
        let (s, e) = h.get_json("admin", path).await;
        assert_eq!(s, status, "{path}: {e}");
        assert_eq!(e["error"]["code"], code, "{path}: {e}");
    }
    let resp = h
        .http
        .patch(format!("{}/v1/events", h.url))
        .bearer_auth(h.token("admin"))
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status().as_u16(), 405);
    let e: Value = resp.json().await.expect("json");
    assert_eq!(e["error"]["code"], "method_not_allowed");
    // Bad token requests.
    let (s, e) = h
        .post_json("admin", "/v1/tokens", &json!({"name": "x", "role": "god"}))
        .await;
    assert_eq!(s, 400, "{e}");
    let (s, e) = h
        .post_json(
            "admin",
            "/v1/tokens",
            &json!({"name": "read-token", "role": "read"}),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .expect("m")
            .contains("exists already")
    );

    h.server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_record_is_refused_alone_and_reserved_types_are_the_servers() {
    // The default limits: a 16 MiB body may carry an event larger than a sealed record.
    let h = common::start().await;
    let big = "x".repeat(1_100_000);
    let (s, e) = h
        .post_json(
            "ingest",
            "/v1/events?wait=commit",
            &json!([{"name": "ok"}, {"name": "big", "details": {"b": big}}]),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["error"]["index"], json!(1), "{e}");
    // Escapes make a record larger than its text: refused by the writer, alone.
    let escaped = "\u{1}".repeat(300_000);
    let (s, e) = h
        .post_json(
            "ingest",
            "/v1/events?wait=commit",
            &json!([{"name": "ok"}, {"name": "esc", "details": {"b": escaped}}]),
        )
        .await;
    assert!(s == 400 || s == 503, "{s} {e}");
    assert_ne!(s, 503, "one oversized record must not stop the log: {e}");
    for kind in ["access", "admin", "erasure", "alert"] {
        let (s, e) = h
            .post_json(
                "ingest",
                "/v1/events",
                &json!({"name": "forged", "type": kind}),
            )
            .await;
        assert_eq!(s, 400, "{kind}: {e}");
        assert_eq!(e["error"]["index"], json!(0));
    }
    // A schema error inside an array names the event too.
    let (s, e) = h
        .post_json(
            "ingest",
            "/v1/events",
            &json!([{"name": "a"}, {"name": "b"}, {"name": 3}]),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(e["error"]["index"], json!(2), "{e}");
    let (s, r) = h
        .post_json(
            "ingest",
            "/v1/events?wait=commit",
            &json!({"name": "still fine"}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["seqs"], json!([0]));
    h.server.shutdown().await.expect("shutdown");
}
