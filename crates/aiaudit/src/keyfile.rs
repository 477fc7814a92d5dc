//! The signing key file: one line, the C2SP private key string, mode 0600.

use aiaudit_core::NoteSigner;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The default key path for a log: the database path with the extension `key`
/// (`audit.db` → `audit.key`).
pub fn default_key_path(db: &Path) -> PathBuf {
    db.with_extension("key")
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
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(format!("{}\n", signer.to_private_string()).as_bytes())
        .map_err(io)?;
    f.sync_all().map_err(io)
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
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let io = |source| Error::Io {
                path: path.to_owned(),
                source,
            };
            let mut f = match opts.open(path) {
                Ok(f) => f,
                // Another opener made it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return load_or_create_secret(path);
                }
                Err(e) => return Err(io(e)),
            };
            f.write_all(format!("{}\n", hex::encode(key)).as_bytes())
                .map_err(io)?;
            f.sync_all().map_err(io)?;
            Ok(key)
        }
        Err(e) => Err(bad(e.to_string())),
    }
}
