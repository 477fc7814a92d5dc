//! `aiaudit demo`: a credit-risk pipeline from ingestion to 10,000 predictions, logged,
//! verified and summarised.

use aiaudit::{Durability, Event, LogReader, Query, Status, VerifyOptions, events};
use aiaudit_core::event::types;
use aiaudit_core::{sha256, timefmt};
use anyhow::{Result, bail};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Instant;

use crate::cli::Cli;
use crate::write::open_logger;

/// A small deterministic generator for the demo's synthetic traffic (not for anything secret).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One synthetic prediction event, as an inference service would log it.
pub fn prediction(rng: &mut Rng, i: u64, op: &str) -> Event {
    // Users follow a skewed distribution: a few analysts send most requests.
    let user = format!("user-{:04}", ((rng.unit().powi(3)) * 250.0) as u64 + 1);
    let income = 20_000 + rng.next_u64() % 180_000;
    let score = rng.unit();
    let approved = score > 0.35;
    // Latency: mostly 5–20 ms with a long tail.
    let latency = 4.0
        + 12.0 * rng.unit()
        + if rng.unit() < 0.02 {
            80.0 * rng.unit()
        } else {
            0.0
        };
    let input = json!({"income": income, "loan_amount": 5_000 + rng.next_u64() % 45_000, "term_months": 36});
    let input_hash = aiaudit_core::canonical::to_vec(&input)
        .map(|b| hex(&sha256(&b)))
        .unwrap_or_default();
    let mut e = events::inference(
        "credit-risk",
        if i.is_multiple_of(10) {
            "2.2.1"
        } else {
            "2.3.0"
        },
        &user,
        json!({
            "prediction": if approved { "approved" } else { "declined" },
            "score": (score * 1000.0).round() / 1000.0,
        }),
        (latency * 100.0).round() / 100.0,
    )
    .operation(op, "credit-risk-scoring")
    .detail("request_id", format!("req-{i:06}"))
    .detail(aiaudit_core::store::indexed::INPUT_HASH, input_hash);
    e.regulations = vec!["EU AI Act".into()];
    e
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The demo's pipeline before its predictions, each step naming what it read and made
/// (docs/format.md §11): the raw data read, its features made, the model trained on them,
/// evaluated, checked and deployed.
pub(crate) fn pipeline_events() -> Vec<Event> {
    vec![
        events::data_access(
            "s3://bank-data/loans-2026-10.parquet",
            120_000,
            "model training",
        )
        .user("etl-service"),
        events::transformation(
            "Feature engineering: impute, encode, scale",
            &["s3://bank-data/loans-2026-10.parquet"],
            &["features/loans-2026-10-v3.parquet"],
        )
        .detail("columns", 42)
        .detail("rows_dropped", 318),
        events::training(
            "credit-risk",
            "2.3.0",
            json!({"algorithm": "gradient_boosting", "n_estimators": 300, "max_depth": 6, "learning_rate": 0.05}),
            json!({"accuracy": 0.912, "auc": 0.951, "loss": 0.231, "training_seconds": 842.5}),
        )
        .detail("inputs", json!(["features/loans-2026-10-v3.parquet"])),
        events::evaluation(
            "credit-risk",
            "2.3.0",
            "holdout-2026-10",
            json!({"accuracy": 0.904, "auc": 0.947, "demographic_parity_gap": 0.021}),
        )
        .user("maria.validator"),
        events::compliance_check("EU AI Act", "Art. 10 data governance review", true),
        events::deployment("credit-risk", "2.3.0", "production").user("release-bot"),
    ]
}

pub fn run(cli: &Cli, predictions: u64) -> Result<()> {
    let started = Instant::now();
    let log = open_logger(cli, Durability::Async)?;
    let before = log.committed();
    let op = format!("demo-{}", timefmt::now_ns() / 1_000_000);
    let pipeline = |e: Event| e.operation(op.as_str(), "credit-risk-pipeline");

    for e in pipeline_events() {
        log.log(pipeline(e))?;
    }

    let mut rng = Rng::new(0x5eed_0000 ^ timefmt::now_ns() as u64);
    for i in 0..predictions {
        log.log(prediction(&mut rng, i, &op))?;
    }
    log.log(pipeline(events::drift("credit-risk", "income", 0.83, 0.3)))?;
    log.log(
        pipeline(Event::new(types::ERROR, "Nightly batch scoring failed"))
            .status(Status::Failure)
            .model("credit-risk", "2.3.0")
            .detail("error", "Out of memory")
            .detail("batch", "2026-11-23"),
    )?;
    let size = log.close()?;
    let logged = size - before;
    let ingest_secs = started.elapsed().as_secs_f64();

    let reader = LogReader::open(&cli.db)?;
    let t = Instant::now();
    let report = reader.verify(&VerifyOptions::default(), &mut |_, _| {})?;
    let verify_secs = t.elapsed().as_secs_f64();
    if !report.is_intact() {
        bail!(
            "verification failed at seq {:?}: {}",
            report.first_bad_seq(),
            report
                .findings
                .first()
                .map(|f| f.message.as_str())
                .unwrap_or("")
        );
    }
    let this_run = reader.query(&Query {
        operation: Some(op.clone()),
        limit: 0,
        ..Query::default()
    })?;
    let mut by_type: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    let mut users = std::collections::HashSet::new();
    for e in &this_run {
        *by_type.entry(e.kind.as_str()).or_default() += 1;
        *by_status.entry(e.status.as_str()).or_default() += 1;
        if let Some(u) = &e.user {
            users.insert(u.as_str());
        }
    }
    let cp = reader.checkpoint()?;
    say!(
        "aiaudit demo: a credit-risk pipeline logged to {}",
        cli.db.display()
    );
    say!();
    say!(
        "  run {op}: {logged} events in {ingest_secs:.2}s ({:.0} events/s, durable)",
        logged as f64 / ingest_secs
    );
    for (k, v) in &by_type {
        say!("    {k:<22} {v:>7}");
    }
    let statuses: Vec<String> = by_status.iter().map(|(k, v)| format!("{k} {v}")).collect();
    say!("  statuses: {}", statuses.join(", "));
    say!("  distinct users: {}", users.len());
    say!();
    say!(
        "  verify: OK, {} entries and {} signed checkpoints checked in {verify_secs:.2}s",
        report.entries,
        report.checkpoints
    );
    say!("  verifier key: {}", reader.info().verifier_key);
    say!();
    say!("  latest signed checkpoint:");
    for line in cp.note.lines() {
        if line.is_empty() {
            say!();
        } else {
            say!("    {line}");
        }
    }
    say!();
    say!(
        "  next: aiaudit query --type drift | aiaudit prove {} | aiaudit verify",
        size - 1
    );
    Ok(())
}
