//! `add-checkpoint` bodies from anywhere: the parser and the whole witness (against a state in
//! a temporary directory) never panic, a parsed body prints back to itself, and nothing that is
//! not signed by the configured log's key is ever cosigned.
#![no_main]

use aiaudit_core::cosignature::CosignatureSigner;
use aiaudit_core::NoteSigner;
use aiaudit_witness::{AddCheckpoint, Logs, Outcome, Witness};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

struct Fixture {
    _dir: tempfile::TempDir,
    witness: Witness,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tmp");
        let log = NoteSigner::generate("fuzz.example/log").expect("key");
        let witness = Witness::open(
            &dir.path().join("w.db"),
            CosignatureSigner::generate("fuzz.example/w").expect("key"),
            Logs::of([log.verifier()]),
        )
        .expect("witness");
        Fixture { _dir: dir, witness }
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = AddCheckpoint::parse(data) {
        assert_eq!(AddCheckpoint::parse(req.to_body().as_bytes()).ok(), Some(req));
    }
    // The fuzzer cannot sign with the log's key: nothing it sends is cosigned.
    match fixture().witness.add_checkpoint(data, 1) {
        Ok(Outcome::Cosigned(line)) => panic!("cosigned a body not signed by the log: {line}"),
        Ok(Outcome::Refused(_)) | Err(_) => {}
    }
});
