"""Publishing events to NATS JetStream, for an ``aiaudit serve --ingest nats://…`` to consume.

Many workers on many hosts can log this way without an HTTP connection each. Each event is one
JetStream message in the body schema of ``POST /v1/events``, with a fresh ``Nats-Msg-Id``: within
the stream's duplicate window JetStream drops a retried publish, and the server recognises a
message it committed but could not acknowledge. Needs the ``nats-py`` package
(``pip install 'aiaudit[nats]'``).

    from aiaudit.nats import publish_events
    publish_events([{"type": "model_inference", "name": "prediction", "details": {"score": 0.7}}])
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any, Iterable

DEFAULT_URL = "nats://127.0.0.1:4222"
DEFAULT_SUBJECT = "aiaudit.events.default"


def _nats():
    try:
        import nats  # type: ignore[import-not-found]
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "aiaudit.nats needs the nats-py package: pip install 'aiaudit[nats]'") from e
    return nats


class NatsPublisher:
    """An asyncio publisher: ``async with NatsPublisher(url, subject) as p: await p.publish(e)``."""

    def __init__(self, url: str = DEFAULT_URL, subject: str = DEFAULT_SUBJECT) -> None:
        self.url = url
        self.subject = subject
        self._nc: Any = None
        self._js: Any = None

    async def connect(self) -> "NatsPublisher":
        try:
            self._nc = await _nats().connect(self.url, connect_timeout=5, max_reconnect_attempts=3)
        except Exception as e:
            raise ConnectionError(f"connecting to NATS at {self.url}: {e}") from e
        self._js = self._nc.jetstream()
        return self

    async def __aenter__(self) -> "NatsPublisher":
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.drain()
            self._nc = None

    async def publish(self, event: dict[str, Any]) -> str:
        """Publishes one event and waits until JetStream stored it; returns its message id."""
        return (await self.publish_all([event]))[0]

    async def publish_all(self, events: Iterable[dict[str, Any]]) -> list[str]:
        """Publishes events one message each, all in flight at once; returns their ids in order
        once JetStream has stored every one."""
        if self._js is None:
            raise RuntimeError("NatsPublisher is not connected: use `async with` or connect()")
        ids: list[str] = []
        pending = []
        for e in events:
            if not isinstance(e, dict):
                raise TypeError(f"an event must be a dict, not {type(e).__name__}")
            msg_id = secrets.token_hex(16)
            body = json.dumps(e, separators=(",", ":"), allow_nan=False).encode()
            pending.append(self._js.publish(self.subject, body, headers={"Nats-Msg-Id": msg_id}))
            ids.append(msg_id)
        await asyncio.gather(*pending)
        return ids


def publish_events(events: Iterable[dict[str, Any]], url: str = DEFAULT_URL,
                   subject: str = DEFAULT_SUBJECT) -> list[str]:
    """Publishes events from synchronous code; returns their message ids."""

    async def run() -> list[str]:
        async with NatsPublisher(url, subject) as p:
            return await p.publish_all(list(events))

    return asyncio.run(run())
