//! The copy an auditor is handed is often read-only: on a read-only mount, or in a directory
//! they cannot write. `verify`, `query`, `show`, `prove` and reports work on it (SQLite reads it
//! without its shared-memory index), nothing is written beside it, and a writer is refused with
//! a message that says why.

mod common;

use common::{make_log, stderr, stdout};
use std::path::Path;
use std::process::{Command, Output};

const READS: [&[&str]; 5] = [
    &["verify"],
    &["query", "--limit", "0"],
    &["show", "3"],
    &["prove", "3"],
    &["report", "integrity"],
];

fn check_reads(run: impl Fn(&[&str]) -> Output) {
    check_reads_of(40, run);
}

fn check_reads_of(entries: u64, run: impl Fn(&[&str]) -> Output) {
    for args in READS {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    let verified = stdout(&run(&["verify"]));
    assert!(
        verified.starts_with(&format!("OK: {entries} entries")),
        "{verified}"
    );
    let log = run(&["log", "into a read-only copy"]);
    assert!(
        !log.status.success(),
        "a write into a read-only copy went through"
    );
    let err = stderr(&log);
    assert!(err.contains("cannot open it for writing"), "{err}");
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_log_on_a_read_only_mount_is_audited() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = tmp.path().join("src");
    let ro = tmp.path().join("ro");
    std::fs::create_dir_all(&src).expect("src");
    std::fs::create_dir_all(&ro).expect("ro");
    make_log(&src, "a.db", 40, 10);
    let before = files(&src);
    let exe = env!("CARGO_BIN_EXE_aiaudit");
    check_reads(|args| {
        Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c"])
            .arg(r#"mount --bind -o ro "$0" "$1" && shift && exec "$@""#)
            .arg(&src)
            .arg(&ro)
            .arg(exe)
            .arg("--db")
            .arg(ro.join("a.db"))
            .args(args)
            .output()
            .expect("needs `unshare` and `mount` (util-linux) and root")
    });
    assert_eq!(files(&src), before, "nothing was written beside the copy");
}

#[test]
fn a_log_in_a_directory_its_reader_cannot_write_is_audited() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("copy");
    std::fs::create_dir_all(&dir).expect("dir");
    make_log(&dir, "a.db", 40, 10);
    let before = files(&dir);
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).expect("chmod")
    };
    mode(tmp.path(), 0o755);
    for f in &before {
        mode(&dir.join(f), 0o644);
    }
    mode(&dir, 0o555);
    let exe = env!("CARGO_BIN_EXE_aiaudit");
    check_reads(|args| {
        Command::new("setpriv")
            .args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                exe,
                "--db",
            ])
            .arg(dir.join("a.db"))
            .args(args)
            .output()
            .expect("needs `setpriv` (util-linux), root and the user nobody")
    });
    mode(&dir, 0o755);
    assert_eq!(files(&dir), before, "nothing was written beside the copy");
}

/// A copy taken from a running log: the database and its WAL, whose last transactions are not
/// in the database file yet, on a read-only mount. With its shared-memory index it is audited
/// whole; without, SQLite cannot read the WAL there, and every read says so (rather than show
/// the older state of the file alone).
#[test]
fn a_copy_of_a_live_log_with_its_wal_is_audited_read_only() {
    use aiaudit::{AuditLogger, Durability, Event};
    let tmp = tempfile::tempdir().expect("tmp");
    let live = tmp.path().join("live");
    std::fs::create_dir_all(&live).expect("live");
    make_log(&live, "a.db", 40, 10);
    let log = AuditLogger::builder(live.join("a.db"))
        .durability(Durability::Sync)
        .open()
        .expect("open");
    for i in 40..50 {
        log.log(Event::new("model_inference", format!("event {i}")))
            .expect("log");
    }
    let wal = std::fs::metadata(live.join("a.db-wal"))
        .expect("a WAL")
        .len();
    assert!(wal > 0, "the new events are in the WAL");
    for with_shm in [true, false] {
        let src = tmp.path().join(format!("copy-{with_shm}"));
        let ro = tmp.path().join(format!("ro-{with_shm}"));
        std::fs::create_dir_all(&src).expect("src");
        std::fs::create_dir_all(&ro).expect("ro");
        let mut names = vec!["a.db", "a.db-wal", "a.key"];
        if with_shm {
            names.push("a.db-shm");
        }
        for f in names {
            std::fs::copy(live.join(f), src.join(f)).expect("copy");
        }
        let before = files(&src);
        let exe = env!("CARGO_BIN_EXE_aiaudit");
        let run = |args: &[&str]| {
            Command::new("unshare")
                .args(["-m", "--propagation", "private", "sh", "-c"])
                .arg(r#"mount --bind -o ro "$0" "$1" && shift && exec "$@""#)
                .arg(&src)
                .arg(&ro)
                .arg(exe)
                .arg("--db")
                .arg(ro.join("a.db"))
                .args(args)
                .output()
                .expect("needs `unshare` and `mount` (util-linux) and root")
        };
        if with_shm {
            check_reads_of(50, run);
        } else {
            for args in READS {
                let out = run(args);
                let err = stderr(&out);
                assert!(!out.status.success(), "{args:?} read a WAL it cannot see");
                assert!(err.contains("no -shm file beside it"), "{args:?}: {err}");
                assert_eq!(err.trim().lines().count(), 1, "{err}");
            }
        }
        assert_eq!(files(&src), before, "nothing was written beside the copy");
    }
    log.close().expect("close");
}
