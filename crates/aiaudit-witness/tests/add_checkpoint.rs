//! The witness's decisions against real trees: it cosigns a log's growth, answers 409 with the
//! size it holds to a client that is behind or ahead, refuses a fork (same size, other root) and
//! an inconsistent extension (kept as evidence), refuses checkpoints its logs did not sign, and
//! after a restart goes on from where it was.

use aiaudit_core::cosignature::{CosignatureSigner, add_signatures};
use aiaudit_core::{Checkpoint, MemoryTree, NoteSigner, consistency_proof, leaf_hash, root_at};
use aiaudit_witness::{AddCheckpoint, Logs, Outcome, Refusal, State, Witness};

struct Log {
    key: NoteSigner,
    tree: MemoryTree,
}

impl Log {
    fn new(name: &str) -> Log {
        Log {
            key: NoteSigner::generate(name).expect("key"),
            tree: MemoryTree::new(),
        }
    }

    fn grow(&mut self, n: u64, salt: &str) {
        for i in 0..n {
            self.tree.push(leaf_hash(format!("{salt}{i}").as_bytes()));
        }
    }

    fn note(&self, size: u64) -> String {
        Checkpoint {
            origin: self.key.name().to_owned(),
            size,
            root: root_at(&self.tree, size).expect("root"),
        }
        .sign(&self.key)
        .expect("sign")
    }

    fn request(&self, old: u64, size: u64) -> Vec<u8> {
        let proof = if old == 0 || old == size {
            vec![]
        } else {
            consistency_proof(&self.tree, old, size).expect("proof")
        };
        AddCheckpoint {
            old,
            proof,
            checkpoint: self.note(size),
        }
        .to_body()
        .into_bytes()
    }
}

fn cosigned(out: Outcome) -> String {
    match out {
        Outcome::Cosigned(line) => line,
        other => panic!("not cosigned: {other:?}"),
    }
}

fn refused(out: Outcome) -> Refusal {
    match out {
        Outcome::Refused(r) => r,
        other => panic!("cosigned: {other:?}"),
    }
}

#[test]
fn a_witness_cosigns_growth_and_refuses_forks_and_strangers() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("w.db");
    let key = CosignatureSigner::generate("w1").expect("key");
    let vkey = key.verifier();
    let mut log = Log::new("acme/log");
    let stranger = Log::new("other/log");
    let w = Witness::open(&db, key, Logs::of([log.key.verifier()])).expect("open");

    log.grow(10, "a");
    let line = cosigned(w.add_checkpoint(&log.request(0, 10), 100).expect("add"));
    let note = add_signatures(&log.note(10), &line).expect("add");
    assert_eq!(vkey.verify(&note).expect("verify"), 100);

    // Growth with a proof from what it holds.
    log.grow(7, "b");
    cosigned(w.add_checkpoint(&log.request(10, 17), 101).expect("add"));
    // The same checkpoint again: cosigned again, nothing changes.
    cosigned(w.add_checkpoint(&log.request(17, 17), 102).expect("add"));
    // A client that is behind learns the size to retry from.
    assert_eq!(
        refused(w.add_checkpoint(&log.request(10, 17), 103).expect("add")),
        Refusal::Conflict { latest: 17 }
    );
    assert_eq!(
        refused(w.add_checkpoint(&log.request(0, 17), 103).expect("add")),
        Refusal::Conflict { latest: 17 }
    );

    // A fork: the same key signs another history of the same size, and a longer one.
    let mut fork = Log {
        key: NoteSigner::parse(&log.key.to_private_string().expect("local")).expect("same key"),
        tree: MemoryTree::new(),
    };
    fork.grow(10, "a");
    fork.grow(7, "evil");
    assert_eq!(
        refused(w.add_checkpoint(&fork.request(17, 17), 104).expect("add")),
        Refusal::SameSizeOtherRoot
    );
    fork.grow(5, "more");
    // Its own proof from 17 (of its own tree) does not lead from the root the witness holds.
    let r = refused(w.add_checkpoint(&fork.request(17, 22), 105).expect("add"));
    assert!(matches!(r, Refusal::BadProof(_)), "{r:?}");
    assert_eq!(r.status(), 422);
    let evidence = State::open(&db)
        .expect("state")
        .refused("acme/log")
        .expect("refused");
    assert_eq!(evidence.len(), 2, "both fork attempts kept: {evidence:?}");
    assert!(evidence[1].2.contains("old 17"));

    // Checkpoints no configured key signed, and bodies that do not parse.
    let r = refused(w.add_checkpoint(&stranger.request(0, 0), 106).expect("add"));
    assert_eq!(r, Refusal::UnknownOrigin("other/log".into()));
    assert_eq!(r.status(), 404);
    let forged = Log {
        key: NoteSigner::generate("acme/log").expect("key"),
        tree: log.tree.clone(),
    };
    let r = refused(w.add_checkpoint(&forged.request(17, 17), 107).expect("add"));
    assert!(matches!(r, Refusal::NotSigned(_)), "{r:?}");
    assert_eq!(r.status(), 403);
    assert_eq!(
        refused(
            w.add_checkpoint(&log.request(17, 17)[..5], 108)
                .expect("add")
        )
        .status(),
        400
    );
    let mut above = String::from_utf8(log.request(17, 17)).expect("utf8");
    above = above.replacen("old 17", "old 99", 1);
    assert_eq!(
        refused(w.add_checkpoint(above.as_bytes(), 109).expect("add")),
        Refusal::OldAboveSize { old: 99, size: 17 }
    );
    drop(w);

    // After a restart it holds 17 still, and goes on from there.
    let w = Witness::open(
        &db,
        CosignatureSigner::generate("w1b").expect("key"),
        Logs::of([log.key.verifier()]),
    )
    .expect("reopen");
    assert_eq!(
        refused(w.add_checkpoint(&log.request(10, 17), 110).expect("add")),
        Refusal::Conflict { latest: 17 }
    );
    log.grow(1, "c");
    cosigned(w.add_checkpoint(&log.request(17, 18), 111).expect("add"));
}
