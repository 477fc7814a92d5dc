//! Redaction policies: what to look for and what to do with it, read from TOML.
//!
//! ```toml
//! [redaction]
//! enabled = true              # default true
//! defaults = true             # start from the default policy (default true)
//!
//! [redaction.detectors]       # built-in detector = action
//! email = "mask"
//! ip = "hash"
//!
//! [[redaction.fields]]        # by key name anywhere, or by path from `details`
//! path = "*.ssn"
//! action = "drop"
//!
//! [[redaction.custom]]        # a detector of your own
//! name = "employee_id"
//! pattern = "EMP-[0-9]{6}"
//! action = "hash"
//! ```

use serde::Deserialize;

use super::detectors::Builtin;
use crate::error::{Error, Result};

/// What happens to what a rule finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Replace it with a typed placeholder (`[EMAIL]`; `[REDACTED]` for a field).
    Mask,
    /// Replace it with `hmac:` and 32 hex digits of HMAC-SHA256 under the log's secret, so that
    /// equal values still correlate across events.
    Hash,
    /// Remove it (a field is removed with its key).
    Drop,
    /// Encrypt it to the event's data subject; masked where no subject key exists.
    Encrypt,
    /// Leave it as it is (a field so marked is not searched by the detectors either).
    Keep,
}

impl Action {
    /// The name in policies and marks.
    pub fn name(self) -> &'static str {
        match self {
            Action::Mask => "mask",
            Action::Hash => "hash",
            Action::Drop => "drop",
            Action::Encrypt => "encrypt",
            Action::Keep => "keep",
        }
    }
}

/// A field rule: a key name (`password`, matched at any depth) or a dotted path from the
/// details' root (`input.text`, `*.ssn`), compared case-insensitively; `*` matches within one
/// segment, a `**` segment any number of segments.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    /// The name or path pattern.
    pub path: String,
    /// What to do with the field's value.
    pub action: Action,
}

/// A detector of one's own.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomDetector {
    /// Its name, used in marks and as the placeholder (`[EMPLOYEE_ID]`).
    pub name: String,
    /// A regular expression (Rust `regex` syntax).
    pub pattern: String,
    /// What to do with a match (default mask).
    #[serde(default = "mask")]
    pub action: Action,
}

fn mask() -> Action {
    Action::Mask
}

/// Actions of the built-in detectors (`None`: off).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorActions {
    /// E-mail addresses.
    pub email: Option<Action>,
    /// Phone numbers.
    pub phone: Option<Action>,
    /// US social security numbers.
    pub ssn: Option<Action>,
    /// Payment card numbers.
    pub credit_card: Option<Action>,
    /// IBANs.
    pub iban: Option<Action>,
    /// IPv4 and IPv6 addresses.
    pub ip: Option<Action>,
    /// JSON Web Tokens.
    pub jwt: Option<Action>,
    /// Access keys, API and bearer tokens, private keys.
    pub secret: Option<Action>,
}

impl DetectorActions {
    /// The action of `b`.
    pub fn get(&self, b: Builtin) -> Option<Action> {
        match b {
            Builtin::Email => self.email,
            Builtin::Phone => self.phone,
            Builtin::Ssn => self.ssn,
            Builtin::CreditCard => self.credit_card,
            Builtin::Iban => self.iban,
            Builtin::Ip => self.ip,
            Builtin::Jwt => self.jwt,
            Builtin::Secret => self.secret,
        }
    }

    fn overlay(&mut self, o: &DetectorActions) {
        for (mine, theirs) in [
            (&mut self.email, o.email),
            (&mut self.phone, o.phone),
            (&mut self.ssn, o.ssn),
            (&mut self.credit_card, o.credit_card),
            (&mut self.iban, o.iban),
            (&mut self.ip, o.ip),
            (&mut self.jwt, o.jwt),
            (&mut self.secret, o.secret),
        ] {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
    }
}

/// A redaction policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Whether redaction runs at all.
    pub enabled: bool,
    /// Built-in detectors and their actions.
    pub detectors: DetectorActions,
    /// Field rules, first match wins.
    pub fields: Vec<FieldRule>,
    /// Custom detectors.
    pub custom: Vec<CustomDetector>,
}

/// Key names whose values are secrets whatever they look like.
const SECRET_KEYS: [&str; 16] = [
    "password",
    "passwd",
    "pwd",
    "secret",
    "client_secret",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "set-cookie",
    "private_key",
    "ssn",
];

