"""OpenTelemetry into aiaudit: the real SDK with the real OTLP/HTTP exporters against a running
``aiaudit serve``, and ``aiaudit.integrations.otel`` into an embedded log with no server."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from aiaudit import AuditLogger, Client
from aiaudit.integrations.otel import AuditLogExporter, AuditSpanExporter, AuditSpanProcessor

from server import Server, binary

PROMPT = '[{"role":"user","parts":[{"type":"text","content":"My IBAN is DE89370400440532013000"}]}]'


def content_hash(value: object) -> str:
    """The documented hash: SHA-256 of the value's canonical JSON (a string: quoted JSON)."""
    return "sha256:" + hashlib.sha256(json.dumps(value, ensure_ascii=False).encode()).hexdigest()


def chat_and_tool(provider: TracerProvider) -> tuple[str, str]:
    """A GenAI chat span with a tool call inside an HTTP handler span; returns (trace, root)."""
    tracer = provider.get_tracer("support-bot.agent", "1.4.0")
    with tracer.start_as_current_span("POST /answer", kind=SpanKind.SERVER) as root:
        root.set_attribute("enduser.id", "alice")
        with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as chat:
            chat.set_attributes({
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.usage.input_tokens": 31,
                "gen_ai.usage.output_tokens": 12,
                "gen_ai.response.finish_reasons": ["tool_calls"],
                "gen_ai.input.messages": PROMPT,
                "enduser.id": "alice",
            })
        with tracer.start_as_current_span("execute_tool lookup_account") as tool:
            tool.set_attributes({
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "lookup_account",
                "gen_ai.tool.call.arguments": '{"iban": "DE89370400440532013000"}',
            })
            tool.set_status(Status(StatusCode.ERROR, "account service down"))
        ctx = root.get_span_context()
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def check_trace(events: list[dict], trace: str, root: str) -> None:
    by_type = {e["type"]: e for e in events}
    assert set(by_type) == {"span", "model_inference", "tool_call"}, [e["type"] for e in events]
    chat = by_type["model_inference"]
    assert chat["name"] == "chat gpt-4o"
    assert chat["model"] == {"name": "gpt-4o", "version": "gpt-4o-2024-08-06"}
    assert chat["actor"]["user"] == "alice"
    assert chat["operation"]["id"] == trace
    assert chat["parent"] == root
    d = chat["details"]
    assert d["tokens"] == {"input": 31, "output": 12, "total": 43}
    assert d["attributes"]["gen_ai.response.finish_reasons"] == ["tool_calls"]
    assert d["provider"] == "openai"
    assert d["latency_ms"] >= 0
    assert d["otel"]["scope"] == {"name": "support-bot.agent", "version": "1.4.0"}
    assert d["otel"]["kind"] == "client"
    assert d["attributes"]["gen_ai.input.messages"] == content_hash(PROMPT)
    tool = by_type["tool_call"]
    assert tool["status"] == "ERROR"
    assert tool["details"]["otel"]["status_message"] == "account service down"
    assert tool["details"]["attributes"]["gen_ai.tool.name"] == "lookup_account"
    assert by_type["span"]["name"] == "POST /answer"
    assert "parent" not in by_type["span"]
    # Neither the prompt nor the tool's arguments are in the log.
    assert "DE89370400440532013000" not in json.dumps(events)


@pytest.fixture()
def server(tmp_path: Path):
    s = Server(tmp_path / "served.db")
    yield s
    if s.proc and s.proc.poll() is None:
        s.stop()


