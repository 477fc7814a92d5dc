"""Events published from Python to NATS JetStream reach the log through ``aiaudit serve --ingest``
(real servers: NATS on 127.0.0.1:4222 and the aiaudit binary)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from aiaudit import Client
from aiaudit.nats import NatsPublisher, publish_events

from server import binary, free_port

NATS = "nats://127.0.0.1:4222"


def test_published_events_are_committed_with_their_message_ids(tmp_path: Path) -> None:
    tag = f"py{os.getpid()}"
    port = free_port()
    (tmp_path / "aiaudit.toml").write_text(
        f'[server]\nlisten = "127.0.0.1:{port}"\ndb = "nats.db"\ningest = "{NATS}"\n'
        f'ingest_stream = "{tag}"\ningest_subject = "{tag}.events.>"\n'
        f'ingest_consumer = "{tag}-writer"\n')
    cfg = str(tmp_path / "aiaudit.toml")
    token = subprocess.run([binary(), "token", "--config", cfg, "create", "--role", "read",
                            "--name", "auditor"], capture_output=True, text=True,
                           check=True).stdout.strip()
    proc = subprocess.Popen([binary(), "serve", "--config", cfg], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on" in line, line + (proc.stderr.read() if proc.stderr else "")
        events = [{"type": "model_inference", "name": f"prediction {i}",
                   "model": {"name": "fraud", "version": "3"}, "actor": {"user": f"u{i % 3}"},
                   "details": {"i": i}} for i in range(300)]
        try:
            ids = publish_events(events[:200], url=NATS, subject=f"{tag}.events.py")
        except ConnectionError as e:
            pytest.fail(f"{e}: start NATS with `scripts/services` (.ci/run does this)")

        async def more() -> list[str]:
            async with NatsPublisher(NATS, f"{tag}.events.py") as p:
                return await p.publish_all(events[200:])

        ids += asyncio.run(more())
        assert len(set(ids)) == 300
        with pytest.raises(TypeError):
            publish_events(["not an event"], url=NATS, subject=f"{tag}.events.py")  # type: ignore[list-item]

        reader = Client(f"http://127.0.0.1:{port}", token)
        deadline = time.monotonic() + 30
        while True:
            got = list(reader.iter_events(model="fraud", limit=1000))
            if len(got) >= 300 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert len(got) == 300
        assert sorted(e["details"]["i"] for e in got) == list(range(300))
        assert {e["details"]["ingest_id"] for e in got} == set(ids)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        asyncio.run(_delete_stream(tag))


async def _delete_stream(name: str) -> None:
    """The test's stream goes away with the test."""
    import nats

    try:
        nc = await nats.connect(NATS, connect_timeout=2, max_reconnect_attempts=0)
    except Exception:
        return
    try:
        await nc.jetstream().delete_stream(name)
    except Exception:
        pass
    await nc.close()
