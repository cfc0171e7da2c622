"""``recogenre serve`` against hostile and careless clients (issue 9 section 6, issue 13).

One real server process with a small connection limit and a short timeout, so that the
limits are reached by a handful of sockets and the deadlines pass in seconds; every
socket a test opens is closed in ``finally``, and the server is stopped by its pid.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from recogenre.analysis.genres import GENRES
from recogenre.apps.http_guard import MIN_BODY_BYTES_PER_S
from tests.conftest import ROOT, clip
from tests.serving import running_server

MAX_UPLOAD_MB = 4
CONNECTION_LIMIT = 40
TIMEOUT_S = 2
# Generous bounds on what must happen "soon": far above the few seconds it takes, far below "never".
ANSWER_WITHIN_S = 30
SHORT_CLIP = "die.au"  # 13 s: the cheapest real classification


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmpdir = tmp_path_factory.mktemp("hostile-tmpdir")
    log = tmp_path_factory.mktemp("hostile-log") / "stderr.txt"
    options = ["--max-upload-mb", str(MAX_UPLOAD_MB), "--threads", "2"]
    options += ["--connection-limit", str(CONNECTION_LIMIT), "--timeout", str(TIMEOUT_S)]
    with running_server(tmpdir, log, *options) as srv:
        yield srv
        assert "Traceback" not in log.read_text()


def connect(server) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_WITHIN_S)
    return s


def read_until_closed(s: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (fails on a timeout)."""
    chunks = []
    while chunk := s.recv(1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def parse_response(raw: bytes) -> tuple[int, dict, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def urllib_post(server, path: str, data: bytes, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}", data=data, headers=headers or {}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=ANSWER_WITHIN_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def healthz_status(server) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=ANSWER_WITHIN_S) as r:
        return r.status


def test_idle_and_trickling_connections_cannot_make_healthz_unreachable(server):
    """150 connections (3.75 times the limit): idle ones, and ones sending a header a byte at a time."""
    sockets: list[socket.socket] = []
    stop = threading.Event()
    try:
        for _ in range(150):
            sockets.append(connect(server))
        tricklers = sockets[::5]
        header = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 4096

        def trickle() -> None:
            for byte in header:
                if stop.is_set():
                    return
                for s in tricklers:
                    with contextlib.suppress(OSError):
                        s.send(bytes([byte]))
                time.sleep(0.1)

        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        time.sleep(0.5)
        assert healthz_status(server) == 200  # urlopen's timeout bounds the wait

        # None of them can hold a connection: idle ones time out, tricklers miss the header
        # deadline (each byte is activity, so waitress' own timeout never fired), and the oldest
        # are closed to make room for new clients.
        still_open = set(sockets)
        deadline = time.monotonic() + ANSWER_WITHIN_S
        while still_open and time.monotonic() < deadline:
            for s in select.select(list(still_open), [], [], 1)[0]:
                try:
                    closed = s.recv(1 << 16) == b""
                except OSError:
                    closed = True
                if closed:
                    still_open.discard(s)
        assert not still_open, f"{len(still_open)} of 150 connections still open"
        assert healthz_status(server) == 200
    finally:
        stop.set()
        for s in sockets:
            s.close()


def test_a_slow_upload_holds_no_worker_and_a_trickling_one_is_closed(server):
    """Slow bodies (above the minimum rate) while /healthz keeps answering; a byte a second is cut off."""
    slow, trickling = [], []
    try:
        for group in (slow, slow, slow, slow, trickling):  # more slow uploads than the server's 2 threads
            s = connect(server)
            s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc")
            group.append(s)
        for _ in range(5):
            time.sleep(TIMEOUT_S / 2)
            for s in slow:
                s.sendall(b"x" * MIN_BODY_BYTES_PER_S * TIMEOUT_S)
            with contextlib.suppress(OSError):  # a byte within --timeout each time: not silent, too slow
                trickling[0].sendall(b"x")
            assert healthz_status(server) == 200
        assert closed_by_server(slow + trickling) == trickling
    finally:
        for s in slow + trickling:
            s.close()


def closed_by_server(sockets: list[socket.socket]) -> list[socket.socket]:
    """Those of ``sockets`` that the server has closed (it never answers a body that is still arriving)."""
    closed = []
    for s in select.select(sockets, [], [], 0.5)[0]:
        try:
            if s.recv(1) == b"":
                closed.append(s)
        except OSError:
            closed.append(s)
    return closed


def test_an_oversized_body_without_expect_gets_its_json_413_not_a_reset(server):
    body = os.urandom(MAX_UPLOAD_MB * 2**20 * 3)
    # raw socket: the whole body is sent (the server reads and discards it), then the answer is read
    s = connect(server)
    try:
        s.sendall(f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        s.sendall(body)
        status, headers, answer = parse_response(read_until_closed(s))
    finally:
        s.close()
    assert status == 413 and headers["content-type"] == "application/json"
    assert json.loads(answer) == {
        "error": f"upload larger than the limit of {MAX_UPLOAD_MB * 2**20} bytes ({MAX_UPLOAD_MB} MiB)",
        "status": 413,
    }
    # urllib, which sends the whole body before it reads anything
    status, answer = urllib_post(server, "/predict", body, {"Content-Type": "application/octet-stream"})
    assert (status, answer["status"]) == (413, 413)


def test_an_oversized_chunked_body_gets_its_json_413(server):
    chunk = os.urandom(2**20)
    s = connect(server)
    try:
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        with contextlib.suppress(OSError):  # the server may stop reading once the answer is sent
            for _ in range(MAX_UPLOAD_MB * 2):
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            s.sendall(b"0\r\n\r\n")
        status, _, answer = parse_response(read_until_closed(s))
    finally:
        s.close()
    assert status == 413 and json.loads(answer)["status"] == 413


def test_expect_100_continue_gets_413_instead_of_continue(server):
    s = connect(server)
    try:
        s.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % (MAX_UPLOAD_MB * 2**20 + 1)
        )
        status, headers, answer = parse_response(read_until_closed(s))  # no body was sent at all
    finally:
        s.close()
    assert status == 413 and headers["connection"] == "close"
    assert json.loads(answer)["status"] == 413
    # an acceptable size still gets its 100 Continue, and then the answer for the body
    s = connect(server)
    try:
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"hello")
        s.shutdown(socket.SHUT_WR)
        status, _, answer = parse_response(read_until_closed(s))
    finally:
        s.close()
    assert status == 415 and "not an audio file" in json.loads(answer)["error"]


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  # a TLS client hello, cut short
        b"HELLO WORLD FOO BAR\r\n\r\n" + b"junk" * 50_000,  # and more bytes after the bad line
    ],
    ids=["tls-hello", "words-then-junk"],
)
def test_a_garbage_request_line_gets_400_and_the_connection_closes(server, garbage):
    s = connect(server)
    try:
        s.sendall(garbage)
        status, headers, answer = parse_response(read_until_closed(s))
    finally:
        s.close()
    assert status == 400 and headers["connection"] == "close"
    assert json.loads(answer) == {"error": "bad request: Start line is invalid", "status": 400}


