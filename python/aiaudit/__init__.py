"""aiaudit: tamper-evident audit logging for AI and ML pipelines.

Every event is validated, sealed into an RFC 9162 Merkle log and committed with an
Ed25519-signed checkpoint by a Rust writer thread, outside the GIL. The package offers the APIs
of the five seed documents::

    from aiaudit import AuditLogger

    audit_logger = AuditLogger()                      # ./aiaudit.db, or $AIAUDIT_DB
    audit_logger.log_event("Drift detected", details={"feature": "age", "drift_score": 0.8},
                           status="WARNING")
    audit_logger.verify().intact                      # True
"""

from __future__ import annotations

import atexit as _atexit
import os as _os

from . import _native
from ._native import canonical_json, hash_input, redact_text, verify_proof
from .asgi import AuditMiddleware, audit_endpoint
from .client import Client, ServerError
from .errors import (
    AuditError,
    InvalidEventError,
    LogBusyError,
    LogClosedError,
    NotFoundError,
    ProofError,
    TamperedError,
    WriterStoppedError,
)
from .lineage import Artifact, Code, Dataset, Feature, Model, Pipeline, Run, hash_array, hash_dataframe, hash_directory, hash_file
from .logger import AuditLogger, Prediction, VerifyReport, reader
from .predictions import ComplianceReporter, default_logger, log_prediction, redact_pii
from .stdlib_logging import AuditHandler, log_audit_event, setup_audit_logger
from .trail import AuditTrail, audit_function, get_audit_logs

__version__ = _native.__version__

# The package's own frames are skipped when recording a caller's file and line.
_native._set_package_dir(_os.path.dirname(_os.path.abspath(__file__)) + _os.sep)
# Nothing queued is lost at exit: every open log commits and closes.
_atexit.register(_native._close_all)
# A forked child must not write through its parent's writer (it has no writer thread).
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_native._after_fork_in_child)

__all__ = [
    "Artifact",
    "Code",
    "Dataset",
    "Feature",
    "Model",
    "Pipeline",
    "Run",
    "hash_array",
    "hash_dataframe",
    "hash_directory",
    "hash_file",
    "AuditError",
    "AuditHandler",
    "AuditLogger",
    "AuditMiddleware",
    "AuditTrail",
    "Client",
    "ComplianceReporter",
    "InvalidEventError",
    "LogBusyError",
    "LogClosedError",
    "NotFoundError",
    "Prediction",
    "ProofError",
    "ServerError",
    "TamperedError",
    "VerifyReport",
    "WriterStoppedError",
    "audit_endpoint",
    "audit_function",
    "canonical_json",
    "default_logger",
    "get_audit_logs",
    "hash_input",
    "log_audit_event",
    "log_prediction",
    "reader",
    "redact_pii",
    "redact_text",
    "setup_audit_logger",
    "verify_proof",
]
