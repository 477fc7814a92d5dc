//! `AuditLogger`: the handle pipelines log through.

use aiaudit_core::{Actor, Event, LogInfo, Status, event::details_object};
use serde_json::{Map, Value};
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::handoff::{Ack, Msg, Responder, Shared};
use crate::queue::Queue;
use crate::reader::LogReader;

/// When `log_event` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Once the event is committed and fsynced (concurrent callers share commits).
    Sync,
    /// Once the event is queued; [`AuditLogger::flush`] and [`AuditLogger::close`] wait for
    /// commit. The queue is bounded and blocks when full: events are never dropped.
    #[default]
    Async,
}

/// A tamper-evident audit log open for writing. Cheap to share between threads (`Arc`).
///
/// Every event is validated on the caller's thread (so bad input fails at the call), then sealed
/// and committed by the log's writer thread.
pub struct AuditLogger {
    pub(crate) queue: Arc<Queue>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) durability: Durability,
    /// Registered custom statuses; replaced whole when one is added, so readers clone an `Arc`.
    pub(crate) custom_statuses: RwLock<Arc<[Arc<str>]>>,
    pub(crate) service: Option<String>,
    pub(crate) closed: AtomicBool,
    /// Callers between their `closed` check and their send; `close` waits for them so that
    /// nothing accepted is left behind in the queue.
    pub(crate) inflight: AtomicUsize,
    pub(crate) thread: Mutex<Option<JoinHandle<()>>>,
    pub(crate) path: PathBuf,
    pub(crate) info: LogInfo,
    /// Held until the logger is closed (see `writer_lock`).
    pub(crate) writer_lock: Mutex<Option<crate::writer_lock::WriterLock>>,
    /// The keys the writer signs with, for what else the log signs (archive manifests).
    pub(crate) signers: Vec<aiaudit_core::NoteSigner>,
    /// The thread showing checkpoints to witnesses, if any are configured.
    #[cfg(feature = "witness")]
    pub(crate) witnessing: Mutex<Option<crate::witnessing::Running>>,
}

impl std::fmt::Debug for AuditLogger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLogger")
            .field("path", &self.path)
            .field("origin", &self.info.origin)
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}

