//! `aiaudit key rotate` and `key retire`, end to end on SQLite and on PostgreSQL: during the
//! transition every checkpoint carries both signatures, proofs made before keep verifying with
//! the old key, after the retirement the old key proves nothing new, `verify` checks each
//! checkpoint against the keys valid at its size, and a witness follows the rotation once its
//! logs file lists the new key.

mod common;

use aiaudit_core::{Checkpoint, NoteVerifier};
use common::{bin, drop_pg_schema, pg_base, stderr, stdout};
use std::path::{Path, PathBuf};
use std::process::Output;

/// A log (a file or a PostgreSQL schema) with its key file in `dir`.
struct Log {
    db: PathBuf,
    key: PathBuf,
    dir: PathBuf,
}

impl Log {
    fn run(&self, args: &[&str]) -> Output {
        bin()
            .current_dir(&self.dir)
            .arg("--db")
            .arg(&self.db)
            .arg("--signing-key")
            .arg(&self.key)
            .args(args)
            .output()
            .expect("run aiaudit")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "aiaudit {args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    fn fails(&self, args: &[&str], why: &str) {
        let out = self.run(args);
        assert!(!out.status.success(), "aiaudit {args:?} should fail");
        assert!(
            stderr(&out).contains(why),
            "aiaudit {args:?}: expected {why:?} in: {}",
            stderr(&out)
        );
    }

    fn log(&self, n: usize) {
        for i in 0..n {
            self.ok(&["log", &format!("event {i}")]);
        }
    }

    fn checkpoint(&self) -> String {
        self.ok(&["checkpoint"])
    }

    /// Writes `prove SEQ` to `name` in the log's directory.
    fn prove(&self, seq: u64, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, self.ok(&["prove", &seq.to_string()])).expect("proof");
        path
    }
}

fn verify_proof(proof: &Path, keys: &[&NoteVerifier]) -> Output {
    let mut cmd = bin();
    cmd.arg("verify-proof").arg(proof);
    for k in keys {
        cmd.args(["--key", &k.to_string()]);
    }
    cmd.output().expect("verify-proof")
}

fn signatures(note: &str) -> usize {
    note.lines().filter(|l| l.starts_with('\u{2014}')).count()
}

