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
    for args in READS {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    let verified = stdout(&run(&["verify"]));
    assert!(verified.starts_with("OK: 40 entries"), "{verified}");
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
