#![allow(clippy::unwrap_used)]

use super::*;

const ORIGIN: &str = "example.org/rotating";

fn key() -> NoteSigner {
    NoteSigner::generate(ORIGIN).unwrap()
}

fn checkpoint(size: u64, signers: &[NoteSigner]) -> String {
    Checkpoint {
        origin: ORIGIN.into(),
        size,
        root: [7; 32],
    }
    .sign_all(signers)
    .unwrap()
}

/// A → A+B at seq 10 → B at seq 20.
fn rotated() -> (NoteSigner, NoteSigner, KeyHistory) {
    let (a, b) = (key(), key());
    let mut h = KeyHistory::new(a.verifier());
    let change = KeyChange::make(&h, KeyAction::Rotate, &b.verifier(), &[&a, &b]).unwrap();
    h.apply(10, &change).unwrap();
    let retire = KeyChange::make(&h, KeyAction::Retire, &a.verifier(), &[&b]).unwrap();
    h.apply(20, &retire).unwrap();
    (a, b, h)
}

#[test]
fn each_key_is_valid_exactly_for_the_checkpoints_its_changes_bound() {
    let (a, b, h) = rotated();
    assert_eq!(h.valid_for(10), vec![a.verifier()]);
    assert_eq!(h.valid_for(11), vec![a.verifier(), b.verifier()]);
    assert_eq!(h.valid_for(20), vec![a.verifier(), b.verifier()]);
    assert_eq!(h.valid_for(21), vec![b.verifier()]);
    assert_eq!(h.current(), vec![b.verifier()]);
    assert_eq!(h.all().len(), 2);

    assert_eq!(
        h.open_checkpoint(&checkpoint(5, std::slice::from_ref(&a)))
            .unwrap()
            .size,
        5
    );
    assert!(
        h.open_checkpoint(&checkpoint(5, std::slice::from_ref(&b)))
            .is_err()
    );
    let both = checkpoint(15, &[a.clone(), b.clone()]);
    assert_eq!(h.open_checkpoint(&both).unwrap().size, 15);
    // After the retirement the old key alone proves nothing.
    let err = h
        .open_checkpoint(&checkpoint(21, std::slice::from_ref(&a)))
        .unwrap_err();
    assert!(err.to_string().contains("not valid at that size"), "{err}");
    assert!(
        h.open_checkpoint(&checkpoint(21, std::slice::from_ref(&b)))
            .is_ok()
    );
}

#[test]
fn a_rotation_needs_the_new_key_and_a_current_key() {
    let (a, b, stranger) = (key(), key(), key());
    let h = KeyHistory::new(a.verifier());
    // Signed by the new key alone: anyone could announce their own key.
    let err = KeyChange::make(&h, KeyAction::Rotate, &b.verifier(), &[&b]).unwrap_err();
    assert!(err.to_string().contains("signs with now"), "{err}");
    // Signed by the log's key but not by the new one: no proof its holder has it.
    let err = KeyChange::make(&h, KeyAction::Rotate, &b.verifier(), &[&a]).unwrap_err();
    assert!(err.to_string().contains("joining key"), "{err}");
    let err = KeyChange::make(&h, KeyAction::Rotate, &b.verifier(), &[&stranger, &b]).unwrap_err();
    assert!(err.to_string().contains("signs with now"), "{err}");
    let other = NoteSigner::generate("other.example/log").unwrap();
    let err = KeyChange::make(&h, KeyAction::Rotate, &other.verifier(), &[&a, &other]).unwrap_err();
    assert!(err.to_string().contains("origin"), "{err}");
}

#[test]
fn the_only_key_cannot_be_retired_nor_a_key_added_twice() {
    let (a, b) = (key(), key());
    let mut h = KeyHistory::new(a.verifier());
    let err = KeyChange::make(&h, KeyAction::Retire, &a.verifier(), &[&a]).unwrap_err();
    assert!(err.to_string().contains("only key"), "{err}");
    let change = KeyChange::make(&h, KeyAction::Rotate, &b.verifier(), &[&a, &b]).unwrap();
    h.apply(3, &change).unwrap();
    let again = KeyChange::make(&h, KeyAction::Rotate, &b.verifier(), &[&a, &b]).unwrap_err();
    assert!(again.to_string().contains("already"), "{again}");
    // A retirement signed only by the key that leaves is refused: it stays with the keys that stay.
    let err = KeyChange::make(&h, KeyAction::Retire, &a.verifier(), &[&a]).unwrap_err();
    assert!(err.to_string().contains("stays"), "{err}");
}

#[test]
fn a_change_read_back_from_details_is_checked_again() {
    let (a, b) = (key(), key());
    let h = KeyHistory::new(a.verifier());
    let change = KeyChange::make(&h, KeyAction::Rotate, &b.verifier(), &[&a, &b]).unwrap();
    let details = Value::Object(change.to_details());
    let back = KeyChange::from_details(&details).unwrap();
    assert_eq!(back, change);
    h.check(&back).unwrap();

    // Details that name another key than the statement signed.
    let c = key();
    let mut forged = details.clone();
    forged["key"] = c.verifier().to_string().into();
    let f = KeyChange::from_details(&forged).unwrap();
    assert!(h.check(&f).is_err());
    let mut wrong = details.clone();
    wrong["action"] = "promote".into();
    let err = KeyChange::from_details(&wrong).unwrap_err();
    assert!(err.to_string().contains("details.action"), "{err}");
    let mut missing = details;
    missing.as_object_mut().unwrap().remove("statement");
    let err = KeyChange::from_details(&missing).unwrap_err();
    assert!(err.to_string().contains("details.statement"), "{err}");
}

#[test]
fn a_key_set_rejects_a_bad_signature_by_any_of_its_keys() {
    let (a, b) = (key(), key());
    let note = checkpoint(4, &[a.clone(), b.clone()]);
    let keys = vec![a.verifier(), b.verifier()];
    assert!(Checkpoint::open(&note, &keys).is_ok());
    // Corrupt b's signature: the note must not open even though a's verifies.
    let lines: Vec<&str> = note.lines().collect();
    let last = lines[lines.len() - 1];
    let (head, sig) = last.rsplit_once(' ').unwrap();
    let mut bytes =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, sig).unwrap();
    bytes[10] ^= 1;
    let bad_sig = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
    let bad = note.replace(last, &format!("{head} {bad_sig}"));
    assert!(Checkpoint::open(&bad, &keys).is_err());
    assert!(Checkpoint::open(&bad, &a.verifier()).is_ok());
}
