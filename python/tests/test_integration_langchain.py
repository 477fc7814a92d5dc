"""The LangChain callback handler with langchain-core's fake chat model, a tool, a retriever and
a chain (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool

from aiaudit import AuditLogger, _native
from aiaudit.integrations.langchain import AuditCallbackHandler


class Shelf(BaseRetriever):
    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [Document(page_content=f"{query} policy {i}") for i in range(3)]


@tool
def credit_score(customer: str) -> int:
    """A customer's credit score."""
    if customer == "nobody":
        raise ValueError("unknown customer")
    return 712


def _model(text: str = "Approved.") -> GenericFakeChatModel:
    msg = AIMessage(content=text, usage_metadata={"input_tokens": 11, "output_tokens": 3, "total_tokens": 14})
    return GenericFakeChatModel(messages=iter([msg]))


def test_a_chat_call_is_a_model_inference_with_tokens_and_hashes(tmp_path: Path) -> None:
    audit = AuditLogger(tmp_path / "lc.db", durability="sync")
    handler = AuditCallbackHandler(audit, user_id="analyst-3")
    answer = _model().invoke("May customer 42 borrow?", config={"callbacks": [handler]})
    assert answer.content == "Approved."
    (rec,) = audit.query(type="model_inference")
    d = rec["details"]
    assert rec["status"] == "INFO" and rec["actor"]["user"] == "analyst-3"
    assert d["run_type"] == "chat_model"
    assert d["tokens"] == {"input": 11, "output": 3, "total": 14}
    assert d["latency_ms"] >= 0
    assert d["prompt_sha256"] == _native.hash_input([[{"type": "human", "content": "May customer 42 borrow?"}]])
    assert d["completion_sha256"] == _native.hash_input(["Approved."])
    # Content is kept only as hashes by default.
    assert "prompt" not in d and "completion" not in d
    assert "May customer" not in str(rec)
    assert rec["operation"]["id"] == d["run_id"]
    assert audit.verify().intact


def test_a_chain_with_a_tool_and_a_retriever_reads_back_as_a_tree(tmp_path: Path) -> None:
    audit = AuditLogger(tmp_path / "chain.db", durability="sync")
    handler = AuditCallbackHandler(audit, keep_content=True)
    shelf = Shelf()

    def step(question: str) -> str:
        docs = shelf.invoke(question)
        score = credit_score.invoke({"customer": "42"})
        reply = _model(f"score {score}").invoke(f"{question} {len(docs)}")
        return str(reply.content)

    out = RunnableLambda(step, name="underwriting").invoke("loan", config={"callbacks": [handler]})
    assert out == "score 712"
    recs = audit.query()
    kinds = [r["type"] for r in recs]
    assert kinds == ["retrieval", "tool_call", "model_inference", "chain_run"], kinds
    root = recs[-1]
    assert root["name"] == "underwriting call"
    assert root["operation"]["name"] == "underwriting"
    assert root["details"]["parent_run_id"] is None
    for r in recs[:-1]:
        assert r["operation"]["id"] == root["operation"]["id"], r
        assert r["details"]["parent_run_id"] == root["details"]["run_id"], r
    assert recs[0]["details"]["documents"] == 3
    assert recs[1]["details"]["output"] == 712
    assert recs[2]["details"]["completion"] == ["score 712"]


def test_a_failing_tool_is_recorded_as_an_error(tmp_path: Path) -> None:
    audit = AuditLogger(tmp_path / "err.db", durability="sync")
    handler = AuditCallbackHandler(audit)
    with pytest.raises(ValueError, match="unknown customer"):
        credit_score.invoke({"customer": "nobody"}, config={"callbacks": [handler]})
    (rec,) = audit.query(type="tool_call")
    assert rec["status"] == "ERROR"
    assert rec["details"]["error"] == "ValueError: unknown customer"
    assert rec["name"] == "credit_score failed"
