"""Seed 003: prediction records, queries, compliance reports, redaction and FastAPI logging."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

import aiaudit
from aiaudit import (  # the seed's only change
    AuditLogger,
    AuditMiddleware,
    ComplianceReporter,
    audit_endpoint,
    log_prediction,
    redact_pii,
)


def test_log_prediction_returns_the_seed_record_and_seals_it() -> None:
    request_id = str(uuid.uuid4())
    record = log_prediction(
        request_id=request_id,
        model_name="fraud_detector",
        model_version="v3.2.1",
        input_data={"transaction_amount": 1250.00, "merchant_category": "electronics"},
        output={"prediction": "legitimate", "confidence": 0.94, "risk_score": 0.12},
        user_id="analyst_jane",
        latency_ms=23.5,
    )
    assert record["event"] == "ai_prediction" and record["request_id"] == request_id
    assert record["model"] == {"name": "fraud_detector", "version": "v3.2.1"}
    p = aiaudit.default_logger().get_by_request_id(request_id)
    assert p is not None
    assert (p.model_name, p.model_version, p.user_id, p.latency_ms) == ("fraud_detector", "v3.2.1", "analyst_jane", 23.5)
    assert p.output_data["risk_score"] == 0.12


def test_the_prediction_logger(capsys: pytest.CaptureFixture[str]) -> None:
    audit = AuditLogger()
    rid = audit.log(
        model_name="sentiment_classifier",
        model_version="v2.1.0",
        input_data={"text": "Great product, fast shipping!"},
        output_data={"label": "positive", "score": 0.96},
        user_id="api_client_42",
        latency_ms=15.3,
    )
    print(f"Logged: {rid}")
    assert capsys.readouterr().out == f"Logged: {rid}\n"
    assert str(uuid.UUID(rid)) == rid

    p = audit.get_by_request_id(rid)
    assert p.input_data == {"text": "Great product, fast shipping!"}
    assert p.output_data == {"label": "positive", "score": 0.96}
    # SHA-256 of the input's canonical JSON (RFC 8785): for this input, what the seed's
    # json.dumps(sort_keys=True) gives too.
    assert p.input_hash == hashlib.sha256(json.dumps({"text": "Great product, fast shipping!"}, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert p.input_hash == aiaudit.hash_input({"text": "Great product, fast shipping!"})
    assert audit.get_by_request_id(str(uuid.uuid4())) is None

    for i in range(5):
        audit.log("sentiment_classifier", "v2.1.1", {"text": f"t{i}"}, {"label": "negative"}, user_id="u2", latency_ms=10.0 + i)
    audit.log("other_model", "v1", {"x": 1}, {"label": "x"}, user_id="api_client_42")
    by_model = audit.query_by_model("sentiment_classifier")
    assert len(by_model) == 6
    assert by_model[0].model_version == "v2.1.1" and by_model[-1].request_id == rid, "newest first"
    assert len(audit.query_by_model("sentiment_classifier", limit=2)) == 2
    assert [p.model_name for p in audit.query_by_user("api_client_42")] == ["other_model", "sentiment_classifier"]


def test_compliance_reports_match_a_direct_computation() -> None:
    audit = AuditLogger()
    rows = []
    for i in range(40):
        label = ["legitimate", "fraud", "review"][i % 3]
        version = "v3.2.1" if i < 25 else "v3.3.0"
        user = f"user_{i % 7}"
        latency = 5.0 + (i * 37 % 50)
        audit.log("fraud_detector", version, {"amount": i}, {"prediction": label}, user_id=user, latency_ms=latency)
        rows.append((label, version, user, latency))
    audit.log("other", "v1", {}, {"label": "x"}, user_id="user_1", latency_ms=1.0)

    reporter = ComplianceReporter(audit)
    report = reporter.model_usage_report("fraud_detector", days=30)
    json.dumps(report, indent=2)  # as the seed prints it
    lat = sorted(r[3] for r in rows)
    assert report["model"] == "fraud_detector" and report["period_days"] == 30
    assert report["total_predictions"] == 40
    assert report["unique_users"] == 7
    assert report["prediction_distribution"] == dict(Counter(r[0] for r in rows))
    assert report["versions_used"] == {"v3.2.1": 25, "v3.3.0": 15}
    assert report["latency_stats"]["mean_ms"] == pytest.approx(sum(lat) / len(lat))
    assert report["latency_stats"]["p95_ms"] == lat[int(len(lat) * 0.95)]
    assert report["latency_stats"]["max_ms"] == max(lat)
    preds = audit.query_by_model("fraud_detector", limit=1000)
    assert report["first_prediction"] == preds[-1].record["time"]
    assert report["last_prediction"] == preds[0].record["time"]

    assert reporter.model_usage_report("nobody") == {"model": "nobody", "period_days": 30, "total_predictions": 0}

    access = reporter.data_access_report("user_1", days=90)
    mine = [r for r in rows if r[2] == "user_1"]
    assert access["user_id"] == "user_1" and access["period_days"] == 90
    assert access["total_requests"] == len(mine) + 1
    assert access["models_used"] == {"fraud_detector": len(mine), "other": 1}
    assert {r["request_id"] for r in access["requests"]} == {p.request_id for p in audit.query_by_user("user_1")}
    with pytest.raises(ValueError, match="days"):
        reporter.model_usage_report("fraud_detector", days=-1)


def test_redact_pii_gives_the_seed_output() -> None:
    # The seed's page shows the address as "[email protected]": its web page obfuscated the
    # address; any real address is what the example means.
    input_data = {"text": "Contact john.smith@example.com or call 555-123-4567", "user_ssn": "123-45-6789"}
    redacted = redact_pii(input_data)
    assert redacted == {'text': 'Contact [EMAIL] or call [PHONE]', 'user_ssn': '[SSN]'}
    assert input_data["user_ssn"] == "123-45-6789", "the input is not modified"
    nested = redact_pii({"a": {"b": ["card 4111 1111 1111 1111", 5, None]}, "n": 3.5})
    assert nested == {"a": {"b": ["card [CC]", 5, None]}, "n": 3.5}

    audit = AuditLogger()
    audit.log(model_name="classifier", model_version="v1", input_data=redacted, output_data={"label": "inquiry"})
    (p,) = audit.query_by_model("classifier")
    assert p.input_data == redacted


def run_model(body: dict) -> dict:
    return {"prediction": "legitimate" if body.get("amount", 0) < 1000 else "fraud", "confidence": 0.94}


def test_audit_endpoint_records_every_prediction_with_no_change_to_the_handler(tmp_path: Path) -> None:
    app = FastAPI()
    audit = AuditLogger(tmp_path / "api.db")

    @app.post("/predict")
    @audit_endpoint(model_name="fraud_detector", model_version="v3.2.1", audit=audit)
    async def predict(request: Request):
        body = await request.json()
        prediction = run_model(body)
        return prediction

    @app.post("/broken")
    @audit_endpoint(model_name="fraud_detector", model_version="v3.2.1", audit=audit)
    async def broken(request: Request):
        raise RuntimeError("model file missing for card 4111 1111 1111 1111")

    client = TestClient(app, raise_server_exceptions=False)
    r = client.post("/predict", json={"amount": 250, "email": "jane@example.com"}, headers={"X-User-ID": "analyst_jane"})
    assert r.status_code == 200 and r.json() == {"prediction": "legitimate", "confidence": 0.94}
    r = client.post("/predict", json={"amount": 5000})
    assert r.json()["prediction"] == "fraud"
    assert client.post("/broken", json={}).status_code == 500

    preds = audit.query_by_model("fraud_detector")
    assert len(preds) == 2
    jane = next(p for p in preds if p.user_id == "analyst_jane")
    assert jane.input_data == {"amount": 250, "email": "[EMAIL]"}, "inputs are redacted"
    assert jane.output_data == {"prediction": "legitimate", "confidence": 0.94}
    assert jane.metadata == {"ip": "testclient", "endpoint": "/predict", "method": "POST"}
    assert jane.latency_ms is not None and jane.latency_ms >= 0
    assert {p.user_id for p in preds} == {"analyst_jane", "anonymous"}
    (failure,) = audit.query(status="ERROR")
    assert failure["details"]["error"] == "RuntimeError"
    assert "[CC]" in failure["details"]["message"] and "4111" not in failure["details"]["message"]


def test_the_asgi_middleware_records_every_request(tmp_path: Path) -> None:
    app = FastAPI()
    audit = AuditLogger(tmp_path / "mw.db")
    app.add_middleware(AuditMiddleware, audit=audit, exclude=("/healthz",))

    @app.post("/predict")
    async def predict(request: Request):
        return run_model(await request.json())

    @app.get("/healthz")
    async def health():
        return {"ok": True}

    client = TestClient(app)
    client.post("/predict", json={"amount": 1}, headers={"X-User-ID": "u7", "X-Request-ID": "req-1"})
    client.get("/missing", headers={"X-Request-ID": "../../etc/passwd"})
    client.get("/healthz")
    recs = audit.query(type="user_request")
    assert [(r["name"], r["details"]["status_code"], r["status"]) for r in recs] == [
        ("POST /predict", 200, "INFO"),
        ("GET /missing", 404, "WARNING"),
    ]
    first = recs[0]
    # The test client's name is not an address: it is kept as the client, not as actor.ip.
    assert first["actor"] == {"user": "u7"}
    assert first["details"]["client"] == "testclient"
    assert first["operation"]["id"] == "req-1"
    assert first["details"]["body_sha256"] == hashlib.sha256(b'{"amount":1}').hexdigest()
    assert first["details"]["latency_ms"] >= 0
    assert recs[1]["actor"]["user"] == "anonymous"
    # A request id that is not an id is kept in details; the operation gets a fresh one.
    assert recs[1]["details"]["request_id"] == "../../etc/passwd"
    assert recs[1]["operation"]["id"] != "../../etc/passwd"


def test_inputs_can_be_kept_as_hashes_and_found_by_them(tmp_path: Path) -> None:
    audit = AuditLogger(tmp_path / "inputs.db")
    same = {"amount": 250, "merchant": "books"}
    audit.log("fraud_detector", "v1", same, {"prediction": "legitimate"})
    audit.log("fraud_detector", "v2", dict(reversed(list(same.items()))), {"prediction": "fraud"}, input_mode="hash")
    audit.log("fraud_detector", "v2", {"amount": 1}, {"prediction": "legitimate"})
    before = audit.query_by_input(same)
    assert [p.model_version for p in before] == ["v2", "v1"], "newest first, key order ignored"
    assert before[0].input_data is None and before[0].input_hash == aiaudit.hash_input(same)
    assert before[1].input_data == same
    hashed = AuditLogger(tmp_path / "hashed.db", input_mode="hash")
    hashed.log("m", "1", {"ssn_like": "x"}, {"label": "y"})
    (p,) = hashed.query_by_model("m")
    assert p.input_data is None and p.input_hash == aiaudit.hash_input({"ssn_like": "x"})
    with pytest.raises(ValueError, match="input_mode"):
        audit.log("m", "1", {}, {}, input_mode="partial")


def test_request_ids_that_are_not_ids_are_still_found(tmp_path: Path) -> None:
    audit = AuditLogger(tmp_path / "rid.db", durability="sync")
    for rid in ["REQ 2024/001", "user@example.com", "plain-id-7"]:
        log_prediction(rid, "m", "1", {"x": 1}, {"y": 0}, audit=audit)
    for rid in ["REQ 2024/001", "user@example.com", "plain-id-7"]:
        p = audit.get_by_request_id(rid)
        assert p is not None and p.request_id == rid, rid
    assert audit.get_by_request_id("REQ 2024/002") is None
