//! A log's signing keys over time (docs/format.md §3, "Key rotation"): the `log_key` events that
//! add and retire keys, the signed statements they carry, and which keys are valid for a
//! checkpoint of a given size.
//!
//! ```
//! use aiaudit_core::keys::{KeyAction, KeyChange, KeyHistory};
//! use aiaudit_core::{Checkpoint, NoteSigner};
//!
//! let old = NoteSigner::generate("example.org/log")?;
//! let new = NoteSigner::generate("example.org/log")?;
//! let mut history = KeyHistory::new(old.verifier());
//! // The change is the event at seq 10: checkpoints from size 11 may be signed by either key.
//! let change = KeyChange::make(&history, KeyAction::Rotate, &new.verifier(), &[&old, &new])?;
//! history.apply(10, &change)?;
//! let note = Checkpoint { origin: "example.org/log".into(), size: 11, root: [0; 32] }.sign(&new)?;
//! assert_eq!(history.open_checkpoint(&note)?.size, 11);
//! let early = Checkpoint { origin: "example.org/log".into(), size: 10, root: [0; 32] }.sign(&new)?;
//! assert!(history.open_checkpoint(&early).is_err());
//! # Ok::<(), aiaudit_core::Error>(())
//! ```

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::note::{Checkpoint, NoteKeys, NoteSigner, NoteVerifier};

/// The event type of a key change. Clients cannot send it; the log's own key commands do.
pub const KEY_EVENT_TYPE: &str = "log_key";

/// The first line of a key change statement.
const STATEMENT_HEADER: &str = "aiaudit key change v1";

/// What a key change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    /// A key joins the log's keys.
    Rotate,
    /// A key leaves them: no checkpoint after the change may rest on it.
    Retire,
}

impl KeyAction {
    /// The action as written in `details.action`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAction::Rotate => "rotate",
            KeyAction::Retire => "retire",
        }
    }
}

/// One key change: the `details` of a `log_key` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    /// Rotate or retire.
    pub action: KeyAction,
    /// The key that joins or leaves.
    pub key: NoteVerifier,
    /// The keys valid after the change, sorted by their string form.
    pub keys: Vec<NoteVerifier>,
    /// The signed statement of the change.
    pub statement: String,
}

impl KeyChange {
    /// The statement text of a change (docs/format.md §3).
    pub fn statement_text(
        origin: &str,
        action: KeyAction,
        key: &NoteVerifier,
        keys: &[NoteVerifier],
    ) -> String {
        let mut t = format!("{STATEMENT_HEADER}\n{origin}\n{} {key}\n", action.as_str());
        for k in keys {
            t.push_str(&format!("key {k}\n"));
        }
        t
    }

    /// Makes the change `action` of `key` on `history`, signing its statement with `signers`
    /// (for a rotation: the new key and a key valid now; for a retirement: a key that stays).
    /// Checked as [`KeyHistory::apply`] will check it.
    pub fn make(
        history: &KeyHistory,
        action: KeyAction,
        key: &NoteVerifier,
        signers: &[&NoteSigner],
    ) -> Result<Self> {
        let keys = history.after(action, key)?;
        let text = Self::statement_text(&history.origin, action, key, &keys);
        let statement = sign_refs(signers, &text)?;
        let change = KeyChange {
            action,
            key: key.clone(),
            keys,
            statement,
        };
        history.check(&change)?;
        Ok(change)
    }

    /// The change as event details.
    pub fn to_details(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("action".into(), self.action.as_str().into());
        m.insert("key".into(), self.key.to_string().into());
        m.insert(
            "keys".into(),
            Value::Array(self.keys.iter().map(|k| k.to_string().into()).collect()),
        );
        m.insert("statement".into(), self.statement.clone().into());
        m
    }

    /// Reads a change from a `log_key` event's details, naming the field that is wrong.
    pub fn from_details(details: &Value) -> Result<Self> {
        let bad = |why: String| Error::malformed("key change", why);
        let text = |field: &str| {
            details
                .get(field)
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("details.{field} is missing or not a string")))
        };
        let action = match text("action")? {
            "rotate" => KeyAction::Rotate,
            "retire" => KeyAction::Retire,
            other => {
                return Err(bad(format!(
                    "details.action {other:?} is not rotate or retire"
                )));
            }
        };
        let key =
            NoteVerifier::parse(text("key")?).map_err(|e| bad(format!("details.key: {e}")))?;
        let keys = details
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("details.keys is missing or not a list".into()))?
            .iter()
            .map(|k| {
                k.as_str()
                    .ok_or_else(|| bad("details.keys holds a non-string".into()))
                    .and_then(|k| {
                        NoteVerifier::parse(k).map_err(|e| bad(format!("details.keys: {e}")))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(KeyChange {
            action,
            key,
            keys,
            statement: text("statement")?.to_owned(),
        })
    }
}

fn sign_refs(signers: &[&NoteSigner], text: &str) -> Result<String> {
    if signers.is_empty() {
        return Err(Error::Key("a key change needs at least one signer".into()));
    }
    let mut note = format!("{text}\n");
    for s in signers {
        note.push_str(&s.signature_line(text)?);
    }
    Ok(note)
}

/// One key of a log and when it was valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpan {
    /// The key.
    pub key: NoteVerifier,
    /// The seq of the event that added it; `None` for the key the log was created with.
    pub added: Option<u64>,
    /// The seq of the event that retired it, if one did.
    pub retired: Option<u64>,
}

impl KeySpan {
    /// Whether the key may sign a checkpoint of `size` entries: the change that added it is
    /// inside the checkpoint, the change that retired it is not.
    pub fn valid_for(&self, size: u64) -> bool {
        self.added.is_none_or(|a| a < size) && self.retired.is_none_or(|r| size <= r)
    }
}

/// Every key a log has had, in the order they joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHistory {
    origin: String,
    spans: Vec<KeySpan>,
}

