//! Rust errors as the Python package's exceptions (defined in `aiaudit/errors.py`, so that they
//! can derive from both `AuditError` and the built-in a caller expects, e.g. `ValueError`).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

static ERRORS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// An exception of class `name` from `aiaudit.errors` with `message`.
pub(crate) fn raise(py: Python<'_>, name: &str, message: String) -> PyErr {
    let class = ERRORS
        .get_or_try_init(py, || {
            py.import("aiaudit.errors").map(|m| m.into_any().unbind())
        })
        .and_then(|m| m.bind(py).getattr(name))
        .and_then(|c| Ok(c.cast_into::<PyType>()?));
    match class {
        Ok(c) => PyErr::from_type(c, message),
        Err(e) => e,
    }
}

/// Maps the logger's error onto the package's exception classes.
pub(crate) fn to_py(py: Python<'_>, e: aiaudit::Error) -> PyErr {
    use aiaudit::Error as E;
    let class = match &e {
        E::Core(
            aiaudit_core::Error::InvalidEvent(_)
            | aiaudit_core::Error::UnknownStatus { .. }
            | aiaudit_core::Error::Canonical(_)
            | aiaudit_core::Error::Time { .. },
        ) => "InvalidEventError",
        E::Core(
            aiaudit_core::Error::Proof(_)
            | aiaudit_core::Error::Signature(_)
            | aiaudit_core::Error::Malformed { .. }
            | aiaudit_core::Error::Key(_),
        ) => "ProofError",
        E::NotFound(_) => "NotFoundError",
        E::Busy(_) => "LogBusyError",
        E::Closed => "LogClosedError",
        E::Poisoned(_) => "WriterStoppedError",
        E::Inconsistent { .. } => "TamperedError",
        _ => "AuditError",
    };
    raise(py, class, e.to_string())
}

/// Extension for results of the logger.
pub(crate) trait IntoPyResult<T> {
    /// The result with the error mapped to a Python exception.
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for aiaudit::Result<T> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}

impl<T> IntoPyResult<T> for aiaudit_core::Result<T> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e.into()))
    }
}
