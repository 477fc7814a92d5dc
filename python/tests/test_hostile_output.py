"""Text an attacker logs cannot turn on the auditor who reads it: through `aiaudit query`,
`tail` and `show`, CSV cells that a spreadsheet would run as formulas are neutralised, table and
pretty output carry no control character or bidirectional override, and JSON stays exact."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

from aiaudit import AuditLogger
from server import binary

HOSTILE = [
    '=HYPERLINK("http://evil","x")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\x1b[31mred\x1b[0m and \x1b[2J cleared",
    "\x1b]0;pwned\x07 title",
    "abc\u202edcba\u202c and \u2066isolate\u2069",
    "nul\x00byte",
    "line one\r\nline two\nline three",
    "\x9b31m C1 CSI",
    "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "</style><b>bold</b>",
    "# heading\n```\n| a | b |\n[link](javascript:alert(3))",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def run(db: Path, *args: str) -> bytes:
    return subprocess.run([binary(), "--db", str(db), *args], capture_output=True, check=True).stdout


def log_hostile(tmp_path: Path) -> Path:
    db = tmp_path / "hostile.db"
    log = AuditLogger(db)
    for i, text in enumerate(HOSTILE):
        log.log(model_name="m", model_version=text, input_data={"i": i}, output_data={"o": text},
                user_id=text, latency_ms=1.0)
        log.log_event(text, details={"note": text}, status="WARNING")
    log.close()
    return db


def assert_terminal_safe(out: bytes, newlines: bool = True) -> None:
    text = out.decode("utf-8")
    for ch in text:
        cp = ord(ch)
        assert not (cp < 0x20 and not (newlines and ch == "\n")), f"control U+{cp:04X} reached the terminal"
        assert not (0x7F <= cp <= 0x9F), f"C1 control U+{cp:04X} reached the terminal"
        assert ch not in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c", f"bidi U+{cp:04X}"


def test_csv_cells_stay_data(tmp_path: Path) -> None:
    db = log_hostile(tmp_path)
    rows = list(csv.DictReader(io.StringIO(run(db, "query", "--limit", "0", "--format", "csv").decode(), newline="")))
    assert len(rows) == 2 * len(HOSTILE)
    for row in rows:
        for col, cell in row.items():
            assert not cell.startswith(FORMULA_START), f"{col}: {cell!r} would run as a formula"
    names = {r["name"] for r in rows}
    for text in HOSTILE:
        want = "'" + text if text.startswith(FORMULA_START) else text
        assert want in names, f"{text!r} not kept (neutralised) in the export"
    versions = {r["model_version"] for r in rows}
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in versions
    users = {r["user"] for r in rows}
    assert "'+cmd|' /C calc'!A0" in users
    # --raw-csv is the exact text, for programs that parse the file.
    raw = list(csv.DictReader(io.StringIO(run(db, "query", "--limit", "0", "--format", "csv", "--raw-csv").decode(), newline="")))
    assert {r["name"] for r in raw} >= set(HOSTILE) - {""}


def test_terminal_output_escapes_controls(tmp_path: Path) -> None:
    db = log_hostile(tmp_path)
    table = run(db, "query", "--limit", "0")
    assert_terminal_safe(table)
    assert b"\\e[31mred" in table and b"\\u202e" in table
    assert_terminal_safe(run(db, "tail", "-n", "100"))
    for seq in range(2 * len(HOSTILE)):
        assert_terminal_safe(run(db, "show", str(seq), "--format", "pretty"))


def test_json_stays_exact(tmp_path: Path) -> None:
    db = log_hostile(tmp_path)
    lines = run(db, "query", "--limit", "0", "--format", "jsonl").decode().splitlines()
    names = [json.loads(line)["name"] for line in lines]
    for text in HOSTILE:
        assert text in names
    arr = json.loads(run(db, "query", "--limit", "0", "--format", "json"))
    assert [r["name"] for r in arr] == names
    shown = json.loads(run(db, "show", "1", "--format", "json"))
    assert shown["name"] == HOSTILE[0]
