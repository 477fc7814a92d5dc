"""``AuditLogger``: the Python face of the Rust logger (seeds 000 and 003)."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
from typing import Any, Iterable, Mapping

from . import _native
from ._time import parse_record_time, to_ns

_READERS: dict[str, _native.Reader] = {}


def _target(target: Any) -> str:
    """A lineage target as the walk takes it: an artifact's key, or the text of anything else."""
    key = getattr(target, "key", None)
    return key if isinstance(key, str) else str(target)


def reader(path: str | os.PathLike[str]) -> _native.Reader:
    """A read-only view of the log at ``path`` (no signing key, no writer lock), shared per
    path."""
    key = os.path.realpath(os.fspath(path))
    r = _READERS.get(key)
    if r is None:
        r = _READERS[key] = _native.Reader(key)
    return r


@dataclasses.dataclass(frozen=True)
class Prediction:
    """A recorded prediction with the fields of seed 003's ``AuditLog`` row."""

    seq: int
    id: str
    request_id: str
    timestamp: _dt.datetime
    model_name: str
    model_version: str | None
    input_hash: str | None
    input_data: Any
    output_data: Any
    user_id: str | None
    latency_ms: float | None
    metadata: Any
    record: dict[str, Any]

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> "Prediction":
        d = r.get("details", {})
        model = r.get("model") or {}
        actor = r.get("actor") or {}
        op = r.get("operation") or {}
        return cls(
            seq=r["seq"],
            id=r["id"],
            request_id=d.get("request_id") or op.get("id") or r["id"],
            timestamp=parse_record_time(r["time"]),
            model_name=model.get("name", ""),
            model_version=model.get("version"),
            input_hash=d.get("input_hash"),
            input_data=d.get("input"),
            output_data=d.get("output"),
            user_id=actor.get("user"),
            latency_ms=d.get("latency_ms"),
            metadata=d.get("metadata"),
            record=dict(r),
        )


@dataclasses.dataclass(frozen=True)
class VerifyReport:
    """The outcome of :meth:`AuditLogger.verify`; true when the log is intact."""

    intact: bool
    entries: int
    checkpoints: int
    first_bad_seq: int | None
    latest: dict[str, Any] | None
    against: dict[str, Any] | None
    findings: list[dict[str, Any]]
    #: The archived files (``first_seq``, ``end_seq``, ``file``, ``url``, and ``deleted_by``: the
    #: seq of the event that deleted the file under the retention policy, or None), in seq order.
    archived: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def __bool__(self) -> bool:
        return self.intact


