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
