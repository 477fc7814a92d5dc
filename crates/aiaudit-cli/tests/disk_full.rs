//! A full disk, for real: the log lives on a small tmpfs that a filler file fills up. `aiaudit
//! serve` refuses new events while it cannot commit (503, and `/readyz` says why), keeps the
//! batch it holds and acknowledges it only once it is durable, and resumes by itself when
//! space returns — no restart. Nothing acknowledged is lost and the log verifies. The command
//! line, on the same full disk, fails with a one-line error and writes nothing.

mod common;

use common::{run, serve_config, stderr, stdout, stop};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A tmpfs mounted for the test, unmounted when dropped (also on a failed assertion).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "this test mounts a small tmpfs to fill it up: it needs root and `mount` (util-linux)"
        );
        Tmpfs(at.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Kills the server if the test fails before stopping it.
struct KillOnDrop(Option<std::process::Child>);

impl KillOnDrop {
    fn take(mut self) -> std::process::Child {
        self.0.take().expect("the server")
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Fills the file system of `dir` to the last byte.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).expect("filler");
    let chunk = vec![0u8; 16 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let small = [0u8; 512];
    while f.write_all(&small).is_ok() {}
    let _ = f.sync_all();
    path
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    name: &str,
) -> (u16, serde_json::Value) {
    let events: Vec<serde_json::Value> = (0..20)
        .map(|i| serde_json::json!({"name": format!("{name} {i}"), "details": {"pad": "x".repeat(200)}}))
        .collect();
    let resp = http
        .post(format!("{url}/v1/events"))
        .bearer_auth(token)
        .json(&events)
        .send()
        .await
        .expect("post");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

async fn ready(http: &reqwest::Client, url: &str) -> (u16, String) {
    let resp = http
        .get(format!("{url}/readyz"))
        .send()
        .await
        .expect("readyz");
    (
        resp.status().as_u16(),
        resp.text().await.unwrap_or_default(),
    )
}

#[test]
fn a_full_disk_is_refused_then_ridden_out_without_a_restart() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("fs");
    std::fs::create_dir(&dir).expect("mkdir");
    let _fs = Tmpfs::mount(&dir, "24m");
    let db = dir.join("full.db");
    let out = run(&db, &["init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let token = common::ingest_token(&db);
    let config = dir.join("aiaudit.toml");
    std::fs::write(&config, "[server]\nlisten = \"127.0.0.1:0\"\ndb = \"full.db\"\nopen_health = true\nopen_metrics = true\n")
        .expect("config");
    let (server, url) = serve_config(&config);
    let guard = KillOnDrop(Some(server));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let mut acked: Vec<String> = Vec::new();

    rt.block_on(async {
        for b in 0..5 {
            let (s, r) = post(&http, &url, &token, &format!("before {b}")).await;
            assert_eq!(s, 201, "{r}");
            acked.extend(
                r["ids"]
                    .as_array()
                    .expect("ids")
                    .iter()
                    .map(|v| v.as_str().expect("id").to_owned()),
            );
        }
        assert_eq!(ready(&http, &url).await.0, 200);
    });

    let filler = fill(&dir);
    // A client keeps sending; the batch in flight when the store cannot commit waits (it is
    // acknowledged only once durable), and the writer retries it.
    let freed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        let freed = std::sync::Arc::clone(&freed);
        rt.spawn(async move {
            let mut ids: Vec<String> = Vec::new();
            let mut refused = 0;
            for i in 0..100_000 {
                let after_free = freed.load(std::sync::atomic::Ordering::SeqCst);
                let (s, r) = post(&http, &url, &token, &format!("while filling {i}")).await;
                match s {
                    201 => ids.extend(
                        r["ids"]
                            .as_array()
                            .expect("ids")
                            .iter()
                            .map(|v| v.as_str().expect("id").to_owned()),
                    ),
                    503 => {
                        refused += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                    other => panic!("{other}: {r}"),
                }
                if after_free {
                    return (ids, refused); // taken again once space returned
                }
            }
            panic!("the disk never filled up");
        })
    };
    let t = Instant::now();
    let (rs, rtext) = loop {
        let (s, text) = rt.block_on(ready(&http, &url));
        if s == 503 {
            break (s, text);
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the full disk was never noticed"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        rtext.contains("retrying") && rtext.contains("full"),
        "{rs} {rtext}"
    );
    let (status, body) = rt.block_on(post(&http, &url, &token, "refused"));
    assert_eq!(status, 503, "a full disk is refused: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("retrying"),
        "{body}"
    );
    let m = rt.block_on(async {
        http.get(format!("{url}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    });
    assert!(
        m.lines()
            .any(|l| l.starts_with("aiaudit_writer_state") && l.ends_with(" 1")),
        "the metrics show the writer retrying"
    );
    std::thread::sleep(Duration::from_millis(300));
    std::fs::remove_file(&filler).expect("free the space");
    freed.store(true, std::sync::atomic::Ordering::SeqCst);
    // The client either waited in a request the writer held through the outage, or was
    // refused and sent again: either way it got in once space returned.
    let (ids, _refused) = rt.block_on(sender).expect("sender");
    acked.extend(ids);
    let (rs, rtext) = rt.block_on(ready(&http, &url));
    assert_eq!(rs, 200, "ready again without a restart: {rtext}");
    stop(guard.take());

    let verify = run(&db, &["verify"]);
    assert!(
        verify.status.success(),
        "{}{}",
        stdout(&verify),
        stderr(&verify)
    );
    let listed = stdout(&run(&db, &["query", "--limit", "0", "--format", "jsonl"]));
    for id in &acked {
        assert!(listed.contains(id.as_str()), "acknowledged event {id} lost");
    }

    // The command line on a full disk: a clear failure that says what was not committed.
    let filler = fill(&dir);
    let out = run(
        &db,
        &[
            "log",
            "on a full disk",
            "--detail",
            &format!("pad={}", "y".repeat(4000)),
        ],
    );
    assert!(
        !out.status.success(),
        "logged on a full disk? {}",
        stdout(&out)
    );
    let err = stderr(&out);
    // Refused at open (SQLite cannot size its shared-memory file) or at commit (after riding
    // the outage out for a few seconds, saying what was not committed): one line either way.
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("disk I/O error") || (err.contains("full") && err.contains("not committed")),
        "{err}"
    );
    std::fs::remove_file(&filler).expect("free");
    let out = run(&db, &["log", "space again"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let verify = run(&db, &["verify"]);
    assert!(
        verify.status.success(),
        "{}{}",
        stdout(&verify),
        stderr(&verify)
    );
}

#[test]
fn the_embedded_logger_waits_out_a_full_disk_and_resumes() {
    use aiaudit::{AuditLogger, Durability, WriterState};
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("fs");
    std::fs::create_dir(&dir).expect("mkdir");
    let _fs = Tmpfs::mount(&dir, "16m");
    let db = dir.join("embedded.db");
    let log = std::sync::Arc::new(
        AuditLogger::builder(&db)
            .durability(Durability::Sync)
            .open()
            .expect("open"),
    );
    let pad = "z".repeat(2000);
    for i in 0..20 {
        log.log_event("before", serde_json::json!({"i": i, "pad": pad}), "INFO")
            .expect("before the disk fills");
    }
    let filler = fill(&dir);
    // Logging goes on in a thread until a commit cannot be made: that call waits.
    let writer = {
        let log = std::sync::Arc::clone(&log);
        let pad = pad.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            loop {
                let t = Instant::now();
                log.log_event(
                    "while full",
                    serde_json::json!({"n": n, "pad": pad}),
                    "INFO",
                )
                .expect("committed in the end");
                n += 1;
                if t.elapsed() > Duration::from_millis(500) {
                    return n;
                }
            }
        })
    };
    let t = Instant::now();
    while !matches!(log.state(), WriterState::Retrying { .. }) {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the full disk was never noticed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(700));
    std::fs::remove_file(&filler).expect("free");
    let logged = writer.join().expect("writer thread");
    assert_eq!(log.state(), WriterState::Running, "resumed by itself");
    log.log_event("after", serde_json::json!(null), "INFO")
        .expect("after");
    let size = log.close().expect("close");
    assert_eq!(size, 20 + logged + 1, "every acknowledged event is there");
    let report = aiaudit::LogReader::open(&db)
        .expect("reader")
        .verify(&aiaudit::VerifyOptions::default(), &mut |_, _| {})
        .expect("verify");
    assert!(report.is_intact(), "{:?}", report.findings);
}
