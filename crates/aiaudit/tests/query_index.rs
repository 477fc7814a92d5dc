//! The query index against a naive scan: for random logs and random queries (every filter, time
//! bounds, cursors, both orders, limits), the indexed query returns exactly what filtering all
//! records returns, and every record is found by its id; on SQLite and on PostgreSQL
//! (127.0.0.1:5432, database `test`; override with `AIAUDIT_TEST_PG`).

use aiaudit::{AuditLogger, Durability, Event, LogReader, Query, StoredEntry};
use aiaudit_core::{Actor, ModelRef, Operation};
use proptest::prelude::*;

fn naive(all: &[StoredEntry], q: &Query) -> Vec<u64> {
    let pass =
        |want: &Option<String>, have: Option<&str>| want.as_deref().is_none_or(|w| Some(w) == have);
    let mut out: Vec<u64> = all
        .iter()
        .filter(|e| {
            pass(&q.kind, Some(&e.kind))
                && pass(&q.status, Some(&e.status))
                && pass(&q.model, e.model.as_deref())
                && pass(&q.user, e.user.as_deref())
                && pass(&q.subject, e.subject.as_deref())
                && pass(&q.input_hash, e.input_hash.as_deref())
                && q.uses.as_deref().is_none_or(|a| e.uses(a))
                && q.makes.as_deref().is_none_or(|a| e.makes(a))
                && q.operation.as_deref().is_none_or(|o| {
                    e.op_id.as_deref() == Some(o) || e.op_name.as_deref() == Some(o)
                })
                && q.since_ns.is_none_or(|t| e.time_ns >= t)
                && q.until_ns.is_none_or(|t| e.time_ns <= t)
                && q.after_seq
                    .is_none_or(|a| if q.descending { e.seq < a } else { e.seq > a })
        })
        .map(|e| e.seq)
        .collect();
    if q.descending {
        out.reverse();
    }
    if q.limit > 0 {
        out.truncate(q.limit);
    }
    out
}

