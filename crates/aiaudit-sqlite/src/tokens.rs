//! The API token file of a log served over HTTP: `<db>.tokens`, a separate SQLite file (mode
//! 0600) holding each token's id, name, role and the SHA-256 of the token — never the token.
//!
//! A token reads `aiat_<id>_<secret>`: 12 hex digits naming the row, then 64 hex digits of
//! randomness (256 bits). Checking one finds the row by its id and compares the SHA-256 of the
//! whole token with the stored hash in constant time, so that timing reveals nothing about
//! the secret. Tokens are random and long, so a plain SHA-256 suffices; a slow password hash
//! would only slow every request.
//!
//! A server caches the rows and re-reads them whenever another process (`aiaudit token
//! revoke`) has changed the file (SQLite's `data_version`), so a revocation takes effect on the
//! next request.

use aiaudit_core::sha256;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use subtle::ConstantTimeEq;

use crate::error::Error;

/// `application_id` of a token file ("AITK").
pub const TOKENS_APPLICATION_ID: i32 = 0x4149_544B;

/// The prefix of every token.
pub const TOKEN_PREFIX: &str = "aiat_";

/// What is known about a token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Public id (12 hex digits), also the token's second part.
    pub id: String,
    /// A name for people (`ci-pipeline`, `alice`); unique among tokens not revoked.
    pub name: String,
    /// The role, as text (the server defines the roles).
    pub role: String,
    /// Creation time, Unix ns.
    pub created_ns: i64,
    /// Revocation time, Unix ns, if revoked.
    pub revoked_ns: Option<i64>,
}

struct Cached {
    info: TokenInfo,
    hash: [u8; 32],
}

struct Inner {
    conn: Connection,
    cache: HashMap<String, Cached>,
    /// `PRAGMA data_version` when the cache was filled (`None`: never filled).
    version: Option<i64>,
}

/// The token file of a log.
pub struct TokenFile {
    inner: Mutex<Inner>,
    path: PathBuf,
}

impl std::fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The token file beside a log: the database path with the extension `tokens`.
pub fn default_tokens_path(db: &Path) -> PathBuf {
    db.with_extension("tokens")
}

