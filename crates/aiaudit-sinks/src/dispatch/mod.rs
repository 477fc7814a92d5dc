//! Delivery after commit: one thread per sink, each reading the log from its own durable cursor.
//!
//! A sink's loop: read up to `batch` entries after its cursor, keep those its filter accepts,
//! deliver them, then save the cursor past everything read (entries the filter refused count as
//! delivered). When caught up it waits 200 ms or until [`Dispatcher::notify`]. A failure — the
//! log, the sink or the cursor file — is recorded as the cursor's `last_error` and retried with
//! exponential backoff (100 ms doubling to 30 s); the cursor never moves past an entry that was
//! not delivered, so nothing is skipped. The cursor is saved only after the delivery succeeded:
//! a crash between the two re-delivers that batch (at-least-once; receivers dedupe on the event
//! id every format carries).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::config::SinkConfig;
use crate::cursors::Cursors;
use crate::error::{Error, Result};

mod status;
mod worker;

pub use status::{SinkStatus, status};
use worker::{Signal, Worker};

/// Running sinks.
#[derive(Debug)]
pub struct Dispatcher {
    workers: Vec<(String, Arc<Signal>, Option<JoinHandle<()>>)>,
}

impl Dispatcher {
    /// Starts one delivery thread per sink, reading the log at `db` (an SQLite path or a
    /// `postgres://` URL) with cursors kept in the SQLite file `cursors` (by convention
    /// `<db>.sinks`). Fails if the log or the cursor file cannot be opened, or two sinks share a
    /// name; later failures are retried and reported through [`status`].
    pub fn start(db: PathBuf, cursors: PathBuf, sinks: Vec<SinkConfig>) -> Result<Dispatcher> {
        let mut names = std::collections::HashSet::new();
        if let Some(dup) = sinks.iter().find(|s| !names.insert(s.name.as_str())) {
            return Err(Error::Config {
                sink: dup.name.clone(),
                key: "name".into(),
                problem: "another sink has this name; names must be unique".into(),
            });
        }
        // Open both once here so that a wrong path is an error now rather than a retry loop.
        aiaudit::LogReader::open(&db)?;
        let cursors = Arc::new(Mutex::new(Cursors::open(&cursors)?));
        let mut d = Dispatcher {
            workers: Vec::with_capacity(sinks.len()),
        };
        for cfg in sinks {
            let signal = Arc::new(Signal::default());
            let name = cfg.name.clone();
            let w = Worker::new(cfg, db.clone(), Arc::clone(&cursors), Arc::clone(&signal));
            let handle = std::thread::Builder::new()
                .name(format!("aiaudit-sink-{name}"))
                .spawn(move || w.run())
                .map_err(|source| Error::Start {
                    sink: name.clone(),
                    source,
                })?;
            // On an error above, `d` is dropped, which stops the threads already started.
            d.workers.push((name, signal, Some(handle)));
        }
        Ok(d)
    }

    /// Wakes every sink now (a writer calls this after each commit) instead of at its next poll.
    pub fn notify(&self) {
        for (_, s, _) in &self.workers {
            s.notify();
        }
    }

    /// The sinks' names, in configuration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.workers.iter().map(|(n, _, _)| n.as_str())
    }

    /// Stops every sink after its current delivery (a backoff wait is cut short) and joins the
    /// threads. An error names a sink whose thread panicked.
    pub fn shutdown(mut self) -> Result<()> {
        self.stop_all()
    }

    fn stop_all(&mut self) -> Result<()> {
        for (_, s, _) in &self.workers {
            s.stop();
        }
        let mut first = Ok(());
        for (name, _, h) in &mut self.workers {
            if let Some(h) = h.take()
                && h.join().is_err()
                && first.is_ok()
            {
                first = Err(Error::Panicked { sink: name.clone() });
            }
        }
        first
    }
}

impl Drop for Dispatcher {
    /// Dropping without [`Dispatcher::shutdown`] stops and joins too, so no thread outlives it.
    fn drop(&mut self) {
        let _ = self.stop_all();
    }
}

/// The conventional cursor file of a log: `<db>.sinks`.
pub fn default_cursor_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".sinks");
    PathBuf::from(s)
}
