//! One writer per log, whatever path reaches it: while `aiaudit serve` commits events from four
//! clients at `wait=commit`, a CLI loop tries to log through another path to the same file — a
//! hard link, a symlink, `./b.db` against `b.db`, a symlinked directory, a bind mount (in a
//! private mount namespace). Each attempt is refused, readers through the alias leave the log
//! intact, no acknowledged event is lost and the log verifies.

mod common;

use common::{bin, ingest_token, run, serve_config, stderr, stdout, stop};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Output;

const CLIENTS: usize = 4;
const BATCHES: usize = 15;
const PER_BATCH: usize = 10;

/// How the alias is made, and how a command runs through it.
#[derive(Debug, Clone, Copy)]
enum Alias {
    HardLink,
    Symlink,
    DotSlash,
    SymlinkedDir,
    /// The log's directory bound again elsewhere (as a container mounts it).
    BindMount,
    /// The database file alone bound over another name: only the lock on the file itself
    /// meets it.
    BindMountFile,
}

impl Alias {
    /// Makes the alias of `dir/b.db`; returns the path to pass to `--db` and the working
    /// directory to run in.
    fn make(self, dir: &Path) -> (PathBuf, PathBuf) {
        let db = dir.join("b.db");
        match self {
            Alias::HardLink => {
                std::fs::hard_link(&db, dir.join("alias.db")).expect("ln");
                (dir.join("alias.db"), dir.to_owned())
            }
            Alias::Symlink => {
                std::os::unix::fs::symlink(&db, dir.join("link.db")).expect("ln -s");
                (dir.join("link.db"), dir.to_owned())
            }
            Alias::DotSlash => (PathBuf::from("./b.db"), dir.to_owned()),
            Alias::SymlinkedDir => {
                std::os::unix::fs::symlink(dir, dir.join("via")).expect("ln -s dir");
                (dir.join("via/b.db"), dir.to_owned())
            }
            Alias::BindMount => {
                std::fs::create_dir(dir.join("mnt")).expect("mkdir");
                (dir.join("mnt/b.db"), dir.to_owned())
            }
            Alias::BindMountFile => {
                std::fs::write(dir.join("other.db"), b"").expect("mount point");
                (dir.join("other.db"), dir.to_owned())
            }
        }
    }

    /// Runs `aiaudit --db ALIAS ARGS…` in `cwd` (for a bind mount, inside a private mount
    /// namespace where `dir/mnt` is `dir` bound again).
    fn run(self, dir: &Path, alias: &Path, cwd: &Path, args: &[&str]) -> Output {
        let exe = env!("CARGO_BIN_EXE_aiaudit");
        let bound = match self {
            Alias::BindMount => Some((dir.to_owned(), dir.join("mnt"))),
            Alias::BindMountFile => Some((dir.join("b.db"), dir.join("other.db"))),
            _ => None,
        };
        let mut cmd = match bound {
            Some((from, to)) => {
                let mut c = std::process::Command::new("unshare");
                c.args(["-m", "--propagation", "private", "sh", "-c"])
                    .arg(r#"mount --bind "$0" "$1" && shift && exec "$@""#)
                    .arg(from)
                    .arg(to)
                    .arg(exe);
                c
            }
            None => std::process::Command::new(exe),
        };
        cmd.current_dir(cwd)
            .arg("--db")
            .arg(alias)
            .args(args)
            .output()
            .expect("run aiaudit through the alias")
    }
}

/// Four clients, each sending `BATCHES` batches at `wait=commit`; returns every acknowledged id.
fn clients(url: &str, token: &str) -> std::thread::JoinHandle<Vec<String>> {
    let (url, token) = (url.to_owned(), token.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async move {
            let mut tasks = Vec::new();
            for c in 0..CLIENTS {
                let client = aiaudit_client::Client::new(&url, &token).expect("client");
                tasks.push(tokio::spawn(async move {
                    let mut acked = Vec::new();
                    for b in 0..BATCHES {
                        let events: Vec<serde_json::Value> = (0..PER_BATCH)
                            .map(|i| serde_json::json!({"name": format!("client {c} batch {b} event {i}")}))
                            .collect();
                        let receipt = client.send(&events, true).await.expect("send");
                        assert!(receipt.committed);
                        acked.extend(receipt.ids);
                    }
                    acked
                }));
            }
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.expect("client task"));
            }
            all
        })
    })
}

