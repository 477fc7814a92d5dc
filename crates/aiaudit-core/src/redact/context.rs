//! What surrounds a candidate: whether it is a whole token or part of a longer identifier,
//! whether the words near it or its field's name say "phone", and which fields hold the
//! identifiers that the logger generates (never rewritten by detectors).

/// ASCII letters, digits and `_`: the characters of an identifier's parts.
fn word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Characters that join the parts of one identifier: `a-b`, `1.2.3`, `a_b`, `dir/file`,
/// `1.0+build`.
fn joiner(c: u8) -> bool {
    matches!(c, b'-' | b'.' | b'_' | b'/' | b'\\' | b'+')
}

/// Whether `text[a..b]` is part of a longer identifier token: the byte beside either end is an
/// identifier character, or a joiner followed by one (`bfe23862-1234-…`, `build.3990…`,
/// `/part-71850-…`). A leading `+` or `(` of a phone number starts a token of its own unless a
/// letter or digit touches it. A trailing `.` or `-` followed by a space (the end of a sentence)
/// does not join.
pub(crate) fn glued(text: &str, a: usize, b: usize) -> bool {
    let t = text.as_bytes();
    let left = a > 0 && {
        let p = t[a - 1];
        word(p) || (joiner(p) && !matches!(t[a], b'+' | b'(') && a >= 2 && word(t[a - 2]))
    };
    let right = b < t.len() && (word(t[b]) || (joiner(t[b]) && b + 1 < t.len() && word(t[b + 1])));
    left || right
}

/// Words that say a number nearby is a phone number, compared with the words of the text
/// (lower case): English, German, French, Spanish and Italian. A word matches when it equals
/// one of `EXACT` or begins with one of `PREFIXES`.
const EXACT: &[&str] = &[
    "tel",
    "tél",
    "tlf",
    "fax",
    "sms",
    "cell",
    "mobile",
    "mobil",
    "mob",
    "handy",
    "call",
    "calls",
    "called",
    "calling",
    "dial",
    "dialed",
    "dialled",
    "hotline",
    "anruf",
    "anrufen",
    "angerufen",
    "durchwahl",
    "erreichbar",
    "portable",
    "appel",
    "appeler",
    "appelez",
    "appelle",
    "joindre",
    "joignable",
    "llamar",
    "llame",
    "móvil",
    "movil",
    "cellulare",
    "chiamare",
    "msisdn",
];
const PREFIXES: &[&str] = &[
    "phone",
    "telephon",
    "téléphon",
    "telefon",
    "teléfon",
    "cellphone",
    "cellular",
    "mobilnummer",
    "mobilfunk",
    "handynummer",
    "rufnummer",
    "festnetz",
    "kontakt",
    "contact",
    "whatsapp",
    "numtel",
    "phonenumber",
];
/// Words of scripts written without spaces, found as substrings.
const SUBSTRINGS: &[&str] = &[
    "电话", "電話", "手机", "手機", "联系", "聯繫", "致电", "携帯", "전화",
];

/// How far before and after a candidate the words are read.
const BEFORE: usize = 40;
const AFTER: usize = 24;

/// The context word of `w` (one word, any case), if it is one.
fn context_word(w: &str) -> Option<&'static str> {
    if w.len() < 3 || w.len() > 24 {
        return None;
    }
    let mut buf = [0u8; 24];
    let lower: &str = if w.is_ascii() {
        let b = &mut buf[..w.len()];
        b.copy_from_slice(w.as_bytes());
        b.make_ascii_lowercase();
        std::str::from_utf8(b).unwrap_or(w)
    } else {
        return lower_unicode(w);
    };
    EXACT
        .iter()
        .find(|e| **e == lower)
        .or_else(|| PREFIXES.iter().find(|p| lower.starts_with(**p)))
        .copied()
}

fn lower_unicode(w: &str) -> Option<&'static str> {
    let lower = w.to_lowercase();
    EXACT
        .iter()
        .find(|e| **e == lower)
        .or_else(|| PREFIXES.iter().find(|p| lower.starts_with(**p)))
        .copied()
}

