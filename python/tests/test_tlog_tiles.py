"""An independent c2sp.org/tlog-tiles client (``tlog_client``, written from the specs, calling
no aiaudit code) verifies inclusion and consistency against the tiles ``aiaudit serve``
answers with, and against a static ``aiaudit export tiles`` copy served by another web server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from aiaudit import AuditLogger, Client

import tlog_client as tc
from conftest import tamper
from server import Server, binary, free_port

# Past 65,536 entries the tree has a level-2 tile: every level the spec's example has.
FIRST = 65_600


def fill(db: Path, n: int) -> None:
    audit = AuditLogger(db)
    for i in range(n):
        audit.log_event("prediction", {"i": i}, "INFO")
    audit.close()


def check_log(fetch: tc.Fetch, vkey: str, old: tc.Checkpoint | None = None) -> tc.Checkpoint:
    """What a tlog client does: open the checkpoint, rebuild its root from the tiles, prove
    entries from the bundles, and prove the tree extends the one it saw before."""
    cp = tc.open_checkpoint(fetch("checkpoint").decode(), vkey)
    client = tc.TileClient(fetch, cp)
    assert client.mth(0, cp.size) == cp.root, "the tiles rebuild the signed root"
    for index in sorted({0, 1, 255, 256, 65_535, 65_536, cp.size - 1} & set(range(cp.size))):
        bundle = client.entries(index // 256)
        record = json.loads(bundle[index % 256])
        assert record["seq"] == index
        proof = client.inclusion_path(index)
        tc.verify_inclusion(index, cp.size, tc.leaf_hash(bundle[index % 256]), proof, cp.root)
    if old is not None:
        proof = client.consistency(old.size)
        tc.verify_consistency(old.size, cp.size, old.root, cp.root, proof)
    return cp


def test_a_tlog_client_verifies_the_served_tiles(tmp_path: Path) -> None:
    db = tmp_path / "tiles.db"
    fill(db, FIRST)
    server = Server(db)
    try:
        audit = {"Authorization": f"Bearer {server.tokens['audit']}"}
        http = httpx.Client(base_url=server.url, headers=audit)

        def fetch(path: str) -> bytes:
            r = http.get("/" + path)
            assert r.status_code == 200, (path, r.status_code, r.text)
            return r.content

        first = check_log(fetch, server.verifier_key)
        assert first.size == FIRST

        with Client(server.url, server.tokens["ingest"], batch_size=100) as c:
            for i in range(700):
                c.log_event("later", {"i": i})
            c.flush()
        second = check_log(fetch, server.verifier_key, old=first)
        assert second.size > FIRST + 700

        # The specification's headers: immutable full tiles, short-lived partial ones and
        # checkpoint, gzip for bundles to a client that takes it.
        full = http.get("/tile/0/000")
        assert full.headers["content-type"] == "application/octet-stream"
        assert full.headers["cache-control"] == "private, max-age=31536000, immutable"
        cp = http.get("/checkpoint")
        assert cp.headers["content-type"] == "text/plain; charset=utf-8"
        assert cp.headers["cache-control"] == "private, max-age=2, must-revalidate"
        gz = http.get("/tile/entries/001", headers={"Accept-Encoding": "gzip"})
        assert gz.headers["content-encoding"] == "gzip"
        plain = http.get("/tile/entries/001", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == gz.content

        # Refusals: no token, a role that may not audit, malformed and absent tiles.
        assert httpx.get(server.url + "/checkpoint").status_code == 401
        read = {"Authorization": f"Bearer {server.tokens['read']}"}
        assert httpx.get(server.url + "/tile/0/000", headers=read).status_code == 403
        bad = http.get("/tile/0/x000/001")
        assert bad.status_code == 400 and "x000" in bad.json()["error"]["message"]
        assert http.get("/tile/0/000.p/0").status_code == 400
        beyond = http.get("/tile/0/x001/000")
        assert beyond.status_code == 404 and "beyond" in beyond.json()["error"]["message"]

        # A bundle read with a token is a recorded read of those records; tiles are not.
        events = Client(server.url, server.tokens["audit"]).query(type="access", limit=10_000)
        bundle_reads = [e for e in events["events"]
                        if e["details"].get("filter", {}).get("tile") == "tile/entries/001"]
        assert bundle_reads and bundle_reads[0]["details"]["records"] == 256
        tile_reads = [e for e in events["events"]
                      if e["details"].get("filter", {}).get("tile", "").startswith("tile/0/")]
        assert tile_reads == []
    finally:
        server.stop()
    verify = subprocess.run([binary(), "--db", str(db), "verify"], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_public_log_serves_tiles_without_a_token(tmp_path: Path) -> None:
    db = tmp_path / "public.db"
    fill(db, 300)
    config = tmp_path / "aiaudit.toml"
    config.write_text("[tiles]\npublic = true\n")
    server = Server(db, config=config)
    try:

        def fetch(path: str) -> bytes:
            r = httpx.get(f"{server.url}/{path}")
            assert r.status_code == 200, (path, r.status_code, r.text)
            if path.startswith("tile/") and ".p/" not in path:
                assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
            return r.content

        assert check_log(fetch, server.verifier_key).size == 300
        # 300 entries: tile 0/001 holds 44 hashes. Narrower is a prefix; wider does not exist.
        partial = httpx.get(server.url + "/tile/0/001.p/44")
        assert partial.headers["cache-control"] == "public, max-age=86400"
        prefix = httpx.get(server.url + "/tile/0/001.p/3")
        assert prefix.content == partial.content[:96]
        wide = httpx.get(server.url + "/tile/0/001.p/45")
        assert wide.status_code == 404, wide.text
        assert "holds 44 there (tile/0/001.p/44)" in wide.json()["error"]["message"]
        assert httpx.get(server.url + "/tile/0/001").status_code == 404
        # Other reads still need a token.
        assert httpx.get(server.url + "/v1/events").status_code == 401
    finally:
        server.stop()


class StaticServer:
    """Python's own web server over a directory: not aiaudit."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1",
             "--directory", str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while True:
            try:
                httpx.get(self.url + "/")
                return
            except httpx.TransportError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)

    def fetch(self, path: str) -> bytes:
        r = httpx.get(f"{self.url}/{path}")
        assert r.status_code == 200, (path, r.status_code)
        return r.content

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def export(db: Path, out: Path) -> str:
    run = subprocess.run([binary(), "--db", str(db), "export", "tiles", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_an_exported_copy_served_by_any_web_server_verifies(tmp_path: Path) -> None:
    db = tmp_path / "exported.db"
    fill(db, FIRST)
    vkey = subprocess.run([binary(), "--db", str(db), "verifier-key"], capture_output=True,
                          text=True, check=True).stdout.strip()
    out = tmp_path / "copy"
    said = export(db, out)
    assert f"wrote {FIRST} entries" in said, said
    web = StaticServer(out)
    try:
        first = check_log(web.fetch, vkey)
        assert first.size == FIRST
        full_tile = (out / "tile" / "0" / "000").read_bytes()

        # More events, exported again into the same directory: the copy grows and the client
        # proves the new tree extends the one it verified.
        audit = AuditLogger(db)
        for i in range(1_000):
            audit.log_event("later", {"i": i}, "INFO")
        audit.close()
        said = export(db, out)
        assert f"the copy had {FIRST}" in said, said
        second = check_log(web.fetch, vkey, old=first)
        assert second.size == FIRST + 1_000
        assert (out / "tile" / "0" / "000").read_bytes() == full_tile
        assert not list(out.rglob("*.tmp-*")), "no temporary files remain"
    finally:
        web.stop()


def test_export_refuses_a_copy_of_another_log(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    fill(a, 10)
    fill(b, 10)
    out = tmp_path / "copy"
    export(a, out)
    before = (out / "checkpoint").read_bytes()
    run = subprocess.run([binary(), "--db", str(b), "export", "tiles", str(out)],
                         capture_output=True, text=True)
    assert run.returncode != 0
    assert "is not a checkpoint of this log" in run.stderr, run.stderr
    assert (out / "checkpoint").read_bytes() == before


@pytest.mark.parametrize("path", ["tile/0/000.p/11", "tile/1/000", "tile/entries/001"])
def test_a_static_copy_holds_no_tile_the_tree_lacks(tmp_path: Path, path: str) -> None:
    db = tmp_path / "small.db"
    fill(db, 10)
    out = tmp_path / "copy"
    export(db, out)
    assert (out / "tile" / "0" / "000.p" / "10").stat().st_size == 320
    assert not (out / path).exists()


def test_export_of_a_tampered_log_names_the_seq_and_keeps_the_copy(tmp_path: Path) -> None:
    db = tmp_path / "tampered.db"
    fill(db, 600)
    out = tmp_path / "copy"
    export(db, out)
    before = (out / "checkpoint").read_bytes()
    audit = AuditLogger(db)
    audit.log_event("later", {"i": 1}, "INFO")
    audit.close()
    # Seq 550 is in the partial bundle, which extending the copy reads again.
    tamper(db, 550)
    for target in (out, tmp_path / "fresh"):
        run = subprocess.run([binary(), "--db", str(db), "export", "tiles", str(target)],
                             capture_output=True, text=True)
        assert run.returncode != 0
        assert "seq 550: the record does not match its stored leaf hash" in run.stderr, run.stderr
    assert (out / "checkpoint").read_bytes() == before, "the copy stays at its checkpoint"
    assert not (tmp_path / "fresh" / "checkpoint").exists()
