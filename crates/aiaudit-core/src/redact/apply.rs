//! A compiled policy, applied to an event's name and details.

use hmac::{Hmac, Mac};
use regex::{Regex, RegexSet};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use std::borrow::Cow;
use std::collections::BTreeMap;

use super::crypto::{self, SubjectKeys};
use super::detectors::{Builtin, Gate, SECRET_HINTS, Validator};
use super::policy::{Action, Policy};
use crate::error::{Error, Result};

/// Strings shorter than this hold nothing any detector finds (`a@b.co` is six bytes).
const MIN_LEN: usize = 6;

#[derive(Debug, Clone)]
enum Rule {
    Builtin(Builtin),
    Custom { name: String, placeholder: String },
}

impl Rule {
    fn name(&self) -> &str {
        match self {
            Rule::Builtin(b) => b.name(),
            Rule::Custom { name, .. } => name,
        }
    }
    fn placeholder(&self) -> &str {
        match self {
            Rule::Builtin(b) => b.placeholder(),
            Rule::Custom { placeholder, .. } => placeholder,
        }
    }
}

struct Pattern {
    re: Regex,
    valid: Validator,
    rule: usize,
}

struct Field {
    /// Lower-case segments; one segment means "this key name at any depth".
    segments: Vec<String>,
    /// A single segment without wildcards: compared as a name, no glob.
    exact: bool,
    action: Action,
    text: String,
}

/// Patterns that run only on strings that pass one gate, searched together by one set.
struct Group {
    gate: Gate,
    set: RegexSet,
    /// Indices into `Redactor::patterns`, in set order.
    members: Vec<usize>,
}

/// A compiled redaction policy. Cheap to share; `redact` takes `&self`.
pub struct Redactor {
    enabled: bool,
    /// The policy has custom detectors, which may match anything, however short.
    has_custom: bool,
    /// Field rules that name one key without wildcards, by the key's length: most keys meet
    /// none of the same length.
    exact_by_len: Vec<Vec<usize>>,
    /// The other field rules' indices.
    patterned: Vec<usize>,
    groups: Vec<Group>,
    secret_hints: Regex,
    patterns: Vec<Pattern>,
    rules: Vec<(Rule, Action)>,
    fields: Vec<Field>,
    hmac_key: Option<[u8; 32]>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("enabled", &self.enabled)
            .field("rules", &self.rules.len())
            .field("fields", &self.fields.len())
            .finish_non_exhaustive()
    }
}

fn always(_: &str, _: usize, _: usize) -> bool {
    true
}

/// What one call of [`Redactor::redact`] did, per place and rule.
type Marks = BTreeMap<(String, String), (Action, u64, Option<&'static str>)>;

/// The state of one event's redaction: its marks, and its subject's key once fetched.
struct Walk<'a> {
    marks: Marks,
    subject: Option<&'a str>,
    keys: Option<&'a dyn SubjectKeys>,
    key: Option<std::result::Result<[u8; 32], &'static str>>,
}

impl Walk<'_> {
    /// Encrypts `plain` at `path` to the event's subject, or says why it cannot.
    fn encrypt(
        &mut self,
        plain: &[u8],
        path: &str,
        prefix: &str,
    ) -> std::result::Result<String, &'static str> {
        let subject = self.subject.ok_or("the event has no subject")?;
        let keys = self.keys.ok_or("no subject key store")?;
        let key = *self.key.get_or_insert_with(|| {
            keys.key_for(subject)
                .map_err(|_| "the subject key store failed")
        });
        let key = key?;
        crypto::encrypt(&key, subject, path, plain, prefix).map_err(|_| "encryption failed")
    }
}

