"""Seed 001: the standard ``logging`` module, with records landing in the audit log."""

from __future__ import annotations

import logging
import os
from typing import Any

from .logger import AuditLogger
from .predictions import default_logger

#: The seed's text format.
TEXT_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"


def status_for_level(levelno: int) -> str:
    """A logging level as an audit status (levels between the standard ones round down)."""
    if levelno >= logging.CRITICAL:
        return "CRITICAL"
    if levelno >= logging.ERROR:
        return "ERROR"
    if levelno >= logging.WARNING:
        return "WARNING"
    if levelno >= logging.INFO:
        return "INFO"
    return "DEBUG"


class AuditHandler(logging.Handler):
    """A ``logging.Handler`` that seals every record it handles into an audit log.

    The record's level becomes the status, its message the name, and its logger name, any
    ``extra={"audit_details": {...}}`` and a formatted exception the details; the caller's file,
    line and function are kept as the source. ``extra={"audit_type": "..."}`` sets the event
    type (default ``log``)."""

    def __init__(self, audit: AuditLogger | None = None, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.audit = audit or default_logger()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            details: dict[str, Any] = {"logger": record.name}
            extra = getattr(record, "audit_details", None)
            if extra is not None:
                details["details"] = extra
            if record.exc_info:
                details["exception"] = logging.Formatter().formatException(record.exc_info)
            kind = str(getattr(record, "audit_type", None) or "log").lower()
            self.audit.record(
                kind,
                record.getMessage(),
                status=status_for_level(record.levelno),
                details=details,
                source=(record.pathname, record.lineno, record.funcName or ""),
            )
        except Exception:
            # logging's contract: a handler reports its failure (to stderr) and never raises
            # into the code that logged.
            self.handleError(record)


def setup_audit_logger(
    log_file: str | os.PathLike[str] | None = "audit.log",
    *,
    audit: AuditLogger | None = None,
    level: int = logging.INFO,
) -> logging.Logger:
    """The seed's ``AuditLogger`` logging logger: records go to the text file ``log_file`` in
    the seed's format (``None`` for none) and into the audit log (``audit``, else the default
    log). Calling it again adds no duplicate handlers."""
    logger = logging.getLogger("AuditLogger")
    logger.setLevel(level)
    if log_file is not None:
        target = os.path.abspath(os.fspath(log_file))
        if not any(
            isinstance(h, logging.FileHandler) and h.baseFilename == target
            for h in logger.handlers
        ):
            fh = logging.FileHandler(target)
            fh.setFormatter(logging.Formatter(TEXT_FORMAT))
            logger.addHandler(fh)
    log = audit or default_logger()
    if not any(isinstance(h, AuditHandler) and h.audit.path == log.path for h in logger.handlers):
        logger.addHandler(AuditHandler(log))
    return logger


def log_audit_event(logger: logging.Logger, event_type: str, details: Any) -> None:
    """The seed's structured audit line (``EventType=...; Details=...``) at INFO; in the audit
    log its type is ``event_type`` in lower case and ``details`` are kept as data."""
    logger.info(
        "EventType=%s; Details=%s",
        event_type,
        details,
        extra={"audit_type": event_type, "audit_details": details},
        stacklevel=2,
    )
