//! `aiaudit archive`: records moved to Parquet on `file://` and on a real S3-API server
//! (moto_server, started by scripts/services), read back transparently, proofs intact, and
//! the faults: a refused retention, a changed row, a missing file, a forged manifest, an
//! object store that stops mid-run, and runs SIGKILLed at random points.

mod common;

use common::{bin, make_log, run, stderr, stdout};
use std::path::Path;
use std::process::{Command, Output};

/// The shared S3-API server scripts/services starts.
const MOTO: &str = "127.0.0.1:5055";

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}\n{}", stdout(o), stderr(o));
    stdout(o)
}

/// `archive` of everything old enough now, below six months with a reason.
fn archive_now(to: &str) -> [&str; 7] {
    [
        "archive",
        "--older-than",
        "0s",
        "--to",
        to,
        "--force",
        "test",
    ]
}

/// `delete-archives` of every archived file, below six months with a reason.
const DELETE_NOW: [&str; 5] = ["delete-archives", "--older-than", "0s", "--force", "test"];

fn archive(db: &Path, to: &str) -> Output {
    run(db, &archive_now(to))
}

fn file_url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

fn query_all(db: &Path) -> String {
    ok(&run(db, &["query", "--format", "jsonl", "--limit", "0"]))
}

#[test]
fn a_file_archive_keeps_every_record_readable_and_every_proof_valid() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = make_log(dir.path(), "a.db", 3_000, 500);
    let before = query_all(&db);
    let proof_before = ok(&run(&db, &["prove", "100"]));
    let size_before = std::fs::metadata(&db).expect("db").len();

    // Younger than six months is refused without a reason, and nothing moves.
    let refused = run(
        &db,
        &[
            "archive",
            "--older-than",
            "30d",
            "--to",
            &file_url(&dir.path().join("x")),
        ],
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("183 days"),
        "{}",
        stderr(&refused)
    );
    assert!(!dir.path().join("x").join("seq-0-2815.parquet").exists());

    let arch = dir.path().join("archive");
    let out = ok(&archive(&db, &file_url(&arch)));
    // 3,000 records: eleven whole bundles (2,816 records) go; the tail and the rest stay.
    assert!(out.contains("archived seqs 0..2815"), "{out}");
    assert!(arch.join("seq-0-2815.parquet").is_file());
    assert!(arch.join("seq-0-2815.manifest").is_file());
    let size_after = std::fs::metadata(&db).expect("db").len();
    assert!(size_after < size_before, "{size_after} ≥ {size_before}");

    // Every record reads as before (and the archive event is new, at the end).
    let after = query_all(&db);
    assert!(after.starts_with(&before), "records changed in the archive");
    let event = after[before.len()..].trim();
    assert!(event.contains("\"type\":\"archive\""), "{event}");
    assert!(event.contains("\"forced_reason\":\"test\""), "{event}");
    assert!(ok(&run(&db, &["show", "7"])).contains("\"event 7\""));
    // The old proof still verifies, and a new proof of an archived record is the same.
    let p = dir.path().join("p.txt");
    std::fs::write(&p, &proof_before).expect("write");
    let vkey = ok(&run(&db, &["verifier-key"]));
    let vkey = vkey.lines().next().expect("key");
    ok(&run(
        &db,
        &["verify-proof", p.to_str().expect("utf8"), "--key", vkey],
    ));
    let again = ok(&run(&db, &["prove", "100", "--size", "3000"]));
    assert_eq!(again, proof_before);

    let v = ok(&run(&db, &["verify"]));
    assert!(v.contains("archived: seqs 0..2815 in 1 files"), "{v}");
    let v = ok(&run(&db, &["verify", "--archive"]));
    assert!(v.contains("every row checked"), "{v}");

    // A second run finds nothing new old enough, then archives what came since.
    assert!(ok(&archive(&db, &file_url(&arch))).contains("nothing to archive"));
    common::append(&db, 3_000, 3_600, 500);
    let out = ok(&archive(&db, &file_url(&arch)));
    assert!(out.contains("archived seqs 2816..3583"), "{out}");
    ok(&run(&db, &["verify", "--archive"]));
    assert_eq!(
        ok(&run(
            &db,
            &[
                "query", "--user", "user-3", "--format", "jsonl", "--limit", "0"
            ]
        ))
        .lines()
        .count(),
        720
    );
}

