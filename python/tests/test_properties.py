"""Property tests: whatever JSON-shaped value is logged reads back equal, and sealing is
deterministic for equal values."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aiaudit
from aiaudit import AuditLogger

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(text, inner, max_size=5)),
    max_leaves=30,
)
details = st.dictionaries(text, values, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(details, min_size=1, max_size=8))
def test_logged_details_read_back_equal(tmp_path: Path, batch: list[dict]) -> None:
    # The round trip of values, so the redaction policy (tested elsewhere) is off.
    log = AuditLogger(tmp_path / "p.db", redact=False)
    before = log.flush()
    for d in batch:
        log.log_event("prop", d)
    got = log.query(after=before - 1 if before else None) if before else log.query()
    assert [r["details"] for r in got[-len(batch):]] == batch
    assert log.verify().intact


@settings(max_examples=200, deadline=None)
@given(d=details)
def test_canonical_json_ignores_key_order(d: dict) -> None:
    reordered = dict(reversed(list(d.items())))
    assert aiaudit.canonical_json(d) == aiaudit.canonical_json(reordered)
    assert aiaudit.hash_input(d) == aiaudit.hash_input(reordered)
