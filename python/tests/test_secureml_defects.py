"""The defects of secureml 0.3.1's reference implementation, each shown absent."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import logging
import os
import uuid
from pathlib import Path

import numpy as np
import pytest

import aiaudit
from aiaudit import AuditLogger, AuditTrail, audit_function, get_audit_logs
from conftest import tamper


def test_nothing_is_echoed_to_the_console(capfd: pytest.CaptureFixture[str]) -> None:
    trail = AuditTrail("quiet", context={"env": "prod"})
    trail.log_data_access("ds", ["a"], 1, "test")
    trail.close()
    aiaudit.default_logger().flush()
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_decorated_function_leaks_no_trail_file_or_logger() -> None:
    @audit_function()
    def step(i):
        return i

    step(0)  # the first call opens the shared log
    fds = _open_fds()
    loggers = len(logging.Logger.manager.loggerDict)
    handlers = len(logging.getLogger().handlers)
    files = set(os.listdir("."))
    for i in range(300):
        step(i)
    assert _open_fds() == fds
    assert len(logging.Logger.manager.loggerDict) == loggers
    assert len(logging.getLogger().handlers) == handlers
    assert set(os.listdir(".")) == files
    assert len(get_audit_logs(operation_name="step")) == 301 * 4


def test_values_containing_the_separator_are_not_lost() -> None:
    t = AuditTrail("sep")
    t.log_event("note", {"text": "a - b - c", "json": '{"x": " - "}'})
    t.close()
    (note,) = [l for l in get_audit_logs(operation_name="sep") if l["event_type"] == "note"]
    assert note["text"] == "a - b - c" and note["json"] == '{"x": " - "}'


def test_operation_names_match_exactly() -> None:
    AuditTrail("train").close()
    AuditTrail("train_v2").close()
    assert {l["operation_name"] for l in get_audit_logs(operation_name="train")} == {"train"}
    assert len(get_audit_logs(operation_name="train")) == 2


def test_operation_names_are_not_paths(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    before = set(os.listdir(tmp_path))
    t = AuditTrail("../escape", log_dir=str(logs))
    t.close()
    assert set(os.listdir(tmp_path)) - before == {"logs"}, "nothing written beside log_dir"
    assert sorted(os.listdir(logs))[0] == "aiaudit.db"
    assert [l["operation_name"] for l in get_audit_logs(operation_name="../escape", log_dir=str(logs))] == ["../escape", "../escape"]


def test_details_cannot_overwrite_reserved_fields() -> None:
    t = AuditTrail("reserved")
    t.log_event("real_type", {"timestamp": "1999-01-01", "event_type": "forged", "operation_id": "x", "operation_name": "y"})
    t.close()
    (e,) = [l for l in get_audit_logs(operation_name="reserved") if l["event_type"] == "real_type"]
    assert e["operation_id"] == t.operation_id and e["operation_name"] == "reserved"
    assert e["timestamp"].startswith(str(dt.date.today().year)) or e["timestamp"] > "2000"
    rec = aiaudit.default_logger().get(e["audit"]["seq"])
    assert rec["type"] == "real_type" and rec["details"]["event_type"] == "forged", "kept, but as a detail"


class Color(enum.Enum):
    RED = "red"


def test_rich_values_are_encoded_not_rejected() -> None:
    log = AuditLogger()
    when = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.timezone.utc)
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    log.log_event("types", {
        "datetime": when,
        "naive": dt.datetime(2026, 3, 1, 12, 30),
        "date": dt.date(2026, 3, 1),
        "decimal": decimal.Decimal("1234.50"),
        "uuid": u,
        "set": {"b", "a", "c"},
        "frozenset": frozenset({3, 1, 2}),
        "tuple": (1, "x"),
        "np_float": np.float32(0.5),
        "np_int": np.int64(7),
        "np_bool": np.bool_(True),
        "np_array": np.arange(6).reshape(2, 3),
        "enum": Color.RED,
        "path": Path("/data/x.csv"),
        "bytes": b"\x00\x01",
        "duration": dt.timedelta(minutes=2),
    })
    (r,) = log.query()
    d = r["details"]
    assert d["datetime"] == "2026-03-01T12:30:00+00:00"
    assert d["naive"] == "2026-03-01T12:30:00"
    assert d["date"] == "2026-03-01"
    assert d["decimal"] == "1234.50", "exact, as text"
    assert d["uuid"] == str(u)
    assert d["set"] == ["a", "b", "c"] and d["frozenset"] == [1, 2, 3]
    assert d["tuple"] == [1, "x"]
    assert d["np_float"] == 0.5 and d["np_int"] == 7 and d["np_bool"] is True
    assert d["np_array"] == [[0, 1, 2], [3, 4, 5]]
    assert d["enum"] == "red" and d["path"] == "/data/x.csv"
    assert d["bytes"] == "AAE=" and d["duration"] == 120


def test_time_filters_compare_times_not_strings(tmp_path: Path) -> None:
    t = AuditTrail("timed")
    t.close()
    logs = get_audit_logs(operation_name="timed")
    assert len(logs) == 2
    now = dt.datetime.now(dt.timezone.utc)
    today = dt.date.today()
    assert len(get_audit_logs(operation_name="timed", start_time=now - dt.timedelta(minutes=5))) == 2
    assert len(get_audit_logs(operation_name="timed", end_time=now - dt.timedelta(minutes=5))) == 0
    # An aware ISO string in another zone names the same instant.
    plus2 = (now + dt.timedelta(minutes=5)).astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat()
    assert len(get_audit_logs(operation_name="timed", end_time=plus2)) == 2
    assert len(get_audit_logs(operation_name="timed", start_time=plus2)) == 0
    # A date-only end means the end of that day (string comparison would drop today's events).
    assert len(get_audit_logs(operation_name="timed", start_time=today.isoformat(), end_time=today.isoformat())) == 2
    assert len(get_audit_logs(operation_name="timed", end_time=today)) == 2
    assert len(get_audit_logs(operation_name="timed", end_time=today - dt.timedelta(days=1))) == 0
    with pytest.raises(ValueError, match="start_time: 'yesterday' is not ISO 8601"):
        get_audit_logs(operation_name="timed", start_time="yesterday")
    with pytest.raises(TypeError, match="end_time"):
        get_audit_logs(operation_name="timed", end_time=[2026])


def test_decorated_arguments_go_through_redaction() -> None:
    @audit_function(operation_name="notify")
    def notify(email, message, card=None):
        return f"sent to {email}"

    notify("jane.doe@example.com", "call 555-123-4567", card="4111 1111 1111 1111")
    logs = get_audit_logs(operation_name="notify")
    text = repr(logs)
    for secret in ("jane.doe@example.com", "555-123-4567", "4111 1111 1111 1111"):
        assert secret not in text
    assert logs[1]["arguments"] == {"email": "[EMAIL]", "message": "call [PHONE]", "card": "[CC]"}
    assert logs[2]["result"] == "sent to [EMAIL]"


def test_the_log_is_tamper_evident() -> None:
    t = AuditTrail("evidence")
    for i in range(10):
        t.log_event("step", {"i": i})
    t.close()
    log = aiaudit.default_logger()
    assert log.verify().intact
    path = log.path
    log.close()
    tamper(path, 4)
    report = aiaudit.reader(path).verify()
    assert report["intact"] is False and report["first_bad_seq"] == 4