impl AuditLogger {
    /// Opens (or creates) the log at `path` with the defaults.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        Self::builder(path).open()
    }

    /// The database path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The log's origin and verifier key.
    pub fn info(&self) -> &LogInfo {
        &self.info
    }

    /// Events waiting in the queue.
    pub fn queue_depth(&self) -> usize {
        self.queue.len()
    }

    /// True once a failed write has stopped the logger (every later call fails).
    pub fn is_poisoned(&self) -> bool {
        self.shared.poisoned.load(Ordering::SeqCst)
    }

    /// What the writer is doing: running, retrying a commit through an outage, or stopped.
    pub fn state(&self) -> crate::WriterState {
        self.shared.state()
    }

    /// Entries committed so far.
    pub fn committed(&self) -> u64 {
        self.shared.committed.load(Ordering::SeqCst)
    }

    /// Logs an event named `name` with `details` (a JSON object or null) and a status
    /// (`"INFO"`, `"WARNING"`, `"FAILURE"`, … or a registered custom status), as seed 000's
    /// `log_event` does. Returns the seq in [`Durability::Sync`] mode, `None` in `Async`.
    #[track_caller]
    pub fn log_event(&self, name: &str, details: Value, status: &str) -> Result<Option<u64>> {
        let status = self.status(status)?;
        let mut event = Event::new(aiaudit_core::event::types::EVENT, name).status(status);
        event.details = details_object(details)?;
        self.submit_one(event, Location::caller())
    }

    /// Logs a prepared event (see [`crate::events`] for typed constructors).
    #[track_caller]
    pub fn log(&self, event: Event) -> Result<Option<u64>> {
        self.check_status(&event.status)?;
        self.submit_one(event, Location::caller())
    }

    /// Logs `event` if the queue has room and hands it back if the queue is full, so that a
    /// caller holding a lock of its own (an interpreter's, say) can release it before blocking
    /// in [`AuditLogger::log`]. In [`Durability::Sync`] mode this waits for the commit like
    /// `log`.
    #[track_caller]
    pub fn try_log(&self, event: Event) -> Result<Result<Option<u64>, Event>> {
        self.check_status(&event.status)?;
        if self.durability == Durability::Sync || !self.queue.is_full() {
            return self.submit_one(event, Location::caller()).map(Ok);
        }
        Ok(Err(event))
    }

    pub(crate) fn check_status(&self, status: &Status) -> Result<()> {
        if let Status::Custom(c) = status {
            self.status(c)?;
        }
        Ok(())
    }

    /// Parses a status name against this logger's statuses.
    pub fn status(&self, name: &str) -> Result<Status> {
        if let Some(s) = Status::standard(name) {
            return Ok(s);
        }
        let custom = Arc::clone(
            &self
                .custom_statuses
                .read()
                .unwrap_or_else(|p| p.into_inner()),
        );
        Ok(Status::parse(name, &custom)?)
    }

    /// Registers a custom status while the logger runs (idempotent; a standard name returns the
    /// standard status). Names are 1 to 32 letters, digits or `_`, and are kept in upper case.
    pub fn register_status(&self, name: &str) -> Result<Status> {
        if let Some(s) = Status::standard(name) {
            return Ok(s);
        }
        let name = custom_status_name(name)?;
        let mut guard = self
            .custom_statuses
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(c) = guard.iter().find(|c| ***c == *name) {
            return Ok(Status::Custom(Arc::clone(c)));
        }
        let mut all: Vec<Arc<str>> = guard.iter().cloned().collect();
        all.push(Arc::clone(&name));
        *guard = all.into();
        Ok(Status::Custom(name))
    }

    fn submit_one(&self, mut event: Event, at: &'static Location<'static>) -> Result<Option<u64>> {
        validate(&event)?;
        self.fill_source(&mut event, at);
        if self.shared.poisoned.load(Ordering::Relaxed) {
            return Err(Error::Poisoned(self.shared.poison_message()));
        }
        match self.durability {
            Durability::Async => {
                self.send(Msg::Event(event, None))?;
                Ok(None)
            }
            Durability::Sync => {
                let ack = Ack::new();
                self.send(Msg::Event(event, Some(Responder::new(&ack))))?;
                ack.wait().map(Some).map_err(Error::Poisoned)
            }
        }
    }

    /// Records the call site; host, pid and process are filled in by the writer, so that the
    /// caller's hot path touches no shared reference counts.
    fn fill_source(&self, event: &mut Event, at: &'static Location<'static>) {
        let s = &mut event.source;
        if s.file.is_none() {
            s.file = Some(at.file().into());
            s.line = Some(at.line());
        }
        if let Some(service) = &self.service {
            let actor = event.actor.get_or_insert_with(Actor::default);
            if actor.service.is_none() {
                actor.service = Some(service.clone());
            }
        }
    }

    pub(crate) fn send(&self, msg: Msg) -> Result<()> {
        self.inflight.fetch_add(1, Ordering::SeqCst);
        let result = if self.closed.load(Ordering::SeqCst) {
            Err(Error::Closed)
        } else {
            self.queue.push(msg);
            Ok(())
        };
        self.inflight.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// Erases a data subject (crypto-shredding): after every event already queued is sealed,
    /// destroys the subject's key in the subject key file, then commits `erasure` — an event
    /// about the subject, to which the writer adds `key_destroyed` (whether a key existed).
    /// Encryption is off for that event, so it cannot make the subject a new key. Returns the
    /// erasure's seq once committed.
    pub fn forget(&self, erasure: Event) -> Result<u64> {
        validate(&erasure)?;
        if erasure.subject.as_deref().is_none_or(str::is_empty) {
            return Err(aiaudit_core::Error::InvalidEvent(
                "an erasure must name its data subject".into(),
            )
            .into());
        }
        let ack = Ack::new();
        self.send(Msg::Forget(erasure, Responder::new(&ack)))?;
        ack.wait().map_err(Error::Poisoned)
    }

    /// Commits a `log_key` event made by [`crate::keys`] or an `archive` event made by an
    /// archive run, and returns its seq. The writer seals them unredacted: they hold public
    /// keys, signatures, file names and hashes only, which redaction would break.
    pub(crate) fn record_key_change(&self, event: Event) -> Result<u64> {
        check_event(&event)?;
        let ack = Ack::new();
        self.send(Msg::Event(event, Some(Responder::new(&ack))))?;
        ack.wait().map_err(Error::Poisoned)
    }

    /// The newest checkpoint a configured witness cosigned, with every cosignature it has
    /// (`None`: no witnesses, or none has cosigned yet). See [`crate::witnessing`].
    #[cfg(feature = "witness")]
    pub fn cosigned_checkpoint(&self) -> Result<Option<String>> {
        let book = self
            .witnessing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|w| w.book().to_owned());
        match book {
            Some(path) => crate::witnessing::latest_cosigned(&path),
            None => Ok(None),
        }
    }

    /// Waits until every event logged before this call is committed; returns the log size.
    pub fn flush(&self) -> Result<u64> {
        let ack = Ack::new();
        self.send(Msg::Flush(Responder::new(&ack)))?;
        ack.wait().map_err(|e| {
            let lost = self.shared.pending.load(Ordering::SeqCst);
            Error::Poisoned(if lost > 0 {
                format!("{e}; {lost} events were not committed")
            } else {
                e
            })
        })
    }

    /// Commits everything queued, stops the writer and returns the final size. Later calls on
    /// this logger fail with [`Error::Closed`]; closing twice is harmless.
    pub fn close(&self) -> Result<u64> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Ok(self.committed());
        }
        while self.inflight.load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
        #[cfg(feature = "witness")]
        if let Some(w) = self
            .witnessing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            w.stop();
        }
        // An outage is retried only a little longer once the logger is closing.
        self.shared.closing.store(true, Ordering::SeqCst);
        let ack = Ack::new();
        self.queue.push(Msg::Close(Responder::new(&ack)));
        let result = ack.wait();
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
        // Everything queued was handed over by now: say how much of it never reached the store.
        let result = result.map_err(|e| {
            let lost = self.shared.pending.load(Ordering::SeqCst);
            Error::Poisoned(if lost > 0 && !e.contains("were not committed") {
                format!("{e}; {lost} events were not committed")
            } else {
                e
            })
        });
        // The writer is gone: another may take over the log.
        self.writer_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        result
    }

    /// In a child forked from the process that opened this logger: closes the child's copy of
    /// the writer lock, so that the lock goes when the parent lets go of it, however long the
    /// child lives. The child has no writer thread: it must not use this logger (and must not
    /// drop it, which would wait for that thread), only forget it.
    pub fn release_lock_after_fork(&self) {
        if let Ok(mut lock) = self.writer_lock.try_lock()
            && let Some(lock) = lock.take()
        {
            lock.forget_after_fork();
        }
    }

    /// A reader over the same log (its own connection).
    pub fn reader(&self) -> Result<LogReader> {
        LogReader::open(&self.path)
    }
}

