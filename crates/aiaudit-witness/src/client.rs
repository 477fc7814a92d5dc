//! The log's side of c2sp.org/tlog-witness: show a witness the log's checkpoint from the size
//! it holds (a 409 answer says which), and take back its cosignature once it verifies with the
//! witness's key.

use aiaudit_core::Hash;
use aiaudit_core::cosignature::{CosignatureVerifier, add_signatures};

use crate::request::AddCheckpoint;

/// A witness a log submits to.
#[derive(Debug, Clone)]
pub struct WitnessTarget {
    /// Its name (for messages and metrics).
    pub name: String,
    /// Its submission prefix (`…/add-checkpoint` is appended).
    pub url: String,
    /// Its key.
    pub key: CosignatureVerifier,
}

/// What one add-checkpoint request got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// The checkpoint with the witness's cosignature added, and the cosignature's time.
    Cosigned {
        /// The note with the cosignature line added.
        note: String,
        /// The cosignature line.
        line: String,
        /// Its time, Unix seconds.
        time: u64,
    },
    /// 409 with a size: the witness holds this size; ask again with a proof from it.
    Holds(u64),
    /// The witness holds a checkpoint this log cannot extend to: another root at the same
    /// size, a bigger size, or a history its proof does not extend. The log forked or was
    /// rolled back, or the witness saw another log under this origin.
    Refused(String),
}

/// Why a request did not complete (the witness is down or answers nonsense); the caller
/// retries later.
#[derive(Debug, thiserror::Error)]
#[error("witness {witness}: {why}")]
pub struct SubmitError {
    /// The witness's name.
    pub witness: String,
    /// What happened.
    pub why: String,
}

/// One add-checkpoint request: `note` (the log's checkpoint of `size` leaves) to `target`
/// from `old` with `proof` (the consistency proof from `old` to `size`).
pub async fn submit(
    client: &reqwest::Client,
    target: &WitnessTarget,
    note: &str,
    size: u64,
    old: u64,
    proof: Vec<Hash>,
) -> Result<Submitted, SubmitError> {
    let fail = |why: String| SubmitError {
        witness: target.name.clone(),
        why,
    };
    let endpoint = format!("{}/add-checkpoint", target.url.trim_end_matches('/'));
    let body = AddCheckpoint {
        old,
        proof,
        checkpoint: note.to_owned(),
    }
    .to_body();
    let resp = client
        .post(&endpoint)
        .body(body)
        .send()
        .await
        .map_err(|e| fail(format!("reaching the witness at {endpoint}: {e}")))?;
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .await
        .map_err(|e| fail(format!("reading the answer: {e}")))?;
    match status {
        200 => {
            let cosigned = add_signatures(note, &text)
                .map_err(|e| fail(format!("the answer is not cosignature lines: {e}")))?;
            let time = target
                .key
                .verify(&cosigned)
                .map_err(|e| fail(format!("the cosignature does not verify with its key: {e}")))?;
            Ok(Submitted::Cosigned {
                note: cosigned,
                line: text,
                time,
            })
        }
        409 => match text.trim().parse::<u64>() {
            Ok(n) if n > size => Ok(Submitted::Refused(format!(
                "the witness holds size {n}, beyond this log's {size}: the log was rolled back or forked"
            ))),
            Ok(n) if n == old => Err(fail(format!("409 for the size it holds ({n})"))),
            Ok(n) => Ok(Submitted::Holds(n)),
            Err(_) => Ok(Submitted::Refused(format!(
                "{} (this log forked)",
                text.trim()
            ))),
        },
        422 => Ok(Submitted::Refused(text.trim().to_owned())),
        _ => Err(fail(format!("answered {status}: {}", text.trim()))),
    }
}

/// Gets `note` (the log's checkpoint of `size` leaves) cosigned by `target`, starting from
/// `held`, the size the witness is thought to hold: a 409 naming another size restarts from
/// it, up to three requests. `proof_from(old)` gives the consistency proof from `old` to
/// `size`. Returns the cosignature line and its time, or why not (a refusal says the log may
/// have forked, and is logged as an error).
pub async fn cosign<F, Fut>(
    client: &reqwest::Client,
    target: &WitnessTarget,
    note: &str,
    size: u64,
    held: u64,
    mut proof_from: F,
) -> Result<(String, u64), String>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Hash>, String>>,
{
    let mut old = held;
    for _ in 0..3 {
        let proof = if old == 0 || old == size {
            Vec::new()
        } else {
            proof_from(old).await?
        };
        match submit(client, target, note, size, old, proof).await {
            Ok(Submitted::Cosigned { line, time, .. }) => return Ok((line, time)),
            Ok(Submitted::Holds(n)) => old = n,
            Ok(Submitted::Refused(why)) => {
                tracing::error!(witness = %target.name, size, %why, "a witness refused this log's checkpoint: the log may have forked");
                return Err(format!("refused: {why}"));
            }
            Err(e) => return Err(e.why),
        }
    }
    Err("the size it holds kept changing".into())
}