/// The first context word in `s`, split into words at anything but a letter (camelCase keys
/// are read as one lower-case word, and `phoneNumber` begins with `phone`).
fn words_say_phone(s: &str) -> Option<&'static str> {
    if let Some(w) = SUBSTRINGS.iter().find(|w| s.contains(**w)) {
        return Some(w);
    }
    s.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .find_map(context_word)
}

/// The largest char boundary at or below `i`.
fn floor(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A context word near `text[a..b]`: in the 40 bytes before it or the 24 after.
pub(crate) fn phone_context(text: &str, a: usize, b: usize) -> Option<&'static str> {
    let before = &text[floor(text, a.saturating_sub(BEFORE))..a];
    let after = &text[b..floor(text, (b + AFTER).min(text.len()))];
    words_say_phone(before).or_else(|| words_say_phone(after))
}

/// A context word in a field's path (`details.contact.mobile`, `details.phoneNumber`).
pub(crate) fn path_says_phone(path: &str) -> Option<&'static str> {
    words_say_phone(path)
}

/// Last words of a label that make the digits after it an identifier (`span_id=…`,
/// `trace 4bf9…`, `"hash": "…"`).
const ID_WORDS: &[&str] = &[
    "id", "ids", "uuid", "guid", "ulid", "hash", "sha", "digest", "checksum", "span", "trace",
    "seq", "offset", "nonce", "serial",
];
/// Last words of a `key=` or `key:` label that make the digits after it a quantity.
const QUANTITY_WORDS: &[&str] = &[
    "count",
    "counts",
    "total",
    "rows",
    "bytes",
    "tokens",
    "records",
    "size",
    "length",
    "len",
    "sum",
    "num",
    "hits",
    "misses",
    "items",
    "events",
    "samples",
    "steps",
    "ms",
    "ns",
    "us",
    "ts",
    "epoch",
    "timestamp",
    "time",
    "duration",
    "elapsed",
    "latency",
    "scanned",
    "written",
    "read",
];

/// The last word of a label or key, lower case: `span_id` → `id`, `spanId` → `id`,
/// `rows.scanned` → `scanned`.
fn last_word(key: &str) -> String {
    let key = key.trim_end_matches(['.', '-', '_']);
    let b = key.as_bytes();
    let mut start = 0;
    for i in 1..b.len() {
        if matches!(b[i - 1], b'_' | b'-' | b'.')
            || (b[i].is_ascii_uppercase() && b[i - 1].is_ascii_lowercase())
        {
            start = i;
        }
    }
    key[start..].to_ascii_lowercase()
}

fn says_not_pii(key: &str, separated: bool) -> bool {
    if key.is_empty() || key.len() > 48 {
        return false;
    }
    let w = last_word(key);
    ID_WORDS.contains(&w.as_str()) || (separated && QUANTITY_WORDS.contains(&w.as_str()))
}

/// Whether the digit run at `text[a..]` is the value of a label naming an identifier or a
/// quantity: `span_id=4960…`, `tokens_total: 6398…`, `"rows": "…"`, `trace 0363…`. Such a run
/// is what its label says, not a card or phone number.
pub(crate) fn labelled_not_pii(text: &str, a: usize) -> bool {
    let t = text.as_bytes();
    let skip = |mut i: usize| {
        while i > 0 && matches!(t[i - 1], b' ' | b'"' | b'\'') {
            i -= 1;
        }
        i
    };
    let mut i = skip(a);
    let separated = i > 0 && matches!(t[i - 1], b'=' | b':');
    if separated {
        i = skip(i - 1);
    } else if i == a {
        return false;
    }
    let end = i;
    while i > 0 && (t[i - 1].is_ascii_alphanumeric() || matches!(t[i - 1], b'_' | b'-' | b'.')) {
        i -= 1;
    }
    says_not_pii(&text[i..end], separated)
}

/// Whether the last key of `path` names an identifier or a quantity (see [`labelled_not_pii`]).
pub(crate) fn path_says_not_pii(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    says_not_pii(last.split('[').next().unwrap_or(last), true)
}

/// The fields that hold identifiers the logger generates or that name events: request, event,
/// operation, run, trace and span ids, input hashes and ingest ids. Compared with the last key
/// of a path, ignoring case, `_` and `-` (`request_id`, `X-Request-Id`, `traceId`).
const IDENTIFIER_KEYS: &[&str] = &[
    "requestid",
    "xrequestid",
    "eventid",
    "operationid",
    "parentid",
    "runid",
    "parentrunid",
    "traceid",
    "spanid",
    "parentspanid",
    "traceparent",
    "inputhash",
    "ingestid",
];

