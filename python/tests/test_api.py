"""Beyond the seeds: proofs, verification, durability, process safety and bad input."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import aiaudit
from aiaudit import AuditLogger
from aiaudit.errors import (
    InvalidEventError,
    LogBusyError,
    LogClosedError,
    NotFoundError,
    ProofError,
)
from conftest import records


def test_checkpoint_proofs_and_offline_verification(tmp_path: Path) -> None:
    with AuditLogger(tmp_path / "a.db", origin="example.org/audit/test") as log:
        for i in range(100):
            log.log_event(f"event {i}", {"i": i})
        cp = log.checkpoint()
        assert cp.startswith("example.org/audit/test\n100\n")
        key = log.verifier_key
        proof = log.prove(42)
        checked = aiaudit.verify_proof(proof, key)
        assert checked["kind"] == "inclusion" and checked["seq"] == 42 and checked["size"] == 100
        assert checked["record"]["details"] == {"i": 42}
        cons = aiaudit.verify_proof(log.prove_consistency(10), key)
        assert cons["old_size"] == 10 and cons["size"] == 100
        for i in range(5):
            log.log_event("later")
        report = log.verify(against=cp)
        assert report.intact and report.entries == 105 and bool(report)
        with pytest.raises(NotFoundError):
            log.prove(1000)
    with pytest.raises(ProofError):
        aiaudit.verify_proof(proof.replace("index 42", "index 43"), key)
    other = AuditLogger(tmp_path / "b.db")
    other.log_event("x")
    with pytest.raises(ProofError):
        aiaudit.verify_proof(proof, other.verifier_key)


def test_context_manager_closes_and_later_calls_fail(tmp_path: Path) -> None:
    with AuditLogger(tmp_path / "c.db") as log:
        log.log_event("inside")
    assert log.closed
    with pytest.raises(LogClosedError):
        log.log_event("after")
    assert [r["name"] for r in records(tmp_path / "c.db")] == ["inside"]


def test_sync_durability_commits_before_returning(tmp_path: Path) -> None:
    log = AuditLogger(tmp_path / "s.db", durability="sync")
    log.log_event("committed")
    assert aiaudit._native.Reader(str(tmp_path / "s.db")).size() == 1
    with pytest.raises(ValueError, match="durability"):
        AuditLogger(tmp_path / "t.db", durability="eventually")


def test_two_loggers_on_one_file_share_one_writer(tmp_path: Path) -> None:
    a = AuditLogger(tmp_path / "shared.db")
    b = AuditLogger(tmp_path / "shared.db")
    a.log_event("from a")
    b.log_event("from b")
    a.close()
    b.log_event("b still open")
    b.close()
    assert [r["name"] for r in records(tmp_path / "shared.db")] == ["from a", "from b", "b still open"]


def _run(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_everything_queued_is_committed_at_interpreter_exit(tmp_path: Path) -> None:
    db = tmp_path / "exit.db"
    r = _run(f"""
        from aiaudit import AuditLogger
        log = AuditLogger({str(db)!r})
        for i in range(20000):
            log.log_event("e", {{"i": i}})
        # no flush, no close: the interpreter exits with events queued
    """)
    assert r.returncode == 0, r.stderr
    reader = aiaudit._native.Reader(str(db))
    assert reader.size() == 20000
    assert reader.verify()["intact"]


def test_another_process_writing_gets_a_clear_busy_error(tmp_path: Path) -> None:
    db = tmp_path / "busy.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import sys, aiaudit; l = aiaudit.AuditLogger({str(db)!r}); l.log_event('x'); l.flush(); print('ready', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(LogBusyError, match="writer"):
            AuditLogger(db)
        # Reading needs no writer lock.
        assert aiaudit.reader(db).size() == 1
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_a_forked_child_gets_an_error_not_a_hang(tmp_path: Path) -> None:
    log = AuditLogger(tmp_path / "fork.db")
    log.log_event("parent")
    log.flush()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            log.log_event("child")
            msg = b"no error"
        except LogBusyError as e:
            msg = b"busy:" + str(e).encode()
        os.write(w, msg)
        os._exit(0)
    os.close(w)
    got = os.read(r, 4096).decode()
    os.waitpid(pid, 0)
    assert got.startswith("busy:") and "fork" in got
    log.log_event("parent again")
    assert [x["name"] for x in log.query()] == ["parent", "parent again"]


@pytest.mark.parametrize(
    ("details", "error", "message"),
    [
        ("not a dict", TypeError, "details must be a dict, got str"),
        ({"x": object()}, TypeError, r"details\.x: a value of type object cannot be recorded"),
        ({"a": {"b": [1, float("nan")]}}, ValueError, r"details\.a\.b\[1\]: NaN cannot be recorded"),
        ({"inf": math.inf}, ValueError, "JSON has no NaN or infinity"),
        ({"big": 2**70}, ValueError, r"details\.big: integer 1180591620717411303424 is beyond ±2\^53"),
        ({"big": [-(2**53) - 1]}, ValueError, "pass it as a string"),
        ({(1, 2): "tuple key"}, TypeError, "dict keys must be"),
        ({"s": "\ud800"}, ValueError, "lone surrogate"),
    ],
)
def test_bad_details_get_a_clear_error_and_write_nothing(details, error, message, tmp_path: Path) -> None:
    log = AuditLogger(tmp_path / "bad.db")
    with pytest.raises(error, match=message):
        log.log_event("bad", details)
    log.log_event("good")
    assert [r["name"] for r in log.query()] == ["good"]


def test_recursive_values_are_refused(tmp_path: Path) -> None:
    log = AuditLogger(tmp_path / "rec.db")
    d: dict = {}
    d["self"] = d
    with pytest.raises(ValueError, match="nested deeper than 64"):
        log.log_event("loop", d)


def test_bad_names_types_and_statuses(tmp_path: Path) -> None:
    log = AuditLogger(tmp_path / "n.db")
    with pytest.raises(TypeError):
        log.log_event(42)
    with pytest.raises(InvalidEventError, match="type"):
        log.record("two words", "x")
    with pytest.raises(InvalidEventError, match="custom status"):
        AuditLogger(tmp_path / "m.db", statuses=["not valid!"])
    with pytest.raises(aiaudit.AuditError, match="directory"):
        AuditLogger(tmp_path / "no" / "such" / "dir" / "x.db")
    log.log_event("lower-case status is fine", status="warning")
    assert log.query()[0]["status"] == "WARNING"


def test_reading_a_file_that_is_not_a_log(tmp_path: Path) -> None:
    p = tmp_path / "notes.txt"
    p.write_text("hello")
    with pytest.raises(aiaudit.AuditError):
        aiaudit._native.Reader(str(p))
    with pytest.raises(NotFoundError):
        aiaudit._native.Reader(str(tmp_path / "missing.db"))


def test_query_filters_and_cursor(tmp_path: Path) -> None:
    log = AuditLogger(tmp_path / "q.db")
    for i in range(30):
        log.record("drift" if i % 3 == 0 else "event", f"e{i}", status="WARNING" if i % 5 == 0 else "INFO", user=f"u{i % 2}")
    assert len(log.query(type="drift")) == 10
    assert [r["name"] for r in log.query(type="drift", status="WARNING")] == ["e0", "e15"]
    assert len(log.query(user="u1")) == 15
    page1 = log.query(limit=10)
    page2 = log.query(limit=10, after=page1[-1]["seq"])
    assert [r["seq"] for r in page1 + page2] == list(range(20))
    assert log.query(newest_first=True, limit=1)[0]["name"] == "e29"


def test_the_writer_redacts_with_the_default_or_a_given_policy(tmp_path: Path) -> None:
    log = AuditLogger(tmp_path / "red.db")
    log.log_event("login from jane@example.com", {"password": "hunter2", "ip": "10.1.2.3"})
    (r,) = log.query()
    assert r["name"] == "login from [EMAIL]"
    assert r["details"]["password"] == "[REDACTED]"
    assert r["details"]["ip"].startswith("hmac:")
    assert {m["rule"] for m in r["redactions"]} == {"email", "password", "ip"}
    assert log.verify().intact

    policy = tmp_path / "policy.toml"
    policy.write_text('[redaction]\n[[redaction.fields]]\npath = "notes"\naction = "drop"\n')
    custom = AuditLogger(tmp_path / "custom.db", policy=policy)
    custom.log_event("x", {"notes": "secret plan", "keep": 1})
    assert custom.query()[0]["details"] == {"keep": 1}

    off = AuditLogger(tmp_path / "off.db", redact=False)
    off.log_event("mail jane@example.com")
    assert off.query()[0]["name"] == "mail jane@example.com"

    policy.write_text('[redaction]\n[redaction.detectors]\nemail = "maks"\n')
    with pytest.raises(aiaudit.AuditError, match="line 3"):
        AuditLogger(tmp_path / "bad.db", policy=policy)
    assert not (tmp_path / "bad.db").exists()


def test_subject_access_and_erasure_from_python(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[redaction]\n[[redaction.fields]]\npath = "diagnosis"\naction = "encrypt"\n')
    log = AuditLogger(tmp_path / "gdpr.db", policy=policy)
    log.record("triage", "visit", subject="patient-9", details={"diagnosis": "J10", "purpose": "care"})
    report = log.subject_access("patient-9")
    assert report["events"][0]["details"]["diagnosis"] == "J10"
    assert report["summary"]["purposes"] == {"care": 1}
    assert "J10" not in (tmp_path / "gdpr.db").read_bytes().decode("latin-1")
    assert log.forget("patient-9", reason="Art. 17") is True
    after = log.subject_access("patient-9")
    assert after["events"][0]["details"]["diagnosis"] == "[ERASED]"
    assert after["summary"]["key"] == "destroyed"
    assert after["events"][-1]["type"] == "erasure"
    assert log.verify().intact
    assert log.forget("patient-9") is False, "nothing left to destroy"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_a_long_lived_forked_child_does_not_keep_the_log_locked(tmp_path: Path) -> None:
    db = tmp_path / "child.db"
    log = AuditLogger(db)
    log.log_event("before the fork")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # a worker that outlives the parent's logger
        os.read(r, 1)
        os._exit(0)
    try:
        log.close()
        again = AuditLogger(db)  # the child still runs: the lock must be free all the same
        again.log_event("after")
        assert [x["name"] for x in again.query()] == ["before the fork", "after"]
        again.close()
    finally:
        os.write(w, b"x")
        os.waitpid(pid, 0)


def test_a_postgres_log_is_refused_clearly_by_the_sqlite_only_package(tmp_path: Path) -> None:
    """The wheel links SQLite only (the crate's `postgres` feature is off): a PostgreSQL URL
    is named and refused, and the password in it is not repeated."""
    with pytest.raises(aiaudit.AuditError) as e:
        AuditLogger("postgres://alice:s3cret@127.0.0.1:5432/test?schema=audit")
    message = str(e.value)
    assert "no PostgreSQL support" in message and "postgres" in message, message
    assert "s3cret" not in message
    assert not list(tmp_path.iterdir())

