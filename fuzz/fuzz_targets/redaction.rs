//! Redaction policies (TOML from operators) and the text they are applied to: never panic.
//! The first line is text to redact; the rest, if any, a policy. Text is redacted with the
//! default policy (compiled once); a policy that parses is compiled and applied too.
#![no_main]

use aiaudit_core::redact::{Policy, Redactor};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static DEFAULT: LazyLock<Option<Redactor>> =
    LazyLock::new(|| Redactor::new(&Policy::default(), Some([3; 32])).ok());

fn apply(r: &Redactor, text: &str, default: bool) {
    let out = r.redact_str(text);
    assert!(out.len() <= text.len() * 70 + 64);
    let mut name = text.to_owned();
    let mut details = serde_json::Map::new();
    details.insert("x".into(), serde_json::Value::String(text.to_owned()));
    details.insert("password".into(), serde_json::Value::String(text.to_owned()));
    let _ = r.redact(&mut name, &mut details);
    if default {
        // The default policy masks a field named password, whatever it holds.
        assert_eq!(details["password"], "[REDACTED]");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (text, policy) = s.split_once('\n').unwrap_or((s, ""));
    if let Some(r) = DEFAULT.as_ref() {
        apply(r, text, true);
    }
    if !policy.is_empty()
        && let Ok(p) = Policy::from_toml(policy)
        && let Ok(r) = Redactor::new(&p, Some([3; 32]))
    {
        apply(&r, text, false);
    }
});
