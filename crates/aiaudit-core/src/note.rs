//! C2SP signed notes (`c2sp.org/signed-note`) with Ed25519 keys, and the checkpoints
//! (`c2sp.org/tlog-checkpoint`) they carry.
//!
//! Key strings follow the Go `sumdb/note` forms so that standard tooling reads them:
//! verifier `name+hex(keyid)+base64(0x01 ‖ pubkey)`, signer
//! `PRIVATE+KEY+name+hex(keyid)+base64(0x01 ‖ seed)`, key id
//! `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ pubkey)[:4]`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use std::fmt;

use crate::error::{Error, Result};
use crate::hash::{Hash, sha256};

/// Ed25519 signature type byte of the signed-note spec.
const ALG_ED25519: u8 = 0x01;
/// At most this many signature lines are read from a note.
const MAX_SIGNATURES: usize = 100;

pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(Error::Key(format!(
            "key name {name:?} must be non-empty, without spaces or '+'"
        )));
    }
    Ok(())
}

fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    typed_key_id(name, ALG_ED25519, public)
}

/// `SHA-256(name ‖ 0x0A ‖ alg ‖ pubkey)[:4]`, the key id of every signed-note key type.
pub(crate) fn typed_key_id(name: &str, alg: u8, public: &[u8; 32]) -> u32 {
    let mut data = Vec::with_capacity(name.len() + 34);
    data.extend_from_slice(name.as_bytes());
    data.push(b'\n');
    data.push(alg);
    data.extend_from_slice(public);
    let h = sha256(&data);
    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

/// Splits `name+hex+b64` at the first two `+` (base64 may itself contain `+`).
/// What an Ed25519 key's bytes must be.
const ED25519_KEY: &str = "an Ed25519 key (0x01 ‖ 32 bytes)";

fn split_key(s: &str) -> Result<(&str, u32, Vec<u8>)> {
    split_typed_key(s, ALG_ED25519, ED25519_KEY)
}

/// 32 bytes from the operating system's random source: a new key's seed.
pub(crate) fn random_seed() -> Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::Key(format!("no randomness: {e}")))?;
    Ok(seed)
}

/// Splits a private key string `PRIVATE+KEY+name+hex+b64(alg ‖ seed)` of type `alg` into its
/// name, key id and seed.
pub(crate) fn split_private_key<'a>(
    s: &'a str,
    alg: u8,
    what: &str,
) -> Result<(&'a str, u32, [u8; 32])> {
    let rest = s
        .trim()
        .strip_prefix("PRIVATE+KEY+")
        .ok_or_else(|| Error::Key("a signing key starts with PRIVATE+KEY+".into()))?;
    let (name, id, seed) = split_typed_key(rest, alg, what)?;
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| Error::Key("seed is not 32 bytes".into()))?;
    Ok((name, id, seed))
}

/// Refuses a parsed private key whose stated id is not its own.
pub(crate) fn check_key_id(stated: u32, actual: u32) -> Result<()> {
    if stated != actual {
        return Err(Error::Key(format!(
            "key id {stated:08x} does not match the key (expected {actual:08x})"
        )));
    }
    Ok(())
}

/// Splits `name+hex+b64(alg ‖ 32 bytes)`, refusing another type as not `what`.
pub(crate) fn split_typed_key<'a>(
    s: &'a str,
    alg: u8,
    what: &str,
) -> Result<(&'a str, u32, Vec<u8>)> {
    let mut parts = s.trim().splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Error::Key("expected name+keyid+base64key".into()));
    };
    check_name(name)?;
    if id.len() != 8 {
        return Err(Error::Key(format!("key id {id:?} is not 8 hex digits")));
    }
    let id =
        u32::from_str_radix(id, 16).map_err(|_| Error::Key(format!("key id {id:?} is not hex")))?;
    let key = B64
        .decode(key)
        .map_err(|e| Error::Key(format!("key is not base64: {e}")))?;
    if key.len() != 33 || key[0] != alg {
        return Err(Error::Key(format!("key is not {what}")));
    }
    Ok((name, id, key[1..].to_vec()))
}

/// Ed25519 signatures made outside this process: a key in a hardware module, a KMS, or an
/// external command, for a signer whose private key the log never holds.
pub trait SignatureBackend: Send + Sync {
    /// The 64-byte Ed25519 signature of `message`.
    fn sign(&self, message: &[u8]) -> Result<[u8; 64]>;
    /// What to call the backend in messages (a command line, a key label).
    fn describe(&self) -> String;
}

