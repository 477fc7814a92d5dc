//! Opening a log: the builder, key handling and the writer's start.

use aiaudit_core::redact::{Policy, Redactor};
use aiaudit_core::{LogInfo, NoteSigner, Store, timefmt};
use aiaudit_sqlite::{SqliteStore, SubjectKeyFile};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex, RwLock};

use crate::error::{Error, Result};
use crate::handoff::Shared;
use crate::keyfile;
use crate::logger::{AuditLogger, Durability, custom_status_name};
use crate::queue::Queue;
use crate::writer::{Writer, damaged, resume};
use crate::writer_lock::WriterLock;

/// Configures and opens an [`AuditLogger`].
#[derive(Debug)]
pub struct AuditLoggerBuilder {
    path: PathBuf,
    durability: Durability,
    queue_size: usize,
    batch_size: usize,
    key_path: Option<PathBuf>,
    signers: Option<Vec<NoteSigner>>,
    #[cfg(feature = "witness")]
    witnesses: Option<crate::witnessing::Witnesses>,
    origin: Option<String>,
    custom_statuses: Vec<Arc<str>>,
    service: Option<String>,
    redaction: Policy,
    policy_file: Option<PathBuf>,
    hmac_key: Option<[u8; 32]>,
    hmac_key_path: Option<PathBuf>,
    subject_keys_path: Option<PathBuf>,
    observer: Option<ObserverSlot>,
    outage_limit: Option<std::time::Duration>,
    /// This open created the log.
    fresh: bool,
    /// A missing redaction secret or subject key file may be made for an existing log.
    make_side_files: bool,
}

impl AuditLogger {
    /// Configures a log at `path` (an SQLite file, or a PostgreSQL URL).
    pub fn builder(path: impl Into<PathBuf>) -> AuditLoggerBuilder {
        AuditLoggerBuilder::new(path)
    }
}

impl AuditLoggerBuilder {
    pub(crate) fn new(path: impl Into<PathBuf>) -> Self {
        AuditLoggerBuilder {
            path: path.into(),
            durability: Durability::default(),
            queue_size: 16_384,
            batch_size: 8_192,
            key_path: None,
            signers: None,
            #[cfg(feature = "witness")]
            witnesses: None,
            origin: None,
            custom_statuses: Vec::new(),
            service: None,
            redaction: Policy::default(),
            policy_file: None,
            hmac_key: None,
            hmac_key_path: None,
            subject_keys_path: None,
            observer: None,
            outage_limit: None,
            fresh: false,
            make_side_files: false,
        }
    }

    /// Lets the open make a redaction secret or subject key file that is missing beside a log
    /// that already holds events (what `aiaudit init` does on an existing log). Without it, a
    /// missing one is refused: a new secret would pseudonymise the same values differently from
    /// the records already sealed, and a new key file would leave every encrypted field
    /// unreadable, both without a word.
    pub fn create_side_files(mut self, yes: bool) -> Self {
        self.make_side_files = yes;
        self
    }

    /// How long a failure that can pass (a full disk, a lost connection) is ridden out before
    /// the writer gives up and stops (default: for as long as it lasts — a service waits for
    /// the store to come back; a one-shot command would rather fail).
    pub fn outage_limit(mut self, limit: std::time::Duration) -> Self {
        self.outage_limit = Some(limit);
        self
    }

