"""Time bounds for queries: datetimes, dates and ISO 8601 text, as Unix nanoseconds.

Naive datetimes and ISO text without an offset are local time, as ``datetime.now()`` writes them;
a date alone means its whole day: the start of it as a lower bound, the end of it as an upper
bound. Numbers are Unix seconds (``time.time()``)."""

from __future__ import annotations

import datetime as _dt
import re

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NS = 1_000_000_000


def _aware(d: _dt.datetime) -> _dt.datetime:
    return d if d.tzinfo is not None else d.astimezone()


def _datetime_ns(d: _dt.datetime) -> int:
    d = _aware(d)
    epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    delta = d - epoch
    return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1_000


def _day_ns(day: _dt.date, end: bool) -> int:
    start = _datetime_ns(_dt.datetime(day.year, day.month, day.day))
    if not end:
        return start
    nxt = day + _dt.timedelta(days=1)
    return _datetime_ns(_dt.datetime(nxt.year, nxt.month, nxt.day)) - 1


def to_ns(value: object, *, end: bool, what: str) -> int | None:
    """``value`` as Unix nanoseconds; ``end`` picks the end of a whole day."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return _datetime_ns(value)
    if isinstance(value, _dt.date):
        return _day_ns(value, end)
    if isinstance(value, bool):
        raise TypeError(f"{what}: expected a datetime, a date or ISO 8601 text, got a bool")
    if isinstance(value, (int, float)):
        return int(value * _NS)
    if isinstance(value, str):
        text = value.strip()
        if _DATE_ONLY.match(text):
            try:
                return _day_ns(_dt.date.fromisoformat(text), end)
            except ValueError as e:
                raise ValueError(f"{what}: {value!r} is not a valid date: {e}") from None
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        # fromisoformat keeps at most microseconds; nanoseconds are cut, not rounded.
        m = re.match(r"^(.*T\d{2}:\d{2}:\d{2}\.\d{6})\d+(.*)$", text)
        if m:
            text = m.group(1) + m.group(2)
        try:
            return _datetime_ns(_dt.datetime.fromisoformat(text))
        except ValueError:
            raise ValueError(
                f"{what}: {value!r} is not ISO 8601 (e.g. 2026-01-31, 2026-01-31T23:59:59 or "
                "2026-01-31T23:59:59+01:00)"
            ) from None
    raise TypeError(
        f"{what}: expected a datetime, a date or ISO 8601 text, got {type(value).__name__}"
    )


def parse_record_time(text: str) -> _dt.datetime:
    """A sealed record's ``time`` (RFC 3339 UTC, nanoseconds) as an aware datetime (to the
    microsecond)."""
    m = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$", text)
    if not m:
        raise ValueError(f"not a sealed record time: {text!r}")
    base = _dt.datetime.fromisoformat(m.group(1)).replace(tzinfo=_dt.timezone.utc)
    frac = (m.group(2) or "").ljust(6, "0")[:6]
    return base.replace(microsecond=int(frac))
