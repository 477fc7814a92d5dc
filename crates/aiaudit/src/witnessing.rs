//! Witnessing from the embedded writer (feature `witness`): a background thread shows the log's
//! latest checkpoint to each configured c2sp.org/tlog-witness witness every interval, from the
//! size that witness holds, with the consistency proof, and keeps each cosignature that
//! verifies in the cosignatures file beside the log (`<db>.cosignatures`, the format of
//! docs/format.md §12). The thread never touches the writer: a witness that is down or slow
//! costs ingest nothing, and is asked again at the next round.
//!
//! ```no_run
//! use aiaudit::AuditLogger;
//! use aiaudit::witnessing::{WitnessTarget, Witnesses};
//! use aiaudit_core::cosignature::CosignatureVerifier;
//!
//! let w1 = WitnessTarget {
//!     name: "w1".into(),
//!     url: "https://w1.example/".into(),
//!     key: CosignatureVerifier::parse("w1.example/w+5e6f7a8b+BB…")?,
//! };
//! let log = AuditLogger::builder("audit.db")
//!     .witnesses(Witnesses::new(vec![w1], std::time::Duration::from_secs(10)))
//!     .open()?;
//! log.log_event("step", serde_json::json!({"i": 1}), "INFO")?;
//! // Later: the newest checkpoint a witness cosigned, with every cosignature it has.
//! let cosigned: Option<String> = log.cosigned_checkpoint()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

pub use aiaudit_witness::WitnessTarget;
use aiaudit_witness::{Cosignatures, cosign};

use crate::error::{Error, Result};
use crate::reader::LogReader;

/// How long one request to a witness may take: a hung witness delays only its own round, and
/// `close` by at most this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// The witnesses an embedded logger submits its checkpoints to, and how often.
#[derive(Debug, Clone)]
pub struct Witnesses {
    /// The witnesses.
    pub targets: Vec<WitnessTarget>,
    /// The time between two rounds.
    pub every: Duration,
    /// The cosignatures file (default: the database path with extension `cosignatures`).
    pub book: Option<PathBuf>,
}

impl Witnesses {
    /// `targets`, asked every `every`, with the default cosignatures file.
    pub fn new(targets: Vec<WitnessTarget>, every: Duration) -> Self {
        Witnesses {
            targets,
            every,
            book: None,
        }
    }
}

/// The default cosignatures file of the log at `db`.
pub fn default_book_path(db: &Path) -> PathBuf {
    crate::location::local_base(db).with_extension("cosignatures")
}

/// The running witnessing thread; dropping the stop sender ends it.
pub(crate) struct Running {
    stop: Sender<()>,
    thread: JoinHandle<()>,
    book: PathBuf,
}

impl Running {
    /// Ends the thread after its current request, at most [`REQUEST_TIMEOUT`] away.
    pub(crate) fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }

    /// The cosignatures file.
    pub(crate) fn book(&self) -> &Path {
        &self.book
    }
}

/// Starts the rounds over the log at `db` (read through its own reader).
pub(crate) fn start(db: &Path, w: Witnesses) -> Result<Running> {
    let book_path = w.book.clone().unwrap_or_else(|| default_book_path(db));
    let book = Cosignatures::open(&book_path).map_err(|e| Error::Config {
        path: book_path.clone(),
        why: e.to_string(),
    })?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| Error::Config {
            path: book_path.clone(),
            why: format!("no HTTP client for the witnesses: {e}"),
        })?;
    let (stop, stopped) = std::sync::mpsc::channel();
    let db = db.to_owned();
    let thread = std::thread::Builder::new()
        .name("aiaudit-witnessing".into())
        .spawn(move || rounds(&db, &w, &book, &client, &stopped))
        .map_err(|source| Error::Io {
            path: book_path.clone(),
            source,
        })?;
    Ok(Running {
        stop,
        thread,
        book: book_path,
    })
}

fn rounds(
    db: &Path,
    w: &Witnesses,
    book: &Cosignatures,
    client: &reqwest::Client,
    stopped: &Receiver<()>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "no runtime for the witnesses; witnessing is off");
            return;
        }
    };
    let mut held = book.held(&w.targets);
    let mut reader = None;
    loop {
        if reader.is_none() {
            reader = LogReader::open(db).ok();
        }
        if let Some(r) = &reader {
            round(&rt, r, w, book, client, &mut held, stopped);
        }
        match stopped.recv_timeout(w.every) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn round(
    rt: &tokio::runtime::Runtime,
    r: &LogReader,
    w: &Witnesses,
    book: &Cosignatures,
    client: &reqwest::Client,
    held: &mut std::collections::BTreeMap<String, u64>,
    stopped: &Receiver<()>,
) {
    let Ok(cp) = r.checkpoint() else { return };
    for t in &w.targets {
        if stopped.try_recv().is_ok() {
            return;
        }
        let h = held.get(&t.name).copied().unwrap_or(0);
        if h >= cp.size {
            continue;
        }
        let size = cp.size;
        let got = rt.block_on(cosign(client, t, &cp.note, size, h, |old| {
            let proof = r
                .prove_consistency(old, Some(size))
                .map(|b| b.proof)
                .map_err(|e| format!("no consistency proof from {old}: {e}"));
            std::future::ready(proof)
        }));
        match got {
            Ok((line, time)) => {
                book.keep(&t.name, size, &cp.note, &line, time);
                held.insert(t.name.clone(), size);
            }
            Err(why) => tracing::warn!(witness = %t.name, size, %why, "not cosigned"),
        }
    }
}

/// The newest checkpoint in the cosignatures file at `path` that a witness cosigned, with all
/// of its cosignatures.
pub(crate) fn latest_cosigned(path: &Path) -> Result<Option<String>> {
    let book = Cosignatures::open(path).map_err(|e| Error::Config {
        path: path.to_owned(),
        why: e.to_string(),
    })?;
    Ok(book.latest_cosigned())
}
