//! The fuzz targets' properties, run as property tests on every build: parsers of outside input
//! (signed notes, checkpoints, keys, proof files, records, time bounds) never panic, round-trip,
//! and accept only what is genuinely signed. `fuzz/` runs the same under libFuzzer.

use aiaudit_core::timefmt::{DayEdge, parse_bound};
use aiaudit_core::{
    Checkpoint, ConsistencyBundle, InclusionBundle, MemoryTree, NoteSigner, NoteVerifier, Record,
    canonical, inclusion_proof, leaf_hash,
};
use proptest::prelude::*;

const PRIV: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

fn valid_bundle() -> (String, NoteVerifier) {
    let signer = NoteSigner::parse(PRIV).expect("key");
    let mut tree = MemoryTree::new();
    let leaves: Vec<Vec<u8>> = (0..37u32)
        .map(|i| format!("{{\"i\":{i}}}").into_bytes())
        .collect();
    for l in &leaves {
        tree.push(leaf_hash(l));
    }
    let cp = Checkpoint {
        origin: "PeterNeumann".into(),
        size: tree.size(),
        root: tree.root(),
    };
    let bundle = InclusionBundle {
        leaf_data: Some(leaves[11].clone()),
        index: 11,
        proof: inclusion_proof(&tree, 11, tree.size()).expect("proof"),
        checkpoint_note: cp.sign(&signer).expect("sign"),
    };
    bundle.verify(&signer.verifier()).expect("valid");
    (bundle.to_text(), signer.verifier())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        let v = NoteSigner::parse(PRIV).expect("key").verifier();
        let _ = NoteVerifier::parse(&text);
        let _ = NoteSigner::parse(&text);
        let _ = Checkpoint::parse_text(&text);
        prop_assert!(v.open(&text).is_err(), "random text is never a signed note");
        if let Ok(b) = InclusionBundle::parse(&text) {
            prop_assert_eq!(InclusionBundle::parse(&b.to_text()).expect("round trip"), b);
        }
        if let Ok(b) = ConsistencyBundle::parse(&text) {
            prop_assert_eq!(ConsistencyBundle::parse(&b.to_text()).expect("round trip"), b);
        }
        let _ = Record::from_leaf_data(text.as_bytes());
        let _ = parse_bound(&text, DayEdge::Start, 0);
        let _ = parse_bound(&text, DayEdge::End, i64::MAX);
    }

    #[test]
    fn any_edit_of_a_valid_proof_file_is_rejected(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let (text, v) = valid_bundle();
        let mut bytes = text.clone().into_bytes();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        if let Ok(edited) = String::from_utf8(bytes)
            && let Ok(b) = InclusionBundle::parse(&edited) {
                // An edit may leave the meaning unchanged only where base64 has slack bits;
                // whatever still verifies must be the same entry of the same signed tree.
                if let Ok(cp) = b.verify(&v) {
                    let orig = InclusionBundle::parse(&text).expect("valid");
                    prop_assert_eq!(b.leaf_data, orig.leaf_data);
                    prop_assert_eq!(b.index, orig.index);
                    prop_assert_eq!(cp.size, 37);
                }
            }
    }

    #[test]
    fn canonical_encoding_is_a_fixed_point(json in "[\\[\\]{}\",:0-9a-z.eE+\\- ]{0,80}") {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&json)
            && let Ok(c) = canonical::to_vec(&v) {
                let again: serde_json::Value = serde_json::from_slice(&c).expect("parses");
                prop_assert_eq!(canonical::to_vec(&again).expect("encodes"), c);
            }
    }
}
