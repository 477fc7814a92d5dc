//! `aiaudit serve` as a process: tokens from the CLI, events from `aiaudit log --server`,
//! SIGTERM commits everything accepted, and the access log is listed by `aiaudit query`.

mod common;

use common::{bin, run, stderr, stdout};
use std::io::{BufRead, BufReader};
use std::process::Stdio;

#[test]
fn serve_log_remote_sigterm_and_the_access_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("served.db");
    let created = run(
        &db,
        &["token", "create", "--role", "ingest", "--name", "pipeline"],
    );
    assert!(created.status.success(), "{}", stderr(&created));
    let ingest = stdout(&created).trim().to_owned();
    assert!(ingest.starts_with("aiat_"), "{ingest}");
    let reader = stdout(&run(
        &db,
        &["token", "create", "--role", "read", "--name", "auditor"],
    ))
    .trim()
    .to_owned();
    let bad = run(&db, &["token", "create", "--role", "root", "--name", "x"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("unknown role"), "{}", stderr(&bad));

    let mut server = bin()
        .arg("--db")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start aiaudit serve");
    let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_owned();
    assert!(first.contains("2 active tokens"), "{first}");

    for i in 0..3 {
        let out = bin()
            .args([
                "log",
                &format!("remote event {i}"),
                "--type",
                "drift",
                "--status",
                "WARNING",
            ])
            .args([
                "--detail",
                "drift_score=0.9",
                "--server",
                &url,
                "--token",
                &ingest,
            ])
            .output()
            .expect("log --server");
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).contains(&format!("logged seq {i} ")),
            "{}",
            stdout(&out)
        );
    }
    // A token that may not write.
    let out = bin()
        .args(["log", "nope", "--server", &url, "--token", &reader])
        .output()
        .expect("log --server");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("403 forbidden"), "{}", stderr(&out));
    // A revoked token stops working on the next request.
    let revoked = run(&db, &["token", "revoke", "pipeline"]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    let out = bin()
        .args(["log", "late", "--server", &url, "--token", &ingest])
        .output()
        .expect("log --server");
    assert!(
        stderr(&out).contains("401 unauthorized"),
        "{}",
        stderr(&out)
    );
    let list = stdout(&run(&db, &["token", "list"]));
    assert!(
        list.contains("pipeline") && list.contains("auditor"),
        "{list}"
    );
    assert!(
        !list.contains("aiat_"),
        "the list never shows tokens: {list}"
    );

    // A read over HTTP, then SIGTERM: the server stops cleanly, everything committed.
    let http = std::process::Command::new("curl")
        .args([
            "-s",
            "-H",
            &format!("Authorization: Bearer {reader}"),
            &format!("{url}/v1/events?type=drift"),
        ])
        .output()
        .expect("curl (Debian's curl package) reads over HTTP");
    assert!(
        stdout(&http).contains("remote event 2"),
        "{}",
        stdout(&http)
    );
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = server.wait().expect("server exits");
    assert!(status.success(), "exit {status:?}");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut server.stderr.take().expect("stderr"), &mut err)
        .expect("stderr");
    assert!(err.contains("all committed"), "{err}");

    let q = run(&db, &["query", "--type", "drift", "--format", "jsonl"]);
    assert_eq!(stdout(&q).lines().count(), 3, "{}", stdout(&q));
    let access = stdout(&run(
        &db,
        &["query", "--type", "access", "--format", "jsonl"],
    ));
    // The refused write, then the read.
    assert_eq!(access.lines().count(), 2, "{access}");
    assert!(
        access
            .lines()
            .next()
            .is_some_and(|l| l.contains("\"outcome\":\"denied\"")),
        "{access}"
    );
    assert!(
        access.contains("\"user\":\"auditor\"") && access.contains("\"records\":3"),
        "{access}"
    );
    let verify = run(&db, &["verify"]);
    assert!(verify.status.success(), "{}", stdout(&verify));
}
