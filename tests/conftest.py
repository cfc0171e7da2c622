"""Shared fixtures: the real clips and weights in ../shared, never copies of them."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECOGENRE_SHARED", ROOT.parent / "shared"))
AUDIO = SHARED / "audio"
REFERENCE = SHARED / "reference"
WEIGHTS = SHARED / "weights" / "crnn_gtzan_keras1.h5"

# Labels from ../shared/audio/README.md.
LABELLED = {
    "disco.00000.au": "disco",
    "metal.00000.au": "metal",
    "bensound-thejazzpiano.mp3": "jazz",
    "example_cl.mp3": "classical",
    "1546464360295.3gp": "classical",
}


STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} ", re.M)


def unstamped(text: str) -> str:
    """Log text without the timestamps a command puts in front of each line when stderr is not a terminal."""
    return STAMP.sub("", text)


def clip(name: str) -> str:
    return str(AUDIO / name)


def run_command(
    catalogue: str | Path, out: str | Path, *args: str, weights: str | Path = WEIGHTS
) -> list[str]:
    """The ``recogenre run`` command line the tests start, with the shared weights."""
    return [
        sys.executable,
        "-m",
        "recogenre",
        "run",
        "--catalogue",
        str(catalogue),
        "--output",
        str(out),
        "--weights",
        str(weights),
        *args,
    ]


@pytest.fixture(scope="session", autouse=True)
def warm_model_cache():
    """The OpenVINO model converted before any test, as after a machine's first use: commands'
    output in the tests then never holds the one-time "converting the model" line."""
    from recogenre.transforms.openvino_model import ensure_cached
    from recogenre.transforms.weights import resolve_weights

    ensure_cached(*resolve_weights(str(WEIGHTS)))


@pytest.fixture(scope="session")
def model():
    from recogenre.transforms.classifier import Model
    from recogenre.transforms.weights import resolve_weights

    path, digest = resolve_weights(str(WEIGHTS))
    return Model(path, digest)


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory) -> dict[str, str]:
    """Inputs a real catalogue contains sooner or later, each made from real data."""
    d = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(7)
    files = {}
    files["empty"] = d / "empty.mp3"
    files["empty"].write_bytes(b"")
    files["random"] = d / "random.mp3"
    files["random"].write_bytes(rng.bytes(200_000))
    files["text"] = d / "notes.txt"
    files["text"].write_text("liner notes, not audio\n" * 50)
    files["directory"] = d / "folder.mp3"
    files["directory"].mkdir()
    files["missing"] = d / "missing.flac"
    files["zeros"] = d / "zeros.wav"
    sf.write(files["zeros"], np.zeros(22050 * 60, np.float32), 22050)
    files["truncated"] = d / "truncated.mp3"
    files["truncated"].write_bytes((AUDIO / "bensound-cute.mp3").read_bytes()[:100_000])
    return {k: str(v) for k, v in files.items()}


@pytest.fixture
def copy_clip(tmp_path):
    def copy(name: str, to: str | None = None) -> str:
        target = tmp_path / (to or name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(AUDIO / name, target)
        return str(target)

    return copy


def run_in_process(catalogue: str | Path, out: str | Path, *args: str) -> int:
    """``recogenre run`` in this process (in-process DirectRunner): no interpreter,
    TensorFlow or Beam start-up per run, for tests that need several runs."""
    from recogenre.pipeline.cli import main

    cmd = run_command(catalogue, out, "--direct_num_workers=1", "--progress-seconds=0", *args)
    return main(cmd[3:])
