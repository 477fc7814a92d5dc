//! `GET /v1/checkpoint`, `/v1/proofs/inclusion`, `/v1/proofs/consistency` and `/v1/verify`.

use aiaudit::VerifyOptions;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::Q;
use super::caller::{Audit, Authorized, Read};
use crate::access;
use crate::error::ApiError;
use crate::openapi::SealedRecord;
use crate::state::AppState;

/// Which checkpoint.
#[derive(Debug, Default, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CheckpointParams {
    /// The newest checkpoint that witnesses cosigned, with their cosignatures, instead of the
    /// latest (which may not be cosigned yet).
    #[serde(default)]
    pub cosigned: Option<bool>,
}

/// The latest signed checkpoint (a C2SP signed note) with the cosignatures of the configured
/// witnesses it has, as `text/plain`; `cosigned=true`: the newest one witnesses cosigned.
#[utoipa::path(
    get,
    path = "/v1/checkpoint",
    tag = "proofs",
    params(CheckpointParams),
    responses(
        (status = 200, description = "The signed note", body = String, content_type = "text/plain"),
        (status = 400, description = "A bad parameter", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "The token's role may not read", body = crate::error::ErrorBody),
        (status = 404, description = "The log is empty; with cosigned=true: no witness is configured or none cosigned yet", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn checkpoint(
    State(state): State<AppState>,
    Authorized { caller, route, .. }: Authorized<Read>,
    Q(params): Q<CheckpointParams>,
) -> Result<Response, ApiError> {
    let note = if params.cosigned == Some(true) {
        let w = state.witnessing.clone().ok_or_else(|| {
            ApiError::not_found("no witnesses are configured ([[witnesses]] in aiaudit.toml)")
        })?;
        tokio::task::spawn_blocking(move || w.latest_cosigned())
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("no witness has cosigned a checkpoint yet"))?
    } else {
        let cp = state.read(|r| Ok(r.checkpoint()?)).await?;
        with_cosignatures(&state, cp.size, cp.note).await?
    };
    let size = note.lines().nth(1).and_then(|l| l.parse::<u64>().ok());
    access::record(
        &state,
        &caller,
        &route,
        json!({ "size": size, "cosigned": params.cosigned }),
        1,
    )
    .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

/// `note` of `size` leaves with the cosignatures kept for it.
pub(crate) async fn with_cosignatures(
    state: &AppState,
    size: u64,
    note: String,
) -> Result<String, ApiError> {
    match state.witnessing.clone() {
        Some(w) => tokio::task::spawn_blocking(move || w.cosigned(size, &note))
            .await
            .map_err(ApiError::internal),
        None => Ok(note),
    }
}

/// Parameters of an inclusion proof.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InclusionParams {
    /// The entry's seq.
    #[param(minimum = 0)]
    pub seq: u64,
    /// Tree size of a signed checkpoint to prove against (default: the latest).
    #[serde(default)]
    #[param(minimum = 1)]
    pub size: Option<u64>,
}

/// An inclusion proof (RFC 9162 §2.1.3) of one entry in a signed tree.
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionOut {
    /// The entry's seq (leaf index).
    #[schema(minimum = 0)]
    pub seq: u64,
    /// The tree size proved against.
    #[schema(minimum = 1)]
    pub tree_size: u64,
    /// The leaf hash, base64.
    pub leaf_hash: String,
    /// The audit path, base64 hashes from the leaf's sibling up.
    pub proof: Vec<String>,
    /// The signed checkpoint the proof leads to.
    pub checkpoint: String,
    /// The whole proof as a `c2sp.org/tlog-proof@v1` file, for `aiaudit verify-proof`.
    pub bundle: String,
    /// The entry's sealed record.
    #[schema(value_type = SealedRecord)]
    pub record: Box<serde_json::value::RawValue>,
}

/// Prove that an entry is in the log (audit role). The server checks the proof before sending
/// it; check it again with the log's verifier key.
#[utoipa::path(
    get,
    path = "/v1/proofs/inclusion",
    tag = "proofs",
    params(InclusionParams),
    responses(
        (status = 200, description = "The proof", body = InclusionOut),
        (status = 400, description = "Bad parameters", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "The token's role may not prove", body = crate::error::ErrorBody),
        (status = 404, description = "No such entry or checkpoint", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn inclusion(
    State(state): State<AppState>,
    Authorized { caller, route, .. }: Authorized<Audit>,
    Q(p): Q<InclusionParams>,
) -> Result<axum::Json<InclusionOut>, ApiError> {
    let (seq, size) = (p.seq, p.size);
    let bundle = state.read(move |r| Ok(r.prove(seq, size)?)).await?;
    let cp_size = aiaudit_core::Checkpoint::parse_text(&bundle.checkpoint_note)
        .map(|c| c.size)
        .unwrap_or_default();
    let data = bundle.leaf_data.clone().unwrap_or_default();
    let text = String::from_utf8(data.clone()).map_err(ApiError::internal)?;
    access::record(
        &state,
        &caller,
        &route,
        json!({ "seq": seq, "size": size }),
        1,
    )
    .await?;
    Ok(axum::Json(InclusionOut {
        seq,
        tree_size: cp_size,
        leaf_hash: B64.encode(aiaudit_core::leaf_hash(&data)),
        proof: bundle.proof.iter().map(|h| B64.encode(h)).collect(),
        checkpoint: bundle.checkpoint_note.clone(),
        bundle: bundle.to_text(),
        record: serde_json::value::RawValue::from_string(text).map_err(ApiError::internal)?,
    }))
}

/// Parameters of a consistency proof.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyParams {
    /// The older tree size.
    #[param(minimum = 1)]
    pub from: u64,
    /// The newer size, that of a signed checkpoint (default: the latest).
    #[serde(default)]
    #[param(minimum = 1)]
    pub to: Option<u64>,
}

/// A consistency proof (RFC 9162 §2.1.4): the newer tree extends the older one.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyOut {
    /// The older size.
    #[schema(minimum = 1)]
    pub from: u64,
    /// The older root, base64.
    pub from_root: String,
    /// The proof hashes, base64.
    pub proof: Vec<String>,
    /// The newer signed checkpoint.
    pub checkpoint: String,
    /// The whole proof as text, for `aiaudit verify-proof`.
    pub bundle: String,
}

/// Prove that the log only grew between two sizes (audit role).
#[utoipa::path(
    get,
    path = "/v1/proofs/consistency",
    tag = "proofs",
    params(ConsistencyParams),
    responses(
        (status = 200, description = "The proof", body = ConsistencyOut),
        (status = 400, description = "Bad parameters", body = crate::error::ErrorBody),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "The token's role may not prove", body = crate::error::ErrorBody),
        (status = 404, description = "No such size or checkpoint", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn consistency(
    State(state): State<AppState>,
    Authorized { caller, route, .. }: Authorized<Audit>,
    Q(p): Q<ConsistencyParams>,
) -> Result<axum::Json<ConsistencyOut>, ApiError> {
    let (from, to) = (p.from, p.to);
    let bundle = state
        .read(move |r| Ok(r.prove_consistency(from, to)?))
        .await?;
    access::record(
        &state,
        &caller,
        &route,
        json!({ "from": from, "to": to }),
        0,
    )
    .await?;
    Ok(axum::Json(ConsistencyOut {
        from,
        from_root: B64.encode(bundle.old_root),
        proof: bundle.proof.iter().map(|h| B64.encode(h)).collect(),
        checkpoint: bundle.checkpoint_note.clone(),
        bundle: bundle.to_text(),
    }))
}

/// One line of the verification stream.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyLine {
    /// Entries checked so far (progress lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub checked: Option<u64>,
    /// Entries in all (progress lines).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub total: Option<u64>,
    /// The result (the last line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<VerifyResult>,
}

/// The outcome of a verification.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResult {
    /// Nothing was found wrong.
    pub intact: bool,
    /// Entries read.
    #[schema(minimum = 0)]
    pub entries: u64,
    /// Signed checkpoints checked.
    #[schema(minimum = 0)]
    pub checkpoints: u64,
    /// The newest valid checkpoint's size.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub latest_size: Option<u64>,
    /// The first bad seq, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub first_bad_seq: Option<u64>,
    /// What was found wrong, in order.
    pub findings: Vec<String>,
}

