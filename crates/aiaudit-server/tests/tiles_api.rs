//! The c2sp.org/tlog-tiles read API of a running server, over SQLite and PostgreSQL: the tiles
//! hold the stored tree's hashes, the bundles the records that hash to them, the root rebuilt
//! from the tiles is the signed one, and a record a bundle cannot carry is a clear error that
//! leaves the hash tiles whole. (An independent client verifies the same in the Python tests.)

mod common;

use aiaudit_core::tiles::parse_bundle;
use aiaudit_core::{Checkpoint, MemoryTree, NoteVerifier, leaf_hash};
use serde_json::{Value, json};

async fn get(h: &common::Harness, role: Option<&str>, path: &str) -> reqwest::Response {
    let mut req = h.http.get(format!("{}{path}", h.url));
    if let Some(role) = role {
        req = req.bearer_auth(h.token(role));
    }
    req.send().await.expect("request")
}

async fn bytes(h: &common::Harness, path: &str) -> Vec<u8> {
    let resp = get(h, Some("audit"), path).await;
    assert_eq!(resp.status(), 200, "{path}");
    resp.bytes().await.expect("body").to_vec()
}

async fn ingest(h: &common::Harness, n: usize, pad: usize) {
    let events: Vec<Value> = (0..n)
        .map(|i| json!({"type": "event", "name": format!("e{i}"), "details": {"pad": "x".repeat(pad)}}))
        .collect();
    let (status, receipt) = h
        .post_json("ingest", "/v1/events?wait=commit", &Value::Array(events))
        .await;
    assert_eq!(status, 201, "{receipt}");
}

/// Fetches every level-0 tile and bundle of the latest checkpoint and checks them against
/// each other and the signed root; returns the tree size.
async fn check_tiles(h: &common::Harness) -> u64 {
    let note = String::from_utf8(bytes(h, "/checkpoint").await).expect("text");
    let verifier = NoteVerifier::parse(&h.server.verifier_key()).expect("key");
    let cp = Checkpoint::open(&note, &verifier).expect("signed checkpoint");
    let mut tree = MemoryTree::new();
    let mut n = 0u64;
    while n * 256 < cp.size {
        let width = (cp.size - n * 256).min(256);
        let suffix = if width == 256 {
            String::new()
        } else {
            format!(".p/{width}")
        };
        let tile = bytes(h, &format!("/tile/0/{n:03}{suffix}")).await;
        let bundle = bytes(h, &format!("/tile/entries/{n:03}{suffix}")).await;
        let entries = parse_bundle(&bundle).expect("bundle");
        assert_eq!(entries.len() as u64, width);
        assert_eq!(tile.len() as u64, 32 * width);
        for (i, data) in entries.iter().enumerate() {
            assert_eq!(
                &tile[32 * i..32 * i + 32],
                &leaf_hash(data)[..],
                "entry {i} of {n}"
            );
            let record: Value = serde_json::from_slice(data).expect("a record");
            assert_eq!(record["seq"], json!(n * 256 + i as u64));
            tree.push(leaf_hash(data));
        }
        n += 1;
    }
    assert_eq!(tree.root(), cp.root, "the tiles rebuild the signed root");
    // Level 1 holds the roots of the full level-0 tiles.
    if cp.size >= 256 {
        let level1 = bytes(h, &format!("/tile/1/000.p/{}", cp.size / 256)).await;
        let mut first = MemoryTree::new();
        for h0 in bytes(h, "/tile/0/000").await.chunks(32) {
            first.push(h0.try_into().expect("32 bytes"));
        }
        assert_eq!(&level1[..32], &first.root()[..]);
    }
    cp.size
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_over_sqlite_rebuild_the_signed_tree() {
    let h = common::start().await;
    let empty = get(&h, Some("audit"), "/checkpoint").await;
    assert_eq!(empty.status(), 404, "an empty log has no checkpoint");
    assert_eq!(
        get(&h, Some("audit"), "/tile/0/000.p/1").await.status(),
        404
    );
    ingest(&h, 600, 10).await;
    let size = check_tiles(&h).await;
    assert!(size >= 600);

    // Roles: the audit role by default.
    assert_eq!(get(&h, None, "/tile/0/000").await.status(), 401);
    assert_eq!(get(&h, Some("read"), "/tile/0/000").await.status(), 403);
    assert_eq!(get(&h, Some("ingest"), "/checkpoint").await.status(), 403);
    assert_eq!(get(&h, Some("admin"), "/tile/0/000").await.status(), 200);

    // Malformed paths: 400 in the server's JSON error form, naming the problem.
    for (path, why) in [
        ("/tile/0/5", "three digits"),
        ("/tile/01/000", "level \"01\""),
        ("/tile/0/000.p/300", "partial width \"300\""),
        ("/tile/entries/x000/001", "x000"),
        ("/tile/0/001/002", "must begin with \"x\""),
    ] {
        let resp = get(&h, Some("audit"), path).await;
        assert_eq!(resp.status(), 400, "{path}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["error"]["code"], "invalid_tile_path", "{path}");
        let msg = body["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(why), "{path}: {msg}");
    }
    let resp = get(&h, Some("audit"), "/tile/3/000").await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.expect("json");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("beyond the tree"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_longer_than_a_bundle_carries_is_named_and_the_hashes_stay_whole() {
    let h = common::start().await;
    ingest(&h, 3, 10).await;
    ingest(&h, 1, 70_000).await;
    ingest(&h, 2, 10).await;
    let resp = get(&h, Some("audit"), "/tile/entries/000.p/6").await;
    assert_eq!(resp.status(), 501);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "entry_too_long");
    let msg = body["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("seq 3") && msg.contains("65535"), "{msg}");
    // The bundle before it, and the hash tiles, are served.
    assert_eq!(
        parse_bundle(&bytes(&h, "/tile/entries/000.p/3").await)
            .map(|e| e.len())
            .ok(),
        Some(3)
    );
    assert_eq!(bytes(&h, "/tile/0/000.p/6").await.len(), 6 * 32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_over_postgres_are_the_same() {
    let schema = format!("t_tiles_{}", std::process::id());
    let blocking = schema.clone();
    tokio::task::spawn_blocking(move || common::drop_schema(&blocking))
        .await
        .expect("drop");
    let url = format!("{}?schema={schema}", common::pg_base());
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("log.key");
    let tokens = dir.path().join("log.tokens");
    let h = common::start_with(dir, |c| {
        c.db = url.clone().into();
        c.signing_key = Some(key.clone());
        c.tokens = Some(tokens.clone());
    })
    .await;
    ingest(&h, 300, 10).await;
    ingest(&h, 300, 10).await;
    assert!(check_tiles(&h).await >= 600);
    h.server.shutdown().await.expect("shutdown");
    tokio::task::spawn_blocking(move || common::drop_schema(&schema))
        .await
        .expect("drop");
}
