//! Writers on several hosts seal with their own clocks, so on a shared PostgreSQL log times and
//! ids need not grow with seq. Against the real server (127.0.0.1:5432, database `test`;
//! override with `AIAUDIT_TEST_PG`): a log whose times jump back and forth across bundles
//! answers time-bounded queries exactly, finds every entry by id and by seq, and its tree
//! matches the checkpoints it was given.

#![allow(clippy::unwrap_used)]

use aiaudit_core::{
    AppendBatch, CompactRange, Event, NODE_STRIDE, Query, Store, StoredCheckpoint, StoredEntry,
    root_at, seal,
};
use aiaudit_postgres::PostgresStore;

fn base() -> String {
    std::env::var("AIAUDIT_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn drop_schema(s: &str) {
    postgres::Client::connect(&base(), postgres::NoTls)
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {}: {e}. Start it with `scripts/services` (.ci/run does this)",
                base()
            )
        })
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {s} CASCADE;
             DO $$ DECLARE r text; BEGIN
               FOR r IN SELECT rolname FROM pg_roles WHERE rolname IN ('{s}_writer', '{s}_reader') LOOP
                 EXECUTE format('DROP OWNED BY %I', r);
                 EXECUTE format('DROP ROLE %I', r);
               END LOOP;
             END $$;"
        ))
        .unwrap();
}

/// A UUIDv7 carrying `time_ns`'s millisecond, made unique by `seq`.
fn id_at(time_ns: i64, seq: u64) -> String {
    let ms = (time_ns / 1_000_000) as u64;
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6] = 0x70;
    b[8] = 0x80;
    b[10..].copy_from_slice(&seq.to_be_bytes()[2..]);
    uuid::Uuid::from_bytes(b).to_string()
}

#[test]
fn skewed_clocks_keep_time_and_id_lookups_exact() {
    let schema = format!("t_skew_{}", std::process::id());
    drop_schema(&schema);
    let url = format!("{}?schema={schema}", base());
    let info = aiaudit_core::LogInfo {
        origin: "test.example/skew".into(),
        verifier_key: "k".into(),
        created_ns: 0,
    };
    let mut store = PostgresStore::create(&url, &info).unwrap();
    let base_ns: i64 = 1_796_083_200_000_000_000;
    // Three "hosts" whose clocks are 0, -40 s and +25 s off, taking turns in runs of 50.
    let skew = [0i64, -40_000_000_000, 25_000_000_000];
    let mut range = CompactRange::new();
    let mut all: Vec<StoredEntry> = Vec::new();
    let total = 900u64;
    for chunk_start in (0..total).step_by(70) {
        let mut entries = Vec::new();
        for seq in chunk_start..(chunk_start + 70).min(total) {
            let host = ((seq / 50) % 3) as usize;
            let time = base_ns + seq as i64 * 10_000_000 + skew[host];
            let id = id_at(time, seq);
            let event = Event::new("model_inference", format!("e{seq}"));
            let mut data = Vec::new();
            seal(&event, seq, &id, time, &mut data).unwrap();
            entries.push(StoredEntry::sealed(event, seq, id, time, data));
        }
        let mut nodes = Vec::new();
        for e in &entries {
            range.append(e.leaf_hash, |n| {
                if n.level > 0 && n.level % NODE_STRIDE == 0 {
                    nodes.push(n);
                }
            });
        }
        let size = entries.last().unwrap().seq + 1;
        let cp = StoredCheckpoint {
            size,
            root: range.root(),
            note: format!("test.example/skew\n{size}\n"),
            time_ns: base_ns,
        };
        store
            .append(AppendBatch {
                entries: &entries,
                nodes: &nodes,
                checkpoint: &cp,
            })
            .unwrap();
        all.extend(entries);
    }
    assert_eq!(store.size().unwrap(), total);
    let cp = store.latest_checkpoint().unwrap().unwrap();
    assert_eq!(root_at(&store, total).unwrap(), cp.root);

    for e in all.iter().step_by(7) {
        let by_seq = store.entry(e.seq).unwrap().unwrap();
        assert_eq!((by_seq.time_ns, &by_seq.data), (e.time_ns, &e.data));
        let by_id = store.entry_by_id(&e.id).unwrap().unwrap();
        assert_eq!(by_id.seq, e.seq, "id {}", e.id);
    }
    let mut times: Vec<i64> = all.iter().map(|e| e.time_ns).collect();
    times.sort_unstable();
    for (a, b, desc) in [
        (0usize, 100usize, false),
        (100, 500, true),
        (450, 460, false),
        (0, 899, true),
        (700, 899, false),
    ] {
        let (since, until) = (times[a], times[b]);
        let q = Query {
            since_ns: Some(since),
            until_ns: Some(until),
            descending: desc,
            ..Query::default()
        };
        let got: Vec<u64> = store.query(&q).unwrap().iter().map(|e| e.seq).collect();
        let mut want: Vec<u64> = all
            .iter()
            .filter(|e| (since..=until).contains(&e.time_ns))
            .map(|e| e.seq)
            .collect();
        if desc {
            want.reverse();
        }
        assert_eq!(got, want, "[{since}, {until}]");
    }
    drop(store);
    drop_schema(&schema);
}
