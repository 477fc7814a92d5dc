//! PII detection and masking in text and JSON values: e-mail addresses, phone numbers, US social
//! security numbers and payment card numbers (Luhn-checked), each replaced by a typed
//! placeholder (`[EMAIL]`, `[PHONE]`, `[SSN]`, `[CC]`).
//!
//! Word boundaries are ASCII (`(?-u:\b)`): a Unicode `\b` makes the regex engine fall back to a
//! much slower path on non-ASCII text, and every pattern here is ASCII anyway.
//!
//! ```
//! use aiaudit_core::redact::redact_text;
//! assert_eq!(
//!     redact_text("Contact jane.doe@example.com or call 555-123-4567"),
//!     "Contact [EMAIL] or call [PHONE]"
//! );
//! assert_eq!(redact_text("card 4111 1111 1111 1111"), "card [CC]");
//! assert_eq!(redact_text("order 4111 1111 1111 1112"), "order 4111 1111 1111 1112"); // not Luhn-valid
//! ```

use serde_json::Value;
use std::borrow::Cow;
use std::sync::LazyLock;

/// What a detector finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An e-mail address.
    Email,
    /// A phone number (North American national forms, optionally with a country code).
    Phone,
    /// A US social security number (`AAA-GG-SSSS`, with valid area, group and serial).
    Ssn,
    /// A payment card number of 13 to 19 digits that passes the Luhn check.
    Card,
}

impl Kind {
    /// The placeholder that replaces a match.
    pub fn placeholder(self) -> &'static str {
        match self {
            Kind::Email => "[EMAIL]",
            Kind::Phone => "[PHONE]",
            Kind::Ssn => "[SSN]",
            Kind::Card => "[CC]",
        }
    }
}

struct Detector {
    kind: Kind,
    re: regex::Regex,
    valid: fn(&str) -> bool,
}

static DETECTORS: LazyLock<Vec<Detector>> = LazyLock::new(|| {
    let d = |kind, pattern: &str, valid: fn(&str) -> bool| {
        regex::Regex::new(pattern)
            .map(|re| Detector { kind, re, valid })
            .ok()
    };
    // Order matters only for ties: a longer match wins, then the earlier detector.
    [
        d(
            Kind::Card,
            r"(?-u:\b)[0-9](?:[ -]?[0-9]){12,18}(?-u:\b)",
            luhn_valid,
        ),
        d(Kind::Ssn, r"(?-u:\b)[0-9]{3}-[0-9]{2}-[0-9]{4}(?-u:\b)", ssn_valid),
        d(
            Kind::Email,
            r"[\p{L}\p{N}._%+\-]+@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*\.\p{L}{2,}",
            |_| true,
        ),
        d(
            Kind::Phone,
            r"(?:\+[0-9]{1,3}[-. ]?)?(?:\([0-9]{3}\)[-. ]?|(?-u:\b)[0-9]{3}[-. ]?)[0-9]{3}[-. ]?[0-9]{4}(?-u:\b)",
            |_| true,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
});

fn luhn_valid(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn ssn_valid(s: &str) -> bool {
    let area = &s[0..3];
    let group = &s[4..6];
    let serial = &s[7..11];
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

/// The PII found in `text`: non-overlapping `(start, end, kind)` spans in order.
pub fn find(text: &str) -> Vec<(usize, usize, Kind)> {
    let mut spans: Vec<(usize, usize, Kind)> = Vec::new();
    for d in DETECTORS.iter() {
        for m in d.re.find_iter(text) {
            if (d.valid)(m.as_str()) {
                spans.push((m.start(), m.end(), d.kind));
            }
        }
    }
    // Earliest first, longest first at the same start; then drop what overlaps a kept span.
    spans.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut kept: Vec<(usize, usize, Kind)> = Vec::with_capacity(spans.len());
    for s in spans {
        if kept.last().is_none_or(|k| s.0 >= k.1) {
            kept.push(s);
        }
    }
    kept
}

/// `text` with every detected item replaced by its placeholder; borrowed when nothing was found.
pub fn redact_text(text: &str) -> Cow<'_, str> {
    let spans = find(text);
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, kind) in spans {
        out.push_str(&text[at..start]);
        out.push_str(kind.placeholder());
        at = end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// Redacts every string inside `value` (object keys are left alone), recursively; returns how
/// many strings changed.
pub fn redact_value(value: &mut Value) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_detector_compiles() {
        assert_eq!(DETECTORS.len(), 4);
    }

    #[test]
    fn the_seed_example_is_redacted_as_the_seed_says() {
        let mut v = json!({"text": "Contact john.smith@example.com or call 555-123-4567", "user_ssn": "123-45-6789"});
        assert_eq!(redact_value(&mut v), 2);
        assert_eq!(
            v,
            json!({"text": "Contact [EMAIL] or call [PHONE]", "user_ssn": "[SSN]"})
        );
    }

    #[test]
    fn numbers_that_only_look_like_pii_are_kept() {
        for s in [
            "order 2026-11-24 run 42",
            "version 1.2.3",
            "sha 9f86d081884c7d659a2feaa0c55ad015",
            "000-12-3456",
            "4111111111111112",
            "accuracy 0.9234",
        ] {
            assert_eq!(redact_text(s), s, "{s}");
        }
    }

    #[test]
    fn phone_forms_and_unicode_text() {
        assert_eq!(redact_text("(555) 123-4567"), "[PHONE]");
        assert_eq!(redact_text("+1 555 123 4567"), "[PHONE]");
        assert_eq!(
            redact_text("Grüße an müller@example.de, 电话 555.123.4567"),
            "Grüße an [EMAIL], 电话 [PHONE]"
        );
    }
}
