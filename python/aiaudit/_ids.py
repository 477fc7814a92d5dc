"""Ids as the log accepts them (``_native.is_id``, the core's own rule), and a stable stand-in
for a request id from outside that is not one, so that it is still found by itself."""

from __future__ import annotations

import hashlib
import ipaddress

from . import _native


def operation_id(request_id: str) -> str:
    """``request_id`` itself when it is an id, else ``rid-`` and the first 32 hex digits of its
    SHA-256 (the request id itself is kept in the event's details)."""
    if _native.is_id(request_id):
        return request_id
    return "rid-" + hashlib.sha256(request_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def is_ip(text: str) -> bool:
    """An IPv4 or IPv6 address the log accepts as ``actor.ip`` (no zone index)."""
    if "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
