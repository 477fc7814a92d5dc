//! Our signed notes and cosignatures read by an implementation that is not ours: Cloudflare's
//! `signed_note` crate (crates.io) parses a checkpoint cosigned through our witness, verifies
//! the log's signature with our verifier key string and takes the cosignatures for unknown keys;
//! given a cosignature/v1 verifier built on its `Verifier` trait and key-id rule, it verifies
//! them too; and a note it signs with our private key string opens with our verifier.

use aiaudit_core::cosignature::{CosignatureSigner, add_signatures};
use aiaudit_core::{Checkpoint, NoteSigner, NoteVerifier};
use aiaudit_witness::{AddCheckpoint, Logs, Outcome, Witness};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Verifier as _;
use signed_note::{Note, StandardSigner, StandardVerifier, Verifier, VerifierList};

/// A cosignature/v1 verifier on the crate's terms: its key id by the crate's rule over the
/// type byte 0x04 and the key, and the crate handing over the signature after the key id.
struct CosignatureV1 {
    name: String,
    id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl CosignatureV1 {
    fn from_vkey(vkey: &str) -> Self {
        let mut parts = vkey.splitn(3, '+');
        let (name, id, b64) = (
            parts.next().expect("name"),
            parts.next().expect("id"),
            parts.next().expect("key"),
        );
        let raw = B64.decode(b64).expect("base64");
        assert_eq!(raw[0], 0x04);
        let v = CosignatureV1 {
            name: name.to_owned(),
            id: signed_note::key_id(name, &raw),
            key: ed25519_dalek::VerifyingKey::from_bytes(&raw[1..].try_into().expect("32 bytes"))
                .expect("key"),
        };
        assert_eq!(
            format!("{:08x}", v.id),
            id,
            "the crate computes the same key id"
        );
        v
    }
}

impl Verifier for CosignatureV1 {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        if sig.len() != 72 {
            return false;
        }
        let time = u64::from_be_bytes(sig[..8].try_into().expect("8 bytes"));
        let mut signed = format!("cosignature/v1\ntime {time}\n").into_bytes();
        signed.extend_from_slice(msg);
        let Ok(s) = ed25519_dalek::Signature::from_slice(&sig[8..]) else {
            return false;
        };
        self.key.verify(&signed, &s).is_ok()
    }
}

#[test]
fn signed_note_reads_our_checkpoints_and_cosignatures() {
    let dir = tempfile::tempdir().expect("tmp");
    let log = NoteSigner::generate("interop.example/log").expect("key");
    let (w1, w2) = (
        CosignatureSigner::generate("interop.example/w1").expect("key"),
        CosignatureSigner::generate("interop.example/w2").expect("key"),
    );
    let (v1, v2) = (w1.verifier().to_string(), w2.verifier().to_string());
    let note = Checkpoint {
        origin: "interop.example/log".into(),
        size: 0,
        root: aiaudit_core::empty_root(),
    }
    .sign(&log)
    .expect("sign");
    let mut cosigned = note.clone();
    for (i, w) in [w1, w2].into_iter().enumerate() {
        let witness = Witness::open(
            &dir.path().join(format!("w{i}.db")),
            w,
            Logs::of([log.verifier()]),
        )
        .expect("open");
        let body = AddCheckpoint {
            old: 0,
            proof: vec![],
            checkpoint: note.clone(),
        }
        .to_body();
        let Outcome::Cosigned(line) = witness
            .add_checkpoint(body.as_bytes(), 1_796_000_000 + i as u64)
            .expect("add")
        else {
            panic!("not cosigned");
        };
        cosigned = add_signatures(&cosigned, &line).expect("add");
    }

    let parsed = Note::from_bytes(cosigned.as_bytes()).expect("the crate parses the note");
    let log_key = StandardVerifier::new(&log.verifier().to_string()).expect("our vkey string");
    let only_log = VerifierList::new(vec![Box::new(log_key)]);
    let (verified, unknown) = parsed
        .verify(&only_log)
        .expect("the log's signature verifies");
    assert_eq!(verified.len(), 1);
    assert_eq!(
        unknown.len(),
        2,
        "the cosignatures are for keys it was not given"
    );

    let all = VerifierList::new(vec![
        Box::new(StandardVerifier::new(&log.verifier().to_string()).expect("vkey")),
        Box::new(CosignatureV1::from_vkey(&v1)),
        Box::new(CosignatureV1::from_vkey(&v2)),
    ]);
    let (verified, unknown) = parsed.verify(&all).expect("every signature verifies");
    assert_eq!((verified.len(), unknown.len()), (3, 0));
    // A changed cosignature time is caught by the crate.
    let forged = {
        let line = cosigned.lines().last().expect("a line").to_owned();
        let (head, b64) = line.rsplit_once(' ').expect("line");
        let mut blob = B64.decode(b64).expect("b64");
        blob[11] ^= 1;
        cosigned.replace(&line, &format!("{head} {}", B64.encode(&blob)))
    };
    assert!(
        Note::from_bytes(forged.as_bytes())
            .expect("parses")
            .verify(&all)
            .is_err()
    );

    // The other way: the crate signs with our private key string; we open it.
    let signer = StandardSigner::new(&log.to_private_string().expect("a local key"))
        .expect("our private key string");
    let mut theirs = Note::new(
        b"interop.example/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        &[],
    )
    .expect("note");
    theirs.add_sigs(&[&signer]).expect("sign");
    let text = String::from_utf8(theirs.to_bytes()).expect("utf8");
    let ours = NoteVerifier::parse(&log.verifier().to_string()).expect("vkey");
    assert!(Checkpoint::open(&text, &ours).is_ok(), "{text}");
}
