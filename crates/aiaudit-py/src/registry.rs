//! One open log per database file per process, shared by every Python object that logs to it.
//!
//! A log has one writer (the file lock), so `AuditLogger()` made twice on one path, or an
//! `AuditTrail` made per call of a decorated function, must reach the same writer instead of
//! failing or opening a new one each time. An entry counts the objects that opened it; the log
//! closes when the last of them closes, or at interpreter exit.

use aiaudit::{AuditLogger, Durability};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

/// A log open in this process.
pub(crate) struct Shared {
    pub(crate) log: AuditLogger,
    /// The process that opened it: after `fork`, the child has the object but not the writer
    /// thread.
    pub(crate) pid: u32,
}

impl Shared {
    /// True when this process owns the writer.
    pub(crate) fn usable(&self) -> bool {
        self.pid == CURRENT_PID.load(Ordering::Relaxed)
    }
}

struct Entry {
    shared: Arc<Shared>,
    opens: usize,
}

static REGISTRY: LazyLock<Mutex<HashMap<PathBuf, Entry>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
static CURRENT_PID: LazyLock<AtomicU32> = LazyLock::new(|| AtomicU32::new(std::process::id()));

/// Options of the first open of a path (later opens share what it made).
pub(crate) struct OpenOptions {
    pub(crate) origin: Option<String>,
    pub(crate) key_path: Option<PathBuf>,
    /// A TOML file with the `[redaction]` policy (default: the built-in policy).
    pub(crate) policy_file: Option<PathBuf>,
    /// False turns redaction off.
    pub(crate) redact: bool,
}

/// The absolute path of a database, whether or not it exists yet (its directory must).
pub(crate) fn canonical(path: &Path) -> std::io::Result<PathBuf> {
    if path.exists() {
        return path.canonicalize();
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a file path", path.display()),
        )
    })?;
    let dir = parent.canonicalize().map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("directory {} of the log: {e}", parent.display()),
        )
    })?;
    Ok(dir.join(name))
}

/// Opens `path` (absolute) or shares its open log.
pub(crate) fn open(path: &Path, opts: &OpenOptions) -> aiaudit::Result<Arc<Shared>> {
    let mut reg = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = reg.get_mut(path) {
        e.opens += 1;
        return Ok(Arc::clone(&e.shared));
    }
    let mut b = AuditLogger::builder(path).durability(Durability::Async);
    if let Some(o) = &opts.origin {
        b = b.origin(o.clone());
    }
    if let Some(k) = &opts.key_path {
        b = b.signing_key_path(k.clone());
    }
    if let Some(p) = &opts.policy_file {
        b = b.redaction_policy_file(p.clone());
    }
    if !opts.redact {
        b = b.redaction(aiaudit::redact::Policy::disabled());
    }
    let shared = Arc::new(Shared {
        log: b.open()?,
        pid: std::process::id(),
    });
    reg.insert(
        path.to_path_buf(),
        Entry {
            shared: Arc::clone(&shared),
            opens: 1,
        },
    );
    Ok(shared)
}

/// One opener of `path` is done; the last one out closes the log (returns it to be closed
/// without the registry locked).
pub(crate) fn release(path: &Path) -> Option<Arc<Shared>> {
    let mut reg = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    let e = reg.get_mut(path)?;
    e.opens = e.opens.saturating_sub(1);
    if e.opens > 0 {
        return None;
    }
    reg.remove(path).map(|e| e.shared)
}

/// Every log this process opened, removed from the registry (interpreter exit).
pub(crate) fn take_all() -> Vec<Arc<Shared>> {
    let mut reg = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    reg.drain().map(|(_, e)| e.shared).collect()
}

/// In a forked child: the parent's logs have no writer thread here. They are forgotten, not
/// dropped (dropping would wait for a writer that does not exist), and every handle to them
/// reports the fork.
pub(crate) fn after_fork_in_child() {
    CURRENT_PID.store(std::process::id(), Ordering::Relaxed);
    let mut reg = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    for (_, e) in reg.drain() {
        e.shared.log.release_lock_after_fork();
        std::mem::forget(e.shared);
    }
}
