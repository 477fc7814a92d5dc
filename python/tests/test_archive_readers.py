"""The cold archive read by tools that are not ours: the Parquet files ``aiaudit archive``
writes, opened with pyarrow and with duckdb, give the same counts per model and status as
``aiaudit query`` over the same records, and the same records byte for byte."""

from __future__ import annotations

import collections
import json
import subprocess
from pathlib import Path

import duckdb
import pytest
import pyarrow.parquet as pq

import aiaudit
from server import binary


def cli(db: Path, *args: str) -> str:
    return subprocess.run([binary(), "--db", str(db), *args], check=True, capture_output=True, text=True).stdout


def test_pyarrow_and_duckdb_count_what_aiaudit_query_counts(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    audit = aiaudit.AuditLogger(db)
    models = ["credit-risk", "fraud", "churn"]
    statuses = ["INFO", "FAILURE", "WARNING"]
    for i in range(3_000):
        audit.record(
            "model_inference",
            f"prediction {i}",
            status=statuses[i % 3 if i % 7 else 1],
            model=models[i % len(models)],
            model_version=f"1.{i % 4}",
            user=f"user-{i % 11}",
            details={"score": i / 3000, "input_hash": f"{i:064x}"},
        )
    audit.close()

    archive = tmp_path / "archive"
    out = cli(db, "archive", "--older-than", "0s", "--to", f"file://{archive}", "--force", "pytest")
    assert "archived seqs 0..2815" in out

    # What aiaudit says of the archived seqs, read back through the log.
    ours: collections.Counter[tuple[str, str]] = collections.Counter()
    records = {}
    for line in cli(db, "query", "--type", "model_inference", "--format", "jsonl", "--limit", "0").splitlines():
        r = json.loads(line)
        if r["seq"] < 2816:
            ours[(r["model"]["name"], r["status"])] += 1
            records[r["seq"]] = r
    assert sum(ours.values()) == 2816

    files = sorted(archive.glob("*.parquet"))
    assert [f.name for f in files] == ["seq-0-2815.parquet"]
    table = pq.read_table(files)
    assert table.num_rows == 2816
    by_arrow = collections.Counter(zip(table.column("model").to_pylist(), table.column("status").to_pylist()))
    assert by_arrow == ours
    # Typed columns and the sealed bytes agree with the records aiaudit returns.
    row = table.slice(1234, 1).to_pylist()[0]
    sealed = json.loads(row["record"])
    assert sealed == records[1234]
    assert row["seq"] == 1234 and row["version"] == records[1234]["model"]["version"]
    assert row["user"] == records[1234]["actor"]["user"]
    assert row["input_hash"] == records[1234]["details"]["input_hash"]
    assert json.loads(row["details"]) == records[1234]["details"]
    assert len(row["leaf_hash"]) == 32

    con = duckdb.connect()
    rows = con.execute(
        "SELECT model, status, count(*) FROM read_parquet(?) GROUP BY model, status", [str(files[0])]
    ).fetchall()
    assert {(m, s): n for m, s, n in rows} == dict(ours)
    first, last = con.execute("SELECT min(seq), max(seq) FROM read_parquet(?)", [str(files[0])]).fetchone()
    assert (first, last) == (0, 2815)

    # The Python reader reads archived records back from the archive, and the log verifies.
    reader = aiaudit._native.Reader(str(db))
    assert reader.get(1234) == records[1234]
    fraud = cli(db, "query", "--model", "fraud", "--format", "jsonl", "--limit", "0").splitlines()
    assert [r["seq"] for r in reader.query(model="fraud", limit=0)] == [json.loads(x)["seq"] for x in fraud]
    report = reader.verify()
    assert report["intact"], report["findings"]
    file = {"first_seq": 0, "end_seq": 2816, "file": "seq-0-2815.parquet", "url": f"file://{archive}"}
    assert report["archived"] == [{**file, "deleted_by": None}]

    # At the end of retention the file goes; the reader names the deletion, and the log
    # still verifies from the hashes it keeps.
    cli(db, "delete-archives", "--older-than", "0s", "--force", "test")
    assert not (archive / "seq-0-2815.parquet").exists()
    reader = aiaudit._native.Reader(str(db))
    with pytest.raises(aiaudit.AuditError, match="deleted under the retention policy"):
        reader.get(1234)
    assert reader.get(2900)["seq"] == 2900
    report = reader.verify()
    assert report["intact"], report["findings"]
    [deleted] = report["archived"]
    assert deleted["deleted_by"] is not None and deleted["deleted_by"] > 2816
