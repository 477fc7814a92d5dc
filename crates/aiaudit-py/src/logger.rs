//! `_native.Logger`: the base class of the Python `AuditLogger`.
//!
//! The class is subclassable and opens its log lazily: seed 000's `ExternalAuditLogger` defines
//! its own `__init__` without calling `super().__init__()`, and must still log (to the default
//! log) when it calls `super().log_event(...)`.

use aiaudit::Event;
use aiaudit_core::event::types;
use aiaudit_core::{Actor, ModelRef, Operation, Status};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crate::convert;
use crate::errors::{IntoPyResult, raise};
use crate::registry::{self, OpenOptions, Shared};
use crate::source;

/// What one Python object holds: the shared log and its own settings.
pub(crate) struct Handle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) path: PathBuf,
    statuses: Vec<Arc<str>>,
    sync: bool,
    capture_source: bool,
    service: Option<String>,
    /// Keep prediction inputs only as their hash.
    hash_inputs: bool,
    closed: AtomicBool,
}

/// The native half of `aiaudit.AuditLogger`.
#[pyclass(subclass, frozen, module = "aiaudit._native", name = "Logger")]
pub struct Logger {
    handle: OnceLock<Handle>,
}

/// The default database: `$AIAUDIT_DB`, else `aiaudit.db` in the working directory.
fn default_path() -> PathBuf {
    std::env::var_os("AIAUDIT_DB")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("aiaudit.db"))
}

/// Settings of `_open`.
struct Settings {
    path: Option<PathBuf>,
    durability: String,
    statuses: Vec<String>,
    origin: Option<String>,
    key_path: Option<PathBuf>,
    service: Option<String>,
    capture_source: bool,
    policy: Option<PathBuf>,
    redact: bool,
    input_mode: String,
}

/// `"full"` or `"hash"`: whether a prediction's input is kept, or only its hash.
fn hash_inputs(py: Python<'_>, mode: &str) -> PyResult<bool> {
    match mode {
        "full" => Ok(false),
        "hash" => Ok(true),
        other => Err(raise(
            py,
            "InvalidEventError",
            format!("input_mode must be \"full\" or \"hash\", got {other:?}"),
        )),
    }
}

fn open_handle(py: Python<'_>, s: Settings) -> PyResult<Handle> {
    let hash_inputs = hash_inputs(py, &s.input_mode)?;
    let sync = match s.durability.to_ascii_lowercase().as_str() {
        "async" => false,
        "sync" => true,
        other => {
            return Err(raise(
                py,
                "InvalidEventError",
                format!("durability must be \"async\" or \"sync\", got {other:?}"),
            ));
        }
    };
    let path = s.path.unwrap_or_else(default_path);
    aiaudit::location::check_supported(&path).py(py)?;
    let path = registry::canonical(&path)
        .map_err(|e| raise(py, "AuditError", format!("opening the log: {e}")))?;
    let opts = OpenOptions {
        origin: s.origin,
        key_path: s.key_path,
        policy_file: s.policy,
        redact: s.redact,
    };
    let p = path.clone();
    let shared = py.detach(move || registry::open(&p, &opts)).py(py)?;
    let mut statuses = Vec::new();
    for name in &s.statuses {
        // A standard status is always accepted; only custom ones need keeping.
        if let Status::Custom(c) = shared.log.register_status(name).py(py)? {
            statuses.push(c);
        }
    }
    Ok(Handle {
        shared,
        path,
        statuses,
        sync,
        capture_source: s.capture_source,
        service: s.service,
        hash_inputs,
        closed: AtomicBool::new(false),
    })
}

/// Statuses a Python subclass declares in `VALID_STATUSES` (seed 000's extension point).
fn class_statuses(slf: &Bound<'_, Logger>) -> PyResult<Vec<String>> {
    let ty = slf.get_type();
    match ty.getattr("VALID_STATUSES") {
        Ok(v) if !v.is_none() => v.extract::<Vec<String>>(),
        _ => Ok(Vec::new()),
    }
}