#[test]
fn damage_to_the_archive_is_found_and_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = make_log(dir.path(), "d.db", 1_000, 250);
    let arch = dir.path().join("archive");
    ok(&archive(&db, &file_url(&arch)));
    let file = arch.join("seq-0-767.parquet");

    // One record changed in a well-formed file: --archive names its seq.
    let original = std::fs::read(&file).expect("read");
    let bytes = bytes::Bytes::from(original.clone());
    let mut rows = Vec::new();
    let (_, groups) = aiaudit_archive::parquet_file::shape("f", &bytes).expect("shape");
    for g in 0..groups {
        rows.extend(aiaudit_archive::parquet_file::read_group("f", &bytes, g).expect("rows"));
    }
    let entries: Vec<aiaudit_core::StoredEntry> = rows
        .into_iter()
        .map(|(seq, mut data)| {
            if seq == 300 {
                let at = data
                    .windows(9)
                    .position(|w| w == b"event 300")
                    .expect("name");
                data[at + 6] = b'9';
            }
            aiaudit_core::StoredEntry::raw(seq, 0, [0; 32], data)
        })
        .collect();
    std::fs::write(
        &file,
        aiaudit_archive::parquet_file::write(&entries).expect("write"),
    )
    .expect("write");
    assert!(
        run(&db, &["verify"]).status.success(),
        "verify alone reads no archive"
    );
    let v = run(&db, &["verify", "--archive"]);
    assert!(!v.status.success());
    assert!(stdout(&v).contains("first bad seq 300"), "{}", stdout(&v));
    assert!(stdout(&v).contains("its manifest says"), "{}", stdout(&v));

    // A truncated file: reads of its records fail naming the range and the file.
    std::fs::write(&file, &original[..original.len() / 2]).expect("write");
    let shown = run(&db, &["show", "5"]);
    assert!(!shown.status.success());
    assert!(
        stderr(&shown).contains("seqs 0–767 are archived in seq-0-767.parquet"),
        "{}",
        stderr(&shown)
    );
    assert!(!run(&db, &["verify", "--archive"]).status.success());

    // A missing file: the same, and the records after it still read.
    std::fs::remove_file(&file).expect("rm");
    let shown = run(&db, &["show", "5"]);
    assert!(
        stderr(&shown).contains("seq-0-767.parquet"),
        "{}",
        stderr(&shown)
    );
    assert!(ok(&run(&db, &["show", "900"])).contains("\"event 900\""));
    let v = run(&db, &["verify", "--archive"]);
    assert!(!v.status.success());
    std::fs::write(&file, &original).expect("restore");
    ok(&run(&db, &["verify", "--archive"]));

    // A manifest that is not the log's: verify names the range, archive or not.
    let conn = common::open_raw(&db);
    conn.execute_batch("UPDATE archives SET manifest = replace(manifest, 'rows 768', 'rows 769');")
        .expect("forge");
    drop(conn);
    let v = run(&db, &["verify"]);
    assert!(!v.status.success());
    assert!(
        stdout(&v).contains("its manifest does not verify"),
        "{}",
        stdout(&v)
    );
}

/// Creates `bucket` on the S3-API server at `addr` (moto accepts an unsigned PUT).
fn make_bucket(addr: &str, bucket: &str) -> Result<(), String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| {
        format!("no S3-API server on {addr} ({e}): start it with scripts/services (moto_server)")
    })?;
    write!(
        s,
        "PUT /{bucket} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    if answer.starts_with("HTTP/1.1 200") || answer.contains("BucketAlreadyOwnedByYou") {
        Ok(())
    } else {
        Err(format!("creating bucket {bucket}: {answer}"))
    }
}

fn with_s3(cmd: &mut Command, addr: &str) {
    cmd.env("AWS_ENDPOINT_URL", format!("http://{addr}"))
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1");
}

