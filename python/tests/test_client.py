"""``aiaudit.Client`` against a real ``aiaudit serve``: batching, retry, reads, proofs, errors."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import aiaudit
from aiaudit import Client, InvalidEventError, NotFoundError, ServerError

from server import Server


@pytest.fixture()
def server(tmp_path: Path):
    s = Server(tmp_path / "served.db")
    yield s
    if s.proc and s.proc.poll() is None:
        s.stop()


def test_batched_logging_queries_and_proofs(server: Server) -> None:
    with Client(server.url, server.tokens["ingest"], batch_size=300) as c:
        for i in range(2_000):
            c.log_event("prediction", {"i": i}, type="model_inference",
                        model={"name": "credit", "version": "1.0"}, actor={"user": f"u{i % 4}"})
        c.log_event("Drift detected", {"drift_score": 0.9}, status="WARNING", type="drift")
        assert c.flush() == 2_001
    reader = Client(server.url, server.tokens["audit"])
    page = reader.query(type="drift")
    assert [e["name"] for e in page["events"]] == ["Drift detected"]
    users = list(reader.iter_events(user="u1", limit=100))
    assert len(users) == 500
    assert [e["details"]["i"] for e in users] == list(range(1, 2_000, 4))
    entry = reader.get(7)
    assert entry["record"]["details"] == {"i": 7}
    assert reader.get(entry["record"]["id"]) == entry
    proof = reader.prove(7)
    checked = aiaudit.verify_proof(proof["bundle"], server.verifier_key)
    assert checked["record"]["seq"] == 7
    note = reader.checkpoint().splitlines()
    assert int(note[1]) >= 2_001 and note[4].startswith("— ")
    result = reader.verify()
    assert result["intact"] is True and result["entries"] >= 2_001
    # Every read above is in the access log, which the audit token may list.
    access = reader.query(type="access", limit=1000)["events"]
    assert {e["actor"]["user"] for e in access} == {"audit-py"}
    assert any(e["name"] == "GET /v1/proofs/inclusion" for e in access)


def test_errors_name_the_problem(server: Server) -> None:
    c = Client(server.url, server.tokens["ingest"])
    with pytest.raises(InvalidEventError, match="unknown status"):
        c.send([{"name": "x", "status": "SHOUTING"}])
    with pytest.raises(ServerError, match="403 forbidden") as e:
        Client(server.url, server.tokens["read"]).send([{"name": "x"}])
    assert e.value.code == "forbidden"
    with pytest.raises(ServerError, match="401"):
        Client(server.url, "aiat_000000000000_00").query()
    with pytest.raises(NotFoundError):
        Client(server.url, server.tokens["read"]).get(10**9)
    # A failed batch from the background thread surfaces at flush.
    c.log({"name": "bad", "status": "NOPE"})
    with pytest.raises(InvalidEventError):
        c.flush()
    assert c.flush() == 0
    c.close()
    with pytest.raises(ValueError):
        Client("ftp://x", "t")


def test_retries_until_the_server_is_up_and_survives_a_restart(tmp_path: Path) -> None:
    s = Server(tmp_path / "later.db", start=False)
    c = Client(s.url, s.tokens["ingest"], retries=8, backoff=0.1)
    done: dict[str, object] = {}

    def send() -> None:
        done["receipt"] = c.send([{"name": "sent before the server started"}])

    t = threading.Thread(target=send)
    t.start()
    time.sleep(0.4)
    s.start()
    t.join(timeout=30)
    assert done["receipt"]["seqs"] == [0]  # type: ignore[index]
    # Acknowledged events (answered at seal, not commit) survive SIGTERM and a restart.
    fast = Client(s.url, s.tokens["ingest"], wait_commit=False, batch_size=100)
    for i in range(1_000):
        fast.log_event("e", {"i": i})
    assert fast.close() == 1_000
    assert "all committed" in s.stop()
    s.start()
    r = Client(s.url, s.tokens["read"])
    assert len(list(r.iter_events(limit=500))) == 1_001
    s.stop()


def test_a_refused_event_is_set_aside_and_the_rest_sent(server: Server) -> None:
    c = Client(server.url, server.tokens["ingest"], batch_size=10, flush_interval=5.0)
    for i in range(10):
        c.log_event(f"e{i}", {"i": i}, status="NOPE" if i == 4 else "INFO")
    with pytest.raises(InvalidEventError) as e:
        c.flush()
    assert e.value.index == 4 and "event 4" in str(e.value)
    assert c.flush() == 9
    names = [ev["name"] for ev in Client(server.url, server.tokens["read"]).iter_events()]
    assert names == [f"e{i}" for i in range(10) if i != 4]
    # A reserved type is the server's own.
    with pytest.raises(InvalidEventError, match="recorded by the server"):
        c.send([{"name": "fake read", "type": "access"}])
    c.close()


def test_queued_events_are_sent_at_interpreter_exit(tmp_path: Path, server: Server) -> None:
    import subprocess
    import sys

    code = (
        "import aiaudit\n"
        f"c = aiaudit.Client({server.url!r}, {server.tokens['ingest']!r}, flush_interval=60)\n"
        "for i in range(250): c.log_event('at exit', {'i': i})\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    got = list(Client(server.url, server.tokens["read"]).iter_events(limit=1000))
    assert len(got) == 250