impl Handle {
    fn check(&self, py: Python<'_>) -> PyResult<()> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(raise(py, "LogClosedError", "this logger is closed".into()));
        }
        if !self.shared.usable() {
            return Err(raise(
                py,
                "LogBusyError",
                format!(
                    "{} was opened by process {} before a fork; a forked process must open a \
                     log of its own (another file) or log through `aiaudit serve`",
                    self.path.display(),
                    self.shared.pid
                ),
            ));
        }
        Ok(())
    }

    fn status(&self, py: Python<'_>, name: &str) -> PyResult<Status> {
        if let Some(s) = Status::standard(name) {
            return Ok(s);
        }
        if let Some(c) = self.statuses.iter().find(|c| c.eq_ignore_ascii_case(name)) {
            return Ok(Status::Custom(Arc::clone(c)));
        }
        let mut known: Vec<&str> = Status::STANDARD.iter().map(|s| s.as_str()).collect();
        known.extend(self.statuses.iter().map(|s| &**s));
        Err(raise(
            py,
            "InvalidEventError",
            format!("unknown status {name:?}; known: {}", known.join(", ")),
        ))
    }

    fn submit(&self, py: Python<'_>, mut event: Event) -> PyResult<()> {
        self.check(py)?;
        if event.source.file.is_none() {
            match self
                .capture_source
                .then(|| source::caller(py))
                .transpose()?
            {
                Some(Some((file, line, function))) => {
                    event.source.file = Some(file.into());
                    event.source.line = Some(line);
                    event.source.function = Some(function.into());
                }
                _ => event.source.file = Some("<python>".into()),
            }
        }
        if let Some(svc) = &self.service {
            let actor = event.actor.get_or_insert_with(Actor::default);
            if actor.service.is_none() {
                actor.service = Some(svc.clone());
            }
        }
        let log = &self.shared.log;
        // Never block on a full queue with the GIL held.
        if let Err(event) = log.try_log(event).py(py)? {
            py.detach(|| log.log(event)).py(py)?;
        }
        if self.sync {
            py.detach(|| log.flush()).py(py)?;
        }
        Ok(())
    }
}

impl Logger {
    /// This object's handle, opening the default log on first use if `_open` never ran.
    pub(crate) fn handle<'a>(slf: &'a Bound<'_, Logger>) -> PyResult<&'a Handle> {
        let me = slf.get();
        if let Some(h) = me.handle.get() {
            return Ok(h);
        }
        let py = slf.py();
        let settings = Settings {
            path: None,
            durability: "async".into(),
            statuses: class_statuses(slf)?,
            origin: None,
            key_path: None,
            service: None,
            capture_source: true,
            policy: None,
            redact: true,
            input_mode: "full".into(),
        };
        let h = open_handle(py, settings)?;
        if let Err(extra) = me.handle.set(h) {
            // Another thread opened it first; give back this open.
            registry::release(&extra.path);
        }
        me.handle
            .get()
            .ok_or_else(|| raise(py, "AuditError", "the logger failed to open".into()))
    }
}

