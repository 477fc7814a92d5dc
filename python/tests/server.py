"""A real ``aiaudit serve`` process on a free loopback port, for the client and API tests.

The binary comes from ``$AIAUDIT_BIN`` or the workspace's ``target/{debug,release}/aiaudit``
(``scripts/test`` builds it); without it the tests fail and say how to build it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def binary() -> str:
    candidates = [os.environ.get("AIAUDIT_BIN", "")]
    candidates += [str(ROOT / "target" / kind / "aiaudit") for kind in ("debug", "release")]
    found = [c for c in candidates if c and os.access(c, os.X_OK)]
    if not found:
        raise RuntimeError(
            "the aiaudit binary is missing: build it with `cargo build -p aiaudit-cli` "
            "(scripts/test does) or point AIAUDIT_BIN at it"
        )
    return max(found, key=os.path.getmtime)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``aiaudit serve`` over the log ``db``, with one token per role in ``tokens``."""

    def __init__(self, db: Path, port: int | None = None, start: bool = True,
                 config: Path | None = None) -> None:
        self.db = db
        self.config = config
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tokens = {role: self.cli("token", "create", "--role", role, "--name", f"{role}-py")
                       for role in ("ingest", "read", "audit", "admin")}
        self.proc: subprocess.Popen[str] | None = None
        if start:
            self.start()

    def cli(self, *args: str) -> str:
        out = subprocess.run([binary(), "--db", str(self.db), *args], capture_output=True,
                             text=True, check=True)
        return out.stdout.strip()

    def start(self) -> None:
        extra = ["--config", str(self.config)] if self.config else []
        self.proc = subprocess.Popen(
            [binary(), "--db", str(self.db), "serve", "--listen", f"127.0.0.1:{self.port}",
             *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError(f"aiaudit serve did not start: {line}{self.proc.stderr.read()}")
        self.verifier_key = self.proc.stdout.readline().split()[-1]

    def stop(self) -> str:
        """SIGTERM, as a service manager stops it; returns what it wrote to stderr."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, err
        return err

    def wait_ready(self, timeout: float = 10.0) -> None:
        import urllib.request

        end = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(self.url + "/readyz", timeout=1).read()
                return
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)