fn run_s3(db: &Path, addr: &str, args: &[&str]) -> Output {
    let mut cmd = bin();
    cmd.arg("--db").arg(db).args(args);
    with_s3(&mut cmd, addr);
    cmd.output().expect("run")
}

#[test]
fn an_s3_archive_on_a_real_s3_api_server() {
    make_bucket(MOTO, "aiaudit-archive-test").unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().expect("tmp");
    let db = make_log(dir.path(), "s.db", 1_000, 250);
    let before = query_all(&db);
    let url = format!(
        "s3://aiaudit-archive-test/{}",
        dir.path()
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
    );
    let out = run_s3(&db, MOTO, &archive_now(&url));
    assert!(ok(&out).contains("archived seqs 0..767"));
    let q = run_s3(&db, MOTO, &["query", "--format", "jsonl", "--limit", "0"]);
    assert!(ok(&q).starts_with(&before));
    assert!(ok(&run_s3(&db, MOTO, &["verify", "--archive"])).contains("every row checked"));

    // An export uploads in parts and completes the object: every record, the archived too.
    let object = format!("{url}/exports/all.jsonl");
    ok(&run_s3(
        &db,
        MOTO,
        &["export", "--format", "jsonl", "--to", &object],
    ));
    let key = object.trim_start_matches("s3://");
    let body = get_object(MOTO, key);
    assert_eq!(
        body.lines().count(),
        1_001,
        "{}",
        &body[..body.len().min(300)]
    );
    assert!(body.contains("\"name\":\"event 7\""));
}

/// The object at `bucket/key` from the S3-API server, read with a plain GET (moto answers
/// unsigned requests).
fn get_object(addr: &str, key: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("S3-API server");
    write!(
        s,
        "GET /{key} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .expect("a body")
}

/// A moto_server of this test's own on `port` (a free one if `None`), so that it can be
/// stopped; it fails, saying how to install it, when scripts/services has not.
fn private_moto(port: Option<u16>) -> (std::process::Child, String) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let exe = repo.join("target/services-venv/bin/moto_server");
    assert!(
        exe.exists(),
        "moto_server is not installed: run scripts/services (it installs moto[server] into target/services-venv)"
    );
    let port = port.unwrap_or_else(|| {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port()
    });
    let mut child = Command::new(exe)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start moto_server");
    let addr = format!("127.0.0.1:{port}");
    for _ in 0..100 {
        if make_bucket(&addr, "bkt").is_ok() {
            return (child, addr);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("moto_server did not start on {addr}");
}

#[test]
fn an_object_store_that_stops_drops_nothing_and_a_rerun_finishes() {
    let (mut moto, addr) = private_moto(None);
    let dir = tempfile::tempdir().expect("tmp");
    let db = make_log(dir.path(), "f.db", 600, 300);
    let before = query_all(&db);
    moto.kill().expect("kill");
    moto.wait().expect("wait");
    let out = run_s3(&db, &addr, &archive_now("s3://bkt/x"));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("nothing was dropped") && err.contains("rerun"),
        "{err}"
    );
    assert_eq!(query_all(&db), before, "the log is unchanged");
    let v = ok(&run(&db, &["verify"]));
    assert!(!v.contains("archived"), "{v}");

    // The same server back (on the same port, empty): the rerun finishes.
    let port = addr.rsplit(':').next().and_then(|p| p.parse().ok());
    let (mut moto, _) = private_moto(port);
    let out = run_s3(&db, &addr, &archive_now("s3://bkt/x"));
    assert!(ok(&out).contains("archived seqs 0..511"));
    assert!(
        ok(&run_s3(
            &db,
            &addr,
            &["query", "--format", "jsonl", "--limit", "0"]
        ))
        .starts_with(&before)
    );
    ok(&run_s3(&db, &addr, &["verify", "--archive"]));
    let _ = moto.kill();
    let _ = moto.wait();
}

#[test]
fn archive_runs_killed_at_random_points_never_lose_a_record() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = make_log(dir.path(), "k.db", 256 * 40 + 17, 1024);
    let before = query_all(&db);
    let arch = dir.path().join("archive");
    let url = file_url(&arch);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..12 {
        // A few more records each round, so that every run has something to move.
        common::append(&db, 20_000 + round * 300, 20_000 + round * 300 + 300, 300);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = std::time::Duration::from_millis(seed % 400);
        let mut child = bin()
            .arg("--db")
            .arg(&db)
            .args(archive_now(&url))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        // Whatever was dropped is in a recorded file; every record reads as it was.
        let v = run(&db, &["verify", "--archive"]);
        assert!(v.status.success(), "round {round}: {}", stdout(&v));
        assert!(
            query_all(&db).starts_with(&before),
            "round {round}: a record changed"
        );
    }
    ok(&archive(&db, &url));
    ok(&run(&db, &["verify", "--archive"]));
    assert!(query_all(&db).starts_with(&before));
}

