//! The logs a witness cosigns (`logs.toml`): one `[[log]]` table per log key, whose name is
//! the log's origin. A log in a key rotation is listed once per key: a checkpoint signed by any
//! of them is that log's (during the transition the log signs with both).
//!
//! ```toml
//! [[log]]
//! vkey = "acme.example/audit+1a2b3c4d+AR…"
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use aiaudit_core::NoteVerifier;
use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    log: Vec<LogEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogEntry {
    vkey: String,
}

/// The logs a witness knows, by origin, each with its keys.
#[derive(Debug, Clone, Default)]
pub struct Logs {
    by_origin: BTreeMap<String, Vec<NoteVerifier>>,
}

impl Logs {
    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            what: format!("reading {}", path.display()),
            source,
        })?;
        Self::parse(&text).map_err(|why| Error::Config {
            path: path.to_owned(),
            why,
        })
    }

    /// Parses the text of a logs file.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut logs = Logs::default();
        for (i, entry) in file.log.iter().enumerate() {
            let key = NoteVerifier::parse(&entry.vkey)
                .map_err(|e| format!("[[log]] {}: vkey: {e}", i + 1))?;
            let keys = logs.by_origin.entry(key.name().to_owned()).or_default();
            if keys.contains(&key) {
                return Err(format!(
                    "[[log]] {}: the key {key} of the log {} is listed twice",
                    i + 1,
                    key.name()
                ));
            }
            keys.push(key);
        }
        if logs.by_origin.is_empty() {
            return Err("no [[log]] with a vkey: the witness would cosign nothing".into());
        }
        Ok(logs)
    }

    /// A set of logs given by their verifier keys.
    pub fn of(keys: impl IntoIterator<Item = NoteVerifier>) -> Self {
        let mut logs = Logs::default();
        for k in keys {
            logs.by_origin
                .entry(k.name().to_owned())
                .or_default()
                .push(k);
        }
        logs
    }

    /// The keys of the log named `origin`.
    pub fn get(&self, origin: &str) -> Option<&[NoteVerifier]> {
        self.by_origin.get(origin).map(Vec::as_slice)
    }

    /// How many logs.
    pub fn len(&self) -> usize {
        self.by_origin.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_origin.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiaudit_core::NoteSigner;

    #[test]
    fn logs_files_are_checked() -> std::result::Result<(), String> {
        let k = NoteSigner::generate("acme/log")
            .map_err(|e| e.to_string())?
            .verifier();
        let logs = Logs::parse(&format!("[[log]]\nvkey = \"{k}\"\n"))?;
        assert_eq!(logs.get("acme/log"), Some(std::slice::from_ref(&k)));
        // A rotated log: two keys of one origin.
        let k2 = NoteSigner::generate("acme/log")
            .map_err(|e| e.to_string())?
            .verifier();
        let both = Logs::parse(&format!(
            "[[log]]\nvkey = \"{k}\"\n[[log]]\nvkey = \"{k2}\"\n"
        ))?;
        assert_eq!(both.get("acme/log"), Some([k.clone(), k2].as_slice()));
        assert_eq!(both.len(), 1);
        let twice = format!("[[log]]\nvkey = \"{k}\"\n[[log]]\nvkey = \"{k}\"\n");
        assert!(
            Logs::parse(&twice)
                .err()
                .unwrap_or_default()
                .contains("twice")
        );
        assert!(
            Logs::parse("")
                .err()
                .unwrap_or_default()
                .contains("no [[log]]")
        );
        assert!(
            Logs::parse("[[log]]\nvkey = \"x\"\n")
                .err()
                .unwrap_or_default()
                .contains("[[log]] 1: vkey")
        );
        assert!(Logs::parse("[[log]]\nkey = \"x\"\n").is_err());
        Ok(())
    }
}
