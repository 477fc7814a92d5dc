//! Query strings of `GET /v1/events` from outside: decoding and parsing never panic, a refusal
//! is always a 400 naming the problem, and an accepted one asks for at most one more than the
//! page limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match aiaudit_server::query::events(Some(text), 50) {
        Ok(q) => assert!(q.limit >= 2 && q.limit <= 51, "limit {}", q.limit),
        Err(e) => {
            assert_eq!(e.status.as_u16(), 400, "{}", e.message);
            assert!(!e.message.is_empty());
        }
    }
});
