"""Seed 000: the AI Pipeline Audit Logger's examples, run with only the import changed."""

from __future__ import annotations

import os

import pytest

from aiaudit import AuditLogger  # the seed's only change
from conftest import records


class Frame:
    def __init__(self, rows: int, cols: int) -> None:
        self.rows, self.shape = rows, (rows, cols)

    def __len__(self) -> int:
        return self.rows


def fetch_data(path: str) -> Frame:
    return Frame(1000, 8)


def transform_features(data: Frame) -> Frame:
    return Frame(len(data), 12)


def train_model(data: Frame) -> object:
    return object()


def test_the_three_basic_statuses() -> None:
    audit_logger = AuditLogger()
    audit_logger.log_event("Data preprocessing started", details={"file": "dataset.csv"}, status="INFO")
    audit_logger.log_event("Drift detected", details={"feature": "age", "drift_score": 0.8}, status="WARNING")
    audit_logger.log_event("Model training failed", details={"error": "Out of memory"}, status="FAILURE")
    audit_logger.log_event("Model Training Started")
    audit_logger.log_event("Training completed", details={"iterations": 150, "accuracy": 0.92}, status="INFO")
    audit_logger.flush()
    got = [(r["name"], r["status"], r["details"]) for r in records(os.environ["AIAUDIT_DB"])]
    assert got == [
        ("Data preprocessing started", "INFO", {"file": "dataset.csv"}),
        ("Drift detected", "WARNING", {"feature": "age", "drift_score": 0.8}),
        ("Model training failed", "FAILURE", {"error": "Out of memory"}),
        ("Model Training Started", "INFO", {}),
        ("Training completed", "INFO", {"iterations": 150, "accuracy": 0.92}),
    ]
    assert audit_logger.verify().intact


def test_pipeline_lifecycle_and_failure_path() -> None:
    audit_logger = AuditLogger()
    try:
        audit_logger.log_event("Data Ingestion started")
        data = fetch_data("dataset.csv")
        audit_logger.log_event("Data Ingestion completed", details={"rows": len(data)}, status="INFO")
        audit_logger.log_event("Feature Engineering started")
        processed_data = transform_features(data)
        audit_logger.log_event("Feature Engineering completed", details={"columns": processed_data.shape[1]}, status="INFO")
        audit_logger.log_event("Model Training started")
        model = train_model(processed_data)
        audit_logger.log_event("Model Training completed", details={"accuracy": 0.91, "loss": 0.25}, status="INFO")
        raise RuntimeError("Invalid input data format")
    except Exception as e:
        audit_logger.log_event(
            "Pipeline Execution Failed",
            details={"error": str(e)},
            status="FAILURE"
        )
    rows = audit_logger.query()
    assert [r["name"] for r in rows][:2] == ["Data Ingestion started", "Data Ingestion completed"]
    assert rows[1]["details"] == {"rows": 1000}
    assert rows[3]["details"] == {"columns": 12}
    assert rows[-1]["status"] == "FAILURE"
    assert rows[-1]["details"] == {"error": "Invalid input data format"}
    # The caller's own line is the source, not the package's.
    assert rows[0]["source"]["file"].endswith("test_seed000_audit_logger.py")
    assert rows[0]["source"]["function"] == "test_pipeline_lifecycle_and_failure_path"


def test_drift_monitoring_and_anomaly_detection() -> None:
    audit_logger = AuditLogger()
    drift = {"value": True}

    def check_drift(data: object) -> bool:
        return drift["value"]

    def monitor_drift(data):
        drift_detected = check_drift(data)
        if drift_detected:
            audit_logger.log_event(
                "Drift Detected",
                details={"feature": "user_age", "drift_score": 0.85},
                status="WARNING"
            )
        else:
            audit_logger.log_event("No Drift Detected", status="INFO")

    data = fetch_data("x")
    audit_logger.log_event("Drift Monitoring initiated")
    monitor_drift(data)
    drift["value"] = False
    monitor_drift(data)

    def detect_anomaly(metrics):
        if metrics["accuracy"] < 0.8:
            audit_logger.log_event(
                "Anomaly Detected: Accuracy Threshold Not Met",
                details={"accuracy": metrics["accuracy"], "threshold": 0.8},
                status="WARNING"
            )

    results = {"accuracy": 0.75}
    detect_anomaly(results)
    detect_anomaly({"accuracy": 0.95})
    warnings = audit_logger.query(status="WARNING")
    assert [w["name"] for w in warnings] == ["Drift Detected", "Anomaly Detected: Accuracy Threshold Not Met"]
    assert warnings[1]["details"] == {"accuracy": 0.75, "threshold": 0.8}
    assert [r["name"] for r in audit_logger.query(status="INFO")] == ["Drift Monitoring initiated", "No Drift Detected"]


