//! Witness cosignatures, c2sp.org/tlog-cosignature `cosignature/v1` with Ed25519: a witness
//! signs, with a timestamp, that it saw a checkpoint and that it is consistent with every
//! earlier one it saw of the same log.
//!
//! - Signed message: `cosignature/v1\ntime <seconds>\n` then the checkpoint's note text
//!   (with its final newline, without signature lines).
//! - Signature line: `— <name> base64(keyid[4] ‖ timestamp[8, big-endian] ‖ ed25519[64])`.
//! - Key id: `SHA-256(name ‖ 0x0A ‖ 0x04 ‖ pubkey)[:4]`; verifier key
//!   `name+hex(keyid)+base64(0x04 ‖ pubkey)`; signer key `PRIVATE+KEY+name+hex(keyid)+base64(0x04 ‖ seed)`.
//!
//! ```
//! use aiaudit_core::cosignature::CosignatureSigner;
//! use aiaudit_core::{Checkpoint, NoteSigner};
//!
//! let log = NoteSigner::generate("example.org/log")?;
//! let note = Checkpoint { origin: "example.org/log".into(), size: 3, root: [7; 32] }.sign(&log)?;
//! let witness = CosignatureSigner::generate("witness.example/w1")?;
//! let line = witness.cosign(&note, 1_796_000_000)?;
//! let cosigned = aiaudit_core::cosignature::add_signatures(&note, &line)?;
//! assert_eq!(witness.verifier().verify(&cosigned)?, 1_796_000_000);
//! # Ok::<(), aiaudit_core::Error>(())
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use std::fmt;

use crate::error::{Error, Result};
use crate::note::{
    check_key_id, check_name, random_seed, split_note, split_private_key, split_typed_key,
    typed_key_id,
};

/// The signature type byte of `cosignature/v1` with Ed25519.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

const WHAT: &str = "a cosignature/v1 key (0x04 ‖ 32 bytes)";

/// The message a cosignature signs.
fn message(text: &str, time: u64) -> String {
    format!("cosignature/v1\ntime {time}\n{text}")
}

/// A witness's signing key.
pub struct CosignatureSigner {
    name: String,
    key: SigningKey,
    id: u32,
}

impl fmt::Debug for CosignatureSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CosignatureSigner({}+{:08x})", self.name, self.id)
    }
}

impl CosignatureSigner {
    /// A fresh random key named `name` (a witness's name, such as `witness.example/w1`).
    pub fn generate(name: &str) -> Result<Self> {
        check_name(name)?;
        Ok(Self::from_seed(name, random_seed()?))
    }

    fn from_seed(name: &str, seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let id = typed_key_id(name, ALG_COSIGNATURE_V1, key.verifying_key().as_bytes());
        CosignatureSigner {
            name: name.to_owned(),
            key,
            id,
        }
    }

    /// Parses `PRIVATE+KEY+name+keyid+base64(0x04 ‖ seed)`.
    pub fn parse(s: &str) -> Result<Self> {
        let (name, id, seed) = split_private_key(s, ALG_COSIGNATURE_V1, WHAT)?;
        let signer = Self::from_seed(name, seed);
        check_key_id(id, signer.id)?;
        Ok(signer)
    }

    /// The private key string (keep it secret).
    pub fn to_private_string(&self) -> String {
        let mut k = vec![ALG_COSIGNATURE_V1];
        k.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            B64.encode(k)
        )
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The matching verifier.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// The cosignature line (`— name base64…\n`) over the text of the signed note `note`,
    /// timestamped `time` (Unix seconds). The caller checks the note before cosigning it.
    pub fn cosign(&self, note: &str, time: u64) -> Result<String> {
        if time > i64::MAX as u64 {
            return Err(Error::malformed("cosignature", "time beyond 2^63-1"));
        }
        let (text, _) = split_note(note)?;
        let sig = self.key.sign(message(text, time).as_bytes());
        let mut blob = Vec::with_capacity(76);
        blob.extend_from_slice(&self.id.to_be_bytes());
        blob.extend_from_slice(&time.to_be_bytes());
        blob.extend_from_slice(&sig.to_bytes());
        Ok(format!("\u{2014} {} {}\n", self.name, B64.encode(blob)))
    }
}