#[pymethods]
impl Logger {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        Logger {
            handle: OnceLock::new(),
        }
    }

    /// Opens (or joins) the log at `path`.
    #[pyo3(signature = (path=None, *, durability="async".to_owned(), statuses=None, origin=None, key_path=None, service=None, capture_source=true, policy=None, redact=true, input_mode="full".to_owned()))]
    #[allow(clippy::too_many_arguments)]
    fn _open(
        slf: &Bound<'_, Self>,
        path: Option<PathBuf>,
        durability: String,
        statuses: Option<Vec<String>>,
        origin: Option<String>,
        key_path: Option<PathBuf>,
        service: Option<String>,
        capture_source: bool,
        policy: Option<PathBuf>,
        redact: bool,
        input_mode: String,
    ) -> PyResult<()> {
        let py = slf.py();
        if slf.get().handle.get().is_some() {
            return Err(raise(
                py,
                "AuditError",
                "this logger is already open".into(),
            ));
        }
        let mut all = class_statuses(slf)?;
        all.extend(statuses.unwrap_or_default());
        let h = open_handle(
            py,
            Settings {
                path,
                durability,
                statuses: all,
                origin,
                key_path,
                service,
                capture_source,
                policy,
                redact,
                input_mode,
            },
        )?;
        if let Err(extra) = slf.get().handle.set(h) {
            registry::release(&extra.path);
        }
        Ok(())
    }

    /// Logs an event (seed 000): `status` is one of the standard statuses or a registered
    /// custom one; `details` a dict.
    #[pyo3(signature = (event_name, details=None, status="INFO"))]
    fn log_event(
        slf: &Bound<'_, Self>,
        event_name: &str,
        details: Option<&Bound<'_, PyAny>>,
        status: &str,
    ) -> PyResult<()> {
        let py = slf.py();
        let h = Logger::handle(slf)?;
        let status = h.status(py, status)?;
        let mut event = Event::new(types::EVENT, event_name).status(status);
        event.details = convert::details(details)?;
        h.submit(py, event)
    }

    /// Logs an event with every field of the schema.
    #[pyo3(signature = (type_, name, *, status="INFO", details=None, user=None, service=None, ip=None, subject=None, operation_id=None, operation_name=None, parent=None, model=None, model_version=None, regulations=None, occurred_ns=None, source=None))]
    #[allow(clippy::too_many_arguments)]
    fn record(
        slf: &Bound<'_, Self>,
        type_: String,
        name: String,
        status: &str,
        details: Option<&Bound<'_, PyAny>>,
        user: Option<String>,
        service: Option<String>,
        ip: Option<String>,
        subject: Option<String>,
        operation_id: Option<String>,
        operation_name: Option<String>,
        parent: Option<String>,
        model: Option<String>,
        model_version: Option<String>,
        regulations: Option<Vec<String>>,
        occurred_ns: Option<i64>,
        source: Option<(String, u32, String)>,
    ) -> PyResult<()> {
        let py = slf.py();
        let h = Logger::handle(slf)?;
        let mut event = Event::new(type_, name).status(h.status(py, status)?);
        event.details = convert::details(details)?;
        if user.is_some() || service.is_some() || ip.is_some() {
            event.actor = Some(Actor { user, service, ip });
        }
        event.subject = subject;
        if operation_id.is_some() || operation_name.is_some() {
            event.operation = Some(Operation {
                id: operation_id,
                name: operation_name,
            });
        }
        event.parent = parent;
        if let Some(name) = model {
            event.model = Some(ModelRef {
                name,
                version: model_version,
            });
        }
        event.regulations = regulations.unwrap_or_default();
        event.occurred_ns = occurred_ns;
        if let Some((file, line, function)) = source {
            event.source.file = Some(file.into());
            event.source.line = Some(line);
            event.source.function = Some(function.into());
        }
        h.submit(py, event)
    }

    /// Records a prediction (seed 003) and returns its request id. The input is kept with
    /// `input_hash`, the SHA-256 of its RFC 8785 canonical JSON (indexed), or with
    /// `input_mode="hash"` (here or on the logger) only the hash; the request id is also the
    /// event's operation id, so that `get_by_request_id` is an indexed lookup.
    #[pyo3(signature = (model_name, model_version, input_data, output_data, user_id=None, latency_ms=None, metadata=None, *, input_mode=None))]
    #[allow(clippy::too_many_arguments)]
    fn log(
        slf: &Bound<'_, Self>,
        model_name: String,
        model_version: String,
        input_data: &Bound<'_, PyAny>,
        output_data: &Bound<'_, PyAny>,
        user_id: Option<String>,
        latency_ms: Option<f64>,
        metadata: Option<&Bound<'_, PyAny>>,
        input_mode: Option<&str>,
    ) -> PyResult<String> {
        let py = slf.py();
        let h = Logger::handle(slf)?;
        let hash_only = match input_mode {
            Some(m) => hash_inputs(py, m)?,
            None => h.hash_inputs,
        };
        let input = convert::value(input_data, "input_data")?;
        let output = convert::value(output_data, "output_data")?;
        let metadata = match metadata {
            Some(m) if !m.is_none() => convert::value(m, "metadata")?,
            _ => Value::Null,
        };
        let request_id = crate::new_request_id();
        let mut details = Map::new();
        details.insert("request_id".into(), Value::String(request_id.clone()));
        details.insert(
            aiaudit_core::store::indexed::INPUT_HASH.into(),
            Value::String(crate::input_hash(&input)?),
        );
        if !hash_only {
            details.insert("input".into(), input);
        }
        details.insert("output".into(), output);
        details.insert(
            "latency_ms".into(),
            latency_ms
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
        );
        details.insert("metadata".into(), metadata);
        let mut event = Event::new(types::MODEL_INFERENCE, format!("{model_name} prediction"))
            .model(model_name, model_version)
            .operation(request_id.clone(), "prediction");
        event.details = details;
        if let Some(u) = user_id {
            event = event.user(u);
        }
        h.submit(py, event)?;
        Ok(request_id)
    }

    /// Erases a data subject (GDPR Art. 17, crypto-shredding): after everything queued is
    /// sealed, destroys the subject's key and records the erasure. Returns whether a key
    /// existed.
    #[pyo3(signature = (subject, reason=None))]
    fn forget(slf: &Bound<'_, Self>, subject: String, reason: Option<String>) -> PyResult<bool> {
        let py = slf.py();
        let h = Logger::handle(slf)?;
        h.check(py)?;
        if subject.trim().is_empty() {
            return Err(raise(
                py,
                "InvalidEventError",
                "forget needs a data subject".into(),
            ));
        }
        let log = &h.shared.log;
        let (existed, _seq) = py
            .detach(|| aiaudit::subjects::forget(log, &subject, reason.as_deref()))
            .py(py)?;
        Ok(existed)
    }

    /// Records an OTLP export request (`signal` `"traces"` or `"logs"`, `data` its protobuf
    /// bytes) through the same mapping as `aiaudit serve`'s `/v1/traces` and `/v1/logs`: one
    /// event per span or log record, all or none. Returns how many were recorded.
    #[pyo3(signature = (signal, data, *, keep_content=false))]
    fn _record_otlp(
        slf: &Bound<'_, Self>,
        signal: &str,
        data: &[u8],
        keep_content: bool,
    ) -> PyResult<usize> {
        use aiaudit_otlp::{Encoding, logs, traces};
        let py = slf.py();
        let h = Logger::handle(slf)?;
        h.check(py)?;
        let mut opts =
            aiaudit_otlp::Options::new(h.service.clone().unwrap_or_else(|| "python".into()));
        opts.keep_content = keep_content;
        let traces_signal = match signal {
            "traces" => true,
            "logs" => false,
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "signal {other:?}: want \"traces\" or \"logs\""
                )));
            }
        };
        // Decoding and mapping a batch need no interpreter.
        let events = py
            .detach(|| {
                if traces_signal {
                    traces::decode(data, Encoding::Protobuf)
                        .and_then(|r| traces::to_events(r, &opts))
                } else {
                    logs::decode(data, Encoding::Protobuf).and_then(|r| logs::to_events(r, &opts))
                }
            })
            .map_err(|e| raise(py, "InvalidEventError", e.to_string()))?;
        let count = events.len();
        if count == 0 {
            return Ok(0);
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let sub = aiaudit::Submission::new(events).on_sealed(move |r| {
            let _ = tx.send(r);
        });
        let log = &h.shared.log;
        py.detach(|| log.submit(sub)).py(py)?;
        match py.detach(move || rx.recv()) {
            Ok(Ok(_)) => {}
            Ok(Err(aiaudit::NotSealed::Rejected { index, why })) => {
                return Err(raise(
                    py,
                    "InvalidEventError",
                    format!("event {index}: {why}"),
                ));
            }
            Ok(Err(aiaudit::NotSealed::Stopped(why))) => {
                return Err(raise(py, "AuditError", why));
            }
            Err(_) => return Err(raise(py, "AuditError", "the writer dropped a batch".into())),
        }
        if h.sync {
            py.detach(|| log.flush()).py(py)?;
        }
        Ok(count)
    }

    /// Waits until everything logged through this log is committed; returns the log size.
    fn flush(slf: &Bound<'_, Self>) -> PyResult<u64> {
        let py = slf.py();
        let h = Logger::handle(slf)?;
        h.check(py)?;
        py.detach(|| h.shared.log.flush()).py(py)
    }

    /// Commits everything queued and lets go of the log (it closes when its last user does).
    fn close(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let Some(h) = slf.get().handle.get() else {
            return Ok(());
        };
        if h.closed.swap(true, Ordering::SeqCst) || !h.shared.usable() {
            return Ok(());
        }
        let result = py.detach(|| h.shared.log.flush());
        if let Some(last) = registry::release(&h.path) {
            py.detach(|| last.log.close()).py(py)?;
        }
        result.map(|_| ()).py(py)
    }

    /// True once `close()` ran.
    #[getter]
    fn closed(&self) -> bool {
        self.handle
            .get()
            .is_some_and(|h| h.closed.load(Ordering::Relaxed))
    }

    /// The database file.
    #[getter]
    fn path(slf: &Bound<'_, Self>) -> PyResult<PathBuf> {
        Ok(Logger::handle(slf)?.path.clone())
    }

    /// The log's origin (the name in its checkpoints).
    #[getter]
    fn origin(slf: &Bound<'_, Self>) -> PyResult<String> {
        Ok(Logger::handle(slf)?.shared.log.info().origin.clone())
    }

    /// The verifier key the log's checkpoints are signed with now (after a key rotation, the
    /// newest).
    #[getter]
    fn verifier_key(slf: &Bound<'_, Self>) -> PyResult<String> {
        let log = &Logger::handle(slf)?.shared.log;
        let key = log.reader().and_then(|r| r.verifier());
        key.map(|k| k.to_string()).py(slf.py())
    }
}
