//! The logger's contract: durability modes, validation at the call, reserved fields, caller
//! location, restart, group commit, closing.

use aiaudit::{AuditLogger, Durability, Error, LogReader, Record, VerifyOptions, events};
use serde_json::json;
use std::sync::Arc;

mod common;
use common::records;

fn intact(path: &std::path::Path) -> aiaudit::VerifyReport {
    let report = LogReader::open(path)
        .expect("reader")
        .verify(&VerifyOptions::default(), &mut |_, _| {})
        .expect("verify runs");
    assert!(report.is_intact(), "{:?}", report.findings);
    report
}

/// A Sync-mode logger on a new log in a temporary directory (kept alive by the first element).
fn sync_log() -> (tempfile::TempDir, std::path::PathBuf, AuditLogger) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("a.db");
    let log = AuditLogger::builder(&path)
        .durability(Durability::Sync)
        .open()
        .expect("open");
    (dir, path, log)
}

#[test]
fn sync_returns_the_committed_seq() {
    let (_dir, path, log) = sync_log();
    assert_eq!(
        log.log_event("first", json!(null), "INFO").expect("ok"),
        Some(0)
    );
    assert_eq!(
        log.log_event("second", json!({"k": 1}), "warning")
            .expect("ok"),
        Some(1)
    );
    // Committed means readable by another connection before close.
    let r = LogReader::open(&path).expect("reader");
    assert_eq!(r.size().expect("size"), 2);
    assert_eq!(
        Record::from_leaf_data(&r.get(1).expect("entry").data)
            .expect("rec")
            .status,
        "WARNING"
    );
    log.close().expect("close");
}

#[test]
fn async_close_commits_everything_queued() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("a.db");
    let log = AuditLogger::builder(&path)
        .queue_size(100)
        .batch_size(64)
        .open()
        .expect("open");
    for i in 0..20_000u32 {
        assert_eq!(
            log.log_event("tick", json!({"i": i}), "INFO")
                .expect("queued"),
            None
        );
    }
    assert_eq!(log.close().expect("close"), 20_000);
    let recs = records(&path);
    assert_eq!(recs.len(), 20_000);
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(r.seq, i as u64);
        assert_eq!(r.details["i"], json!(i), "events keep their order");
    }
    intact(&path);
}

#[test]
fn flush_waits_for_commit() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("a.db");
    let log = AuditLogger::open(&path).expect("open");
    for _ in 0..1000 {
        log.log_event("e", json!(null), "INFO").expect("queued");
    }
    assert_eq!(log.flush().expect("flush"), 1000);
    assert_eq!(
        LogReader::open(&path).expect("r").size().expect("size"),
        1000
    );
}

#[test]
fn bad_events_fail_at_the_call_and_write_nothing() {
    let (_dir, path, log) = sync_log();
    let err = log
        .log_event("x", json!(null), "LOUD")
        .expect_err("unknown status");
    assert!(err.to_string().contains("unknown status \"LOUD\""), "{err}");
    let err = log
        .log_event("x", json!([1, 2]), "INFO")
        .expect_err("array details");
    assert!(
        err.to_string()
            .contains("details must be a JSON object, got an array"),
        "{err}"
    );
    let err = log
        .log_event("x", json!({"big": 9_007_199_254_740_993u64}), "INFO")
        .expect_err("unsafe integer");
    assert!(err.to_string().contains("details.big"), "{err}");
    // An integer a double prints exactly is accepted, as sealing accepts it.
    log.log_event("exact", json!({"big": 264_720_015_079_064_350u64}), "INFO")
        .expect("exact beyond 2^53");
    let mut deep = json!(1);
    for _ in 0..100 {
        deep = json!({ "d": deep });
    }
    let err = log.log_event("x", deep, "INFO").expect_err("too deep");
    assert!(err.to_string().contains("nested deeper"), "{err}");
    let err = log
        .log(aiaudit::Event::new("has space", "x"))
        .expect_err("bad type");
    assert!(err.to_string().contains("type"), "{err}");
    // The logger is still healthy, and nothing was written for the rejected calls.
    assert_eq!(
        log.log_event("fine", json!(null), "INFO").expect("ok"),
        Some(1)
    );
    log.close().expect("close");
    assert_eq!(records(&path).len(), 2);
}

#[test]
fn custom_statuses_are_accepted_once_registered() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("a.db");
    let log = AuditLogger::builder(&path)
        .durability(Durability::Sync)
        .custom_status("DEGRADED")
        .open()
        .expect("open");
    log.log_event("slow replica", json!(null), "DEGRADED")
        .expect("custom ok");
    let err = log
        .log_event("x", json!(null), "BROKEN")
        .expect_err("not registered");
    assert!(
        err.to_string().contains("DEGRADED"),
        "the error lists the known statuses: {err}"
    );
    log.close().expect("close");
    assert_eq!(records(&path)[0].status, "DEGRADED");
}

