//! Durable delivered-up-to cursors, one per sink, in a small SQLite file beside the log
//! (by convention `<db>.sinks`).
//!
//! Invariant: a cursor's `next_seq` is the number of log entries the sink has delivered or
//! skipped by its filter, i.e. the seq of the next entry to deliver. It only moves forward after
//! a delivery succeeded, and [`Cursors::save`] returns only once the new value is on disk
//! (`synchronous = FULL`), so after a crash a sink re-delivers at most its last batch and never
//! skips one.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Error, Result};

/// One sink's cursor as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Entries delivered or skipped (the seq of the next entry to deliver).
    pub next_seq: u64,
    /// When the cursor last changed or an error was recorded, Unix ns.
    pub updated_ns: i64,
    /// The last delivery error, cleared by the next successful save.
    pub last_error: Option<String>,
}

/// The cursor file.
#[derive(Debug)]
pub struct Cursors {
    conn: Connection,
    path: PathBuf,
}

impl Cursors {
    /// Opens (creating, mode 0600) the cursor file at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        create_private(path)?;
        let conn = Connection::open(path).map_err(|e| db_err(path, e))?;
        let c = Cursors {
            conn,
            path: path.to_owned(),
        };
        // WAL so that `status` can read while dispatch threads write; FULL so that every commit
        // is fsynced before `save` returns.
        c.conn
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| c.err(e))?;
        c.conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| c.err(e))?;
        c.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(|e| c.err(e))?;
        c.conn
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS cursors (
                    name TEXT PRIMARY KEY,
                    next_seq INTEGER NOT NULL,
                    updated_ns INTEGER NOT NULL,
                    last_error TEXT
                )",
            )
            .map_err(|e| c.err(e))?;
        Ok(c)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cursor of sink `name`; `None` if it never delivered or failed.
    pub fn get(&self, name: &str) -> Result<Option<Cursor>> {
        self.conn
            .query_row(
                "SELECT next_seq, updated_ns, last_error FROM cursors WHERE name = ?1",
                [name],
                |r| {
                    Ok(Cursor {
                        next_seq: r.get::<_, i64>(0)? as u64,
                        updated_ns: r.get(1)?,
                        last_error: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The delivered-up-to count of sink `name` (0 if it has none yet).
    pub fn next_seq(&self, name: &str) -> Result<u64> {
        Ok(self.get(name)?.map_or(0, |c| c.next_seq))
    }

    /// Moves sink `name`'s cursor to `next_seq` and clears its last error; durable on return.
    pub fn save(&self, name: &str, next_seq: u64) -> Result<()> {
        let n = i64::try_from(next_seq)
            .map_err(|_| self.err(rusqlite::Error::IntegralValueOutOfRange(1, i64::MAX)))?;
        self.conn
            .execute(
                "INSERT INTO cursors (name, next_seq, updated_ns, last_error) VALUES (?1, ?2, ?3, NULL)
                 ON CONFLICT(name) DO UPDATE SET next_seq = excluded.next_seq,
                     updated_ns = excluded.updated_ns, last_error = NULL",
                params![name, n, now_ns()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records a failed delivery of sink `name` without moving its cursor.
    pub fn record_error(&self, name: &str, error: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO cursors (name, next_seq, updated_ns, last_error) VALUES (?1, 0, ?2, ?3)
                 ON CONFLICT(name) DO UPDATE SET updated_ns = excluded.updated_ns,
                     last_error = excluded.last_error",
                params![name, now_ns(), error],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn err(&self, source: rusqlite::Error) -> Error {
        db_err(&self.path, source)
    }
}

fn db_err(path: &Path, source: rusqlite::Error) -> Error {
    Error::Cursors {
        path: path.to_owned(),
        source,
    }
}

/// Creates the file with mode 0600 if it is missing, so that SQLite (which gives its `-wal` and
/// `-shm` files the main file's mode) never creates it world-readable.
fn create_private(path: &Path) -> Result<()> {
    let io = |source| Error::Io {
        what: "creating the sink cursor file",
        path: path.to_owned(),
        source,
    };
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path).map_err(io)?;
    Ok(())
}

/// Wall-clock time, Unix ns.
pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn saves_survive_reopen_and_errors_do_not_move_the_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.db.sinks");
        let c = Cursors::open(&p).unwrap();
        assert_eq!(c.get("a").unwrap(), None);
        c.record_error("a", "boom").unwrap();
        assert_eq!(c.next_seq("a").unwrap(), 0);
        c.save("a", 7).unwrap();
        c.record_error("a", "down").unwrap();
        drop(c);
        let c = Cursors::open(&p).unwrap();
        let got = c.get("a").unwrap().unwrap();
        assert_eq!(got.next_seq, 7);
        assert_eq!(got.last_error.as_deref(), Some("down"));
        c.save("a", 9).unwrap();
        assert_eq!(c.get("a").unwrap().unwrap().last_error, None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
