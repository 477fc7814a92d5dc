//! A training-and-serving pipeline logging to aiaudit from Rust, then an auditor's checks.
//!
//! Run: `cargo run -p aiaudit --example pipeline -- /tmp/pipeline.db`
#![allow(clippy::print_stdout)]

use aiaudit::{AuditLogger, Durability, LogReader, Query, Status, VerifyOptions, events};
use serde_json::json;
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "pipeline.db".into());

    // The pipeline: one logger shared by every stage and thread.
    let log = Arc::new(
        AuditLogger::builder(&path)
            .durability(Durability::Async)
            .service("credit-pipeline")
            .custom_status("DEGRADED")
            .open()?,
    );
    log.log(events::data_access(
        "s3://bank/loans.parquet",
        120_000,
        "training",
    ))?;
    log.log(events::training(
        "credit-risk",
        "3.0.0",
        json!({"max_depth": 6, "learning_rate": 0.05}),
        json!({"accuracy": 0.91, "auc": 0.95}),
    ))?;
    log.log(events::evaluation(
        "credit-risk",
        "3.0.0",
        "holdout",
        json!({"accuracy": 0.90}),
    ))?;
    log.log(events::deployment("credit-risk", "3.0.0", "production"))?;

    // Serving: several threads record predictions concurrently.
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || -> aiaudit::Result<()> {
                for i in 0..250 {
                    let user = format!("analyst-{}", (w * 7 + i) % 13);
                    log.log(events::inference(
                        "credit-risk",
                        "3.0.0",
                        &user,
                        json!({"approved": i % 3 != 0}),
                        8.0 + f64::from(i % 10),
                    ))?;
                }
                Ok(())
            })
        })
        .collect();
    for w in workers {
        w.join().map_err(|_| "worker panicked")??;
    }
    log.log(events::drift("credit-risk", "income", 0.41, 0.3))?;
    log.log_event("Replica lagging", json!({"lag_s": 12}), "DEGRADED")?;
    log.log(events::error("Nightly batch failed", "Out of memory").status(Status::Failure))?;
    let size = log.close()?;
    println!("logged; the log holds {size} entries");

    // The auditor: query, verify, prove.
    let reader = LogReader::open(std::path::Path::new(&path))?;
    let drift = reader.query(&Query {
        kind: Some("drift".into()),
        ..Query::default()
    })?;
    println!("drift events: {}", drift.len());
    let report = reader.verify(&VerifyOptions::default(), &mut |_, _| {})?;
    println!(
        "verify: {} ({} entries, {} signed checkpoints)",
        if report.is_intact() {
            "intact"
        } else {
            "NOT intact"
        },
        report.entries,
        report.checkpoints
    );
    let proof = reader.prove(size - 1, None)?;
    let checkpoint = proof.verify(&reader.verifier()?)?;
    println!(
        "entry {} is in the signed tree of size {} — proof file:\n{}",
        proof.index,
        checkpoint.size,
        proof.to_text()
    );
    Ok(())
}
