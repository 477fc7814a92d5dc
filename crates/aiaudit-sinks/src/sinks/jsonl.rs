//! JSON-lines file sink: each record's leaf data, byte for byte as sealed, then `\n` — the
//! format Filebeat, Fluent Bit and Vector tail.
//!
//! Rotation: before a line would take the live file past `max_bytes`, the file is renamed
//! `audit.jsonl` → `audit.jsonl.1`, `.1` → `.2`, …, keeping `keep` rotated files (the oldest is
//! deleted), and a new live file is started. A line larger than `max_bytes` goes alone into a
//! fresh file rather than being split or dropped.
//!
//! Durability: the file is fsynced after every batch (and before each rotation, and the
//! directory after it), so a delivered batch survives a crash. A crash mid-write can leave a
//! partial last line; opening the file appends `\n` when it does not end with one, so the next
//! record always starts its own line (a tailer sees one bad line, never two records glued).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use aiaudit_core::StoredEntry;

use super::{BoxFuture, Sink};
use crate::error::{Error, Result};

/// The JSON-lines sink.
#[derive(Debug)]
pub struct JsonlSink {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    /// The live file and its length; `None` after a failed write, so that the next delivery
    /// reopens it and repairs a partial last line first.
    file: Option<(File, u64)>,
}

impl JsonlSink {
    /// Opens (creating it and its directory if needed) the live file at `path`.
    pub fn open(path: &Path, max_bytes: u64, keep: u32) -> Result<Self> {
        let mut s = JsonlSink {
            path: path.to_owned(),
            max_bytes,
            keep,
            file: None,
        };
        s.ensure_open()?;
        Ok(s)
    }

    fn io(&self, what: &'static str) -> impl Fn(std::io::Error) -> Error + '_ {
        move |source| Error::Io {
            what,
            path: self.path.clone(),
            source,
        }
    }

    /// Opens the live file for appending and makes sure it ends with `\n`.
    fn ensure_open(&mut self) -> Result<&mut (File, u64)> {
        if self.file.is_none() {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(self.io("creating the directory of"))?;
            }
            let mut f = OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(&self.path)
                .map_err(self.io("opening"))?;
            let mut len = f.metadata().map_err(self.io("reading the size of"))?.len();
            if len > 0 {
                let mut last = [0u8; 1];
                f.seek(SeekFrom::Start(len - 1))
                    .map_err(self.io("reading"))?;
                f.read_exact(&mut last).map_err(self.io("reading"))?;
                if last[0] != b'\n' {
                    // A crash left a partial line: end it so the next record is not glued to it.
                    f.write_all(b"\n")
                        .map_err(self.io("repairing the last line of"))?;
                    f.sync_data().map_err(self.io("syncing"))?;
                    len += 1;
                }
            }
            self.file = Some((f, len));
        }
        // Just set above when it was `None`.
        self.file.as_mut().ok_or_else(|| Error::Io {
            what: "opening",
            path: self.path.clone(),
            source: std::io::Error::other("file not open"),
        })
    }

    fn rotated(&self, n: u32) -> PathBuf {
        let mut s = self.path.clone().into_os_string();
        s.push(format!(".{n}"));
        PathBuf::from(s)
    }

    /// Closes the live file (already fsynced) and shifts the rotated files by one.
    fn rotate(&mut self) -> Result<()> {
        self.file = None;
        let remove = |p: &Path| match std::fs::remove_file(p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
                what: "removing the oldest rotated file",
                path: p.to_owned(),
                source: e,
            }),
            _ => Ok(()),
        };
        if self.keep == 0 {
            remove(&self.path)?;
        } else {
            remove(&self.rotated(self.keep))?;
            for n in (1..self.keep).rev() {
                let from = self.rotated(n);
                if from.exists() {
                    std::fs::rename(&from, self.rotated(n + 1)).map_err(|source| Error::Io {
                        what: "rotating",
                        path: from.clone(),
                        source,
                    })?;
                }
            }
            std::fs::rename(&self.path, self.rotated(1)).map_err(self.io("rotating"))?;
        }
        // The renames are durable only once the directory is synced.
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(self.io("syncing the directory of"))?;
        }
        Ok(())
    }

    fn write_batch(&mut self, batch: &[StoredEntry]) -> Result<()> {
        for e in batch {
            let line_len = e.data.len() as u64 + 1;
            let len = self.ensure_open()?.1;
            if len > 0 && len + line_len > self.max_bytes {
                self.sync()?;
                self.rotate()?;
            }
            let mut line = Vec::with_capacity(e.data.len() + 1);
            line.extend_from_slice(&e.data);
            line.push(b'\n');
            let path = self.path.clone();
            let (f, len) = self.ensure_open()?;
            // One write per line: a crash can cut a line, never interleave two.
            f.write_all(&line).map_err(|source| Error::Io {
                what: "appending to",
                path,
                source,
            })?;
            *len += line_len;
        }
        self.sync()
    }

    fn sync(&mut self) -> Result<()> {
        let path = self.path.clone();
        let (f, _) = self.ensure_open()?;
        f.sync_data().map_err(|source| Error::Io {
            what: "syncing",
            path,
            source,
        })
    }
}

impl Sink for JsonlSink {
    fn deliver<'a>(&'a mut self, batch: &'a [StoredEntry]) -> BoxFuture<'a, Result<()>> {
        // Blocking file I/O is fine here: the sink has its own thread.
        let r = self.write_batch(batch);
        if r.is_err() {
            self.file = None;
        }
        Box::pin(std::future::ready(r))
    }
}