impl TokenFile {
    fn err(&self, source: rusqlite::Error) -> Error {
        Error::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Opens the token file at `path`, creating it (readable by its owner only) if `create`.
    pub fn open(path: &Path, create: bool) -> Result<TokenFile, Error> {
        let conn = crate::keys::open_private(path, create, TOKENS_APPLICATION_ID)?;
        conn.execute_batch(
            "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS tokens(
                 id TEXT PRIMARY KEY,
                 name TEXT NOT NULL,
                 role TEXT NOT NULL,
                 hash BLOB NOT NULL CHECK (length(hash) = 32),
                 created_ns INTEGER NOT NULL,
                 revoked_ns INTEGER);
             CREATE UNIQUE INDEX IF NOT EXISTS tokens_active_name
                 ON tokens(name) WHERE revoked_ns IS NULL;",
        )
        .map_err(|source| Error::Sqlite {
            path: path.to_owned(),
            source,
        })?;
        Ok(TokenFile {
            inner: Mutex::new(Inner {
                conn,
                cache: HashMap::new(),
                version: None,
            }),
            path: path.to_owned(),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes a token named `name` with `role`; returns its description and the token, which is
    /// shown this once and kept nowhere.
    pub fn create(
        &self,
        name: &str,
        role: &str,
        now_ns: i64,
    ) -> Result<(TokenInfo, String), Error> {
        if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
            return Err(Error::Invalid(format!(
                "token name {name:?} must be 1 to 128 printable characters"
            )));
        }
        let mut random = [0u8; 38];
        getrandom::fill(&mut random)
            .map_err(|e| Error::Invalid(format!("the system's random source failed: {e}")))?;
        let id = hex(&random[..6]);
        let token = format!("{TOKEN_PREFIX}{id}_{}", hex(&random[6..]));
        let hash = sha256(token.as_bytes());
        let mut inner = self.lock();
        let inserted = inner.conn.execute(
            "INSERT INTO tokens(id, name, role, hash, created_ns) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, name, role, &hash[..], now_ns],
        );
        match inserted {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                return Err(Error::Invalid(format!(
                    "a token named {name:?} exists already; revoke it first or choose another name"
                )));
            }
            Err(e) => return Err(self.err(e)),
        }
        inner.version = None;
        let info = TokenInfo {
            id,
            name: name.to_owned(),
            role: role.to_owned(),
            created_ns: now_ns,
            revoked_ns: None,
        };
        Ok((info, token))
    }

    /// Every token, revoked ones included, oldest first.
    pub fn list(&self) -> Result<Vec<TokenInfo>, Error> {
        let mut inner = self.lock();
        self.refresh(&mut inner)?;
        let mut all: Vec<TokenInfo> = inner.cache.values().map(|c| c.info.clone()).collect();
        all.sort_by(|a, b| (a.created_ns, &a.id).cmp(&(b.created_ns, &b.id)));
        Ok(all)
    }

    /// Revokes the token with this id, or the active token with this name; returns it.
    pub fn revoke(&self, id_or_name: &str, now_ns: i64) -> Result<TokenInfo, Error> {
        let mut inner = self.lock();
        let id: Option<String> = inner
            .conn
            .query_row(
                "SELECT id FROM tokens WHERE id = ?1 OR (name = ?1 AND revoked_ns IS NULL)
                 ORDER BY id = ?1 DESC LIMIT 1",
                params![id_or_name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some(id) = id else {
            return Err(Error::Invalid(format!(
                "no token with id or name {id_or_name:?} (see `aiaudit token list`)"
            )));
        };
        inner
            .conn
            .execute(
                "UPDATE tokens SET revoked_ns = ?2 WHERE id = ?1 AND revoked_ns IS NULL",
                params![id, now_ns],
            )
            .map_err(|e| self.err(e))?;
        inner.version = None;
        self.refresh(&mut inner)?;
        inner
            .cache
            .get(&id)
            .map(|c| c.info.clone())
            .ok_or_else(|| Error::Invalid(format!("token {id} vanished while revoking it")))
    }

    /// The active token that `token` is, if any: found by its id, its hash compared in
    /// constant time. A malformed, unknown, wrong or revoked token gives `None` alike.
    pub fn authenticate(&self, token: &str) -> Result<Option<TokenInfo>, Error> {
        let Some(id) = token
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .map(|(id, _)| id)
        else {
            return Ok(None);
        };
        let presented = sha256(token.as_bytes());
        let mut inner = self.lock();
        self.refresh(&mut inner)?;
        Ok(inner.cache.get(id).and_then(|c| {
            let same: bool = c.hash.ct_eq(&presented).into();
            (same && c.info.revoked_ns.is_none()).then(|| c.info.clone())
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Re-reads every row if the file changed since the cache was filled.
    fn refresh(&self, inner: &mut Inner) -> Result<(), Error> {
        let version: i64 = inner
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if inner.version == Some(version) {
            return Ok(());
        }
        let mut stmt = inner
            .conn
            .prepare("SELECT id, name, role, hash, created_ns, revoked_ns FROM tokens")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let hash: Vec<u8> = r.get(3)?;
                Ok(Cached {
                    info: TokenInfo {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        role: r.get(2)?,
                        created_ns: r.get(4)?,
                        revoked_ns: r.get(5)?,
                    },
                    hash: <[u8; 32]>::try_from(hash.as_slice()).unwrap_or([0; 32]),
                })
            })
            .map_err(|e| self.err(e))?;
        let mut cache = HashMap::new();
        for row in rows {
            let c = row.map_err(|e| self.err(e))?;
            cache.insert(c.info.id.clone(), c);
        }
        drop(stmt);
        inner.cache = cache;
        inner.version = Some(version);
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_authenticate_revoke() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("a.tokens");
        let file = TokenFile::open(&path, true)?;
        let (info, token) = file.create("ci", "ingest", 1)?;
        assert!(token.starts_with("aiat_") && token.len() == 5 + 12 + 1 + 64);
        assert_eq!(file.authenticate(&token)?, Some(info.clone()));
        // A token differing in its last digit, an unknown id and junk are all refused.
        let mut wrong = token.clone();
        let last = if wrong.ends_with('0') { '1' } else { '0' };
        wrong.pop();
        wrong.push(last);
        assert_eq!(file.authenticate(&wrong)?, None);
        assert_eq!(file.authenticate("aiat_000000000000_00")?, None);
        assert_eq!(file.authenticate("Bearer x")?, None);
        assert!(file.create("ci", "read", 2).is_err(), "names are unique");
        // Another process revokes it: this one sees it on the next check.
        let other = TokenFile::open(&path, false)?;
        other.revoke("ci", 3)?;
        assert_eq!(file.authenticate(&token)?, None);
        let listed = file.list()?;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].revoked_ns, Some(3));
        // The name is free again; the stored hash is not the token.
        file.create("ci", "read", 4)?;
        let raw = std::fs::read(&path)?;
        assert!(!raw.windows(token.len()).any(|w| w == token.as_bytes()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path)?.permissions().mode() & 0o777,
                0o600
            );
        }
        Ok(())
    }
}