def test_an_unfinished_request_line_is_closed_after_the_timeout(server):
    s = connect(server)
    try:
        s.sendall(b"GARBAGE")  # no line end: waitress would wait for the rest for ever
        started = time.monotonic()
        assert read_until_closed(s) == b""
        assert time.monotonic() - started < ANSWER_WITHIN_S
    finally:
        s.close()


def test_get_root_serves_a_self_contained_upload_page(server):
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=ANSWER_WITHIN_S) as r:
        page = r.read().decode()
        assert r.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    form = re.search(r"<form [^>]*>", page).group(0)
    assert 'action="/predict"' in form and 'method="post"' in form and "multipart/form-data" in form
    assert '<input type="file" name="file"' in page
    assert "/healthz" in page and "jazz" in page
    assert not re.search(r"""(src|href)\s*=|url\(|@import""", page)  # nothing fetched from anywhere
    head = urllib.request.Request(f"http://127.0.0.1:{server.port}/", method="HEAD")
    with urllib.request.urlopen(head, timeout=ANSWER_WITHIN_S) as r:
        assert r.status == 200 and r.read() == b""


def test_a_file_sent_with_curl_d_gets_415_with_the_right_curl_options(server):
    data = Path(clip(SHORT_CLIP)).read_bytes()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # what `curl -d @FILE` sends: the file without its CR and LF bytes, labelled as a form
    status, answer = urllib_post(server, "/predict", data.replace(b"\r", b"").replace(b"\n", b""), form)
    assert status == 415
    assert "--data-binary @FILE" in answer["error"] and "-F file=@FILE" in answer["error"]
    # `curl --data-binary @FILE` without -H, and urllib without a Content-Type: the same label, intact file
    status, answer = urllib_post(server, "/predict?filename=die.au", data, form)
    assert status == 200 and answer["path"] == "die.au"
    status, answer = urllib_post(server, "/predict", b"a=1&b=2")  # a real form: urllib's default label
    assert status == 415 and "--data-binary @FILE" in answer["error"]


