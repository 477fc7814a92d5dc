//! A compiled policy, applied to an event's name and details.

use hmac::{Hmac, Mac};
use regex::{Regex, RegexSet};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use std::borrow::Cow;
use std::collections::BTreeMap;

use super::context::is_identifier_field;
use super::crypto::{self, SubjectKeys};
use super::detectors::{Builtin, Gate, SECRET_HINTS, Validator, always};
use super::policy::{Action, Policy};
use crate::error::{Error, Result};

mod fields;
mod find;

pub use explain::Explanation;
use fields::{glob, path_glob};
use find::Span;

mod explain;

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
    /// The match must be a whole token (the number detectors).
    whole_token: bool,
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

/// What one call of [`Redactor::redact`] did, per place and rule.
type Marks = BTreeMap<(String, String), (Action, u64, Option<&'static str>)>;

/// The state of one event's redaction: its marks, its subject's key once fetched, and for
/// `--explain` every change with its reason.
struct Walk<'a> {
    marks: Marks,
    subject: Option<&'a str>,
    keys: Option<&'a dyn SubjectKeys>,
    key: Option<std::result::Result<[u8; 32], &'static str>>,
    explain: Option<Vec<Explanation>>,
}

impl Walk<'_> {
    /// Records one change for `--explain`, when explaining.
    fn explained(
        &mut self,
        path: &str,
        span: Option<(usize, usize)>,
        matched: &str,
        rule: &str,
        action: Action,
        why: impl std::fmt::Display,
    ) {
        if let Some(e) = self.explain.as_mut() {
            e.push(Explanation {
                path: path.to_owned(),
                span,
                matched: matched.to_owned(),
                rule: rule.to_owned(),
                action,
                why: why.to_string(),
            });
        }
    }

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
                let whole_token = matches!(&rule, Rule::Builtin(b) if b.whole_token());
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
                        whole_token,
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

    /// `s` with `spans` replaced; with a walk, `encrypt` encrypts to the subject (masking where
    /// it cannot) and marks are counted.
    fn rewrite(&self, s: &str, spans: &[Span], path: &str, mut w: Option<&mut Walk<'_>>) -> String {
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for sp in spans {
            let &Span {
                start,
                end,
                rule,
                why,
            } = sp;
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
                w.explained(
                    path,
                    Some((start, end)),
                    &s[start..end],
                    r.name(),
                    done,
                    why,
                );
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
        let spans = self.find(s, false, None);
        if spans.is_empty() {
            Cow::Borrowed(s)
        } else {
            Cow::Owned(self.rewrite(s, &spans, "", None))
        }
    }

    /// [`Redactor::redact_str`] for the value of the field at `path` (`details.contact.phone`,
    /// or a bare key name): its name can say a bare number is a phone, and the values of
    /// identifier fields (`request_id`, `trace_id`, `input_hash`, …) are left alone. Field
    /// rules are not applied here; [`Redactor::redact`] applies them.
    pub fn redact_str_in<'a>(&self, s: &'a str, path: &str) -> Cow<'a, str> {
        if !self.enabled || s.len() < self.min_len() || is_identifier_field(path) {
            return Cow::Borrowed(s);
        }
        let spans = self.find(s, false, Some(path));
        if spans.is_empty() {
            Cow::Borrowed(s)
        } else {
            Cow::Owned(self.rewrite(s, &spans, path, None))
        }
    }

    fn string(&self, s: &mut String, path: &str, w: &mut Walk<'_>) {
        if !self.enabled || s.len() < self.min_len() {
            return;
        }
        let spans = self.find(s, false, Some(path));
        // Identifiers the logger generates are never rewritten by a detector (checked only
        // once something was found: most strings find nothing).
        if spans.is_empty() || is_identifier_field(path) {
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
                        let why = format!("the field rule \"{}\" names this field", f.text);
                        w.explained(text, None, "", &f.text, action, why);
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
        let spans = self.find(k, true, None);
        if spans.is_empty() {
            return Cow::Borrowed(k);
        }
        let mut out = String::with_capacity(k.len());
        let mut at = 0;
        for sp in &spans {
            let &Span {
                start,
                end,
                rule,
                why,
            } = sp;
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
            w.explained(
                &format!("{parent}(key)"),
                Some((start, end)),
                &k[start..end],
                r.name(),
                done,
                why,
            );
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
            explain: None,
        };
        self.walk_event(name, details, actor_ip, &mut w)
    }

    /// The walk of [`Redactor::redact_event`].
    fn walk_event(
        &self,
        name: &mut String,
        details: &mut Map<String, Value>,
        actor_ip: Option<&mut String>,
        w: &mut Walk<'_>,
    ) -> Vec<Value> {
        self.string(name, "name", w);
        if let Some(ip) = actor_ip {
            self.string(ip, "actor.ip", w);
        }
        let mut text = String::with_capacity(64);
        text.push_str("details");
        self.object(details, &mut Vec::with_capacity(8), &mut text, w);
        std::mem::take(&mut w.marks)
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

#[cfg(test)]
mod tests;
