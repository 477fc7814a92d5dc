//! OTLP request bodies from outside (protobuf and JSON, traces and logs): decoding and mapping
//! never panic, a decoded request becomes exactly one event per span or record (and its protobuf
//! count on the wire is the same), and content is never kept unhashed when the options say to
//! hash it.
#![no_main]

use aiaudit_otlp::{Encoding, Options, is_content_key, logs, traces};
use libfuzzer_sys::fuzz_target;

fn content_hashed(events: &[aiaudit_core::Event]) {
    for e in events {
        if let Some(serde_json::Value::Object(a)) = e.details.get("attributes") {
            for (k, v) in a {
                if is_content_key(k) {
                    assert!(
                        v.as_str().is_some_and(|s| s.starts_with("sha256:")),
                        "{k} kept as {v}"
                    );
                }
            }
        }
    }
}

/// The count on the wire, when it can be made, is the decoded count (the batch limit relies on
/// it).
fn counted(body: &[u8], encoding: Encoding, n: usize) {
    if let Some(m) = aiaudit_otlp::items(body, encoding) {
        if encoding == Encoding::Protobuf {
            assert_eq!(m, n, "counted on the wire");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let encoding = if selector & 1 == 0 {
        Encoding::Protobuf
    } else {
        Encoding::Json
    };
    let mut opts = Options::new("fuzz");
    opts.max_attributes = 64;
    opts.max_events = 256;
    if selector & 2 == 0 {
        if let Ok(req) = traces::decode(body, encoding) {
            let n = traces::count(&req);
            counted(body, encoding, n);
            if let Ok(events) = traces::to_events(req, &opts) {
                assert_eq!(events.len(), n);
                content_hashed(&events);
            }
        }
    } else if let Ok(req) = logs::decode(body, encoding) {
        let n = logs::count(&req);
        counted(body, encoding, n);
        if let Ok(events) = logs::to_events(req, &opts) {
            assert_eq!(events.len(), n);
            content_hashed(&events);
        }
    }
});
