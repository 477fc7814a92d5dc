//! Redaction: finding personal data and secrets in events and masking, hashing or dropping them
//! before an event is sealed, with a mark in the record of what was done where (never the
//! original value).
//!
//! A [`Redactor`] is compiled from a [`Policy`]: the built-in [`Builtin`] detectors, custom
//! regular expressions, and field rules by key name or path. All patterns run as one
//! [`regex::RegexSet`] pass over each string; only the detectors that fire then search and
//! validate (Luhn, mod 97, address parses).
//!
//! ```
//! use aiaudit_core::redact::{Policy, Redactor};
//! use serde_json::json;
//!
//! let r = Redactor::new(&Policy::default(), Some([7; 32]))?;
//! let mut name = "Contact jane.doe@example.com or call 555-123-4567".to_owned();
//! let mut details = json!({"password": "hunter2", "client": "10.1.2.3"});
//! let marks = r.redact(&mut name, details.as_object_mut().expect("object"));
//! assert_eq!(name, "Contact [EMAIL] or call [PHONE]");
//! assert_eq!(details["password"], "[REDACTED]");
//! assert!(details["client"].as_str().expect("text").starts_with("hmac:"));
//! assert_eq!(marks.len(), 4);
//! # Ok::<(), aiaudit_core::Error>(())
//! ```

mod apply;
mod context;
pub mod crypto;
mod detectors;
mod policy;

pub use apply::{Explanation, Redactor};
pub use crypto::{ERASED as ERASED_MARK, SubjectKeys, reveal};
pub use detectors::Builtin;
pub use policy::{Action, CustomDetector, DetectorActions, FieldRule, Policy};

use std::borrow::Cow;
use std::sync::LazyLock;

static DEFAULT_MASKING: LazyLock<Option<Redactor>> = LazyLock::new(|| {
    let mut p = Policy::default();
    // Without a secret there is nothing to hash with: the keyless default masks everything.
    p.detectors.ip = Some(Action::Mask);
    Redactor::new(&p, None).ok()
});

/// `text` with everything the default detectors find masked (`[EMAIL]`, `[PHONE]`, `[SSN]`,
/// `[CC]`, `[IBAN]`, `[IP]`, `[JWT]`, `[SECRET]`); borrowed when nothing was found.
///
/// ```
/// use aiaudit_core::redact::redact_text;
/// assert_eq!(redact_text("card 4111 1111 1111 1111"), "card [CC]");
/// assert_eq!(redact_text("order 4111 1111 1111 1112"), "order 4111 1111 1111 1112"); // fails Luhn
/// ```
pub fn redact_text(text: &str) -> Cow<'_, str> {
    match DEFAULT_MASKING.as_ref() {
        Some(r) => r.redact_str(text),
        None => Cow::Owned("[REDACTION UNAVAILABLE]".to_owned()),
    }
}

/// [`redact_text`] for the value of the field named `key` (or at the dotted `path`): a bare
/// number is a phone where the name says so (`phone`, `mobile`, `tel`, …), and identifiers
/// the logger generates (`request_id`, `trace_id`, `input_hash`, …) are left alone.
///
/// ```
/// use aiaudit_core::redact::{redact_text, redact_text_in};
/// assert_eq!(redact_text("5552345678"), "5552345678"); // a bare number: an id or a count
/// assert_eq!(redact_text_in("5552345678", "mobile"), "[PHONE]");
/// assert_eq!(redact_text_in("bfe23862-5551-2345-6789-6fe56ef17b32 a@b.org", "request_id"),
///            "bfe23862-5551-2345-6789-6fe56ef17b32 a@b.org");
/// ```
pub fn redact_text_in<'a>(text: &'a str, path: &str) -> Cow<'a, str> {
    match DEFAULT_MASKING.as_ref() {
        Some(r) => r.redact_str_in(text, path),
        None => Cow::Owned("[REDACTION UNAVAILABLE]".to_owned()),
    }
}

/// Redacts every string inside `value` with [`redact_text_in`], each with the name of the key
/// it is under (keys themselves are left alone); returns how many strings changed.
pub fn redact_value(value: &mut serde_json::Value) -> usize {
    redact_value_at(value, "")
}

fn redact_value_at(value: &mut serde_json::Value, key: &str) -> usize {
    use serde_json::Value;
    match value {
        Value::String(s) => match redact_text_in(s, key) {
            Cow::Borrowed(_) => 0,
            Cow::Owned(r) => {
                *s = r;
                1
            }
        },
        Value::Array(items) => items.iter_mut().map(|v| redact_value_at(v, key)).sum(),
        Value::Object(m) => m.iter_mut().map(|(k, v)| redact_value_at(v, k)).sum(),
        _ => 0,
    }
}