/// Where a signer's private key is.
#[derive(Clone)]
enum KeyHolder {
    /// In memory (from a key file).
    Local(SigningKey),
    /// Elsewhere: only the public key is here; every signature is checked with it before use.
    External {
        public: VerifyingKey,
        backend: std::sync::Arc<dyn SignatureBackend>,
    },
}

impl KeyHolder {
    fn public(&self) -> VerifyingKey {
        match self {
            KeyHolder::Local(k) => k.verifying_key(),
            KeyHolder::External { public, .. } => *public,
        }
    }
}

/// A note signer: an Ed25519 key with its name, held in memory or by a
/// [`SignatureBackend`].
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: KeyHolder,
    id: u32,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            KeyHolder::Local(_) => write!(f, "NoteSigner({}+{:08x})", self.name, self.id),
            KeyHolder::External { backend, .. } => write!(
                f,
                "NoteSigner({}+{:08x} by {})",
                self.name,
                self.id,
                backend.describe()
            ),
        }
    }
}

impl NoteSigner {
    /// A fresh random key named `name` (from the operating system's random source).
    pub fn generate(name: &str) -> Result<Self> {
        check_name(name)?;
        Ok(Self::from_seed(name, random_seed()?))
    }

    fn from_seed(name: &str, seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, key.verifying_key().as_bytes());
        NoteSigner {
            name: name.to_owned(),
            key: KeyHolder::Local(key),
            id,
        }
    }

    /// A signer for `verifier`'s key whose signatures `backend` makes. Each signature is
    /// checked against the verifier before a note carries it.
    pub fn external(
        verifier: &NoteVerifier,
        backend: std::sync::Arc<dyn SignatureBackend>,
    ) -> Self {
        NoteSigner {
            name: verifier.name.clone(),
            key: KeyHolder::External {
                public: verifier.key,
                backend,
            },
            id: verifier.id,
        }
    }

    /// Whether the private key is held outside this process.
    pub fn is_external(&self) -> bool {
        matches!(self.key, KeyHolder::External { .. })
    }

    /// Parses `PRIVATE+KEY+name+keyid+base64(0x01 ‖ seed)`.
    pub fn parse(s: &str) -> Result<Self> {
        let (name, id, seed) = split_private_key(s, ALG_ED25519, ED25519_KEY)?;
        let signer = Self::from_seed(name, seed);
        check_key_id(id, signer.id)?;
        Ok(signer)
    }

    /// The private key string (keep it secret); an error for a key held by a backend.
    pub fn to_private_string(&self) -> Result<String> {
        let KeyHolder::Local(key) = &self.key else {
            return Err(Error::Key(format!(
                "the key {} is held outside this process; it has no private key string",
                self.name
            )));
        };
        let mut k = vec![ALG_ED25519];
        k.extend_from_slice(key.as_bytes());
        Ok(format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            B64.encode(k)
        ))
    }

    /// The key name (the log's origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            id: self.id,
            key: self.key.public(),
        }
    }

    /// Signs `text` (which must end in a newline) and returns the whole note.
    pub fn sign(&self, text: &str) -> Result<String> {
        Ok(format!("{text}\n{}", self.signature_line(text)?))
    }

    /// The signature line `— name base64(key id ‖ signature)\n` of `text`, which must end in a
    /// newline: for a note that several keys sign ([`sign_all`]).
    pub fn signature_line(&self, text: &str) -> Result<String> {
        if !text.ends_with('\n') {
            return Err(Error::malformed("note", "text must end with a newline"));
        }
        let sig = match &self.key {
            KeyHolder::Local(key) => key.sign(text.as_bytes()),
            KeyHolder::External { public, backend } => {
                let sig = Signature::from_bytes(&backend.sign(text.as_bytes())?);
                public.verify(text.as_bytes(), &sig).map_err(|_| {
                    Error::Signature(format!(
                        "the signer {} returned a signature that does not verify with {}+{:08x}; the note is not signed",
                        backend.describe(),
                        self.name,
                        self.id
                    ))
                })?;
                sig
            }
        };
        let mut blob = self.id.to_be_bytes().to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        Ok(format!("\u{2014} {} {}\n", self.name, B64.encode(blob)))
    }
}