impl Default for Policy {
    /// Every detector masks, except IP addresses, which are hashed (so that requests from one
    /// address still correlate); secret-named fields are masked whole.
    fn default() -> Self {
        let m = Some(Action::Mask);
        Policy {
            enabled: true,
            detectors: DetectorActions {
                email: m,
                phone: m,
                ssn: m,
                credit_card: m,
                iban: m,
                ip: Some(Action::Hash),
                jwt: m,
                secret: m,
            },
            fields: SECRET_KEYS
                .iter()
                .map(|k| FieldRule {
                    path: (*k).to_owned(),
                    action: Action::Mask,
                })
                .collect(),
            custom: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
struct ConfigFile {
    redaction: Option<toml::Spanned<Spec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default = "yes")]
    defaults: bool,
    #[serde(default)]
    detectors: DetectorActions,
    #[serde(default)]
    fields: Vec<FieldRule>,
    #[serde(default)]
    custom: Vec<toml::Spanned<CustomDetector>>,
}

fn yes() -> bool {
    true
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

impl Policy {
    /// Parses the `[redaction]` table of a TOML configuration. Errors name the line: a file that
    /// does not parse, an unknown detector, action or key, a custom pattern that does not compile.
    pub fn from_toml(text: &str) -> Result<Policy> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            let msg = e.message().trim().to_owned();
            Error::Policy(match line {
                Some(l) => format!("line {l}: {msg}"),
                None => msg,
            })
        })?;
        let spec = file
            .redaction
            .ok_or_else(|| Error::Policy("the file has no [redaction] table".into()))?;
        let spec_line = line_of(text, spec.span().start);
        let spec = spec.into_inner();
        let mut policy = if spec.defaults {
            Policy::default()
        } else {
            Policy {
                enabled: true,
                detectors: DetectorActions::default(),
                fields: Vec::new(),
                custom: Vec::new(),
            }
        };
        policy.enabled = spec.enabled;
        policy.detectors.overlay(&spec.detectors);
        // Rules of the file come first: they override the defaults for the same field.
        let mut fields = spec.fields;
        for f in &fields {
            if f.path.is_empty() || f.path.split('.').any(str::is_empty) {
                return Err(Error::Policy(format!(
                    "[redaction] at line {spec_line}: field path {:?} has an empty segment",
                    f.path
                )));
            }
        }
        fields.append(&mut policy.fields);
        policy.fields = fields;
        for c in spec.custom {
            let line = line_of(text, c.span().start);
            let c = c.into_inner();
            if let Err(e) = regex::Regex::new(&c.pattern) {
                return Err(Error::Policy(format!(
                    "line {line}: custom detector {:?}: the pattern does not compile: {e}",
                    c.name
                )));
            }
            if c.name.is_empty()
                || !c
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(Error::Policy(format!(
                    "line {line}: custom detector name {:?} must be letters, digits or '_'",
                    c.name
                )));
            }
            policy.custom.push(c);
        }
        Ok(policy)
    }

    /// True when some rule encrypts to the subject (the log then needs a subject key file).
    pub fn uses_encryption(&self) -> bool {
        let e = Some(Action::Encrypt);
        self.enabled
            && (super::Builtin::ALL
                .iter()
                .any(|b| self.detectors.get(*b) == e)
                || self.fields.iter().any(|f| f.action == Action::Encrypt)
                || self.custom.iter().any(|c| c.action == Action::Encrypt))
    }

    /// No redaction at all.
    pub fn disabled() -> Policy {
        Policy {
            enabled: false,
            ..Policy::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_file_overrides_the_defaults() {
        let p = Policy::from_toml(
            "[redaction]\n[redaction.detectors]\nemail = \"hash\"\n[[redaction.fields]]\npath = \"*.notes\"\naction = \"drop\"\n[[redaction.custom]]\nname = \"employee_id\"\npattern = \"EMP-[0-9]{6}\"\n",
        )
        .expect("valid");
        assert_eq!(p.detectors.email, Some(Action::Hash));
        assert_eq!(p.detectors.phone, Some(Action::Mask), "defaults kept");
        assert_eq!(p.fields[0].path, "*.notes");
        assert_eq!(p.custom[0].action, Action::Mask);
    }

    #[test]
    fn errors_name_the_line() {
        for (text, want) in [
            (
                "[redaction]\n[redaction.detectors]\nemial = \"mask\"\n",
                "line 3",
            ),
            (
                "[redaction]\n[redaction.detectors]\nemail = \"maks\"\n",
                "line 3",
            ),
            ("[redaction]\nenabled = tru\n", "line 2"),
            (
                "[redaction]\n\n[[redaction.custom]]\nname = \"x\"\npattern = \"(unclosed\"\n",
                "line 3",
            ),
            ("[other]\nx = 1\n", "no [redaction] table"),
        ] {
            let err = Policy::from_toml(text).expect_err(text).to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
