//! The embedded writer's witnessing (`AuditLoggerBuilder::witnesses`): two witness processes on
//! loopback and one address where nothing listens. Ingest goes on as if there were no
//! witnesses; each new checkpoint comes back cosigned by both live witnesses; the dead one
//! holds nothing up, not even `close`; reopened, the logger continues from the size each
//! witness holds, with a consistency proof.

mod common;

use aiaudit::witnessing::{WitnessTarget, Witnesses};
use aiaudit::{AuditLogger, Durability};
use aiaudit_core::cosignature::CosignatureVerifier;
use aiaudit_core::{Checkpoint, NoteVerifier};
use common::witness::witness;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

fn open(db: &Path, targets: &[WitnessTarget]) -> AuditLogger {
    AuditLogger::builder(db)
        .durability(Durability::Sync)
        .witnesses(Witnesses::new(targets.to_vec(), Duration::from_millis(100)))
        .open()
        .expect("open")
}

/// Waits until the cosigned checkpoint covers `size` with `n` cosignatures; returns it.
fn cosigned(log: &AuditLogger, size: u64, keys: &[CosignatureVerifier]) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(note) = log.cosigned_checkpoint().expect("book")
            && Checkpoint::parse_text(&format!("{}\n", note.split("\n\n").next().unwrap_or("")))
                .is_ok_and(|c| c.size == size)
            && keys.iter().all(|k| k.verify(&note).is_ok())
        {
            return note;
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint of size {size} cosigned by all live witnesses: {:?}",
            log.cosigned_checkpoint()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_embedded_logger_has_its_checkpoints_cosigned_and_a_dead_witness_costs_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let db = tmp.path().join("audit.db");
    let log = AuditLogger::open(&db).expect("create");
    let vkey = log.info().verifier_key.clone();
    log.close().expect("close");
    let log_key = NoteVerifier::parse(&vkey).expect("log key");

    let live: Vec<_> = (1..=2)
        .map(|i| witness(tmp.path(), &format!("witness.test/e{i}"), &vkey))
        .collect();
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut targets: Vec<WitnessTarget> = live
        .iter()
        .enumerate()
        .map(|(i, w)| WitnessTarget {
            name: format!("e{i}"),
            url: w.url.clone(),
            key: CosignatureVerifier::parse(&w.vkey).expect("vkey"),
        })
        .collect();
    let keys: Vec<CosignatureVerifier> = targets.iter().map(|t| t.key.clone()).collect();
    let spare =
        aiaudit_core::cosignature::CosignatureSigner::generate("witness.test/dead").expect("key");
    targets.push(WitnessTarget {
        name: "dead".into(),
        url: format!("http://127.0.0.1:{dead_port}"),
        key: spare.verifier(),
    });

    let log = open(&db, &targets);
    for i in 0..200 {
        log.log_event("step", json!({"i": i}), "INFO").expect("log");
    }
    let note = cosigned(&log, 200, &keys);
    assert_eq!(
        Checkpoint::open(&note, &log_key)
            .expect("log signature")
            .size,
        200
    );
    assert!(
        spare.verifier().verify(&note).is_err(),
        "nothing from the dead witness"
    );
    let closing = Instant::now();
    log.close().expect("close");
    assert!(
        closing.elapsed() < Duration::from_secs(8),
        "close waited {:?} for the witnesses",
        closing.elapsed()
    );

    // Reopened: each live witness holds 200 and gets a consistency proof to the new size.
    let log = open(&db, &targets);
    for i in 0..37 {
        log.log_event("more", json!({"i": i}), "INFO").expect("log");
    }
    let note = cosigned(&log, 237, &keys);
    assert_eq!(
        Checkpoint::open(&note, &log_key)
            .expect("log signature")
            .size,
        237
    );
    log.close().expect("close");
    for w in live {
        common::stop(w.child);
    }
}
