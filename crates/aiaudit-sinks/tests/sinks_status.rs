//! `status`: lag is the log size minus the cursor; a failing sink shows its last error and
//! keeps its lag (nothing is skipped), while a sink whose filter refuses everything still
//! catches up; shutdown cuts a retry backoff short.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use aiaudit_sinks::{Dispatcher, default_cursor_path, status};
use support::*;

#[test]
fn reports_lag_and_last_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let cur = default_cursor_path(&db);
    log_events(&db, 6, "s");
    // A port nobody listens on: every delivery fails with connection refused.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let d = dir.path().display();
    let cfg = sinks(&format!(
        r#"
        [[sinks]]
        name = "down"
        kind = "webhook"
        url = "http://{dead}/hook"
        [[sinks]]
        name = "none"
        kind = "jsonl"
        path = "{d}/none.jsonl"
        types = ["no_such_type"]
        "#
    ));

    // Before any delivery, and without a cursor file: everything is lag.
    let st = status(&db, &cur, &cfg).unwrap();
    assert!(!cur.exists(), "status does not create the cursor file");
    for s in &st {
        assert_eq!(
            (s.next_seq, s.log_size, s.lag, s.updated_ns),
            (0, 6, 6, None),
            "{}",
            s.name
        );
    }
    assert_eq!((st[0].kind, st[1].kind), ("webhook", "jsonl"));

    let disp = Dispatcher::start(db.clone(), cur.clone(), cfg.clone()).unwrap();
    wait_until(
        20,
        "the failing sink's error and the filtered sink's catch-up",
        || {
            let st = status(&db, &cur, &cfg).unwrap();
            st[0].last_error.is_some() && st[1].lag == 0
        },
    );
    // Let a few retries pass, then stop: shutdown must not wait out the backoff.
    std::thread::sleep(Duration::from_millis(800));
    let t = Instant::now();
    disp.shutdown().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "shutdown took {:?}",
        t.elapsed()
    );

    let st = status(&db, &cur, &cfg).unwrap();
    let down = &st[0];
    assert_eq!(
        (down.next_seq, down.lag),
        (0, 6),
        "a failed delivery never moves the cursor"
    );
    let err = down.last_error.as_deref().unwrap();
    assert!(
        err.contains(&dead.to_string()),
        "the error names the receiver: {err}"
    );
    assert!(down.updated_ns.is_some());
    let none = &st[1];
    assert_eq!(
        (none.next_seq, none.lag, none.last_error.as_deref()),
        (6, 0, None)
    );
    assert_eq!(
        std::fs::read(dir.path().join("none.jsonl"))
            .map(|b| b.len())
            .unwrap_or(0),
        0
    );
}

#[test]
fn start_refuses_a_missing_log_and_duplicate_names() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("missing.db");
    let cfg = sinks(&format!(
        "[[sinks]]\nname = \"a\"\nkind = \"jsonl\"\npath = \"{}/a.jsonl\"\n",
        dir.path().display()
    ));
    assert!(Dispatcher::start(db.clone(), default_cursor_path(&db), cfg.clone()).is_err());
    log_events(&dir.path().join("audit.db"), 1, "x");
    let db = dir.path().join("audit.db");
    let twice = vec![cfg[0].clone(), cfg[0].clone()];
    let e = Dispatcher::start(db.clone(), default_cursor_path(&db), twice).unwrap_err();
    assert!(
        e.to_string().contains("sink `a`") && e.to_string().contains("unique"),
        "{e}"
    );
}
