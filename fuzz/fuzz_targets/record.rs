//! Leaf data and details JSON from outside: parsing never panics, and canonical encoding is a
//! fixed point (encoding the parse of canonical bytes gives the same bytes).
#![no_main]

use aiaudit_core::{Record, canonical};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Record::from_leaf_data(data);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(c) = canonical::to_vec(&v) {
            let again: serde_json::Value = serde_json::from_slice(&c).expect("canonical output parses");
            assert_eq!(canonical::to_vec(&again).expect("still encodable"), c);
        }
    }
});
