//! Three witnesses as real processes on loopback: each cosigns the log's checkpoints as it
//! grows; one stopped mid-test is an error naming it and, restarted on its state, goes on from
//! the size it held; a copy of the log that diverged (same key, other events) is refused by
//! the witnesses that saw the original, whether it is as long or longer; and a witness
//! SIGKILLed at random points during requests never cosigns two inconsistent checkpoints.

mod common;

use aiaudit_core::cosignature::{CosignatureVerifier, add_signatures};
use aiaudit_core::{Checkpoint, NoteVerifier};
use common::witness::{WitnessProc, start, submit, submit_to, witness};
use common::{append, copy_log, make_log, run, stderr, stdout};
use std::path::Path;

fn checked(note: &str, w: &WitnessProc, log: &NoteVerifier) -> Checkpoint {
    CosignatureVerifier::parse(&w.vkey)
        .expect("vkey")
        .verify(note)
        .expect("the cosignature verifies");
    Checkpoint::open(note, log).expect("the log's signature verifies")
}

#[test]
fn three_witnesses_cosign_growth_and_refuse_a_forked_copy() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = make_log(dir.path(), "audit.db", 10, 5);
    let log_vkey = stdout(&run(&db, &["verifier-key"])).trim().to_owned();
    let log = NoteVerifier::parse(&log_vkey).expect("log key");
    let mut ws: Vec<WitnessProc> = (1..=3)
        .map(|i| witness(dir.path(), &format!("witness.test/w{i}"), &log_vkey))
        .collect();

    // All three cosign size 10; a fork is copied off here.
    let mut notes = Vec::new();
    for w in &ws {
        let note = submit(&db, w).expect("cosigned");
        assert_eq!(checked(&note, w, &log).size, 10);
        notes.push(note);
    }
    // The cosignatures kept together, and a policy asking for two of the three witnesses.
    let last_line = |n: &str| format!("{}\n", n.trim_end().lines().last().expect("a line"));
    let mut all = notes[0].clone();
    for n in &notes[1..] {
        all = add_signatures(&all, &last_line(n)).expect("add");
    }
    let kept = dir.path().join("cosigned.checkpoint");
    std::fs::write(&kept, &all).expect("write");
    let policy = dir.path().join("policy.txt");
    std::fs::write(
        &policy,
        format!(
            "log {log_vkey}\nwitness w1 {}\nwitness w2 {}\nwitness w3 {}\ngroup two-of-three 2 w1 w2 w3\nquorum two-of-three\n",
            ws[0].vkey, ws[1].vkey, ws[2].vkey
        ),
    )
    .expect("policy");
    // An inclusion proof against the cosigned checkpoint verifies under the policy...
    let proof = dir.path().join("3.tlog-proof");
    let out = run(
        &db,
        &["prove", "3", "--checkpoint", &kept.to_string_lossy()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(&proof, stdout(&out)).expect("write");
    let out = run(
        &db,
        &[
            "verify-proof",
            &proof.to_string_lossy(),
            "--policy",
            &policy.to_string_lossy(),
        ],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("cosigned by w1, w2, w3"),
        "{}",
        stdout(&out)
    );
    // ...and one carrying a single cosignature does not.
    let single = dir.path().join("single.checkpoint");
    std::fs::write(&single, &notes[0]).expect("write");
    let out = run(
        &db,
        &["prove", "3", "--checkpoint", &single.to_string_lossy()],
    );
    std::fs::write(&proof, stdout(&out)).expect("write");
    let out = run(
        &db,
        &[
            "verify-proof",
            &proof.to_string_lossy(),
            "--policy",
            &policy.to_string_lossy(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("does not satisfy the policy's quorum \"two-of-three\""),
        "{}",
        stderr(&out)
    );
    // A checkpoint from elsewhere is not taken as this log's.
    let out = run(
        &db,
        &["prove", "3", "--checkpoint", &policy.to_string_lossy()],
    );
    assert!(!out.status.success());
    let fork = dir.path().join("fork.db");
    copy_log(&db, &fork);

    // The log grows; the witnesses follow with consistency proofs from what they hold.
    append(&db, 10, 25, 5);
    let size = |db: &Path| {
        let n: u64 = stdout(&run(db, &["checkpoint"]))
            .lines()
            .nth(1)
            .and_then(|l| l.parse().ok())
            .expect("size");
        n
    };
    let grown = size(&db);
    assert!(grown > 10);
    for w in &ws[..2] {
        assert_eq!(
            checked(&submit(&db, w).expect("cosigned"), w, &log).size,
            grown
        );
    }
    // The grown log extends the cosigned checkpoint kept at size 10, under the policy.
    let out = run(
        &db,
        &[
            "verify",
            "--against",
            &kept.to_string_lossy(),
            "--policy",
            &policy.to_string_lossy(),
        ],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("extends your checkpoint of size 10"),
        "{}",
        stdout(&out)
    );

    // One witness stops: submitting to it fails, naming it; the others are unaffected.
    let mut w3 = ws.pop().expect("w3");
    w3.child.kill().expect("kill");
    w3.child.wait().expect("wait");
    let e = submit(&db, &w3).expect_err("a stopped witness");
    assert!(e.contains("reaching the witness at"), "{e}");

    // The fork: same key, other events, as long as the original.
    append(&fork, 10, 25, 7);
    let forked = size(&fork);
    assert_eq!(forked, grown, "the fork is as long as the original");
    let e = submit(&fork, &ws[0]).expect_err("a fork of the same size");
    assert!(e.contains("forked"), "{e}");
    // Longer than the original: its proof does not start from the root the witness holds.
    append(&fork, 25, 40, 7);
    let e = submit(&fork, &ws[1]).expect_err("a longer fork");
    assert!(e.contains("does not extend"), "{e}");

    // The stopped witness comes back on its state, holding 10, and follows the original, not
    // the fork (which it never saw past 10: it cosigns whichever extends what it holds, once).
    let (child, url) = start(&w3.key, &w3.logs, &w3.state, "127.0.0.1:0");
    w3.child = child;
    w3.url = url;
    assert_eq!(
        checked(&submit(&db, &w3).expect("cosigned"), &w3, &log).size,
        grown
    );
    let e = submit(&fork, &w3).expect_err("the fork after the original");
    assert!(e.contains("does not extend") || e.contains("forked"), "{e}");
    ws.push(w3);
    for mut w in ws {
        w.child.kill().expect("kill");
        w.child.wait().expect("wait");
    }
}

#[test]
fn a_witness_killed_mid_request_never_cosigns_two_histories() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = make_log(dir.path(), "audit.db", 4, 2);
    let fork = dir.path().join("fork.db");
    copy_log(&db, &fork);
    let log_vkey = stdout(&run(&db, &["verifier-key"])).trim().to_owned();
    let log = NoteVerifier::parse(&log_vkey).expect("log key");
    let mut w = witness(dir.path(), "witness.test/crash", &log_vkey);
    let mut cosigned: Vec<Checkpoint> = Vec::new();
    let mut next = (4u64, 4u64);
    for round in 0..20u64 {
        // Both histories grow; each round shows both to the witness, racing a SIGKILL.
        append(&db, next.0, next.0 + 3, 3);
        append(&fork, next.1, next.1 + 2, 2);
        next = (next.0 + 3, next.1 + 2);
        let (a, b) = (db.clone(), fork.clone());
        let (url, vkey) = (w.url.clone(), w.vkey.clone());
        let shows =
            std::thread::spawn(move || [submit_to(&a, &url, &vkey), submit_to(&b, &url, &vkey)]);
        std::thread::sleep(std::time::Duration::from_millis(3 + (round * 7) % 40));
        w.child.kill().expect("kill");
        w.child.wait().expect("wait");
        for note in shows.join().expect("thread").into_iter().flatten() {
            cosigned.push(checked(&note, &w, &log));
        }
        let (child, url) = start(&w.key, &w.logs, &w.state, "127.0.0.1:0");
        w.child = child;
        w.url = url;
    }
    // Afterwards it still answers, and everything it ever cosigned is one history: the roots
    // of one log at those sizes.
    if let Ok(note) = submit(&db, &w) {
        cosigned.push(checked(&note, &w, &log));
    }
    assert!(!cosigned.is_empty(), "nothing was cosigned in 20 rounds");
    let histories: Vec<bool> = cosigned.iter().map(|cp| on_log(&db, cp)).collect();
    assert!(
        histories.iter().all(|&h| h) || histories.iter().all(|&h| !h),
        "cosigned from both histories: {:?}",
        cosigned.iter().map(|c| c.size).collect::<Vec<_>>()
    );
    w.child.kill().expect("kill");
    w.child.wait().expect("wait");
}

/// Whether `cp` is a checkpoint of the log at `db`: its root at that size.
fn on_log(db: &Path, cp: &Checkpoint) -> bool {
    let reader = aiaudit::LogReader::open(db).expect("reader");
    let latest = reader.checkpoint().expect("checkpoint");
    let root = if cp.size == latest.size {
        Some(latest.root)
    } else {
        reader
            .prove_consistency(cp.size, None)
            .ok()
            .map(|b| b.old_root)
    };
    root == Some(cp.root)
}

fn curl(args: &[&str]) -> String {
    let out = std::process::Command::new("curl")
        .arg("-s")
        .args(args)
        .output()
        .expect("curl (Debian's curl package)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn token(db: &Path, role: &str) -> String {
    let out = run(db, &["token", "create", "--role", role, "--name", role]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .split_whitespace()
        .find(|w| w.starts_with("aiat_"))
        .expect("a token")
        .to_owned()
}

#[test]
fn serve_has_each_new_checkpoint_cosigned_and_a_witness_that_is_down_holds_nothing_up() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = make_log(dir.path(), "audit.db", 5, 5);
    let log_vkey = stdout(&run(&db, &["verifier-key"])).trim().to_owned();
    let log = NoteVerifier::parse(&log_vkey).expect("log key");
    let mut ws: Vec<WitnessProc> = (1..=3)
        .map(|i| witness(dir.path(), &format!("witness.test/s{i}"), &log_vkey))
        .collect();
    // The third is down from the start.
    ws[2].child.kill().expect("kill");
    ws[2].child.wait().expect("wait");
    let (audit, ingest) = (token(&db, "audit"), token(&db, "ingest"));
    let mut config = format!(
        "[server]\ndb = \"{}\"\nlisten = \"127.0.0.1:0\"\nwitness_every = \"1s\"\n",
        db.display()
    );
    for (i, w) in ws.iter().enumerate() {
        config.push_str(&format!(
            "\n[[witnesses]]\nname = \"s{}\"\nurl = \"{}\"\nvkey = \"{}\"\n",
            i + 1,
            w.url,
            w.vkey
        ));
    }
    let config_path = dir.path().join("aiaudit.toml");
    std::fs::write(&config_path, config).expect("config");
    let (server, url) = common::serve_config(&config_path);
    let auth = |t: &str| format!("Authorization: Bearer {t}");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut round = 0;
    let cosigned = loop {
        // Ingest goes on while the witnesses work and one of them is down.
        let posted = curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            &auth(&ingest),
            "-H",
            "Content-Type: application/json",
            "-d",
            &format!("{{\"type\": \"drift\", \"name\": \"round {round}\"}}"),
            &format!("{url}/v1/events?wait=commit"),
        ]);
        assert_eq!(posted, "201", "ingest with a witness down");
        round += 1;
        let note = curl(&[
            "-H",
            &auth(&audit),
            &format!("{url}/v1/checkpoint?cosigned=true"),
        ]);
        let both = [&ws[0], &ws[1]].iter().all(|w| {
            CosignatureVerifier::parse(&w.vkey)
                .expect("vkey")
                .verify(&note)
                .is_ok()
        });
        if both && round > 2 {
            break note;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not cosigned by both in 20 s: {note}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let cp = Checkpoint::open(&cosigned, &log).expect("the log's signature");
    assert!(cp.size > 5, "a checkpoint made while serving: {}", cp.size);
    // Two of three satisfy the policy; the down witness never cosigned.
    let policy = aiaudit_core::policy::Policy::parse(&format!(
        "log {log_vkey}\nwitness s1 {}\nwitness s2 {}\nwitness s3 {}\ngroup g 2 s1 s2 s3\nquorum g\n",
        ws[0].vkey, ws[1].vkey, ws[2].vkey
    ))
    .expect("policy");
    assert_eq!(
        policy.check(&cosigned).expect("quorum").cosigned_by,
        ["s1", "s2"]
    );
    // Its lag and failures are in /metrics; the others' lag is what arrived since.
    let metrics = curl(&["-H", &auth(&audit), &format!("{url}/metrics")]);
    let value = |name: &str, w: &str| -> Option<f64> {
        metrics
            .lines()
            .find(|l| l.starts_with(&format!("aiaudit_{name}{{witness=\"{w}\"}}")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    };
    assert_eq!(value("witness_cosigned_size", "s3"), Some(0.0), "{metrics}");
    assert!(
        value("witness_lag", "s3").is_some_and(|v| v > 5.0),
        "{metrics}"
    );
    assert!(
        value("witness_failures_total", "s3").is_some_and(|v| v >= 1.0),
        "{metrics}"
    );
    assert!(
        value("witness_cosigned_size", "s1").is_some_and(|v| v >= cp.size as f64),
        "{metrics}"
    );
    // The tiles API's checkpoint carries the cosignatures it has too.
    let tiles = curl(&["-H", &auth(&audit), &format!("{url}/checkpoint")]);
    assert!(Checkpoint::open(&tiles, &log).is_ok(), "{tiles}");
    common::stop(server);
    for mut w in ws.into_iter().take(2) {
        w.child.kill().expect("kill");
        w.child.wait().expect("wait");
    }
}
