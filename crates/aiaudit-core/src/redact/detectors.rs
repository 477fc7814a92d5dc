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
                email,
            )],
            Builtin::Phone => vec![
                // North American: (555) 123-4567, 555.123.4567x89, +1-555-123-4567, 001-555-….
                (
                    r"(?:\+1[-. ]?|(?-u:\b)001[-. ]?)?\([0-9]{3}\)[-. ]?[0-9]{3}[-. ]?[0-9]{4}(?:(?:x|ext\.? ?)[0-9]{1,5})?(?-u:\b)",
                    phone_written,
                ),
                (
                    r"(?:\+1[-. ]?|(?-u:\b)001[-. ]?|(?-u:\b))[0-9]{3}[-. ][0-9]{3}[-. ][0-9]{4}(?:(?:x|ext\.? ?)[0-9]{1,5})?(?-u:\b)",
                    phone_written,
                ),
                // Ten bare digits in the North American plan (area and exchange start 2–9):
                // a phone only in a phone's context.
                (r"(?-u:\b)[2-9][0-9]{2}[2-9][0-9]{6}(?-u:\b)", phone_bare),
                // International: +44 20 7946 0958, +49 (0) 9141 777631, 0033 1 83 41 77 76.
                (
                    r"(?:\+|(?-u:\b)00)[1-9][0-9]{0,2}(?:[ \-.]?\(0\))?(?:[ \-./]?\(?[0-9]{1,6}\)?){1,6}(?:(?:x|ext\.? ?)[0-9]{1,5})?(?-u:\b)",
                    phone_international,
                ),
                // National with a trunk 0: (0161) 496 0066, 03662 585178, 04 15 39 15 00,
                // 0649012222 (bare: only in a phone's context).
                (r"(?-u:\b)0[0-9]{8,11}(?-u:\b)", phone_national_bare),
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
                jwt,
            )],
            Builtin::Secret => vec![
                (
                    r"(?-u:\b)(?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA)[0-9A-Z]{16}(?-u:\b)",
                    secret,
                ),
                (r"(?-u:\b)gh[pousr]_[A-Za-z0-9]{36,255}(?-u:\b)", secret),
                (r"(?-u:\b)github_pat_[A-Za-z0-9_]{60,255}", secret),
                (r"(?-u:\b)xox[abposr]-[A-Za-z0-9\-]{10,}", secret),
                (r"(?-u:\b)AIza[0-9A-Za-z_\-]{35}", secret),
                (r"(?-u:\b)(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}", secret),
                (r"(?-u:\b)sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}", secret),
                (r"(?i-u:bearer)[ \t]+[A-Za-z0-9\-._~+/]{16,}=*", secret),
                (
                    r"-----BEGIN[A-Z ]{0,20} PRIVATE KEY-----(?s:.)*?-----END[A-Z ]{0,20} PRIVATE KEY-----",
                    secret,
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

    /// Whether a match must be a whole token: the number detectors, whose digits inside a
    /// longer identifier (a UUID's groups, a span id, a build number, a path segment) are part
    /// of that identifier, not a number of their own.
    pub(crate) fn whole_token(self) -> bool {
        matches!(
            self,
            Builtin::Phone | Builtin::Ssn | Builtin::CreditCard | Builtin::Iban
        )
    }

    /// Whether this detector's finds inside a number that `other` considered and rejected by
    /// its checksum are dropped: a phone or SSN inside a rejected card or IBAN, a card inside a
    /// rejected IBAN.
    pub(crate) fn yields_to(self, other: Builtin) -> bool {
        match self {
            Builtin::Phone | Builtin::Ssn => true,
            Builtin::CreditCard => other == Builtin::Iban,
            _ => false,
        }
    }
}

/// Literal prefixes of the secret patterns, for their gate.
/// Plain literals only, so that the regex engine searches them all at once (SIMD).
pub(crate) const SECRET_HINTS: &str = r"AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|xox|AIza|k_live_|k_test_|sk-|earer|EARER|-----BEGIN";

/// What a validator says of a candidate match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not what the detector looks for.
    No,
    /// The detector's shape, but its checksum failed: the number was considered as a card or
    /// an IBAN and rejected, so no other number detector may take it in pieces.
    Failed,
    /// Found, and why (for `aiaudit redact --explain`).
    Yes(&'static str),
    /// A bare digit run: a phone only where the text near it or the field's name says so.
    IfContext,
}

/// Decides whether a candidate match (`text[start..end]`) is real.
pub(crate) type Validator = fn(text: &str, start: usize, end: usize) -> Verdict;

pub(crate) fn always(_: &str, _: usize, _: usize) -> Verdict {
    Verdict::Yes("matched the pattern")
}

fn email(_: &str, _: usize, _: usize) -> Verdict {
    Verdict::Yes("an e-mail address")
}

fn jwt(_: &str, _: usize, _: usize) -> Verdict {
    Verdict::Yes("a JSON Web Token: three base64url parts, the first two JSON objects")
}

fn secret(_: &str, _: usize, _: usize) -> Verdict {
    Verdict::Yes("the format of a known access key, API token, bearer token or private key")
}

fn phone_written(_: &str, _: usize, _: usize) -> Verdict {
    Verdict::Yes("written as a phone number (grouped with separators)")
}

fn phone_bare(_: &str, _: usize, _: usize) -> Verdict {
    Verdict::IfContext
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

fn phone_international(text: &str, start: usize, end: usize) -> Verdict {
    let m = without_extension(&text[start..end]);
    let n = digits(m).count();
    // E.164 allows 15 digits; with a 00 prefix, two more.
    let max = if m.starts_with("00") { 17 } else { 15 };
    if !(8..=max).contains(&n) {
        Verdict::No
    } else if m.starts_with("00") && n == m.len() {
        // 00 and digits with no separator: as likely a zero-padded id as a number dialled
        // abroad.
        Verdict::IfContext
    } else {
        Verdict::Yes("an international prefix (+ or 00) and an E.164 length")
    }
}

/// Dates (2024-01-31 has no trunk 0, but 01.02.2024 does) are not phones; 03-1234-5678 is.
fn national_shape(m: &str) -> bool {
    let n = digits(m).count();
    let mut lens = [0usize; 4];
    let mut parts = 0;
    for p in m.split(['.', '/', '-']) {
        if parts < 4 {
            lens[parts] = p.len();
        }
        parts += 1;
    }
    let date_like = parts == 3 && matches!(&lens[..3], [4, 1 | 2, 1 | 2] | [1 | 2, 1 | 2, 2 | 4]);
    (9..=12).contains(&n) && !date_like
}

fn phone_national(text: &str, start: usize, end: usize) -> Verdict {
    if national_shape(&text[start..end]) {
        Verdict::Yes("a national number: a trunk 0, then groups with separators")
    } else {
        Verdict::No
    }
}

fn phone_national_bare(text: &str, start: usize, end: usize) -> Verdict {
    if national_shape(&text[start..end]) {
        Verdict::IfContext
    } else {
        Verdict::No
    }
}

fn ssn(text: &str, start: usize, end: usize) -> Verdict {
    let s = &text[start..end];
    let (area, group, serial) = (&s[0..3], &s[4..6], &s[7..11]);
    if area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
    {
        Verdict::Yes("an SSN's shape with a valid area, group and serial")
    } else {
        Verdict::No
    }
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

/// How the digits of a card candidate are written.
#[derive(Debug, PartialEq, Eq)]
enum Grouping {
    /// One run of digits.
    Contiguous,
    /// The groups cards are printed in (4-4-4-4, 4-4-4-4-1..3, 4-4-4-1..3, Amex 4-6-5, Diners
    /// 4-6-4), with
    /// one separator throughout.
    Card,
    /// Anything else (3-3-4 phone groups, mixed separators).
    Other,
}

fn grouping(m: &str) -> Grouping {
    let mut lens = [0u8; 20];
    let (mut groups, mut sep) = (0usize, None);
    for b in m.bytes() {
        if b.is_ascii_digit() {
            if groups < lens.len() {
                lens[groups] += 1;
            }
        } else {
            if sep.is_some_and(|s| s != b) {
                return Grouping::Other;
            }
            sep = Some(b);
            groups += 1;
        }
    }
    let lens = &lens[..(groups + 1).min(lens.len())];
    match lens {
        [_] => Grouping::Contiguous,
        [4, 4, 4, 4] | [4, 4, 4, 4, 1..=3] | [4, 4, 4, 1..=3] | [4, 6, 5] | [4, 6, 4] => {
            Grouping::Card
        }
        _ => Grouping::Other,
    }
}

/// A number is a card only with a known issuer prefix (IIN), a length the issuer uses and a
/// valid Luhn check: millisecond timestamps and order numbers pass Luhn one time in ten. A
/// number printed in a card's groups, or one with an issuer's prefix and length, that fails is
/// [`Verdict::Failed`]: it was considered as a card.
fn card(text: &str, start: usize, end: usize) -> Verdict {
    let m = &text[start..end];
    let mut d = [0u32; 19];
    let mut len = 0;
    for x in digits(m) {
        if len == d.len() {
            return Verdict::No;
        }
        d[len] = x;
        len += 1;
    }
    if len < 12 {
        return Verdict::No;
    }
    let d = &d[..len];
    let p2 = d[0] * 10 + d[1];
    let p4 = p2 * 100 + d[2] * 10 + d[3];
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
        6 => match p2 {
            63 | 67 => (12..=19).contains(&len), // Maestro 6304, 6390, 6759, 676x
            60 | 62 | 64 | 65 => (16..=19).contains(&len), // Discover, UnionPay, RuPay
            _ => false,
        },
        _ => false,
    };
    let shape = grouping(m);
    match (issuer && luhn(d), issuer, shape) {
        (true, _, _) => Verdict::Yes("an issuer's prefix and length, and a valid Luhn check"),
        // Printed in a card's groups, or a run of a card's length (no phone has 16 digits), or
        // with an issuer's prefix: considered as a card, and rejected.
        (false, _, Grouping::Card) | (false, true, Grouping::Contiguous) => Verdict::Failed,
        (false, false, Grouping::Contiguous) if len >= 16 => Verdict::Failed,
        _ => Verdict::No,
    }
}

/// The length of an IBAN in each country of the SWIFT IBAN registry.
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// ISO 13616: the country's length, then the country code and check digits moved to the end,
/// letters to 10–35, mod 97 = 1. A candidate of a registered country that fails is
/// [`Verdict::Failed`]; one of the wrong length, or of no registered country, is no IBAN.
fn iban(text: &str, start: usize, end: usize) -> Verdict {
    let s = &text.as_bytes()[start..end];
    let n = s.iter().filter(|b| **b != b' ').count();
    let want = IBAN_LENGTHS
        .iter()
        .find(|(cc, _)| s.len() >= 2 && cc[..] == s[..2])
        .map(|(_, len)| *len);
    if want != Some(n) {
        // A registered country's shape of another length was still considered as an IBAN.
        return if want.is_some() && (15..=34).contains(&n) {
            Verdict::Failed
        } else {
            Verdict::No
        };
    }
    let mut rem: u32 = 0;
    let compact = s.iter().copied().filter(|b| *b != b' ');
    for b in compact.clone().skip(4).chain(compact.take(4)) {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return Verdict::No,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    if rem == 1 {
        Verdict::Yes("an IBAN's shape with a valid ISO 13616 mod-97 check")
    } else {
        Verdict::Failed
    }
}

/// Dotted quads after a `v` or inside a longer dotted run are versions, not addresses.
fn ipv4(text: &str, start: usize, end: usize) -> Verdict {
    let before = text[..start].bytes().next_back();
    let rest = &text.as_bytes()[end..];
    let dotted_on = rest.len() >= 2 && rest[0] == b'.' && rest[1].is_ascii_digit();
    let word = text[..start]
        .trim_end()
        .rsplit(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    let versioned = ["version", "build", "release", "ver", "rev"]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(word));
    if !matches!(before, Some(b'v' | b'V' | b'.')) && !dotted_on && !versioned {
        Verdict::Yes("an IPv4 address")
    } else {
        Verdict::No
    }
}

/// A candidate is an IPv6 address if it parses as one (an embedded IPv4 tail included) and is not
/// a clock time or a bare `::`.
fn ipv6(text: &str, start: usize, end: usize) -> Verdict {
    let before = text[..start].bytes().next_back();
    if before.is_some_and(|b| b.is_ascii_hexdigit() || b == b':') {
        return Verdict::No;
    }
    let m = text[start..end].trim_end_matches('.');
    if m.len() >= 6 && m.parse::<Ipv6Addr>().is_ok() {
        Verdict::Yes("parses as an IPv6 address")
    } else {
        Verdict::No
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(v: Validator, s: &str) -> bool {
        matches!(v(s, 0, s.len()), Verdict::Yes(_))
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
        // Considered as a card and rejected: card groups, or an issuer's prefix and length.
        assert_eq!(card("2272 0551 2345 6789", 0, 19), Verdict::Failed);
        assert_eq!(card("9272-0551-2345-6789", 0, 19), Verdict::Failed);
        assert_eq!(card("4111111111111112", 0, 16), Verdict::Failed);
        assert_eq!(
            card("0049301234567", 0, 13),
            Verdict::No,
            "a phone, not a card"
        );
        assert_eq!(card("555 123 4567 1234", 0, 17), Verdict::No);
        assert_eq!(iban("DE89370400440532013001", 0, 22), Verdict::Failed);
        assert_eq!(phone_bare("5551234567", 0, 10), Verdict::IfContext);
    }
}