class AuditLogger(_native.Logger):
    """A tamper-evident audit log.

    ``AuditLogger()`` logs to ``$AIAUDIT_DB`` or ``./aiaudit.db``; every logger on one file in a
    process shares one writer. ``durability="async"`` (the default) returns once the event is
    queued and commits in the background (``flush()``, ``close()`` and interpreter exit wait for
    it); ``"sync"`` returns once it is committed. Subclasses may declare ``VALID_STATUSES`` to
    add custom statuses, and may skip ``__init__``: the default log then opens on first use.

    The writer redacts every event before sealing it with the default policy (e-mail
    addresses, phone numbers, SSNs, cards, IBANs, secrets masked; IP addresses hashed), or with
    the ``[redaction]`` table of the TOML file ``policy``; ``redact=False`` turns it off. The
    first logger to open a file sets these for every logger on it in the process.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        durability: str = "async",
        statuses: Iterable[str] | None = None,
        origin: str | None = None,
        key_path: str | os.PathLike[str] | None = None,
        service: str | None = None,
        capture_source: bool = True,
        policy: str | os.PathLike[str] | None = None,
        redact: bool = True,
        input_mode: str = "full",
    ) -> None:
        self._open(
            os.fspath(path) if path is not None else None,
            durability=durability,
            statuses=list(statuses) if statuses is not None else None,
            origin=origin,
            key_path=os.fspath(key_path) if key_path is not None else None,
            service=service,
            capture_source=capture_source,
            policy=os.fspath(policy) if policy is not None else None,
            redact=redact,
            input_mode=input_mode,
        )

    def __enter__(self) -> "AuditLogger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<{type(self).__name__} {self.path} ({state})>"

    # -- reading -------------------------------------------------------------------------

    def _reader(self) -> _native.Reader:
        self.flush()  # reads see everything logged before them
        return reader(self.path)

    def query(
        self,
        *,
        type: str | None = None,
        status: str | None = None,
        model: str | None = None,
        user: str | None = None,
        operation: str | None = None,
        subject: str | None = None,
        input_hash: str | None = None,
        since: object = None,
        until: object = None,
        after: int | None = None,
        newest_first: bool = False,
        limit: int | None = None,
        uses: Any = None,
        makes: Any = None,
    ) -> list[dict[str, Any]]:
        """Sealed records matching every filter given, oldest first (or ``newest_first``).

        ``since``/``until`` take datetimes, dates or ISO 8601 text (naive means local time; a
        date alone as ``until`` means the end of that day); ``after`` is a seq cursor;
        ``uses``/``makes`` an artifact the records read or made (a ``Dataset(...)``,
        ``Model(...)``, ``"credit-risk@2.3.0"`` or ``"dataset:loans@2026-11"``)."""
        return self._reader().query(
            type_=type,
            status=status,
            model=model,
            user=user,
            operation=operation,
            subject=subject,
            input_hash=input_hash,
            since_ns=to_ns(since, end=False, what="since"),
            until_ns=to_ns(until, end=True, what="until"),
            after=after,
            descending=newest_first,
            limit=limit or 0,
            uses=None if uses is None else _target(uses),
            makes=None if makes is None else _target(makes),
        )

    def get(self, seq: int) -> dict[str, Any]:
        """The sealed record at ``seq``."""
        return self._reader().get(seq)

    def get_by_id(self, event_id: str) -> dict[str, Any]:
        """The sealed record with event id ``event_id``."""
        return self._reader().get_by_id(event_id)

    def query_by_model(self, model_name: str, limit: int = 100) -> list[Prediction]:
        """The model's latest predictions, newest first (seed 003)."""
        rows = self.query(type="model_inference", model=model_name, newest_first=True, limit=limit)
        return [Prediction.from_record(r) for r in rows]

    def query_by_user(self, user_id: str, limit: int = 100) -> list[Prediction]:
        """The user's latest predictions, newest first (seed 003)."""
        rows = self.query(type="model_inference", user=user_id, newest_first=True, limit=limit)
        return [Prediction.from_record(r) for r in rows]

    def query_by_input(self, input_data: Any, limit: int = 100) -> list[Prediction]:
        """What the models predicted for this exact input before, newest first: an indexed
        lookup by the SHA-256 of the input's canonical JSON."""
        h = _native.hash_input(input_data)
        rows = self.query(type="model_inference", input_hash=h, newest_first=True, limit=limit)
        return [Prediction.from_record(r) for r in rows]

    def get_by_request_id(self, request_id: str) -> Prediction | None:
        """The prediction with this request id, or ``None`` (seed 003)."""
        from ._ids import operation_id

        op = operation_id(request_id)
        for r in self.query(type="model_inference", operation=op, limit=10):
            if (r.get("operation") or {}).get("id") == op and (
                op == request_id or (r.get("details") or {}).get("request_id") == request_id
            ):
                return Prediction.from_record(r)
        return None

    # -- lineage -------------------------------------------------------------------------

    def run(
        self,
        name: str,
        *,
        inputs: Iterable[Any] = (),
        outputs: Iterable[Any] = (),
        params: dict[str, Any] | None = None,
        run_id: str | None = None,
        user: str | None = None,
    ) -> Any:
        """A :class:`aiaudit.lineage.Run` reading ``inputs`` and making ``outputs`` (``Dataset``,
        ``Model``, … artifacts), as a context manager::

            with audit.run("train credit-risk", inputs=[Dataset("loans", "2026-11")],
                           outputs=[Model("credit-risk", "2.3.0")]) as run:
                run.log_metric("auc", 0.95)
        """
        from .lineage import Run

        return Run(self, name, inputs=inputs, outputs=outputs, params=params, run_id=run_id, user=user)

    def traced(self, name: str | None = None, *, inputs: Iterable[Any] = (), outputs: Iterable[Any] = ()) -> Any:
        """A decorator running each call of a function as a :meth:`run`."""
        from .lineage import traced

        return traced(self, name, inputs=tuple(inputs), outputs=tuple(outputs))

    def lineage(self, target: Any, *, direction: str = "both", per_artifact: int = 100) -> dict[str, Any]:
        """The lineage graph of ``target`` — a seq, an event id, a request id, an artifact
        (``Model(...)``, ``"credit-risk@2.3.0"``, ``"dataset:loans@2026-11"``) — as a dict of
        ``targets``, ``events``, ``artifacts``, ``edges`` and ``truncated``; ``direction`` is
        ``"both"``, ``"upstream"`` or ``"downstream"``."""
        graph, _ = self._reader().lineage(_target(target), direction=direction, per_artifact=per_artifact)
        return graph

    def prove_lineage(self, target: Any, *, direction: str = "upstream", per_artifact: int = 100) -> str:
        """The evidence file of :meth:`lineage` (JSON text): every event on the graph with its
        inclusion proof against one signed checkpoint, checked offline by ``aiaudit
        verify-proof``."""
        _, evidence = self._reader().lineage(
            _target(target), direction=direction, per_artifact=per_artifact, prove=True
        )
        assert evidence is not None
        return evidence

    # -- evidence ------------------------------------------------------------------------

    def checkpoint(self) -> str:
        """The latest signed checkpoint (C2SP signed note); keep a copy somewhere else."""
        return self._reader().checkpoint()

    def prove(self, seq: int, size: int | None = None) -> str:
        """An inclusion proof of ``seq``: ``c2sp.org/tlog-proof@v1`` text that carries the
        record and the signed checkpoint, checkable offline with :func:`aiaudit.verify_proof`."""
        return self._reader().prove(seq, size)

    def prove_consistency(self, old_size: int, new_size: int | None = None) -> str:
        """A consistency proof: the log of ``new_size`` entries extends that of ``old_size``."""
        return self._reader().prove_consistency(old_size, new_size)

    def subject_access(self, subject: str) -> dict[str, Any]:
        """Every event about a data subject (GDPR Art. 15), decrypted where the subject's key
        still exists, with a summary of types, purposes, models and users."""
        return self._reader().subject_access(subject)

    def verify(self, against: str | None = None, key: str | None = None) -> VerifyReport:
        """Recomputes every leaf and node and checks every checkpoint; with ``against`` (a
        checkpoint kept elsewhere), also that the log still extends it; with ``key``, that the
        checkpoints are signed by that verifier key rather than the one the log names."""
        return VerifyReport(**self._reader().verify(against, key))