#[test]
fn serve_archives_on_its_schedule_and_refuses_a_short_retention() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = make_log(dir.path(), "r.db", 700, 350);
    let config = dir.path().join("aiaudit.toml");
    let arch = dir.path().join("cold");
    // Below six months without a reason: the server does not start, naming the setting.
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ndb = \"r.db\"\n[retention]\narchive_after = \"1s\"\nto = \"{}\"\n",
            file_url(&arch)
        ),
    )
    .expect("write");
    let refused = bin()
        .current_dir(dir.path())
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .expect("serve");
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("force_reason"),
        "{}",
        stderr(&refused)
    );

    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ndb = \"r.db\"\n[retention]\narchive_after = \"1s\"\nmin_retention = \"1s\"\nevery = \"1s\"\nforce_reason = \"a test log\"\nto = \"{}\"\n",
            file_url(&arch)
        ),
    )
    .expect("write");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (server, _url) = common::serve_config(&config);
    let mut archived = false;
    for _ in 0..100 {
        if arch.join("seq-0-511.manifest").exists() {
            let v = run(&db, &["verify"]);
            if stdout(&v).contains("archived: seqs 0..511") {
                archived = true;
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    common::stop(server);
    assert!(archived, "the server did not archive within 10 s");
    let event = ok(&run(
        &db,
        &["query", "--type", "archive", "--format", "jsonl"],
    ));
    assert!(
        event.contains("\"forced_reason\":\"a test log\""),
        "{event}"
    );
    ok(&run(&db, &["verify", "--archive"]));

    // With delete_archives_after, each run then deletes the archived files past it.
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ndb = \"r.db\"\n[retention]\narchive_after = \"1s\"\nmin_retention = \"1s\"\nevery = \"1s\"\nforce_reason = \"a test log\"\ndelete_archives_after = \"1s\"\nto = \"{}\"\n",
            file_url(&arch)
        ),
    )
    .expect("write");
    let (server, _url) = common::serve_config(&config);
    let mut deleted = false;
    for _ in 0..100 {
        if !arch.join("seq-0-511.parquet").exists() {
            let v = run(&db, &["verify"]);
            if stdout(&v).contains("deleted under the retention policy: seqs 0..511") {
                deleted = true;
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    common::stop(server);
    assert!(deleted, "the server did not delete the archive within 10 s");
    ok(&run(&db, &["verify", "--archive"]));
}

#[test]
fn exports_for_analytics_to_a_file_and_an_object() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = make_log(dir.path(), "x.db", 300, 300);
    let out = dir.path().join("x.parquet");
    let o = run(
        &db,
        &[
            "export",
            "--format",
            "parquet",
            "--user",
            "user-2",
            "--output",
            out.to_str().expect("utf8"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = bytes::Bytes::from(std::fs::read(&out).expect("read"));
    let (rows, _) = aiaudit_archive::parquet_file::shape("x", &bytes).expect("parquet");
    assert_eq!(rows, 60);
    let refused = run(&db, &["export", "--format", "parquet"]);
    assert!(
        stderr(&refused).contains("--output FILE or --to URL"),
        "{}",
        stderr(&refused)
    );

    let objects = dir.path().join("objects");
    let url = format!("{}/audit.jsonl", file_url(&objects));
    let o = run(
        &db,
        &[
            "export",
            "--format",
            "cloudevents",
            "--user",
            "user-0",
            "--to",
            &url,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(objects.join("audit.jsonl")).expect("object");
    let first: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("a line")).expect("json");
    assert_eq!(first["specversion"], "1.0");
    assert_eq!(first["type"], "org.aiaudit.model_inference");
    assert_eq!(first["aiauditseq"], 0);
    assert_eq!(first["data"]["name"], "event 0");
    assert_eq!(first["id"], first["data"]["id"]);
}

#[test]
fn erasure_reaches_archived_records_which_stay_ciphertext_in_parquet() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("h.db");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[redaction]\n[[redaction.fields]]\npath = \"diagnosis\"\naction = \"encrypt\"\n",
    )
    .expect("write");
    let log = aiaudit::AuditLogger::builder(&db)
        .redaction_policy_file(&policy)
        .open()
        .expect("open");
    for i in 0..300u64 {
        log.log(
            aiaudit::Event::new("triage", format!("visit {i}"))
                .subject(format!("patient-{}", i % 3))
                .detail("diagnosis", format!("condition-{i}-secret")),
        )
        .expect("log");
    }
    log.close().expect("close");
    let arch = dir.path().join("archive");
    let p = policy.to_str().expect("utf8");
    let o = run(
        &db,
        &[
            "--policy",
            p,
            "archive",
            "--older-than",
            "0s",
            "--to",
            &file_url(&arch),
            "--force",
            "test",
        ],
    );
    ok(&o);
    let parquet = std::fs::read(arch.join("seq-0-255.parquet")).expect("parquet");
    let bytes = bytes::Bytes::from(parquet);
    let rows = aiaudit_archive::parquet_file::read_group("f", &bytes, 0).expect("rows");
    assert!(
        rows.iter()
            .all(|(_, r)| !String::from_utf8_lossy(r).contains("secret")),
        "a diagnosis is in clear in the archive"
    );

    let report = |who: &str| -> serde_json::Value {
        serde_json::from_str(&ok(&run(&db, &["subject", who, "--format", "json"]))).expect("json")
    };
    let before = report("patient-1");
    assert_eq!(before["summary"]["count"], 100);
    assert_eq!(
        before["events"][0]["details"]["diagnosis"],
        "condition-1-secret"
    );
    ok(&run(
        &db,
        &[
            "--policy",
            p,
            "forget",
            "--subject",
            "patient-1",
            "--reason",
            "GDPR Art. 17",
        ],
    ));
    let after = report("patient-1");
    assert_eq!(after["events"][0]["details"]["diagnosis"], "[ERASED]");
    assert_eq!(
        report("patient-2")["events"][0]["details"]["diagnosis"],
        "condition-2-secret"
    );
    ok(&run(&db, &["verify", "--archive"]));
}

/// `aiaudit --db URL --signing-key DIR/pg.key ARGS…`, run in `dir` (a PostgreSQL log's other
/// side files go there too).
fn run_pg(dir: &Path, url: &str, args: &[&str]) -> Output {
    bin()
        .current_dir(dir)
        .arg("--db")
        .arg(url)
        .arg("--signing-key")
        .arg(dir.join("pg.key"))
        .args(args)
        .output()
        .expect("run aiaudit")
}

/// Logs events `from..to` (named `event {i}`, user `user-{i % 5}`) to the PostgreSQL log at
/// `url`, its side files in `dir` (where `run_pg` finds them too).
fn pg_append(dir: &Path, url: &str, from: u64, to: u64) {
    // The commands find a PostgreSQL log's secret and subject keys as `<schema>.hmac` and
    // `<schema>.subjects` in their working directory.
    let schema = aiaudit_postgres::PgUrl::parse(url).expect("url").schema;
    let logger = aiaudit::AuditLogger::builder(url)
        .signing_key_path(dir.join("pg.key"))
        .hmac_key_path(dir.join(format!("{schema}.hmac")))
        .subject_keys_path(dir.join(format!("{schema}.subjects")))
        .batch_size(500)
        .open()
        .expect("open the PostgreSQL log");
    for i in from..to {
        logger
            .log(
                aiaudit::Event::new("model_inference", format!("event {i}"))
                    .user(format!("user-{}", i % 5))
                    .model("credit-risk", "1.0")
                    .detail("i", i),
            )
            .expect("log");
    }
    logger.close().expect("close");
}

/// Bytes the schema's tables, indexes and TOAST take.
fn schema_bytes(c: &mut postgres::Client, schema: &str) -> i64 {
    c.query_one(
        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
        &[&schema],
    )
    .expect("size")
    .get(0)
}

fn exists(c: &mut postgres::Client, rel: &str) -> bool {
    c.query_one("SELECT to_regclass($1) IS NOT NULL", &[&rel])
        .expect("regclass")
        .get(0)
}

#[test]
fn a_postgres_log_archives_whole_partitions_and_gives_their_space_back() {
    let schema = "archive_pg";
    common::drop_pg_schema(schema);
    let dir = tempfile::tempdir().expect("tmp");
    // Partitions of 4 bundles (1,024 records), so that a small log has some to give back.
    let url = format!("{}?schema={schema}&partition_bundles=4", common::pg_base());
    let log = |from: u64, to: u64| pg_append(dir.path(), &url, from, to);
    log(0, 3_000);
    let pg = |args: &[&str]| ok(&run_pg(dir.path(), &url, args));
    let mut c = postgres::Client::connect(&common::pg_base(), postgres::NoTls).expect("connect");
    let before = pg(&["query", "--format", "jsonl", "--limit", "0"]);
    let proof_before = pg(&["prove", "100"]);
    let bytes_before = schema_bytes(&mut c, schema);
    assert!(exists(&mut c, &format!("{schema}.bundles_p000001")));

    let arch = dir.path().join("archive");
    // A writer's login may append but not archive: refused before anything is written.
    let login = format!("{schema}_login");
    c.batch_execute(&format!(
        "DROP ROLE IF EXISTS {login}; CREATE ROLE {login} LOGIN IN ROLE {schema}_writer"
    ))
    .expect("a writer's login");
    let as_writer = url.replacen("://postgres@", &format!("://{login}@"), 1);
    assert_ne!(
        as_writer, url,
        "the test's PostgreSQL URL names the user postgres"
    );
    let refused = run_pg(dir.path(), &as_writer, &archive_now(&file_url(&arch)));
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("may not archive schema")
            && stderr(&refused).contains("Nothing was written"),
        "{}",
        stderr(&refused)
    );
    assert!(!arch.join("seq-0-2047.parquet").exists());
    assert_eq!(
        pg(&[
            "query", "--type", "archive", "--limit", "0", "--format", "jsonl"
        ]),
        ""
    );
    c.batch_execute(&format!("DROP ROLE {login}"))
        .expect("drop the login");
    let archive_pg = || pg(&archive_now(&file_url(&arch)));
    let out = archive_pg();
    // Eleven whole bundles are old enough, but only two whole partitions (bundles 0–7) go.
    assert!(out.contains("archived seqs 0..2047"), "{out}");
    assert!(arch.join("seq-0-2047.parquet").is_file());
    for (p, gone) in [("p000000", true), ("p000001", true), ("p000002", false)] {
        assert_eq!(
            !exists(&mut c, &format!("{schema}.bundles_{p}")),
            gone,
            "partition {p}"
        );
    }
    let bytes_after = schema_bytes(&mut c, schema);
    assert!(bytes_after < bytes_before, "{bytes_after} ≥ {bytes_before}");

    // Every record reads as before, the archive event at the end; proofs are unchanged.
    let after = pg(&["query", "--format", "jsonl", "--limit", "0"]);
    assert!(after.starts_with(&before), "records changed in the archive");
    assert!(after[before.len()..].contains("\"type\":\"archive\""));
    assert!(pg(&["show", "7"]).contains("\"event 7\""));
    assert_eq!(pg(&["prove", "100", "--size", "3000"]), proof_before);
    let v = pg(&["verify"]);
    assert!(v.contains("archived: seqs 0..2047 in 1 files"), "{v}");
    assert!(pg(&["verify", "--archive"]).contains("every row checked"));
    assert_eq!(
        pg(&[
            "query", "--user", "user-3", "--format", "jsonl", "--limit", "0"
        ])
        .lines()
        .count(),
        600
    );

    // The roles only read the archive's tables, and nobody changes them.
    for (sql, why) in [
        (
            format!(
                "SET ROLE {schema}_writer; INSERT INTO {schema}.archives VALUES (9999999, 10000000, 0, 'x', 'x', 'x')"
            ),
            "permission denied",
        ),
        (
            format!("UPDATE {schema}.archived_bundles SET first_id = 'x'"),
            "append-only",
        ),
        (format!("DELETE FROM {schema}.archives"), "append-only"),
    ] {
        let e = c.batch_execute(&sql).expect_err(why);
        let _ = c.batch_execute("RESET ROLE");
        assert!(format!("{e:?}").contains(why), "{sql}: {e:?}");
    }

    // Without the archive, archived seqs are named and the rest reads on.
    let away = dir.path().join("moved");
    std::fs::rename(&arch, &away).expect("move");
    let missing = run_pg(dir.path(), &url, &["show", "7"]);
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("seqs 0–2047 are archived in seq-0-2047.parquet"),
        "{}",
        stderr(&missing)
    );
    assert!(pg(&["show", "2500"]).contains("\"event 2500\""));
    std::fs::rename(&away, &arch).expect("move back");

    // The next run continues from the end of the prefix, a partition at a time.
    log(3_000, 4_200);
    let out = archive_pg();
    assert!(out.contains("archived seqs 2048..4095"), "{out}");
    assert!(!exists(&mut c, &format!("{schema}.bundles_p000003")));
    assert!(pg(&["verify", "--archive"]).contains("every row checked"));

    // Deleting past retention works the same on PostgreSQL.
    let out = pg(&DELETE_NOW);
    assert!(out.contains("deleted the archive of seqs 0..4095"), "{out}");
    assert!(!arch.join("seq-0-2047.parquet").exists());
    assert!(stderr(&run_pg(dir.path(), &url, &["show", "7"])).contains("were deleted"));
    assert!(
        pg(&["verify", "--archive"]).contains("deleted under the retention policy: seqs 0..4095")
    );
    drop(c);
    common::drop_pg_schema(schema);
}

#[test]
fn archived_files_past_retention_are_deleted_with_the_log_still_whole() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = make_log(dir.path(), "a.db", 3_000, 500);
    let arch = dir.path().join("archive");
    ok(&archive(&db, &file_url(&arch)));
    let proof = ok(&run(&db, &["prove", "100"]));
    let parquet = arch.join("seq-0-2815.parquet");
    assert!(parquet.is_file());

    // Below six months is refused without a reason, and nothing goes.
    let refused = run(&db, &["delete-archives", "--older-than", "30d"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("183 days"),
        "{}",
        stderr(&refused)
    );
    assert!(parquet.is_file());

    let out = ok(&run(&db, &DELETE_NOW));
    assert!(out.contains("deleted the archive of seqs 0..2815"), "{out}");
    assert!(!parquet.exists() && !arch.join("seq-0-2815.manifest").exists());
    // The deletion is an archive event of its own, at the end.
    let events = ok(&run(
        &db,
        &[
            "query", "--type", "archive", "--format", "jsonl", "--limit", "0",
        ],
    ));
    let deletion = events.lines().last().expect("deletion event");
    assert!(deletion.contains("\"action\":\"delete\""), "{deletion}");
    assert!(
        deletion.contains("\"forced_reason\":\"test\""),
        "{deletion}"
    );
    let deletion_seq: serde_json::Value = serde_json::from_str(deletion).expect("json");
    let deletion_seq = deletion_seq["seq"].as_u64().expect("seq");

    // Reads of deleted records say so, and when; the rest reads on.
    let gone = run(&db, &["show", "7"]);
    assert!(!gone.status.success());
    assert!(
        stderr(&gone).contains("seqs 0–2815 were deleted under the retention policy")
            && stderr(&gone).contains(&format!("at seq {deletion_seq}")),
        "{}",
        stderr(&gone)
    );
    assert!(ok(&run(&db, &["show", "2900"])).contains("\"event 2900\""));
    // Proofs made before still verify; the log verifies whole, with or without --archive.
    let p = dir.path().join("p.txt");
    std::fs::write(&p, &proof).expect("write");
    let vkey = ok(&run(&db, &["verifier-key"]));
    ok(&run(
        &db,
        &[
            "verify-proof",
            p.to_str().expect("utf8"),
            "--key",
            vkey.lines().next().expect("key"),
        ],
    ));
    let v = ok(&run(&db, &["verify"]));
    assert!(
        v.contains("deleted under the retention policy: seqs 0..2815"),
        "{v}"
    );
    ok(&run(&db, &["verify", "--archive"]));
    assert!(ok(&run(&db, &DELETE_NOW)).contains("nothing to delete"));

    // Objects that cannot be removed are named; the deletion stands, and a rerun removes them.
    common::append(&db, 3_000, 3_600, 500);
    ok(&archive(&db, &file_url(&arch)));
    let manifest = arch.join("seq-2816-3583.manifest");
    std::fs::remove_file(&manifest).expect("rm");
    std::fs::create_dir_all(manifest.join("blocker")).expect("a directory in its place");
    let stuck = run(&db, &DELETE_NOW);
    assert!(!stuck.status.success());
    assert!(
        stderr(&stuck).contains("could not be removed") && stderr(&stuck).contains("rerun"),
        "{}",
        stderr(&stuck)
    );
    assert!(stderr(&run(&db, &["show", "3000"])).contains("were deleted"));
    std::fs::remove_dir_all(&manifest).expect("rm");
    std::fs::write(&manifest, "left over").expect("write");
    ok(&run(&db, &DELETE_NOW));
    assert!(!manifest.exists());
    ok(&run(&db, &["verify", "--archive"]));

    // A deletion the log's events do not back is found.
    common::append(&db, 3_600, 3_610, 10);
    let conn = common::open_raw(&db);
    let last: i64 = conn
        .query_row("SELECT max(seq) FROM tail", [], |r| r.get(0))
        .expect("the newest seq");
    for (event, why) in [
        // An event older than the file's archiving, and a readable event that deletes nothing.
        (
            5,
            "recorded as deleted by seq 5, which is not an archive event deleting this file (it was archived",
        ),
        (
            last,
            &format!(
                "recorded as deleted by seq {last}, which is not an archive event deleting this file"
            ),
        ),
    ] {
        conn.execute(
            "UPDATE archive_deletions SET event_seq = ?1 WHERE first_seq = 2816",
            [event],
        )
        .expect("tamper");
        let v = run(&db, &["verify"]);
        let said = format!("{}{}", stdout(&v), stderr(&v));
        assert!(!v.status.success() && said.contains(why), "{said}");
    }
}

#[test]
fn postgres_archive_runs_killed_at_random_points_never_lose_a_record() {
    let schema = "archive_pg_kill";
    common::drop_pg_schema(schema);
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("{}?schema={schema}&partition_bundles=4", common::pg_base());
    pg_append(dir.path(), &url, 0, 2_000);
    let all = || {
        ok(&run_pg(
            dir.path(),
            &url,
            &["query", "--format", "jsonl", "--limit", "0"],
        ))
    };
    let before = all();
    let arch = file_url(&dir.path().join("archive"));
    let args = archive_now(&arch);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..10 {
        // A partition's worth more each round, so that every run has one to move.
        pg_append(
            dir.path(),
            &url,
            10_000 + round * 1_100,
            11_100 + round * 1_100,
        );
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = std::time::Duration::from_millis(seed % 500);
        let mut child = bin()
            .current_dir(dir.path())
            .arg("--db")
            .arg(&url)
            .arg("--signing-key")
            .arg(dir.path().join("pg.key"))
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        // Whatever partition went is in a recorded file; every record reads as it was.
        let v = run_pg(dir.path(), &url, &["verify", "--archive"]);
        assert!(
            v.status.success(),
            "round {round}: {}{}",
            stdout(&v),
            stderr(&v)
        );
        assert!(
            all().starts_with(&before),
            "round {round}: a record changed"
        );
    }
    ok(&run_pg(dir.path(), &url, &args));
    ok(&run_pg(dir.path(), &url, &["verify", "--archive"]));
    assert!(all().starts_with(&before));
    common::drop_pg_schema(schema);
}
