"""Lineage from Python: artifacts with content hashes, and runs that read and make them.

A run is two events sharing one operation id: ``run_started`` (its inputs and parameters) and
``run_completed`` or ``run_failed`` (its inputs, outputs, parameters, metrics and status). The
end event names both inputs and outputs, so that the walk of ``aiaudit lineage`` (docs/format.md
§11) goes from what a run made to what it read in one hop. Predictions of a model version a run
made link to it without code changes.

Content hashes follow documented canonical forms, so the same data gives the same hash on any
machine (docs/lineage.md):

- a file: SHA-256 of its bytes;
- a directory: SHA-256 of its manifest, one line per regular file in sorted order of its
  relative POSIX path: the path, a NUL byte, the file's hex SHA-256, a newline;
- a numpy array, a pandas or polars DataFrame: SHA-256 of a typed, little-endian byte form of
  its values (``hash_array``, ``hash_dataframe``).

Each hash is written ``sha256:<hex>``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import struct
import sys
import time
import uuid
from typing import Any, Callable, Iterable, Optional, Sequence, TypeVar

__all__ = [
    "Artifact",
    "Code",
    "Dataset",
    "Feature",
    "Model",
    "Pipeline",
    "Run",
    "hash_array",
    "hash_dataframe",
    "hash_directory",
    "hash_file",
]

_CHUNK = 1 << 20
# Files at least this large show a progress line on a terminal when hashed.
_PROGRESS_FROM = 64 << 20


@dataclasses.dataclass(frozen=True)
class Artifact:
    """A versioned thing lineage connects: a dataset, model, code, pipeline or feature."""

    kind: str
    name: str
    version: Optional[str] = None
    hash: Optional[str] = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("an artifact needs a non-empty name")
        if not self.kind or not all(c.islower() or c == "_" for c in self.kind):
            raise ValueError(f"artifact kind {self.kind!r} must be a lowercase word")
        if self.version is not None and not isinstance(self.version, str):
            object.__setattr__(self, "version", str(self.version))

    @property
    def key(self) -> str:
        """``kind:name@version``, or ``kind:name`` without a version: what the index holds."""
        return f"{self.kind}:{self.name}@{self.version}" if self.version else f"{self.kind}:{self.name}"

    def ref(self) -> dict[str, Any]:
        """The object a record's ``details.inputs`` / ``details.outputs`` holds."""
        out: dict[str, Any] = {"type": self.kind, "name": self.name}
        if self.version is not None:
            out["version"] = self.version
        if self.hash is not None:
            out["hash"] = self.hash
        return out


def _artifact(kind: str, name: str, version: Any, hash: Optional[str], path: Any) -> Artifact:
    if path is not None and hash is None:
        hash = hash_directory(path) if os.path.isdir(path) else hash_file(path)
    return Artifact(kind, name, None if version is None else str(version), hash)


def Dataset(name: str, version: Any = None, *, hash: Optional[str] = None, path: Any = None) -> Artifact:
    """A dataset; with ``path``, its content hash is computed from the file or directory."""
    return _artifact("dataset", name, version, hash, path)


def Model(name: str, version: Any = None, *, hash: Optional[str] = None, path: Any = None) -> Artifact:
    """A model version (what predictions of ``name`` at ``version`` read)."""
    return _artifact("model", name, version, hash, path)


def Code(name: str, version: Any = None, *, hash: Optional[str] = None, path: Any = None) -> Artifact:
    """Code: a repository at a commit, a script, a package version."""
    return _artifact("code", name, version, hash, path)


def Pipeline(name: str, version: Any = None, *, hash: Optional[str] = None, path: Any = None) -> Artifact:
    """A pipeline definition."""
    return _artifact("pipeline", name, version, hash, path)


def Feature(name: str, version: Any = None, *, hash: Optional[str] = None, path: Any = None) -> Artifact:
    """A feature (or feature set) of a feature store."""
    return _artifact("feature", name, version, hash, path)


