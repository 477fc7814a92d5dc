"""What the LangChain handler adds per callback: a chat model's start and end, called directly
with LangChain's own objects, through an async AuditLogger (the writer commits on its thread).

    python bench/bench_langchain.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from pathlib import Path

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from aiaudit import AuditLogger
from aiaudit.integrations.langchain import AuditCallbackHandler


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with tempfile.TemporaryDirectory() as d:
        audit = AuditLogger(Path(d) / "bench.db")
        handler = AuditCallbackHandler(audit)
        serialized = {"id": ["langchain", "chat_models", "fake", "FakeChat"], "kwargs": {"model": "gpt-x"}}
        messages = [[HumanMessage(content="May customer 42 borrow 10,000 EUR for a car?")]]
        msg = AIMessage(content="Approved, with conditions.", usage_metadata={"input_tokens": 12, "output_tokens": 5, "total_tokens": 17})
        result = LLMResult(generations=[[ChatGeneration(message=msg)]])
        ids = [uuid.uuid4() for _ in range(n)]
        began = time.perf_counter()
        for run_id in ids:
            handler.on_chat_model_start(serialized, messages, run_id=run_id)
            handler.on_llm_end(result, run_id=run_id)
        took = time.perf_counter() - began
        audit.close()
    per_callback = took / (2 * n) * 1e6
    print(f"{n} chat calls, {2 * n} callbacks: {per_callback:.1f} µs per callback (target <= 20 µs): {'met' if per_callback <= 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