class MockDatabaseConnection:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def write(self, row: dict) -> None:
        self.rows.append(row)


def test_external_database_subclass_that_skips_init() -> None:
    class ExternalAuditLogger(AuditLogger):
        def __init__(self, db_connection):
            self.db_connection = db_connection

        def log_event(self, event_name: str, details: dict = None, status: str = "INFO"):
            super().log_event(event_name, details, status)
            self.db_connection.write({"event": event_name, "details": details, "status": status})

    db_connection = MockDatabaseConnection()
    audit_logger = ExternalAuditLogger(db_connection)
    audit_logger.log_event("Model deployment successful", details={"version": "1.0.1"}, status="INFO")
    assert db_connection.rows == [{"event": "Model deployment successful", "details": {"version": "1.0.1"}, "status": "INFO"}]
    audit_logger.flush()
    (rec,) = records(os.environ["AIAUDIT_DB"])
    assert (rec["name"], rec["details"]) == ("Model deployment successful", {"version": "1.0.1"})
    # The subclass's method is the caller the record names.
    assert rec["source"]["function"] == "log_event"


def test_custom_status_codes() -> None:
    class ExtendedAuditLogger(AuditLogger):
        VALID_STATUSES = ["INFO", "WARNING", "FAILURE", "CRITICAL"]

        def log_event(self, event_name: str, details: dict = None, status: str = "INFO"):
            if status not in self.VALID_STATUSES:
                raise ValueError(f"Invalid status: {status}")
            super().log_event(event_name, details, status)

    audit_logger = ExtendedAuditLogger()
    audit_logger.log_event("Reactor overheating", details={"t": 99}, status="CRITICAL")
    with pytest.raises(ValueError, match="Invalid status: DEBUG"):
        audit_logger.log_event("x", status="DEBUG")
    assert [r["status"] for r in audit_logger.query()] == ["CRITICAL"]


def test_a_subclass_can_declare_statuses_beyond_the_standard_ones() -> None:
    class CustomAuditLogger(AuditLogger):
        VALID_STATUSES = ["INFO", "DEGRADED"]

    log = CustomAuditLogger()
    log.log_event("slow replica", status="DEGRADED")
    with pytest.raises(ValueError, match="unknown status \"BROKEN\"; known: .*DEGRADED"):
        log.log_event("x", status="BROKEN")
    assert [r["status"] for r in log.query()] == ["DEGRADED"]


def test_observability_subclass_posts_after_logging() -> None:
    posted: list[tuple[str, dict]] = []

    class requests:  # stands in for the HTTP client of the seed's example
        @staticmethod
        def post(url: str, json: dict) -> None:
            posted.append((url, json))

    class ObservabilityAuditLogger(AuditLogger):
        def log_event(self, event_name: str, details: dict = None, status: str = "INFO"):
            super().log_event(event_name, details, status)
            requests.post("http://monitoring-system/api/logs", json={
                "event": event_name, "details": details, "status": status
            })

    log = ObservabilityAuditLogger()
    log.log_event("Model deployed", details={"version": "2"}, status="INFO")
    assert posted == [("http://monitoring-system/api/logs", {"event": "Model deployed", "details": {"version": "2"}, "status": "INFO"})]
    with pytest.raises(ValueError):
        log.log_event("bad", status="LOUD")
    assert len(posted) == 1, "an invalid status is refused before anything is sent on"
    assert [r["name"] for r in log.query()] == ["Model deployed"]