fn pg_base() -> String {
    std::env::var("AIAUDIT_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh PostgreSQL schema for one case, dropped when done.
struct Schema(String);

impl Schema {
    fn new(case: &str) -> Schema {
        let s = Schema(format!("t_qi_{case}_{}", std::process::id()));
        s.drop_it();
        s
    }

    fn url(&self) -> String {
        format!("{}?schema={}", pg_base(), self.0)
    }

    fn drop_it(&self) {
        let s = &self.0;
        postgres::Client::connect(&pg_base(), postgres::NoTls)
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is not reachable at {}: {e}. Start it with `scripts/services` (.ci/run does this)",
                    pg_base()
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
            .expect("drop the test schema");
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        self.drop_it();
    }
}

fn pick<T: Clone>(choices: &[T], i: u8) -> T {
    choices[i as usize % choices.len()].clone()
}

type Queries = Vec<([u8; 9], bool, usize)>;

fn check(
    events: &[[u8; 6]],
    batch: usize,
    queries: Queries,
    on_postgres: bool,
) -> Result<(), TestCaseError> {
    // model_training makes the model it names; the others read it.
    let kinds = ["model_inference", "drift", "data_access", "model_training"];
    let statuses = ["INFO", "WARNING", "ERROR"];
    let names = ["a", "b", "c", "d"];
    let dir = tempfile::tempdir().expect("tmp");
    let schema = on_postgres.then(|| Schema::new(&format!("{}_{batch}", events.len())));
    let path = match &schema {
        Some(s) => std::path::PathBuf::from(s.url()),
        None => dir.path().join("q.db"),
    };
    let log = AuditLogger::builder(&path)
        .durability(Durability::Async)
        .batch_size(batch)
        .queue_size(batch)
        .signing_key_path(dir.path().join("q.key"))
        .hmac_key_path(dir.path().join("q.hmac"))
        .subject_keys_path(dir.path().join("q.subjects"))
        .open()
        .expect("open");
    for f in events {
        let mut e = Event::new(pick(&kinds, f[0]), "e")
            .status(log.status(pick(&statuses, f[1])).expect("status"));
        if f[2] % 4 != 0 {
            e.model = Some(ModelRef {
                name: format!("m{}", f[2] % 3),
                version: None,
            });
        }
        if f[3] % 3 != 0 {
            e.actor = Some(Actor {
                user: Some(format!("u{}", f[3] % 5)),
                ..Actor::default()
            });
        }
        if f[4] % 2 == 0 {
            // Id and name sometimes coincide, to exercise the shared `op:` key.
            e.operation = Some(Operation {
                id: Some(pick(&names, f[4]).to_owned()),
                name: Some(pick(&names, f[4] / 3).to_owned()),
            });
        }
        if f[5] % 5 == 0 {
            e.subject = Some(format!("s{}", f[5] % 2));
        }
        if f[0] % 3 == 1 {
            e = e.detail("input_hash", format!("h{}", f[1] % 4));
        }
        if f[5] % 3 == 1 {
            e = e.detail("dataset", format!("d{}", f[4] % 3));
        }
        log.log(e).expect("log");
    }
    log.close().expect("close");
    let r = LogReader::open(&path).expect("reader");
    let all = r
        .query(&Query {
            limit: 0,
            ..Query::default()
        })
        .expect("all");
    prop_assert_eq!(all.len(), events.len());
    let times: Vec<i64> = all.iter().map(|e| e.time_ns).collect();
    for e in all.iter().step_by(37) {
        prop_assert_eq!(r.get_by_id(&e.id).expect("by id").seq, e.seq);
    }
    for (q, desc, limit) in queries {
        let query = Query {
            kind: (q[0] % 3 == 0).then(|| pick(&kinds, q[1]).to_owned()),
            status: (q[1] % 3 == 0).then(|| pick(&statuses, q[2]).to_owned()),
            model: (q[2] % 4 == 0).then(|| format!("m{}", q[3] % 4)),
            user: (q[3] % 4 == 0).then(|| format!("u{}", q[4] % 6)),
            operation: (q[4] % 4 == 0).then(|| pick(&names, q[5]).to_owned()),
            subject: (q[5] % 6 == 0).then(|| format!("s{}", q[6] % 3)),
            input_hash: (q[6] % 5 == 0).then(|| format!("h{}", q[7] % 5)),
            ingest_id: None,
            uses: match q[0] % 7 {
                1 => Some(format!("model:m{}", q[1] % 4)),
                2 => Some(format!("dataset:d{}", q[2] % 4)),
                _ => None,
            },
            makes: (q[0] % 7 == 3).then(|| format!("model:m{}", q[1] % 4)),
            since_ns: (q[6] % 3 == 0).then(|| times[q[7] as usize % times.len()]),
            until_ns: (q[7] % 3 == 0).then(|| times[q[8] as usize % times.len()]),
            after_seq: (q[8] % 4 == 0).then(|| u64::from(q[0]) % (events.len() as u64 + 2)),
            before_seq: None,
            descending: desc,
            limit,
        };
        let got: Vec<u64> = r
            .query(&query)
            .expect("query")
            .iter()
            .map(|e| e.seq)
            .collect();
        prop_assert_eq!(got, naive(&all, &query), "{:?}", query);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn indexed_queries_match_a_full_scan_on_sqlite(
        events in prop::collection::vec(any::<[u8; 6]>(), 1..700),
        batch in 1usize..40,
        queries in prop::collection::vec((any::<[u8; 9]>(), any::<bool>(), 0usize..30), 40),
    ) {
        check(&events, batch, queries, false)?;
    }

    #[test]
    fn indexed_queries_match_a_full_scan_on_postgres(
        events in prop::collection::vec(any::<[u8; 6]>(), 1..700),
        batch in 1usize..40,
        queries in prop::collection::vec((any::<[u8; 9]>(), any::<bool>(), 0usize..30), 40),
    ) {
        check(&events, batch, queries, true)?;
    }
}