/// Verify the whole log (audit role): every leaf, the tree, every checkpoint. Streams NDJSON:
/// progress lines `{"checked":…,"total":…}`, then `{"result":{…}}`.
#[utoipa::path(
    get,
    path = "/v1/verify",
    tag = "proofs",
    responses(
        (status = 200, description = "Progress lines, then the result", body = VerifyLine, content_type = "application/x-ndjson"),
        (status = 401, description = "No valid token", body = crate::error::ErrorBody),
        (status = 403, description = "The token's role may not verify", body = crate::error::ErrorBody)
    ),
    security(("token" = []))
)]
pub async fn verify(
    State(state): State<AppState>,
    Authorized { caller, route, .. }: Authorized<Audit>,
) -> Result<Response, ApiError> {
    let size = state.read(|r| Ok(r.size()?)).await?;
    access::record(&state, &caller, &route, json!({ "size": size }), size).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(16);
    let worker = state.clone();
    tokio::task::spawn_blocking(move || {
        let step = (size / 20).max(1);
        let mut next = 0u64;
        let progress_tx = tx.clone();
        let outcome = worker.readers.with(|r| {
            Ok(r.verify(&VerifyOptions::default(), &mut |done, total| {
                if done >= next {
                    next = done + step;
                    let line = VerifyLine {
                        checked: Some(done),
                        total: Some(total),
                        result: None,
                    };
                    let _ = progress_tx.blocking_send(Ok(ndjson(&line)));
                }
            }))
        });
        let result = match outcome {
            Ok(Ok(report)) => {
                worker.metrics.verify_result(if report.is_intact() {
                    "intact"
                } else {
                    "damaged"
                });
                VerifyResult {
                    intact: report.is_intact(),
                    entries: report.entries,
                    checkpoints: report.checkpoints,
                    latest_size: report.latest.as_ref().map(|c| c.size),
                    first_bad_seq: report.first_bad_seq(),
                    findings: report.findings.iter().map(|f| f.message.clone()).collect(),
                }
            }
            Ok(Err(e)) => failed(&worker, e.to_string()),
            Err(e) => failed(&worker, e.message),
        };
        let line = VerifyLine {
            checked: None,
            total: None,
            result: Some(result),
        };
        let _ = tx.blocking_send(Ok(ndjson(&line)));
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response())
}

fn ndjson<T: Serialize>(v: &T) -> bytes::Bytes {
    let mut line = serde_json::to_vec(v).unwrap_or_default();
    line.push(b'\n');
    line.into()
}

fn failed(state: &AppState, detail: String) -> VerifyResult {
    state.metrics.verify_result("error");
    tracing::error!(%detail, "verification could not run");
    VerifyResult {
        intact: false,
        entries: 0,
        checkpoints: 0,
        latest_size: None,
        first_bad_seq: None,
        findings: vec!["the verification could not run; the server's log has the details".into()],
    }
}
