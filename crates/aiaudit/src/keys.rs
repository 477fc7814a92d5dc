//! Key rotation (docs/format.md §3, docs/key-rotation.md): the log's key history read from its
//! `log_key` events, the key files a writer signs with, and the two commands' library halves,
//! [`rotate`] and [`retire`].

use aiaudit_core::keys::{KEY_EVENT_TYPE, KeyAction, KeyChange, KeyHistory};
use aiaudit_core::{Event, LogInfo, NoteSigner, NoteVerifier, Query, Record, Store};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::{AuditLogger, keyfile};

/// A `log_key` event that changes nothing: its seq and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadChange {
    /// The event's seq.
    pub seq: u64,
    /// Why it is not a valid change.
    pub why: String,
}

/// The log's key history: its first key, then every valid `log_key` event in seq order. The
/// events that are not valid changes come back beside it.
pub fn history(store: &dyn Store, info: &LogInfo) -> Result<(KeyHistory, Vec<BadChange>)> {
    let mut history = KeyHistory::new(NoteVerifier::parse(&info.verifier_key)?);
    let mut bad = Vec::new();
    let query = Query {
        kind: Some(KEY_EVENT_TYPE.to_owned()),
        ..Query::default()
    };
    store.query_each(&query, &mut |e| {
        let applied = Record::from_leaf_data(&e.data)
            .and_then(|r| KeyChange::from_details(&serde_json::Value::Object(r.details)))
            .and_then(|change| history.apply(e.seq, &change));
        if let Err(err) = applied {
            bad.push(BadChange {
                seq: e.seq,
                why: err.to_string(),
            });
        }
        Ok(true)
    })?;
    Ok((history, bad))
}

/// The key a rotation adds, beside the log's key file: `audit.key` → `audit.next.key`.
pub fn next_key_path(key_path: &Path) -> PathBuf {
    key_path.with_extension("next.key")
}

/// Where a retired key's file goes: `audit.key` → `audit.retired-<key id>.key`.
pub fn retired_key_path(key_path: &Path, key: &NoteVerifier) -> PathBuf {
    let id = key.to_string();
    let id = id.split('+').nth(1).unwrap_or("key");
    key_path.with_extension(format!("retired-{id}.key"))
}

/// The keys a writer signs with, of those loaded: every one the log signs with now, plus a key
/// not yet in the history (a rotation's new key, whose change is about to be recorded). A
/// retired key is left out; none left is an error naming the keys the log signs with.
pub(crate) fn signers_for(
    history: &KeyHistory,
    loaded: Vec<(PathBuf, NoteSigner)>,
    shown: &str,
) -> Result<Vec<NoteSigner>> {
    let current = history.current();
    let mut signers = Vec::new();
    let mut refused = Vec::new();
    for (path, s) in loaded {
        let v = s.verifier();
        if current.contains(&v) {
            signers.push(s);
        } else if history.span(&v).is_some() {
            refused.push((path, format!("{v} was retired")));
        } else {
            if s.name() == history.origin() {
                // Not yet announced (a rotation's new key): only with a key of the log beside it.
                signers.push(s);
            }
            refused.push((
                path,
                format!("this key ({v}) is not the key of the log {shown}"),
            ));
        }
    }
    if !signers.iter().any(|s| current.contains(&s.verifier())) {
        let keys: Vec<String> = current.iter().map(ToString::to_string).collect();
        let (path, why) = refused
            .into_iter()
            .next()
            .unwrap_or_else(|| (PathBuf::new(), "no key was given".into()));
        return Err(Error::Key {
            path,
            why: format!(
                "{why}; the log {shown} signs with {} — restore that key or name its file (--signing-key)",
                keys.join(" and ")
            ),
        });
    }
    Ok(signers)
}

/// The key files of a log whose key is at `key_path`: the key, then the next key if a rotation
/// made one. A missing key file beside a next key is no error (a retirement stopped between
/// its two renames).
pub(crate) fn load_files(key_path: &Path) -> Result<Vec<(PathBuf, NoteSigner)>> {
    let next = next_key_path(key_path);
    let mut loaded = Vec::new();
    match keyfile::load(key_path) {
        Ok(k) => loaded.push((key_path.to_owned(), k)),
        Err(e) if !next.exists() => return Err(e),
        Err(_) => {}
    }
    if next.exists() {
        loaded.push((next.clone(), keyfile::load(&next)?));
    }
    Ok(loaded)
}

/// What [`rotate`] or [`retire`] did.
#[derive(Debug, Clone)]
pub struct KeyChangeDone {
    /// The change recorded.
    pub change: KeyChange,
    /// The seq of its `log_key` event.
    pub seq: u64,
}

/// Starts a key transition on the log `log` writes: records a `log_key` rotation adding `new`,
/// signed by `new` and by the log's current keys `current`. From the next commit on, a writer
/// that holds both keys signs every checkpoint with both.
pub fn rotate(
    log: &AuditLogger,
    current: &[NoteSigner],
    new: &NoteSigner,
) -> Result<KeyChangeDone> {
    change(
        log,
        KeyAction::Rotate,
        &new.verifier(),
        &signer_refs(current, Some(new)),
    )
}

/// Ends a key transition: records a `log_key` retirement of `old`, signed by the keys that
/// stay (`staying`). Checkpoints after it must not rest on `old`; the writer must no longer
/// hold it (open it with [`crate::AuditLoggerBuilder::signing_keys`]).
pub fn retire(
    log: &AuditLogger,
    staying: &[NoteSigner],
    old: &NoteVerifier,
) -> Result<KeyChangeDone> {
    change(log, KeyAction::Retire, old, &signer_refs(staying, None))
}

fn signer_refs<'a>(
    signers: &'a [NoteSigner],
    extra: Option<&'a NoteSigner>,
) -> Vec<&'a NoteSigner> {
    signers.iter().chain(extra).collect()
}

fn change(
    log: &AuditLogger,
    action: KeyAction,
    key: &NoteVerifier,
    signers: &[&NoteSigner],
) -> Result<KeyChangeDone> {
    log.flush()?;
    let reader = log.reader()?;
    let (history, _) = history(reader.store(), log.info())?;
    let change = KeyChange::make(&history, action, key, signers)?;
    let name = match action {
        KeyAction::Rotate => "Signing key added (key rotation started)",
        KeyAction::Retire => "Signing key retired (key rotation finished)",
    };
    let mut event = Event::new(KEY_EVENT_TYPE, name);
    event.details = change.to_details();
    let seq = log.record_key_change(event)?;
    Ok(KeyChangeDone { change, seq })
}
