"""scikit-learn: an estimator wrapper that records ``fit`` and every prediction.

``AuditedEstimator(estimator, model_name=..., model_version=...)`` behaves as the estimator it
wraps (every other attribute is the estimator's) and records, through an ``AuditLogger``:

- ``fit``: one ``model_training`` event with the estimator's class, its parameters
  (``get_params(deep=False)``), the training data's hash, shape and dtype (``X``, and ``y`` when
  given), the duration and the outcome; a failing ``fit`` is recorded with status ``ERROR`` and
  its exception re-raised.
- ``predict``, ``predict_proba``, ``predict_log_proba``, ``decision_function``: with
  ``per="batch"`` (the default) one ``model_inference`` event per call holding the batch size,
  the batch's input hash, one input hash per row, the outputs and the latency; with
  ``per="row"`` one event per row through ``AuditLogger.log`` (the seed's prediction record,
  findable with ``query_by_input(row)``).

Row hashes are those of ``AuditLogger.log``: the SHA-256 of the row's RFC 8785 canonical JSON
(``row.tolist()``). The hash of a whole array is the SHA-256 of
``b"aiaudit-ndarray-v1\\n" + dtype.str + b"\\n" + shape + b"\\n"`` followed by the array's bytes in
C order, little-endian: the same data gives the same hash on any machine.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Optional

from .. import _native
from ..logger import AuditLogger
from ..predictions import default_logger

def array_hash(data: Any) -> dict[str, Any]:
    """``{"sha256", "shape", "dtype"}`` of an array-like (numpy, pandas, lists), in the
    canonical form the module docstring gives."""
    import numpy as np

    values = getattr(data, "to_numpy", None)
    arr = np.asarray(values() if callable(values) else data)
    if arr.dtype == object:
        # Mixed values: their canonical JSON, row by row, is the only portable form.
        digest = hashlib.sha256(b"aiaudit-ndarray-v1\nobject\n")
        digest.update(repr(arr.shape).encode())
        for row in arr.reshape(len(arr), -1) if arr.ndim else [arr]:
            digest.update(bytes.fromhex(_native.hash_input(_plain(row))))
        return {"sha256": digest.hexdigest(), "shape": list(arr.shape), "dtype": "object"}
    if arr.dtype.byteorder == ">" or (arr.dtype.byteorder == "=" and not np.little_endian):
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    arr = np.ascontiguousarray(arr)
    header = b"aiaudit-ndarray-v1\n%s\n%s\n" % (
        arr.dtype.str.encode(),
        ",".join(str(n) for n in arr.shape).encode(),
    )
    digest = hashlib.sha256(header)
    digest.update(arr.tobytes(order="C"))
    return {"sha256": digest.hexdigest(), "shape": list(arr.shape), "dtype": arr.dtype.str}


def _plain(value: Any) -> Any:
    """A numpy value or array as plain Python data (lists, floats, ints, strings)."""
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else value


def _params(estimator: Any) -> dict[str, Any]:
    get = getattr(estimator, "get_params", None)
    if not callable(get):
        return {}
    out: dict[str, Any] = {}
    for k, v in get(deep=False).items():
        v = _plain(v)
        out[k] = v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else repr(v)
    return out


def _name(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


class AuditedEstimator:
    """A scikit-learn estimator whose ``fit`` and predictions are recorded (see the module)."""

    def __init__(
        self,
        estimator: Any,
        *,
        model_name: str,
        model_version: str,
        audit: Optional[AuditLogger] = None,
        per: str = "batch",
        user_id: Optional[str] = None,
    ) -> None:
        if per not in ("batch", "row"):
            raise ValueError(f"per must be 'batch' or 'row', not {per!r}")
        self.estimator = estimator
        self.model_name = model_name
        self.model_version = model_version
        self.per = per
        self.user_id = user_id
        self._audit = audit

    @property
    def audit(self) -> AuditLogger:
        return self._audit or default_logger()

    def fit(self, X: Any, y: Any = None, **kwargs: Any) -> "AuditedEstimator":
        data = {"X": array_hash(X)}
        if y is not None:
            data["y"] = array_hash(y)
        details: dict[str, Any] = {
            "estimator": _name(self.estimator),
            "params": _params(self.estimator),
            "data": data,
        }
        began = time.perf_counter()
        try:
            self.estimator.fit(X, y, **kwargs) if y is not None else self.estimator.fit(X, **kwargs)
        except BaseException as e:
            details["duration_ms"] = (time.perf_counter() - began) * 1000.0
            details["error"] = f"{type(e).__name__}: {e}"
            self._record("model_training", f"{self.model_name} fit failed", "ERROR", details)
            raise
        details["duration_ms"] = (time.perf_counter() - began) * 1000.0
        self._record("model_training", f"{self.model_name} fit", "INFO", details)
        return self

    def _record(self, kind: str, name: str, status: str, details: dict[str, Any]) -> None:
        self.audit.record(
            kind,
            name,
            status=status,
            details=details,
            user=self.user_id,
            model=self.model_name,
            model_version=self.model_version,
        )

    def _predict(self, method: str, X: Any) -> Any:
        began = time.perf_counter()
        out = getattr(self.estimator, method)(X)
        latency_ms = (time.perf_counter() - began) * 1000.0
        values = getattr(X, "to_numpy", None)
        rows = _plain(values() if callable(values) else X)
        outputs = _plain(out)
        if self.per == "row":
            each = latency_ms / max(len(rows), 1)
            for row, o in zip(rows, outputs):
                self.audit.log(
                    self.model_name,
                    self.model_version,
                    row,
                    o,
                    user_id=self.user_id,
                    latency_ms=each,
                    metadata={"method": method, "estimator": _name(self.estimator)},
                )
            return out
        self._record(
            "model_inference",
            f"{self.model_name} {method}",
            "INFO",
            {
                "method": method,
                "estimator": _name(self.estimator),
                "batch_size": len(rows),
                "input": array_hash(X),
                "input_hashes": [_native.hash_input(r) for r in rows],
                "output": outputs,
                "latency_ms": latency_ms,
            },
        )
        return out

    def predict(self, X: Any) -> Any:
        return self._predict("predict", X)

    def predict_proba(self, X: Any) -> Any:
        return self._predict("predict_proba", X)

    def predict_log_proba(self, X: Any) -> Any:
        return self._predict("predict_log_proba", X)

    def decision_function(self, X: Any) -> Any:
        return self._predict("decision_function", X)

    def __getattr__(self, name: str) -> Any:
        # Only reached for what this class does not define: the estimator's own attributes
        # (classes_, coef_, score, ...).
        if name == "estimator":
            raise AttributeError(name)
        return getattr(self.estimator, name)

    def __repr__(self) -> str:
        return f"AuditedEstimator({self.estimator!r}, model={self.model_name}@{self.model_version})"
