//! Signing with a key the log never holds: an external command (a wrapper around a PKCS#11
//! module, a cloud KMS, an HSM's tool) makes every checkpoint signature.
//!
//! The command is run with one more argument:
//!
//! - `public-key`: prints the log's verifier key (`name+keyid+base64(0x01 ‖ key)`) on one line;
//! - `sign`: reads the bytes to sign on standard input and prints the base64 of the 64-byte
//!   Ed25519 signature on one line.
//!
//! A non-zero exit, a signature that is not 64 bytes of base64, or one that does not verify
//! with the verifier key fails the signing: no checkpoint is written with it. Each commit signs
//! one checkpoint, so a slow command bounds how often the log commits (batches grow to match).

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;

use aiaudit_core::{NoteSigner, NoteVerifier, SignatureBackend};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::error::{Error, Result};

/// An external command that signs.
#[derive(Debug, Clone)]
pub struct CommandSigner {
    argv: Vec<String>,
}

fn key_error(argv: &[String], why: String) -> Error {
    Error::Key {
        path: argv.first().cloned().unwrap_or_default().into(),
        why,
    }
}

impl CommandSigner {
    /// The signer of the log whose key the command holds: asks it for the verifier key.
    pub fn open(argv: Vec<String>) -> Result<NoteSigner> {
        if argv.is_empty() {
            return Err(key_error(&argv, "the signing command is empty".into()));
        }
        let out = run(&argv, "public-key", None).map_err(|why| key_error(&argv, why))?;
        let verifier = NoteVerifier::parse(out.trim()).map_err(|e| {
            key_error(
                &argv,
                format!(
                    "`{} public-key` printed no verifier key: {e}",
                    argv.join(" ")
                ),
            )
        })?;
        Ok(NoteSigner::external(
            &verifier,
            Arc::new(CommandSigner { argv }),
        ))
    }
}

/// Runs `argv` with `what` appended, `input` on stdin; its stdout, or why it failed.
fn run(argv: &[String], what: &str, input: Option<&[u8]>) -> std::result::Result<String, String> {
    let shown = format!("{} {what}", argv.join(" "));
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .arg(what)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{shown}`: {e}"))?;
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(bytes)
            .map_err(|e| format!("`{shown}` did not take its input: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("`{shown}` failed: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{shown}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| format!("`{shown}` printed something not UTF-8"))
}

impl SignatureBackend for CommandSigner {
    fn sign(&self, message: &[u8]) -> aiaudit_core::Result<[u8; 64]> {
        let out = run(&self.argv, "sign", Some(message)).map_err(aiaudit_core::Error::Key)?;
        let sig = B64.decode(out.trim()).map_err(|_| {
            aiaudit_core::Error::Key(format!(
                "`{} sign` printed no base64 signature",
                self.argv.join(" ")
            ))
        })?;
        sig.try_into().map_err(|_| {
            aiaudit_core::Error::Key(format!(
                "`{} sign` printed a signature that is not 64 bytes",
                self.argv.join(" ")
            ))
        })
    }

    fn describe(&self) -> String {
        format!("`{}`", self.argv.join(" "))
    }
}
