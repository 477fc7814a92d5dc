//! The Python caller of a logging call: file, line and function, skipping the package's own
//! frames (so a record made through `AuditTrail.log_data_access` names the pipeline's line).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::{intern, types::PyString};
use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex, OnceLock};

static GETFRAME: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static PACKAGE_DIR: OnceLock<String> = OnceLock::new();

/// File and function names, kept for the life of the process: there are as many as there are
/// functions in the program, and records then borrow them instead of copying per event.
static NAMES: LazyLock<Mutex<HashSet<&'static str>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

/// Sets the directory of the Python package, whose frames are skipped.
pub(crate) fn set_package_dir(dir: String) {
    let _ = PACKAGE_DIR.set(dir);
}

fn intern_name(s: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    let s = s.cast::<PyString>()?.to_str()?;
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = names.get(s) {
        return Ok(n);
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    names.insert(leaked);
    Ok(leaked)
}

/// What a code object says about its frames: file, function, and whether it is the package's
/// own. The code object is held, so that its address (the key) cannot be reused by another.
struct CodeInfo {
    _code: Py<PyAny>,
    file: &'static str,
    function: &'static str,
    skip: bool,
}

/// Code objects seen, by address; bounded, because `exec` can make code objects without end.
static CODES: LazyLock<Mutex<HashMap<usize, CodeInfo>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
const MAX_CODES: usize = 1 << 16;

fn code_info(code: &Bound<'_, PyAny>) -> PyResult<(&'static str, &'static str, bool)> {
    let key = code.as_ptr() as usize;
    let mut codes = CODES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = codes.get(&key) {
        return Ok((c.file, c.function, c.skip));
    }
    let py = code.py();
    let file = intern_name(&code.getattr(intern!(py, "co_filename"))?)?;
    let function = intern_name(&code.getattr(intern!(py, "co_name"))?)?;
    let skip = PACKAGE_DIR
        .get()
        .is_some_and(|dir| file.starts_with(dir.as_str()));
    if codes.len() >= MAX_CODES {
        codes.clear();
    }
    codes.insert(
        key,
        CodeInfo {
            _code: code.clone().unbind(),
            file,
            function,
            skip,
        },
    );
    Ok((file, function, skip))
}

/// The innermost Python frame outside the package: `(file, line, function)`.
pub(crate) fn caller(py: Python<'_>) -> PyResult<Option<(&'static str, u32, &'static str)>> {
    let getframe = GETFRAME.get_or_try_init(py, || {
        py.import("sys")
            .and_then(|s| s.getattr("_getframe"))
            .map(Bound::unbind)
    })?;
    let mut frame = getframe.bind(py).call1((0,))?;
    for _ in 0..64 {
        let (file, function, skip) = code_info(&frame.getattr(intern!(py, "f_code"))?)?;
        if !skip {
            let line: Option<u32> = frame.getattr(intern!(py, "f_lineno"))?.extract()?;
            return Ok(Some((file, line.unwrap_or(0), function)));
        }
        frame = frame.getattr(intern!(py, "f_back"))?;
        if frame.is_none() {
            break;
        }
    }
    Ok(None)
}
