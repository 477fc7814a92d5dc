//! # aiaudit-py
//!
//! The PyO3 extension module `aiaudit._native` behind the Python package in `python/aiaudit/`.
//! Everything that is not inherently Python lives here or in the Rust crates: converting Python
//! values to JSON, validating, sealing and committing (on the writer thread, outside the GIL),
//! queries, proofs, verification, reports and redaction. The Python package adds only what must
//! be Python: decorators, a `logging.Handler`, ASGI middleware and the seeds' class shapes.
//!
//! Build it with maturin (`pip install ./python`); its tests are the package's pytest suite.
//! The Rust side it wraps, for comparison:
//!
//! ```no_run
//! # // Not run: the module is a cdylib loaded by Python, so its doctests are off.
//! let log = aiaudit::AuditLogger::open("audit.db")?;
//! log.log_event("Data preprocessing started", serde_json::json!({"file": "dataset.csv"}), "INFO")?;
//! log.close()?;
//! # Ok::<(), aiaudit::Error>(())
//! ```

mod convert;
mod errors;
mod logger;
mod reader;
mod registry;
mod source;

use aiaudit_core::{ConsistencyBundle, InclusionBundle, NoteVerifier};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use serde_json::{Value, json};

use crate::errors::IntoPyResult;

/// The module's Rust allocations (not Python's) use mimalloc: events are allocated on the
/// caller's thread and freed on the writer's, which glibc's malloc serialises on an arena lock.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A new request id: a random (version 4) UUID.
pub(crate) fn new_request_id() -> String {
    let mut bytes = [0u8; 16];
    // getrandom fails only where the OS has no randomness source at all.
    if getrandom::fill(&mut bytes).is_err() {
        let t = aiaudit_core::timefmt::now_ns().to_le_bytes();
        bytes[..8].copy_from_slice(&t);
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// `sha256:`-less hex SHA-256 of a value's RFC 8785 canonical JSON.
pub(crate) fn input_hash(v: &Value) -> PyResult<String> {
    let bytes = aiaudit_core::canonical::to_vec(v)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    Ok(hex::encode(aiaudit_core::sha256(&bytes)))
}

/// A verification report as JSON.
pub(crate) fn report_json(r: &aiaudit::VerifyReport) -> Value {
    let cp = |c: &aiaudit_core::Checkpoint| json!({"origin": c.origin, "size": c.size, "root": hex::encode(c.root)});
    json!({
        "intact": r.is_intact(),
        "entries": r.entries,
        "checkpoints": r.checkpoints,
        "first_bad_seq": r.first_bad_seq(),
        "latest": r.latest.as_ref().map(cp),
        "against": r.against.as_ref().map(cp),
        "findings": r.findings.iter().map(|f| json!({"seq": f.seq, "range_end": f.range_end, "message": f.message})).collect::<Vec<_>>(),
        "archived": r.archived.iter().map(|f| json!({"first_seq": f.first_seq, "end_seq": f.end_seq, "file": f.file, "url": f.url, "deleted_by": f.deleted_by})).collect::<Vec<_>>(),
    })
}

/// `text` with e-mail addresses, phone numbers, SSNs and card numbers masked.
#[pyfunction]
fn redact_text(text: &str) -> String {
    aiaudit_core::redact::redact_text(text).into_owned()
}

/// A copy of `data` with every string inside dicts, lists and tuples redacted; other values are
/// kept as they are (seed 003's `redact_pii`).
#[pyfunction]
fn redact<'py>(data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    redact_any(data, 0, "")
}

/// `data` redacted; `key` is the dict key it is under (its name can say a bare number is a
/// phone, and identifier fields such as `request_id` are left alone), as in the writer.
fn redact_any<'py>(
    data: &Bound<'py, PyAny>,
    depth: usize,
    key: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let py = data.py();
    if depth > aiaudit::MAX_DEPTH {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "data is nested deeper than {} levels",
            aiaudit::MAX_DEPTH
        )));
    }
    if let Ok(s) = data.cast::<PyString>() {
        let text = s.to_str()?;
        return Ok(match aiaudit_core::redact::redact_text_in(text, key) {
            std::borrow::Cow::Borrowed(_) => data.clone(),
            std::borrow::Cow::Owned(r) => PyString::new(py, &r).into_any(),
        });
    }
    if let Ok(d) = data.cast::<PyDict>() {
        let out = PyDict::new(py);
        for (k, v) in d.iter() {
            let name = k
                .cast::<PyString>()
                .ok()
                .and_then(|s| s.to_str().ok().map(str::to_owned));
            out.set_item(
                &k,
                redact_any(&v, depth + 1, name.as_deref().unwrap_or(""))?,
            )?;
        }
        return Ok(out.into_any());
    }
    if data.is_instance_of::<PyList>() || data.is_instance_of::<PyTuple>() {
        let items: Vec<Bound<'py, PyAny>> = data
            .try_iter()?
            .map(|i| redact_any(&i?, depth + 1, key))
            .collect::<PyResult<_>>()?;
        return Ok(if data.is_instance_of::<PyTuple>() {
            PyTuple::new(py, items)?.into_any()
        } else {
            PyList::new(py, items)?.into_any()
        });
    }
    Ok(data.clone())
}

/// Whether `text` is an id the log accepts as `parent` or `operation.id`
/// (`aiaudit_core::event::check_id`).
#[pyfunction]
fn is_id(text: &str) -> bool {
    aiaudit_core::event::check_id("id", text).is_ok()
}

/// The SHA-256 (hex) of a value's RFC 8785 canonical JSON, as `log()` stores in `input_hash`.
#[pyfunction]
fn hash_input(data: &Bound<'_, PyAny>) -> PyResult<String> {
    input_hash(&convert::value(data, "input_data")?)
}

