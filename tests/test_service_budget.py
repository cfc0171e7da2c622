"""``recogenre serve``'s own upload budget (issue 18): length, decode CPU time, decode slots.

The crafted FLAC of the issue (an hour at 768 kHz in constant frames of 65,535 samples,
about 4,700 samples per byte) is generated here; one real server with two threads (one
decode slot) and a CPU budget of one second, stopped by its pid.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.crafted_flac import constant_flac
from tests.serving import running_server

CPU_BUDGET_S = 1
ANSWER_WITHIN_S = 60  # a bound on "never", far above what any answer here takes


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmpdir = tmp_path_factory.mktemp("budget-tmpdir")
    log = tmp_path_factory.mktemp("budget-log") / "stderr.txt"
    with running_server(tmpdir, log, "--threads", "2", "--max-decode-cpu", str(CPU_BUDGET_S)) as srv:
        yield srv
        assert "Traceback" not in log.read_text()


def post(server, data: bytes, name: str) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/predict?filename={name}",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=ANSWER_WITHIN_S) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


def healthz(server) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=ANSWER_WITHIN_S) as r:
        assert r.status == 200
        return json.loads(r.read())


def test_the_crafted_hour_long_flac_is_refused_from_its_header(server, tmp_path):
    crafted = constant_flac(tmp_path / "crafted.flac", 3600)
    assert crafted.stat().st_size < 1_000_000  # the file: an hour in well under a megabyte
    health = healthz(server)
    assert health["max_duration_s"] == 1800 and health["max_decode_cpu_s"] == CPU_BUDGET_S
    status, _, answer = post(server, crafted.read_bytes(), "crafted.flac")
    assert status == 413 and answer["status"] == 413
    # refused from the declared length: nothing was decoded, so the CPU budget was never reached
    assert answer["error"] == (
        "crafted.flac: the header declares 60.0 min of audio, more than the 0.5 h limit (--max-duration)"
    )


def test_a_decode_over_the_cpu_budget_stops_and_healthz_answers_meanwhile(server, tmp_path):
    """29 minutes at 768 kHz: within the length budget, far over one CPU second to decode and resample."""
    held = constant_flac(tmp_path / "held.flac", 29 * 60).read_bytes()
    answers = []
    upload = threading.Thread(target=lambda: answers.append(post(server, held, "held.flac")))
    upload.start()
    try:
        # /healthz reports the running decode: it answered *while* that decode held the only slot
        seen_running = False
        while upload.is_alive() and not seen_running:
            seen_running = healthz(server)["decodes_running"] == 1
            time.sleep(0.02)
        assert seen_running, answers
        # the slot is taken: another upload is told to come back, at once and without queueing
        status, headers, answer = post(server, b"RIFF", "other.wav")
        assert status == 503 and headers["Retry-After"] == "5"
        assert answer == {
            "error": "busy: 1 uploads are being decoded (--max-decodes); retry in 5 s",
            "status": 503,
        }
    finally:
        upload.join()
    status, _, answer = answers[0]
    assert status == 413
    assert (
        answer["error"]
        == f"held.flac: decoding needed more than {CPU_BUDGET_S} s of CPU time (--max-decode-cpu)"
    )
    assert healthz(server)["decodes_running"] == 0  # the slot is free again


def test_budget_options_are_checked_in_one_line():
    from recogenre.analysis.outcomes import UsageError
    from recogenre.apps.service import argument_problem
    from recogenre.cli import build_parser
    from recogenre.pipeline.options_check import check_numbers

    def problem(*options: str) -> str | None:
        args = build_parser().parse_args(["serve", *options])
        try:
            check_numbers(args)
        except UsageError as e:
            return str(e)
        return argument_problem(args)

    assert problem() is None and problem("--threads", "3", "--max-decodes", "2") is None
    args = build_parser().parse_args(["serve"])
    assert (args.max_duration, args.max_decode_cpu, args.threads, args.max_decodes) == (0.5, 30.0, 4, None)
    assert build_parser().parse_args(["classify", "x"]).max_duration == 12  # run and classify keep theirs
    problems = {
        ("--threads", "1"): "--threads must be a whole number >= 2 (one thread is kept for /healthz)",
        (
            "--threads",
            "3",
            "--max-decodes",
            "3",
        ): "--max-decodes must be a whole number >= 1, less than --threads (3)",
        ("--max-decodes", "0"): "--max-decodes must be a whole number >= 1",
        ("--max-decode-cpu", "nan"): "--max-decode-cpu must be a number of seconds > 0",
    }
    for options, message in problems.items():
        assert problem(*options).startswith(message), options
