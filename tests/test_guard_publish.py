"""A run whose model fails cannot replace results (issue 9, class 2).

The weights made here pass every launcher check (right layout, right
shapes, finite numbers) but are absurd: the real model's first convolution
kernel is set to 3e38, so its outputs overflow and the model answers NaN
for these clips -- what diverged fine-tuned weights do. NaN scores are classify errors, and a run
where the model failed for every file is not published.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from recogenre.analysis.model_check import check_weights_file
from recogenre.analysis.openvino_model import CONVERTING
from recogenre.analysis.schemas import CHANGES, ERRORS, TRACKS
from recogenre.pipeline import layout
from recogenre.pipeline.summary import classify_failure
from tests.conftest import ROOT, WEIGHTS, clip, run_command, unstamped

OLD_RUN = "20250101T000000Z-abcd"


@pytest.fixture(scope="module")
def absurd_weights(tmp_path_factory) -> Path:
    from recogenre.analysis.crnn import load_crnn

    path = tmp_path_factory.mktemp("absurd") / "overflow.weights.h5"
    load_crnn(WEIGHTS).save_weights(path)  # the real model, saved by Keras 3
    with h5py.File(path, "r+") as h5:
        kernel = h5["layers/conv2d/vars/0"]
        kernel[...] = np.full(kernel.shape, 3e38, np.float32)
    check_weights_file(str(path))  # nothing the launcher can see is wrong with it
    return path


def test_a_run_where_the_model_fails_for_every_file_is_not_published(absurd_weights, tmp_path):
    out = tmp_path / "out"
    old = out / "runs" / OLD_RUN
    (old / "tracks").mkdir(parents=True)
    (old / layout.MARKER).write_text(OLD_RUN + "\n")
    (old / layout.MANIFEST).write_text(json.dumps({"run_id": OLD_RUN}))
    layout.switch_latest(str(out), OLD_RUN)
    library = tmp_path / "library"
    library.mkdir()
    for name in ("die.au", "disco.00000.au"):
        shutil.copyfile(clip(name), library / name)

    proc = subprocess.run(
        # The Keras backend: OpenVINO refuses such weights before the run (test below).
        run_command(
            library, out, "--keep", "1", "--progress-seconds", "0", "--backend=keras", weights=absurd_weights
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    (kept,) = [p for p in (out / "runs").iterdir() if p.name != OLD_RUN]
    assert f"recogenre: run {kept.name} not published: the model failed for 2 of the 2 files" in proc.stderr
    assert "NonFiniteScores" in proc.stderr and str(kept) in proc.stderr
    assert os.readlink(out / "latest") == f"runs/{OLD_RUN}" and old.exists()  # nothing pruned
    assert not (kept / layout.MANIFEST).exists()
    assert json.loads((kept / layout.REJECTED).read_text())["rejected"].startswith("the model failed")
    errors = pd.read_parquet(kept / "errors")
    assert sorted(errors["path"]) == sorted(str(p) for p in library.iterdir())
    assert set(errors["stage"]) == {"classify"} and set(errors["error_type"]) == {"NonFiniteScores"}
    assert len(pd.read_parquet(kept / "tracks")) == 0  # no NaN genre ever reaches a track row
    assert layout.remove_incomplete_runs(str(out)) == []  # the next run keeps it for inspection


CLASSIFY_KERAS = (sys.executable, "-m", "recogenre", "classify", "--backend", "keras")


def test_classify_reports_nan_scores_as_a_failed_file(absurd_weights):
    proc = subprocess.run(
        [*CLASSIFY_KERAS, "--weights", str(absurd_weights), clip("die.au")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert (
        unstamped(proc.stderr).strip()
        == f"recogenre: {clip('die.au')}: NonFiniteScores: the model gave NaN or infinite scores"
    )


def test_openvino_refuses_weights_the_reference_cannot_score(absurd_weights, tmp_path):
    """OpenVINO's kernels turn these weights into finite nonsense, so the conversion is proven
    against the reference CRNN (numpy) first: the run stops before anything starts, classify too."""
    env = {**os.environ, "RECOGENRE_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "out"
    for command in (
        run_command(clip("die.au"), out, "--progress-seconds", "0", weights=absurd_weights),
        [sys.executable, "-m", "recogenre", "classify", "--weights", str(absurd_weights), clip("die.au")],
    ):
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 2, proc.stderr[-2000:]
        converting, line = unstamped(proc.stderr).strip().splitlines()
        assert converting == CONVERTING  # the new cache folder: converted, proven, refused
        assert line.startswith(f"recogenre: {absurd_weights}: ") and line.endswith("on a probe frame)"[:-1])
        assert "NaN or infinite scores" in line or "from the reference CRNN by" in line
        assert proc.stdout == ""
    assert not out.exists() or not (out / "runs").exists()
    assert not any((tmp_path / "cache").glob("crnn-*"))  # nothing unproven is cached


def tables(tracks: list[dict], errors: list[dict], unchanged: list[str] = ()) -> dict[str, pd.DataFrame]:
    def frame(rows, schema):
        columns = {name: [r.get(name) for r in rows] for name in schema.names}
        return pd.DataFrame(columns)

    changes = [{"path": p, "change": "unchanged"} for p in unchanged]
    return {
        "tracks": frame(tracks, TRACKS),
        "errors": frame(errors, ERRORS),
        "changes": frame(changes, CHANGES),
    }


def track(path: str, silent: bool = False) -> dict:
    return {"path": path, "n_frames": 2, "n_silent_frames": 2 if silent else 0}


def failed(path: str, stage: str = "classify") -> dict:
    return {
        "path": path,
        "stage": stage,
        "error_type": "NonFiniteScores" if stage == "classify" else "corrupt",
    }


@pytest.mark.parametrize(
    "tracks, errors, unchanged, rejected",
    [
        ([track("a"), track("b"), track("c")], [failed("d")], [], False),  # 1 of 4
        ([track("a"), track("b")], [failed("c"), failed("d")], [], False),  # 2 of 4: not more than half
        ([track("a")], [failed("b"), failed("c")], [], True),  # 2 of 3
        ([], [failed("a")], [], True),  # every file
        ([track("a"), track("b"), track("c")], [failed("d"), failed("e")], ["a", "b", "c"], True),  # carried
        ([track("a", silent=True), track("b")], [failed("c"), failed("d")], [], True),  # silent: not tried
        ([track("a")], [failed("b", "decode"), failed("c", "decode")], [], False),  # bad files, not the model
    ],
)
def test_max_error_rate_counts_the_files_the_model_was_given(tracks, errors, unchanged, rejected):
    assert (classify_failure(tables(tracks, errors, unchanged), 0.5) is not None) == rejected
