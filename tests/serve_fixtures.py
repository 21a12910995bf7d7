"""A real ``rnnlab serve`` process for the server's tests: started on a free port, ready when
``/health`` answers, stopped with SIGTERM (its exit status is kept for the tests that check it)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from serve_load import stop_server as stop  # SIGTERM, then SIGKILL past a timeout: the benchmark's own


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    returncode: int | None = None

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict]:
        return request(self.url + path, None, headers)

    def post(self, path: str, body, headers: dict | None = None) -> tuple[int, dict]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return request(self.url + path, data, headers)


def request(url: str, data: bytes | None, headers: dict | None = None, timeout: float = 60) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@contextlib.contextmanager
def serve(*args: str, env: dict | None = None, startup: float = 60) -> Iterator[Server]:
    """``rnnlab serve ARGS --port P`` in a child process, until the block ends (then SIGTERM)."""
    port = free_port()
    cmd = [sys.executable, "-m", "rnnlab", "serve", *args, "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    server = Server(f"http://127.0.0.1:{port}", proc)
    deadline = time.monotonic() + startup
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"rnnlab serve exited with {proc.returncode}: {proc.stderr.read()[-2000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(server.url + "/", timeout=2):  # the page needs no key
            break
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("rnnlab serve did not start")
        time.sleep(0.2)
    try:
        yield server
    finally:
        stop(proc)
        server.returncode = proc.returncode


def wait_for_health(url: str, proc: subprocess.Popen, timeout: float = 120) -> dict:
    """Poll ``url``/health until it answers 200 (then its JSON), failing if ``proc`` ends or
    ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"the server exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                return json.loads(r.read())
        except OSError:
            assert time.monotonic() < deadline, f"{url}/health did not answer in {timeout} s"
            time.sleep(0.05)
