"""Seed 004: secureml's AuditTrail API (all methods), audit_function and get_audit_logs."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from aiaudit import AuditTrail, audit_function, get_audit_logs  # the seed's only change
from aiaudit.errors import LogClosedError


def test_basic_usage_example(tmp_path: Path) -> None:
    # Create an audit trail for a model training operation
    audit = AuditTrail(
        operation_name="model_training",
        context={"model_version": "v1.0", "environment": "production"},
        regulations=["GDPR", "HIPAA"]
    )

    # Log events during your operation
    audit.log_data_access(
        dataset_name="patient_records",
        columns_accessed=["age", "diagnosis", "treatment"],
        num_records=1000,
        purpose="training disease prediction model",
        user="data_scientist_1"
    )

    # Close the audit trail when done
    audit.close()

    logs = get_audit_logs(operation_name="model_training")
    assert [l["event_type"] for l in logs] == ["audit_started", "data_access", "audit_closed"]
    access = logs[1]
    assert access["dataset_name"] == "patient_records"
    assert access["columns_accessed"] == ["age", "diagnosis", "treatment"]
    assert access["num_records"] == 1000 and access["user"] == "data_scientist_1"
    assert access["model_version"] == "v1.0" and access["environment"] == "production"
    assert access["operation_id"] == audit.operation_id
    assert access["audit"]["regulations"] == ["GDPR", "HIPAA"]
    assert logs[2]["status"] == "completed"
    assert get_audit_logs(operation_id=audit.operation_id) == logs


def test_every_method_and_the_regulations_example(tmp_path: Path) -> None:
    audit = AuditTrail(
        operation_name="credit_scoring",
        log_dir=str(tmp_path / "trails"),
        regulations=["GDPR", "CCPA"]
    )
    audit.log_compliance_check(
        check_type="data_access_permission",
        regulation="GDPR",
        result=True,
        details={"user_consent_obtained": True, "legal_basis": "legitimate_interest"}
    )
    audit.log_compliance_check("retention", "CCPA", False, {"days_over": 12})
    audit.log_data_transformation("anonymization", "raw applicants", "k-anonymous applicants", {"k": 5})
    audit.log_model_training("xgboost", "applicants", {"depth": 6}, metrics={"auc": 0.91}, privacy_parameters={"epsilon": 1.0})
    audit.log_model_inference("credit-v2", "applicant 42", {"score": 712}, confidence=0.83)
    audit.log_user_request("gdpr_access", "user-42", {"channel": "email"}, "completed")
    audit.log_error("ValidationError", "income missing", {"row": 17})
    audit.log_event("custom_step", {"note": "manual review"})
    audit.setup_file_logging()  # idempotent
    audit.close("error", {"reason": "validation"})
    audit.close()  # twice is harmless
    with pytest.raises(LogClosedError):
        audit.log_event("late", {})

    logs = get_audit_logs(operation_name="credit_scoring", log_dir=str(tmp_path / "trails"))
    kinds = [l["event_type"] for l in logs]
    assert kinds == [
        "audit_started", "compliance_check", "compliance_check", "data_transformation",
        "model_training", "model_inference", "user_request", "error", "custom_step", "audit_closed",
    ]
    statuses = [l["audit"]["status"] for l in logs]
    assert statuses == ["INFO", "INFO", "WARNING", "INFO", "INFO", "INFO", "INFO", "ERROR", "INFO", "FAILURE"]
    assert logs[5]["output"] == {"score": 712}, "kept as data, not str()"
    assert logs[4]["privacy_parameters"] == {"epsilon": 1.0}
    assert (tmp_path / "trails" / "aiaudit.db").exists()
    assert get_audit_logs(operation_name="credit_scoring") == [], "the default log holds nothing of it"


def test_audit_function_decorator() -> None:
    @audit_function(regulations=["GDPR"])
    def train_model(data, params):
        # Function implementation
        return {"weights": [0.1, 0.2], "params": params}

    model = train_model([1, 2, 3], {"lr": 0.1})
    assert model["params"] == {"lr": 0.1}

    @audit_function(operation_name="scoring")
    def score(x):
        raise ZeroDivisionError("division by zero")

    with pytest.raises(ZeroDivisionError):
        score(0)

    logs = get_audit_logs(operation_name="train_model")
    assert [l["event_type"] for l in logs] == ["audit_started", "function_call", "function_return", "audit_closed"]
    assert logs[1]["arguments"] == {"data": [1, 2, 3], "params": {"lr": 0.1}}
    assert logs[2]["result"] == {"weights": [0.1, 0.2], "params": {"lr": 0.1}}
    assert logs[0]["audit"]["regulations"] == ["GDPR"]
    failed = get_audit_logs(operation_name="scoring")
    assert [l["event_type"] for l in failed] == ["audit_started", "function_call", "error", "audit_closed"]
    assert failed[2]["error_type"] == "ZeroDivisionError"
    assert failed[3]["audit"]["status"] == "FAILURE"


def test_async_functions_are_audited_too() -> None:
    import asyncio

    @audit_function()
    async def fetch(n):
        await asyncio.sleep(0)
        return n * 2

    assert asyncio.run(fetch(21)) == 42
    logs = get_audit_logs(operation_name="fetch")
    assert logs[2]["result"] == 42


def test_log_retrieval_by_time_range() -> None:
    audit = AuditTrail("model_training")
    audit.close()
    today = dt.date.today()
    # Get all logs for a specific operation
    logs = get_audit_logs(
        operation_name="model_training",
        start_time=today.isoformat() + "T00:00:00",
        end_time=today.isoformat() + "T23:59:59"
    )
    assert len(logs) == 2
    assert get_audit_logs(operation_name="model_training", start_time="2023-01-01T00:00:00", end_time="2023-01-31T23:59:59") == []


def test_log_level_and_the_context_manager() -> None:
    quiet = AuditTrail("quiet_op", log_level=logging.WARNING)
    quiet.log_event("info_event", {"x": 1})  # below WARNING: not recorded
    quiet.log_error("Timeout", "upstream slow")
    quiet.close("error")
    assert [l["event_type"] for l in get_audit_logs(operation_name="quiet_op")] == ["error", "audit_closed"]

    with pytest.raises(KeyError):
        with AuditTrail("ctx_op", context={"run": 7}) as t:
            t.log_event("step", {"i": 1})
            raise KeyError("feature_x")
    logs = get_audit_logs(operation_name="ctx_op")
    assert [l["event_type"] for l in logs] == ["audit_started", "step", "error", "audit_closed"]
    assert logs[1]["run"] == 7 and logs[1]["i"] == 1
    assert logs[2]["error_type"] == "KeyError" and logs[3]["audit"]["status"] == "FAILURE"
