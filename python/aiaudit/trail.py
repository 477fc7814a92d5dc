"""Seed 004: ``AuditTrail``, the ``audit_function`` decorator and ``get_audit_logs``, with the
interface of secureml 0.3.1's ``secureml.audit`` and none of its defects: nothing is echoed to the
console, a trail opens no file or logger of its own (every trail on one ``log_dir`` shares one
log), operation names are data rather than file names, details never overwrite the reserved
fields, values are encoded rather than rejected, time filters compare times, decorated
functions' arguments are redacted, and every event is sealed into the Merkle log."""

from __future__ import annotations

import datetime as _dt
import functools
import inspect
import logging
import os
import reprlib
import threading
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, TypeVar

from . import _native
from .errors import LogClosedError
from ._time import to_ns
from .logger import AuditLogger, reader
from .predictions import default_logger

#: The text format secureml documents (aiaudit keeps records, not text lines).
DEFAULT_LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
#: Events below this level are not recorded.
DEFAULT_LOG_LEVEL = logging.INFO
#: ``None``: the process's default log (``$AIAUDIT_DB`` or ``./aiaudit.db``). A ``log_dir``
#: holds its log as ``<log_dir>/aiaudit.db``.
DEFAULT_LOG_DIR: Optional[str] = None

DB_NAME = "aiaudit.db"

_SEVERITY = {"DEBUG": 10, "INFO": 20, "NOTICE": 25, "WARNING": 30, "ERROR": 40, "FAILURE": 45, "CRITICAL": 50}
_RESERVED = ("event_type", "timestamp", "operation_id", "operation_name")

_logs_lock = threading.Lock()
_logs: dict[str, AuditLogger] = {}


def _db_path(log_dir: Optional[str]) -> Optional[str]:
    if log_dir is None:
        return None
    return os.path.join(os.fspath(log_dir), DB_NAME)


def _log_for(log_dir: Optional[str]) -> AuditLogger:
    """The shared logger of ``log_dir`` (created with its directory on first use)."""
    if log_dir is None:
        return default_logger()
    key = os.path.realpath(os.fspath(log_dir))
    with _logs_lock:
        log = _logs.get(key)
        if log is None or log.closed:
            os.makedirs(key, exist_ok=True)
            log = _logs[key] = AuditLogger(os.path.join(key, DB_NAME))
        return log


