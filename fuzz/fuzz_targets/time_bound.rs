//! Time bounds typed by people (`--since`, `--until`): never panic.
#![no_main]

use aiaudit_core::timefmt::{DayEdge, parse_bound};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = parse_bound(s, DayEdge::Start, 1_795_000_000_000_000_000);
        let _ = parse_bound(s, DayEdge::End, i64::MAX);
    }
});
