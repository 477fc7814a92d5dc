//! Proof files from outside: parsing and verifying never panic, and a parsed bundle prints back
//! to a text that parses to the same bundle.
#![no_main]

use aiaudit_core::{ConsistencyBundle, InclusionBundle, NoteVerifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let v = NoteVerifier::parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
        .expect("fixed key");
    if let Ok(b) = InclusionBundle::parse(text) {
        assert_eq!(InclusionBundle::parse(&b.to_text()).expect("round trip"), b);
        let _ = b.verify(&v);
    }
    if let Ok(b) = ConsistencyBundle::parse(text) {
        assert_eq!(ConsistencyBundle::parse(&b.to_text()).expect("round trip"), b);
        let _ = b.verify(&v);
    }
});
