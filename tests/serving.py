"""A real ``recogenre serve`` process for the service tests: started, awaited, and stopped by its pid."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import ROOT, WEIGHTS

READY_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, proc: subprocess.Popen, port: int, tmpdir: Path, log: Path):
        self.proc, self.port, self.tmpdir, self.log = proc, port, tmpdir, log

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """(status, headers, parsed JSON body); reads the answer even if the server cut the upload short."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.connect()
            # A 413 is sent before the body is read, so sending may fail; the answer is there.
            with contextlib.suppress(OSError):
                conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            raw = response.read()
            return response.status, dict(response.getheaders()), json.loads(raw) if raw else None
        finally:
            conn.close()

    def upload(self, path: str, multipart: bool = True):
        data = Path(path).read_bytes()
        name = os.path.basename(path)
        if not multipart:
            return self.request(
                "POST", f"/predict?filename={name}", data, {"Content-Type": "application/octet-stream"}
            )
        body, content_type = multipart_body(name, data)
        return self.request("POST", "/predict", body, {"Content-Type": content_type})


def multipart_body(filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = b"".join(
        [
            f"--{boundary}\r\n".encode(),
            b'Content-Disposition: form-data; name="note"\r\n\r\nnot the file\r\n',
            f"--{boundary}\r\n".encode(),
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'.encode(),
            b"Content-Type: application/octet-stream\r\n\r\n",
            data,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    return body, f"multipart/form-data; boundary={boundary}"


@contextlib.contextmanager
def running_server(tmpdir: Path, log: Path, *options: str) -> Iterator[Server]:
    """``recogenre serve`` with the shared weights and ``options``; stopped whatever happens."""
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmpdir)}  # the server's TMPDIR, and nothing else's
    cmd = [sys.executable, "-m", "recogenre", "serve", "--port", str(port), "--weights", str(WEIGHTS)]
    with open(log, "w") as err:
        proc = subprocess.Popen([*cmd, *options], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    srv = Server(proc, port, tmpdir, log)
    try:  # the server is stopped whatever happens, even if it never became ready
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            assert proc.poll() is None, f"server exited: {log.read_text()[-3000:]}"
            with contextlib.suppress(OSError):
                if srv.request("GET", "/healthz")[0] == 200:
                    break
            assert time.monotonic() < deadline, f"server not ready: {log.read_text()[-3000:]}"
            time.sleep(0.5)
        yield srv
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
