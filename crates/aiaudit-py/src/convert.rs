//! Python values to JSON and back.
//!
//! Plain `dict`, `list`, `str`, `int`, `float`, `bool` and `None` take a fast path of exact type
//! checks. Other values are encoded the way an audit record needs them kept: `datetime`, `date`
//! and `time` as ISO 8601 text, `timedelta` as seconds, `Decimal` as its exact text, `UUID` and
//! paths as text, `bytes` as base64, sets as lists in canonical order, enums by value, numpy
//! scalars and arrays by `tolist()`, dataclasses and pydantic models as objects. Anything else is
//! a `TypeError` naming where it was found, never a silent `str()`.

use base64::Engine;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString,
    PyTuple, PyType,
};
use serde_json::{Map, Number, Value};

/// Deepest nesting accepted (the logger's own limit).
const MAX_DEPTH: usize = aiaudit::MAX_DEPTH;

/// Where a conversion failed and why; turned into a Python exception by [`ConvertError::into_py`].
pub(crate) struct ConvertError {
    /// Path segments, innermost first.
    path: Vec<String>,
    message: String,
    kind: ErrKind,
}

enum ErrKind {
    Type,
    Value,
    Py(PyErr),
}

impl ConvertError {
    fn ty(message: String) -> Self {
        ConvertError {
            path: Vec::new(),
            message,
            kind: ErrKind::Type,
        }
    }
    fn value(message: String) -> Self {
        ConvertError {
            path: Vec::new(),
            message,
            kind: ErrKind::Value,
        }
    }
    fn at(mut self, segment: impl FnOnce() -> String) -> Self {
        self.path.push(segment());
        self
    }

    /// The Python exception, its message prefixed with the path (`details.a.b[2]: …`).
    pub(crate) fn into_py(self, root: &str) -> PyErr {
        let mut path = root.to_owned();
        for seg in self.path.iter().rev() {
            path.push_str(seg);
        }
        let msg = format!("{path}: {}", self.message);
        match self.kind {
            ErrKind::Type => PyTypeError::new_err(msg),
            ErrKind::Value => PyValueError::new_err(msg),
            ErrKind::Py(e) => e,
        }
    }
}

impl From<PyErr> for ConvertError {
    fn from(e: PyErr) -> Self {
        let message = e.to_string();
        ConvertError {
            path: Vec::new(),
            message,
            kind: ErrKind::Py(e),
        }
    }
}

type CResult<T> = Result<T, ConvertError>;

/// A Python mapping (or `None`) as a details object.
pub(crate) fn details(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Map<String, Value>> {
    let Some(obj) = obj else {
        return Ok(Map::new());
    };
    if obj.is_none() {
        return Ok(Map::new());
    }
    match to_json(obj, 0) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(PyTypeError::new_err(format!(
            "details must be a dict, got {}",
            type_name(obj)
        ))),
        Err(e) => Err(e.into_py("details")),
    }
}

