"""The Python API (``import recogenre``) on the real clips and weights: the same results as the commands."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import recogenre
from recogenre.analysis.decode import decode
from recogenre.api import _model
from recogenre.pipeline.layout import RUN_ID
from tests.conftest import AUDIO, ROOT, WEIGHTS, clip, wait_until

W = str(WEIGHTS)
HEAVY = ("apache_beam", "tensorflow", "keras", "openvino")


def close(a, b, tol: float = 1e-9) -> bool:
    """JSON-like values equal, numbers to ``tol`` (absolute)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(close(a[k], b[k], tol) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(close(x, y, tol) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, abs_tol=tol)
    return a == b


def test_import_is_cheap_and_offers_the_api():
    from recogenre.analysis.openvino_model import ensure_cached
    from recogenre.analysis.weights import resolve_weights

    ensure_cached(*resolve_weights(W))  # a warm cache, as after the first use on a machine
    probe = (
        "import json, sys, recogenre\n"
        "before = sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:]))\n"
        "api = [recogenre.classify, recogenre.classify_array, recogenre.load_snapshot, recogenre.run]\n"
        "after = sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:]))\n"
        f"recogenre.classify({clip('die.au')!r}, weights={W!r})\n"
        "classified = sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:]))\n"
        "print(json.dumps([before, after, classified, sorted(recogenre.__all__), dir(recogenre)]))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, *HEAVY], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    before, after, classified, public, listed = json.loads(done.stdout)
    assert before == [] and after == [], (before, after)  # not at import, nor when the names are used
    assert classified == ["openvino"]  # the default backend; no Beam, and no TensorFlow (model cached)
    assert set(public) == set(recogenre._EXPORTS) and set(public) <= set(listed)
    with pytest.raises(AttributeError, match="no attribute 'clasify'"):
        recogenre.clasify  # noqa: B018


def test_classify_equals_the_command_json():
    names = [clip("disco.00000.au"), clip("die.au")]
    done = subprocess.run(
        [sys.executable, "-m", "recogenre", "classify", "--json", "--weights", W, *names],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    results = [recogenre.classify(name, weights=WEIGHTS) for name in names]  # a Path works as a str
    assert [r.to_json()["top_genre"] for r in results] == ["disco", "unknown"]  # die.au: 0.016 < 0.06
    original = recogenre.classify(names[1], weights=WEIGHTS, min_confidence=0)  # as the original labelled it
    assert original.to_json()["top_genre"] == "classical"
    for result, line in zip(results, printed):
        assert isinstance(result, recogenre.TrackResult)
        assert close(result.to_json(), line, 1e-6), (result.to_json(), line)
    text = str(results[0]).splitlines()
    assert text[0] == f"{names[0]}  (30.1 s, 1 frame; confidence 0.243; analysed 29.1 s)"
    assert text[1].split()[0] == "disco" and len(text) == 11
    assert repr(results[0]) == f"TrackResult({names[0]}: disco 82.5%, 1 frame, 30.1 s)"


def test_classify_loads_the_model_once_per_weights_and_backend():
    first = _model(W, None, None)
    recogenre.classify(clip("metal.00000.au"), weights=W)
    assert _model(W, "openvino", "fp32") is first


def test_classify_raises_the_projects_errors(tmp_path):
    (tmp_path / "notes.mp3").write_text("liner notes, not audio\n" * 50)
    with pytest.raises(recogenre.AudioError) as missing:
        recogenre.classify(tmp_path / "missing.flac", weights=W)
    assert missing.value.kind == "missing"
    with pytest.raises(recogenre.AudioError) as text:
        recogenre.classify(tmp_path / "notes.mp3", weights=W)
    assert text.value.kind == "not_audio"
    with pytest.raises(recogenre.WeightsError, match="not found"):
        recogenre.classify(clip("die.au"), weights=tmp_path / "nothing.h5")
    with pytest.raises(ValueError, match="unknown backend 'tf'"):
        recogenre.classify(clip("die.au"), weights=W, backend="tf")
    with pytest.raises(ValueError, match="bf16 needs --backend openvino"):
        recogenre.classify(clip("die.au"), weights=W, backend="keras", precision="bf16")
    with pytest.raises(ValueError, match="--trim-seconds must be a number of seconds >= 0, not -1"):
        recogenre.classify(clip("die.au"), weights=W, trim_seconds=-1)
    with pytest.raises(ValueError, match="max_duration must be a positive number of hours"):
        recogenre.classify(clip("die.au"), weights=W, max_duration=float("nan"))
    with pytest.raises(recogenre.AudioError, match="limit") as long:  # 30 s of audio against 1 s
        recogenre.classify(clip("disco.00000.au"), weights=W, max_duration=1 / 3600)
    assert long.value.kind == "too_long"


def without_path(result) -> dict:
    return {k: v for k, v in result.to_json().items() if k != "path"}


@pytest.mark.parametrize("subtype,dtype", [("FLOAT", "float32"), ("PCM_16", "int16")])
def test_classify_array_of_a_wavs_samples_equals_classify_of_the_wav(tmp_path, subtype, dtype):
    y, sr = sf.read(clip("disco.00000.au"), dtype="float32")  # 22050 Hz: resampled to 12 kHz
    stereo = np.stack([y, 0.5 * y[::-1]], axis=1)  # two different channels: the mix matters
    wav = tmp_path / "stereo.wav"
    sf.write(wav, stereo, sr, subtype=subtype)
    from_file = recogenre.classify(wav, weights=W)
    samples, rate = sf.read(wav, dtype=dtype)  # (n, 2): soundfile's layout
    assert rate == sr == 22050 and samples.shape == (len(y), 2)
    for given in (samples, samples.T):  # and librosa's (channels, n)
        from_array = recogenre.classify_array(given, rate, weights=W)
        assert from_array.path == "<array>" and from_array.sample_rate == sr
        assert close(without_path(from_array), without_path(from_file), 1e-6)
    assert from_file.vector.top_genre == "disco"


def test_classify_array_at_other_rates(tmp_path):
    import soxr

    path = clip("metal.00000.au")
    from_file = recogenre.classify(path, weights=W)
    _, y12 = decode(path)  # the decoder's own 12 kHz samples: nothing left to resample
    at_12k = recogenre.classify_array(y12, 12_000, weights=W, name=path)
    assert close(at_12k.to_json(), from_file.to_json(), 1e-9)
    y, sr = sf.read(path, dtype="float32")
    y48 = soxr.resample(y, sr, 48_000)  # the same music at another rate: resampled twice, nearly equal
    at_48k = recogenre.classify_array(y48, 48_000, weights=W)
    assert at_48k.sample_rate == 48_000 and at_48k.vector.top_genre == "metal"
    assert abs(at_48k.duration_s - from_file.duration_s) < 1e-3
    assert np.abs(at_48k.vector.genres - from_file.vector.genres).max() < 2e-3


@pytest.mark.parametrize(
    "samples,rate,error,message",
    [
        (np.zeros(0, np.float32), 22050, ValueError, "empty"),
        (np.array([0.1, np.nan, 0.2] * 1000, np.float32), 22050, ValueError, "NaN or infinite"),
        (np.array([0.1, np.inf] * 1000), 22050, ValueError, "NaN or infinite"),
        (np.full(1000, 3e6, np.float32), 22050, ValueError, "beyond"),
        (np.zeros(1000), 0, ValueError, "implausible"),
        (np.zeros(1000), 10**9, ValueError, "implausible"),
        (np.zeros(1000), 44100.5, ValueError, "whole number of Hz"),
        (np.zeros(1000), float("nan"), ValueError, "whole number of Hz"),
        (np.zeros(1000), True, TypeError, "number of Hz"),
        (np.zeros(1000), "44100", TypeError, "number of Hz"),
        (np.zeros((2, 2)), 22050, ValueError, "cannot tell channels"),
        (np.zeros((2, 3, 1000)), 22050, ValueError, "3-D"),
        (np.zeros((100, 22050)), 22050, ValueError, "100 channels"),
        (np.zeros(1000, complex), 22050, TypeError, "complex"),
        (np.array(["a"] * 10), 22050, TypeError, "<U1"),
        ("song.mp3", 22050, TypeError, "classify\\(path\\)"),
    ],
)
def test_classify_array_refuses_what_is_not_a_waveform(samples, rate, error, message):
    with pytest.raises(error, match=message):
        recogenre.classify_array(samples, rate, weights=W)


def test_classify_array_of_silence_is_silent():
    result = recogenre.classify_array(np.zeros(44100 * 5, np.int16), 44100, weights=W)
    assert result.vector.silent and result.to_json()["genres"] is None and len(result.frames) == 1


def test_run_then_load_snapshot(tmp_path):
    catalogue, out = tmp_path / "music", tmp_path / "out"
    catalogue.mkdir()
    for name in ("disco.00000.au", "die.au"):
        (catalogue / name).symlink_to(AUDIO / name)
    with pytest.raises(FileNotFoundError, match="no published run"):
        recogenre.load_snapshot(out)

    snap = recogenre.run(catalogue, out, weights=WEIGHTS, direct_num_workers=1, progress_seconds=0)

    assert RUN_ID.fullmatch(snap.run_id) and Path(out, "latest").resolve() == Path(snap.path)
    assert snap.manifest["run_id"] == snap.run_id and snap.manifest["options"]["beam_args"] == [
        "--direct_num_workers=1"
    ]
    assert len(snap.tracks) == 2 and len(snap.errors) == 0 and set(snap.changes["change"]) == {"new"}
    for row in snap.tracks.itertuples():
        single = recogenre.classify(row.path, weights=W)
        assert row.top_genre == single.top_genre  # "unknown" below --min-confidence in both
        assert math.isclose(row.top_score, single.vector.top_score, abs_tol=1e-6)
    assert sorted(snap.frames["track_id"]) == sorted(snap.tracks["track_id"])

    latest = recogenre.load_snapshot(out)
    by_id = recogenre.load_snapshot(str(out), run=snap.run_id)
    for loaded in (latest, by_id):
        assert loaded.run_id == snap.run_id and loaded.tables.keys() == snap.tables.keys()
        assert loaded.tracks.equals(snap.tracks)
    assert repr(latest).startswith(
        f"Snapshot(run {snap.run_id}: 2 tracks, 2 frames, 0 errors, 2 changes, 1 album;"
    )
    with pytest.raises(ValueError, match="not a run id"):
        recogenre.load_snapshot(out, run="../../etc")
    with pytest.raises(FileNotFoundError, match=f"finished runs: {snap.run_id}"):
        recogenre.load_snapshot(out, run="20200101T000000Z-abcd")
    with pytest.raises(AttributeError, match="no table 'no_such_table'"):
        latest.no_such_table  # noqa: B018
    # Reading a local snapshot (a notebook, the beets plugin, report, tag) imports no Beam.
    fresh = subprocess.run(
        [sys.executable, "-c", "import sys, recogenre; s = recogenre.load_snapshot(sys.argv[1]); "
         "print(len(s.tracks), 'apache_beam' in sys.modules)", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert fresh.stdout.split() == ["2", "False"], fresh.stderr


def test_run_refuses_bad_options_before_anything_starts(tmp_path):
    catalogue, out = tmp_path / "music", tmp_path / "out"
    catalogue.mkdir()
    (catalogue / "die.au").symlink_to(AUDIO / "die.au")
    cases = [
        (dict(fulll=True), ValueError, "unknown option --fulll \\(neither recogenre nor Beam knows it"),
        (dict(keep=0), ValueError, "--keep must be a whole number >= 1"),
        (dict(max_error_rate=1.5), ValueError, "--max-error-rate must be a fraction from 0 to 1, not 1.5"),
        (dict(batch_size=2.5), ValueError, "argument --batch-size: invalid int value: '2.5'"),
        (dict(backend="tf"), ValueError, "argument --backend: invalid choice: 'tf'"),
        (dict(direct_num_workers="two"), ValueError, "direct_num_workers"),
        (dict(output="elsewhere"), TypeError, "multiple values for argument 'output'"),
        (dict(help=True), TypeError, "no option 'help'"),
        (dict(keep={"n": 2}), TypeError, "option keep"),
    ]
    for options, error, message in cases:
        with pytest.raises(error, match=message):
            recogenre.run(catalogue, out, weights=W, **options)
    with pytest.raises(recogenre.RunRefused, match="does not exist") as refused:
        recogenre.run(tmp_path / "nothing", out, weights=W, direct_num_workers=1)
    assert refused.value.status == 2 and isinstance(refused.value, ValueError)
    with pytest.raises(recogenre.RunRefused, match="not found"):
        recogenre.run(catalogue, out, weights=tmp_path / "nothing.h5", direct_num_workers=1)
    assert not out.exists()  # nothing was written for any of them


API_DOC = ROOT / "docs" / "api.md"
NUMBER = re.compile(r"-?\d+\.\d+")


def readme_session() -> tuple[str, str]:
    """The python block of docs/api.md's session and the output block pasted after it."""
    section = API_DOC.read_text().split("## A session", 1)[1].split("\n## ", 1)[0]
    code, output = re.findall(r"```(?:python|text)\n(.*?)```", section, re.S)[:2]
    return code, output


def comparable(text: str) -> tuple[list[str], list[float]]:
    """Lines without run ids, timing lines and numbers with decimals; those numbers apart."""
    lines = [RUN_ID.sub("RUN", line) for line in text.splitlines() if not line.startswith("wall time ")]
    numbers = [float(n) for line in lines for n in NUMBER.findall(line)]
    return [NUMBER.sub("N", line) for line in lines], numbers


def test_the_documented_python_session_runs_and_prints_what_docs_api_shows(tmp_path):
    """In a scratch folder beside a scratch ``shared/`` with the clips it names, as in test_docs."""
    code, shown = readme_session()
    work = tmp_path / "checkout"
    work.mkdir()
    (tmp_path / "shared" / "audio").mkdir(parents=True)
    for name in {*re.findall(r"\.\./shared/audio/([\w.\-]+)", code), "die.au"}:
        (tmp_path / "shared" / "audio" / name).symlink_to(AUDIO / name)  # die.au: matched by *.au
    env = {**os.environ, "RECOGENRE_WEIGHTS": W}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got_lines, got_numbers = comparable(done.stdout)
    shown_lines, shown_numbers = comparable(shown)
    assert got_lines == shown_lines
    assert np.allclose(got_numbers, shown_numbers, atol=2e-3, rtol=0), (got_numbers, shown_numbers)


INTERRUPTED = """
import json, os, sys, recogenre
out = sys.argv[2]
try:
    recogenre.run(sys.argv[1], out, weights=sys.argv[3], direct_num_workers=2, progress_seconds=0)
    print(json.dumps("finished"))
except KeyboardInterrupt:
    print(json.dumps({"lock": os.path.exists(os.path.join(out, ".recogenre.lock")),
                      "latest": os.path.exists(os.path.join(out, "latest"))}))
"""


def beam_workers_of(pid: int) -> list[int]:
    from recogenre.pipeline.interrupt import descendants

    return [child for child in descendants(pid) if is_live_beam_worker(child)]


def started_by_runner(pids: list[int]) -> list[int]:
    commands = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            commands[pid] = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [pid for pid, c in commands.items() if b"sdk_worker_main" in c or b"\0attach\0" in c]


def is_live_beam_worker(pid: int) -> bool:
    from recogenre.pipeline.interrupt import is_beam_worker

    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z" and is_beam_worker(Path(f"/proc/{pid}/cmdline").read_bytes())
    except (OSError, IndexError):
        return False


def test_interrupting_run_raises_keyboard_interrupt_and_stops_its_workers(tmp_path):
    """A notebook's interrupt (SIGINT) during a multi-process run: KeyboardInterrupt, the
    process lives on, no worker is left and the lock is released (the command exits instead)."""
    import signal
    import time

    catalogue = tmp_path / "music"
    catalogue.mkdir()
    for i in range(60):  # 3.4 h of audio: still running when it is interrupted (the interrupt ends it)
        (catalogue / f"take{i}.mp3").symlink_to(AUDIO / "example_cl.mp3")
    child = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED, str(catalogue), str(tmp_path / "out"), W],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal
    )  # fmt: skip
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 240
        # Signalled once the runner has started its two worker commands (Beam's own, or the
        # `attach` that hands work to a warm worker process): the run is under way.
        while len(started_by_runner(workers)) < 2 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = beam_workers_of(child.pid)
        assert len(started_by_runner(workers)) >= 2, "the run's worker processes did not start"
        time.sleep(0.5)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
        wait_until(lambda: not [pid for pid in workers if is_live_beam_worker(pid)], "workers to exit")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pid in workers:  # only if the test failed: they are gone otherwise
            if is_live_beam_worker(pid):
                os.kill(pid, signal.SIGKILL)
    assert child.returncode == 0, err[-3000:]
    assert json.loads(out) == {"lock": False, "latest": False}, err[-3000:]
    assert "Traceback" not in err, err[-3000:]


def test_run_refused_names_the_run_holding_the_output_folder(tmp_path):
    """Typed outcome (issue 19): RunRefused from the run itself, no printed line picked apart."""
    from tests.test_guard_lock import start

    catalogue, out = tmp_path / "music", tmp_path / "out"
    catalogue.mkdir()
    out.mkdir()
    (catalogue / "die.au").symlink_to(AUDIO / "die.au")
    holder = start(str(out))  # another process takes the lock and holds it until killed
    try:
        assert holder.stdout.readline().strip() == "ready" and holder.stdout.readline().strip() == "got"
        held = rf"another run is using this output folder \(pid {holder.pid} on "
        with pytest.raises(recogenre.RunRefused, match=held) as refused:
            recogenre.run(catalogue, out, weights=W, direct_num_workers=1)
        assert refused.value.status == 1  # what `recogenre run` exits with in this case, as before
    finally:
        holder.kill()
        holder.wait()
    assert not (out / "runs").exists() and not (out / "latest").exists()  # nothing was written
