//! Crash safety: a writer process logging in Sync mode from several threads is SIGKILLed
//! mid-ingest, again and again. Every event it acknowledged must be in the log afterwards, and
//! the log must verify and accept more events.
//!
//! The child is this test binary itself (a `harness = false` test), re-run with
//! `AIAUDIT_CRASH_CHILD` set: it logs until killed and prints `ACK seq name` for each
//! acknowledged event.

#![allow(clippy::print_stdout)]

use aiaudit::{AuditLogger, Durability, LogReader, Record, VerifyOptions};
use serde_json::json;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const ROUNDS: u32 = 24;
const CHILD_ENV: &str = "AIAUDIT_CRASH_CHILD";

fn main() {
    match std::env::var(CHILD_ENV) {
        Ok(path) => crash_child(&path),
        Err(_) => {
            let started = Instant::now();
            sigkill_mid_ingest_loses_nothing_acknowledged();
            println!(
                "test sigkill_mid_ingest_loses_nothing_acknowledged ... ok ({ROUNDS} rounds, {:.1}s)",
                started.elapsed().as_secs_f64()
            );
            println!("1 passed, 0 failed");
        }
    }
}

/// The child's body: logs from four threads until it is killed.
fn crash_child(path: &str) {
    let round: u32 = std::env::var("AIAUDIT_CRASH_ROUND")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let log = Arc::new(
        AuditLogger::builder(path)
            .durability(Durability::Sync)
            .open()
            .expect("child opens the log"),
    );
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (log, out) = (Arc::clone(&log), Arc::clone(&out));
            std::thread::spawn(move || {
                for i in 0.. {
                    let name = format!("r{round}-t{t}-{i}");
                    let seq = log
                        .log_event(&name, json!({"payload": "x".repeat(200)}), "INFO")
                        .expect("log")
                        .expect("sync seq");
                    let mut o = out.lock().unwrap_or_else(|p| p.into_inner());
                    writeln!(o, "ACK {seq} {name}").expect("stdout");
                    o.flush().expect("flush");
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

fn sigkill_mid_ingest_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("crash.db");
    // Create the log (and its key) up front so every child opens an existing log.
    AuditLogger::open(&path)
        .expect("create")
        .close()
        .expect("close");
    let exe = std::env::current_exe().expect("test binary");
    let mut acked: HashMap<u64, String> = HashMap::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .env(CHILD_ENV, &path)
            .env("AIAUDIT_CRASH_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let seen = Arc::new(AtomicUsize::new(0));
        let reader = {
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let mut lines = Vec::new();
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(rest) = line.strip_prefix("ACK ")
                        && let Some((seq, name)) = rest.split_once(' ')
                    {
                        lines.push((seq.parse::<u64>().expect("seq"), name.to_owned()));
                        seen.store(lines.len(), Ordering::SeqCst);
                    }
                }
                lines
            })
        };
        // Wait until it is writing (however slow the machine), then kill it at a random moment
        // mid-ingest.
        let started = Instant::now();
        while seen.load(Ordering::SeqCst) == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "round {round}: the child acknowledged nothing within 60 s"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(20 + rng % 300));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        let lines = reader.join().expect("reader");
        assert!(
            !lines.is_empty(),
            "round {round}: the child acknowledged nothing before it was killed"
        );
        for (seq, name) in lines {
            assert!(
                acked.insert(seq, name).is_none(),
                "seq {seq} acknowledged twice"
            );
        }

        // After every crash: everything acknowledged is there, and the log verifies.
        let r = LogReader::open(&path).expect("reopen after crash");
        let report = r
            .verify(&VerifyOptions::default(), &mut |_, _| {})
            .expect("verify");
        assert!(report.is_intact(), "round {round}: {:?}", report.findings);
        for (seq, name) in &acked {
            let entry = r.get(*seq).unwrap_or_else(|e| {
                panic!("round {round}: acknowledged seq {seq} is missing: {e}")
            });
            let rec = Record::from_leaf_data(&entry.data).expect("record");
            assert_eq!(
                &rec.name, name,
                "round {round}: seq {seq} holds another event"
            );
        }
    }
    // The log still takes events after the last crash.
    let log = AuditLogger::builder(&path)
        .durability(Durability::Sync)
        .open()
        .expect("reopen for writing");
    let next = log
        .log_event("after the crashes", json!(null), "INFO")
        .expect("log")
        .expect("seq");
    assert!(next as usize >= acked.len());
    log.close().expect("close");
}
