//! A store that fails on demand: a failed write poisons the logger, so every later call gets a
//! clear error instead of a silent gap, and what was committed before stays intact.

use aiaudit::{AuditLogger, Durability, Error, LogReader, VerifyOptions};
use aiaudit_core::{
    AppendBatch, Hash, LogInfo, NodeSource, NoteSigner, Query, Store, StoredCheckpoint, StoredEntry,
};
use aiaudit_sqlite::SqliteStore;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Delegates to SQLite; the append numbered `fail_at` (0-based) and every later one fail, like
/// a disk that reports an fsync error — or, with `outage`, only while the outage lasts, like a
/// full disk or a lost connection (`Failure::Transient`), or with `damage` as a corrupt page.
struct FailingStore {
    inner: SqliteStore,
    appends: Arc<AtomicUsize>,
    fail_at: usize,
    outage: Option<Arc<AtomicBool>>,
    damage: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("injected fsync failure (EIO)")]
struct Injected;

impl NodeSource for FailingStore {
    fn stored_nodes(&self, level: u32, start: u64, count: u64) -> aiaudit_core::Result<Vec<Hash>> {
        self.inner.stored_nodes(level, start, count)
    }
}

impl Store for FailingStore {
    fn info(&self) -> aiaudit_core::Result<LogInfo> {
        self.inner.info()
    }
    fn size(&self) -> aiaudit_core::Result<u64> {
        self.inner.size()
    }
    fn append(&mut self, batch: AppendBatch<'_>) -> aiaudit_core::Result<()> {
        let n = self.appends.fetch_add(1, Ordering::SeqCst);
        let failing = match &self.outage {
            Some(o) => o.load(Ordering::SeqCst),
            None => n >= self.fail_at,
        };
        if failing {
            return Err(aiaudit_core::Error::store(Injected));
        }
        self.inner.append(batch)
    }
    fn classify(&self, _: &aiaudit_core::Error) -> aiaudit_core::Failure {
        match (&self.outage, self.damage) {
            (_, true) => aiaudit_core::Failure::Damage,
            (Some(_), _) => aiaudit_core::Failure::Transient,
            (None, _) => aiaudit_core::Failure::Fatal,
        }
    }
    fn entry(&self, seq: u64) -> aiaudit_core::Result<Option<StoredEntry>> {
        self.inner.entry(seq)
    }
    fn entry_by_id(&self, id: &str) -> aiaudit_core::Result<Option<StoredEntry>> {
        self.inner.entry_by_id(id)
    }
    fn query(&self, q: &Query) -> aiaudit_core::Result<Vec<StoredEntry>> {
        self.inner.query(q)
    }
    fn scan(
        &self,
        from: u64,
        f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        self.inner.scan(from, f)
    }
    fn checkpoint(&self, size: u64) -> aiaudit_core::Result<Option<StoredCheckpoint>> {
        self.inner.checkpoint(size)
    }
    fn latest_checkpoint(&self) -> aiaudit_core::Result<Option<StoredCheckpoint>> {
        self.inner.latest_checkpoint()
    }
    fn checkpoints(
        &self,
        f: &mut dyn FnMut(StoredCheckpoint) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        self.inner.checkpoints(f)
    }
}

fn failing_logger(
    dir: &std::path::Path,
    fail_at: usize,
    durability: Durability,
) -> (AuditLogger, std::path::PathBuf) {
    logger_over(dir, fail_at, None, false, durability)
}

fn logger_over(
    dir: &std::path::Path,
    fail_at: usize,
    outage: Option<Arc<AtomicBool>>,
    damage: bool,
    durability: Durability,
) -> (AuditLogger, std::path::PathBuf) {
    let path = dir.join("f.db");
    let signer = NoteSigner::generate("test.example/failing").expect("key");
    let info = LogInfo {
        origin: signer.name().into(),
        verifier_key: signer.verifier().to_string(),
        created_ns: 0,
    };
    let store = FailingStore {
        inner: SqliteStore::create(&path, &info).expect("create"),
        appends: Arc::new(AtomicUsize::new(0)),
        fail_at,
        outage,
        damage,
    };
    let log = AuditLogger::builder(&path)
        .durability(durability)
        .batch_size(10)
        .open_with_store(Box::new(store), signer)
        .expect("open");
    (log, path)
}