/// A witness's verifier key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Parses `name+keyid+base64(0x04 ‖ pubkey)` and checks the key id.
    pub fn parse(s: &str) -> Result<Self> {
        let (name, id, key) = split_typed_key(s, ALG_COSIGNATURE_V1, WHAT)?;
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| Error::Key("public key is not 32 bytes".into()))?;
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| Error::Key("not a valid Ed25519 public key".into()))?;
        let want = typed_key_id(name, ALG_COSIGNATURE_V1, key.as_bytes());
        if want != id {
            return Err(Error::Key(format!(
                "key id {id:08x} does not match the key (expected {want:08x})"
            )));
        }
        Ok(CosignatureVerifier {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Verifies this witness's cosignature on the signed note `note` and returns its time
    /// (Unix seconds). Other signatures are ignored; a bad one by this key is an error.
    pub fn verify(&self, note: &str) -> Result<u64> {
        let (text, sigs) = split_note(note)?;
        let mut found = None;
        for (name, blob) in sigs {
            let id = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
            if name != self.name || id != self.id {
                continue;
            }
            if blob.len() != 76 {
                return Err(Error::Signature(format!(
                    "{name}: a cosignature/v1 is 76 bytes, not {}",
                    blob.len()
                )));
            }
            let mut t = [0u8; 8];
            t.copy_from_slice(&blob[4..12]);
            let time = u64::from_be_bytes(t);
            let sig = Signature::from_slice(&blob[12..])
                .map_err(|_| Error::Signature(format!("{name}: not an Ed25519 signature")))?;
            self.key
                .verify(message(text, time).as_bytes(), &sig)
                .map_err(|_| {
                    Error::Signature(format!("{name}: the cosignature does not match the note"))
                })?;
            found = Some(found.map_or(time, |t: u64| t.max(time)));
        }
        found.ok_or_else(|| {
            Error::Signature(format!(
                "no cosignature by {}+{:08x} on the note",
                self.name, self.id
            ))
        })
    }
}

impl fmt::Display for CosignatureVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut k = vec![ALG_COSIGNATURE_V1];
        k.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, B64.encode(k))
    }
}

/// `note` with the signature `lines` (each `— name base64\n`) added after its own, each once.
pub fn add_signatures(note: &str, lines: &str) -> Result<String> {
    split_note(note)?;
    let mut out = note.to_owned();
    for line in lines.lines().filter(|l| !l.is_empty()) {
        if !line.starts_with("\u{2014} ") || line.split(' ').count() != 3 {
            return Err(Error::malformed(
                "cosignature",
                "a signature line is `— name signature`",
            ));
        }
        if !note.lines().any(|l| l == line) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Checkpoint, NoteSigner};

    #[test]
    fn cosignatures_verify_and_bind_the_time_and_the_text() -> Result<()> {
        let log = NoteSigner::generate("example.org/log")?;
        let note = Checkpoint {
            origin: "example.org/log".into(),
            size: 10,
            root: [1; 32],
        }
        .sign(&log)?;
        let w = CosignatureSigner::generate("w1")?;
        let again = CosignatureSigner::parse(&w.to_private_string())?;
        assert_eq!(again.verifier(), w.verifier());
        let v = CosignatureVerifier::parse(&w.verifier().to_string())?;
        let line = w.cosign(&note, 42)?;
        let cosigned = add_signatures(&note, &line)?;
        assert_eq!(v.verify(&cosigned)?, 42);
        // The log's own signature still opens it; adding the same line twice keeps one.
        assert!(Checkpoint::open(&cosigned, &log.verifier()).is_ok());
        assert_eq!(add_signatures(&cosigned, &line)?, cosigned);
        // Another time in the line, or another size in the text, fails.
        let forged = cosigned.replace("\n10\n", "\n11\n");
        assert!(v.verify(&forged).is_err());
        let mut blob = B64
            .decode(line.trim_end().rsplit(' ').next().unwrap_or(""))
            .map_err(|_| Error::Key("b64".into()))?;
        blob[11] ^= 1;
        let retimed = add_signatures(&note, &format!("\u{2014} w1 {}\n", B64.encode(&blob)))?;
        assert!(v.verify(&retimed).is_err());
        // Without its cosignature, or with a log key as a witness key: refused.
        assert!(v.verify(&note).is_err());
        assert!(CosignatureVerifier::parse(&log.verifier().to_string()).is_err());
        assert!(CosignatureSigner::parse(&log.to_private_string()?).is_err());
        Ok(())
    }
}
