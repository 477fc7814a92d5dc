//! Archive manifests as a store or an archive hands them over: never panic; a manifest that
//! parses prints back to the same text, so nothing in it is lost or invented.
#![no_main]

use aiaudit_core::archive::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(m) = Manifest::parse_text(text) {
        assert_eq!(m.to_text(), text);
    }
});
