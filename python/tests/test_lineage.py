"""Lineage from Python: runs with inputs and outputs, seed 004's trail events and seed 003's
predictions linked without code changes, evidence checked offline, and the content hashes'
canonical forms."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import aiaudit
from aiaudit import AuditLogger, AuditTrail, Dataset, Model, hash_array, hash_dataframe, hash_directory, hash_file
from aiaudit.errors import ProofError
from server import binary


def kinds(graph: dict) -> list[str]:
    return sorted(e["type"] for e in graph["events"].values())


def test_runs_link_a_prediction_to_its_model_and_data_and_the_evidence_verifies(tmp_path: Path) -> None:
    raw_file = tmp_path / "raw.csv"
    raw_file.write_text("income,loan\n52000,12000\n")
    audit = AuditLogger(tmp_path / "lineage.db", durability="sync")
    raw = Dataset("loans-raw", "2026-11", path=raw_file)
    assert raw.hash == hash_file(raw_file)
    clean = Dataset("loans-clean", "2026-11")
    model = Model("credit-risk", "2.3.0")
    with audit.run("ingest", outputs=[raw]):
        pass
    with audit.run("clean", inputs=[raw], outputs=[clean]) as run:
        run.log_param("dropped_rows", 3)
    with audit.run("train credit-risk", inputs=[clean], params={"max_depth": 6}) as run:
        run.log_metric("auc", 0.95)
        run.add_output(model)
    for i in range(20):
        audit.log("credit-risk", "2.3.0", {"income": 50_000 + i}, {"prediction": "approved"}, user_id=f"u{i}")
    audit.flush()

    prediction = audit.query(type="model_inference", limit=1)[0]
    graph = audit.lineage(prediction["seq"], direction="upstream")
    assert kinds(graph) == ["model_inference", "run_completed", "run_completed", "run_completed"]
    assert set(graph["artifacts"]) == {
        "dataset:loans-raw@2026-11",
        "dataset:loans-clean@2026-11",
        "model:credit-risk@2.3.0",
    }
    assert graph["artifacts"]["dataset:loans-raw@2026-11"]["hash"] == raw.hash
    # The training run's end event holds what it read, made, its parameters and metrics.
    train = next(e for e in graph["events"].values() if e["name"].startswith("train credit-risk"))
    record = audit.get(train["seq"])
    assert record["details"]["metrics"] == {"auc": 0.95}
    assert record["details"]["outputs"] == [{"type": "model", "name": "credit-risk", "version": "2.3.0"}]

    # The index from Python: who made the model, who read the raw data.
    assert [r["type"] for r in audit.query(makes=model)] == ["run_completed"]
    assert len(audit.query(uses="credit-risk@2.3.0", type="model_inference")) == 20
    assert {r["operation"]["name"] for r in audit.query(uses=raw)} == {"clean"}
    with pytest.raises(ValueError, match="names no artifact"):
        audit.query(uses="model:")

    # Downstream of the model: its predictions, listed in part.
    down = audit.lineage(model, direction="downstream", per_artifact=5)
    assert kinds(down).count("model_inference") == 5
    assert down["truncated"] == {"model:credit-risk@2.3.0": 5}

    evidence = audit.prove_lineage(prediction["seq"])
    key = aiaudit.reader(tmp_path / "lineage.db").verifier_key
    checked = aiaudit.verify_proof(evidence, key)
    assert checked["kind"] == "lineage" and checked["events"] == 4
    forged = json.loads(evidence)
    forged["edges"].append(
        {"from": {"node": "artifact", "key": "dataset:other"}, "to": {"node": "event", "seq": prediction["seq"]}, "relation": "input"}
    )
    with pytest.raises(ProofError, match="not what its records say"):
        aiaudit.verify_proof(json.dumps(forged), key)
    audit.close()


def test_a_failing_run_is_logged_as_failed_and_the_error_goes_on(tmp_path: Path) -> None:
    audit = AuditLogger(tmp_path / "fail.db", durability="sync")
    with pytest.raises(ZeroDivisionError):
        with audit.run("train", inputs=[Dataset("d", "1")], outputs=[Model("m", "1")]):
            1 / 0
    ends = audit.query(type="run_failed")
    assert len(ends) == 1 and ends[0]["status"] == "ERROR"
    assert ends[0]["details"]["error"]["type"] == "ZeroDivisionError"

    @audit.traced("scheduled job", inputs=[Dataset("d", "1")])
    def job(x: int) -> int:
        return x * 2

    assert job(21) == 42
    done = audit.query(type="run_completed")
    assert done[-1]["operation"]["name"] == "scheduled job"
    with pytest.raises(TypeError, match="must be Artifacts"):
        audit.run("bad", inputs=["not an artifact"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="direction"):
        audit.lineage(0, direction="sideways")
    with pytest.raises(aiaudit.NotFoundError, match="no event, request or artifact"):
        audit.lineage("nothing@1")
    audit.close()


def test_seed_004_trail_events_become_lineage(tmp_path: Path) -> None:
    trail = AuditTrail(operation_name="pipeline", log_dir=str(tmp_path))
    trail.log_data_transformation("clean", "raw_records", "clean_records", {"drop_na": True})
    trail.log_model_training("random_forest", "clean_records", {"n": 100})
    trail.close()
    graph = trail.audit_logger.lineage("dataset:raw_records", direction="downstream")
    assert kinds(graph) == ["data_transformation", "model_training"]
    assert {"dataset:raw_records", "dataset:clean_records"} <= set(graph["artifacts"])


def test_content_hashes_follow_their_canonical_forms(tmp_path: Path) -> None:
    d = tmp_path / "data"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_bytes(b"alpha")
    (d / "sub" / "b.txt").write_bytes(b"beta")
    import hashlib

    manifest = b"".join(
        p.encode() + b"\0" + hashlib.sha256(c).hexdigest().encode() + b"\n"
        for p, c in [("a.txt", b"alpha"), ("sub/b.txt", b"beta")]
    )
    assert hash_directory(d) == "sha256:" + hashlib.sha256(manifest).hexdigest()
    (d / "sub" / "b.txt").write_bytes(b"betA")
    assert hash_directory(d) != "sha256:" + hashlib.sha256(manifest).hexdigest()

    a = np.arange(12, dtype=np.float64).reshape(3, 4)
    assert hash_array(a) == hash_array(np.asfortranarray(a)) == hash_array(a.astype(">f8"))
    assert hash_array(a) != hash_array(a.T)
    assert hash_array(np.array([np.nan])) == hash_array(np.array([-np.nan]))
    assert hash_array(np.array(["x", None], dtype=object)) != hash_array(np.array(["x", "None"], dtype=object))

    try:
        import pandas as pd
        import polars as pl
    except ImportError as e:
        pytest.fail(f"{e}: pandas and polars are in the test extra (pip install './python[test]')")
    frame = {"id": [1, 2, 3], "score": [0.5, float("nan"), 0.25], "label": ["a", None, "c"], "ok": [True, False, True]}
    p = pd.DataFrame(frame)
    q = pl.DataFrame(frame, strict=False)
    assert hash_dataframe(p) == hash_dataframe(p.copy())
    assert hash_dataframe(p) == hash_dataframe(q)
    p2 = p.copy()
    p2.loc[0, "score"] = 0.51
    assert hash_dataframe(p2) != hash_dataframe(p)


def test_a_run_that_never_ends_made_nothing_and_is_named(tmp_path: Path) -> None:
    db = tmp_path / "open.db"
    audit = AuditLogger(db, durability="sync")
    model = Model("credit-risk", "2.3.0")
    with audit.run("train credit-risk", inputs=[Dataset("loans", "2026-11")], outputs=[model]):
        pass
    audit.close()
    # A process starts an evaluation run of the model and dies inside it: the start is
    # committed, the end never comes.
    child = textwrap.dedent(f"""
        import os, aiaudit
        audit = aiaudit.AuditLogger({str(db)!r}, durability="sync")
        run = audit.run("evaluate credit-risk", inputs=[aiaudit.Model("credit-risk", "2.3.0")],
                        outputs=[aiaudit.Dataset("eval-report", "1")], run_id="run-that-dies")
        run.__enter__()
        audit.flush()
        os._exit(9)
    """)
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert done.returncode == 9, done.stderr

    reader = aiaudit.reader(db)
    assert reader.verify()["intact"], "nothing half-written"
    events = reader.query(operation="run-that-dies")
    assert [e["type"] for e in events] == ["run_started"]
    # What a run declared it would make is not made until it ends.
    assert reader.query(makes="dataset:eval-report@1") == []
    # The lineage report names the run that never ended, in its verdicts and its rows.
    report = json.loads(subprocess.run(
        [binary(), "--db", str(db), "report", "lineage", "--model", "credit-risk@2.3.0", "--format", "json"],
        check=True, capture_output=True, text=True).stdout)
    runs = {r["name"]: r for r in report["runs"]}
    assert runs["evaluate credit-risk: run started"]["ended"] is False
    assert runs["train credit-risk: run completed"]["ended"] is None
    md = subprocess.run(
        [binary(), "--db", str(db), "report", "lineage", "--model", "credit-risk@2.3.0", "--format", "md"],
        check=True, capture_output=True, text=True).stdout
    assert "Runs on this lineage that never ended (1)" in md, md
    assert "evaluate credit-risk: run started" in md
    # The operations report shows it open; OpenLineage sees a START without an end.
    ops = json.loads(subprocess.run([binary(), "--db", str(db), "report", "operations", "--format", "json"],
                                    check=True, capture_output=True, text=True).stdout)
    assert {o["id"]: o["state"] for o in ops["operations"]}["run-that-dies"] == "open"