#[test]
fn statuses_can_be_registered_while_the_logger_runs() {
    let (_dir, path, log) = sync_log();
    assert!(log.log_event("x", json!(null), "DEGRADED").is_err());
    let s = log.register_status("degraded").expect("valid name");
    assert_eq!(s.as_str(), "DEGRADED");
    assert_eq!(
        log.register_status("Degraded").expect("again"),
        s,
        "idempotent"
    );
    assert_eq!(
        log.register_status("warning").expect("standard"),
        aiaudit::Status::Warning
    );
    log.log_event("slow replica", json!(null), "DEGRADED")
        .expect("registered");
    for bad in ["", "two words", "x".repeat(33).as_str(), "dé"] {
        let err = log.register_status(bad).expect_err("bad name");
        assert!(err.to_string().contains("custom status"), "{err}");
    }
    let err = AuditLogger::builder(path.with_extension("other.db"))
        .custom_status("no spaces allowed")
        .open()
        .expect_err("the builder checks names too");
    assert!(err.to_string().contains("custom status"), "{err}");
    log.close().expect("close");
    assert_eq!(records(&path)[0].status, "DEGRADED");
}

#[test]
fn try_log_never_loses_or_doubles_an_event_handed_back() {
    let dir = tempfile::tempdir().expect("tmp");
    let log = AuditLogger::builder(dir.path().join("q.db"))
        .queue_size(1)
        .open()
        .expect("open");
    let mut handed_back = 0;
    for i in 0..2000 {
        let mut event = aiaudit::Event::new("event", format!("e{i}"));
        loop {
            match log.try_log(event).expect("valid") {
                Ok(_) => break,
                Err(back) => {
                    handed_back += 1;
                    event = back;
                    std::thread::yield_now();
                }
            }
        }
    }
    // Whether the one slot was ever found full depends on timing; either way every event is
    // committed exactly once.
    let size = log.close().expect("close");
    assert_eq!(
        size, 2000,
        "nothing lost, nothing doubled ({handed_back} hand-backs)"
    );
}

#[test]
fn details_cannot_overwrite_reserved_fields_and_the_caller_is_recorded() {
    let (_dir, path, log) = sync_log();
    let line = line!() + 1;
    log.log_event(
        "n",
        json!({"seq": 99, "time": "1999", "type": "forged", "status": "OK", "id": "x"}),
        "INFO",
    )
    .expect("ok");
    log.close().expect("close");
    let r = &records(&path)[0];
    assert_eq!(
        (r.seq, r.kind.as_str(), r.status.as_str()),
        (0, "event", "INFO")
    );
    assert!(
        r.time.starts_with("20") && r.time.ends_with('Z'),
        "{}",
        r.time
    );
    assert_eq!(r.details["type"], json!("forged"));
    assert!(
        r.source
            .file
            .as_deref()
            .is_some_and(|f| f.ends_with("logger_behaviour.rs"))
    );
    assert_eq!(r.source.line, Some(line));
    assert_eq!(r.source.pid, Some(std::process::id()));
    assert!(r.source.host.is_some());
}

#[test]
fn reopening_continues_the_log_and_it_verifies() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("a.db");
    for round in 0..3u64 {
        let log = AuditLogger::builder(&path)
            .batch_size(7)
            .open()
            .expect("open");
        for i in 0..100 {
            log.log(events::drift("m", "age", i as f64 / 100.0, 0.5))
                .expect("queued");
        }
        assert_eq!(log.close().expect("close"), (round + 1) * 100);
    }
    let report = intact(&path);
    assert_eq!(report.entries, 300);
    assert!(report.checkpoints >= 300 / 7, "one checkpoint per batch");
}

#[test]
fn concurrent_sync_callers_share_commits() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("a.db");
    let log = Arc::new(
        AuditLogger::builder(&path)
            .durability(Durability::Sync)
            .open()
            .expect("open"),
    );
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                (0..100)
                    .map(|i| {
                        log.log_event("req", json!({"t": t, "i": i}), "INFO")
                            .expect("ok")
                            .expect("sync gives a seq")
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = threads
        .into_iter()
        .flat_map(|h| h.join().expect("thread"))
        .collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (0..800).collect::<Vec<_>>(),
        "every call got its own seq"
    );
    log.close().expect("close");
    let report = intact(&path);
    assert!(
        report.checkpoints < 800,
        "8 concurrent callers should share commits, got {} commits for 800 events",
        report.checkpoints
    );
}