/// Any supported Python value as JSON; errors name `root` and the path inside it.
pub(crate) fn value(obj: &Bound<'_, PyAny>, root: &str) -> PyResult<Value> {
    to_json(obj, 0).map_err(|e| e.into_py(root))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

fn to_json(obj: &Bound<'_, PyAny>, depth: usize) -> CResult<Value> {
    if depth > MAX_DEPTH {
        return Err(ConvertError::value(format!(
            "nested deeper than {MAX_DEPTH} levels (is the value recursive?)"
        )));
    }
    // Fast path: exact built-in types.
    if obj.is_exact_instance_of::<PyString>() {
        return Ok(Value::String(string(obj)?));
    }
    if obj.is_exact_instance_of::<PyDict>() {
        return dict(obj.cast::<PyDict>().map_err(PyErr::from)?, depth);
    }
    if obj.is_exact_instance_of::<PyBool>() {
        return Ok(Value::Bool(obj.is_truthy()?));
    }
    if obj.is_exact_instance_of::<PyInt>() {
        return int(obj);
    }
    if obj.is_exact_instance_of::<PyFloat>() {
        return float(obj.extract::<f64>()?);
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if obj.is_exact_instance_of::<PyList>() || obj.is_exact_instance_of::<PyTuple>() {
        return sequence(obj, depth);
    }
    other(obj, depth)
}

fn string(obj: &Bound<'_, PyAny>) -> CResult<String> {
    let s = obj.cast::<PyString>().map_err(PyErr::from)?;
    match s.to_str() {
        Ok(s) => Ok(s.to_owned()),
        Err(_) => Err(ConvertError::value(
            "text is not valid Unicode (it holds a lone surrogate)".into(),
        )),
    }
}

/// Largest integer magnitude JSON keeps exactly: RFC 8785 numbers are IEEE doubles.
const MAX_EXACT: u64 = 1 << 53;

fn int(obj: &Bound<'_, PyAny>) -> CResult<Value> {
    match obj.extract::<i64>() {
        Ok(i) if i.unsigned_abs() <= MAX_EXACT => Ok(Value::from(i)),
        _ => Err(ConvertError::value(format!(
            "integer {} is beyond ±2^53, which JSON numbers (doubles) cannot keep exactly; \
             pass it as a string",
            obj.str().map(|s| s.to_string()).unwrap_or_default()
        ))),
    }
}

fn float(f: f64) -> CResult<Value> {
    Number::from_f64(f).map(Value::Number).ok_or_else(|| {
        ConvertError::value(format!(
            "{f} cannot be recorded: JSON has no NaN or infinity; record None or a string"
        ))
    })
}

fn dict(d: &Bound<'_, PyDict>, depth: usize) -> CResult<Value> {
    let mut m = Map::new();
    for (k, v) in d.iter() {
        let key = key(&k)?;
        let v = to_json(&v, depth + 1).map_err(|e| e.at(|| format!(".{key}")))?;
        m.insert(key, v);
    }
    Ok(Value::Object(m))
}

/// A dict key as text: strings as they are, and like `json.dumps`, numbers, booleans and `None`.
fn key(k: &Bound<'_, PyAny>) -> CResult<String> {
    if k.is_instance_of::<PyString>() {
        return string(k);
    }
    if k.is_instance_of::<PyBool>() {
        return Ok(if k.is_truthy()? { "true" } else { "false" }.into());
    }
    if k.is_none() {
        return Ok("null".into());
    }
    if k.is_instance_of::<PyInt>() || k.is_instance_of::<PyFloat>() {
        return Ok(k.str()?.to_string());
    }
    Err(ConvertError::ty(format!(
        "dict keys must be str, int, float, bool or None, got {}",
        type_name(k)
    )))
}

fn sequence(obj: &Bound<'_, PyAny>, depth: usize) -> CResult<Value> {
    let mut out = Vec::new();
    for (i, item) in obj.try_iter()?.enumerate() {
        let item = item?;
        out.push(to_json(&item, depth + 1).map_err(|e| e.at(|| format!("[{i}]")))?);
    }
    Ok(Value::Array(out))
}

static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static TIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static TIMEDELTA: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UUID: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ENUM: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static PURE_PATH: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static MAPPING: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn is(
    obj: &Bound<'_, PyAny>,
    cell: &PyOnceLock<Py<PyType>>,
    module: &str,
    name: &str,
) -> CResult<bool> {
    let ty = cell.import(obj.py(), module, name)?;
    Ok(obj.is_instance(ty.as_any())?)
}

/// Everything but the exact built-in types.
fn other(obj: &Bound<'_, PyAny>, depth: usize) -> CResult<Value> {
    // Subclasses of the built-ins (str enums, IntEnum, OrderedDict, namedtuple, numpy.float64).
    if obj.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(obj.is_truthy()?));
    }
    if is(obj, &ENUM, "enum", "Enum")? {
        let v = obj.getattr("value")?;
        return to_json(&v, depth + 1);
    }
    if obj.is_instance_of::<PyString>() {
        return Ok(Value::String(string(obj)?));
    }
    if obj.is_instance_of::<PyInt>() {
        return int(obj);
    }
    if obj.is_instance_of::<PyFloat>() {
        return float(obj.extract::<f64>()?);
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return dict(d, depth);
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        return sequence(obj, depth);
    }
    if is(obj, &DATETIME, "datetime", "datetime")?
        || is(obj, &DATE, "datetime", "date")?
        || is(obj, &TIME, "datetime", "time")?
    {
        return Ok(Value::String(obj.call_method0("isoformat")?.to_string()));
    }
    if is(obj, &TIMEDELTA, "datetime", "timedelta")? {
        return float(obj.call_method0("total_seconds")?.extract::<f64>()?);
    }
    if is(obj, &DECIMAL, "decimal", "Decimal")? || is(obj, &UUID, "uuid", "UUID")? {
        return Ok(Value::String(obj.str()?.to_string()));
    }
    if is(obj, &PURE_PATH, "pathlib", "PurePath")? {
        return Ok(Value::String(obj.str()?.to_string()));
    }
    if obj.is_instance_of::<PySet>() || obj.is_instance_of::<PyFrozenSet>() {
        // Sets have no order: sort by canonical JSON so that equal sets seal equally.
        let mut items: Vec<(Vec<u8>, Value)> = Vec::new();
        for item in obj.try_iter()? {
            let v = to_json(&item?, depth + 1).map_err(|e| e.at(|| "{…}".into()))?;
            let canon = aiaudit_core::canonical::to_vec(&v)
                .map_err(|e| ConvertError::value(e.to_string()))?;
            items.push((canon, v));
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        return Ok(Value::Array(items.into_iter().map(|(_, v)| v).collect()));
    }
    if obj.is_instance_of::<PyBytes>() || obj.is_instance_of::<PyByteArray>() {
        let bytes: Vec<u8> = obj.extract()?;
        return Ok(Value::String(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        ));
    }
    let ty = obj.get_type();
    let module: String = ty
        .module()
        .map(|m| m.to_string())
        .unwrap_or_else(|_| String::new());
    if (module == "numpy" || module.starts_with("numpy.")) && obj.hasattr("tolist")? {
        let v = obj.call_method0("tolist")?;
        return to_json(&v, depth + 1);
    }
    if obj.hasattr("model_dump")? && !obj.is_instance_of::<PyType>() {
        let kwargs = pyo3::types::PyDict::new(obj.py());
        kwargs.set_item("mode", "json")?;
        let v = obj.call_method("model_dump", (), Some(&kwargs))?;
        return to_json(&v, depth + 1);
    }
    if obj.hasattr("__dataclass_fields__")? && !obj.is_instance_of::<PyType>() {
        let v = obj
            .py()
            .import("dataclasses")?
            .call_method1("asdict", (obj,))?;
        return to_json(&v, depth + 1);
    }
    if is(obj, &MAPPING, "collections.abc", "Mapping")? {
        let v = obj
            .py()
            .import("builtins")?
            .getattr("dict")?
            .call1((obj,))?;
        return to_json(&v, depth + 1);
    }
    Err(ConvertError::ty(format!(
        "a value of type {} cannot be recorded; pass a str, number, bool, None, list or dict \
         (datetime, date, Decimal, UUID, set, bytes, enum, path, dataclass and numpy values are \
         converted)",
        type_name(obj)
    )))
}

/// JSON as Python objects (`dict`, `list`, `str`, `int`, `float`, `bool`, `None`).
pub(crate) fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            // Integers beyond ±2^53 are doubles printed without an exponent (RFC 8785): read
            // them as the double they denote.
            match n.as_i64() {
                Some(i) if i.unsigned_abs() <= MAX_EXACT => i.into_pyobject(py)?.into_any(),
                _ => PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any(),
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for i in items {
                list.append(to_py(py, i)?)?;
            }
            list.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, v) in m {
                d.set_item(k, to_py(py, v)?)?;
            }
            d.into_any()
        }
    })
}