#[test]
fn a_failed_commit_poisons_the_logger() {
    let dir = tempfile::tempdir().expect("tmp");
    let (log, path) = failing_logger(dir.path(), 3, Durability::Sync);
    for i in 0..3 {
        assert_eq!(
            log.log_event("ok", json!({"i": i}), "INFO")
                .expect("committed"),
            Some(i)
        );
    }
    let err = log
        .log_event("lost?", json!(null), "INFO")
        .expect_err("the 4th commit fails");
    assert!(err.to_string().contains("injected fsync failure"), "{err}");
    // Every later call is refused with the cause, never silently dropped.
    for _ in 0..3 {
        let err = log
            .log_event("later", json!(null), "INFO")
            .expect_err("poisoned");
        assert!(matches!(err, Error::Poisoned(_)), "{err:?}");
        assert!(err.to_string().contains("injected fsync failure"), "{err}");
    }
    assert!(log.flush().is_err());
    assert!(log.close().is_err(), "close reports the failure too");
    // What was acknowledged is there, and the log verifies.
    let r = LogReader::open(&path).expect("reader");
    assert_eq!(r.size().expect("size"), 3);
    let report = r
        .verify(&VerifyOptions::default(), &mut |_, _| {})
        .expect("verify");
    assert!(report.is_intact(), "{:?}", report.findings);
}

#[test]
fn async_callers_learn_of_the_failure_at_flush() {
    let dir = tempfile::tempdir().expect("tmp");
    let (log, path) = failing_logger(dir.path(), 0, Durability::Async);
    for _ in 0..25 {
        // Queued before the writer has failed, or refused after: either way nothing is silent.
        let _ = log.log_event("e", json!(null), "INFO");
    }
    let err = log.flush().expect_err("the commit failed");
    assert!(err.to_string().contains("injected fsync failure"), "{err}");
    assert!(log.log_event("after", json!(null), "INFO").is_err());
    drop(log);
    assert_eq!(
        LogReader::open(&path)
            .expect("reader")
            .size()
            .expect("size"),
        0
    );
}

#[test]
fn an_outage_is_ridden_out_and_the_writer_resumes_by_itself() {
    let dir = tempfile::tempdir().expect("tmp");
    let outage = Arc::new(AtomicBool::new(false));
    let (log, path) = logger_over(
        dir.path(),
        0,
        Some(Arc::clone(&outage)),
        false,
        Durability::Sync,
    );
    let log = Arc::new(log);
    assert_eq!(
        log.log_event("before", json!(null), "INFO").expect("ok"),
        Some(0)
    );
    outage.store(true, Ordering::SeqCst);
    // A caller during the outage waits for its commit: it is acknowledged only once durable.
    let during = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || log.log_event("during", json!(null), "INFO"))
    };
    let t = std::time::Instant::now();
    while !matches!(log.state(), aiaudit::WriterState::Retrying { .. }) {
        assert!(
            t.elapsed().as_secs() < 10,
            "the writer never reported the outage"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    if let aiaudit::WriterState::Retrying { error, .. } = log.state() {
        assert!(error.contains("injected fsync failure"), "{error}");
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        !during.is_finished(),
        "acknowledged while the store was failing"
    );
    outage.store(false, Ordering::SeqCst);
    assert_eq!(
        during
            .join()
            .expect("thread")
            .expect("committed after the outage"),
        Some(1)
    );
    assert_eq!(log.state(), aiaudit::WriterState::Running);
    assert_eq!(
        log.log_event("after", json!(null), "INFO").expect("ok"),
        Some(2)
    );
    assert_eq!(log.close().expect("close"), 3);
    let report = LogReader::open(&path)
        .expect("reader")
        .verify(&VerifyOptions::default(), &mut |_, _| {})
        .expect("verify");
    assert!(
        report.is_intact() && report.entries == 3,
        "{:?}",
        report.findings
    );
}

#[test]
fn closing_during_an_outage_says_how_many_events_were_not_committed() {
    let dir = tempfile::tempdir().expect("tmp");
    let outage = Arc::new(AtomicBool::new(true));
    let (log, path) = logger_over(dir.path(), 0, Some(outage), false, Durability::Async);
    for i in 0..7 {
        log.log_event("queued", json!({"i": i}), "INFO")
            .expect("queued");
    }
    let err = log.close().expect_err("the store never came back");
    let text = err.to_string();
    assert!(
        text.contains("the logger was closed") && text.contains("7 events were not committed"),
        "{text}"
    );
    assert_eq!(
        LogReader::open(&path)
            .expect("reader")
            .size()
            .expect("size"),
        0
    );
}

#[test]
fn damage_stops_the_writer_and_says_to_verify() {
    let dir = tempfile::tempdir().expect("tmp");
    let (log, _) = logger_over(dir.path(), 1, None, true, Durability::Sync);
    log.log_event("ok", json!(null), "INFO")
        .expect("first commit");
    let err = log
        .log_event("on damage", json!(null), "INFO")
        .expect_err("damage");
    assert!(err.to_string().contains("run `aiaudit verify`"), "{err}");
    assert!(matches!(log.state(), aiaudit::WriterState::Stopped { .. }));
    assert!(
        log.log_event("later", json!(null), "INFO").is_err(),
        "every write path refuses"
    );
}