class _Progress:
    """A one-line progress report on stderr when it is a terminal and the work is large."""

    def __init__(self, label: str, total: int, enabled: Optional[bool]) -> None:
        self.on = (sys.stderr.isatty() and total >= _PROGRESS_FROM) if enabled is None else enabled
        self.label, self.total, self.done, self.last = label, total, 0, 0.0

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.on and (now - self.last > 0.2 or self.done >= self.total):
            self.last = now
            pct = 100.0 * self.done / self.total if self.total else 100.0
            sys.stderr.write(f"\rhashing {self.label}: {self.done >> 20} of {self.total >> 20} MiB ({pct:.0f}%)")
            sys.stderr.flush()

    def close(self) -> None:
        if self.on:
            sys.stderr.write("\n")


def hash_file(path: Any, *, progress: Optional[bool] = None) -> str:
    """``sha256:<hex>`` of a file's bytes, read in 1 MiB chunks (a progress line on a terminal
    for files of 64 MiB or more; ``progress`` forces it on or off)."""
    size = os.path.getsize(path)
    bar = _Progress(os.fspath(path), size, progress)
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            bar.add(len(chunk))
    bar.close()
    return "sha256:" + h.hexdigest()


def hash_directory(path: Any, *, progress: Optional[bool] = None) -> str:
    """``sha256:<hex>`` of a directory's manifest: every regular file below it (symbolic links
    are not followed) in sorted order of its relative POSIX path, one line each: the path, a NUL
    byte, the file's hex SHA-256, a newline."""
    root = os.fspath(path)
    if not os.path.isdir(root):
        raise NotADirectoryError(root)
    files: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in filenames:
            full = os.path.join(dirpath, name)
            if os.path.isfile(full) and not os.path.islink(full):
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                files.append((rel, full))
    files.sort()
    total = sum(os.path.getsize(f) for _, f in files)
    bar = _Progress(root, total, progress)
    manifest = hashlib.sha256()
    for rel, full in files:
        h = hashlib.sha256()
        with open(full, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
                bar.add(len(chunk))
        manifest.update(rel.encode("utf-8", "surrogateescape") + b"\0" + h.hexdigest().encode() + b"\n")
    bar.close()
    return "sha256:" + manifest.hexdigest()


def _array_bytes(a: Any) -> tuple[str, bytes]:
    """A numpy array's kind and values as canonical bytes: numbers little-endian (floats as
    float64 with one NaN), booleans one byte each, datetimes as int64 nanoseconds, strings and
    objects as length-prefixed UTF-8 (None and NaN as a null marker)."""
    import numpy as np

    kind = a.dtype.kind
    if kind in "iu":
        return "int", np.ascontiguousarray(a, dtype="<i8" if kind == "i" else "<u8").tobytes()
    if kind == "f":
        v = np.ascontiguousarray(a, dtype="<f8").copy()
        v[np.isnan(v)] = np.nan
        return "float", v.tobytes()
    if kind == "b":
        return "bool", np.ascontiguousarray(a, dtype="u1").tobytes()
    if kind == "M":
        return "datetime", np.ascontiguousarray(a.astype("datetime64[ns]").view("<i8")).tobytes()
    out = bytearray()
    for x in a.ravel(order="C").tolist():
        if x is None or (isinstance(x, float) and x != x):
            out += b"\xff\xff\xff\xff"
            continue
        b = x.encode("utf-8", "surrogatepass") if isinstance(x, str) else repr(x).encode("utf-8")
        out += struct.pack("<I", len(b)) + b
    return "text", bytes(out)


def hash_array(a: Any) -> str:
    """``sha256:<hex>`` of a numpy array: ``aiaudit-array/v1``, its shape and kind, then its
    values in C order as canonical bytes (see the module). Same values, same hash, whatever the
    byte order or memory layout."""
    import numpy as np

    a = np.asarray(a)
    kind, body = _array_bytes(a)
    h = hashlib.sha256()
    h.update(f"aiaudit-array/v1\n{list(a.shape)}\n{kind}\n".encode())
    h.update(body)
    return "sha256:" + h.hexdigest()


def hash_dataframe(df: Any) -> str:
    """``sha256:<hex>`` of a pandas or polars DataFrame: ``aiaudit-frame/v1`` and its row count,
    then per column in order its name, kind and values as canonical bytes (the index of a pandas
    frame is not hashed). The same table gives the same hash from pandas and from polars."""
    import numpy as np

    columns = [str(c) for c in df.columns]
    h = hashlib.sha256()
    h.update(f"aiaudit-frame/v1\n{len(df)}\n".encode())
    for name in columns:
        col = df[name]
        values = col.to_numpy()
        if getattr(values, "dtype", None) is not None and values.dtype.kind == "O":
            values = np.array(values.tolist(), dtype=object)
        kind, body = _array_bytes(np.asarray(values))
        enc = name.encode("utf-8", "surrogatepass")
        h.update(struct.pack("<I", len(enc)) + enc + kind.encode() + b"\n")
        h.update(body)
    return "sha256:" + h.hexdigest()


F = TypeVar("F", bound=Callable[..., Any])


class Run:
    """A run that reads ``inputs`` and makes ``outputs``: ``run_started`` when entered, then
    ``run_completed`` (or ``run_failed`` with the error, status ERROR, when the block raises).
    Parameters, metrics and more outputs can be added while it runs."""

    def __init__(
        self,
        logger: Any,
        name: str,
        *,
        inputs: Iterable[Artifact] = (),
        outputs: Iterable[Artifact] = (),
        params: Optional[dict[str, Any]] = None,
        run_id: Optional[str] = None,
        user: Optional[str] = None,
    ) -> None:
        for a in [*inputs, *outputs]:
            if not isinstance(a, Artifact):
                raise TypeError(f"inputs and outputs must be Artifacts (Dataset(...), Model(...)), not {type(a).__name__}")
        self.logger = logger
        self.name = name
        self.inputs: list[Artifact] = list(inputs)
        self.outputs: list[Artifact] = list(outputs)
        self.params: dict[str, Any] = dict(params or {})
        self.metrics: dict[str, Any] = {}
        self.run_id = run_id or str(uuid.uuid4())
        self.user = user
        self.status = "completed"
        self._started: Optional[float] = None

    def log_param(self, key: str, value: Any) -> None:
        """Adds a parameter (kept in the end event)."""
        self.params[key] = value

    def log_metric(self, key: str, value: Any) -> None:
        """Adds a metric (kept in the end event)."""
        self.metrics[key] = value

    def add_input(self, artifact: Artifact) -> None:
        """Adds an artifact the run read."""
        self.inputs.append(artifact)

    def add_output(self, artifact: Artifact) -> None:
        """Adds an artifact the run made."""
        self.outputs.append(artifact)

    def _record(self, type_: str, status: str, details: dict[str, Any]) -> None:
        self.logger.record(
            type_,
            f"{self.name}: {type_.replace('_', ' ')}",
            status=status,
            details=details,
            user=self.user,
            operation_id=self.run_id,
            operation_name=self.name,
        )

    def __enter__(self) -> "Run":
        self._started = time.monotonic()
        self._record("run_started", "INFO", {"inputs": [a.ref() for a in self.inputs], "params": self.params})
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        took = (time.monotonic() - (self._started or time.monotonic())) * 1000.0
        details: dict[str, Any] = {
            "inputs": [a.ref() for a in self.inputs],
            "outputs": [a.ref() for a in self.outputs],
            "params": self.params,
            "metrics": self.metrics,
            "duration_ms": round(took, 3),
        }
        if exc_type is None:
            details["status"] = self.status
            self._record("run_completed", "INFO", details)
        else:
            details["status"] = "failed"
            details["error"] = {"type": exc_type.__name__, "message": str(exc)}
            self._record("run_failed", "ERROR", details)


def traced(
    logger: Any,
    name: Optional[str] = None,
    *,
    inputs: Sequence[Artifact] = (),
    outputs: Sequence[Artifact] = (),
) -> Callable[[F], F]:
    """A decorator running each call of the function as a :class:`Run` (named after it)."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            with Run(logger, name or fn.__qualname__, inputs=inputs, outputs=outputs):
                return fn(*args, **kwargs)

        return call  # type: ignore[return-value]

    return wrap