impl Redactor {
    /// Compiles `policy`. `hmac_key` is the secret of the `hash` action; a policy that hashes
    /// needs one.
    pub fn new(policy: &Policy, hmac_key: Option<[u8; 32]>) -> Result<Redactor> {
        let mut rules: Vec<(Rule, Action)> = Vec::new();
        let mut sources: Vec<(Gate, String)> = Vec::new();
        let mut patterns: Vec<Pattern> = Vec::new();
        let mut add =
            |rule: Rule, action: Action, pats: Vec<(Gate, String, Validator)>| -> Result<()> {
                if action == Action::Keep {
                    return Ok(());
                }
                let idx = rules.len();
                rules.push((rule, action));
                for (gate, src, valid) in pats {
                    let re = Regex::new(&src).map_err(|e| Error::Policy(e.to_string()))?;
                    sources.push((gate, src));
                    patterns.push(Pattern {
                        re,
                        valid,
                        rule: idx,
                    });
                }
                Ok(())
            };
        for b in Builtin::ALL {
            if let Some(a) = policy.detectors.get(b) {
                let pats = b
                    .patterns()
                    .into_iter()
                    .enumerate()
                    .map(|(i, (p, v))| (b.pattern_gate(i), p.to_owned(), v))
                    .collect();
                add(Rule::Builtin(b), a, pats)?;
            }
        }
        for c in &policy.custom {
            let rule = Rule::Custom {
                name: c.name.clone(),
                placeholder: format!("[{}]", c.name.to_ascii_uppercase()),
            };
            let pat = (Gate::Always, c.pattern.clone(), always as Validator);
            add(rule, c.action, vec![pat])?;
        }
        let uses_hash = rules.iter().any(|(_, a)| *a == Action::Hash)
            || policy.fields.iter().any(|f| f.action == Action::Hash);
        if uses_hash && hmac_key.is_none() && policy.enabled {
            return Err(Error::Policy(
                "the policy hashes values, which needs the log's HMAC secret".into(),
            ));
        }
        let mut gates: Vec<Gate> = sources.iter().map(|(g, _)| *g).collect();
        gates.sort();
        gates.dedup();
        let mut groups = Vec::new();
        for gate in gates {
            let members: Vec<usize> = (0..sources.len())
                .filter(|&i| sources[i].0 == gate)
                .collect();
            let set = RegexSet::new(members.iter().map(|&i| &sources[i].1))
                .map_err(|e| Error::Policy(e.to_string()))?;
            groups.push(Group { gate, set, members });
        }
        let secret_hints = Regex::new(SECRET_HINTS).map_err(|e| Error::Policy(e.to_string()))?;
        let fields: Vec<Field> = policy
            .fields
            .iter()
            .map(|f| {
                let segments: Vec<String> =
                    f.path.split('.').map(str::to_ascii_lowercase).collect();
                Field {
                    exact: segments.len() == 1 && !segments[0].contains('*'),
                    segments,
                    action: f.action,
                    text: f.path.clone(),
                }
            })
            .collect();
        let fields: Vec<Field> = fields;
        let mut exact_by_len: Vec<Vec<usize>> = Vec::new();
        let mut patterned = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            if f.exact {
                let len = f.segments[0].len();
                if exact_by_len.len() <= len {
                    exact_by_len.resize(len + 1, Vec::new());
                }
                exact_by_len[len].push(i);
            } else {
                patterned.push(i);
            }
        }
        Ok(Redactor {
            has_custom: !policy.custom.is_empty(),
            enabled: policy.enabled,
            exact_by_len,
            patterned,
            groups,
            secret_hints,
            patterns,
            rules,
            fields,
            hmac_key,
        })
    }

    /// Shorter strings are not searched: 6 bytes for the built-in detectors (`a@b.co`), 1 with
    /// custom ones.
    fn min_len(&self) -> usize {
        if self.has_custom { 1 } else { MIN_LEN }
    }

    /// True when the policy is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn hmac(&self, value: &[u8]) -> String {
        let Some(key) = &self.hmac_key else {
            return "[REDACTED]".to_owned();
        };
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
            Ok(m) => m,
            Err(_) => return "[REDACTED]".to_owned(),
        };
        mac.update(value);
        let tag = mac.finalize().into_bytes();
        format!("hmac:{}", hex::encode(&tag[..16]))
    }

    /// Non-overlapping validated matches in `s`: `(start, end, rule index)`.
    /// In an object key (`in_key`), JWTs and secrets are not looked for: keys are identifiers.
    fn find(&self, s: &str, in_key: bool) -> Vec<(usize, usize, usize)> {
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
        let mut spans = Vec::new();
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
                    if (p.valid)(s, a, b) {
                        spans.push((a, b, p.rule));
                        at = b;
                    } else if let Some(e) = shorter(p, s, a, b) {
                        // A card followed by its CVV, an address followed by a colon: the
                        // rejected candidate holds a valid shorter one.
                        spans.push((a, e, p.rule));
                        at = e;
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
        // Earliest first, longest first at one start, then the earlier rule. An overlapping
        // span is merged into the one before it (which keeps its rule), so that no part of
        // either is left in clear.
        spans.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        let mut kept: Vec<(usize, usize, usize)> = Vec::with_capacity(spans.len());
        for s in spans {
            match kept.last_mut() {
                Some(k) if s.0 < k.1 => k.1 = k.1.max(s.1),
                _ => kept.push(s),
            }
        }
        kept
    }

    /// `s` with `spans` replaced; with a walk, `encrypt` encrypts to the subject (masking where
    /// it cannot) and marks are counted.
    fn rewrite(
        &self,
        s: &str,
        spans: &[(usize, usize, usize)],
        path: &str,
        mut w: Option<&mut Walk<'_>>,
    ) -> String {
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for &(start, end, rule) in spans {
            out.push_str(&s[at..start]);
            let (r, action) = &self.rules[rule];
            let mut done = *action;
            let mut reason = None;
            match action {
                Action::Hash => out.push_str(&self.hmac(&s.as_bytes()[start..end])),
                Action::Drop => {}
                Action::Encrypt => {
                    match w
                        .as_deref_mut()
                        .map(|w| w.encrypt(&s.as_bytes()[start..end], path, crypto::TEXT_PREFIX))
                    {
                        Some(Ok(token)) => {
                            out.push_str(&token);
                            out.push(';');
                        }
                        Some(Err(why)) => {
                            out.push_str(r.placeholder());
                            (done, reason) = (Action::Mask, Some(why));
                        }
                        None => {
                            out.push_str(r.placeholder());
                            (done, reason) = (Action::Mask, Some("no subject key"));
                        }
                    }
                }
                Action::Mask | Action::Keep => out.push_str(r.placeholder()),
            }
            if let Some(w) = w.as_deref_mut() {
                w.marks
                    .entry((path.to_owned(), r.name().to_owned()))
                    .or_insert((done, 0, reason))
                    .1 += 1;
            }
            at = end;
        }
        out.push_str(&s[at..]);
        out
    }

    /// `s` with every detector's finds replaced (masked, hashed or dropped; with no subject
    /// here, `encrypt` masks).
    pub fn redact_str<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if !self.enabled || s.len() < self.min_len() {
            return Cow::Borrowed(s);
        }
        let spans = self.find(s, false);
        if spans.is_empty() {
            Cow::Borrowed(s)
        } else {
            Cow::Owned(self.rewrite(s, &spans, "", None))
        }
    }

    fn string(&self, s: &mut String, path: &str, w: &mut Walk<'_>) {
        if !self.enabled || s.len() < self.min_len() {
            return;
        }
        let spans = self.find(s, false);
        if spans.is_empty() {
            return;
        }
        *s = self.rewrite(s, &spans, path, Some(w));
    }

    /// The first field rule (in policy order) that matches the path in `text`.
    fn field_rule(&self, text: &str, segs: &[(usize, usize)]) -> Option<&Field> {
        let key = segs.last().map_or("", |&(a, b)| &text[a..b]);
        let exact = self.exact_by_len.get(key.len()).and_then(|c| {
            c.iter()
                .copied()
                .find(|&i| self.fields[i].segments[0].eq_ignore_ascii_case(key))
        });
        let patterned = self.patterned.iter().copied().find(|&i| {
            let f = &self.fields[i];
            if f.segments.len() == 1 {
                glob(&f.segments[0], key)
            } else {
                let path: Vec<&str> = segs.iter().map(|&(a, b)| &text[a..b]).collect();
                path_glob(&f.segments, &path)
            }
        });
        match (exact, patterned) {
            (Some(a), Some(b)) => Some(&self.fields[a.min(b)]),
            (a, b) => a.or(b).map(|i| &self.fields[i]),
        }
    }

    fn value(
        &self,
        v: &mut Value,
        segs: &mut Vec<(usize, usize)>,
        text: &mut String,
        w: &mut Walk<'_>,
    ) {
        match v {
            Value::String(s) => self.string(s, text, w),
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let len = text.len();
                    use std::fmt::Write as _;
                    let _ = write!(text, "[{i}]");
                    self.value(item, segs, text, w);
                    text.truncate(len);
                }
            }
            Value::Object(m) => self.object(m, segs, text, w),
            _ => {}
        }
    }

    /// Walks an object; `text` is the path so far (`details.a[2].b`) and `segs` the byte ranges
    /// of its keys in `text`, so that no key is copied.
    fn object(
        &self,
        m: &mut Map<String, Value>,
        segs: &mut Vec<(usize, usize)>,
        text: &mut String,
        w: &mut Walk<'_>,
    ) {
        let mut dropped: Vec<String> = Vec::new();
        let mut renamed: Vec<(String, String)> = Vec::new();
        for (k, v) in m.iter_mut() {
            let len = text.len();
            // A key can hold personal data too (`{"jane@example.com": …}`): it is redacted like
            // text (encryption masks: a key cannot be decrypted in place), and the path, marks
            // included, names the redacted key.
            let shown = self.redact_key(k, text, w);
            text.push('.');
            segs.push((text.len(), text.len() + shown.len()));
            text.push_str(&shown);
            if let Cow::Owned(new) = shown {
                renamed.push((k.clone(), new));
            }
            match self.field_rule(text, segs) {
                Some(f) => {
                    let (mut action, mut reason) = (f.action, None);
                    match action {
                        Action::Keep => {}
                        Action::Encrypt => {
                            let plain = crate::canonical::to_vec(v)
                                .map_err(|_| "the value has no canonical JSON");
                            match plain.and_then(|p| w.encrypt(&p, text, crypto::FIELD_PREFIX)) {
                                Ok(token) => *v = Value::String(token),
                                Err(why) => {
                                    *v = Value::String("[REDACTED]".into());
                                    (action, reason) = (Action::Mask, Some(why));
                                }
                            }
                        }
                        Action::Drop => dropped.push(k.clone()),
                        Action::Mask => *v = Value::String("[REDACTED]".into()),
                        Action::Hash => {
                            let bytes = match &*v {
                                Value::String(s) => s.clone().into_bytes(),
                                other => crate::canonical::to_vec(other).unwrap_or_default(),
                            };
                            *v = Value::String(self.hmac(&bytes));
                        }
                    }
                    if action != Action::Keep {
                        w.marks
                            .insert((text.clone(), f.text.clone()), (action, 1, reason));
                    }
                }
                None => self.value(v, segs, text, w),
            }
            segs.pop();
            text.truncate(len);
        }
        for k in &dropped {
            m.remove(k);
        }
        for (old, new) in renamed {
            if let Some(v) = m.remove(&old) {
                // Two keys redacted alike keep both values: `[EMAIL]`, `[EMAIL]#2`, …
                let mut name = new.clone();
                let mut n = 2;
                while m.contains_key(&name) {
                    name = format!("{new}#{n}");
                    n += 1;
                }
                m.insert(name, v);
            }
        }
    }

    /// `k` with detected items masked or hashed; `parent` is the path of its object.
    fn redact_key<'k>(&self, k: &'k str, parent: &str, w: &mut Walk<'_>) -> Cow<'k, str> {
        if k.len() < self.min_len() {
            return Cow::Borrowed(k);
        }
        let spans = self.find(k, true);
        if spans.is_empty() {
            return Cow::Borrowed(k);
        }
        let mut out = String::with_capacity(k.len());
        let mut at = 0;
        for &(start, end, rule) in &spans {
            out.push_str(&k[at..start]);
            let (r, action) = &self.rules[rule];
            let done = match action {
                Action::Hash => {
                    out.push_str(&self.hmac(&k.as_bytes()[start..end]));
                    Action::Hash
                }
                _ => {
                    out.push_str(r.placeholder());
                    Action::Mask
                }
            };
            w.marks
                .entry((format!("{parent}(key)"), r.name().to_owned()))
                .or_insert((done, 0, None))
                .1 += 1;
            at = end;
        }
        out.push_str(&k[at..]);
        Cow::Owned(out)
    }

    /// Redacts `name` and `details` in place and returns the marks the sealed record keeps:
    /// `{"path", "rule", "action", "count"}` (and `"reason"` where an action fell back), sorted.
    /// With no subject, `encrypt` masks.
    pub fn redact(&self, name: &mut String, details: &mut Map<String, Value>) -> Vec<Value> {
        self.redact_event(name, details, None, None, None)
    }

    /// [`Redactor::redact`] for an event about `subject`, with its `actor.ip`: `encrypt`
    /// encrypts to the subject's key from `keys` (made on first use) and masks where there is
    /// no subject or no key; the detectors also run on `actor_ip` (the default policy hashes
    /// it, as it hashes addresses in details).
    pub fn redact_event(
        &self,
        name: &mut String,
        details: &mut Map<String, Value>,
        actor_ip: Option<&mut String>,
        subject: Option<&str>,
        keys: Option<&dyn SubjectKeys>,
    ) -> Vec<Value> {
        if !self.enabled {
            return Vec::new();
        }
        let mut w = Walk {
            marks: Marks::new(),
            subject,
            keys,
            key: None,
        };
        self.string(name, "name", &mut w);
        if let Some(ip) = actor_ip {
            self.string(ip, "actor.ip", &mut w);
        }
        let mut text = String::with_capacity(64);
        text.push_str("details");
        self.object(details, &mut Vec::with_capacity(8), &mut text, &mut w);
        w.marks
            .into_iter()
            .map(|((path, rule), (action, count, reason))| {
                let mut m =
                    json!({"path": path, "rule": rule, "action": action.name(), "count": count});
                if let (Some(r), Some(o)) = (reason, m.as_object_mut()) {
                    o.insert("reason".into(), json!(r));
                }
                m
            })
            .collect()
    }
}