#[test]
fn a_closed_logger_refuses_events() {
    let dir = tempfile::tempdir().expect("tmp");
    let log = AuditLogger::open(dir.path().join("a.db")).expect("open");
    log.close().expect("close");
    assert!(matches!(
        log.log_event("late", json!(null), "INFO"),
        Err(Error::Closed)
    ));
    log.close().expect("closing twice is harmless");
}

#[test]
fn the_signing_key_must_be_the_logs() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("a.db");
    AuditLogger::open(&path)
        .expect("create")
        .close()
        .expect("close");
    let key = dir.path().join("a.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is private");
    }
    let other = aiaudit_core::NoteSigner::generate("someone.else/log").expect("key");
    let err = AuditLogger::builder(&path)
        .signing_key(other)
        .open()
        .expect_err("wrong key");
    assert!(
        err.to_string().contains("is not the key of the log"),
        "{err}"
    );
    std::fs::remove_file(&key).expect("rm key");
    let err = AuditLogger::open(&path).expect_err("missing key");
    assert!(
        err.to_string().contains("not found") && err.to_string().contains("a.key"),
        "{err}"
    );
    // Reading needs no key.
    assert_eq!(
        LogReader::open(&path)
            .expect("reader")
            .size()
            .expect("size"),
        0
    );
}

#[test]
fn verifying_while_the_log_grows_sees_a_consistent_snapshot() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("a.db");
    let log = Arc::new(
        AuditLogger::builder(&path)
            .batch_size(16)
            .open()
            .expect("open"),
    );
    log.log_event("first", json!(null), "INFO").expect("log");
    log.flush().expect("flush");
    let writer = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            for i in 0..30_000u32 {
                log.log_event("tick", json!({"i": i}), "INFO").expect("log");
            }
        })
    };
    let reader = LogReader::open(&path).expect("reader");
    for _ in 0..5 {
        let report = reader
            .verify(&VerifyOptions::default(), &mut |_, _| {})
            .expect("verify");
        assert!(
            report.is_intact(),
            "{:?} entries {} checkpoints {} latest {:?}",
            report.findings,
            report.entries,
            report.checkpoints,
            report.latest.as_ref().map(|c| c.size)
        );
    }
    writer.join().expect("writer");
    log.close().expect("close");
    intact(&path);
}

#[test]
fn a_log_has_one_writer_at_a_time() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("a.db");
    let first = AuditLogger::open(&path).expect("first writer");
    let err = AuditLogger::open(&path).expect_err("second writer");
    assert!(matches!(err, Error::Busy(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("is open for writing by another logger in this process (pid"),
        "{err}"
    );
    // Readers are welcome meanwhile.
    assert_eq!(
        LogReader::open(&path)
            .expect("reader")
            .size()
            .expect("size"),
        0
    );
    first.close().expect("close");
    AuditLogger::open(&path)
        .expect("free again once the first is closed")
        .close()
        .expect("close");
}

#[test]
fn a_record_too_large_to_seal_is_refused_alone_and_the_log_goes_on() {
    use aiaudit::{Durability, Submission};
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("a.db");
    let log = AuditLogger::builder(&path)
        .durability(Durability::Sync)
        .open()
        .expect("open");
    // Plain text over the limit is refused on the caller's thread.
    let big = "x".repeat(aiaudit_core::seal::MAX_RECORD_LEN + 1);
    let e = log
        .log_event("big", serde_json::json!({ "blob": big }), "INFO")
        .expect_err("too big");
    assert!(e.to_string().contains("at most"), "{e}");
    // Control characters pass that estimate but escape to six bytes each when sealed: the
    // writer refuses that record alone, without stopping.
    let escaped = "\u{1}".repeat(aiaudit_core::seal::MAX_RECORD_LEN / 4);
    let e = log
        .log_event(
            "escaped",
            serde_json::json!({ "blob": escaped.clone() }),
            "INFO",
        )
        .expect_err("too big once sealed");
    assert!(e.to_string().contains("sealed record"), "{e}");
    let (tx, rx) = std::sync::mpsc::channel();
    let sub = Submission::new(vec![
        aiaudit::Event::new("event", "fine"),
        aiaudit::Event::new("event", "escaped")
            .details(serde_json::json!({ "blob": escaped }))
            .expect("details"),
    ])
    .on_sealed(move |r| {
        let _ = tx.send(r);
    });
    log.submit(sub).expect("queued");
    let sealed = rx.recv().expect("answered");
    let why = sealed.expect_err("the batch is refused whole");
    assert!(
        matches!(&why, aiaudit::NotSealed::Rejected { index: 1, .. }),
        "{why}"
    );
    assert!(!log.is_poisoned());
    assert_eq!(
        log.log_event("after", serde_json::Value::Null, "INFO")
            .expect("logged"),
        Some(0)
    );
    log.close().expect("close");
    assert_eq!(intact(&path).entries, 1);
}