/// Signs `text` with every signer in order (the note carries one line per signer); an error
/// for no signers.
pub fn sign_all(signers: &[NoteSigner], text: &str) -> Result<String> {
    if signers.is_empty() {
        return Err(Error::Key("a note needs at least one signer".into()));
    }
    let mut note = format!("{text}\n");
    for s in signers {
        note.push_str(&s.signature_line(text)?);
    }
    Ok(note)
}

/// The keys a note may be opened with: one [`NoteVerifier`], or a set of them (a log's keys
/// across a rotation), any one of whose signatures opens the note.
pub trait NoteKeys {
    /// The note's text once a signature by one of these keys verifies. A signature line that
    /// names one of the keys but does not verify rejects the note.
    fn open_note<'a>(&self, note: &'a str) -> Result<&'a str>;
    /// Whether the key set holds a key named `name` (a checkpoint's origin must be one).
    fn names(&self, name: &str) -> bool;
}

impl NoteKeys for NoteVerifier {
    fn open_note<'a>(&self, note: &'a str) -> Result<&'a str> {
        self.open(note)
    }
    fn names(&self, name: &str) -> bool {
        self.name == name
    }
}

impl NoteKeys for [NoteVerifier] {
    fn open_note<'a>(&self, note: &'a str) -> Result<&'a str> {
        let (text, sigs) = split_note(note)?;
        let mut opened = false;
        for key in self {
            let signed = sigs
                .iter()
                .any(|(name, blob)| *name == key.name && blob[..4] == key.id.to_be_bytes());
            if signed {
                key.open(note)?;
                opened = true;
            }
        }
        if !opened {
            let keys: Vec<String> = self
                .iter()
                .map(|k| format!("{}+{:08x}", k.name, k.id))
                .collect();
            return Err(Error::Signature(format!(
                "no signature by any of the keys {} on the note",
                keys.join(", ")
            )));
        }
        Ok(text)
    }
    fn names(&self, name: &str) -> bool {
        self.iter().any(|k| k.name == name)
    }
}

impl NoteKeys for Vec<NoteVerifier> {
    fn open_note<'a>(&self, note: &'a str) -> Result<&'a str> {
        self.as_slice().open_note(note)
    }
    fn names(&self, name: &str) -> bool {
        self.as_slice().names(name)
    }
}

/// A note verifier: an Ed25519 public key with its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses `name+keyid+base64(0x01 ‖ pubkey)` and checks the key id.
    pub fn parse(s: &str) -> Result<Self> {
        let (name, id, key) = split_key(s)?;
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| Error::Key("public key is not 32 bytes".into()))?;
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| Error::Key("not a valid Ed25519 public key".into()))?;
        let want = key_id(name, key.as_bytes());
        if want != id {
            return Err(Error::Key(format!(
                "key id {id:08x} does not match the key (expected {want:08x})"
            )));
        }
        Ok(NoteVerifier {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Opens a signed note: returns its text once this key's signature verifies. Signatures of
    /// other keys are ignored; a bad signature by this key rejects the note.
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str> {
        let (text, sigs) = split_note(note)?;
        let mut verified = false;
        for (name, blob) in sigs {
            let id = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
            if name != self.name || id != self.id {
                continue;
            }
            let sig = Signature::from_slice(&blob[4..])
                .map_err(|_| Error::Signature(format!("{name}: not an Ed25519 signature")))?;
            self.key.verify(text.as_bytes(), &sig).map_err(|_| {
                Error::Signature(format!("{name}: the signature does not match the note"))
            })?;
            verified = true;
        }
        if !verified {
            return Err(Error::Signature(format!(
                "no signature by {}+{:08x} on the note",
                self.name, self.id
            )));
        }
        Ok(text)
    }
}

/// A signature line of a note: the key name and the decoded signature (key id first).
pub type NoteSignature<'a> = (&'a str, Vec<u8>);

/// A signed note's text (with its final newline) and its signature lines, each as the key
/// name and the decoded signature (at least the 4 bytes of the key id). Refuses control
/// characters, a missing blank line, a line that is not `— name base64`, and more than 100
/// signatures.
pub fn split_note(note: &str) -> Result<(&str, Vec<NoteSignature<'_>>)> {
    let bad = |why: &str| Error::malformed("signed note", why);
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(bad("contains control characters"));
    }
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| bad("no blank line before the signatures"))?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    if sigs.is_empty() || !sigs.ends_with('\n') {
        return Err(bad("the signature block must end with a newline"));
    }
    let mut out = Vec::new();
    for (i, line) in sigs.lines().enumerate() {
        if i >= MAX_SIGNATURES {
            return Err(bad("too many signatures"));
        }
        let rest = line
            .strip_prefix("\u{2014} ")
            .ok_or_else(|| bad("a signature line must start with an em dash and a space"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| bad("a signature line is `— name signature`"))?;
        let blob = B64
            .decode(b64)
            .map_err(|_| bad("a signature is not base64"))?;
        if blob.len() < 5 {
            return Err(bad("a signature is too short"));
        }
        out.push((name, blob));
    }
    Ok((text, out))
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut k = vec![ALG_ED25519];
        k.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, B64.encode(k))
    }
}