/// A value's RFC 8785 canonical JSON.
#[pyfunction]
fn canonical_json(data: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let v = convert::value(data, "value")?;
    aiaudit_core::canonical::to_vec(&v)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
}

/// Checks a proof bundle (inclusion, consistency, or lineage evidence) offline against a
/// verifier key, or against a trust policy (c2sp.org/tlog-policy text: the log's key and the
/// quorum of witnesses whose cosignatures the bundle's checkpoint must carry); returns what it
/// proves (with `cosigned_by` under a policy), or raises `ProofError`.
#[pyfunction]
#[pyo3(signature = (bundle, key=None, *, policy=None))]
fn verify_proof<'py>(
    py: Python<'py>,
    bundle: &str,
    key: Option<&Bound<'py, PyAny>>,
    policy: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let (verifier, cosigned_by) = match (key, policy) {
        (Some(k), None) => {
            // One verifier key, or a list of them (a rotated log's key set).
            let keys: Vec<String> = match k.extract::<String>() {
                Ok(one) => vec![one],
                Err(_) => k.extract().map_err(|_| {
                    pyo3::exceptions::PyTypeError::new_err(
                        "key must be a verifier key string or a list of them",
                    )
                })?,
            };
            let keys = keys
                .iter()
                .map(|k| NoteVerifier::parse(k).py(py))
                .collect::<PyResult<Vec<_>>>()?;
            if keys.is_empty() {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "key is an empty list: give at least one verifier key",
                ));
            }
            (keys, None)
        }
        (None, Some(text)) => {
            let policy = aiaudit_core::policy::Policy::parse(text).py(py)?;
            let note = if bundle.starts_with("c2sp.org/tlog-proof@v1") {
                InclusionBundle::parse(bundle).py(py)?.checkpoint_note
            } else if bundle.trim_start().starts_with('{') {
                aiaudit::lineage::Evidence::parse(bundle)
                    .map_err(|err| errors::raise(py, "ProofError", err.to_string()))?
                    .checkpoint
            } else {
                ConsistencyBundle::parse(bundle).py(py)?.checkpoint_note
            };
            let check = policy.check(&note).py(py)?;
            let key = policy
                .log(&check.checkpoint.origin)
                .map(<[NoteVerifier]>::to_vec)
                .ok_or_else(|| {
                    errors::raise(
                        py,
                        "ProofError",
                        "the policy has no key for the log".to_owned(),
                    )
                })?;
            (key, Some(check.cosigned_by))
        }
        _ => {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "give the log's key or a policy, not both and not neither",
            ));
        }
    };
    let v = if bundle.starts_with("c2sp.org/tlog-proof@v1") {
        let b = InclusionBundle::parse(bundle).py(py)?;
        let cp = b.verify(&verifier).py(py)?;
        let record: Option<Value> = match &b.leaf_data {
            Some(d) => Some(serde_json::from_slice(d).map_err(|e| {
                errors::raise(py, "ProofError", format!("the bundle's record: {e}"))
            })?),
            None => None,
        };
        json!({"kind": "inclusion", "seq": b.index, "size": cp.size, "origin": cp.origin, "root": hex::encode(cp.root), "record": record})
    } else if bundle.trim_start().starts_with('{') {
        let e = aiaudit::lineage::Evidence::parse(bundle)
            .map_err(|err| errors::raise(py, "ProofError", err.to_string()))?;
        let v = e
            .verify(&verifier)
            .map_err(|err| errors::raise(py, "ProofError", err.to_string()))?;
        json!({"kind": "lineage", "target": e.target, "events": v.events, "edges": v.edges, "size": v.checkpoint.size, "origin": v.checkpoint.origin, "root": hex::encode(v.checkpoint.root)})
    } else {
        let b = ConsistencyBundle::parse(bundle).py(py)?;
        let cp = b.verify(&verifier).py(py)?;
        json!({"kind": "consistency", "old_size": b.old_size, "old_root": hex::encode(b.old_root), "size": cp.size, "origin": cp.origin, "root": hex::encode(cp.root)})
    };
    let mut v = v;
    if let Some(by) = cosigned_by {
        v["cosigned_by"] = json!(by);
    }
    convert::to_py(py, &v)
}

#[pyfunction]
fn _set_package_dir(dir: String) {
    source::set_package_dir(dir);
}

/// Commits and closes every log this process opened (registered with `atexit`).
#[pyfunction]
fn _close_all(py: Python<'_>) {
    for shared in registry::take_all() {
        if shared.usable()
            && let Err(e) = py.detach(|| shared.log.close())
        {
            // At interpreter exit there is no caller left to raise to.
            eprintln!("aiaudit: closing {}: {e}", shared.log.path().display());
        }
    }
}

/// Registered with `os.register_at_fork(after_in_child=...)`.
#[pyfunction]
fn _after_fork_in_child() {
    registry::after_fork_in_child();
}

/// The `aiaudit._native` module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<logger::Logger>()?;
    m.add_class::<reader::Reader>()?;
    m.add_function(wrap_pyfunction!(redact_text, m)?)?;
    m.add_function(wrap_pyfunction!(redact, m)?)?;
    m.add_function(wrap_pyfunction!(hash_input, m)?)?;
    m.add_function(wrap_pyfunction!(is_id, m)?)?;
    m.add_function(wrap_pyfunction!(canonical_json, m)?)?;
    m.add_function(wrap_pyfunction!(verify_proof, m)?)?;
    m.add_function(wrap_pyfunction!(_set_package_dir, m)?)?;
    m.add_function(wrap_pyfunction!(_close_all, m)?)?;
    m.add_function(wrap_pyfunction!(_after_fork_in_child, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