class AuditTrail:
    """An audited operation: every event it logs carries its operation id and name, its
    regulations and its context, and is sealed into the audit log of ``log_dir``."""

    def __init__(
        self,
        operation_name: str,
        log_dir: Optional[str] = None,
        log_level: int = DEFAULT_LOG_LEVEL,
        context: Optional[Dict[str, Any]] = None,
        regulations: Optional[List[str]] = None,
    ) -> None:
        if not isinstance(operation_name, str) or not operation_name.strip():
            raise ValueError(f"operation_name must be a non-empty string, got {operation_name!r}")
        self.operation_name = operation_name
        self.operation_id = str(uuid.uuid4())
        self.start_time = _dt.datetime.now(_dt.timezone.utc).isoformat()
        self.context: Dict[str, Any] = dict(context or {})
        self.regulations: List[str] = list(regulations or [])
        self.log_dir = log_dir if log_dir is not None else DEFAULT_LOG_DIR
        self.log_level = log_level
        self.closed = False
        self._log: Optional[AuditLogger] = None
        self.setup_file_logging()
        self.log_event(
            "audit_started",
            {
                "operation_name": operation_name,
                "operation_id": self.operation_id,
                "start_time": self.start_time,
                "regulations": self.regulations,
            },
        )

    def setup_file_logging(self) -> None:
        """Attaches the trail to the audit log of its ``log_dir`` (idempotent; opens no file
        per trail)."""
        self._log = _log_for(self.log_dir)

    @property
    def audit_logger(self) -> AuditLogger:
        """The log this trail records into."""
        if self._log is None:
            self.setup_file_logging()
        assert self._log is not None
        return self._log

    def log_event(self, event_type: str, details: Dict[str, Any], status: str = "INFO") -> None:
        """Records an event of ``event_type`` with ``details`` (and the trail's context)."""
        if self.closed:
            raise LogClosedError(
                f"audit trail {self.operation_name!r} ({self.operation_id}) is closed"
            )
        if _SEVERITY.get(status.upper(), 20) < self.log_level:
            return
        if details is None:
            details = {}
        elif not isinstance(details, dict):
            raise TypeError(f"details must be a dict, got {type(details).__name__}")
        payload = dict(details)
        if self.context:
            payload.setdefault("context", self.context)
        self.audit_logger.record(
            event_type,
            f"{self.operation_name}: {event_type}",
            status=status,
            details=payload,
            operation_id=self.operation_id,
            operation_name=self.operation_name,
            regulations=self.regulations or None,
        )

    def log_data_access(
        self,
        dataset_name: str,
        columns_accessed: List[str],
        num_records: int,
        purpose: str,
        user: Optional[str] = None,
    ) -> None:
        """Records access to a dataset."""
        self.log_event(
            "data_access",
            {
                "dataset_name": dataset_name,
                "columns_accessed": columns_accessed,
                "num_records": num_records,
                "purpose": purpose,
                "user": user,
            },
        )

    def log_data_transformation(
        self,
        transformation_type: str,
        input_data: str,
        output_data: str,
        parameters: Dict[str, Any],
    ) -> None:
        """Records a data transformation."""
        self.log_event(
            "data_transformation",
            {
                "transformation_type": transformation_type,
                "input_data": input_data,
                "output_data": output_data,
                "parameters": parameters,
            },
        )

    def log_model_training(
        self,
        model_type: str,
        dataset_name: str,
        parameters: Dict[str, Any],
        metrics: Optional[Dict[str, Any]] = None,
        privacy_parameters: Optional[Dict[str, Any]] = None,
    ) -> None:
        """Records a model training run."""
        self.log_event(
            "model_training",
            {
                "model_type": model_type,
                "dataset_name": dataset_name,
                "parameters": parameters,
                "metrics": metrics or {},
                "privacy_parameters": privacy_parameters or {},
            },
        )

    def log_model_inference(
        self,
        model_id: str,
        input_data: str,
        output: Any,
        confidence: Optional[float] = None,
    ) -> None:
        """Records a model inference (the output is kept as data, not as its ``str()``)."""
        self.log_event(
            "model_inference",
            {"model_id": model_id, "input_data": input_data, "output": output, "confidence": confidence},
        )

    def log_compliance_check(
        self,
        check_type: str,
        regulation: str,
        result: bool,
        details: Dict[str, Any],
    ) -> None:
        """Records a compliance check; a failed one is a WARNING."""
        self.log_event(
            "compliance_check",
            {"check_type": check_type, "regulation": regulation, "result": result, "details": details},
            status="INFO" if result else "WARNING",
        )

    def log_user_request(
        self,
        request_type: str,
        user_id: str,
        details: Dict[str, Any],
        status: str,
    ) -> None:
        """Records a user's request (e.g. GDPR right of access) and its status."""
        self.log_event(
            "user_request",
            {"request_type": request_type, "user_id": user_id, "details": details, "status": status},
        )

    def log_error(
        self,
        error_type: str,
        message: str,
        details: Optional[Dict[str, Any]] = None,
    ) -> None:
        """Records an error (status ERROR)."""
        self.log_event(
            "error",
            {"error_type": error_type, "message": message, "details": details or {}},
            status="ERROR",
        )

    def close(self, status: str = "completed", details: Optional[Dict[str, Any]] = None) -> None:
        """Records the end of the operation; a status other than completed/success/ok is a
        FAILURE. Closing twice is harmless."""
        if self.closed:
            return
        ok = status.lower() in ("completed", "complete", "success", "succeeded", "ok")
        self.log_event(
            "audit_closed",
            {"status": status, "end_time": _dt.datetime.now(_dt.timezone.utc).isoformat(), "details": details or {}},
            status="INFO" if ok else "FAILURE",
        )
        self.closed = True

    def __enter__(self) -> "AuditTrail":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is not None and not self.closed:
            self.log_error(type(exc).__name__, _native.redact_text(str(exc)))
            self.close("error")
        else:
            self.close()


_repr = reprlib.Repr()
_repr.maxstring = 200
_repr.maxother = 200