def test_the_sdk_exports_to_aiaudit_serve(server: Server) -> None:
    auth = {"Authorization": f"Bearer {server.tokens['ingest']}"}
    resource = Resource.create({"service.name": "support-bot", "host.name": "worker-7"})
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=f"{server.url}/v1/traces", headers=auth)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace, root = chat_and_tool(provider)
    provider.shutdown()

    logs = LoggerProvider(resource=resource)
    logs.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{server.url}/v1/logs", headers=auth)))
    pylog = logging.getLogger("support-bot.test")
    pylog.propagate = False
    handler = LoggingHandler(level=logging.INFO, logger_provider=logs)
    pylog.addHandler(handler)
    try:
        pylog.warning("quota at 95%% for tenant %s", "acme")
    finally:
        pylog.removeHandler(handler)
        logs.shutdown()

    reader = Client(server.url, server.tokens["audit"])
    events = reader.query(operation=trace, limit=100)["events"]
    check_trace(events, trace, root)
    assert {e["actor"]["service"] for e in events} == {"support-bot"}
    assert {e["source"].get("host") for e in events} == {"worker-7"}
    (warning,) = reader.query(type="log")["events"]
    assert warning["status"] == "WARNING"
    assert warning["name"] == "quota at 95% for tenant acme"
    assert warning["details"]["otel"]["severity_text"] == "WARN"
    assert warning["actor"]["service"] == "support-bot"

    server.stop()
    out = subprocess.run([binary(), "--db", str(server.db), "verify"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_bad_export_is_refused_in_otlp_form(server: Server) -> None:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        f"{server.url}/v1/traces", data=b"\x0a\x05trunc", method="POST",
        headers={"Content-Type": "application/x-protobuf",
                 "Authorization": f"Bearer {server.tokens['ingest']}"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 400
    from google.rpc import status_pb2  # shipped with the OTLP exporter's googleapis-common-protos

    status = status_pb2.Status.FromString(err.value.read())
    assert status.code == 3
    assert "not a valid OTLP ExportTraceServiceRequest" in status.message


def test_embedded_processor_and_exporters(tmp_path: Path) -> None:
    audit = AuditLogger(tmp_path / "otel.db", durability="sync")
    provider = TracerProvider(resource=Resource.create({"service.name": "batch-scorer"}))
    provider.add_span_processor(AuditSpanProcessor(audit))
    trace, root = chat_and_tool(provider)
    # Recorded as each span ended, before anything was flushed by the provider.
    events = audit.query(operation=trace)
    check_trace(events, trace, root)
    assert {e["actor"]["service"] for e in events} == {"batch-scorer"}
    provider.shutdown()

    # The exporter form, with the content kept (and still redacted).
    kept = TracerProvider()
    kept.add_span_processor(SimpleSpanProcessor(AuditSpanExporter(audit, keep_content=True)))
    with kept.get_tracer("t").start_as_current_span("chat") as span:
        span.set_attributes({"gen_ai.request.model": "llama-3",
                             "gen_ai.prompt.0.content": "write to jane.doe@example.com",
                             "gen_ai.prompt.0.role": "user"})
    kept.shutdown()
    (chat,) = [e for e in audit.query(model="llama-3")]
    text = chat["details"]["attributes"]["gen_ai.prompt.0.content"]
    assert text.startswith("write to ") and "jane.doe@example.com" not in text
    assert chat["details"]["attributes"]["gen_ai.prompt.0.role"] == "user"

    logs = LoggerProvider()
    logs.add_log_record_processor(SimpleLogRecordProcessor(AuditLogExporter(audit)))
    pylog = logging.getLogger("batch-scorer.embedded")
    pylog.propagate = False
    handler = LoggingHandler(level=logging.INFO, logger_provider=logs)
    pylog.addHandler(handler)
    try:
        pylog.error("scoring failed for batch %d", 17)
    finally:
        pylog.removeHandler(handler)
        logs.shutdown()
    (err,) = audit.query(type="log")
    assert err["status"] == "ERROR" and err["name"] == "scoring failed for batch 17"
    assert audit.verify().intact
    audit.close()


def test_processor_fails_loudly_when_the_log_is_closed(tmp_path: Path) -> None:
    audit = AuditLogger(tmp_path / "closed.db")
    audit.close()
    provider = TracerProvider()
    provider.add_span_processor(AuditSpanProcessor(audit))
    span = provider.get_tracer("t").start_span("unaudited")
    with pytest.raises(Exception, match="closed"):
        span.end()
