//! The PII and secret detectors: a pattern that finds candidates and a validator that keeps only
//! real ones (a Luhn check for cards, mod 97 for IBANs, a parse for IPv6 addresses, number shapes
//! for phones).
//!
//! Word boundaries are ASCII (`(?-u:\b)`): a Unicode `\b` makes the regex engine fall back to a
//! far slower path on non-ASCII text, and the patterns are ASCII anyway (e-mail addresses take
//! Unicode letters through `\p{L}`, which costs nothing extra).

use std::net::Ipv6Addr;

/// What a built-in detector finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// An e-mail address.
    Email,
    /// A phone number: North American, international (`+` or `00`) or national with a trunk `0`.
    Phone,
    /// A US social security number (`AAA-GG-SSSS`, valid area, group and serial).
    Ssn,
    /// A payment card number: 12 to 19 digits, a known issuer prefix and a valid Luhn check.
    CreditCard,
    /// An IBAN with a valid ISO 13616 mod-97 check.
    Iban,
    /// An IPv4 or IPv6 address.
    Ip,
    /// A JSON Web Token.
    Jwt,
    /// A secret: cloud access keys, API tokens, bearer tokens, private-key blocks.
    Secret,
}

impl Builtin {
    /// Every built-in detector, in priority order: where two find the same span, the earlier
    /// wins (an SSN is also shaped like a phone number).
    pub const ALL: [Builtin; 8] = [
        Builtin::Secret,
        Builtin::Jwt,
        Builtin::Email,
        Builtin::Iban,
        Builtin::CreditCard,
        Builtin::Ssn,
        Builtin::Ip,
        Builtin::Phone,
    ];

    /// The name used in policies and redaction marks.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Email => "email",
            Builtin::Phone => "phone",
            Builtin::Ssn => "ssn",
            Builtin::CreditCard => "credit_card",
            Builtin::Iban => "iban",
            Builtin::Ip => "ip",
            Builtin::Jwt => "jwt",
            Builtin::Secret => "secret",
        }
    }

    /// The detector of a policy name.
    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The typed placeholder a masked match becomes.
    pub fn placeholder(self) -> &'static str {
        match self {
            Builtin::Email => "[EMAIL]",
            Builtin::Phone => "[PHONE]",
            Builtin::Ssn => "[SSN]",
            Builtin::CreditCard => "[CC]",
            Builtin::Iban => "[IBAN]",
            Builtin::Ip => "[IP]",
            Builtin::Jwt => "[JWT]",
            Builtin::Secret => "[SECRET]",
        }
    }

    /// Candidate patterns, each with its validator.
    pub(crate) fn patterns(self) -> Vec<(&'static str, Validator)> {
        match self {
            Builtin::Email => vec![(
                r"[\p{L}\p{N}._%+\-]+@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*\.\p{L}{2,}",
                always,
            )],
            Builtin::Phone => vec![
                // North American: (555) 123-4567, 555.123.4567x89, +1-555-123-4567, 001-555-….
                (
                    r"(?:\+1[-. ]?|(?-u:\b)001[-. ]?)?\([0-9]{3}\)[-. ]?[0-9]{3}[-. ]?[0-9]{4}(?:(?:x|ext\.? ?)[0-9]{1,5})?(?-u:\b)",
                    always,
                ),
                (
                    r"(?:\+1[-. ]?|(?-u:\b)001[-. ]?|(?-u:\b))[0-9]{3}[-. ][0-9]{3}[-. ][0-9]{4}(?:(?:x|ext\.? ?)[0-9]{1,5})?(?-u:\b)",
                    always,
                ),
                // Ten bare digits in the North American plan (area and exchange start 2–9).
                (r"(?-u:\b)[2-9][0-9]{2}[2-9][0-9]{6}(?-u:\b)", always),
                // International: +44 20 7946 0958, +49 (0) 9141 777631, 0033 1 83 41 77 76.
                (
                    r"(?:\+|(?-u:\b)00)[1-9][0-9]{0,2}(?:[ \-.]?\(0\))?(?:[ \-./]?\(?[0-9]{1,6}\)?){1,6}(?:(?:x|ext\.? ?)[0-9]{1,5})?(?-u:\b)",
                    phone_international,
                ),
                // National with a trunk 0: (0161) 496 0066, 03662 585178, 04 15 39 15 00,
                // 0649012222.
                (r"(?-u:\b)0[0-9]{8,11}(?-u:\b)", phone_national),
                (
                    r"(?:\(0[0-9]{1,5}\)[ \-./]?|(?-u:\b)0[0-9]{1,5}[ \-./])[0-9]{2,8}(?:[ \-./][0-9]{2,8}){0,4}(?-u:\b)",
                    phone_national,
                ),
            ],
            Builtin::Ssn => vec![(r"(?-u:\b)[0-9]{3}-[0-9]{2}-[0-9]{4}(?-u:\b)", ssn)],
            Builtin::CreditCard => vec![(r"(?-u:\b)[0-9](?:[ \-]?[0-9]){11,18}(?-u:\b)", card)],
            Builtin::Iban => vec![(
                r"(?-u:\b)[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}(?-u:\b)",
                iban,
            )],
            Builtin::Ip => vec![
                (
                    r"(?-u:\b)(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?-u:\b)",
                    ipv4,
                ),
                (
                    r"(?:[0-9A-Fa-f]{1,4}:|:(?::|[0-9A-Fa-f]))[0-9A-Fa-f:.]{2,43}",
                    ipv6,
                ),
            ],
            Builtin::Jwt => vec![(
                r"eyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{8,}",
                always,
            )],
            Builtin::Secret => vec![
                (
                    r"(?-u:\b)(?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA)[0-9A-Z]{16}(?-u:\b)",
                    always,
                ),
                (r"(?-u:\b)gh[pousr]_[A-Za-z0-9]{36,255}(?-u:\b)", always),
                (r"(?-u:\b)github_pat_[A-Za-z0-9_]{60,255}", always),
                (r"(?-u:\b)xox[abposr]-[A-Za-z0-9\-]{10,}", always),
                (r"(?-u:\b)AIza[0-9A-Za-z_\-]{35}", always),
                (r"(?-u:\b)(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}", always),
                (r"(?-u:\b)sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}", always),
                (r"(?i-u:bearer)[ \t]+[A-Za-z0-9\-._~+/]{16,}=*", always),
                (
                    r"-----BEGIN[A-Z ]{0,20} PRIVATE KEY-----(?s:.)*?-----END[A-Z ]{0,20} PRIVATE KEY-----",
                    always,
                ),
            ],
        }
    }
}

