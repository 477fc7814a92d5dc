//! Helpers shared by the sink scenario tests: writing a real log, reading it back, waiting.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use aiaudit::{AuditLogger, Durability, LogReader, Query, StoredEntry, events};
use aiaudit_sinks::SinkConfig;
use serde_json::json;

/// Appends `n` events to the log at `db`: every third a `model_inference` by alice, the rest
/// `event`s whose statuses cycle DEBUG … CRITICAL. `tag` makes names unique per call.
pub fn log_events(db: &Path, n: usize, tag: &str) {
    let log = AuditLogger::builder(db)
        .durability(Durability::Sync)
        .open()
        .unwrap();
    const STATUSES: [&str; 7] = [
        "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "FAILURE", "CRITICAL",
    ];
    for i in 0..n {
        if i % 3 == 2 {
            log.log(events::inference(
                "credit-risk",
                "1.4.0",
                "alice",
                json!({"i": i}),
                1.5,
            ))
            .unwrap();
        } else {
            let status = STATUSES[i % STATUSES.len()];
            log.log_event(
                &format!("{tag} step {i}"),
                json!({"i": i, "tag": tag}),
                status,
            )
            .unwrap();
        }
    }
    log.close().unwrap();
}

/// Every entry of the log, in seq order.
pub fn entries(db: &Path) -> Vec<StoredEntry> {
    LogReader::open(db)
        .unwrap()
        .query(&Query::default())
        .unwrap()
}

/// Polls `cond` every 20 ms until it holds; panics with `what` after `secs` seconds.
pub fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Parses a `[[sinks]]` TOML snippet.
pub fn sinks(toml_text: &str) -> Vec<SinkConfig> {
    let doc: toml::Table = toml::from_str(toml_text).unwrap();
    aiaudit_sinks::parse_sinks(&doc["sinks"]).unwrap()
}

/// Waits until every sink's cursor reached the log's size.
pub fn wait_caught_up(db: &Path, cursors: &Path, cfg: &[SinkConfig]) {
    wait_until(20, "the sinks to catch up", || {
        aiaudit_sinks::status(db, cursors, cfg)
            .unwrap()
            .iter()
            .all(|s| s.lag == 0)
    });
}

/// Serves `app` on 127.0.0.1:0 from a background thread with its own runtime; returns the
/// address. The server lives until the test process ends.
pub fn serve(app: axum::Router) -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}
