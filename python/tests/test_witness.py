"""A witness checked from the specifications alone: ``aiaudit witness serve`` runs as a
process, ``aiaudit witness submit`` gets the log's checkpoint cosigned, and this test verifies the
cosignature/v1 (c2sp.org/tlog-cosignature) and the log's own signature with hashlib and the
``cryptography`` package, calling no aiaudit code; raw add-checkpoint requests get the status
codes c2sp.org/tlog-witness gives."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import aiaudit
import tlog_client
from server import binary


def cli(db: Path, *args: str) -> str:
    return subprocess.run([binary(), "--db", str(db), *args], check=True, capture_output=True, text=True).stdout


def verify_cosignature(note: str, vkey: str) -> int:
    """The time of ``vkey``'s cosignature on ``note``, from the spec: key id SHA-256(name ‖ 0x0A ‖
    0x04 ‖ key)[:4]; the line's bytes keyid ‖ time (8, big-endian) ‖ Ed25519 signature over
    ``cosignature/v1\\ntime <t>\\n`` followed by the note's text."""
    name, key_id, b64 = vkey.split("+", 2)
    raw = base64.b64decode(b64)
    assert raw[0] == 0x04 and len(raw) == 33, "a cosignature/v1 key"
    assert hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == key_id
    key = Ed25519PublicKey.from_public_bytes(raw[1:])
    text, _, sigs = note.rpartition("\n\n")
    body = (text + "\n").encode()
    for line in sigs.splitlines():
        assert line.startswith("\u2014 ")
        sig_name, sig_b64 = line[2:].split(" ")
        blob = base64.b64decode(sig_b64)
        if sig_name != name or blob[:4].hex() != key_id:
            continue
        assert len(blob) == 76
        t = int.from_bytes(blob[4:12], "big")
        key.verify(blob[12:], b"cosignature/v1\ntime %d\n" % t + body)
        return t
    raise AssertionError(f"no cosignature by {name}")


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    db = tmp_path / "audit.db"
    audit = aiaudit.AuditLogger(db, durability="sync")
    for i in range(12):
        audit.log_event("step", {"i": i})
    audit.close()
    key = tmp_path / "w.key"
    vkey = subprocess.run([binary(), "witness", "init", "--name", "py.example/w", "--key", str(key)],
                          check=True, capture_output=True, text=True).stdout.strip()
    logs = tmp_path / "logs.toml"
    logs.write_text(f'[[log]]\nvkey = "{cli(db, "verifier-key").strip()}"\n')
    proc = subprocess.Popen([binary(), "witness", "serve", "--listen", "127.0.0.1:0", "--key", str(key),
                             "--logs", str(logs), "--state", str(tmp_path / "w.db")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    url = next(w for w in first.split() if w.startswith("http://"))
    yield url, vkey, db
    proc.kill()
    proc.wait()


def test_cosignatures_verify_from_the_spec_and_bad_requests_get_the_spec_statuses(witness) -> None:
    url, vkey, db = witness
    note = cli(db, "witness", "submit", "--url", url, "--witness-key", vkey)
    cp = tlog_client.open_checkpoint(note, cli(db, "verifier-key").strip())
    assert cp.size == 12
    assert verify_cosignature(note, vkey) > 1_700_000_000

    def post(body: bytes) -> tuple[int, str, str]:
        req = urllib.request.Request(f"{url}/add-checkpoint", data=body, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read().decode()

    log_note = cli(db, "checkpoint")
    # Behind: 409 with the size held, as text/x.tlog.size.
    assert post(f"old 0\n\n{log_note}".encode()) == (409, "text/x.tlog.size", "12\n")
    # The same checkpoint again, from the size held: cosigned again.
    status, _, line = post(f"old 12\n\n{log_note}".encode())
    assert status == 200 and line.startswith("\u2014 py.example/w ")
    # Garbage, an old size above the checkpoint's, a checkpoint of another log, a bad signature.
    assert post(b"\x00\xff garbage")[0] == 400
    assert post(f"old 99\n\n{log_note}".encode())[0] == 400
    other = log_note.replace(log_note.split("\n", 1)[0], "someone.else/log", 1)
    assert post(f"old 12\n\n{other}".encode())[0] == 404
    forged = log_note.replace("\n12\n", "\n13\n", 1)
    assert post(f"old 12\n\n{forged}".encode())[0] == 403
    # A bigger "checkpoint" than allowed is refused before it is read.
    assert post(b"old 0\n\n" + b"x" * (65 * 1024))[0] == 413


def test_verify_proof_takes_a_policy_of_witnesses(witness, tmp_path: Path) -> None:
    url, vkey, db = witness
    kept = tmp_path / "cosigned.checkpoint"
    cli(db, "witness", "submit", "--url", url, "--witness-key", vkey, "-o", str(kept))
    bundle = cli(db, "prove", "3", "--checkpoint", str(kept))
    log_key = cli(db, "verifier-key").strip()
    policy = f"log {log_key}\nwitness mine {vkey}\nquorum mine\n"
    got = aiaudit.verify_proof(bundle, policy=policy)
    assert got["kind"] == "inclusion" and got["seq"] == 3
    assert got["cosigned_by"] == ["mine"]
    # A policy asking for a witness that did not cosign, or without the log's key, refuses it.
    other = subprocess.run([binary(), "witness", "init", "--name", "other.example/w", "--key", str(tmp_path / "o.key")],
                           check=True, capture_output=True, text=True).stdout.strip()
    with pytest.raises(aiaudit.errors.ProofError, match="quorum"):
        aiaudit.verify_proof(bundle, policy=f"log {log_key}\nwitness a {vkey}\nwitness b {other}\ngroup g all a b\nquorum g\n")
    with pytest.raises(aiaudit.errors.ProofError):
        aiaudit.verify_proof(bundle, policy=f"witness a {vkey}\nquorum a\n")
    # The key alone still works, and both at once are refused.
    assert aiaudit.verify_proof(bundle, log_key)["seq"] == 3
    with pytest.raises(ValueError):
        aiaudit.verify_proof(bundle, log_key, policy=policy)