fn scenario(log: &Log) {
    log.ok(&["init"]);
    log.log(3);
    let k0 = NoteVerifier::parse(log.ok(&["verifier-key"]).trim()).expect("first key");
    let before = log.prove(1, "before.proof");

    // Rotation: a log_key event signed by both, and from then on two signatures per checkpoint.
    let rotated = log.ok(&["key", "rotate"]);
    assert!(rotated.contains("rotation started at seq 3"), "{rotated}");
    let keys: Vec<String> = log
        .ok(&["verifier-key"])
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        keys.len(),
        2,
        "both keys sign during the transition: {keys:?}"
    );
    assert_eq!(keys[0], k0.to_string());
    let k1 = NoteVerifier::parse(&keys[1]).expect("new key");
    log.log(2);
    let note = log.checkpoint();
    assert_eq!(signatures(&note), 2, "{note}");
    assert_eq!(Checkpoint::open(&note, &k0).expect("old key").size, 6);
    assert_eq!(Checkpoint::open(&note, &k1).expect("new key").size, 6);
    let during = log.prove(4, "during.proof");
    for k in [&k0, &k1] {
        let out = verify_proof(&during, &[k]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    log.fails(&["key", "rotate"], "already under way");

    // Retirement: signed by the new key alone; the old key's file moves aside.
    let retired = log.ok(&["key", "retire"]);
    assert!(retired.contains("at seq 6"), "{retired}");
    assert!(!log.key.with_extension("next.key").exists());
    let id = k0.to_string().split('+').nth(1).expect("id").to_owned();
    let old_file = log.key.with_extension(format!("retired-{id}.key"));
    assert!(old_file.exists(), "{}", old_file.display());
    assert_eq!(log.ok(&["verifier-key"]).trim(), k1.to_string());
    log.log(2);
    let note = log.checkpoint();
    assert_eq!(signatures(&note), 1, "{note}");
    assert!(Checkpoint::open(&note, &k0).is_err());
    assert_eq!(Checkpoint::open(&note, &k1).expect("new key").size, 9);
    let after = log.prove(8, "after.proof");

    // Old proofs keep verifying with the old key; new ones need the new key or the key set.
    for (proof, keys, ok) in [
        (&before, vec![&k0], true),
        (&before, vec![&k0, &k1], true),
        (&during, vec![&k0], true),
        (&after, vec![&k0], false),
        (&after, vec![&k1], true),
        (&after, vec![&k0, &k1], true),
    ] {
        let out = verify_proof(proof, &keys);
        assert_eq!(
            out.status.success(),
            ok,
            "{} with {} keys: {}{}",
            proof.display(),
            keys.len(),
            stdout(&out),
            stderr(&out)
        );
    }
    // A key file of the set, as `key list` shows it.
    let set = log.dir.join("keys.txt");
    std::fs::write(&set, format!("# the log's keys\n{k0}\n{k1}\n")).expect("keys");
    let out = bin()
        .arg("verify-proof")
        .arg(&after)
        .arg("--key")
        .arg(&set)
        .output()
        .expect("verify-proof");
    assert!(out.status.success(), "{}", stderr(&out));

    // verify checks every checkpoint against the keys valid at its size, trusting either key.
    for trusted in [None, Some(&k0), Some(&k1)] {
        let mut args = vec!["verify".to_owned()];
        if let Some(k) = trusted {
            args.extend(["--key".to_owned(), k.to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = log.ok(&args);
        assert!(out.contains("9 signed checkpoints verified"), "{out}");
    }
    let list: serde_json::Value =
        serde_json::from_str(&log.ok(&["key", "list", "--json"])).expect("json");
    assert_eq!(list[0]["key"], k0.to_string());
    assert_eq!(list[0]["retired_at_seq"], 6);
    assert_eq!(list[0]["valid_until_size"], 6);
    assert_eq!(list[1]["key"], k1.to_string());
    assert_eq!(list[1]["valid_from_size"], 4);
    assert_eq!(list[1]["state"], "signing");

    // The retired key signs nothing more, and nobody can plant a key change.
    let out = bin()
        .current_dir(&log.dir)
        .arg("--db")
        .arg(&log.db)
        .arg("--signing-key")
        .arg(&old_file)
        .args(["log", "x"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("was retired"), "{}", stderr(&out));
    log.fails(&["log", "--type", "log_key", "my key"], "key rotation");
    log.fails(&["key", "retire"], "no rotation is under way");
}

#[test]
fn a_sqlite_log_rotates_its_key_and_keeps_every_proof() {
    let tmp = tempfile::tempdir().expect("tmp");
    let log = Log {
        db: tmp.path().join("audit.db"),
        key: tmp.path().join("audit.key"),
        dir: tmp.path().to_owned(),
    };
    scenario(&log);
}

#[test]
fn a_postgres_log_rotates_its_key_and_keeps_every_proof() {
    let tmp = tempfile::tempdir().expect("tmp");
    let schema = format!("t_rotate_{}", std::process::id());
    drop_pg_schema(&schema);
    let log = Log {
        db: PathBuf::from(format!("{}?schema={schema}", pg_base())),
        key: tmp.path().join("pg.key"),
        dir: tmp.path().to_owned(),
    };
    scenario(&log);
    drop_pg_schema(&schema);
}

/// A rotation stopped after making the new key file, and a retirement stopped between its two
/// renames, each finish when the command runs again.
#[test]
fn interrupted_rotations_finish_when_run_again() {
    let tmp = tempfile::tempdir().expect("tmp");
    let log = Log {
        db: tmp.path().join("audit.db"),
        key: tmp.path().join("audit.key"),
        dir: tmp.path().to_owned(),
    };
    log.ok(&["init"]);
    log.log(2);
    // A new key file that was never recorded: a writer signs with it beside the log's key
    // (harmless: no one trusts it yet), and `key rotate` records it.
    let next = log.key.with_extension("next.key");
    let stray = aiaudit_core::NoteSigner::generate(
        &Checkpoint::parse_text(
            log.checkpoint()
                .split("\n\n")
                .next()
                .map(|t| format!("{t}\n"))
                .as_deref()
                .expect("text"),
        )
        .expect("checkpoint")
        .origin,
    )
    .expect("key");
    aiaudit::keyfile::create(&next, &stray).expect("write key");
    log.fails(&["key", "retire"], "never recorded");
    log.log(1);
    assert!(log.ok(&["verify"]).contains("OK"));
    let out = log.ok(&["key", "rotate"]);
    assert!(out.contains(&stray.verifier().to_string()), "{out}");

    // The retirement recorded, the old key moved aside, the new key not yet in its place.
    log.ok(&["key", "retire"]);
    std::fs::rename(&log.key, &next).expect("undo the last rename");
    log.log(1); // a writer signs with the next key alone
    let out = log.ok(&["key", "retire"]);
    assert!(out.contains("signing key"), "{out}");
    assert!(log.key.exists() && !next.exists());
    assert!(log.ok(&["verify"]).contains("OK"));
}

/// A witness that knows only the old key cosigns through the transition (every checkpoint
/// still carries the old signature), refuses the first checkpoint after the retirement, and
/// cosigns again, from the size it held, once its logs file lists the new key.
#[test]
fn a_witness_follows_the_rotation_once_it_lists_the_new_key() {
    use common::witness::{start, submit, witness};
    let tmp = tempfile::tempdir().expect("tmp");
    let log = Log {
        db: tmp.path().join("audit.db"),
        key: tmp.path().join("audit.key"),
        dir: tmp.path().to_owned(),
    };
    log.ok(&["init"]);
    log.log(2);
    let k0 = log.ok(&["verifier-key"]).trim().to_owned();
    let mut w = witness(tmp.path(), "witness.test/rot", &k0);
    assert!(submit(&log.db, &w).is_ok());
    log.ok(&["key", "rotate"]);
    log.log(1);
    let note = submit(&log.db, &w).expect("cosigned during the transition");
    assert_eq!(
        signatures(&note),
        3,
        "two log signatures and a cosignature: {note}"
    );
    let k1 = log
        .ok(&["verifier-key"])
        .lines()
        .nth(1)
        .expect("new key")
        .to_owned();
    log.ok(&["key", "retire"]);
    log.log(1);
    let refused = submit(&log.db, &w).expect_err("the old key alone no longer signs");
    assert!(
        refused.contains("403") || refused.contains("signature"),
        "{refused}"
    );

    common::stop(w.child);
    std::fs::write(
        &w.logs,
        format!("[[log]]\nvkey = \"{k0}\"\n[[log]]\nvkey = \"{k1}\"\n"),
    )
    .expect("logs");
    let (child, url) = start(&w.key, &w.logs, &w.state, "127.0.0.1:0");
    (w.child, w.url) = (child, url);
    let note = submit(&log.db, &w).expect("cosigned with the new key listed");
    let k1 = NoteVerifier::parse(&k1).expect("key");
    assert_eq!(Checkpoint::open(&note, &k1).expect("new key").size, 6);
    common::stop(w.child);
}
