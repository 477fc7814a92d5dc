"""Type stubs of the Rust extension module ``aiaudit._native``."""

from os import PathLike
from typing import Any, Optional, Sequence, Union

__version__: str

class Logger:
    """The native half of ``aiaudit.AuditLogger`` (subclassable; opens lazily)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> "Logger": ...
    def _open(
        self,
        path: Optional[str | PathLike[str]] = None,
        *,
        durability: str = "async",
        statuses: Optional[Sequence[str]] = None,
        origin: Optional[str] = None,
        key_path: Optional[str | PathLike[str]] = None,
        service: Optional[str] = None,
        capture_source: bool = True,
        policy: Optional[str | PathLike[str]] = None,
        redact: bool = True,
        input_mode: str = "full",
    ) -> None: ...
    def log_event(
        self, event_name: str, details: Optional[dict[str, Any]] = None, status: str = "INFO"
    ) -> None: ...
    def record(
        self,
        type_: str,
        name: str,
        *,
        status: str = "INFO",
        details: Optional[dict[str, Any]] = None,
        user: Optional[str] = None,
        service: Optional[str] = None,
        ip: Optional[str] = None,
        subject: Optional[str] = None,
        operation_id: Optional[str] = None,
        operation_name: Optional[str] = None,
        parent: Optional[str] = None,
        model: Optional[str] = None,
        model_version: Optional[str] = None,
        regulations: Optional[Sequence[str]] = None,
        occurred_ns: Optional[int] = None,
        source: Optional[tuple[str, int, str]] = None,
    ) -> None: ...
    def log(
        self,
        model_name: str,
        model_version: str,
        input_data: Any,
        output_data: Any,
        user_id: Optional[str] = None,
        latency_ms: Optional[float] = None,
        metadata: Optional[dict[str, Any]] = None,
        *,
        input_mode: Optional[str] = None,
    ) -> str: ...
    def forget(self, subject: str, reason: Optional[str] = None) -> bool: ...
    def _record_otlp(self, signal: str, data: bytes, *, keep_content: bool = False) -> int: ...
    def flush(self) -> int: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def path(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def verifier_key(self) -> str: ...

class Reader:
    """Read-only access to a log."""

    def __init__(self, path: str | PathLike[str]) -> None: ...
    @property
    def path(self) -> str: ...
    @property
    def verifier_key(self) -> str: ...
    @property
    def verifier_keys(self) -> list[str]: ...
    def size(self) -> int: ...
    def query(
        self,
        *,
        type_: Optional[str] = None,
        status: Optional[str] = None,
        model: Optional[str] = None,
        user: Optional[str] = None,
        operation: Optional[str] = None,
        subject: Optional[str] = None,
        input_hash: Optional[str] = None,
        since_ns: Optional[int] = None,
        until_ns: Optional[int] = None,
        after: Optional[int] = None,
        descending: bool = False,
        limit: int = 0,
        uses: Optional[str] = None,
        makes: Optional[str] = None,
    ) -> list[dict[str, Any]]: ...
    def get(self, seq: int) -> dict[str, Any]: ...
    def get_by_id(self, id: str) -> dict[str, Any]: ...
    def checkpoint(self) -> str: ...
    def prove(self, seq: int, size: Optional[int] = None) -> str: ...
    def lineage(
        self,
        target: str,
        *,
        direction: str = "both",
        per_artifact: int = 100,
        prove: bool = False,
    ) -> tuple[dict[str, Any], Optional[str]]: ...
    def prove_consistency(self, old: int, new: Optional[int] = None) -> str: ...
    def verify(self, against: Optional[str] = None, key: Optional[str] = None) -> dict[str, Any]: ...
    def subject_access(self, subject: str) -> dict[str, Any]: ...
    def usage_report(self, model: str, days: int) -> dict[str, Any]: ...
    def access_report(self, user: str, days: int) -> dict[str, Any]: ...

def redact_text(text: str) -> str: ...
def redact(data: Any) -> Any: ...
def hash_input(data: Any) -> str: ...
def is_id(text: str) -> bool: ...
def canonical_json(data: Any) -> bytes: ...
def verify_proof(bundle: str, key: Union[str, list[str], None] = None, *, policy: Optional[str] = None) -> dict[str, Any]: ...
def _set_package_dir(dir: str) -> None: ...
def _close_all() -> None: ...
def _after_fork_in_child() -> None: ...