def _summary(value: Any) -> Any:
    """An argument or result as recorded: plain JSON values as they are, others as a short
    ``repr``; strings redacted either way."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (str, dict, list, tuple)):
        try:
            _native.canonical_json(value)
            return _native.redact(value)
        except (TypeError, ValueError):
            pass
    return _native.redact_text(_repr.repr(value))


F = TypeVar("F", bound=Callable[..., Any])


def audit_function(
    operation_name: Optional[str] = None,
    log_dir: Optional[str] = None,
    regulations: Optional[List[str]] = None,
) -> Callable[[F], F]:
    """Audits every call of the decorated function (sync or async): a trail per call with the
    call's arguments by name (redacted), its result or error, and its duration."""

    def decorator(func: F) -> F:
        op_name = operation_name or func.__name__
        sig = inspect.signature(func)

        def arguments(args: tuple, kwargs: dict) -> dict:
            try:
                bound = sig.bind_partial(*args, **kwargs)
                return {k: _summary(v) for k, v in bound.arguments.items()}
            except TypeError:
                return {"args": _summary(list(args)), "kwargs": _summary(kwargs)}

        def start(args: tuple, kwargs: dict) -> AuditTrail:
            trail = AuditTrail(op_name, log_dir=log_dir, regulations=regulations)
            trail.log_event(
                "function_call",
                {"function": func.__qualname__, "module": func.__module__, "arguments": arguments(args, kwargs)},
            )
            return trail

        def failed(trail: AuditTrail, e: BaseException, began: float) -> None:
            trail.log_error(
                type(e).__name__,
                _native.redact_text(str(e)),
                {"execution_time": time.perf_counter() - began},
            )
            trail.close("error")

        def returned(trail: AuditTrail, result: Any, began: float) -> None:
            trail.log_event(
                "function_return",
                {"status": "success", "execution_time": time.perf_counter() - began, "result": _summary(result)},
            )
            trail.close("completed")

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                trail = start(args, kwargs)
                began = time.perf_counter()
                try:
                    result = await func(*args, **kwargs)
                except BaseException as e:
                    failed(trail, e, began)
                    raise
                returned(trail, result, began)
                return result

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            trail = start(args, kwargs)
            began = time.perf_counter()
            try:
                result = func(*args, **kwargs)
            except BaseException as e:
                failed(trail, e, began)
                raise
            returned(trail, result, began)
            return result

        return wrapper  # type: ignore[return-value]

    return decorator


def _flat(r: Dict[str, Any]) -> Dict[str, Any]:
    """A sealed trail record in secureml's flat shape; the reserved keys always win."""
    op = r.get("operation") or {}
    details = dict(r.get("details") or {})
    context = details.get("context") if isinstance(details.get("context"), dict) else {}
    entry: Dict[str, Any] = {**context, **details}
    entry.update(
        event_type=r["type"],
        timestamp=r["time"],
        operation_id=op.get("id"),
        operation_name=op.get("name"),
    )
    entry["audit"] = {
        "seq": r["seq"],
        "id": r["id"],
        "status": r["status"],
        "regulations": r.get("regulations", []),
    }
    return entry


def get_audit_logs(
    operation_id: Optional[str] = None,
    operation_name: Optional[str] = None,
    start_time: Any = None,
    end_time: Any = None,
    log_dir: Optional[str] = None,
) -> List[Dict[str, Any]]:
    """Trail events matching an exact operation id and/or name between ``start_time`` and
    ``end_time`` (datetimes, dates or ISO 8601 text; naive is local time; a date-only end means
    the end of that day), oldest first. Each entry is flat as in secureml — details at the top
    level, ``event_type``, ``timestamp`` (UTC), ``operation_id``, ``operation_name`` — plus
    ``audit`` (seq, id, status, regulations)."""
    since = to_ns(start_time, end=False, what="start_time")
    until = to_ns(end_time, end=True, what="end_time")
    log_dir = log_dir if log_dir is not None else DEFAULT_LOG_DIR
    if log_dir is None:
        from . import predictions

        open_log = predictions._default
        path = os.environ.get("AIAUDIT_DB") or "aiaudit.db"
    else:
        key = os.path.realpath(os.fspath(log_dir))
        open_log = _logs.get(key)
        path = os.path.join(key, DB_NAME)
    if open_log is not None and not open_log.closed:
        r = open_log._reader()
    elif os.path.exists(path):
        r = reader(path)
    else:
        return []
    rows = r.query(operation=operation_id or operation_name, since_ns=since, until_ns=until)
    out = []
    for row in rows:
        op = row.get("operation") or {}
        if not op:
            continue
        if operation_id is not None and op.get("id") != operation_id:
            continue
        if operation_name is not None and op.get("name") != operation_name:
            continue
        out.append(_flat(row))
    return out
