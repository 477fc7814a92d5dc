//! A PostgreSQL log in aiaudit's first layout (`tests/fixtures/v1/postgres-v1.sql`, holding the
//! rows of the fixture's v1 log) is refused in one line, converted by `aiaudit migrate --to-v2`
//! into the current layout in the same schema, and afterwards holds the same records and the
//! same signed checkpoints; a damaged one is not converted and stays as it was.

mod common;

use common::{drop_pg_schema, pg_base, run, stderr, stdout};
use std::path::{Path, PathBuf};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v1");

fn client() -> postgres::Client {
    postgres::Client::connect(&pg_base(), postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {}: {e}. Start it with `scripts/services` (.ci/run does this)",
            pg_base()
        )
    })
}

/// A v1 schema `schema` holding the fixture log's rows, as aiaudit-postgres v1 wrote them.
fn v1_schema(schema: &str) -> PathBuf {
    for s in [
        schema.to_owned(),
        format!("{schema}_v1"),
        format!("{schema}_v2"),
    ] {
        drop_pg_schema(&s);
    }
    let ddl = std::fs::read_to_string(Path::new(FIXTURE).join("postgres-v1.sql"))
        .expect("fixture DDL")
        .replace("{s}", schema);
    let mut pg = client();
    pg.batch_execute(&ddl).expect("the v1 layout");
    let src = rusqlite::Connection::open_with_flags(
        Path::new(FIXTURE).join("v1.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the fixture log");
    let mut tx = pg.transaction().expect("tx");
    let mut meta = src.prepare("SELECT key, value FROM meta").expect("meta");
    for row in meta
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .expect("meta rows")
    {
        let (k, v) = row.expect("meta row");
        tx.execute(
            &format!("INSERT INTO {schema}.meta(key, value) VALUES ($1, $2)"),
            &[&k, &v],
        )
        .expect("meta");
    }
    tx.execute(
        &format!("INSERT INTO {schema}.meta(key, value) VALUES ('format_version', '1')"),
        &[],
    )
    .expect("version");
    let mut entries = src
        .prepare("SELECT seq, time_ns, leaf_hash, data FROM entries ORDER BY seq")
        .expect("entries");
    let mut size = 0i64;
    for row in entries
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
            ))
        })
        .expect("entry rows")
    {
        let (seq, time, leaf, data) = row.expect("entry row");
        let record: serde_json::Value = serde_json::from_slice(&data).expect("a record");
        let id = record["id"].as_str().expect("an id").to_owned();
        tx.execute(
            &format!(
                "INSERT INTO {schema}.entries(seq, time_ns, id, leaf_hash, data) VALUES ($1, $2, $3::text::uuid, $4, $5)"
            ),
            &[&seq, &time, &id, &leaf, &data],
        )
        .expect("entry");
        size = seq + 1;
    }
    let mut nodes = src.prepare("SELECT id, hash FROM nodes").expect("nodes");
    for row in nodes
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .expect("node rows")
    {
        let (id, hash) = row.expect("node row");
        tx.execute(
            &format!("INSERT INTO {schema}.nodes(id, hash) VALUES ($1, $2)"),
            &[&id, &hash],
        )
        .expect("node");
    }
    for (size, root, note) in signed_sqlite(&Path::new(FIXTURE).join("v1.db")) {
        let time: i64 = src
            .query_row(
                "SELECT time_ns FROM checkpoints WHERE size = ?1",
                [size],
                |r| r.get(0),
            )
            .expect("time");
        tx.execute(
            &format!(
                "INSERT INTO {schema}.checkpoints(size, root, note, time_ns) VALUES ($1, $2, $3, $4)"
            ),
            &[&size, &root, &note, &time],
        )
        .expect("checkpoint");
    }
    tx.execute(
        &format!("INSERT INTO {schema}.head(size) VALUES ($1)"),
        &[&size],
    )
    .expect("head");
    tx.commit().expect("commit");
    PathBuf::from(format!("{}?schema={schema}", pg_base()))
}

fn signed_sqlite(db: &Path) -> Vec<(i64, Vec<u8>, String)> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open");
    let mut stmt = c
        .prepare("SELECT size, root, note FROM checkpoints ORDER BY size")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn signed_pg(schema: &str) -> Vec<(i64, Vec<u8>, String)> {
    client()
        .query(
            &format!("SELECT size, root, note FROM {schema}.checkpoints ORDER BY size"),
            &[],
        )
        .expect("checkpoints")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

fn schema_exists(schema: &str) -> bool {
    client()
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&schema],
        )
        .expect("pg_namespace")
        .get(0)
}

