"""``recogenre serve`` as a client sees it: a real server process, real clips, plain HTTP."""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from recogenre.analysis.weights import LEGACY_SHA256
from tests.conftest import AUDIO, classify_json, clip
from tests.serving import multipart_body, running_server

MAX_UPLOAD_MB = 2  # every clip but example_cl.mp3 (3.2 MB) fits
CLIPS = sorted(p.name for p in AUDIO.iterdir() if p.name != "example_cl.mp3")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmpdir = tmp_path_factory.mktemp("service-tmpdir")  # the server's TMPDIR, and nothing else's
    log = tmp_path_factory.mktemp("service-log") / "stderr.txt"
    # a decode slot for each of the concurrent uploads below (one thread stays free for /healthz)
    options = ["--max-upload-mb", str(MAX_UPLOAD_MB), "--threads", str(len(CLIPS) + 1)]
    with running_server(tmpdir, log, *options) as srv:
        yield srv


@pytest.fixture(scope="module")
def classified() -> dict[str, dict]:
    """What ``recogenre classify --json`` prints for each clip, by file name."""
    proc = classify_json(*(clip(n) for n in CLIPS))
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
    from recogenre.apps.service import client_name, safe_suffix

    assert client_name("C:\\music\\take 1.mp3") == "take 1.mp3"
    assert client_name("../../x\nforged log line.wav") == "xforged log line.wav"
    assert client_name("") is None and client_name(None) is None
    assert safe_suffix("song.MP3") == ".mp3" and safe_suffix(None, "audio/mpeg") == ".mp3"
    assert safe_suffix("notes.tar;rm -rf") == ""