/// A cheap test a string must pass before a detector's patterns run on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Gate {
    /// An ASCII digit.
    Digit,
    /// An `@`.
    At,
    /// A `:`.
    Colon,
    /// The start of a JWT, `eyJ`.
    Jwt,
    /// One of the secrets' literal prefixes.
    Secret,
    /// None: always run (custom patterns).
    Always,
}

impl Builtin {
    /// The gate of this detector's patterns.
    pub(crate) fn gate(self) -> Gate {
        match self {
            Builtin::Email => Gate::At,
            Builtin::Phone | Builtin::Ssn | Builtin::CreditCard | Builtin::Iban => Gate::Digit,
            // IPv4 needs digits, IPv6 a colon: the IP detector's two patterns gate apart.
            Builtin::Ip => Gate::Digit,
            Builtin::Jwt => Gate::Jwt,
            Builtin::Secret => Gate::Secret,
        }
    }

    /// The gate of pattern `index` of [`Builtin::patterns`].
    pub(crate) fn pattern_gate(self, index: usize) -> Gate {
        match (self, index) {
            (Builtin::Ip, 1) => Gate::Colon,
            _ => self.gate(),
        }
    }
}

/// Literal prefixes of the secret patterns, for their gate.
/// Plain literals only, so that the regex engine searches them all at once (SIMD).
pub(crate) const SECRET_HINTS: &str = r"AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|xox|AIza|k_live_|k_test_|sk-|earer|EARER|-----BEGIN";

/// Decides whether a candidate match (`text[start..end]`) is real.
pub(crate) type Validator = fn(text: &str, start: usize, end: usize) -> bool;

fn always(_: &str, _: usize, _: usize) -> bool {
    true
}

fn digits(s: &str) -> impl Iterator<Item = u32> + '_ {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| u32::from(b - b'0'))
}

/// The part before an extension (`x123`, `ext. 12`).
fn without_extension(s: &str) -> &str {
    match s.find(['x', 'e']) {
        Some(i) => &s[..i],
        None => s,
    }
}

fn phone_international(text: &str, start: usize, end: usize) -> bool {
    let m = without_extension(&text[start..end]);
    let n = digits(m).count();
    // E.164 allows 15 digits; with a 00 prefix, two more.
    let max = if m.starts_with("00") { 17 } else { 15 };
    (8..=max).contains(&n)
}