fn scenario(alias_kind: Alias) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = std::fs::canonicalize(tmp.path()).expect("real dir");
    let db = dir.join("b.db");
    let out = run(&db, &["init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let token = ingest_token(&db);
    let config = dir.join("aiaudit.toml");
    std::fs::write(
        &config,
        "[server]\nlisten = \"127.0.0.1:0\"\ndb = \"b.db\"\n",
    )
    .expect("config");
    let (server, url) = serve_config(&config);
    let server_pid = server.id();
    let load = clients(&url, &token);

    let (alias, cwd) = alias_kind.make(&dir);
    let mut refused = 0;
    while !load.is_finished() || refused < 3 {
        let out = alias_kind.run(&dir, &alias, &cwd, &["log", "through the alias"]);
        assert!(
            !out.status.success(),
            "{alias_kind:?}: a second writer was let in: {}",
            stdout(&out)
        );
        let err = stderr(&out);
        match alias_kind {
            Alias::HardLink => assert!(err.contains("has 2 hard links"), "{err}"),
            Alias::BindMountFile => assert!(
                err.contains("is open for writing by another process (a process that opened it by another path)"),
                "{err}"
            ),
            _ => assert!(
                err.contains(&format!("is open for writing by another process (pid {server_pid})")),
                "{alias_kind:?}: {err}"
            ),
        }
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        // A reader through the alias either reads the log (and verifies it) or is refused;
        // either way it leaves the log intact. (Through a file bound over another name, SQLite
        // would look for the WAL under that name: no reader is sent that way.)
        match alias_kind {
            Alias::HardLink => {
                let read = alias_kind.run(&dir, &alias, &cwd, &["verify"]);
                assert!(stderr(&read).contains("hard links"), "{}", stderr(&read));
            }
            Alias::BindMountFile => {}
            _ => {
                let read = alias_kind.run(&dir, &alias, &cwd, &["verify"]);
                assert!(read.status.success(), "{alias_kind:?}: {}", stderr(&read));
            }
        }
        refused += 1;
    }
    let acked = load.join().expect("clients");
    assert_eq!(acked.len(), CLIENTS * BATCHES * PER_BATCH);
    if matches!(alias_kind, Alias::HardLink) {
        std::fs::remove_file(&alias).expect("rm the link");
    }
    stop(server);
    // No name but the real one got a write-ahead log.
    for side in ["alias.db-wal", "link.db-wal", "other.db-wal"] {
        assert!(!dir.join(side).exists(), "{side} was created");
    }
    let verify = run(&db, &["verify"]);
    assert!(
        verify.status.success(),
        "{alias_kind:?}: {}{}",
        stdout(&verify),
        stderr(&verify)
    );
    let listed = run(&db, &["query", "--limit", "0", "--format", "jsonl"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let ids: HashSet<String> = stdout(&listed)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["id"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect();
    let lost: Vec<&String> = acked.iter().filter(|id| !ids.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{alias_kind:?}: {} acknowledged events lost",
        lost.len()
    );
    assert!(
        !stdout(&listed).contains("through the alias"),
        "nothing was written through the alias"
    );
}

#[test]
fn a_hard_link_is_refused_by_writers_and_readers() {
    scenario(Alias::HardLink);
}

#[test]
fn a_symlink_meets_the_running_writer() {
    scenario(Alias::Symlink);
}

#[test]
fn dot_slash_and_a_bare_name_are_one_log() {
    scenario(Alias::DotSlash);
}

#[test]
fn a_symlinked_directory_meets_the_running_writer() {
    scenario(Alias::SymlinkedDir);
}

fn can_bind_mount() {
    let probe = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "true"])
        .status();
    assert!(
        probe.is_ok_and(|s| s.success()),
        "this test makes a bind mount in a private mount namespace: it needs `unshare` (util-linux) and root"
    );
}

#[test]
fn a_bind_mounted_directory_meets_the_running_writer() {
    can_bind_mount();
    scenario(Alias::BindMount);
}

#[test]
fn a_bind_mounted_file_meets_the_lock_on_the_file_itself() {
    can_bind_mount();
    scenario(Alias::BindMountFile);
}

#[test]
fn symlinked_logs_keep_one_set_of_side_files() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = std::fs::canonicalize(tmp.path()).expect("real dir");
    let db = dir.join("b.db");
    std::os::unix::fs::symlink(&db, dir.join("link.db")).expect("ln -s");
    // Created through the link: the database, its key and its secret take the real name.
    let out = bin()
        .arg("--db")
        .arg(dir.join("link.db"))
        .args(["log", "first"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    for f in ["b.db", "b.key", "b.hmac"] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    for f in ["link.key", "link.hmac", "link.db-wal"] {
        assert!(!dir.join(f).exists(), "{f} was made beside the link");
    }
    let out = run(&db, &["log", "second"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = bin()
        .arg("--db")
        .arg(dir.join("link.db"))
        .args(["verify"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
}
