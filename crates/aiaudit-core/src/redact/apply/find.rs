//! Finding candidates: the gates, the pattern sets, whole tokens, checksums and context.

use super::{Pattern, Redactor, Rule};
use crate::redact::context::{
    glued, labelled_not_pii, path_says_not_pii, path_says_phone, phone_context,
};
use crate::redact::detectors::{Gate, Verdict};

/// Why a span was taken, for `aiaudit redact --explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    /// The detector's own check passed (a checksum, a shape, a parse).
    Check(&'static str),
    /// A bare digit run, with a phone word near it in the text.
    Nearby(&'static str),
    /// A bare digit run, with a phone word in its field's name.
    Field(&'static str),
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Check(s) => f.write_str(s),
            Why::Nearby(w) => write!(f, "a bare digit run with the phone word \"{w}\" near it"),
            Why::Field(w) => write!(f, "a bare digit run in a field whose name says \"{w}\""),
        }
    }
}

/// A validated match: `text[start..end]`, found by rule `rule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
    pub rule: usize,
    pub why: Why,
}

impl Redactor {
    /// Non-overlapping validated matches in `s`, in order. `path` is the field the string is
    /// the value of (its name can say "phone"). In an object key (`in_key`), JWTs and secrets
    /// are not looked for: keys are identifiers.
    ///
    /// A number detector's match must be a whole token (see `context::glued`); a bare digit run
    /// is a phone only in a phone's context; and no phone or SSN is taken from inside a number
    /// that was considered as a card or an IBAN and failed its checksum.
    pub(super) fn find(&self, s: &str, in_key: bool, path: Option<&str>) -> Vec<Span> {
        // Cheap scans decide which groups can match at all (SIMD searches for `@` and `:`, a
        // vectorised digit count), so that most strings never reach a regex.
        let b = s.as_bytes();
        // A key (short, and searched for no JWT or secret) without an `@`, a `:` or a digit
        // meets no group but the custom one: one plain pass decides.
        if in_key
            && !self.has_custom
            && !b
                .iter()
                .any(|&c| c == b'@' || c == b':' || c.is_ascii_digit())
        {
            return Vec::new();
        }
        let at = memchr::memchr(b'@', b).is_some();
        let colon = memchr::memchr(b':', b).is_some();
        let digit = numeric_gate(b);
        let mut spans: Vec<Span> = Vec::new();
        // Numbers considered as cards or IBANs whose checksum failed, with the rule that failed.
        let mut failed: Vec<(usize, usize, usize)> = Vec::new();
        // The field's phone word, looked up once and only if a bare digit run needs it.
        let mut field_word: Option<Option<&'static str>> = None;
        for g in &self.groups {
            let open = match g.gate {
                Gate::Digit => digit,
                Gate::At => at,
                Gate::Colon => colon,
                Gate::Jwt => !in_key && s.contains("eyJ"),
                // Every secret pattern is at least 14 bytes long.
                Gate::Secret => !in_key && s.len() >= 14 && self.secret_hints.is_match(s),
                Gate::Always => true,
            };
            if !open {
                continue;
            }
            let hit = g.set.matches(s);
            for i in hit.iter() {
                let p = &self.patterns[g.members[i]];
                let mut at = 0;
                while at <= s.len() {
                    let Some(m) = p.re.find_at(s, at) else { break };
                    let (a, b) = (m.start(), m.end());
                    if a == b {
                        at = next_char(s, b);
                        continue;
                    }
                    if p.whole_token && glued(s, a, b) {
                        // Part of a longer identifier; a token of its own may start later.
                        at = next_char(s, a);
                        continue;
                    }
                    let mut verdict = (p.valid)(s, a, b);
                    // A plain run of digits labelled as an identifier or a quantity
                    // (`span_id=…`, `rows_scanned=…`, a `bytes` field) is what its label says.
                    if p.whole_token
                        && matches!(verdict, Verdict::Yes(_) | Verdict::IfContext)
                        && s.as_bytes()[a..b].iter().all(u8::is_ascii_digit)
                        && (labelled_not_pii(s, a) || path.is_some_and(path_says_not_pii))
                    {
                        verdict = Verdict::No;
                    }
                    let why = match verdict {
                        Verdict::Yes(why) => Some(Why::Check(why)),
                        Verdict::IfContext => {
                            phone_context(s, a, b).map(Why::Nearby).or_else(|| {
                                let w = *field_word
                                    .get_or_insert_with(|| path.and_then(path_says_phone));
                                w.map(Why::Field)
                            })
                        }
                        Verdict::No | Verdict::Failed => None,
                    };
                    if let Some(why) = why {
                        spans.push(Span {
                            start: a,
                            end: b,
                            rule: p.rule,
                            why,
                        });
                        at = b;
                    } else if let Some((e, why)) = shorter(p, s, a, b) {
                        // A card followed by its CVV, an address followed by a colon: the
                        // rejected candidate holds a valid shorter one.
                        spans.push(Span {
                            start: a,
                            end: e,
                            rule: p.rule,
                            why: Why::Check(why),
                        });
                        at = e;
                    } else if verdict == Verdict::Failed {
                        failed.push((a, b, p.rule));
                        at = b;
                    } else {
                        // A valid match may start inside a rejected one.
                        at = next_char(s, a);
                    }
                }
            }
        }
        if spans.is_empty() {
            return spans;
        }
        if !failed.is_empty() {
            let builtin = |rule: usize| match &self.rules[rule].0 {
                Rule::Builtin(b) => Some(*b),
                Rule::Custom { .. } => None,
            };
            spans.retain(|sp| {
                !failed.iter().any(|&(a, b, rule)| {
                    sp.start < b
                        && a < sp.end
                        && matches!((builtin(sp.rule), builtin(rule)), (Some(x), Some(y)) if x.yields_to(y))
                })
            });
        }
        // Earliest first, longest first at one start, then the earlier rule. An overlapping
        // span is merged into the one before it (which keeps its rule), so that no part of
        // either is left in clear.
        spans.sort_by(|a, b| {
            a.start
                .cmp(&b.start)
                .then(b.end.cmp(&a.end))
                .then(a.rule.cmp(&b.rule))
        });
        let mut kept: Vec<Span> = Vec::with_capacity(spans.len());
        for sp in spans {
            match kept.last_mut() {
                Some(k) if sp.start < k.end => k.end = k.end.max(sp.end),
                _ => kept.push(sp),
            }
        }
        kept
    }
}

