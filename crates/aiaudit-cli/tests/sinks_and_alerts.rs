//! `aiaudit serve` with `[[sinks]]` and `[[alerts]]` in aiaudit.toml: committed events reach a
//! JSON-lines file; the issue's drift rule raises an `alert` event, which the sink carries too;
//! `aiaudit sinks status` shows each cursor and its lag; after a restart delivery goes on from
//! the cursor with no duplicate; a bad sink or rule is refused at start, naming it.

mod common;

use common::{bin, serve_config as serve, stderr, stdout, stop};
use std::path::Path;
use std::time::{Duration, Instant};

fn log(url: &str, token: &str, args: &[&str]) {
    let out = bin()
        .args(["log", "--server", url, "--token", token])
        .args(args)
        .output()
        .expect("log --server");
    assert!(out.status.success(), "{}", stderr(&out));
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sinks_deliver_alerts_fire_and_cursors_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("aiaudit.toml");
    let jsonl = dir.path().join("audit.jsonl");
    std::fs::write(
        &config,
        r#"[server]
listen = "127.0.0.1:0"
db = "audit.db"

[[sinks]]
name = "siem"
kind = "jsonl"
path = "audit.jsonl"

[[alerts]]
name = "drift"
when = 'status >= WARNING and type == "drift" and details.drift_score > 0.8'
status = "ERROR"
"#,
    )
    .expect("config");
    // Relative paths in the file are the file's directory's: run from there.
    let token = {
        let out = bin()
            .current_dir(dir.path())
            .args([
                "token",
                "--config",
                "aiaudit.toml",
                "create",
                "--role",
                "ingest",
                "--name",
                "p",
            ])
            .output()
            .expect("token");
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out).trim().to_owned()
    };
    let (server, url) = serve(&config);
    log(&url, &token, &["training done", "--type", "model_training"]);
    log(
        &url,
        &token,
        &[
            "mild drift",
            "--type",
            "drift",
            "--status",
            "WARNING",
            "--detail",
            "drift_score=0.5",
        ],
    );
    log(
        &url,
        &token,
        &[
            "strong drift",
            "--type",
            "drift",
            "--status",
            "WARNING",
            "--detail",
            "drift_score=0.93",
        ],
    );
    log(
        &url,
        &token,
        &[
            "info drift",
            "--type",
            "drift",
            "--detail",
            "drift_score=0.99",
        ],
    );

    // Four events and one alert (for the strong drift only), in seq order.
    wait_for("five lines in the sink", || lines(&jsonl).len() == 5);
    let got = lines(&jsonl);
    let alerts: Vec<_> = got.iter().filter(|r| r["type"] == "alert").collect();
    assert_eq!(alerts.len(), 1, "{got:?}");
    assert_eq!(alerts[0]["status"], "ERROR");
    assert_eq!(alerts[0]["details"]["rule"], "drift");
    assert_eq!(alerts[0]["details"]["seq"], 2, "{:?}", alerts[0]);
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r["seq"], i as u64);
    }

    let status = || {
        let out = bin()
            .current_dir(dir.path())
            .args(["sinks", "--config", "aiaudit.toml", "status"])
            .output()
            .expect("sinks status");
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    wait_for("both cursors at 5", || {
        let s = status();
        s.lines()
            .filter(|l| l.split_whitespace().nth(2) == Some("5"))
            .count()
            == 2
    });
    let s = status();
    assert!(
        s.contains("siem") && s.contains("jsonl") && s.contains("alerts"),
        "{s}"
    );
    stop(server);

    // Restarted, the sink goes on from its cursor: no line twice, none missing.
    let (server, url) = serve(&config);
    log(&url, &token, &["after restart", "--type", "evaluation"]);
    wait_for("six lines", || lines(&jsonl).len() == 6);
    std::thread::sleep(Duration::from_millis(600));
    let got = lines(&jsonl);
    assert_eq!(got.len(), 6);
    assert_eq!(got[5]["name"], "after restart");
    stop(server);

    // A sink or rule that cannot work stops the server from starting, naming it.
    for (extra, want) in [
        (
            "[[sinks]]\nname = \"x\"\nkind = \"jsonl\"\npth = \"a\"\n",
            "sink `x`",
        ),
        (
            "[[alerts]]\nname = \"bad\"\nwhen = 'status >= '\n",
            "rule \"bad\"",
        ),
    ] {
        let bad = dir.path().join("bad.toml");
        std::fs::write(
            &bad,
            format!("[server]\nlisten = \"127.0.0.1:0\"\ndb = \"audit.db\"\n{extra}"),
        )
        .expect("bad config");
        let out = bin()
            .args(["serve", "--config"])
            .arg(&bad)
            .output()
            .expect("serve");
        assert!(!out.status.success());
        assert!(stderr(&out).contains(want), "{}", stderr(&out));
    }
}
