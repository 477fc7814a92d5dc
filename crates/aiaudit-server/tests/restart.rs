//! Restart the server and find everything that was acknowledged: graceful shutdown commits
//! what was accepted, even answers that came before commit (`202`). Then the same over TLS,
//! and `aiaudit serve` itself stopped by SIGTERM.

mod common;

use aiaudit::{LogReader, Query};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_acknowledged_survives_a_restart() {
    let h = common::start().await;
    let mut acked: Vec<(u64, String)> = Vec::new();
    // Concurrent clients, answered at seal (before commit).
    let mut tasks = Vec::new();
    for c in 0..4 {
        let http = h.http.clone();
        let url = h.url.clone();
        let token = h.token("ingest").to_owned();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for b in 0..25 {
                let batch: Vec<Value> = (0..40)
                    .map(|i| json!({"name": format!("c{c} b{b} e{i}")}))
                    .collect();
                let r: Value = http
                    .post(format!("{url}/v1/events"))
                    .bearer_auth(&token)
                    .json(&batch)
                    .send()
                    .await
                    .expect("post")
                    .json()
                    .await
                    .expect("receipt");
                let seqs = r["seqs"].as_array().expect("seqs").clone();
                let ids = r["ids"].as_array().expect("ids").clone();
                for (s, i) in seqs.iter().zip(ids.iter()) {
                    got.push((s.as_u64().expect("seq"), i.as_str().expect("id").to_owned()));
                }
            }
            got
        }));
    }
    for t in tasks {
        acked.extend(t.await.expect("client"));
    }
    assert_eq!(acked.len(), 4_000);
    let size = h.server.shutdown().await.expect("graceful shutdown");
    assert_eq!(size, 4_000);

    // Restart over the same files: every acknowledged seq holds its id, and the log verifies.
    let h2 = common::start_with(h.dir, |_| {}).await;
    let db = h2.db();
    let reader = LogReader::open(&db).expect("reader");
    for (seq, id) in &acked {
        assert_eq!(&reader.get(*seq).expect("acknowledged entry").id, id);
    }
    let (s, r) = h2
        .post_json(
            "ingest",
            "/v1/events?wait=commit",
            &json!({"name": "after"}),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        r["seqs"],
        json!([4_000]),
        "the restarted server continues the same log"
    );
    let verify = h2
        .http
        .get(format!("{}/v1/verify", h2.url))
        .bearer_auth(h2.token("audit"))
        .send()
        .await
        .expect("verify")
        .text()
        .await
        .expect("text");
    assert!(verify.contains("\"intact\":true"), "{verify}");
    h2.server.shutdown().await.expect("shutdown");
    let names = reader
        .query(&Query {
            limit: 0,
            ..Query::default()
        })
        .expect("query")
        .len();
    assert!(names > 4_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_certificate_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let ca = dir.path().join("ca.pem");
    let d = dir.path();
    std::fs::write(
        d.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .expect("ext file");
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        d,
        &[
            &["req", "-x509"],
            &ec[..],
            &[
                "-days",
                "1",
                "-subj",
                "/CN=aiaudit test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        ]
        .concat(),
    );
    openssl(
        d,
        &[
            &["req"],
            &ec[..],
            &[
                "-subj",
                "/CN=localhost",
                "-keyout",
                "key.pem",
                "-out",
                "leaf.csr",
            ],
        ]
        .concat(),
    );
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "leaf.ext",
            "-out",
            "cert.pem",
        ],
    );
    let (c2, k2) = (cert.clone(), key.clone());
    let h = common::start_with(dir, move |c| c.tls = Some((c2, k2))).await;
    assert!(h.url.starts_with("https://"));
    let pem = std::fs::read(&ca).expect("CA cert");
    let client = aiaudit_client::Client::with_options(
        &h.url,
        h.token("ingest"),
        Some(&pem),
        aiaudit_client::RetryPolicy::default(),
    )
    .expect("client");
    let r = client
        .send(&[json!({"name": "over TLS"})], true)
        .await
        .expect("sent over TLS");
    assert_eq!(r.seqs, vec![0]);
    // Plain HTTP to the TLS port gets nowhere.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/healthz", h.server.local_addr()))
        .send()
        .await;
    assert!(plain.is_err() || !plain.expect("resp").status().is_success());
    h.server.shutdown().await.expect("shutdown");
}

/// Runs openssl in `dir` (Debian's openssl package; the test's certificates come from it).
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect(
            "the openssl command makes the test certificates: install Debian's openssl package",
        );
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
