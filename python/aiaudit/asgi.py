"""Seed 003's automatic logging for inference services: an ASGI middleware that records every
HTTP request, and the ``audit_endpoint`` decorator that records every prediction of a FastAPI (or
any Starlette) endpoint, with no change to the handler.

Neither imports FastAPI or Starlette: they speak ASGI and duck-type the request object."""

from __future__ import annotations

import functools
import hashlib
import inspect
import time
import uuid
from typing import Any, Awaitable, Callable, Optional

from . import _ids, _native
from .logger import AuditLogger
from .predictions import default_logger

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


def _header(scope: Scope, name: bytes) -> Optional[str]:
    for k, v in scope.get("headers") or ():
        if k.lower() == name:
            return v.decode("latin-1")
    return None


def _status_for(code: int) -> str:
    if code >= 500:
        return "ERROR"
    if code >= 400:
        return "WARNING"
    return "INFO"


class AuditMiddleware:
    """Records every HTTP request as a ``user_request`` event (or ``model_inference`` when
    ``model_name`` is given): method and path, status code, latency, request and response
    sizes, the SHA-256 of the request body, the user (``X-User-ID``, else ``anonymous``), the
    client address, and the request id (``X-Request-ID``, else a new one, as the operation id).
    Bodies themselves are not kept. ``exclude`` lists path prefixes not to record
    (health checks)."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        audit: Optional[AuditLogger] = None,
        *,
        model_name: Optional[str] = None,
        model_version: Optional[str] = None,
        user_header: str = "X-User-ID",
        exclude: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.audit = audit
        self.model_name = model_name
        self.model_version = model_version
        self.user_header = user_header.lower().encode("latin-1")
        self.exclude = tuple(exclude)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or str(scope.get("path", "")).startswith(self.exclude):
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        body_hash = hashlib.sha256()
        sizes = {"request_bytes": 0, "response_bytes": 0}
        status = {"code": 500}

        async def receive_wrapper() -> dict:
            message = await receive()
            if message.get("type") == "http.request":
                chunk = message.get("body", b"")
                body_hash.update(chunk)
                sizes["request_bytes"] += len(chunk)
            return message

        async def send_wrapper(message: dict) -> None:
            if message.get("type") == "http.response.start":
                status["code"] = int(message.get("status", 500))
            elif message.get("type") == "http.response.body":
                sizes["response_bytes"] += len(message.get("body", b""))
            await send(message)

        error: Optional[BaseException] = None
        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        except BaseException as e:
            error = e
            raise
        finally:
            self._record(scope, status["code"], began, body_hash.hexdigest(), sizes, error)

    def _record(
        self,
        scope: Scope,
        code: int,
        began: float,
        body_sha256: str,
        sizes: dict,
        error: Optional[BaseException],
    ) -> None:
        latency_ms = (time.perf_counter() - began) * 1000.0
        method = scope.get("method", "GET")
        path = scope.get("path", "/")
        client = scope.get("client")
        given_id = _header(scope, b"x-request-id")
        # The operation id must be an id (the log refuses others); a request id that is not
        # one is kept in details only.
        request_id = _ids.operation_id(given_id) if given_id else str(uuid.uuid4())
        details: dict[str, Any] = {
            "method": method,
            "path": path,
            "status_code": code,
            "latency_ms": latency_ms,
            "request_id": given_id or request_id,
            "body_sha256": body_sha256,
            **sizes,
        }
        if error is not None:
            details["error"] = type(error).__name__
        ip = client[0] if client else None
        if ip is not None and not _ids.is_ip(ip):
            # A Unix socket path or a test client's name: not an address, kept as the client.
            details["client"] = ip
            ip = None
        log = self.audit or default_logger()
        log.record(
            "model_inference" if self.model_name else "user_request",
            f"{method} {path}",
            status=_status_for(code),
            details=details,
            user=_header(scope, self.user_header) or "anonymous",
            ip=ip,
            operation_id=request_id,
            operation_name=f"{method} {path}",
            model=self.model_name,
            model_version=self.model_version if self.model_name else None,
        )


def _find_request(args: tuple, kwargs: dict) -> Any:
    candidate = kwargs.get("request")
    if candidate is not None and hasattr(candidate, "scope"):
        return candidate
    for a in list(args) + list(kwargs.values()):
        if hasattr(a, "scope") and hasattr(a, "headers") and hasattr(a, "body"):
            return a
    return None


def _jsonable(value: Any) -> Any:
    """A handler's result as data: pydantic models dumped, responses by status and body size."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "status_code") and hasattr(value, "body"):
        return {"status_code": value.status_code, "body_bytes": len(value.body or b"")}
    return value


def audit_endpoint(
    model_name: str,
    model_version: str,
    audit: Optional[AuditLogger] = None,
    *,
    redact: bool = True,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Records every call of the endpoint as a prediction (``AuditLogger.log``): the JSON body
    as input, the handler's result as output (both PII-redacted unless ``redact=False``), the
    user from ``X-User-ID`` (else ``anonymous``), the latency, and the client address and path
    as metadata. A failing handler is recorded as an ``error`` event (status ERROR, with the model) and its
    exception re-raised.
    The handler receives its arguments unchanged."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            request = _find_request(args, kwargs)
            body: Any = None
            user_id = "anonymous"
            metadata: dict[str, Any] = {}
            if request is not None:
                raw = await request.body()
                try:
                    body = await request.json() if raw else None
                except ValueError:
                    body = {"body_sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}
                user_id = request.headers.get("X-User-ID", "anonymous")
                client = getattr(request, "client", None)
                metadata = {
                    "ip": client.host if client else None,
                    "endpoint": str(request.url.path),
                    "method": request.method,
                }
            log = audit or default_logger()
            began = time.perf_counter()
            try:
                result = func(*args, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
            except BaseException as e:
                log.record(
                    "error",
                    f"{model_name} prediction failed",
                    status="ERROR",
                    details={
                        "input": _native.redact(body) if redact else body,
                        "error": type(e).__name__,
                        "message": _native.redact_text(str(e)),
                        "latency_ms": (time.perf_counter() - began) * 1000.0,
                        "metadata": metadata,
                    },
                    user=user_id,
                    model=model_name,
                    model_version=model_version,
                )
                raise
            latency = (time.perf_counter() - began) * 1000.0
            output = _jsonable(result)
            log.log(
                model_name=model_name,
                model_version=model_version,
                input_data=_native.redact(body) if redact else body,
                output_data=_native.redact(output) if redact else output,
                user_id=user_id,
                latency_ms=latency,
                metadata=metadata,
            )
            return result

        return wrapper

    return decorator
