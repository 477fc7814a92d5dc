//! `_native.Reader`: queries, proofs, verification and reports over a log, read-only.
//!
//! A reader needs no signing key and takes no writer lock, so an auditor's process can read a
//! log that a pipeline is writing. The Python `AuditLogger` reads through one after flushing,
//! so that its reads see everything it logged.

use aiaudit::{LogReader, StoredEntry};
use pyo3::prelude::*;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::convert;
use crate::errors::{IntoPyResult, raise};

/// Read access to one log.
#[pyclass(frozen, module = "aiaudit._native", name = "Reader")]
pub struct Reader {
    reader: Mutex<LogReader>,
    path: PathBuf,
}

impl Reader {
    fn read<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&LogReader) -> aiaudit::Result<T> + Send,
    ) -> PyResult<T> {
        py.detach(|| {
            let guard = self.reader.lock().unwrap_or_else(|p| p.into_inner());
            f(&guard)
        })
        .py(py)
    }
}

fn entry_to_py<'py>(py: Python<'py>, e: &StoredEntry) -> PyResult<Bound<'py, PyAny>> {
    let v: Value = serde_json::from_slice(&e.data).map_err(|err| {
        raise(
            py,
            "TamperedError",
            format!("entry {} is not a valid record: {err}", e.seq),
        )
    })?;
    convert::to_py(py, &v)
}

