"""``aiaudit.Client``: log to ``aiaudit serve`` over HTTP, from any process on any host.

Events are queued and sent in batches from a background thread (by count or after
``flush_interval`` seconds); failed requests are retried with exponential backoff, and every
batch carries an ``Idempotency-Key`` so that a retry never records it twice. Reads (query,
show, checkpoint, proofs, verify) go straight to the server; each is recorded there as an
``access`` event. Only the standard library is used.

    from aiaudit import Client

    with Client("http://127.0.0.1:7878", token="aiat_...") as audit:
        audit.log_event("Drift detected", {"feature": "age", "drift_score": 0.8}, status="WARNING")
    # leaving the block sends what is queued and waits for the commit
"""

from __future__ import annotations

import json
import os
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from typing import Any, Iterator, Mapping, Sequence

from .errors import AuditError, InvalidEventError, NotFoundError

_RETRY_STATUSES = {429, 502, 503, 504}


class ServerError(AuditError):
    """The server refused a request: ``status`` is the HTTP status, ``code`` its error code."""

    def __init__(self, status: int, code: str, message: str, index: int | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        #: For a refused batch, the position of the event at fault.
        self.index = index


class Client:
    """A client of one ``aiaudit serve`` with one API token (see the module's description)."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        batch_size: int = 500,
        flush_interval: float = 0.2,
        retries: int = 6,
        backoff: float = 0.1,
        timeout: float = 60.0,
        wait_commit: bool = True,
        ca_file: str | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"server URL {url!r} must start with http:// or https://")
        token = token or os.environ.get("AIAUDIT_TOKEN")
        if not token:
            raise ValueError("an API token is needed: pass token= or set AIAUDIT_TOKEN")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.url = url.rstrip("/")
        self._token = token
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.wait_commit = wait_commit
        self._ssl = ssl.create_default_context(cafile=ca_file) if ca_file else None
        self._queue: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._sending = 0
        self._sent = 0
        self._error: BaseException | None = None
        self._closed = False
        self._flushing = 0
        self._thread = threading.Thread(target=self._run, name="aiaudit-client", daemon=True)
        self._thread.start()
        # What is queued is sent at interpreter exit, as AuditLogger commits at exit.
        # (`finalize` runs at exit for objects still alive; the sending thread keeps this one so.)
        self._finalizer = weakref.finalize(self, _close_quietly, weakref.ref(self))

    # -- writing -------------------------------------------------------------------------------

    def log_event(
        self,
        name: str,
        details: Mapping[str, Any] | None = None,
        status: str = "INFO",
        *,
        type: str = "event",  # noqa: A002 - the event schema's own field name
        **fields: Any,
    ) -> None:
        """Queues an event: seed 000's ``log_event`` shape, plus any schema field (``model``,
        ``actor``, ``subject``, ``operation``, ``regulations``, ``occurred``)."""
        event: dict[str, Any] = {"type": type, "name": name, "status": status}
        if details is not None:
            event["details"] = dict(details)
        event.update(fields)
        self.log(event)

    def log(self, event: Mapping[str, Any]) -> None:
        """Queues one event, a JSON object as ``POST /v1/events`` takes it."""
        if not isinstance(event, Mapping) or "name" not in event:
            raise InvalidEventError("an event is a mapping with at least a 'name'")
        with self._cond:
            if self._closed:
                raise AuditError("the client is closed")
            self._queue.append(dict(event))
            # The sender starts its delay at the first event, and sends at once when full.
            if len(self._queue) == 1 or len(self._queue) >= self.batch_size:
                self._cond.notify_all()

    def send(self, events: Sequence[Mapping[str, Any]], wait_commit: bool | None = None) -> dict:
        """Sends events now, in one request; returns the receipt (``seqs``, ``ids``, ...)."""
        wait = self.wait_commit if wait_commit is None else wait_commit
        body = json.dumps(list(events), separators=(",", ":")).encode()
        key = os.urandom(16).hex()
        path = "/v1/events?wait=commit" if wait else "/v1/events?wait=none"
        return self._request(
            "POST",
            path,
            body,
            {"Content-Type": "application/json", "Idempotency-Key": key},
        )

    def flush(self) -> int:
        """Sends everything queued; returns the events sent so far, or raises the first
        failure since the last flush."""
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                while (self._queue or self._sending) and self._thread.is_alive():
                    self._cond.wait(0.05)
            finally:
                self._flushing -= 1
            error, self._error = self._error, None
            if error is not None:
                raise error
            return self._sent

    def close(self) -> int:
        """Flushes and stops the sending thread."""
        try:
            return self.flush()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()
            self._thread.join()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while True:
            with self._cond:
                deadline: float | None = None
                while not self._closed and len(self._queue) < self.batch_size:
                    if not self._queue:
                        deadline = None
                        self._cond.wait(0.5)
                        continue
                    if deadline is None:  # the delay runs from the first waiting event
                        deadline = time.monotonic() + self.flush_interval
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._flushing:
                        break
                    self._cond.wait(remaining)
                if self._closed and not self._queue:
                    return
                batch = self._queue[: self.batch_size]
                del self._queue[: self.batch_size]
                self._sending += 1
            try:
                while batch:
                    try:
                        receipt = self.send(batch)
                        with self._cond:
                            self._sent += int(receipt.get("count", 0))
                        break
                    except ServerError as e:
                        # One bad event refuses the request: set it aside, send the others.
                        if e.status != 400 or e.index is None or not 0 <= e.index < len(batch):
                            raise
                        del batch[e.index]
                        with self._cond:
                            if self._error is None:
                                self._error = e
            except BaseException as e:  # reported by the next flush
                with self._cond:
                    if self._error is None:
                        self._error = e
            finally:
                with self._cond:
                    self._sending -= 1
                    self._cond.notify_all()

    # -- reading -------------------------------------------------------------------------------

    def query(self, **filters: Any) -> dict:
        """``GET /v1/events``: ``type``, ``status``, ``model``, ``user``, ``operation``,
        ``subject``, ``input_hash``, ``since``, ``until``, ``limit``, ``cursor``, ``order``.
        Returns ``{"events": [...], "next_cursor": ...}``."""
        params = {k: v for k, v in filters.items() if v is not None}
        if "type_" in params:
            params["type"] = params.pop("type_")
        return self._request("GET", "/v1/events?" + urllib.parse.urlencode(params))

    def iter_events(self, **filters: Any) -> Iterator[dict]:
        """Every matching event, following the cursor page by page."""
        while True:
            page = self.query(**filters)
            yield from page["events"]
            cursor = page.get("next_cursor")
            if not cursor:
                return
            filters["cursor"] = cursor

    def get(self, target: int | str) -> dict:
        """One entry by seq or id: ``{"seq", "leaf_hash", "record"}``."""
        return self._request("GET", f"/v1/events/{urllib.parse.quote(str(target), safe='')}")

    def checkpoint(self) -> str:
        """The latest signed checkpoint note."""
        return self._request("GET", "/v1/checkpoint", raw=True)

    def prove(self, seq: int, size: int | None = None) -> dict:
        """An inclusion proof; its ``bundle`` checks offline with ``aiaudit.verify_proof``."""
        q = f"seq={int(seq)}" + (f"&size={int(size)}" if size is not None else "")
        return self._request("GET", f"/v1/proofs/inclusion?{q}")

    def verify(self) -> dict:
        """Runs a verification on the server; returns its result (``intact``, ``entries``, ...)."""
        text = self._request("GET", "/v1/verify", raw=True)
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        for line in reversed(lines):
            if "result" in line:
                return line["result"]
        raise AuditError("the verification stream ended without a result")

    # -- transport -----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        raw: bool = False,
    ) -> Any:
        hdrs = {"Authorization": f"Bearer {self._token}", **(headers or {})}
        wait = self.backoff
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(self.url + path, data=body, method=method, headers=hdrs)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout, context=self._ssl) as resp:
                    data = resp.read()
                    return data.decode() if raw else json.loads(data)
            except urllib.error.HTTPError as e:
                payload = e.read()
                if e.code in _RETRY_STATUSES and attempt < self.retries:
                    time.sleep(wait)
                    wait = min(wait * 2, 5.0)
                    continue
                raise _server_error(e.code, payload) from None
            except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
                if attempt < self.retries:
                    time.sleep(wait)
                    wait = min(wait * 2, 5.0)
                    continue
                raise AuditError(f"cannot reach {self.url}: {e}") from e
        raise AuditError(f"cannot reach {self.url}")  # pragma: no cover - the loop returns


def _close_quietly(ref: "weakref.ref[Client]") -> None:
    client = ref()
    if client is not None and not client._closed:
        try:
            client.close()
        except AuditError:
            pass


def _server_error(status: int, payload: bytes) -> AuditError:
    index = None
    try:
        err = json.loads(payload)["error"]
        code, message = err["code"], err["message"]
        index = err.get("index")
    except (ValueError, KeyError, TypeError, AttributeError):
        code, message = "http_error", payload.decode(errors="replace")[:500]
    if status == 404:
        return _NotFound(status, code, message, index)
    if status == 400 and code in ("invalid_event", "unknown_status", "too_deep", "invalid_json"):
        return _Invalid(status, code, message, index)
    return ServerError(status, code, message, index)


class _NotFound(ServerError, NotFoundError):
    pass


class _Invalid(ServerError, InvalidEventError):
    pass


__all__ = ["Client", "ServerError"]
