//! The signing key file: one line, the C2SP private key string, mode 0600.

use aiaudit_core::NoteSigner;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The default key path for a log: the database path with the extension `key`
/// (`audit.db` → `audit.key`).
pub fn default_key_path(db: &Path) -> PathBuf {
    crate::location::local_base(db).with_extension("key")
}

/// Reads a signing key file.
pub fn load(path: &Path) -> Result<NoteSigner> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Key {
        path: path.to_owned(),
        why: if e.kind() == std::io::ErrorKind::NotFound {
            "not found".into()
        } else {
            e.to_string()
        },
    })?;
    NoteSigner::parse(&text).map_err(|e| Error::Key {
        path: path.to_owned(),
        why: e.to_string(),
    })
}

/// Writes a new key file readable only by its owner; never overwrites an existing file.
pub fn create(path: &Path, signer: &NoteSigner) -> Result<()> {
    let line = signer.to_private_string().map_err(|e| Error::Key {
        path: path.to_owned(),
        why: e.to_string(),
    })?;
    write_private(path, &line).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

/// Creates `path` (mode 0600 on Unix; failing if it exists) holding `line`, synced.
fn write_private(path: &Path, line: &str) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(format!("{line}\n").as_bytes())?;
    f.sync_all()
}

/// Reads the 32-byte secret at `path` (64 hex digits), creating it (random, mode 0600) if
/// missing.
pub fn load_or_create_secret(path: &Path) -> Result<[u8; 32]> {
    let bad = |why: String| Error::Key {
        path: path.to_owned(),
        why,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim()).map_err(|e| bad(format!("not hex: {e}")))?;
            bytes
                .try_into()
                .map_err(|_| bad("a secret is 32 bytes (64 hex digits)".into()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| bad(format!("no randomness: {e}")))?;
            match write_private(path, &hex::encode(key)) {
                Ok(()) => Ok(key),
                // Another opener made it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_or_create_secret(path)
                }
                Err(source) => Err(Error::Io {
                    path: path.to_owned(),
                    source,
                }),
            }
        }
        Err(e) => Err(bad(e.to_string())),
    }
}

/// Loads or makes the signing key of a new log.
pub(crate) fn create_for_log(
    db: &Path,
    key_path: &Path,
    given: Option<NoteSigner>,
    origin: Option<&str>,
) -> Result<NoteSigner> {
    let signer = match given {
        Some(s) => s,
        None if key_path.exists() => load(key_path)?,
        None => {
            let origin = match origin {
                Some(o) => o.to_owned(),
                None => default_origin(),
            };
            let signer = NoteSigner::generate(&origin)?;
            create(key_path, &signer)?;
            signer
        }
    };
    if let Some(o) = origin
        && o != signer.name()
    {
        return Err(Error::Key {
            path: key_path.to_owned(),
            why: format!(
                "the key is named {:?} but the log {} was asked to be {o:?}",
                signer.name(),
                db.display()
            ),
        });
    }
    Ok(signer)
}

/// `aiaudit.local/<host>/<8 random hex digits>`: unique per log, readable in a checkpoint.
fn default_origin() -> String {
    let mut r = [0u8; 4];
    let _ = getrandom::fill(&mut r);
    let host: String = crate::host::hostname()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .collect();
    let host = if host.is_empty() { "host".into() } else { host };
    format!(
        "aiaudit.local/{host}/{:02x}{:02x}{:02x}{:02x}",
        r[0], r[1], r[2], r[3]
    )
}
