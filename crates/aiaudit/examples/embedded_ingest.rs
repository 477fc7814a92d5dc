//! What a new user of the crate measures first: open a log with the defaults, `log_event` a
//! few hundred thousand predictions, `close()`. No global allocator is chosen here, so this
//! runs on the system allocator, as an embedding program does unless it picks another.
//!
//! Run: `cargo run --release -p aiaudit --example embedded_ingest -- [EVENTS] [DIR]`
#![allow(clippy::print_stdout)]

use aiaudit::AuditLogger;
use serde_json::json;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let events: u64 = args.next().map_or(Ok(300_000), |a| a.parse())?;
    let tmp = tempfile::tempdir()?;
    let dir = args
        .next()
        .map_or_else(|| tmp.path().to_owned(), Into::into);
    let path = dir.join("embedded.db");
    for side in ["", "-wal", "-shm", ".key", ".hmac"] {
        let _ = std::fs::remove_file(format!("{}{side}", path.display()));
    }
    let log = AuditLogger::builder(&path).open()?;
    let started = Instant::now();
    for i in 0..events {
        log.log_event(
            "prediction",
            json!({
                "model": "credit-risk",
                "version": "2.3.0",
                "user": format!("user-{:04}", i % 250),
                "input": {"income": 20_000 + i % 180_000, "loan_amount": 5_000 + i % 45_000},
                "output": {"approved": i % 3 != 0, "score": (i % 1000) as f64 / 1000.0},
                "latency_ms": 4.0 + (i % 16) as f64,
            }),
            "INFO",
        )?;
    }
    let submitted = started.elapsed();
    log.close()?;
    let total = started.elapsed();
    let size = std::fs::metadata(&path)?.len();
    println!(
        "{events} events: {:.0} events/s durable (close included), {:.0} ns per log_event on the caller's thread, {:.0} bytes per event on disk",
        events as f64 / total.as_secs_f64(),
        submitted.as_nanos() as f64 / events as f64,
        size as f64 / events as f64
    );
    Ok(())
}
