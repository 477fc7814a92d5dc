//! Crypto-shredding: fields encrypted to an event's data subject with XChaCha20-Poly1305 under
//! a per-subject key, so that destroying the key erases them while the ciphertext, and with it
//! every leaf hash and proof, stays as it was.
//!
//! A whole field's value becomes `enc:v1:j:` and the base64 of a 24-byte nonce followed by the
//! ciphertext of its RFC 8785 JSON; a match inside text becomes `enc:v1:t:…;` in place, the
//! ciphertext of the matched text, ended by `;` (not a base64 character) so that text after it
//! (`…/8`) is never taken for part of the token. The associated data binds each ciphertext to its subject and
//! to the path of the string holding it (`aiaudit/v1` ‖ 0 ‖ subject ‖ 0 ‖ path), so it cannot be
//! moved to another subject or field.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde_json::{Map, Value};
use std::sync::LazyLock;

use crate::error::{Error, Result};

/// Prefix of an encrypted whole value (JSON inside).
pub const FIELD_PREFIX: &str = "enc:v1:j:";
/// Prefix of an encrypted match inside text.
pub const TEXT_PREFIX: &str = "enc:v1:t:";
/// What an encrypted value reads as once its subject's key is destroyed.
pub const ERASED: &str = "[ERASED]";

/// Per-subject keys: the writer's side (a key is made on first use).
pub trait SubjectKeys: Send + Sync {
    /// The subject's key, created if the subject has none.
    fn key_for(&self, subject: &str) -> Result<[u8; 32]>;
}

fn aad(subject: &str, path: &str) -> Vec<u8> {
    let mut a = Vec::with_capacity(16 + subject.len() + path.len());
    a.extend_from_slice(b"aiaudit/v1\0");
    a.extend_from_slice(subject.as_bytes());
    a.push(0);
    a.extend_from_slice(path.as_bytes());
    a
}

/// Encrypts `plain` for `subject` at `path`, returning `prefix` + base64(nonce ‖ ciphertext).
pub fn encrypt(
    key: &[u8; 32],
    subject: &str,
    path: &str,
    plain: &[u8],
    prefix: &str,
) -> Result<String> {
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut nonce).map_err(|e| Error::Crypto(format!("no randomness: {e}")))?;
    let cipher = XChaCha20Poly1305::new(key.into());
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: &aad(subject, path),
            },
        )
        .map_err(|_| Error::Crypto("encryption failed".into()))?;
    let mut blob = Vec::with_capacity(24 + ct.len());
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&ct);
    Ok(format!("{prefix}{}", B64.encode(blob)))
}

/// Decrypts the base64 part of a token; `None` if it does not authenticate.
pub fn decrypt(key: &[u8; 32], subject: &str, path: &str, b64: &str) -> Option<Vec<u8>> {
    let blob = B64.decode(b64).ok()?;
    if blob.len() < 24 + 16 {
        return None;
    }
    let (nonce, ct) = blob.split_at(24);
    XChaCha20Poly1305::new(key.into())
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ct,
                aad: &aad(subject, path),
            },
        )
        .ok()
}

static TEXT_TOKEN: LazyLock<Option<regex::Regex>> =
    LazyLock::new(|| regex::Regex::new(r"enc:v1:t:([A-Za-z0-9+/]+=*);").ok());

/// Reads encrypted values of a record's `name` and `details` back: decrypted with `key`, or
/// [`ERASED`] where the key is gone (`None`) or does not open them. Returns how many were
/// decrypted and how many read as erased.
pub fn reveal(
    name: &mut String,
    details: &mut Map<String, Value>,
    subject: &str,
    key: Option<&[u8; 32]>,
) -> (usize, usize) {
    let mut counts = (0, 0);
    reveal_string(name, subject, "name", key, &mut counts);
    let mut path = String::from("details");
    reveal_object(details, subject, &mut path, key, &mut counts);
    counts
}

fn reveal_string(
    s: &mut String,
    subject: &str,
    path: &str,
    key: Option<&[u8; 32]>,
    counts: &mut (usize, usize),
) {
    if !s.contains("enc:v1:t:") {
        return;
    }
    let Some(re) = TEXT_TOKEN.as_ref() else {
        return;
    };
    let out = re.replace_all(s, |c: &regex::Captures<'_>| {
        let token = &c[1];
        match key
            .and_then(|k| decrypt(k, subject, path, token))
            .and_then(|p| String::from_utf8(p).ok())
        {
            Some(text) => {
                counts.0 += 1;
                text
            }
            None => {
                counts.1 += 1;
                ERASED.to_owned()
            }
        }
    });
    *s = out.into_owned();
}

fn reveal_value(
    v: &mut Value,
    subject: &str,
    path: &mut String,
    key: Option<&[u8; 32]>,
    counts: &mut (usize, usize),
) {
    match v {
        Value::String(s) => {
            if let Some(token) = s.strip_prefix(FIELD_PREFIX) {
                let plain = key
                    .and_then(|k| decrypt(k, subject, path, token))
                    .and_then(|p| serde_json::from_slice::<Value>(&p).ok());
                match plain {
                    Some(p) => {
                        counts.0 += 1;
                        *v = p;
                    }
                    None => {
                        counts.1 += 1;
                        *v = Value::String(ERASED.into());
                    }
                }
            } else {
                reveal_string(s, subject, path, key, counts);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                reveal_value(item, subject, path, key, counts);
                path.truncate(len);
            }
        }
        Value::Object(m) => reveal_object(m, subject, path, key, counts),
        _ => {}
    }
}

fn reveal_object(
    m: &mut Map<String, Value>,
    subject: &str,
    path: &mut String,
    key: Option<&[u8; 32]>,
    counts: &mut (usize, usize),
) {
    for (k, v) in m.iter_mut() {
        let len = path.len();
        path.push('.');
        path.push_str(k);
        reveal_value(v, subject, path, key, counts);
        path.truncate(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let key = [5u8; 32];
        let t = encrypt(&key, "alice", "details.x", b"\"secret\"", FIELD_PREFIX).expect("enc");
        let b64 = t.strip_prefix(FIELD_PREFIX).expect("prefix");
        assert_eq!(
            decrypt(&key, "alice", "details.x", b64).as_deref(),
            Some(&b"\"secret\""[..])
        );
        assert!(
            decrypt(&key, "bob", "details.x", b64).is_none(),
            "bound to the subject"
        );
        assert!(
            decrypt(&key, "alice", "details.y", b64).is_none(),
            "bound to the path"
        );
        assert!(decrypt(&[6u8; 32], "alice", "details.x", b64).is_none());
    }
}