    /// When calls return (default [`Durability::Async`]).
    pub fn durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }

    /// Events the queue holds before callers block (default 16,384).
    pub fn queue_size(mut self, n: usize) -> Self {
        self.queue_size = n.max(1);
        self
    }

    /// Most events per commit (default 8,192); a batch given to [`AuditLogger::submit`] is
    /// never split, so a commit may hold more when one is larger.
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// Where the signing key file is (default: the database path with extension `key`).
    pub fn signing_key_path(mut self, p: impl Into<PathBuf>) -> Self {
        self.key_path = Some(p.into());
        self
    }

    /// Signs with this key instead of a key file.
    pub fn signing_key(mut self, signer: NoteSigner) -> Self {
        self.signers = Some(vec![signer]);
        self
    }

    /// Signs every checkpoint with each of these keys instead of the key files: for a key
    /// transition ([`crate::keys`]). At least one must be a key the log signs with now.
    pub fn signing_keys(mut self, signers: Vec<NoteSigner>) -> Self {
        self.signers = Some(signers);
        self
    }

    /// Shows each new checkpoint to these witnesses in the background and keeps their
    /// cosignatures ([`crate::witnessing`]; [`AuditLogger::cosigned_checkpoint`]).
    #[cfg(feature = "witness")]
    pub fn witnesses(mut self, w: crate::witnessing::Witnesses) -> Self {
        self.witnesses = Some(w);
        self
    }

    /// The origin (log name) of a new log's checkpoints, e.g. `acme.example/audit/prod`.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Registers a custom status in addition to the seven standard ones (1 to 32 letters,
    /// digits or `_`, kept in upper case; `open` refuses any other name).
    pub fn custom_status(mut self, status: impl Into<String>) -> Self {
        let s: String = status.into();
        self.custom_statuses.push(Arc::from(s));
        self
    }

    /// The service identity recorded as `actor.service` on events without one.
    pub fn service(mut self, name: impl Into<String>) -> Self {
        self.service = Some(name.into());
        self
    }

    /// The redaction policy applied to every event before it is sealed (default:
    /// [`Policy::default`]; [`Policy::disabled`] turns redaction off).
    pub fn redaction(mut self, policy: Policy) -> Self {
        self.redaction = policy;
        self
    }

    /// Reads the redaction policy from the `[redaction]` table of a TOML file when the log
    /// opens; a file that does not parse stops the open with an error naming the line.
    pub fn redaction_policy_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.policy_file = Some(path.into());
        self
    }

    /// The secret of the `hash` redaction action, instead of the key file.
    pub fn hmac_key(mut self, key: [u8; 32]) -> Self {
        self.hmac_key = Some(key);
        self
    }

    /// Where the secret of the `hash` action is kept (default: the database path with the
    /// extension `hmac`, beside the signing key; created, mode 0600, with the log).
    pub fn hmac_key_path(mut self, p: impl Into<PathBuf>) -> Self {
        self.hmac_key_path = Some(p.into());
        self
    }

    /// Where the per-subject keys of the `encrypt` action are kept (default: the database path
    /// with the extension `subjects`; created, mode 0600, when a policy first encrypts while
    /// the log is empty, or by [`AuditLoggerBuilder::create_side_files`]).
    pub fn subject_keys_path(mut self, p: impl Into<PathBuf>) -> Self {
        self.subject_keys_path = Some(p.into());
        self
    }

    /// Calls `f` after every commit with the batch's size and commit time (for metrics).
    pub fn on_commit(mut self, f: crate::submission::CommitObserver) -> Self {
        self.observer = Some(ObserverSlot(f));
        self
    }

    /// Opens the log, creating the database and the signing key if the log does not exist.
    pub fn open(mut self) -> Result<AuditLogger> {
        self.load_policy()?;
        let key_path = self
            .key_path
            .clone()
            .unwrap_or_else(|| keyfile::default_key_path(&self.path));
        crate::location::check_supported(&self.path)?;
        #[cfg(feature = "postgres")]
        if let Some(url) = crate::location::postgres_url(&self.path) {
            let url = url.to_owned();
            return self.open_postgres(&url, &key_path);
        }
        // One writer per log: a second would sequence from a stale tree. The file is checked
        // first, so that a wrong path gets no lock file beside it.
        // The lock is taken by the file's real name and on the file itself, so that no other
        // path to it (a link, a bind mount) makes a second writer.
        let real = aiaudit_sqlite::resolve(&self.path)?;
        let (store, signers, lock) = if real.exists() {
            // Something that cannot be a log gets nothing written beside it.
            aiaudit_sqlite::check_kind(&self.path, &real)?;
            // A writer that cannot write would report ready and fail at its first commit.
            if let Err(e) = std::fs::OpenOptions::new().write(true).open(&real) {
                return Err(Error::Io {
                    path: self.path.clone(),
                    source: std::io::Error::new(
                        e.kind(),
                        format!(
                            "cannot open it for writing ({e}): a writer needs write access to the log (a read-only copy can still be verified, queried and proved)"
                        ),
                    ),
                });
            }
            // Locked before SQLite opens the file: a connection by another name would make a
            // WAL of its own there.
            let lock = WriterLock::take(&real, &self.path)?;
            let store = match SqliteStore::open(&self.path) {
                Ok(s) => s,
                Err(e) => {
                    lock.discard();
                    let e = aiaudit_core::Error::from(e);
                    return Err(match aiaudit_sqlite::failure_of(&e) {
                        aiaudit_core::Failure::Damage => damaged(&self.path, &e),
                        _ => e.into(),
                    });
                }
            };
            let signers = self.existing_signers(
                &store,
                &key_path,
                "restore its key or name its file (--signing-key)",
            )?;
            (store, signers, lock)
        } else {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty())
                && !dir.is_dir()
            {
                return Err(Error::NotFound(format!(
                    "cannot create {}: the directory {} does not exist",
                    self.path.display(),
                    dir.display()
                )));
            }
            let mut lock = WriterLock::take(&real, &self.path)?;
            self.fresh = true;
            let (signer, info) = self.new_identity(&key_path)?;
            let store = SqliteStore::create(&self.path, &info)?;
            lock.lock_file(&real, &self.path)?;
            (store, vec![signer], lock)
        };
        let logger = self.start(Box::new(store), signers)?;
        *logger.writer_lock.lock().unwrap_or_else(|p| p.into_inner()) = Some(lock);
        Ok(logger)
    }

    /// A log in PostgreSQL, which other writers may share: no writer lock (the store's head
    /// lock orders the writers), and every writer must hold the log's signing key.
    #[cfg(feature = "postgres")]
    fn open_postgres(mut self, url: &str, key_path: &Path) -> Result<AuditLogger> {
        use aiaudit_postgres::PostgresStore;
        let (store, signers) = if PostgresStore::exists(url)? {
            let store = PostgresStore::open(url)?;
            let signers = self.existing_signers(
                &store,
                key_path,
                "copy its key here from the host that created it, or name its file (--signing-key)",
            )?;
            (store, signers)
        } else {
            self.fresh = true;
            let (signer, info) = self.new_identity(key_path)?;
            (PostgresStore::create(url, &info)?, vec![signer])
        };
        self.start(Box::new(store), signers)
    }

    /// The signers of an existing log: the ones given, else the key file and the next key
    /// file of a rotation, less any key the log's history retired (see [`crate::keys`]).
    /// `hint` says what to do when the file is missing.
    fn existing_signers(
        &mut self,
        store: &dyn Store,
        key_path: &Path,
        hint: &str,
    ) -> Result<Vec<NoteSigner>> {
        let info = store.info()?;
        let shown = crate::location::display(&self.path);
        let loaded = match self.signers.take() {
            Some(s) => s.into_iter().map(|k| (key_path.to_owned(), k)).collect(),
            None => crate::keys::load_files(key_path).map_err(|e| match e {
                Error::Key { path, why } => Error::Key {
                    path,
                    why: format!(
                        "{why}; the log {shown} is signed by {} — {hint}",
                        info.verifier_key
                    ),
                },
                other => other,
            })?,
        };
        let (history, _) = crate::keys::history(store, &info)?;
        crate::keys::signers_for(&history, loaded, &shown)
    }

    /// The signer (made, or read from an existing key file) and metadata of a new log.
    fn new_identity(&mut self, key_path: &Path) -> Result<(NoteSigner, LogInfo)> {
        let signer = keyfile::create_for_log(
            &self.path,
            key_path,
            self.signers.take().and_then(|s| s.into_iter().next()),
            self.origin.as_deref(),
        )?;
        let info = LogInfo {
            origin: signer.name().to_owned(),
            verifier_key: signer.verifier().to_string(),
            created_ns: timefmt::now_ns(),
        };
        Ok((signer, info))
    }

    /// Opens the logger over any [`Store`] (another backend, or a test's failing store).
    pub fn open_with_store(
        mut self,
        store: Box<dyn Store>,
        signer: NoteSigner,
    ) -> Result<AuditLogger> {
        self.signers = Some(vec![signer]);
        let path = self.path.clone();
        let signers = self.existing_signers(store.as_ref(), &path, "give the log's key")?;
        self.start(store, signers)
    }

    /// Reads the policy file, if one is named, into the builder's policy: before anything is
    /// created, so that a bad policy leaves no trace.
    fn load_policy(&mut self) -> Result<()> {
        let policy = match &self.policy_file {
            Some(f) => {
                let text = std::fs::read_to_string(f).map_err(|source| Error::Io {
                    path: f.clone(),
                    source,
                })?;
                Policy::from_toml(&text).map_err(|e| Error::Config {
                    path: f.clone(),
                    why: e.to_string(),
                })?
            }
            None => return Ok(()),
        };
        self.redaction = policy;
        self.policy_file = None;
        Ok(())
    }

    /// The subject key file, when the policy encrypts. It is made only while the log holds
    /// no event (or when asked): otherwise a missing file means keys were lost.
    fn subject_keys(&self, may_create: bool) -> Result<Option<Arc<SubjectKeyFile>>> {
        if !self.redaction.uses_encryption() {
            return Ok(None);
        }
        let path = self.subject_keys_path.clone().unwrap_or_else(|| {
            aiaudit_sqlite::default_keys_path(&crate::location::local_base(&self.path))
        });
        if !may_create && !path.exists() {
            return Err(missing_side_file(
                &path,
                &self.path,
                "subject key file",
                "every field encrypted to a data subject would become unreadable, as if each subject had been erased",
            ));
        }
        Ok(Some(Arc::new(SubjectKeyFile::open(&path, true)?)))
    }

    /// The compiled redaction policy. The secret of the `hash` action is made while the log
    /// holds no event, or when asked; otherwise a missing one is refused.
    fn redactor(&mut self, may_create: bool) -> Result<Option<Arc<Redactor>>> {
        self.load_policy()?;
        if !self.redaction.enabled {
            return Ok(None);
        }
        let key = match self.hmac_key {
            Some(k) => k,
            None => {
                let path = self.hmac_key_path.clone().unwrap_or_else(|| {
                    crate::location::local_base(&self.path).with_extension("hmac")
                });
                if !may_create && !path.exists() {
                    return Err(missing_side_file(
                        &path,
                        &self.path,
                        "redaction secret",
                        "a new secret would pseudonymise the same values differently from the records already sealed",
                    ));
                }
                keyfile::load_or_create_secret(&path)?
            }
        };
        Ok(Some(Arc::new(Redactor::new(&self.redaction, Some(key))?)))
    }

    fn start(mut self, store: Box<dyn Store>, signers: Vec<NoteSigner>) -> Result<AuditLogger> {
        let may_create = self.fresh || self.make_side_files || store.size()? == 0;
        let redactor = self.redactor(may_create)?;
        let subject_keys = self.subject_keys(may_create)?;
        let custom: Vec<Arc<str>> = self
            .custom_statuses
            .iter()
            .map(|s| custom_status_name(s))
            .collect::<Result<_>>()?;
        let (size, range) = resume(&self.path, store.as_ref())?;
        let info = store.info()?;
        let shared = Arc::new(Shared {
            outage_limit: self.outage_limit,
            ..Shared::default()
        });
        shared
            .committed
            .store(size, std::sync::atomic::Ordering::SeqCst);
        let queue = Arc::new(Queue::new(self.queue_size));
        let kept_signers = signers.clone();
        let writer = Writer::new(
            store,
            signers,
            range,
            Arc::clone(&queue),
            Arc::clone(&shared),
            self.batch_size,
            crate::host::process_source(),
            redactor.map(|r| (r, subject_keys)),
            self.subject_keys_path.clone().unwrap_or_else(|| {
                aiaudit_sqlite::default_keys_path(&crate::location::local_base(&self.path))
            }),
            self.observer.take().map(|o| o.0),
        );
        let thread = std::thread::Builder::new()
            .name("aiaudit-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| Error::Io {
                path: self.path.clone(),
                source: e,
            })?;
        #[cfg(feature = "witness")]
        let witnessing = match self.witnesses.take() {
            Some(w) if !w.targets.is_empty() => Some(crate::witnessing::start(&self.path, w)?),
            _ => None,
        };
        Ok(AuditLogger {
            #[cfg(feature = "witness")]
            witnessing: Mutex::new(witnessing),
            queue,
            shared,
            durability: self.durability,
            custom_statuses: RwLock::new(custom.into()),
            service: self.service,
            closed: AtomicBool::new(false),
            inflight: AtomicUsize::new(0),
            thread: Mutex::new(Some(thread)),
            path: self.path,
            info,
            writer_lock: Mutex::new(None),
            signers: kept_signers,
        })
    }
}

/// The commit observer, which has no `Debug` of its own.
struct ObserverSlot(crate::submission::CommitObserver);

impl std::fmt::Debug for ObserverSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommitObserver")
    }
}

/// The refusal of an existing log whose side file is gone.
fn missing_side_file(file: &Path, log: &Path, what: &str, why: &str) -> Error {
    let shown = crate::location::display(log);
    let restore = if crate::location::postgres_url(log).is_some() {
        "Copy it here from the host that created the log (a new one here would differ from it)"
    } else {
        "Restore the file from a backup"
    };
    Error::MissingSideFile {
        path: file.to_owned(),
        why: format!(
            "the {what} of {shown} is missing, and the log already holds events: if it had one, {why}. {restore}; only if it never had one, or it is lost for good, `aiaudit init --db {shown}` makes a new one (and records that it did)"
        ),
    }
}
