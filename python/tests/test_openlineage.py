"""OpenLineage in: the real ``openlineage-python`` client's HTTP transport sends RunEvents to a
running ``aiaudit serve`` at ``/api/v1/lineage`` (Marquez's path); they become run events with
their datasets as lineage, the log verifies, and a bad RunEvent is refused with the field named."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

import aiaudit
from server import Server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path / "served.db")
    yield s
    if s.proc and s.proc.poll() is None:
        s.stop()


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def test_the_openlineage_client_logs_runs_whose_datasets_become_lineage(server: Server) -> None:
    client = OpenLineageClient(
        transport=HttpTransport(
            HttpConfig(url=server.url, auth=ApiKeyTokenProvider({"apiKey": server.tokens["ingest"]}))
        )
    )
    producer = "https://github.com/acme/pipelines"
    raw = InputDataset(namespace="s3://bank", name="raw/loans")
    clean = OutputDataset(namespace="s3://bank", name="clean/loans")
    clean_in = InputDataset(namespace="s3://bank", name="clean/loans")
    features = OutputDataset(namespace="s3://bank", name="features/loans")
    runs = []
    for job, inputs, outputs in [("etl.clean", [raw], [clean]), ("etl.features", [clean_in], [features])]:
        run = Run(runId=str(uuid.uuid4()))
        runs.append(run.runId)
        for state in (RunState.START, RunState.COMPLETE):
            client.emit(RunEvent(eventType=state, eventTime=now(), run=run, job=Job(namespace="airflow", name=job),
                                 producer=producer, inputs=inputs, outputs=outputs))

    db = server.db
    log = aiaudit.reader(db)
    events = log.query(operation=runs[0])
    assert [e["type"] for e in events] == ["run_started", "run_completed"]
    done = events[1]
    assert done["details"]["inputs"] == [{"type": "dataset", "name": "s3://bank/raw/loans"}]
    assert done["details"]["outputs"] == [{"type": "dataset", "name": "s3://bank/clean/loans"}]
    assert done["details"]["openlineage"]["job"]["name"] == "etl.clean"
    assert done["details"]["openlineage"]["producer"] == producer
    assert done["operation"]["name"] == "airflow/etl.clean"

    # The two runs are one chain: the features back to the raw data.
    graph, _ = log.lineage("dataset:s3://bank/features/loans", direction="upstream")
    names = sorted(e["name"] for e in graph["events"].values())
    # Each run's events both name its datasets; upstream of the features: both runs.
    assert names == [
        "airflow/etl.clean: complete",
        "airflow/etl.clean: start",
        "airflow/etl.features: complete",
        "airflow/etl.features: start",
    ], names
    assert "dataset:s3://bank/raw/loans" in graph["artifacts"]
    assert log.verify()["intact"]


def post(server: Server, body: object, token: str) -> tuple[int, dict]:
    req = urllib.request.Request(
        server.url + "/api/v1/lineage",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_bad_run_events_are_refused_with_the_field_named_and_nothing_written(server: Server) -> None:
    good = {
        "eventType": "START",
        "eventTime": now(),
        "producer": "https://example.org/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "n", "name": "j"},
    }
    size = aiaudit.reader(server.db).size()
    for change, field in [
        ({"run": {}}, "run.runId"),
        ({"job": {"namespace": "n"}}, "job.name"),
        ({"eventType": "FINISHED"}, "eventType"),
        ({"schemaURL": "https://openlineage.io/spec/1-0-5/OpenLineage.json"}, "2-0-x"),
        ({"inputs": [{"namespace": "s3://b"}]}, "inputs[0].name"),
        ({"eventTime": "not a time"}, "eventTime"),
    ]:
        status, body = post(server, {**good, **change}, server.tokens["ingest"])
        assert status == 400, (change, status, body)
        assert field in json.dumps(body), (change, body)
    status, _ = post(server, good, server.tokens["read"])
    assert status == 403
    assert aiaudit.reader(server.db).size() == size, "nothing was written"
    status, receipt = post(server, good, server.tokens["ingest"])
    assert status == 201 and receipt["count"] == 1
