//! The cosignatures a log got from its witnesses, kept beside the log in a small SQLite file
//! (`notes`: the log's checkpoint per size; `cosignatures`: one line per size and witness), so
//! that the log can hand out its checkpoints cosigned (docs/format.md §12).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use aiaudit_core::cosignature::add_signatures;
use rusqlite::{Connection, OptionalExtension, params};

use crate::client::WitnessTarget;
use crate::error::{Error, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS notes (size INTEGER PRIMARY KEY, note TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS cosignatures (
    size INTEGER NOT NULL,
    witness TEXT NOT NULL,
    line TEXT NOT NULL,
    time INTEGER NOT NULL,
    PRIMARY KEY (size, witness)
) STRICT;
";

/// The cosignatures a log's witnesses gave, by checkpoint size, with the log's notes.
pub struct Cosignatures {
    book: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for Cosignatures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cosignatures({})", self.path.display())
    }
}

impl Cosignatures {
    /// Opens (creating) the cosignatures file at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let state = |source| Error::State {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(state)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;")
            .and_then(|()| conn.execute_batch(SCHEMA))
            .map_err(state)?;
        Ok(Cosignatures {
            book: Mutex::new(conn),
            path: path.to_owned(),
        })
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The largest size each of `targets` cosigned (0: none yet).
    pub fn held(&self, targets: &[WitnessTarget]) -> BTreeMap<String, u64> {
        let conn = self.book();
        let mut out = BTreeMap::new();
        for t in targets {
            let size: Option<i64> = conn
                .query_row(
                    "SELECT max(size) FROM cosignatures WHERE witness = ?1",
                    [&t.name],
                    |r| r.get(0),
                )
                .optional()
                .ok()
                .flatten()
                .flatten();
            out.insert(t.name.clone(), size.map_or(0, |s| s as u64));
        }
        out
    }

    /// Keeps `witness`'s cosignature `line` (made at `time`) of `note`, the checkpoint of
    /// `size` leaves. A failure is logged, not returned: the cosignature is asked for again.
    pub fn keep(&self, witness: &str, size: u64, note: &str, line: &str, time: u64) {
        let conn = self.book();
        let kept = conn
            .execute(
                "INSERT OR IGNORE INTO notes (size, note) VALUES (?1, ?2)",
                params![size as i64, note],
            )
            .and_then(|_| {
                conn.execute(
                    "INSERT OR REPLACE INTO cosignatures (size, witness, line, time) VALUES (?1, ?2, ?3, ?4)",
                    params![size as i64, witness, line, time as i64],
                )
            });
        if let Err(e) = kept {
            tracing::error!(error = %e, path = %self.path.display(), "keeping a cosignature failed");
        }
    }

    /// `note` (the log's checkpoint of `size` leaves) with every cosignature kept for it.
    pub fn cosigned(&self, size: u64, note: &str) -> String {
        let conn = self.book();
        let lines: Vec<String> = conn
            .prepare("SELECT line FROM cosignatures WHERE size = ?1 ORDER BY witness")
            .and_then(|mut st| {
                st.query_map([size as i64], |r| r.get(0))?
                    .collect::<std::result::Result<Vec<String>, _>>()
            })
            .unwrap_or_default();
        lines
            .iter()
            .try_fold(note.to_owned(), |n, l| add_signatures(&n, l))
            .unwrap_or_else(|_| note.to_owned())
    }

    /// The newest checkpoint with at least one cosignature, with all of its cosignatures.
    pub fn latest_cosigned(&self) -> Option<String> {
        let row: Option<(i64, String)> = self
            .book()
            .query_row(
                "SELECT n.size, n.note FROM notes n WHERE EXISTS (SELECT 1 FROM cosignatures c WHERE c.size = n.size) ORDER BY n.size DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .ok()
            .flatten();
        row.map(|(size, note)| self.cosigned(size as u64, &note))
    }
}