/// The fixture's signing key and secret in `dir`, where commands run there look for a
/// PostgreSQL log's (`<schema>.key`, `<schema>.hmac`).
fn keys(dir: &Path, schema: &str) {
    for ext in ["key", "hmac"] {
        std::fs::copy(
            Path::new(FIXTURE).join(format!("v1.{ext}")),
            dir.join(format!("{schema}.{ext}")),
        )
        .expect("copy key");
    }
}

#[test]
fn a_v1_schema_is_refused_then_converted_with_every_record_and_checkpoint() {
    let schema = format!("t_upg_{}", std::process::id());
    let db = v1_schema(&schema);
    let signed = signed_pg(&schema);
    assert_eq!(signed, signed_sqlite(&Path::new(FIXTURE).join("v1.db")));

    for args in [&["verify"][..], &["query", "--limit", "3"], &["prove", "5"]] {
        let out = run(&db, args);
        assert!(!out.status.success(), "{args:?} went on");
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains("is an aiaudit v1 log: run `aiaudit migrate --to-v2 --db"),
            "{args:?}: {err}"
        );
    }

    let out = run(&db, &["migrate", "--to-v2"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("schema {schema}_v1")), "{text}");
    assert!(text.contains("OK: the converted log verifies"), "{text}");

    // The same signed checkpoints; the v1 schema kept beside it; no partial copy left.
    assert_eq!(signed_pg(&schema), signed);
    assert_eq!(signed_pg(&format!("{schema}_v1")), signed);
    assert!(!schema_exists(&format!("{schema}_v2")));
    let version: String = client()
        .query_one(
            &format!("SELECT value FROM {schema}.meta WHERE key = 'format_version'"),
            &[],
        )
        .expect("version")
        .get(0);
    assert_eq!(version, "2");

    // Every record reads back as the v1 binary showed it, and its proof is the same.
    let query = run(&db, &["query", "--format", "jsonl", "--limit", "0"]);
    assert!(query.status.success(), "{}", stderr(&query));
    let want = std::fs::read_to_string(Path::new(FIXTURE).join("query.jsonl")).expect("fixture");
    assert_eq!(stdout(&query), want);
    let size = std::fs::read_to_string(Path::new(FIXTURE).join("prove-300.size"))
        .expect("size")
        .trim()
        .to_owned();
    let again = run(&db, &["prove", "300", "--size", &size]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        stdout(&again),
        std::fs::read_to_string(Path::new(FIXTURE).join("prove-300.txt")).expect("proof")
    );

    // The converted log takes new events with the log's own key.
    let dir = tempfile::tempdir().expect("tmp");
    keys(dir.path(), &schema);
    let out = common::bin()
        .current_dir(dir.path())
        .args(["--db", &db.to_string_lossy(), "log", "after the upgrade"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(run(&db, &["verify"]).status.success());
    let out = run(&db, &["migrate", "--to-v2"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("nothing to migrate"),
        "{}",
        stderr(&out)
    );
    for s in [schema.clone(), format!("{schema}_v1")] {
        drop_pg_schema(&s);
    }
}

#[test]
fn a_damaged_v1_schema_is_not_converted_and_stays_as_it_was() {
    let schema = format!("t_upgbad_{}", std::process::id());
    let db = v1_schema(&schema);
    client()
        .batch_execute(&format!(
            "SET session_replication_role = replica;
             UPDATE {schema}.entries SET data = convert_to(replace(convert_from(data, 'UTF8'), '\"approved\"', '\"declined\"'), 'UTF8') WHERE seq = 17;
             SET session_replication_role = origin;"
        ))
        .expect("tamper");
    let out = run(&db, &["migrate", "--to-v2"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
    assert!(
        !schema_exists(&format!("{schema}_v2")),
        "the partial copy is dropped"
    );
    assert!(!schema_exists(&format!("{schema}_v1")));
    let out = run(&db, &["verify"]);
    assert!(
        stderr(&out).contains("is an aiaudit v1 log"),
        "{}",
        stderr(&out)
    );
    drop_pg_schema(&schema);
}
