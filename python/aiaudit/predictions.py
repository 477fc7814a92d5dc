"""Seed 003: prediction records, compliance reports and PII redaction."""

from __future__ import annotations

import datetime as _dt
import threading
from typing import Any

from . import _ids, _native
from .logger import AuditLogger

_default_lock = threading.Lock()
_default: AuditLogger | None = None


def default_logger() -> AuditLogger:
    """The process's default log (``$AIAUDIT_DB`` or ``./aiaudit.db``), opened on first use."""
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = AuditLogger()
        return _default


def log_prediction(
    request_id: str,
    model_name: str,
    model_version: str,
    input_data: Any,
    output: Any,
    user_id: str | None = None,
    latency_ms: float | None = None,
    *,
    audit: AuditLogger | None = None,
) -> dict[str, Any]:
    """Records one prediction in the default log (or ``audit``) and returns the seed's audit
    record: event, request id, timestamp, model, input, output, user and latency."""
    log = audit or default_logger()
    log.record(
        "model_inference",
        f"{model_name} prediction",
        details={
            "request_id": request_id,
            "input_hash": _native.hash_input(input_data),
            "input": input_data,
            "output": output,
            "latency_ms": latency_ms,
        },
        user=user_id,
        operation_id=_ids.operation_id(request_id),
        operation_name="prediction",
        model=model_name,
        model_version=model_version,
    )
    return {
        "event": "ai_prediction",
        "request_id": request_id,
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(),
        "model": {"name": model_name, "version": model_version},
        "input": input_data,
        "output": output,
        "user_id": user_id,
        "latency_ms": latency_ms,
    }


class ComplianceReporter:
    """Seed 003's reports, computed by the Rust core over the sealed records."""

    def __init__(self, audit_logger: AuditLogger | None = None) -> None:
        self.audit = audit_logger or default_logger()

    def model_usage_report(self, model_name: str, days: int = 30) -> dict[str, Any]:
        """Predictions of ``model_name`` in the last ``days`` days: totals, unique users, the
        prediction distribution, versions, latency (mean, p50, p95, p99, max), first and last."""
        return self.audit._reader().usage_report(model_name, _days(days))

    def data_access_report(self, user_id: str, days: int = 90) -> dict[str, Any]:
        """Every prediction ``user_id`` requested in the last ``days`` days, with the models."""
        return self.audit._reader().access_report(user_id, _days(days))


def _days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ValueError(f"days must be a non-negative whole number, got {days!r}")
    return days


def redact_pii(data: Any) -> Any:
    """A copy of ``data`` with e-mail addresses, phone numbers, SSNs and (Luhn-valid) card
    numbers in every string masked as ``[EMAIL]``, ``[PHONE]``, ``[SSN]`` and ``[CC]``; the
    structure and non-string values are kept."""
    return _native.redact(data)
