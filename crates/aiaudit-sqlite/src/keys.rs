//! The subject key file: one 32-byte key per data subject, kept apart from the log so that
//! destroying a key (GDPR erasure by crypto-shredding) never touches the log itself.
//!
//! A separate SQLite file (`<db>.subjects`, mode 0600) in rollback-journal mode with
//! `secure_delete`, so that a destroyed key's bytes are overwritten in the file rather than left
//! in a free page or a write-ahead log.

use aiaudit_core::redact::SubjectKeys;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::Error;

/// `application_id` of a subject key file ("AIKS").
pub const KEYS_APPLICATION_ID: i32 = 0x4149_4B53;

/// The subject key file of a log.
pub struct SubjectKeyFile {
    /// The connection and the keys read so far, under one lock: a key destroyed here is never
    /// served from the cache afterwards.
    inner: Mutex<(Connection, HashMap<String, [u8; 32]>)>,
    path: PathBuf,
}

impl std::fmt::Debug for SubjectKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubjectKeyFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The key file beside a log: the database path with the extension `subjects`.
pub fn default_keys_path(db: &Path) -> PathBuf {
    db.with_extension("subjects")
}

impl SubjectKeyFile {
    fn err(&self, source: rusqlite::Error) -> Error {
        Error::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Opens the key file at `path`, creating it (readable by its owner only) if `create`.
    pub fn open(path: &Path, create: bool) -> Result<SubjectKeyFile, Error> {
        let sq = |source| Error::Sqlite {
            path: path.to_owned(),
            source,
        };
        let conn = open_private(path, create, KEYS_APPLICATION_ID)?;
        // EXTRA also syncs the directory when the rollback journal is deleted, so that a power
        // cut can neither lose a stored key nor bring back a destroyed one.
        conn.execute_batch(
            "PRAGMA journal_mode=DELETE; PRAGMA synchronous=EXTRA; PRAGMA secure_delete=ON;
             CREATE TABLE IF NOT EXISTS subject_keys(
                 subject TEXT PRIMARY KEY,
                 key BLOB NOT NULL CHECK (length(key) = 32),
                 created_ns INTEGER NOT NULL);",
        )
        .map_err(sq)?;
        Ok(SubjectKeyFile {
            inner: Mutex::new((conn, HashMap::new())),
            path: path.to_owned(),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The subject's key, if it has one (and it was not destroyed).
    pub fn get(&self, subject: &str) -> Result<Option<[u8; 32]>, Error> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        self.get_locked(&mut inner, subject)
    }

    fn get_locked(
        &self,
        inner: &mut (Connection, HashMap<String, [u8; 32]>),
        subject: &str,
    ) -> Result<Option<[u8; 32]>, Error> {
        if let Some(k) = inner.1.get(subject) {
            return Ok(Some(*k));
        }
        let key: Option<Vec<u8>> = inner
            .0
            .query_row(
                "SELECT key FROM subject_keys WHERE subject = ?1",
                params![subject],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let key = key.and_then(|k| <[u8; 32]>::try_from(k.as_slice()).ok());
        if let Some(k) = key {
            inner.1.insert(subject.to_owned(), k);
        }
        Ok(key)
    }

    /// The subject's key, made (and durably stored) if it has none.
    pub fn get_or_create(&self, subject: &str) -> Result<[u8; 32], Error> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = self.get_locked(&mut inner, subject)? {
            return Ok(k);
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| Error::Inconsistent {
            path: self.path.clone(),
            what: format!("no randomness for a subject key: {e}"),
        })?;
        // Committed (and fsynced) before the event that uses it can be: a crash must not
        // leave ciphertext under a key that was never kept.
        inner
            .0
            .execute(
                "INSERT OR IGNORE INTO subject_keys(subject, key, created_ns) VALUES (?1, ?2, ?3)",
                params![subject, &key[..], aiaudit_core::timefmt::now_ns()],
            )
            .map_err(|e| self.err(e))?;
        // Another process may have made one first: use what is stored.
        self.get_locked(&mut inner, subject)?
            .ok_or_else(|| Error::Inconsistent {
                path: self.path.clone(),
                what: format!("the key of subject {subject:?} was not stored"),
            })
    }

    /// Destroys the subject's key; returns whether there was one. Its bytes are overwritten in
    /// the file (`secure_delete`) and the change is synced before this returns. (The rollback
    /// journal of that change held the page and is deleted, not overwritten: file-system blocks
    /// are out of reach here; see docs/privacy.md.)
    pub fn destroy(&self, subject: &str) -> Result<bool, Error> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.1.remove(subject);
        let n = inner
            .0
            .execute(
                "DELETE FROM subject_keys WHERE subject = ?1",
                params![subject],
            )
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }
}

impl SubjectKeys for SubjectKeyFile {
    fn key_for(&self, subject: &str) -> aiaudit_core::Result<[u8; 32]> {
        self.get_or_create(subject)
            .map_err(|e| aiaudit_core::Error::Crypto(e.to_string()))
    }
}

/// Opens a private SQLite file of this crate (keys, tokens), creating it readable by its owner
/// only if `create`, and checks that it is one of `application_id`'s files (or new and empty).
pub(crate) fn open_private(
    path: &Path,
    create: bool,
    application_id: i32,
) -> Result<Connection, Error> {
    // By its real name, like the log: SQLite's journal is kept per name.
    let real = crate::resolve(path)?;
    if !real.exists() {
        if !create {
            return Err(Error::Missing {
                path: path.to_owned(),
            });
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        if let Err(e) = opts.open(&real)
            && e.kind() != std::io::ErrorKind::AlreadyExists
        {
            return Err(Error::Inconsistent {
                path: path.to_owned(),
                what: format!("cannot create {}: {e}", path.display()),
            });
        }
    }
    let sq = |source| Error::Sqlite {
        path: path.to_owned(),
        source,
    };
    let conn = Connection::open(&real).map_err(sq)?;
    // Checked before anything is written: never add a table to someone else's database.
    let app: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(sq)?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(sq)?;
    match (app, tables) {
        (0, 0) => conn
            .execute_batch(&format!("PRAGMA application_id={application_id}"))
            .map_err(sq)?,
        (a, _) if a == application_id => {}
        _ => {
            return Err(Error::NotAnAuditLog {
                path: path.to_owned(),
            });
        }
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_made_once_kept_and_destroyed() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("a.subjects");
        let f = SubjectKeyFile::open(&path, true).expect("open");
        let k = f.get_or_create("alice").expect("key");
        assert_eq!(f.get_or_create("alice").expect("again"), k);
        drop(f);
        let f = SubjectKeyFile::open(&path, false).expect("reopen");
        assert_eq!(f.get("alice").expect("get"), Some(k));
        assert!(f.destroy("alice").expect("destroy"));
        assert!(!f.destroy("alice").expect("twice"), "already gone");
        assert_eq!(f.get("alice").expect("get"), None);
        drop(f);
        let raw = std::fs::read(&path).expect("read");
        assert!(
            !raw.windows(32).any(|w| w == k),
            "the destroyed key's bytes are not left in the file"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