/// Whether the value at `path` (`details.request_id`, `details.a[2].trace_id`) is an identifier
/// the detectors leave alone.
pub(crate) fn is_identifier_field(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    let last = last.split('[').next().unwrap_or(last);
    if last.len() < 5 || last.len() > 16 {
        return false;
    }
    let mut buf = [0u8; 16];
    let mut n = 0;
    for c in last.bytes() {
        if c == b'_' || c == b'-' {
            continue;
        }
        buf[n] = c.to_ascii_lowercase();
        n += 1;
    }
    IDENTIFIER_KEYS.iter().any(|k| k.as_bytes() == &buf[..n])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(text: &str, m: &str) -> bool {
        let a = text.find(m).expect("in text");
        glued(text, a, a + m.len())
    }

    #[test]
    fn tokens() {
        assert!(g("bfe23862-1234-4567-8901-6fe56ef17b32", "1234-4567-8901"));
        assert!(g("pod scorer-4354015920-73873", "4354015920"));
        assert!(g("v17.19.169+build.39909536754598", "39909536754598"));
        assert!(g("s3://b/part-71850-402d3109.parquet", "71850"));
        assert!(g("ratio 0.5551234567", "5551234567"));
        assert!(!g("call 555-123-4567.", "555-123-4567"));
        assert!(!g("call 555-123-4567. Then", "555-123-4567"));
        assert!(!g("tel.+44 20 7946 0958", "+44 20 7946 0958"));
        assert!(!g("phone=5551234567;", "5551234567"));
        assert!(!g("(5551234567)", "5551234567"));
        assert!(!g("电话5551234567", "5551234567"));
    }

    #[test]
    fn context_words() {
        assert_eq!(phone_context("call me on 5551234567", 11, 21), Some("call"));
        assert_eq!(phone_context("Telefon: 0301234567", 9, 19), Some("telefon"));
        assert_eq!(phone_context("5551234567 (mobile)", 0, 10), Some("mobile"));
        assert_eq!(phone_context("联系 5551234567", 7, 17), Some("联系"));
        assert_eq!(phone_context("rows_scanned=6237562188", 13, 23), None);
        assert_eq!(phone_context("hotel 5551234567", 6, 16), None);
        assert_eq!(phone_context("telemetry 5551234567", 10, 20), None);
        assert_eq!(
            path_says_phone("details.customer.phoneNumber"),
            Some("phone")
        );
        assert_eq!(path_says_phone("details.contact_mobile"), Some("contact"));
        assert_eq!(path_says_phone("details.rows"), None);
        assert_eq!(
            phone_context("Téléphone 0612345678", 11, 21),
            Some("téléphon")
        );
    }

    #[test]
    fn labels() {
        let l = |t: &str, m: &str| labelled_not_pii(t, t.find(m).expect("in text"));
        assert!(l("span_id=4960560936861981", "4960"));
        assert!(l("tokens_total: 639871187345", "6398"));
        assert!(l("span 4960560936861981 of trace", "4960"));
        assert!(l("\"rows_scanned\": \"6237562188\"", "6237"));
        assert!(l("spanId=4960560936861981", "4960"));
        assert!(!l("card 4111111111111111", "4111"));
        assert!(
            !l("rows 4111111111111111", "4111"),
            "a quantity needs = or :"
        );
        assert!(!l("phone: 5552345678", "5552"));
        assert!(!l("4111111111111111", "4111"));
        assert!(path_says_not_pii("details.stats.bytes_written"));
        assert!(!path_says_not_pii("details.card"));
    }

    #[test]
    fn identifier_fields() {
        assert!(is_identifier_field("details.request_id"));
        assert!(is_identifier_field("details.X-Request-Id"));
        assert!(is_identifier_field("details.spans[3].traceId"));
        assert!(is_identifier_field("details.input_hash"));
        assert!(!is_identifier_field("details.user_id"));
        assert!(!is_identifier_field("details.note"));
    }
}
