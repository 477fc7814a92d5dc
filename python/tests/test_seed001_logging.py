"""Seed 001: the standard logging module, with records landing in the audit log too."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest

from aiaudit import AuditLogger, log_audit_event, setup_audit_logger  # the seed's only change
from conftest import records

LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} - AuditLogger - (\w+) - (.*)$")


@pytest.fixture(autouse=True)
def fresh_logging_logger():
    logger = logging.getLogger("AuditLogger")
    yield
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()


def test_the_seed_example_writes_the_text_file_and_the_audit_log(tmp_path: Path) -> None:
    logger = setup_audit_logger()
    log_audit_event(logger, 'ACCESS', 'User logged into the AI dashboard.')
    audit_logger = setup_audit_logger('system_audit.log')
    log_audit_event(audit_logger, 'ERROR', 'Model inference pipeline failed at step 3.')

    first = (tmp_path / "audit.log").read_text().splitlines()
    m = LINE.match(first[0])
    assert m and m.groups() == ("INFO", "EventType=ACCESS; Details=User logged into the AI dashboard.")
    second = (tmp_path / "system_audit.log").read_text().splitlines()
    assert LINE.match(second[0]).group(2) == "EventType=ERROR; Details=Model inference pipeline failed at step 3."

    for h in logger.handlers:
        h.flush()
    from aiaudit.predictions import default_logger

    default_logger().flush()
    recs = records(os.environ["AIAUDIT_DB"])
    assert [(r["type"], r["status"], r["name"], r["details"]["details"]) for r in recs] == [
        ("access", "INFO", "EventType=ACCESS; Details=User logged into the AI dashboard.", "User logged into the AI dashboard."),
        ("error", "INFO", "EventType=ERROR; Details=Model inference pipeline failed at step 3.", "Model inference pipeline failed at step 3."),
    ]
    # The line of the seed's call is the source, not the logging module's.
    assert recs[0]["source"]["file"].endswith("test_seed001_logging.py")
    # Set up twice: one audit handler, not two (each record once).
    assert len(recs) == 2


def test_levels_map_onto_statuses(tmp_path: Path) -> None:
    audit = AuditLogger(tmp_path / "levels.db")
    logger = setup_audit_logger(None, audit=audit, level=logging.DEBUG)
    logger.debug("d")
    logger.info("i")
    logger.warning("w")
    logger.error("e")
    logger.critical("c")
    logger.log(35, "between warning and error")
    try:
        raise KeyError("missing feature")
    except KeyError:
        logger.exception("lookup failed")
    recs = audit.query()
    assert [(r["name"], r["status"]) for r in recs] == [
        ("d", "DEBUG"),
        ("i", "INFO"),
        ("w", "WARNING"),
        ("e", "ERROR"),
        ("c", "CRITICAL"),
        ("between warning and error", "WARNING"),
        ("lookup failed", "ERROR"),
    ]
    assert "KeyError: 'missing feature'" in recs[-1]["details"]["exception"]
    assert recs[0]["details"]["logger"] == "AuditLogger"


def test_structured_details_are_kept_as_data(tmp_path: Path) -> None:
    audit = AuditLogger(tmp_path / "d.db")
    logger = setup_audit_logger(tmp_path / "t.log", audit=audit)
    log_audit_event(logger, "DATA_EXPORT", {"rows": 120, "table": "loans"})
    (rec,) = audit.query()
    assert rec["type"] == "data_export"
    assert rec["details"]["details"] == {"rows": 120, "table": "loans"}
    assert "Details={'rows': 120, 'table': 'loans'}" in (tmp_path / "t.log").read_text()
