"""OpenTelemetry: spans and log records recorded in an embedded ``AuditLogger``, with no server.

A team that already instruments with OpenTelemetry (the GenAI semantic conventions, OpenLLMetry,
OpenInference, the frameworks' own instrumentation) adds one processor::

    from opentelemetry.sdk.trace import TracerProvider
    from aiaudit.integrations.otel import AuditSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(AuditSpanProcessor(audit))

and every span is an event when it ends; logs go through ``AuditLogExporter`` with the SDK's
``SimpleLogRecordProcessor`` or ``BatchLogRecordProcessor``. The spans are encoded as OTLP
protobuf (by ``opentelemetry-exporter-otlp-proto-common``) and mapped by the same code as
``aiaudit serve``'s ``/v1/traces`` and ``/v1/logs``: GenAI spans become ``model_inference``,
``tool_call``, … events with model, provider, token counts, latency and user; the trace id is the
operation and the parent span id the parent; prompt and completion content is kept as a SHA-256
hash unless ``keep_content=True``, and goes through the log's redaction either way
(docs/format.md §6, "OTLP ingest").

``AuditSpanProcessor`` records each span before ``span.end()`` returns and raises if it cannot be
recorded: a span that cannot be audited fails instead of passing unaudited. The SDK calls its
processors in the order they were added and stops at one that raises, so add this one after
the processors that export elsewhere. The exporters, run by
the SDK's processors on their own threads, report a failure as ``FAILURE`` and log it.
"""

from __future__ import annotations

import logging
from typing import Any, Optional, Sequence

from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

try:  # the SDK's current names, else the older ones
    from opentelemetry.sdk._logs.export import LogRecordExporter as LogExporter
    from opentelemetry.sdk._logs.export import LogRecordExportResult as LogExportResult
except ImportError:  # pragma: no cover - older SDKs
    from opentelemetry.sdk._logs.export import LogExporter, LogExportResult  # type: ignore[no-redef]
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ..logger import AuditLogger
from ..predictions import default_logger

_log = logging.getLogger(__name__)

__all__ = ["AuditSpanProcessor", "AuditSpanExporter", "AuditLogExporter"]


class _Target:
    def __init__(self, audit: Optional[AuditLogger], keep_content: bool) -> None:
        self._audit = audit
        self.keep_content = keep_content

    @property
    def audit(self) -> AuditLogger:
        return self._audit or default_logger()

    def traces(self, spans: Sequence[ReadableSpan]) -> int:
        data = encode_spans(spans).SerializeToString()
        return self.audit._record_otlp("traces", data, keep_content=self.keep_content)

    def logs(self, batch: Sequence[Any]) -> int:
        data = encode_logs(batch).SerializeToString()
        return self.audit._record_otlp("logs", data, keep_content=self.keep_content)


class _Flushing:
    """What the processor and the exporters do on shutdown and flush: the log stays open (it
    may be shared), and a flush waits for the commit."""

    _target: _Target

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        try:
            self._target.audit.flush()
        except Exception:
            _log.exception("aiaudit: flush failed")
            return False
        return True


class AuditSpanExporter(_Flushing, SpanExporter):
    """A ``SpanExporter`` into an ``AuditLogger`` (the process's default log when none is
    given), for the SDK's ``BatchSpanProcessor`` or ``SimpleSpanProcessor``. Each export is
    recorded whole or not at all."""

    def __init__(self, audit: Optional[AuditLogger] = None, *, keep_content: bool = False) -> None:
        self._target = _Target(audit, keep_content)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            self._target.traces(spans)
        except Exception:
            _log.exception("aiaudit: %d spans could not be recorded", len(spans))
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS


class AuditSpanProcessor(_Flushing, SpanProcessor):
    """Records every span in an ``AuditLogger`` when it ends, before ``end()`` returns; raises
    (from ``end()``) if the span cannot be recorded."""

    def __init__(self, audit: Optional[AuditLogger] = None, *, keep_content: bool = False) -> None:
        self._target = _Target(audit, keep_content)

    def on_start(self, span: Span, parent_context: Optional[Context] = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        self._target.traces([span])


class AuditLogExporter(_Flushing, LogExporter):
    """A ``LogExporter`` into an ``AuditLogger``, for the SDK's ``SimpleLogRecordProcessor`` or
    ``BatchLogRecordProcessor``: each log record is an event (GenAI content events' bodies as
    hashes unless ``keep_content``)."""

    def __init__(self, audit: Optional[AuditLogger] = None, *, keep_content: bool = False) -> None:
        self._target = _Target(audit, keep_content)

    def export(self, batch: Sequence[Any]) -> LogExportResult:
        try:
            self._target.logs(batch)
        except Exception:
            _log.exception("aiaudit: %d log records could not be recorded", len(batch))
            return LogExportResult.FAILURE
        return LogExportResult.SUCCESS
