//! JSON-lines sink: lines are the leaf data byte for byte; rotation at a small `max_bytes`
//! keeps exactly `keep` rotated files; a stopped and restarted dispatcher continues with no gap
//! and no duplicate; filters by type and by least status; a partial last line left by a crash
//! is ended before the next record.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use aiaudit_sinks::{Dispatcher, default_cursor_path};
use support::*;

fn lines(p: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(p).unwrap();
    assert!(
        bytes.is_empty() || bytes.ends_with(b"\n"),
        "{} must end with a newline",
        p.display()
    );
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

#[test]
fn rotates_filters_and_resumes_without_gap_or_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("audit.db");
    let cur = default_cursor_path(&db);
    let d = dir.path().display().to_string();
    log_events(&db, 12, "first");
    // Names of the second run are longer; 40 bytes of slack cover them.
    let longest = entries(&db)
        .iter()
        .map(|e| e.data.len() as u64 + 1)
        .max()
        .unwrap()
        + 40;
    // At least three lines per rotated file: 25 entries make more rotations than `keep` = 2.
    let max_bytes = longest * 3;
    let cfg = sinks(&format!(
        r#"
        [[sinks]]
        name = "all"
        kind = "jsonl"
        path = "{d}/out/all.jsonl"
        batch = 4
        [[sinks]]
        name = "rotating"
        kind = "jsonl"
        path = "{d}/rot.jsonl"
        max_bytes = {max_bytes}
        keep = 2
        batch = 5
        [[sinks]]
        name = "inference"
        kind = "jsonl"
        path = "{d}/inference.jsonl"
        types = ["model_inference"]
        [[sinks]]
        name = "serious"
        kind = "jsonl"
        path = "{d}/serious.jsonl"
        min_status = "ERROR"
        "#
    ));

    let disp = Dispatcher::start(db.clone(), cur.clone(), cfg.clone()).unwrap();
    wait_caught_up(&db, &cur, &cfg);
    disp.shutdown().unwrap();
    assert_eq!(lines(&dir.path().join("out/all.jsonl")).len(), 12);

    // A crash mid-write left a partial line: it must stay alone on its line.
    let all = dir.path().join("out/all.jsonl");
    let mut f = std::fs::OpenOptions::new().append(true).open(&all).unwrap();
    std::io::Write::write_all(&mut f, b"{\"partial").unwrap();
    drop(f);

    log_events(&db, 13, "second");
    let disp = Dispatcher::start(db.clone(), cur.clone(), cfg.clone()).unwrap();
    disp.notify();
    wait_caught_up(&db, &cur, &cfg);
    disp.shutdown().unwrap();

    let log = entries(&db);
    assert_eq!(log.len(), 25);
    let data: Vec<Vec<u8>> = log.iter().map(|e| e.data.clone()).collect();

    // Every entry exactly once, in order, byte for byte; the partial line stays on its own.
    let mut got = lines(&all);
    let partial = got
        .iter()
        .position(|l| l == b"{\"partial")
        .expect("partial line kept alone");
    assert_eq!(partial, 12, "the partial line sits between the two runs");
    got.remove(partial);
    assert_eq!(got, data, "no gap, no duplicate across the restart");

    // Rotation: the live file and exactly `keep` rotated ones; together, in order, they are the
    // newest entries with nothing missing in between.
    let rot = |n: u32| dir.path().join(format!("rot.jsonl.{n}"));
    assert!(rot(1).exists() && rot(2).exists(), "keep = 2 rotated files");
    assert!(!rot(3).exists(), "older rotated files are deleted");
    let mut kept = Vec::new();
    for p in [rot(2), rot(1), dir.path().join("rot.jsonl")] {
        assert!(
            std::fs::metadata(&p).unwrap().len() <= max_bytes,
            "{} over max_bytes",
            p.display()
        );
        kept.extend(lines(&p));
    }
    assert!(
        kept.len() >= 6 && kept.len() < 25,
        "two full rotated files kept, older ones gone"
    );
    assert_eq!(
        kept[..],
        data[data.len() - kept.len()..],
        "rotated files hold the newest entries in order"
    );

    // Filters: by type, and by least status (a status below ERROR is skipped, yet counted).
    let want: Vec<_> = log
        .iter()
        .filter(|e| e.kind == "model_inference")
        .map(|e| e.data.clone())
        .collect();
    assert_eq!(want.len(), 8);
    assert_eq!(lines(&dir.path().join("inference.jsonl")), want);
    let serious = ["ERROR", "FAILURE", "CRITICAL"];
    let want: Vec<_> = log
        .iter()
        .filter(|e| serious.contains(&e.status.as_str()))
        .map(|e| e.data.clone())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(lines(&dir.path().join("serious.jsonl")), want);

    for s in aiaudit_sinks::status(&db, &cur, &cfg).unwrap() {
        assert_eq!(
            (s.next_seq, s.lag, s.last_error),
            (25, 0, None),
            "{}",
            s.name
        );
    }
}