/// A checkpoint: the log's size and root, named by its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line (also the signing key's name).
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// The RFC 9162 root of those entries.
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: `origin\nsize\nbase64(root)\n`.
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Parses a checkpoint note text (extension lines are allowed and ignored).
    pub fn parse_text(text: &str) -> Result<Self> {
        let bad = |why: String| Error::malformed("checkpoint", why);
        let mut lines = text.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(bad("the origin line is empty".into()));
        }
        let size_line = lines.next().ok_or_else(|| bad("no size line".into()))?;
        let size: u64 = size_line
            .parse()
            .ok()
            .filter(|n: &u64| n.to_string() == size_line)
            .ok_or_else(|| bad(format!("size {size_line:?} is not a decimal number")))?;
        let root_line = lines.next().ok_or_else(|| bad("no root line".into()))?;
        let root: Hash = B64
            .decode(root_line)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| bad(format!("root {root_line:?} is not a base64 SHA-256 hash")))?;
        if !text.ends_with('\n') {
            return Err(bad("the text must end with a newline".into()));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// Signs the checkpoint.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String> {
        signer.sign(&self.to_text())
    }

    /// Signs the checkpoint with every signer (a log in a key transition signs with both).
    pub fn sign_all(&self, signers: &[NoteSigner]) -> Result<String> {
        sign_all(signers, &self.to_text())
    }

    /// Opens a signed checkpoint note with `keys` (one verifier or a key set) and checks the
    /// origin matches the keys' name.
    pub fn open(note: &str, keys: &(impl NoteKeys + ?Sized)) -> Result<Self> {
        let text = keys.open_note(note)?;
        let cp = Checkpoint::parse_text(text)?;
        if !keys.names(&cp.origin) {
            return Err(Error::Signature(format!(
                "checkpoint origin {:?} is not the key's log",
                cp.origin,
            )));
        }
        Ok(cp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of the Go sumdb/note package documentation.
    const PRIV: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn interoperates_with_go_sumdb_note() {
        let signer = NoteSigner::parse(PRIV).expect("private key parses");
        assert_eq!(signer.to_private_string().ok().as_deref(), Some(PRIV));
        assert_eq!(signer.verifier().to_string(), VKEY);
        let note = signer.sign(TEXT).expect("signs");
        assert_eq!(note, format!("{TEXT}\n{SIG}"));
        let v = NoteVerifier::parse(VKEY).expect("verifier parses");
        assert_eq!(v.open(&note).expect("opens"), TEXT);
    }

    #[test]
    fn rejects_tampered_and_foreign_notes() {
        let v = NoteVerifier::parse(VKEY).expect("parses");
        let note = format!("{TEXT}\n{SIG}");
        let tampered = note.replacen("cryptography", "cryptographY", 1);
        assert!(matches!(v.open(&tampered), Err(Error::Signature(_))));
        let other = NoteSigner::generate("PeterNeumann").expect("key");
        let foreign = other.sign(TEXT).expect("signs");
        assert!(
            v.open(&foreign).is_err(),
            "a different key with the same name"
        );
        assert!(v.open(TEXT).is_err());
        assert!(
            NoteVerifier::parse(
                "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            )
            .is_err()
        );
    }

    #[test]
    fn checkpoints_round_trip() {
        let signer = NoteSigner::generate("example.org/log").expect("key");
        let cp = Checkpoint {
            origin: "example.org/log".into(),
            size: 10,
            root: [7; 32],
        };
        let note = cp.sign(&signer).expect("signs");
        assert_eq!(
            Checkpoint::open(&note, &signer.verifier()).expect("opens"),
            cp
        );
        for bad in ["o\n01\nAAAA\n", "o\nx\n\n", "\n1\nAAAA\n", "o\n1\n"] {
            assert!(Checkpoint::parse_text(bad).is_err(), "{bad:?}");
        }
    }
}
