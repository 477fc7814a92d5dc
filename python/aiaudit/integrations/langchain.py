"""LangChain: a callback handler that records every LLM, chat model, tool, retriever and chain
call as an event.

``AuditCallbackHandler(audit)`` is passed where LangChain takes callbacks
(``model.invoke(..., config={"callbacks": [handler]})``, or a chain's ``with_config``). Each call
is recorded when it ends, or fails:

- LLM and chat model calls: ``model_inference`` with the model, the latency, the token counts
  (``input``, ``output``, ``total``, from ``usage_metadata`` or the provider's ``token_usage``), the
  finish reasons, and the prompt and completion as SHA-256 hashes of their canonical JSON; with
  ``keep_content=True`` the text itself too (it still goes through the log's redaction).
- Tools (``tool_call``), retrievers (``retrieval``, with the number of documents and their hash)
  and chains (``chain_run``): the name, the latency and, with ``keep_content``, inputs and outputs.
- A failure is recorded with status ``ERROR`` and the exception's type and message.

Every event of one top-level invocation has that invocation's run id as its operation id, and
carries its own ``run_id`` and ``parent_run_id`` in details, so that a chain reads back as a tree.

The handler sets ``raise_error``: a call that cannot be recorded (the log closed, an event the
log refuses) fails instead of passing unaudited.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Optional
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from .. import _native
from ..logger import AuditLogger
from ..predictions import default_logger


def _digest(value: Any) -> str:
    try:
        return _native.hash_input(value)
    except (TypeError, ValueError):
        return _native.hash_input(repr(value))


def _message(m: Any) -> dict[str, Any]:
    content = m.content if hasattr(m, "content") else str(m)
    return {"type": getattr(m, "type", "message"), "content": content}


def _messages(batches: Any) -> list[list[dict[str, Any]]]:
    return [[_message(m) for m in batch] for batch in batches]


def _name(serialized: Optional[dict[str, Any]], kwargs: dict[str, Any]) -> str:
    if kwargs.get("name"):
        return str(kwargs["name"])
    s = serialized or {}
    if s.get("name"):
        return str(s["name"])
    ident = s.get("id")
    return str(ident[-1]) if isinstance(ident, list) and ident else "unnamed"


def _model(serialized: Optional[dict[str, Any]], metadata: Optional[dict[str, Any]], kwargs: dict[str, Any]) -> str:
    meta = metadata or {}
    if meta.get("ls_model_name"):
        return str(meta["ls_model_name"])
    params = kwargs.get("invocation_params") or {}
    for key in ("model", "model_name", "model_id"):
        if params.get(key):
            return str(params[key])
    skw = (serialized or {}).get("kwargs") or {}
    for key in ("model", "model_name", "model_id"):
        if skw.get(key):
            return str(skw[key])
    return _name(serialized, {})


class AuditCallbackHandler(BaseCallbackHandler):
    """Records LangChain calls in an ``AuditLogger`` (see the module)."""

    raise_error = True

    def __init__(
        self,
        audit: Optional[AuditLogger] = None,
        *,
        keep_content: bool = False,
        user_id: Optional[str] = None,
    ) -> None:
        self._audit = audit
        self.keep_content = keep_content
        self.user_id = user_id
        self._runs: dict[UUID, dict[str, Any]] = {}
        self._lock = threading.Lock()

    @property
    def audit(self) -> AuditLogger:
        return self._audit or default_logger()

    # Bookkeeping: a run's start, and the top-level run it belongs to.

    def _start(self, run_id: UUID, parent_run_id: Optional[UUID], **info: Any) -> None:
        with self._lock:
            parent = self._runs.get(parent_run_id) if parent_run_id else None
            root = parent["root"] if parent else run_id
            self._runs[run_id] = {
                "began": time.perf_counter(),
                "root": root,
                "parent": parent_run_id,
                **info,
            }

    def _finish(
        self,
        run_id: UUID,
        kind: str,
        status: str,
        details: dict[str, Any],
        model: Optional[str] = None,
    ) -> None:
        with self._lock:
            run = self._runs.pop(run_id, None) or {
                "began": time.perf_counter(),
                "root": run_id,
                "parent": None,
                "name": "unnamed",
            }
        details = {
            "run_id": str(run_id),
            "parent_run_id": str(run["parent"]) if run["parent"] else None,
            "latency_ms": (time.perf_counter() - run["began"]) * 1000.0,
            **{k: v for k, v in run.items() if k not in ("began", "root", "parent", "name", "model")},
            **details,
        }
        name = run.get("name", "unnamed")
        verb = "failed" if status == "ERROR" else "call"
        self.audit.record(
            kind,
            f"{model or name} {verb}",
            status=status,
            details=details,
            user=self.user_id,
            operation_id=str(run["root"]),
            operation_name=name if run["root"] == run_id else None,
            model=model,
        )

    def _failed(self, run_id: UUID, kind: str, error: BaseException) -> None:
        with self._lock:
            model = (self._runs.get(run_id) or {}).get("model")
        self._finish(run_id, kind, "ERROR", {"error": f"{type(error).__name__}: {error}"}, model)

    # LLMs and chat models.

    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID, parent_run_id: Optional[UUID] = None, metadata: Optional[dict[str, Any]] = None, **kwargs: Any) -> None:
        content: dict[str, Any] = {"prompt_sha256": _digest(prompts)}
        if self.keep_content:
            content["prompt"] = prompts
        self._start(run_id, parent_run_id, name=_name(serialized, kwargs), model=_model(serialized, metadata, kwargs), run_type="llm", **content)

    def on_chat_model_start(self, serialized: dict[str, Any], messages: list[list[Any]], *, run_id: UUID, parent_run_id: Optional[UUID] = None, metadata: Optional[dict[str, Any]] = None, **kwargs: Any) -> None:
        plain = _messages(messages)
        content: dict[str, Any] = {"prompt_sha256": _digest(plain)}
        if self.keep_content:
            content["prompt"] = plain
        self._start(run_id, parent_run_id, name=_name(serialized, kwargs), model=_model(serialized, metadata, kwargs), run_type="chat_model", **content)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        texts: list[str] = []
        reasons: list[str] = []
        usage = {"input": 0, "output": 0, "total": 0}
        seen_usage = False
        for batch in response.generations:
            for g in batch:
                texts.append(getattr(g, "text", ""))
                info = getattr(g, "generation_info", None) or {}
                if info.get("finish_reason"):
                    reasons.append(str(info["finish_reason"]))
                meta = getattr(getattr(g, "message", None), "usage_metadata", None)
                if meta:
                    seen_usage = True
                    usage["input"] += int(meta.get("input_tokens", 0))
                    usage["output"] += int(meta.get("output_tokens", 0))
                    usage["total"] += int(meta.get("total_tokens", 0))
        token_usage = (response.llm_output or {}).get("token_usage") if response.llm_output else None
        if not seen_usage and token_usage:
            seen_usage = True
            usage = {
                "input": int(token_usage.get("prompt_tokens", 0)),
                "output": int(token_usage.get("completion_tokens", 0)),
                "total": int(token_usage.get("total_tokens", 0)),
            }
        details: dict[str, Any] = {"completion_sha256": _digest(texts), "finish_reasons": reasons}
        if seen_usage:
            details["tokens"] = usage
        if self.keep_content:
            details["completion"] = texts
        with self._lock:
            model = (self._runs.get(run_id) or {}).get("model")
        self._finish(run_id, "model_inference", "INFO", details, model)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._failed(run_id, "model_inference", error)

    # Tools, retrievers, chains.

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, *, run_id: UUID, parent_run_id: Optional[UUID] = None, **kwargs: Any) -> None:
        content: dict[str, Any] = {"input_sha256": _digest(input_str)}
        if self.keep_content:
            content["input"] = input_str
        self._start(run_id, parent_run_id, name=_name(serialized, kwargs), tool=_name(serialized, kwargs), **content)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        text = getattr(output, "content", output)
        details: dict[str, Any] = {"output_sha256": _digest(text)}
        if self.keep_content:
            details["output"] = text if isinstance(text, (str, int, float, bool, type(None), list, dict)) else repr(text)
        self._finish(run_id, "tool_call", "INFO", details)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._failed(run_id, "tool_call", error)

    def on_retriever_start(self, serialized: dict[str, Any], query: str, *, run_id: UUID, parent_run_id: Optional[UUID] = None, **kwargs: Any) -> None:
        content: dict[str, Any] = {"query_sha256": _digest(query)}
        if self.keep_content:
            content["query"] = query
        self._start(run_id, parent_run_id, name=_name(serialized, kwargs), **content)

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        docs = [d.page_content if hasattr(d, "page_content") else str(d) for d in documents]
        self._finish(run_id, "retrieval", "INFO", {"documents": len(docs), "documents_sha256": _digest(docs)})

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._failed(run_id, "retrieval", error)

    def on_chain_start(self, serialized: Optional[dict[str, Any]], inputs: Any, *, run_id: UUID, parent_run_id: Optional[UUID] = None, **kwargs: Any) -> None:
        self._start(run_id, parent_run_id, name=_name(serialized, kwargs))

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._finish(run_id, "chain_run", "INFO", {})

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._failed(run_id, "chain_run", error)
