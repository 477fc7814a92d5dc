//! RFC 8785 (JSON Canonicalization Scheme) encoding.
//!
//! The leaf data of every sealed record is its JCS form, so that anyone can re-derive the leaf
//! hash from the JSON with any conforming encoder. The rules applied here:
//! - object members sorted by the UTF-16 code units of their names, no insignificant white space;
//! - strings escaped as ECMAScript's `JSON.stringify` escapes them (`\"`, `\\`, `\b \f \n \r \t`,
//!   other controls as lowercase `\u00xx`, everything else literal);
//! - numbers printed as ECMAScript prints an IEEE-754 double. An integer outside ±2^53 is kept
//!   only if a double holds it exactly (as every such integer read back from canonical JSON does);
//!   any other is refused rather than silently rounded.

use serde_json::{Map, Number, Value};
use std::cmp::Ordering;

use crate::error::{Error, Result};

/// The largest integer a double represents exactly (I-JSON, RFC 7493 §2.2).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Encodes `value` as canonical JSON.
pub fn to_vec(value: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    write_value(&mut out, value)?;
    Ok(out)
}

/// Appends the canonical form of `value` to `out`.
pub fn write_value(out: &mut Vec<u8>, value: &Value) -> Result<()> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n)?,
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(out, map)?,
    }
    Ok(())
}

/// Appends the canonical form of a JSON object.
pub fn write_object(out: &mut Vec<u8>, map: &Map<String, Value>) -> Result<()> {
    // A map usually iterates in canonical order already (ASCII keys in a sorted map); only
    // otherwise are the members collected and sorted.
    let in_order = map
        .keys()
        .zip(map.keys().skip(1))
        .all(|(a, b)| key_order(a, b) != Ordering::Greater);
    if in_order {
        return write_members(out, map.iter());
    }
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    members.sort_by(|a, b| key_order(a.0, b.0));
    write_members(out, members.into_iter())
}

fn write_members<'a>(
    out: &mut Vec<u8>,
    members: impl Iterator<Item = (&'a String, &'a Value)>,
) -> Result<()> {
    out.push(b'{');
    for (i, (k, v)) in members.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, k);
        out.push(b':');
        write_value(out, v)?;
    }
    out.push(b'}');
    Ok(())
}

/// Orders member names by UTF-16 code units, as RFC 8785 §3.2.3 requires. UTF-8 byte order agrees
/// with it except between supplementary characters and U+E000..U+FFFF, so ASCII takes a shortcut.
pub fn key_order(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.as_bytes().cmp(b.as_bytes())
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

/// Appends a canonical JSON string.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends a canonical JSON number.
pub fn write_number(out: &mut Vec<u8>, n: &Number) -> Result<()> {
    let (negative, magnitude) = match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => (false, u),
        (None, Some(i)) => (true, i.unsigned_abs()),
        (None, None) => {
            let f = n
                .as_f64()
                .ok_or_else(|| Error::Canonical(format!("number {n} is not a double")))?;
            return write_f64(out, f);
        }
    };
    // Beyond 2^53 the digits stand only if they are exactly how the nearest double prints.
    if magnitude > MAX_SAFE_INTEGER && !is_exact_double(magnitude) {
        return Err(unsafe_integer(&n.to_string()));
    }
    if negative {
        out.push(b'-');
    }
    write_u64(out, magnitude);
    Ok(())
}

/// Whether the text of `v` denotes a double that ECMAScript prints as that same text: then
/// reading it as a double (as RFC 8785 does) and writing it back changes nothing.
fn is_exact_double(v: u64) -> bool {
    let mut buf = ryu_js::Buffer::new();
    buf.format_finite(v as f64) == v.to_string()
}

/// Whether `n` survives canonical encoding unchanged (see the module documentation).
pub fn is_exact_number(n: &Number) -> bool {
    match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => u <= MAX_SAFE_INTEGER || is_exact_double(u),
        (None, Some(i)) => {
            i.unsigned_abs() <= MAX_SAFE_INTEGER || is_exact_double(i.unsigned_abs())
        }
        (None, None) => n.as_f64().is_some_and(f64::is_finite),
    }
}

