//! PostgreSQL stopped for longer than the store's own retry period (`retry_s=1`), then started
//! again: `aiaudit serve` says it is retrying (`/readyz` 503), holds the batch it was committing,
//! and resumes by itself — no restart — with nothing acknowledged lost. Uses the real server on
//! 127.0.0.1:5432 (database `test`; override with `AIAUDIT_TEST_PG`), which this test stops and
//! starts with `pg_ctlcluster`, and always leaves running.

mod common;

use common::{bin, drop_pg_schema, pg_base, serve_config, stderr, stdout};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn cluster(action: &str) {
    let version = std::fs::read_dir("/etc/postgresql")
        .expect("PostgreSQL's clusters in /etc/postgresql (scripts/services installs it)")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .max()
        .expect("a PostgreSQL version");
    let ok = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &version, "main", action])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "pg_ctlcluster {version} main {action} failed");
}

/// Starts PostgreSQL again however the test ends.
struct Restart;

impl Drop for Restart {
    fn drop(&mut self) {
        let up = postgres::Client::connect(&pg_base(), postgres::NoTls).is_ok();
        if !up {
            cluster("start");
        }
    }
}

fn wait_for_postgres() {
    let t = Instant::now();
    while postgres::Client::connect(&pg_base(), postgres::NoTls).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "PostgreSQL did not come back"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn cli(dir: &Path, url: &str, args: &[&str]) -> std::process::Output {
    bin()
        .current_dir(dir)
        .arg("--db")
        .arg(url)
        .args(args)
        .output()
        .expect("aiaudit")
}

#[test]
fn serve_rides_out_a_postgres_outage_longer_than_its_retry_period() {
    wait_for_postgres();
    let _restart = Restart;
    let dir = tempfile::tempdir().expect("tmp");
    let schema = format!("t_outage_{}", std::process::id());
    let mut c = postgres::Client::connect(&pg_base(), postgres::NoTls).expect("connect");
    c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .expect("drop");
    drop(c);
    let url = format!("{}?schema={schema}&retry_s=1", pg_base());
    let out = cli(dir.path(), &url, &["init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(
        dir.path(),
        &url,
        &["token", "create", "--role", "ingest", "--name", "p"],
    );
    let token = stdout(&out)
        .split_whitespace()
        .find(|w| w.starts_with("aiat_"))
        .expect("token")
        .to_owned();
    std::fs::write(
        dir.path().join("aiaudit.toml"),
        format!("[server]\nlisten = \"127.0.0.1:0\"\ndb = \"{url}\"\n"),
    )
    .expect("config");
    let (mut server, base) = serve_config(&dir.path().join("aiaudit.toml"));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let http = reqwest::Client::new();
    let post = |name: String| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            let r = http
                .post(format!("{base}/v1/events"))
                .bearer_auth(&token)
                .json(&serde_json::json!([{"name": name}]))
                .send()
                .await
                .expect("post");
            let s = r.status().as_u16();
            (s, r.json::<serde_json::Value>().await.unwrap_or_default())
        }
    };
    let mut acked: Vec<String> = Vec::new();
    let (s, r) = rt.block_on(post("before".into()));
    assert_eq!(s, 201, "{r}");
    acked.push(r["ids"][0].as_str().expect("id").to_owned());

    cluster("stop");
    // A batch sent now is held through the outage and acknowledged once it is durable.
    let held = rt.spawn(post("during the outage".into()));
    let t = Instant::now();
    loop {
        let (s, body) = rt.block_on(async {
            let r = http
                .get(format!("{base}/readyz"))
                .send()
                .await
                .expect("readyz");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        });
        if s == 503 && body.contains("retrying") {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "never reported the outage: {s} {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Longer than the store's own retry period: the writer's retry carries on.
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !held.is_finished(),
        "acknowledged while PostgreSQL was down"
    );
    cluster("start");
    wait_for_postgres();
    let (s, r) = rt.block_on(held).expect("task");
    assert_eq!(s, 201, "{r}");
    acked.push(r["ids"][0].as_str().expect("id").to_owned());
    let (s, r) = rt.block_on(post("after".into()));
    assert_eq!(s, 201, "resumed without a restart: {r}");
    acked.push(r["ids"][0].as_str().expect("id").to_owned());

    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    assert!(server.wait().expect("wait").success());
    let verify = cli(dir.path(), &url, &["verify"]);
    assert!(
        verify.status.success(),
        "{}{}",
        stdout(&verify),
        stderr(&verify)
    );
    let listed = stdout(&cli(
        dir.path(),
        &url,
        &["query", "--limit", "0", "--format", "jsonl"],
    ));
    for id in &acked {
        assert!(listed.contains(id.as_str()), "acknowledged {id} lost");
    }
    drop_pg_schema(&schema);
}
