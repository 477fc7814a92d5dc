//! The witness: checks an `add-checkpoint` request against the log's key and the latest
//! checkpoint it cosigned for that log, keeps the new one, and cosigns it.

use std::path::Path;
use std::sync::Mutex;

use aiaudit_core::cosignature::CosignatureSigner;
use aiaudit_core::{Checkpoint, empty_root, verify_consistency};

use crate::config::Logs;
use crate::error::{Error, Result};
use crate::request::AddCheckpoint;
use crate::state::{Decision, Latest, State};

/// Why a request was not cosigned, each with the status c2sp.org/tlog-witness gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// 400: the body does not parse.
    BadRequest(String),
    /// 404: no log with this origin is configured.
    UnknownOrigin(String),
    /// 403: no signature by the log's key verifies.
    NotSigned(String),
    /// 400: the old size is above the checkpoint's size.
    OldAboveSize {
        /// The old size asked for.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// 409: the old size is not the size last cosigned; the client retries from `latest`.
    Conflict {
        /// The size of the latest checkpoint cosigned (0 if none).
        latest: u64,
    },
    /// 409: the checkpoint has the size last cosigned but another root: a fork.
    SameSizeOtherRoot,
    /// 422: the consistency proof does not verify: this checkpoint is not an extension of
    /// the one cosigned before (kept as evidence).
    BadProof(String),
}

impl Refusal {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest(_) | Refusal::OldAboveSize { .. } => 400,
            Refusal::NotSigned(_) => 403,
            Refusal::UnknownOrigin(_) => 404,
            Refusal::Conflict { .. } | Refusal::SameSizeOtherRoot => 409,
            Refusal::BadProof(_) => 422,
        }
    }

    /// What to tell the client.
    pub fn message(&self) -> String {
        match self {
            Refusal::BadRequest(why) => format!("bad request: {why}"),
            Refusal::UnknownOrigin(o) => format!("this witness does not witness the log {o:?}"),
            Refusal::NotSigned(why) => {
                format!("the checkpoint is not signed by the log's key: {why}")
            }
            Refusal::OldAboveSize { old, size } => {
                format!("old size {old} is above the checkpoint's size {size}")
            }
            Refusal::Conflict { latest } => format!("{latest}\n"),
            Refusal::SameSizeOtherRoot => {
                "the checkpoint has the size last cosigned but another root hash: the log forked"
                    .into()
            }
            Refusal::BadProof(why) => format!(
                "the consistency proof does not verify ({why}): the checkpoint does not extend the one this witness cosigned"
            ),
        }
    }
}

/// What a request got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 200: the cosignature line(s).
    Cosigned(String),
    /// Refused.
    Refused(Refusal),
}

/// A witness: its key, the logs it witnesses, and its state.
pub struct Witness {
    signer: CosignatureSigner,
    logs: Logs,
    state: Mutex<Option<State>>,
}

impl Witness {
    /// A witness keeping its state at `state`.
    pub fn open(state: &Path, signer: CosignatureSigner, logs: Logs) -> Result<Self> {
        Ok(Witness {
            signer,
            logs,
            state: Mutex::new(Some(State::open(state)?)),
        })
    }

    /// The witness's verifier key.
    pub fn verifier_key(&self) -> String {
        self.signer.verifier().to_string()
    }

    /// Answers one `add-checkpoint` request body at `now` (Unix seconds). An `Err` means the
    /// state could not be read or kept: the witness then answers nothing more (its state is
    /// dropped) rather than risk cosigning what it has not kept.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<Outcome> {
        let req = match AddCheckpoint::parse(body) {
            Ok(r) => r,
            Err(why) => return Ok(Outcome::Refused(Refusal::BadRequest(why))),
        };
        // The origin is the note's first line; the log's key decides whether it is signed.
        let origin = req
            .checkpoint
            .split('\n')
            .next()
            .unwrap_or_default()
            .to_owned();
        let Some(key) = self.logs.get(&origin) else {
            return Ok(Outcome::Refused(Refusal::UnknownOrigin(origin)));
        };
        let cp = match Checkpoint::open(&req.checkpoint, key) {
            Ok(cp) => cp,
            Err(e) => return Ok(Outcome::Refused(Refusal::NotSigned(e.to_string()))),
        };
        if req.old > cp.size {
            return Ok(Outcome::Refused(Refusal::OldAboveSize {
                old: req.old,
                size: cp.size,
            }));
        }
        if cp.size == 0 && cp.root != empty_root() {
            return Ok(Outcome::Refused(Refusal::BadProof(
                "a checkpoint of size 0 must have the empty tree's root".into(),
            )));
        }
        let at = i64::try_from(now).unwrap_or(i64::MAX);
        let mut guard = self.state.lock().map_err(|_| Error::Damaged {
            path: "the witness state".into(),
            why: "a request panicked while holding it".into(),
        })?;
        let Some(state) = guard.as_mut() else {
            return Err(Error::Damaged {
                path: "the witness state".into(),
                why: "an earlier write failed; restart the witness".into(),
            });
        };
        let decided = state.advance(&origin, |latest: Option<&Latest>| {
            decide(&req, &cp, latest, at, body)
        });
        let refusal = match decided {
            Ok(r) => r,
            Err(e) => {
                // Poisoned: a state whose last write failed is not trusted again in-process.
                *guard = None;
                return Err(e);
            }
        };
        drop(guard);
        match refusal {
            Some(r) => Ok(Outcome::Refused(r)),
            None => Ok(Outcome::Cosigned(self.signer.cosign(&req.checkpoint, now)?)),
        }
    }
}

/// The decision on a request given the latest checkpoint kept: `None` to cosign (after
/// keeping it), or the refusal.
fn decide(
    req: &AddCheckpoint,
    cp: &Checkpoint,
    latest: Option<&Latest>,
    at: i64,
    body: &[u8],
) -> Decision<Option<Refusal>> {
    let refuse = |r: Refusal| Decision::Leave {
        evidence: None,
        then: Some(r),
    };
    // A refusal for another history keeps the log-signed request as evidence.
    let fork = |why: String, r: Refusal| Decision::Leave {
        evidence: Some((at, why, String::from_utf8_lossy(body).into_owned())),
        then: Some(r),
    };
    let held = latest.map_or(0, |l| l.size);
    if req.old != held {
        return refuse(Refusal::Conflict { latest: held });
    }
    if let Some(l) = latest {
        if cp.size == l.size {
            return if cp.root != l.root {
                fork("same size, other root".into(), Refusal::SameSizeOtherRoot)
            } else if !req.proof.is_empty() {
                refuse(Refusal::BadProof(
                    "a proof between equal sizes must be empty".into(),
                ))
            } else {
                // The same checkpoint again: cosigned again, the state as it is.
                Decision::Leave {
                    evidence: None,
                    then: None,
                }
            };
        }
        if let Err(e) = verify_consistency(l.size, cp.size, &req.proof, &l.root, &cp.root) {
            return fork(
                format!("inconsistent: {e}"),
                Refusal::BadProof(e.to_string()),
            );
        }
    }
    Decision::Keep {
        size: cp.size,
        root: cp.root,
        note: req.checkpoint.clone(),
        at,
        then: None,
    }
}