/// The byte index of the character after the one at `i`.
fn next_char(s: &str, i: usize) -> usize {
    s[i..]
        .chars()
        .next()
        .map_or(s.len() + 1, |c| i + c.len_utf8())
}

/// The longest valid candidate of pattern `p` that starts at `a` and ends before `b` at a
/// separator, trying at most eight cut points from the right.
fn shorter(p: &Pattern, s: &str, a: usize, b: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    (a + 1..b)
        .rev()
        .filter(|&i| matches!(bytes[i], b' ' | b'-' | b':' | b'.' | b'/'))
        .take(8)
        .find(|&e| {
            p.re.find_at(&s[..e], a)
                .is_some_and(|m| m.start() == a && m.end() == e)
                && (p.valid)(s, a, e)
        })
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

/// `pattern` (lower case, `*` wildcards) matches `s`, ignoring ASCII case.
fn glob(pattern: &str, s: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), s.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != b'*' && p[pi] == t[ti].to_ascii_lowercase() {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|b| *b == b'*')
}

/// Segment-wise glob; a `**` segment matches any number of segments.
fn path_glob(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| path_glob(rest, &path[skip..]))
        }
        Some((first, rest)) => path
            .split_first()
            .is_some_and(|(p, tail)| glob(first, p) && path_glob(rest, tail)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::new(&Policy::default(), Some([1; 32])).expect("default policy")
    }

    #[test]
    fn globs() {
        assert!(glob("password", "Password"));
        assert!(glob("*_token", "refresh_token"));
        assert!(!glob("token", "tokens"));
        let p = |s: &str| s.split('.').map(str::to_owned).collect::<Vec<_>>();
        assert!(path_glob(&p("*.ssn"), &["user", "SSN"]));
        assert!(!path_glob(&p("*.ssn"), &["ssn"]));
        assert!(path_glob(&p("input.text"), &["input", "text"]));
        assert!(path_glob(&p("**.ssn"), &["a", "b", "ssn"]));
    }

    #[test]
    fn field_rules_detectors_and_marks() {
        let r = redactor();
        let mut name = "login by bob@example.org".to_owned();
        let mut d = json!({
            "Password": "hunter2",
            "user": {"ssn": "123-45-6789", "note": "card 4111-1111-1111-1111, ip 192.168.1.20"},
            "items": ["call +44 20 7946 0958", 3],
            "version": "v1.2.3.4",
        });
        let marks = r.redact(&mut name, d.as_object_mut().expect("obj"));
        assert_eq!(name, "login by [EMAIL]");
        assert_eq!(d["Password"], "[REDACTED]");
        assert_eq!(d["user"]["ssn"], "[REDACTED]");
        let note = d["user"]["note"].as_str().expect("str");
        assert!(note.starts_with("card [CC], ip hmac:"), "{note}");
        assert_eq!(d["items"][0], "call [PHONE]");
        assert_eq!(d["version"], "v1.2.3.4");
        let paths: Vec<&str> = marks.iter().filter_map(|m| m["path"].as_str()).collect();
        assert_eq!(
            paths,
            [
                "details.Password",
                "details.items[0]",
                "details.user.note",
                "details.user.note",
                "details.user.ssn",
                "name"
            ]
        );
        assert!(
            !serde_json::to_string(&marks)
                .expect("json")
                .contains("hunter2")
        );
    }

    #[test]
    fn hashes_correlate_and_need_a_key() {
        let r = redactor();
        let mut a = json!({"ip": "10.0.0.1"});
        let mut b = json!({"client": "from 10.0.0.1"});
        r.redact(&mut String::new(), a.as_object_mut().expect("obj"));
        r.redact(&mut String::new(), b.as_object_mut().expect("obj"));
        let ha = a["ip"].as_str().expect("str").to_owned();
        assert!(b["client"].as_str().expect("str").ends_with(&ha));
        assert!(Redactor::new(&Policy::default(), None).is_err());
    }

    #[test]
    fn drop_keep_and_encrypt_fallback() {
        let p = Policy::from_toml(
            "[redaction]\n[[redaction.fields]]\npath = \"notes\"\naction = \"drop\"\n[[redaction.fields]]\npath = \"input.text\"\naction = \"keep\"\n[[redaction.fields]]\npath = \"diagnosis\"\naction = \"encrypt\"\n",
        )
        .expect("policy");
        let r = Redactor::new(&p, Some([2; 32])).expect("compile");
        let mut d =
            json!({"notes": "x", "input": {"text": "mail me: a@b.com"}, "diagnosis": "flu"});
        let marks = r.redact(&mut String::new(), d.as_object_mut().expect("obj"));
        assert_eq!(
            d,
            json!({"input": {"text": "mail me: a@b.com"}, "diagnosis": "[REDACTED]"})
        );
        assert_eq!(marks[0]["reason"], "the event has no subject");
        assert_eq!(marks[1]["action"], "drop");
    }

    struct Keys(std::sync::Mutex<std::collections::HashMap<String, [u8; 32]>>);

    impl SubjectKeys for Keys {
        fn key_for(&self, subject: &str) -> Result<[u8; 32]> {
            let mut m = self
                .0
                .lock()
                .map_err(|_| Error::Crypto("poisoned".into()))?;
            let n = m.len() as u8;
            Ok(*m.entry(subject.to_owned()).or_insert([n + 1; 32]))
        }
    }

    #[test]
    fn encrypt_to_the_subject_then_reveal_or_erase() {
        let p = Policy::from_toml(
            "[redaction]\n[redaction.detectors]\nemail = \"encrypt\"\n[[redaction.fields]]\npath = \"diagnosis\"\naction = \"encrypt\"\n",
        )
        .expect("policy");
        let r = Redactor::new(&p, Some([2; 32])).expect("compile");
        let keys = Keys(Default::default());
        let mut name = "note for p@example.com".to_owned();
        let mut d = json!({"diagnosis": {"code": "J10", "text": "flu"}, "n": 1});
        let m = d.as_object_mut().expect("obj");
        let marks = r.redact_event(&mut name, m, None, Some("patient-7"), Some(&keys));
        assert!(name.starts_with("note for enc:v1:t:"), "{name}");
        let stored = m["diagnosis"].as_str().expect("token").to_owned();
        assert!(stored.starts_with("enc:v1:j:"));
        assert!(marks.iter().all(|m| m["action"] == "encrypt"), "{marks:?}");

        let key = keys.key_for("patient-7").expect("key");
        let (mut n2, mut d2) = (name.clone(), m.clone());
        assert_eq!(
            crypto::reveal(&mut n2, &mut d2, "patient-7", Some(&key)),
            (2, 0)
        );
        assert_eq!(n2, "note for p@example.com");
        assert_eq!(d2["diagnosis"], json!({"code": "J10", "text": "flu"}));
        // The key destroyed: the fields read as erased.
        let (mut n3, mut d3) = (name.clone(), m.clone());
        assert_eq!(crypto::reveal(&mut n3, &mut d3, "patient-7", None), (0, 2));
        assert_eq!(n3, "note for [ERASED]");
        assert_eq!(d3["diagnosis"], "[ERASED]");
        // Another subject's key does not open them.
        let other = keys.key_for("someone-else").expect("key");
        let (mut n4, mut d4) = (name, m.clone());
        assert_eq!(
            crypto::reveal(&mut n4, &mut d4, "patient-7", Some(&other)),
            (0, 2)
        );
    }

    #[test]
    fn review_findings_stay_fixed() {
        let r = redactor();
        // A rejected longer candidate hides a valid shorter one.
        assert_eq!(
            r.redact_str("card 4111 1111 1111 1111 123"),
            "card [CC] 123"
        );
        let masking = Redactor::new(
            &Policy {
                detectors: crate::redact::DetectorActions {
                    ip: Some(Action::Mask),
                    ..Policy::default().detectors
                },
                ..Policy::default()
            },
            Some([1; 32]),
        )
        .expect("policy");
        assert_eq!(
            masking.redact_str("from 2001:db8::1: refused"),
            "from [IP]: refused"
        );
        assert_eq!(r.redact_str("call 03-1234-5678 now"), "call [PHONE] now");
        // Overlapping matches merge: nothing of either is left in clear.
        let p = Policy::from_toml(
            "[redaction]\n[[redaction.custom]]\nname = \"acct\"\npattern = \"ACCT-[0-9]{4}\"\n",
        )
        .expect("policy");
        let c = Redactor::new(&p, Some([1; 32])).expect("compile");
        let out = c.redact_str("ACCT-4111 1111 1111 1111");
        assert!(!out.contains("1111"), "{out}");
        // Keys are redacted too, uniquely, and marks name the redacted key.
        let mut d = json!({"jane@example.com": 1, "joe@example.com": 2, "ok": {"x@y.org": 3}});
        let marks = r.redact(&mut String::new(), d.as_object_mut().expect("obj"));
        let text = serde_json::to_string(&d).expect("json");
        assert!(
            !text.contains("example.com") && !text.contains("y.org"),
            "{text}"
        );
        assert_eq!(
            d["[EMAIL]"].as_i64().unwrap_or(0) + d["[EMAIL]#2"].as_i64().unwrap_or(0),
            3
        );
        assert_eq!(d["ok"]["[EMAIL]"], 3);
        assert!(
            !serde_json::to_string(&marks)
                .expect("json")
                .contains("example")
        );
        let paths: Vec<&str> = marks.iter().filter_map(|m| m["path"].as_str()).collect();
        assert_eq!(paths, ["details(key)", "details.ok(key)"]);
        // Zero-length custom matches do nothing; short strings meet custom detectors.
        let p = Policy::from_toml(
            "[redaction]\n[[redaction.custom]]\nname = \"empty\"\npattern = \"x*\"\n[[redaction.custom]]\nname = \"id\"\npattern = \"AB[0-9]{3}\"\n",
        )
        .expect("policy");
        let c = Redactor::new(&p, Some([1; 32])).expect("compile");
        assert_eq!(c.redact_str("abc"), "abc");
        assert_eq!(c.redact_str("AB123"), "[ID]");
    }

    #[test]
    fn text_tokens_end_before_the_text_that_follows() {
        let p = Policy::from_toml("[redaction]\n[redaction.detectors]\nip = \"encrypt\"\n")
            .expect("policy");
        let r = Redactor::new(&p, Some([2; 32])).expect("compile");
        let keys = Keys(Default::default());
        let mut name = "route 10.0.0.0/8 via 10.1.1.1".to_owned();
        r.redact_event(&mut name, &mut Map::new(), None, Some("s"), Some(&keys));
        assert!(!name.contains("10.0.0.0"), "{name}");
        let key = keys.key_for("s").expect("key");
        let (n, e) = crypto::reveal(&mut name, &mut Map::new(), "s", Some(&key));
        assert_eq!((n, e), (2, 0));
        assert_eq!(name, "route 10.0.0.0/8 via 10.1.1.1");
    }
}
