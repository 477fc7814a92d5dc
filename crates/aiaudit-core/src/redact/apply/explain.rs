//! `aiaudit redact --explain`: every change a policy makes, with the rule and the reason, so
//! that a user whose text was changed can see why and write a field rule for it.

use serde_json::{Map, Value};
use std::borrow::Cow;

use super::{Marks, Redactor, Walk};
use crate::redact::Action;

/// One change the policy made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// Where: `name`, `details.a.b`, `details.a(key)` for a key, `""` for plain text.
    pub path: String,
    /// The byte range of the match in the original string (`None`: a field rule took the whole
    /// value).
    pub span: Option<(usize, usize)>,
    /// The text that was matched (empty for a field rule).
    pub matched: String,
    /// The detector or field rule that acted.
    pub rule: String,
    /// What was done.
    pub action: Action,
    /// Why: the check that passed (a checksum, a shape, a parse), the phone word found in the
    /// text or in the field's name, or the field rule that names the field.
    pub why: String,
}

impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{} ", self.path)?;
        }
        if let Some((a, b)) = self.span {
            write!(f, "[{a}..{b}] {:?} ", self.matched)?;
        }
        write!(f, "{} ({}): {}", self.rule, self.action.name(), self.why)
    }
}

impl Redactor {
    /// [`Redactor::redact_str`], with every change explained.
    pub fn explain_str<'a>(&self, s: &'a str) -> (Cow<'a, str>, Vec<Explanation>) {
        if !self.enabled || s.len() < self.min_len() {
            return (Cow::Borrowed(s), Vec::new());
        }
        let spans = self.find(s, false, None);
        if spans.is_empty() {
            return (Cow::Borrowed(s), Vec::new());
        }
        let mut w = walk();
        let out = self.rewrite(s, &spans, "", Some(&mut w));
        (Cow::Owned(out), w.explain.unwrap_or_default())
    }

    /// [`Redactor::redact`], with every change explained.
    pub fn explain(
        &self,
        name: &mut String,
        details: &mut Map<String, Value>,
    ) -> (Vec<Value>, Vec<Explanation>) {
        if !self.enabled {
            return (Vec::new(), Vec::new());
        }
        let mut w = walk();
        let marks = self.walk_event(name, details, None, &mut w);
        (marks, w.explain.unwrap_or_default())
    }
}

fn walk<'a>() -> Walk<'a> {
    Walk {
        marks: Marks::new(),
        subject: None,
        keys: None,
        key: None,
        explain: Some(Vec::new()),
    }
}