#[pymethods]
impl Reader {
    /// Opens the log at `path`, which must exist.
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        if !path.exists() {
            return Err(raise(
                py,
                "NotFoundError",
                format!("no audit log at {}", path.display()),
            ));
        }
        let p = path.clone();
        let reader = py.detach(move || LogReader::open(&p)).py(py)?;
        Ok(Reader {
            reader: Mutex::new(reader),
            path,
        })
    }

    /// The database file.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// Number of entries.
    fn size(&self, py: Python<'_>) -> PyResult<u64> {
        self.read(py, |r| r.size())
    }

    /// The verifier key the log signs with now (after a key rotation, the newest).
    #[getter]
    fn verifier_key(&self, py: Python<'_>) -> PyResult<String> {
        self.read(py, |r| Ok(r.verifier()?.to_string()))
    }

    /// Every key the log has signed with, oldest first: the key set for proofs of any age.
    #[getter]
    fn verifier_keys(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.read(py, |r| {
            Ok(r.key_history()?
                .all()
                .iter()
                .map(ToString::to_string)
                .collect())
        })
    }

    /// Records matching the filters, as dicts.
    #[pyo3(signature = (*, type_=None, status=None, model=None, user=None, operation=None, subject=None, input_hash=None, since_ns=None, until_ns=None, after=None, descending=false, limit=0, uses=None, makes=None))]
    #[allow(clippy::too_many_arguments)]
    fn query<'py>(
        &self,
        py: Python<'py>,
        type_: Option<String>,
        status: Option<String>,
        model: Option<String>,
        user: Option<String>,
        operation: Option<String>,
        subject: Option<String>,
        input_hash: Option<String>,
        since_ns: Option<i64>,
        until_ns: Option<i64>,
        after: Option<u64>,
        descending: bool,
        limit: usize,
        uses: Option<String>,
        makes: Option<String>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let key = |name: &str, v: Option<String>| -> PyResult<Option<String>> {
            v.map(|t| {
                aiaudit_core::lineage::Artifact::parse(&t)
                    .map(|a| a.key())
                    .ok_or_else(|| {
                        pyo3::exceptions::PyValueError::new_err(format!(
                            "{name} {t:?} names no artifact"
                        ))
                    })
            })
            .transpose()
        };
        let (uses, makes) = (key("uses", uses)?, key("makes", makes)?);
        let q = aiaudit::Query {
            kind: type_,
            status: status.map(|s| s.to_ascii_uppercase()),
            model,
            user,
            operation,
            subject,
            input_hash,
            ingest_id: None,
            uses,
            makes,
            since_ns,
            until_ns,
            after_seq: after,
            before_seq: None,
            descending,
            limit,
        };
        let entries = self.read(py, |r| r.query(&q))?;
        entries.iter().map(|e| entry_to_py(py, e)).collect()
    }

    /// The record at `seq`.
    fn get<'py>(&self, py: Python<'py>, seq: u64) -> PyResult<Bound<'py, PyAny>> {
        let e = self.read(py, |r| r.get(seq))?;
        entry_to_py(py, &e)
    }

    /// The record with event id `id`.
    fn get_by_id<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        let e = self.read(py, |r| r.get_by_id(&id))?;
        entry_to_py(py, &e)
    }

    /// The latest signed checkpoint (a C2SP signed note).
    fn checkpoint(&self, py: Python<'_>) -> PyResult<String> {
        self.read(py, |r| Ok(r.checkpoint()?.note))
    }

    /// An inclusion proof of `seq` (`c2sp.org/tlog-proof@v1` text carrying the record).
    /// The lineage graph of `target` (a seq, event id, request id or artifact) as a dict, and
    /// with `prove` its evidence file's text too (docs/format.md §11).
    #[pyo3(signature = (target, *, direction="both", per_artifact=100, prove=false))]
    fn lineage<'py>(
        &self,
        py: Python<'py>,
        target: &str,
        direction: &str,
        per_artifact: usize,
        prove: bool,
    ) -> PyResult<(Bound<'py, PyAny>, Option<String>)> {
        use aiaudit::lineage::{self, Direction, Evidence, LineageOptions};
        let direction = match direction {
            "both" => Direction::Both,
            "upstream" => Direction::Upstream,
            "downstream" => Direction::Downstream,
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "direction {other:?} is not one of \"both\", \"upstream\", \"downstream\""
                )));
            }
        };
        let opts = LineageOptions {
            direction,
            per_artifact: per_artifact.max(1),
            ..LineageOptions::default()
        };
        let target = target.to_owned();
        let (graph, evidence) = self.read(py, move |r| {
            let g = lineage::lineage(r, &target, &opts)?;
            let e = if prove {
                Some(Evidence::build(r, &g, &target)?.to_json())
            } else {
                None
            };
            Ok((serde_json::to_value(&g).unwrap_or_default(), e))
        })?;
        Ok((convert::to_py(py, &graph)?, evidence))
    }

    #[pyo3(signature = (seq, size=None))]
    fn prove(&self, py: Python<'_>, seq: u64, size: Option<u64>) -> PyResult<String> {
        self.read(py, |r| Ok(r.prove(seq, size)?.to_text()))
    }

    /// A consistency proof from the tree of `old` entries to the checkpoint at `new`.
    #[pyo3(signature = (old, new=None))]
    fn prove_consistency(&self, py: Python<'_>, old: u64, new: Option<u64>) -> PyResult<String> {
        self.read(py, |r| Ok(r.prove_consistency(old, new)?.to_text()))
    }

    /// Verifies the whole log: every leaf, node, checkpoint signature and root, and the
    /// extension of `against` (a checkpoint kept elsewhere) if given.
    #[pyo3(signature = (against=None, key=None))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        against: Option<String>,
        key: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let opts = aiaudit::VerifyOptions {
            trusted_key: key,
            against,
            archive: false,
        };
        let report = self.read(py, |r| r.verify(&opts, &mut |_, _| {}))?;
        convert::to_py(py, &crate::report_json(&report))
    }

    /// Everything the log holds about a data subject (GDPR Art. 15), decrypted where the
    /// subject's key still exists (`[ERASED]` where it does not), with a summary.
    fn subject_access<'py>(&self, py: Python<'py>, subject: String) -> PyResult<Bound<'py, PyAny>> {
        let keys_path = aiaudit_sqlite::default_keys_path(&self.path);
        let v = self.read(py, |r| {
            let keys = if keys_path.exists() {
                Some(aiaudit_sqlite::SubjectKeyFile::open(&keys_path, false)?)
            } else {
                None
            };
            aiaudit::subjects::subject_access(r, keys.as_ref(), &subject)
        })?;
        convert::to_py(py, &v)
    }

    /// Seed 003's model usage report.
    fn usage_report<'py>(
        &self,
        py: Python<'py>,
        model: String,
        days: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        let now = aiaudit_core::timefmt::now_ns();
        let v = self.read(py, |r| aiaudit::reports::model_usage(r, &model, days, now))?;
        convert::to_py(py, &v)
    }

    /// Seed 003's data access report.
    fn access_report<'py>(
        &self,
        py: Python<'py>,
        user: String,
        days: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        let now = aiaudit_core::timefmt::now_ns();
        let report = self.read(py, |r| aiaudit::reports::data_access(r, &user, days, now))?;
        let v = serde_json::to_value(&report)
            .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
        convert::to_py(py, &v)
    }
}
