"""Exceptions raised by aiaudit. Each derives from :class:`AuditError` and, where a caller would
expect one, from the matching built-in (an unknown status is also a ``ValueError``)."""


class AuditError(Exception):
    """Any failure of the audit log."""


class InvalidEventError(AuditError, ValueError):
    """The event breaks the schema: an unknown status, a bad type, an unencodable value."""


class NotFoundError(AuditError, LookupError):
    """The log holds no such entry, checkpoint or size."""


class LogBusyError(AuditError):
    """Another writer holds the log (another process, or the parent of a fork)."""


class LogClosedError(AuditError):
    """The logger or trail was closed."""


class WriterStoppedError(AuditError):
    """A write failed earlier; the log accepts nothing more so that no gap goes unnoticed."""


class TamperedError(AuditError):
    """The stored log does not match its signed checkpoints."""


class ProofError(AuditError):
    """A proof bundle or checkpoint does not verify."""


__all__ = [
    "AuditError",
    "InvalidEventError",
    "NotFoundError",
    "LogBusyError",
    "LogClosedError",
    "WriterStoppedError",
    "TamperedError",
    "ProofError",
]
