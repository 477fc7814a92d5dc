"""Every test runs in its own directory with its own default log ($AIAUDIT_DB)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Iterator

import pytest

import aiaudit
from aiaudit import predictions, trail


def _reset_defaults() -> None:
    if predictions._default is not None:
        predictions._default.close()
        predictions._default = None
    for log in list(trail._logs.values()):
        log.close()
    trail._logs.clear()
    aiaudit.logger._READERS.clear()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    _reset_defaults()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIAUDIT_DB", str(tmp_path / "default.db"))
    yield tmp_path
    _reset_defaults()


def records(path: str | os.PathLike[str]) -> list[dict]:
    """Every sealed record of the log at `path`, read through a fresh reader."""
    return aiaudit._native.Reader(os.fspath(path)).query()


def tamper(path: str | os.PathLike[str], seq: int) -> None:
    """Changes one byte of the record at `seq` behind the log's back (as someone with write
    access to the file could)."""
    con = sqlite3.connect(os.fspath(path))
    triggers = [r[0] for r in con.execute("select name from sqlite_master where type='trigger'")]
    for t in triggers:
        con.execute(f"drop trigger {t}")
    # Records after the last full bundle of 256 are plain rows of `tail` (docs/format.md §5);
    # the tests tamper only with those, which need no zstd.
    row = con.execute("select data from tail where seq=?", (seq,)).fetchone()
    assert row is not None, f"seq {seq} is in a compressed bundle; tamper with a seq in the tail"
    data = bytes(row[0]).replace(b'"INFO"', b'"WARN"', 1)
    con.execute("update tail set data=? where seq=?", (data, seq))
    con.commit()
    con.close()
