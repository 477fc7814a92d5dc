"""A log whose key was rotated with ``aiaudit key rotate`` / ``key retire``: the reader names the
new key and every key the log had, and ``verify_proof`` takes a key set, so that proofs made
before the rotation and after it both verify, while the old key alone proves nothing new."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import aiaudit
from server import binary


def cli(db: Path, *args: str) -> str:
    return subprocess.run([binary(), "--db", str(db), *args], check=True, capture_output=True, text=True).stdout


def test_proofs_of_both_keys_verify_with_the_key_set(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    audit = aiaudit.AuditLogger(db, durability="sync")
    for i in range(5):
        audit.log_event("step", {"i": i})
    old_key = audit.verifier_key
    old_proof = audit.prove(2)
    audit.close()

    cli(db, "key", "rotate")
    cli(db, "key", "retire")

    audit = aiaudit.AuditLogger(db, durability="sync")
    audit.log_event("after", {"i": 9})
    new_key = audit.verifier_key
    assert new_key != old_key
    new_proof = audit.prove(7)
    audit.close()

    reader = aiaudit._native.Reader(str(db))
    assert reader.verifier_key == new_key
    assert reader.verifier_keys == [old_key, new_key]

    assert aiaudit.verify_proof(old_proof, old_key)["seq"] == 2
    assert aiaudit.verify_proof(old_proof, reader.verifier_keys)["seq"] == 2
    assert aiaudit.verify_proof(new_proof, reader.verifier_keys)["seq"] == 7
    with pytest.raises(aiaudit.ProofError):
        aiaudit.verify_proof(new_proof, old_key)
    with pytest.raises(ValueError, match="empty"):
        aiaudit.verify_proof(new_proof, [])


def test_a_key_change_cannot_be_logged_from_python(tmp_path: Path) -> None:
    audit = aiaudit.AuditLogger(tmp_path / "audit.db", durability="sync")
    with pytest.raises(ValueError, match="key rotation"):
        audit.record("log_key", "my own key", details={"action": "rotate"})
    audit.close()
    assert aiaudit._native.Reader(str(tmp_path / "audit.db")).size() == 0
