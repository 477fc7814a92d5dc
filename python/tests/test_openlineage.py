"""OpenLineage in: the real ``openlineage-python`` client's HTTP transport sends RunEvents to a
running ``aiaudit serve`` at ``/api/v1/lineage`` (Marquez's path); they become run events with
their datasets as lineage, the log verifies, and a bad RunEvent is refused with the field named."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Iterator

import jsonschema
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import dataset_version_dataset, job_type_job
from openlineage.client.serde import Serde
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

import aiaudit
import tlog_client
from server import Server, binary


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


# ---- OpenLineage out ---------------------------------------------------------------------------

FACET_SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "openlineage" / "aiaudit-proof-run-facet.json"


def export(db: Path, *args: str) -> list[dict]:
    out = subprocess.run([binary(), "--db", str(db), "export", "--format", "openlineage", *args],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def verifier_key(db: Path) -> str:
    return subprocess.run([binary(), "--db", str(db), "verifier-key"], check=True, capture_output=True,
                          text=True).stdout.strip()


def rebuilt(d: dict) -> dict:
    """The event rebuilt from the OpenLineage client's own model of spec 2-0-2 (generated from
    the spec's JSON Schema, with its validators: a UUID run id, a date-time with a time, URIs),
    serialised by the client: equal to ``d`` only if every member is where the spec puts it."""
    def datasets(cls, items):
        out = []
        for x in items:
            facets = {}
            if "version" in x["facets"]:
                v = x["facets"]["version"]
                facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                    datasetVersion=v["datasetVersion"], producer=v["_producer"])
            out.append(cls(namespace=x["namespace"], name=x["name"], facets=facets))
        return out

    jt = d["job"]["facets"]["jobType"]
    event = RunEvent(
        eventType=RunState(d["eventType"]),
        eventTime=d["eventTime"],
        producer=d["producer"],
        run=Run(runId=d["run"]["runId"]),
        job=Job(namespace=d["job"]["namespace"], name=d["job"]["name"], facets={
            "jobType": job_type_job.JobTypeJobFacet(processingType=jt["processingType"], integration=jt["integration"],
                                                    jobType=jt["jobType"], producer=jt["_producer"])}),
        inputs=datasets(InputDataset, d["inputs"]),
        outputs=datasets(OutputDataset, d["outputs"]),
    )
    out = Serde.to_dict(event)
    out["run"]["facets"] = {}
    # The client writes the optional per-input and per-output facets as empty objects.
    for key, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        for x in out[key]:
            if x.get(extra) == {}:
                del x[extra]
    return out


def check_proof(d: dict, vkey: str, facet_schema: dict) -> dict:
    """The ``aiaudit_proof`` facet: valid by its published schema, and proving the record with
    nothing but the verifier key (hashlib and Ed25519, no aiaudit code)."""
    facet = d["run"]["facets"]["aiaudit_proof"]
    own = facet_schema["$defs"]["AiauditProofRunFacet"]["allOf"][1]
    jsonschema.validate(facet, own)
    record = base64.b64decode(facet["record"])
    leaf = tlog_client.leaf_hash(record)
    assert leaf.hex() == facet["leafHash"]
    cp = tlog_client.open_checkpoint(facet["checkpoint"], vkey)
    assert cp.size == facet["treeSize"] and facet["seq"] < cp.size
    tlog_client.verify_inclusion(facet["seq"], cp.size, leaf, [base64.b64decode(h) for h in facet["inclusionProof"]],
                                 cp.root)
    return json.loads(record)


def test_exported_run_events_are_openlineage_and_each_carries_its_proof(tmp_path: Path) -> None:
    db = tmp_path / "pipeline.db"
    audit = aiaudit.AuditLogger(db, durability="sync")
    raw = aiaudit.Dataset("s3://bank-data/loans-2026-11.parquet", "2026-11")
    clean = aiaudit.Dataset("features/loans", "v3")
    model = aiaudit.Model("credit-risk", "2.3.0")
    with audit.run("clean loans", inputs=[raw], outputs=[clean]):
        pass
    with audit.run("train credit-risk", inputs=[clean], outputs=[model]):
        pass
    for i in range(5):
        audit.log("credit-risk", "2.3.0", {"income": i}, {"prediction": "approved"}, user_id=f"u{i}")
    audit.log_event("no lineage here")
    audit.close()

    events = export(db)
    # Two runs of two events each and five predictions; the event without lineage is left out.
    assert [e["eventType"] for e in events] == ["START", "COMPLETE", "START", "COMPLETE"] + ["COMPLETE"] * 5
    schema = json.loads(FACET_SCHEMA.read_text())
    vkey = verifier_key(db)
    for e in events:
        expected = rebuilt(e)
        got = {**e, "run": {**e["run"], "facets": {}}}
        assert got == expected, json.dumps(e, indent=1)
        assert e["schemaURL"] == "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
        record = check_proof(e, vkey, schema)
        assert record["seq"] == e["run"]["facets"]["aiaudit_proof"]["seq"]
    # One run id per run, shared by its start and end; the datasets as OpenLineage names them.
    start, end = events[2], events[3]
    assert start["run"]["runId"] == end["run"]["runId"] != events[0]["run"]["runId"]
    assert events[1]["inputs"] == [{"namespace": "s3://bank-data", "name": "loans-2026-11.parquet", "facets": {
        "version": {"_producer": events[1]["producer"], "_schemaURL": events[1]["inputs"][0]["facets"]["version"]["_schemaURL"],
                    "datasetVersion": "2026-11"}}}]
    assert [o["name"] for o in end["outputs"]] == ["model:credit-risk"]
    assert end["outputs"][0]["facets"]["version"]["datasetVersion"] == "2.3.0"
    assert [i["name"] for i in events[4]["inputs"]] == ["model:credit-risk"]
    # Filters narrow the export; a changed record breaks its proof.
    assert len(export(db, "--type", "model_inference")) == 5
    forged = json.loads(json.dumps(events[3]))
    rec = json.loads(base64.b64decode(forged["run"]["facets"]["aiaudit_proof"]["record"]))
    rec["name"] = "train another model"
    forged["run"]["facets"]["aiaudit_proof"]["record"] = base64.b64encode(json.dumps(rec).encode()).decode()
    with pytest.raises(AssertionError):
        check_proof(forged, vkey, schema)


def test_run_events_that_came_in_go_out_as_they_came_with_their_proof(server: Server) -> None:
    client = OpenLineageClient(
        transport=HttpTransport(
            HttpConfig(url=server.url, auth=ApiKeyTokenProvider({"apiKey": server.tokens["ingest"]}))
        )
    )
    sent = []
    run = Run(runId=str(uuid.uuid4()))
    for state in (RunState.START, RunState.FAIL):
        event = RunEvent(eventType=state, eventTime=now(), run=run, job=Job(namespace="dbt", name="marts.loans"),
                         producer="https://github.com/acme/dbt", inputs=[InputDataset(namespace="pg://db", name="raw.loans")],
                         outputs=[])
        client.emit(event)
        sent.append(Serde.to_dict(event))
    events = [e for e in export(server.db) if e["job"]["namespace"] == "dbt"]
    assert len(events) == 2
    vkey = verifier_key(server.db)
    schema = json.loads(FACET_SCHEMA.read_text())
    for e, original in zip(events, sent):
        check_proof(e, vkey, schema)
        facets = dict(e["run"].get("facets", {}))
        facets.pop("aiaudit_proof")
        assert {**e, "run": {**e["run"], "facets": facets}} == {**original, "run": {**original["run"], "facets": facets}}
        assert e["eventType"] == original["eventType"]