/// Appends a finite double as ECMAScript's `Number.prototype.toString` prints it.
pub fn write_f64(out: &mut Vec<u8>, f: f64) -> Result<()> {
    if !f.is_finite() {
        return Err(Error::Canonical(format!(
            "{f} is not a JSON number (NaN and infinities have no JSON form)"
        )));
    }
    if f == 0.0 {
        // Both zeros print as "0" in ECMAScript.
        out.push(b'0');
        return Ok(());
    }
    let mut buf = ryu_js::Buffer::new();
    out.extend_from_slice(buf.format_finite(f).as_bytes());
    Ok(())
}

/// Appends an unsigned integer in decimal.
pub fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn unsafe_integer(text: &str) -> Error {
    Error::Canonical(format!(
        "integer {text} is outside ±2^53 and cannot be kept exactly in JSON; pass it as a string"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: Value) -> String {
        String::from_utf8(to_vec(&v).expect("encodes")).expect("utf8")
    }

    #[test]
    fn rfc8785_number_examples() {
        // RFC 8785 Appendix B, as doubles.
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (9007199254740992.0, "9007199254740992"),
            (295147905179352830000.0, "295147905179352830000"),
            (1e21, "1e+21"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (333333333.3333332, "333333333.3333332"),
            (-5e-324, "-5e-324"),
        ];
        for (f, want) in cases {
            let mut out = Vec::new();
            write_f64(&mut out, f).expect("finite");
            assert_eq!(String::from_utf8(out).expect("utf8"), want, "{f:e}");
        }
    }

    #[test]
    fn sorts_by_utf16_and_escapes_like_ecmascript() {
        // RFC 8785 §3.2.3 sorting example (keys given in a different order).
        let v = json!({
            "\u{20ac}": "Euro Sign", "\r": "Carriage Return", "\u{fb33}": "Hebrew Letter Dalet With Dagesh",
            "1": "One", "\u{1f600}": "Emoji: Grinning Face", "\u{0080}": "Control", "\u{00f6}": "Latin Small Letter O With Diaeresis"
        });
        let got = canon(v);
        let order: Vec<&str> = [
            "\\r",
            "1",
            "\u{0080}",
            "\u{00f6}",
            "\u{20ac}",
            "\u{1f600}",
            "\u{fb33}",
        ]
        .to_vec();
        let mut last = 0;
        for k in order {
            let pos = got.find(&format!("\"{k}\"")).expect("key present");
            assert!(pos >= last, "{k} out of order in {got}");
            last = pos;
        }
        assert_eq!(
            canon(json!("a\u{1}\u{7f}\"\\/\u{2028}")),
            "\"a\\u0001\u{7f}\\\"\\\\/\u{2028}\""
        );
    }

    #[test]
    fn nested_structures_are_compact() {
        assert_eq!(
            canon(json!({"b": [1, 2.5, true, null], "a": {"d": "x", "c": -3}})),
            r#"{"a":{"c":-3,"d":"x"},"b":[1,2.5,true,null]}"#
        );
    }

    #[test]
    fn refuses_integers_beyond_two_pow_53() {
        let err = to_vec(&json!({"n": 9007199254740993u64})).expect_err("unsafe");
        assert!(err.to_string().contains("9007199254740993"), "{err}");
        assert!(to_vec(&json!(-9007199254740993i64)).is_err());
        assert_eq!(canon(json!(9007199254740991u64)), "9007199254740991");
        // Integers a double holds exactly stay, printed as ECMAScript prints the double.
        assert_eq!(canon(json!(-15089092874483734i64)), "-15089092874483734");
        assert_eq!(canon(json!(264720015079064350u64)), "264720015079064350");
        assert_eq!(canon(json!(-2.6472001507906435e17)), "-264720015079064350");
        assert!(is_exact_number(&serde_json::Number::from(
            264720015079064350u64
        )));
        assert!(!is_exact_number(&serde_json::Number::from(
            (1u64 << 60) + 1
        )));
    }
}
