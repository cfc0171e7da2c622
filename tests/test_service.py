"""``recogenre serve`` as a client sees it: a real server process, real clips, plain HTTP."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import AUDIO, ROOT, WEIGHTS, clip
from transforms.weights import LEGACY_SHA256

MAX_UPLOAD_MB = 2  # every clip but example_cl.mp3 (3.2 MB) fits
CLIPS = sorted(p.name for p in AUDIO.iterdir() if p.name != "example_cl.mp3")
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


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmpdir = tmp_path_factory.mktemp("service-tmpdir")  # the server's TMPDIR, and nothing else's
    log = tmp_path_factory.mktemp("service-log") / "stderr.txt"
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    cmd = [
        sys.executable,
        "-m",
        "pipeline.cli",
        "serve",
        "--port",
        str(port),
        "--weights",
        str(WEIGHTS),
        "--max-upload-mb",
        str(MAX_UPLOAD_MB),
    ]
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
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


@pytest.fixture(scope="module")
def classified() -> dict[str, dict]:
    """What ``recogenre classify --json`` prints for each clip, by file name."""
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "classify", "--json", "--weights", str(WEIGHTS)]
        + [clip(n) for n in CLIPS],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {os.path.basename(o["path"]): o for o in map(json.loads, proc.stdout.splitlines())}


def same_as_classify(answer: dict, expected: dict, name: str) -> None:
    assert answer["path"] == name  # the client's file name, not the server's temporary copy
    assert {k: v for k, v in answer.items() if k != "path"} == {
        k: v for k, v in expected.items() if k != "path"
    }


def test_healthz_says_ready_with_the_weights_checksum(server):
    status, headers, body = server.request("GET", "/healthz")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body["status"] == "ready" and body["weights_sha256"] == LEGACY_SHA256
    assert body["max_upload_bytes"] == MAX_UPLOAD_MB * 2**20
    assert "serving on http://127.0.0.1:" in server.log.read_text()  # loopback unless told otherwise


@pytest.mark.parametrize("name,multipart", [("disco.00000.au", True), ("1546464360295.3gp", False)])
def test_a_clip_gets_the_json_of_classify(server, classified, name, multipart):
    status, headers, answer = server.upload(clip(name), multipart=multipart)
    assert status == 200, answer
    assert headers["Content-Type"] == "application/json"
    same_as_classify(answer, classified[name], name)


def test_requests_the_service_refuses_get_a_status_and_a_json_error(server, bad_files):
    text = Path(bad_files["text"]).read_bytes()
    cases = {
        "empty body": (("POST", "/predict", b""), 400),
        "empty file part": (("POST", "/predict", *_multipart_request("empty.mp3", b"")), 400),
        "text file": (("POST", "/predict", *_multipart_request("notes.txt", text)), 415),
        "random bytes": (("POST", "/predict", Path(bad_files["random"]).read_bytes()), 415),
        "oversized body": (("POST", "/predict", os.urandom(MAX_UPLOAD_MB * 2**20 + 1)), 413),
        "much oversized body": (("POST", "/predict", os.urandom(8 * MAX_UPLOAD_MB * 2**20)), 413),
        "wrong method": (("GET", "/predict"), 405),
        "wrong method on healthz": (("POST", "/healthz", b"x"), 405),
        "unknown path": (("GET", "/nowhere"), 404),
    }
    for what, (args, want) in cases.items():
        status, headers, body = server.request(*args)
        assert status == want, (what, body)
        assert headers["Content-Type"] == "application/json", what
        assert body["status"] == want and isinstance(body["error"], str) and body["error"], what
    assert server.request("GET", "/predict")[1]["Allow"] == "POST"
    assert server.request("PUT", "/healthz", b"x")[1]["Allow"] == "GET, HEAD"
    status, _, body = server.request("POST", "/predict", *_multipart_request("notes.txt", text))
    assert "notes.txt: not an audio file" in body["error"]


def _multipart_request(name: str, data: bytes) -> tuple[bytes, dict]:
    body, content_type = multipart_body(name, data)
    return body, {"Content-Type": content_type}


def test_concurrent_requests_each_get_their_own_answer(server, classified):
    start = threading.Barrier(len(CLIPS))

    def ask(i_name):
        i, name = i_name
        start.wait()
        return name, server.upload(clip(name), multipart=i % 2 == 0)

    with ThreadPoolExecutor(len(CLIPS)) as pool:
        answers = list(pool.map(ask, enumerate(CLIPS)))
    assert len(answers) == 8
    for name, (status, _, answer) in answers:
        assert status == 200, (name, answer)
        same_as_classify(answer, classified[name], name)


def test_no_temporary_file_remains(server):
    leftovers = [p for p in server.tmpdir.rglob("*") if not p.is_dir()]
    assert leftovers == []
    # only the service's private upload folder, itself empty
    assert [p.name.startswith("recogenre-serve-") for p in server.tmpdir.iterdir()] == [True]


def test_stopping_the_server_removes_its_upload_folder(server):
    """Runs last: SIGTERM stops the server cleanly and leaves its TMPDIR as it found it."""
    server.proc.terminate()
    assert server.proc.wait(60) == 0
    assert list(server.tmpdir.iterdir()) == []
    log = server.log.read_text()
    assert "Traceback" not in log
    assert "POST /predict 200" in log and "POST /predict 413" in log


def test_client_file_names_are_echoed_without_folders_or_control_characters():
    from apps.service import client_name, safe_suffix

    assert client_name("C:\\music\\take 1.mp3") == "take 1.mp3"
    assert client_name("../../x\nforged log line.wav") == "xforged log line.wav"
    assert client_name("") is None and client_name(None) is None
    assert safe_suffix("song.MP3") == ".mp3" and safe_suffix(None, "audio/mpeg") == ".mp3"
    assert safe_suffix("notes.tar;rm -rf") == ""