def test_a_raw_body_is_named_by_its_headers_or_the_upload_placeholder(server):
    data = Path(clip(SHORT_CLIP)).read_bytes()
    cases = {
        "upload": {"Content-Type": "application/octet-stream"},
        "upload.au": {"Content-Type": "audio/basic"},
        "mine.au": {"Content-Type": "application/octet-stream", "X-Filename": "mine.au"},
        "theirs.au": {"Content-Type": "audio/basic", "Content-Disposition": 'inline; filename="theirs.au"'},
    }
    for name, headers in cases.items():
        status, answer = urllib_post(server, "/predict", data, headers)
        assert status == 200, (name, answer)
        assert answer["path"] == name and answer["top_genre"] in (*GENRES, "unknown") and answer["genres"]
    text = b"liner notes\n" * 100
    status, answer = urllib_post(server, "/predict", text, {"Content-Type": "audio/mpeg"})
    assert status in (415, 422) and answer["error"].startswith("upload.mp3: ")


def test_a_multipart_file_name_that_is_not_utf8_gets_the_placeholder_and_is_classified(server):
    data = Path(clip(SHORT_CLIP)).read_bytes()
    body = b"".join(
        [
            b"--b0undary\r\n",
            b'Content-Disposition: form-data; name="file"; filename="bad\xff\xfe.au"\r\n',
            b"Content-Type: application/octet-stream\r\n\r\n",
            data,
            b"\r\n--b0undary--\r\n",
        ]
    )
    status, answer = urllib_post(
        server, "/predict", body, {"Content-Type": "multipart/form-data; boundary=b0undary"}
    )
    assert status == 200, answer
    assert answer["path"] == "upload.au" and answer["top_genre"] in (*GENRES, "unknown") and answer["genres"]
    # a UTF-8 name is still the client's own
    body = body.replace(b"bad\xff\xfe.au", "café.au".encode())
    status, answer = urllib_post(
        server, "/predict", body, {"Content-Type": "multipart/form-data; boundary=b0undary"}
    )
    assert (status, answer["path"]) == (200, "café.au")


def test_healthz_answers_while_an_upload_is_classified(server, tmp_path):
    """A long upload on one of the two threads: the server keeps answering on the other."""
    rng = np.random.default_rng(3)
    long_clip = tmp_path / "long.wav"
    sf.write(long_clip, rng.uniform(-0.5, 0.5, 8000 * 240).astype(np.float32), 8000, subtype="PCM_16")
    answers = []
    upload = threading.Thread(
        target=lambda: answers.append(
            urllib_post(server, "/predict", long_clip.read_bytes(), {"Content-Type": "audio/wav"})
        )
    )
    upload.start()
    try:
        during = 0
        while upload.is_alive():
            assert healthz_status(server) == 200
            during += upload.is_alive()
            time.sleep(0.2)
    finally:
        upload.join()
    assert answers[0][0] == 200 and answers[0][1]["path"] == "upload.wav"
    assert during >= 1  # at least one /healthz answered while the classification was still running


def test_bad_connection_options_are_one_line_before_the_model_loads(tmp_path):
    missing = str(tmp_path / "none.h5")  # loading the model first would complain about these weights instead
    proc = subprocess.run(
        [sys.executable, "-m", "recogenre", "serve", "--weights", missing, "--timeout", "nan"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "--timeout within (0, 3600] s" in proc.stderr
    from recogenre.apps.service import argument_problem

    good = {"max_upload_mb": 1.0, "threads": 2, "connection_limit": 50, "timeout": 1.0}
    good |= {"max_decode_cpu": 30.0, "max_decodes": None}
    assert argument_problem(argparse.Namespace(**good)) is None
    for bad in [{"connection_limit": 2}, {"timeout": 0.0}, {"timeout": 1e9}, {"max_upload_mb": float("nan")}]:
        assert argument_problem(argparse.Namespace(**{**good, **bad})), bad