impl KeyHistory {
    /// The history of a log created with `first`.
    pub fn new(first: NoteVerifier) -> Self {
        KeyHistory {
            origin: first.name().to_owned(),
            spans: vec![KeySpan {
                key: first,
                added: None,
                retired: None,
            }],
        }
    }

    /// The log's origin (every key's name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Every key, in the order they joined, with when each was valid.
    pub fn spans(&self) -> &[KeySpan] {
        &self.spans
    }

    /// The keys valid now (after every change applied), in the order they joined.
    pub fn current(&self) -> Vec<NoteVerifier> {
        self.spans
            .iter()
            .filter(|s| s.retired.is_none())
            .map(|s| s.key.clone())
            .collect()
    }

    /// Every key the log has had.
    pub fn all(&self) -> Vec<NoteVerifier> {
        self.spans.iter().map(|s| s.key.clone()).collect()
    }

    /// Whether `key` (a verifier key string) is one of the log's keys, at any time.
    pub fn contains(&self, key: &str) -> bool {
        self.spans.iter().any(|s| s.key.to_string() == key)
    }

    /// The span of `key`, if it is one of the log's keys.
    pub fn span(&self, key: &NoteVerifier) -> Option<&KeySpan> {
        self.spans.iter().find(|s| &s.key == key)
    }

    /// The keys valid for a checkpoint of `size` entries.
    pub fn valid_for(&self, size: u64) -> Vec<NoteVerifier> {
        self.spans
            .iter()
            .filter(|s| s.valid_for(size))
            .map(|s| s.key.clone())
            .collect()
    }

    /// The keys valid after `action` of `key`, sorted, or why the change cannot be made.
    fn after(&self, action: KeyAction, key: &NoteVerifier) -> Result<Vec<NoteVerifier>> {
        if key.name() != self.origin {
            return Err(Error::Key(format!(
                "the key is named {:?}, but the log's keys are named after its origin {:?}",
                key.name(),
                self.origin
            )));
        }
        let mut keys = self.current();
        match action {
            KeyAction::Rotate => {
                if self.span(key).is_some() {
                    return Err(Error::Key(format!(
                        "{key} is already one of the log's keys"
                    )));
                }
                keys.push(key.clone());
            }
            KeyAction::Retire => {
                if !keys.contains(key) {
                    return Err(Error::Key(format!(
                        "{key} is not a key the log signs with now"
                    )));
                }
                keys.retain(|k| k != key);
                if keys.is_empty() {
                    return Err(Error::Key(format!(
                        "{key} is the log's only key: rotate to a new key before retiring it"
                    )));
                }
            }
        }
        keys.sort_by_key(|k| k.to_string());
        Ok(keys)
    }

    /// Checks `change` against the history as it stands: the keys it lists, its statement's
    /// text and its signatures.
    pub fn check(&self, change: &KeyChange) -> Result<()> {
        let keys = self.after(change.action, &change.key)?;
        if keys != change.keys {
            return Err(Error::Signature(
                "the key change lists other keys than the log's keys after it".into(),
            ));
        }
        let text = KeyChange::statement_text(&self.origin, change.action, &change.key, &keys);
        let by = |k: &NoteVerifier| k.open(&change.statement).map(|t| t == text);
        let bad_text =
            || Error::Signature("the key change statement is not the change's text".into());
        match change.action {
            KeyAction::Rotate => {
                if !by(&change.key).map_err(|e| statement(e, "the joining key"))? {
                    return Err(bad_text());
                }
                if !self
                    .current()
                    .open_note(&change.statement)
                    .is_ok_and(|t| t == text)
                {
                    return Err(Error::Signature(
                        "the key change statement is not signed by a key the log signs with now"
                            .into(),
                    ));
                }
            }
            KeyAction::Retire => {
                if !keys.open_note(&change.statement).is_ok_and(|t| t == text) {
                    return Err(Error::Signature(
                        "the key retirement is not signed by a key that stays".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Applies the change recorded at `seq` (changes come in seq order), once checked.
    pub fn apply(&mut self, seq: u64, change: &KeyChange) -> Result<()> {
        self.check(change)?;
        match change.action {
            KeyAction::Rotate => self.spans.push(KeySpan {
                key: change.key.clone(),
                added: Some(seq),
                retired: None,
            }),
            KeyAction::Retire => {
                if let Some(s) = self
                    .spans
                    .iter_mut()
                    .find(|s| s.key == change.key && s.retired.is_none())
                {
                    s.retired = Some(seq);
                }
            }
        }
        Ok(())
    }

    /// Opens a checkpoint note signed by a key valid for its size.
    pub fn open_checkpoint(&self, note: &str) -> Result<Checkpoint> {
        let cp = Checkpoint::open(note, &self.all())?;
        let valid = self.valid_for(cp.size);
        Checkpoint::open(note, &valid).map_err(|_| {
            Error::Signature(format!(
                "the checkpoint for size {} is signed only by keys not valid at that size (retired, or added later)",
                cp.size
            ))
        })
    }
}

fn statement(e: Error, who: &str) -> Error {
    Error::Signature(format!(
        "the key change statement is not signed by {who}: {e}"
    ))
}

#[cfg(test)]
mod tests;
