//! Measures raw `SqliteStore::append` speed with sealed entries shaped like the demo's.
//! Run: cargo run --release -p aiaudit-sqlite --example append_speed -- [events] [batch]
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use aiaudit_core::*;
use aiaudit_sqlite::SqliteStore;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().map(|a| a.parse().unwrap()).unwrap_or(300_000);
    let batch: usize = args.next().map(|a| a.parse().unwrap()).unwrap_or(8192);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let info = LogInfo {
        origin: "o".into(),
        verifier_key: "k".into(),
        created_ns: 0,
    };
    let mut store = SqliteStore::create(&path, &info).unwrap();
    let t0 = Instant::now();
    let mut entries = Vec::with_capacity(n as usize);
    for seq in 0..n {
        let e = Event::new("model_inference", "credit-risk prediction")
            .model("credit-risk", "2.3.0")
            .user(format!("user-{:04}", seq % 250))
            .operation("demo-1", "credit-risk-scoring")
            .detail("latency_ms", 12.5)
            .detail("request_id", format!("req-{seq:06}"))
            .detail(
                "input_hash",
                "8c2757a26d871a50f646bcfea2a85ffa2f39a664d98dfbee4ccb593b85d266eb",
            );
        let id = format!("01a20c4f-c9dc-7871-9ec7-{:012x}", seq);
        let mut data = Vec::new();
        let time_ns = timefmt::now_ns();
        seal(&e, seq, &id, time_ns, &mut data).unwrap();
        entries.push(StoredEntry {
            seq,
            id,
            time_ns,
            kind: "model_inference".into(),
            status: "INFO".into(),
            model: Some("credit-risk".into()),
            user: e.actor.as_ref().and_then(|a| a.user.clone()),
            op_id: Some("demo-1".into()),
            op_name: Some("credit-risk-scoring".into()),
            subject: None,
            input_hash: None,
            ingest_id: None,
            artifacts: vec!["uses:model:credit-risk@2.3.0".into()],
            leaf_hash: leaf_hash(&data),
            data,
        });
    }
    println!(
        "prepare: {:.0} events/s",
        n as f64 / t0.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    for (i, chunk) in entries.chunks(batch).enumerate() {
        let cp = StoredCheckpoint {
            size: (i * batch + chunk.len()) as u64,
            root: [0; 32],
            note: "n".into(),
            time_ns: 0,
        };
        store
            .append(AppendBatch {
                entries: chunk,
                nodes: &[],
                checkpoint: &cp,
            })
            .unwrap();
    }
    println!(
        "append: {:.0} events/s, {} bytes/record",
        n as f64 / t.elapsed().as_secs_f64(),
        entries[0].data.len()
    );
}
