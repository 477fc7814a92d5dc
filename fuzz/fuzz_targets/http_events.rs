//! Request bodies of `POST /v1/events` from outside, as JSON and as NDJSON: parsing never
//! panics, and whatever it accepts respects the batch limit; a refusal is always a 4xx.
#![no_main]

use aiaudit_server::Limits;
use aiaudit_server::ingest::json::{BodyFormat, parse_body};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_batch: 8,
        ..Limits::default()
    };
    for format in [BodyFormat::Json, BodyFormat::Ndjson] {
        match parse_body(data, format, &limits) {
            Ok(events) => assert!(!events.is_empty() && events.len() <= limits.max_batch),
            Err(e) => assert!(e.status.is_client_error(), "{} {}", e.status, e.message),
        }
    }
});