impl Drop for AuditLogger {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            // Drop cannot return the error; callers who need it call `close()` themselves.
            eprintln!("aiaudit: closing {}: {e}", self.path.display());
        }
    }
}

/// Deepest nesting of details accepted.
pub const MAX_DEPTH: usize = 64;

/// Checks everything about `event` that sealing would refuse later: the schema, numbers that
/// JSON cannot keep exactly, excessive nesting. The logger runs it on the caller's thread, so a
/// bad event fails at its call instead of stopping the writer.
pub fn validate(event: &Event) -> Result<()> {
    if event.kind == aiaudit_core::keys::KEY_EVENT_TYPE {
        return Err(aiaudit_core::Error::InvalidEvent(format!(
            "type {:?} is recorded only by a key rotation (`aiaudit key rotate`, aiaudit::keys)",
            aiaudit_core::keys::KEY_EVENT_TYPE
        ))
        .into());
    }
    if event.kind == aiaudit_core::archive::ARCHIVE_EVENT_TYPE {
        return Err(aiaudit_core::Error::InvalidEvent(format!(
            "type {:?} is recorded only by an archive run (`aiaudit archive`)",
            aiaudit_core::archive::ARCHIVE_EVENT_TYPE
        ))
        .into());
    }
    check_event(event)
}

/// [`validate`] without the reserved types: for the logger's own events.
fn check_event(event: &Event) -> Result<()> {
    event.validate()?;
    validate_details(&event.details, 0)?;
    // The details' text alone over the sealed record's limit can never seal; refusing it here
    // keeps it from reaching the writer. (Escapes and redaction can still push a record near
    // the limit over it; the writer refuses that one alone.)
    let size = event.name.len() + text_len(&event.details);
    if size > aiaudit_core::seal::MAX_RECORD_LEN {
        return Err(aiaudit_core::Error::InvalidEvent(format!(
            "the event holds {size} bytes of text; a sealed record is at most {} bytes",
            aiaudit_core::seal::MAX_RECORD_LEN
        ))
        .into());
    }
    Ok(())
}

/// Bytes of keys and string values in `map`, the most part of its encoding.
fn text_len(map: &Map<String, Value>) -> usize {
    fn value(v: &Value) -> usize {
        match v {
            Value::String(s) => s.len(),
            Value::Array(a) => a.iter().map(value).sum::<usize>() + a.len(),
            Value::Object(m) => text_len(m),
            _ => 1,
        }
    }
    map.iter().map(|(k, v)| k.len() + value(v)).sum()
}

fn validate_details(map: &Map<String, Value>, depth: usize) -> Result<()> {
    map.iter()
        .try_for_each(|(k, v)| check_value(k, v, depth + 1))
}

/// Checks `v`, found under `key` at nesting `depth` (a top-level detail is at depth 1).
fn check_value(key: &str, v: &Value, depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(aiaudit_core::Error::InvalidEvent(format!(
            "details are nested deeper than {MAX_DEPTH} levels"
        ))
        .into());
    }
    match v {
        // The same rule sealing applies, so that what passes here always seals.
        Value::Number(n) if !aiaudit_core::canonical::is_exact_number(n) => {
            Err(aiaudit_core::Error::Canonical(format!(
                "details.{key}: integer {n} cannot be kept exactly in JSON (beyond ±2^53); pass it as a string"
            ))
            .into())
        }
        Value::Array(items) => items.iter().try_for_each(|i| check_value(key, i, depth + 1)),
        Value::Object(m) => validate_details(m, depth),
        _ => Ok(()),
    }
}

/// Checks a custom status name and returns it in upper case.
pub(crate) fn custom_status_name(name: &str) -> Result<Arc<str>> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ok {
        return Err(aiaudit_core::Error::InvalidEvent(format!(
            "custom status {name:?} must be 1 to 32 letters, digits or '_'"
        ))
        .into());
    }
    Ok(Arc::from(name.to_ascii_uppercase()))
}
