"""What the embedded OpenTelemetry integration costs per span: a GenAI chat span ended under the
SDK with no processor, with ``AuditSpanProcessor`` (recorded before ``end()`` returns), and with
the SDK's ``BatchSpanProcessor`` around ``AuditSpanExporter`` (timed until its final flush),
through an async AuditLogger (the writer commits on its thread).

    python bench/bench_otel.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from aiaudit import AuditLogger
from aiaudit.integrations.otel import AuditSpanExporter, AuditSpanProcessor

ATTRS = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.usage.input_tokens": 31,
    "gen_ai.usage.output_tokens": 12,
    "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"May I borrow 10,000 EUR?"}]}]',
    "enduser.id": "alice",
}


def spans(provider: TracerProvider, n: int) -> float:
    tracer = provider.get_tracer("bench", "1.0")
    began = time.perf_counter()
    for _ in range(n):
        with tracer.start_as_current_span("chat gpt-4o") as s:
            s.set_attributes(ATTRS)
    return time.perf_counter() - began


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    resource = Resource.create({"service.name": "bench"})
    bare = spans(TracerProvider(resource=resource), n)
    with tempfile.TemporaryDirectory() as d:
        audit = AuditLogger(Path(d) / "bench.db")
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(AuditSpanProcessor(audit))
        audited = spans(provider, n)
        batched_provider = TracerProvider(resource=resource)
        batched_provider.add_span_processor(
            BatchSpanProcessor(AuditSpanExporter(audit), max_queue_size=n, max_export_batch_size=512))
        began = time.perf_counter()
        spans(batched_provider, n)
        batched_provider.force_flush()
        batched = time.perf_counter() - began
        assert len(audit.query(type="model_inference", limit=3 * n)) == 2 * n
        audit.close()
    us = lambda t: t / n * 1e6  # noqa: E731
    print(f"{n} spans: {us(bare):.1f} µs each without aiaudit; AuditSpanProcessor {us(audited):.1f} µs "
          f"(+{us(audited - bare):.1f}); BatchSpanProcessor(AuditSpanExporter) {us(batched):.1f} µs "
          f"(+{us(batched - bare):.1f})")


if __name__ == "__main__":
    main()
