//! One sink's delivery loop, on its own thread with a current-thread tokio runtime for the
//! sink's async I/O.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use aiaudit::{LogReader, Query};

use crate::config::SinkConfig;
use crate::cursors::Cursors;
use crate::error::{Error, Result};
use crate::sinks::{self, Sink};

/// How long a caught-up sink waits for a notify before looking at the log again.
const POLL: Duration = Duration::from_millis(200);
/// First retry delay after a failure; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest retry delay.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct Flags {
    notified: bool,
    stop: bool,
}

/// Wakes a worker: `notify` after a commit, `stop` at shutdown.
#[derive(Debug, Default)]
pub(super) struct Signal {
    flags: Mutex<Flags>,
    cv: Condvar,
}

impl Signal {
    fn lock(&self) -> MutexGuard<'_, Flags> {
        // The flags stay meaningful even if a holder panicked.
        self.flags.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn notify(&self) {
        self.lock().notified = true;
        self.cv.notify_all();
    }

    pub(super) fn stop(&self) {
        self.lock().stop = true;
        self.cv.notify_all();
    }

    fn stopped(&self) -> bool {
        self.lock().stop
    }

    /// Waits up to `timeout`, or until stopped, or (if `on_notify`) until notified. A notify that
    /// came while the worker was busy is kept, so it is never lost between polls.
    fn wait(&self, timeout: Duration, on_notify: bool) {
        let g = self.lock();
        let (mut g, _) = self
            .cv
            .wait_timeout_while(g, timeout, |f| !(f.stop || on_notify && f.notified))
            .unwrap_or_else(|p| p.into_inner());
        if on_notify {
            g.notified = false;
        }
    }
}

/// What a worker holds between steps; reset after any failure so that the next attempt reopens
/// the log and the sink (a fresh connection, a repaired file) and rereads the saved cursor.
#[derive(Default)]
struct Held {
    reader: Option<LogReader>,
    sink: Option<Box<dyn Sink>>,
    next: Option<u64>,
}

pub(super) struct Worker {
    cfg: SinkConfig,
    db: PathBuf,
    cursors: Arc<Mutex<Cursors>>,
    signal: Arc<Signal>,
}

impl Worker {
    pub(super) fn new(
        cfg: SinkConfig,
        db: PathBuf,
        cursors: Arc<Mutex<Cursors>>,
        signal: Arc<Signal>,
    ) -> Self {
        Worker {
            cfg,
            db,
            cursors,
            signal,
        }
    }

    fn cursors(&self) -> MutexGuard<'_, Cursors> {
        // A panic elsewhere cannot leave the SQLite connection half-updated.
        self.cursors.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn run(self) {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(source) => {
                let e = Error::Start {
                    sink: self.cfg.name.clone(),
                    source,
                };
                self.record(&e);
                return;
            }
        };
        let mut held = Held::default();
        let mut backoff = FIRST_BACKOFF;
        while !self.signal.stopped() {
            match self.step(&rt, &mut held) {
                Ok(true) => backoff = FIRST_BACKOFF,
                Ok(false) => {
                    backoff = FIRST_BACKOFF;
                    self.signal.wait(POLL, true);
                }
                Err(e) => {
                    self.record(&e);
                    held = Held::default();
                    self.signal.wait(backoff, false);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn record(&self, e: &Error) {
        tracing::warn!(sink = %self.cfg.name, error = %e, "sink delivery failed; will retry");
        if let Err(e2) = self.cursors().record_error(&self.cfg.name, &e.to_string()) {
            tracing::warn!(sink = %self.cfg.name, error = %e2, "cannot record the sink's error");
        }
    }

    /// One read-deliver-save round. `Ok(true)`: entries were read (there may be more);
    /// `Ok(false)`: caught up.
    fn step(&self, rt: &tokio::runtime::Runtime, held: &mut Held) -> Result<bool> {
        let next = match held.next {
            Some(n) => n,
            None => *held.next.insert(self.cursors().next_seq(&self.cfg.name)?),
        };
        if held.reader.is_none() {
            held.reader = Some(LogReader::open(&self.db)?);
        }
        let Some(reader) = held.reader.as_ref() else {
            return Ok(false);
        };
        let entries = reader.query(&Query {
            after_seq: next.checked_sub(1),
            limit: self.cfg.batch,
            ..Default::default()
        })?;
        let Some(last) = entries.last().map(|e| e.seq) else {
            return Ok(false);
        };
        // The cursor moves past everything read, so what was read must be exactly
        // next, next+1, …: anything else would skip entries.
        for (i, e) in entries.iter().enumerate() {
            if e.seq != next + i as u64 {
                return Err(Error::Gap {
                    sink: self.cfg.name.clone(),
                    expected: next + i as u64,
                    found: e.seq,
                });
            }
        }
        let pass: Vec<_> = entries
            .into_iter()
            .filter(|e| self.cfg.filter.accepts_entry(e))
            .collect();
        if !pass.is_empty() {
            if held.sink.is_none() {
                held.sink = Some(rt.block_on(sinks::open(&self.cfg))?);
            }
            if let Some(sink) = held.sink.as_mut() {
                rt.block_on(sink.deliver(&pass))?;
            }
        }
        // Only now, after the destination has the batch, does the cursor move.
        self.cursors().save(&self.cfg.name, last + 1)?;
        held.next = Some(last + 1);
        Ok(true)
    }
}
