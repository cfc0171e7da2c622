"""Nightly runs: only what changed is classified again, and nothing is ever half-published."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import AUDIO, WEIGHTS, assert_tables_agree, run_command, unstamped

CLIPS = ["disco.00000.au", "metal.00000.au", "die.au", "bensound-cute.mp3", "bensound-dubstep.mp3"]


def run(
    library: Path, out: Path, *extra: str, weights: Path = WEIGHTS, **popen
) -> subprocess.CompletedProcess:
    cmd = run_command(library, out, "--direct_num_workers=1", "--progress-seconds=0", *extra, weights=weights)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **popen)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def manifest(out: Path) -> dict:
    return json.loads((out / "latest" / "manifest.json").read_text())


def table(out: Path, name: str) -> pd.DataFrame:
    keys = {"tracks": ["path"], "frames": ["track_id", "frame_index"], "changes": ["path"]}[name]
    return pd.read_parquet(out / "latest" / name).sort_values(keys).reset_index(drop=True)


def same_results(a: Path, b: Path) -> None:
    """Tracks and frames equal but for the run that produced them."""
    for name in ("tracks", "frames"):
        x, y = table(a, name), table(b, name)
        assert_tables_agree(x, y, ignore=("run_id", "mtime"))


@pytest.fixture
def library(tmp_path) -> Path:
    lib = tmp_path / "library"
    lib.mkdir()
    for name in CLIPS:
        shutil.copyfile(AUDIO / name, lib / name)
    return lib


def test_second_run_decodes_nothing_and_changes_are_followed(library, tmp_path):
    out = tmp_path / "out"
    run(library, out)
    first = manifest(out)
    assert first["counts"]["new"] == first["counts"]["decoded"] == len(CLIPS)
    first_copy = tmp_path / "first"
    shutil.copytree(out, first_copy, symlinks=True)

    proc = run(library, out)  # nothing changed
    m = manifest(out)
    assert m["mode"] == "incremental" and m["previous_run"] == first["run_id"]
    assert m["counts"]["decoded"] == 0 and m["counts"]["unchanged"] == len(CLIPS)
    # No speed is claimed for audio that was carried over, not decoded.
    assert m["x_realtime"] is None and "nothing decoded" in proc.stdout and "real-time" not in proc.stdout
    assert first["x_realtime"] > 0 and first["decoded_audio_hours"] == pytest.approx(first["audio_hours"])
    same_results(first_copy, out)

    os.utime(library / "die.au", (time.time() + 60, time.time() + 60))  # touched, same bytes
    run(library, out)
    m = manifest(out)
    assert m["counts"]["decoded"] == 0 and m["counts"]["unchanged"] == len(CLIPS)
    changes = table(out, "changes").set_index("path")
    assert changes.loc[str(library / "die.au"), "reason"] == "same content, new mtime"
    same_results(first_copy, out)

    # Same size, new content: metal's samples written into disco's file.
    disco = (library / "disco.00000.au").read_bytes()
    metal = (AUDIO / "metal.00000.au").read_bytes()
    header, metal_header = int.from_bytes(disco[4:8], "big"), int.from_bytes(metal[4:8], "big")
    rewritten = disco[:header] + (metal[metal_header:] * 2)[: len(disco) - header]
    assert len(rewritten) == len(disco)
    (library / "disco.00000.au").write_bytes(rewritten)
    run(library, out)
    m = manifest(out)
    assert m["counts"]["decoded"] == m["counts"]["changed"] == 1
    tracks = table(out, "tracks").set_index("path")
    assert tracks.loc[str(library / "disco.00000.au"), "top_genre"] == "metal"

    (library / "bensound-cute.mp3").unlink()
    (library / "corrupt.mp3").write_bytes(b"ID3" + bytes(range(256)) * 40)
    run(library, out)
    m = manifest(out)
    assert m["removed"] == [str(library / "bensound-cute.mp3")] and m["counts"]["removed"] == 1
    assert m["counts"]["new"] == m["counts"]["failed"] == 1 and m["counts"]["decoded"] == 0
    assert m["counts"]["unchanged"] == len(CLIPS) - 1
    assert str(library / "bensound-cute.mp3") not in set(table(out, "tracks")["path"])
    errors = pd.read_parquet(out / "latest" / "errors")
    assert list(errors["path"]) == [str(library / "corrupt.mp3")]

    run(library, out)  # the unchanged corrupt file's error is carried over, not tried again
    m = manifest(out)
    assert m["counts"]["unchanged_error"] == 1 and m["counts"]["retried"] == m["counts"]["failed"] == 0
    assert m["counts"]["decoded"] == 0 and m["counts"]["unchanged"] == 4

    assert len([p for p in (out / "runs").iterdir()]) == 6
    run(library, out, "--keep", "2")
    assert len([p for p in (out / "runs").iterdir()]) == 2


def test_new_weights_reclassify_everything(library, tmp_path):
    out = tmp_path / "out"
    run(library, out)
    from recogenre.analysis.crnn import load_crnn

    resaved = tmp_path / "crnn.weights.h5"  # same numbers, another file: another sha256
    load_crnn(WEIGHTS).save_weights(resaved)
    run(library, out, weights=resaved)
    m = manifest(out)
    assert m["mode"] == "full run (weights_sha256 changed)"
    assert m["counts"]["decoded"] == len(CLIPS) and m["counts"]["unchanged"] == 0
    assert set(table(out, "tracks")["weights_sha256"]) == {m["weights_sha256"]}
    run(library, out, "--full")
    assert manifest(out)["counts"]["decoded"] == len(CLIPS)


def test_sigkill_leaves_latest_and_the_next_run_finishes_the_job(library, tmp_path):
    out = tmp_path / "out"
    for name in ("example_cl.mp3", "1546464360295.3gp", "bensound-thejazzpiano.mp3"):
        shutil.copyfile(AUDIO / name, library / name)
    (library / "die.au").unlink()
    run(library, out, "--keep", "1")  # yesterday's snapshot
    before = os.readlink(out / "latest")
    for i in range(4):  # tonight: new files to classify
        shutil.copyfile(AUDIO / "example_cl.mp3", library / f"copy{i}.mp3")
    shutil.copyfile(AUDIO / "die.au", library / "die.au")

    cmd = run_command(
        library,
        out,
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=2",
        "--progress-seconds=1",
    )
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.time() + 300
    while time.time() < deadline:  # kill once the workers are writing frames
        if list(out.glob("runs/*/.progress/*.json")):
            break
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert os.readlink(out / "latest") == before
    assert (out / ".recogenre.lock").exists()  # left behind by the killed run
    assert len(list((out / "runs").iterdir())) == 2  # the good snapshot and the unfinished one

    second = run(library, out)
    assert "removed 1 unfinished run" in second.stderr
    m = manifest(out)
    assert m["counts"]["new"] == 5 and m["counts"]["unchanged"] == 7 and m["counts"]["errors"] == 0

    fresh = tmp_path / "fresh"
    run(library, fresh)
    same_results(fresh, out)


def test_a_second_run_refuses_while_one_is_running(library, tmp_path):
    out = tmp_path / "out"
    for i in range(3):  # long enough for the second run to start while the first works
        shutil.copyfile(AUDIO / "example_cl.mp3", library / f"long{i}.mp3")
    cmd = run_command(library, out, "--direct_num_workers=1", "--progress-seconds=0")
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not (out / ".recogenre.lock").exists():
            assert time.time() < deadline and first.poll() is None
            time.sleep(0.1)
        holder = json.loads((out / ".recogenre.lock").read_text())
        assert holder["pid"] == first.pid
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert second.returncode == 1
        assert unstamped(second.stderr).strip().startswith("recogenre: another run is using this output")
        assert f"pid {first.pid}" in second.stderr
    finally:
        assert first.wait(timeout=300) == 0
    assert not (out / ".recogenre.lock").exists()
    assert manifest(out)["counts"]["tracks"] == len(CLIPS) + 3


def test_stale_lock_is_taken_over(library, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (out / ".recogenre.lock").write_text(json.dumps({"pid": dead.pid, "host": os.uname().nodename}))
    run(library, out)
    assert manifest(out)["counts"]["tracks"] == len(CLIPS)
    np.testing.assert_allclose(table(out, "tracks")["top_score"].notna().sum(), len(CLIPS))
