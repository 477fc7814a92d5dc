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
pub mod crypto;
mod detectors;
mod policy;

pub use apply::Redactor;
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

/// Redacts every string inside `value` with [`redact_text`] (keys are left alone); returns how
/// many strings changed.
pub fn redact_value(value: &mut serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::String(s) => match redact_text(s) {
            Cow::Borrowed(_) => 0,
            Cow::Owned(r) => {
                *s = r;
                1
            }
        },
        Value::Array(items) => items.iter_mut().map(redact_value).sum(),
        Value::Object(m) => m.values_mut().map(redact_value).sum(),
        _ => 0,
    }
}
