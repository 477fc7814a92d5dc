//! Signed notes, checkpoints and key strings from outside: never panic; whatever opens must be
//! signed by the key.
#![no_main]

use aiaudit_core::{Checkpoint, NoteSigner, NoteVerifier};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn signer() -> &'static NoteSigner {
    static S: OnceLock<NoteSigner> = OnceLock::new();
    S.get_or_init(|| {
        NoteSigner::parse("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
            .expect("fixed key")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = NoteVerifier::parse(text);
    let _ = NoteSigner::parse(text);
    let _ = Checkpoint::parse_text(text);
    let v = signer().verifier();
    if let Ok(body) = v.open(text) {
        // Anything that opens must carry a genuine signature over exactly that body.
        let resigned = signer().sign(body).expect("body ends with a newline");
        assert!(v.open(&resigned).is_ok());
    }
    let _ = Checkpoint::open(text, &v);
});