fn phone_national(text: &str, start: usize, end: usize) -> bool {
    let m = &text[start..end];
    let n = digits(m).count();
    // Dates (2024-01-31 has no trunk 0, but 01.02.2024 does) are not phones; 03-1234-5678 is.
    let date_like = {
        let parts: Vec<&str> = m.split(['.', '/', '-']).collect();
        let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
        parts.len() == 3 && matches!(lens.as_slice(), [4, 1 | 2, 1 | 2] | [1 | 2, 1 | 2, 2 | 4])
    };
    (9..=12).contains(&n) && !date_like
}

fn ssn(text: &str, start: usize, end: usize) -> bool {
    let s = &text[start..end];
    let (area, group, serial) = (&s[0..3], &s[4..6], &s[7..11]);
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

fn luhn(d: &[u32]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| match (i % 2 == 1, x * 2) {
            (true, y) if y > 9 => y - 9,
            (true, y) => y,
            (false, _) => x,
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A number is a card only with a known issuer prefix (IIN), a length the issuer uses and a
/// valid Luhn check: millisecond timestamps and order numbers pass Luhn one time in ten.
fn card(text: &str, start: usize, end: usize) -> bool {
    let d: Vec<u32> = digits(&text[start..end]).collect();
    let p2 = d[0] * 10 + d[1];
    let p4 = p2 * 100 + d[2] * 10 + d[3];
    let len = d.len();
    let issuer = match d[0] {
        4 => matches!(len, 13 | 16 | 19), // Visa
        3 => {
            matches!(p2, 34 | 37) && len == 15                        // Amex
            || matches!(p2, 30 | 36 | 38 | 39) && (14..=19).contains(&len) // Diners
            || p2 == 35 && (16..=19).contains(&len)
        } // JCB
        5 => {
            (51..=55).contains(&p2) && len == 16 // Mastercard
            || matches!(p2, 50 | 56..=58) && (12..=19).contains(&len)
        } // Maestro
        2 => {
            (2221..=2720).contains(&p4) && len == 16 // Mastercard 2-series
            || p4 == 2131 && len == 15
        } // JCB (15 digits)
        1 => p4 == 1800 && len == 15,     // JCB (15 digits)
        0 => p4 == 604 && (12..=19).contains(&len), // Maestro 0604
        6 => (12..=19).contains(&len),    // Discover, Maestro, UnionPay, RuPay
        _ => false,
    };
    issuer && luhn(&d)
}

/// ISO 13616: move the country code and check digits to the end, letters to 10–35, mod 97 = 1.
fn iban(text: &str, start: usize, end: usize) -> bool {
    let s: Vec<u8> = text[start..end].bytes().filter(|b| *b != b' ').collect();
    if !(15..=34).contains(&s.len()) {
        return false;
    }
    let mut rem: u32 = 0;
    for &b in s[4..].iter().chain(&s[..4]) {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// Dotted quads after a `v` or inside a longer dotted run are versions, not addresses.
fn ipv4(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].bytes().next_back();
    let rest = &text.as_bytes()[end..];
    let dotted_on = rest.len() >= 2 && rest[0] == b'.' && rest[1].is_ascii_digit();
    let word = text[..start]
        .trim_end()
        .rsplit(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let versioned = matches!(
        word.as_str(),
        "version" | "build" | "release" | "ver" | "rev"
    );
    !matches!(before, Some(b'v' | b'V' | b'.')) && !dotted_on && !versioned
}

/// A candidate is an IPv6 address if it parses as one (an embedded IPv4 tail included) and is not
/// a clock time or a bare `::`.
fn ipv6(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].bytes().next_back();
    if before.is_some_and(|b| b.is_ascii_hexdigit() || b == b':') {
        return false;
    }
    let m = text[start..end].trim_end_matches('.');
    m.len() >= 6 && m.parse::<Ipv6Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(v: Validator, s: &str) -> bool {
        v(s, 0, s.len())
    }

    #[test]
    fn validators() {
        assert!(check(card, "4111 1111 1111 1111"));
        assert!(!check(card, "4111 1111 1111 1112"), "Luhn");
        assert!(
            !check(card, "1732440000000"),
            "a millisecond timestamp is no card"
        );
        assert!(check(iban, "DE89370400440532013000"));
        assert!(check(iban, "GB82 WEST 1234 5698 7654 32"));
        assert!(!check(iban, "DE89370400440532013001"), "mod 97");
        assert!(check(ssn, "123-45-6789"));
        assert!(!check(ssn, "666-45-6789"));
        assert!(check(ipv6, "2001:db8::1"));
        assert!(!check(ipv6, "10:15:00"));
        assert!(!check(phone_national, "01.02.2024"));
        assert!(check(phone_national, "(0161) 4960066"));
    }
}