/// The byte index of the character after the one at `i`.
pub(super) fn next_char(s: &str, i: usize) -> usize {
    s[i..]
        .chars()
        .next()
        .map_or(s.len() + 1, |c| i + c.len_utf8())
}

/// The longest valid candidate of pattern `p` that starts at `a` and ends before `b` at a
/// separator, trying at most eight cut points from the right; a whole token where the pattern
/// needs one. Only a detector's own check counts here, never context.
fn shorter(p: &Pattern, s: &str, a: usize, b: usize) -> Option<(usize, &'static str)> {
    let bytes = s.as_bytes();
    (a + 1..b)
        .rev()
        .filter(|&i| matches!(bytes[i], b' ' | b'-' | b':' | b'.' | b'/'))
        .take(8)
        .find_map(|e| {
            let whole =
                p.re.find_at(&s[..e], a)
                    .is_some_and(|m| m.start() == a && m.end() == e)
                    && !(p.whole_token && glued_end(s, e));
            match (whole, (p.valid)(s, a, e)) {
                (true, Verdict::Yes(why)) => Some((e, why)),
                _ => None,
            }
        })
}

/// Whether a shortened candidate ending at `e` runs on into an identifier (`4111 1111 1111
/// 1111-x`): the separator at `e` joins it to a letter or digit.
fn glued_end(s: &str, e: usize) -> bool {
    let t = s.as_bytes();
    matches!(t[e], b'-' | b'.' | b'/')
        && t.get(e + 1)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Whether a number detector could match: they need a run of at least 7 digits (phones, SSNs,
/// cards) or 4 digits among 3 dots (IPv4), where a run is digits joined by separators and starts
/// at a word boundary (every number pattern begins with `\b`, `+` or `(`), or an IBAN's start
/// (two capitals and two digits at a word boundary). `user-0042`, `2.3.0`, `req-000123` and hex
/// hashes have none, and skip the number patterns entirely.
fn numeric_gate(b: &[u8]) -> bool {
    // Most text has no digit at all: a branch-free test per 32 bytes (which vectorises) skips
    // the byte-by-byte scan below for it.
    let any_digit = b
        .chunks(32)
        .any(|c| c.iter().fold(false, |a, x| a | x.is_ascii_digit()));
    if !any_digit {
        return false;
    }
    let (mut digits, mut dots) = (0u32, 0u32);
    // Inside a word that began with a letter: its digits cannot start a match.
    let mut glued = false;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'0'..=b'9' if !glued => digits += 1,
            b'0'..=b'9' => {}
            b'.' | b' ' | b'-' | b'(' | b')' | b'/' | b'+' => {
                dots += u32::from(c == b'.');
                glued = false;
            }
            b'A'..=b'Z' if !glued && i + 3 < b.len() => {
                if b[i + 1].is_ascii_uppercase()
                    && b[i + 2].is_ascii_digit()
                    && b[i + 3].is_ascii_digit()
                {
                    return true;
                }
                glued = true;
                digits = 0;
                dots = 0;
            }
            _ if c.is_ascii_alphanumeric() || c == b'_' => {
                glued = true;
                digits = 0;
                dots = 0;
            }
            _ => {
                glued = false;
                digits = 0;
                dots = 0;
            }
        }
        if digits >= 7 || (digits >= 4 && dots >= 3) {
            return true;
        }
    }
    false
}
