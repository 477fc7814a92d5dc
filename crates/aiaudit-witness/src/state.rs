//! The witness's durable state: per origin, the latest checkpoint it cosigned (size, root
//! hash, the note), in SQLite with a full fsync on every commit; and the log-signed requests it
//! refused for an inconsistent history, kept as evidence of a split view.
//!
//! The check of a request and the write of its checkpoint happen in one `BEGIN IMMEDIATE`
//! transaction, committed before the cosignature leaves: a witness killed at any point has
//! either kept the checkpoint (and may cosign it again) or not (and never cosigned it).

use std::path::{Path, PathBuf};

use aiaudit_core::Hash;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::error::{Error, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS latest (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL CHECK (size >= 0),
    root BLOB NOT NULL CHECK (length(root) = 32),
    note TEXT NOT NULL,
    cosigned_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS refused (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    request TEXT NOT NULL
) STRICT;
";

/// The latest checkpoint cosigned for one origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latest {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
}

/// The state database.
pub struct State {
    conn: Connection,
    path: PathBuf,
}

impl State {
    /// Opens (creating) the state at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let err = |source| Error::State {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
        )
        .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(State {
            conn,
            path: path.to_owned(),
        })
    }

    fn err(&self, source: rusqlite::Error) -> Error {
        Error::State {
            path: self.path.clone(),
            source,
        }
    }

    /// The latest checkpoint cosigned for `origin`.
    pub fn latest(&self, origin: &str) -> Result<Option<Latest>> {
        latest(&self.conn, origin, &self.path)
    }

    /// Runs `decide` on the latest state of `origin` inside one immediate transaction; when it
    /// returns a checkpoint to keep, that is written and committed (with a full fsync) before
    /// this returns.
    pub fn advance<T>(
        &mut self,
        origin: &str,
        decide: impl FnOnce(Option<&Latest>) -> Decision<T>,
    ) -> Result<T> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| Error::State {
                path: path.clone(),
                source,
            })?;
        let now = latest(&tx, origin, &path)?;
        let decision = decide(now.as_ref());
        let (keep, refused, out) = match decision {
            Decision::Keep {
                size,
                root,
                note,
                at,
                then,
            } => (Some((size, root, note, at)), None, then),
            Decision::Leave { evidence, then } => (None, evidence, then),
        };
        let werr = |source| Error::State {
            path: path.clone(),
            source,
        };
        if let Some((size, root, note, at)) = keep {
            let size = i64::try_from(size).map_err(|_| Error::Damaged {
                path: path.clone(),
                why: "a tree size beyond 2^63".into(),
            })?;
            tx.execute(
                "INSERT INTO latest (origin, size, root, note, cosigned_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (origin) DO UPDATE SET size = ?2, root = ?3, note = ?4, cosigned_at = ?5",
                params![origin, size, &root[..], note, at],
            )
            .map_err(werr)?;
        }
        if let Some((at, reason, request)) = refused {
            tx.execute(
                "INSERT INTO refused (origin, at, reason, request) VALUES (?1, ?2, ?3, ?4)",
                params![origin, at, reason, request],
            )
            .map_err(werr)?;
        }
        tx.commit()
            .map_err(|source| Error::State { path, source })?;
        Ok(out)
    }

    /// The refused requests kept as evidence for `origin`: (Unix seconds, reason, request).
    pub fn refused(&self, origin: &str) -> Result<Vec<(i64, String, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT at, reason, request FROM refused WHERE origin = ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([origin], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))
    }
}

fn latest(conn: &Connection, origin: &str, path: &Path) -> Result<Option<Latest>> {
    let row: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT size, root FROM latest WHERE origin = ?1",
            [origin],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(|source| Error::State {
            path: path.to_owned(),
            source,
        })?;
    row.map(|(size, root)| {
        let damaged = |why: &str| Error::Damaged {
            path: path.to_owned(),
            why: format!("{origin}: {why}"),
        };
        Ok(Latest {
            size: u64::try_from(size).map_err(|_| damaged("a negative size"))?,
            root: root
                .try_into()
                .map_err(|_| damaged("a root that is not 32 bytes"))?,
        })
    })
    .transpose()
}

/// What [`State::advance`] is to do.
pub enum Decision<T> {
    /// Keep this checkpoint as the latest, then answer `then`.
    Keep {
        /// Its size.
        size: u64,
        /// Its root.
        root: Hash,
        /// Its note.
        note: String,
        /// When (Unix seconds).
        at: i64,
        /// The answer.
        then: T,
    },
    /// Keep nothing new (but the evidence, if any), then answer `then`.
    Leave {
        /// (Unix seconds, reason, the request) to keep as evidence.
        evidence: Option<(i64, String, String)>,
        /// The answer.
        then: T,
    },
}
