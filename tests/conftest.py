"""Shared fixtures: the real clips and weights in ../shared, never copies of them.

``../shared`` may be a symlink or a copy, and the checkout may live anywhere (a path
with spaces, reached through a symlink). recogenre stores canonical paths (the real
path of the catalogue root), so a test that expects a stored ``path`` builds it with
:func:`stored`, the product's own rule, never from the spelling it passed in.
pytest's ``tmp_path`` is already a real path (pytest resolves its base folder).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
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


# Float results of two runs agree to this, not bit for bit: runners batch frames
# differently, and BLAS sums in a different order (embeddings differ by ~1e-6).
RUN_TOLERANCE = 1e-5


def _is_float_list(column: pd.Series) -> bool:
    values = column.dropna()
    return (
        column.dtype == object
        and not values.empty
        and all(isinstance(v, (list, np.ndarray)) for v in values)
        and all(np.asarray(v).dtype.kind == "f" for v in values)
    )


def assert_tables_agree(
    a: pd.DataFrame, b: pd.DataFrame, ignore: tuple[str, ...] = (), atol: float = RUN_TOLERANCE
) -> None:
    """Two runs' tables (rows in the same order) hold the same results: float and
    list-of-float columns to ``atol``, every other column exactly."""
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    columns = [c for c in a.columns if c not in ignore]
    floats = [c for c in columns if a[c].dtype.kind == "f"]
    lists = [c for c in columns if _is_float_list(a[c])]
    exact = [c for c in columns if c not in floats and c not in lists]
    pd.testing.assert_frame_equal(a[exact], b[exact])
    np.testing.assert_allclose(a[floats].to_numpy(float), b[floats].to_numpy(float), rtol=0, atol=atol)
    for c in lists:
        for i, (x, y) in enumerate(zip(a[c], b[c])):
            assert (x is None) == (y is None), (c, i)
            if x is not None:
                np.testing.assert_allclose(np.asarray(x, float), np.asarray(y, float), rtol=0, atol=atol,
                                           err_msg=f"{c} row {i}")  # fmt: skip


def wait_until(condition, what: str, timeout_s: float = 120.0, every_s: float = 0.05) -> None:
    """Waits for ``condition()`` to be true, failing with ``what`` after a generous bound: tests wait
    for what they need to see, never a fixed time (the machine running them may be busy)."""
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"still waiting after {timeout_s:g} s: {what}"
        time.sleep(every_s)


STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} ", re.M)


def unstamped(text: str) -> str:
    """Log text without the timestamps a command puts in front of each line when stderr is not a terminal."""
    return STAMP.sub("", text)


def clip(name: str) -> str:
    return str(AUDIO / name)


def stored(path: str | Path) -> str:
    """How recogenre stores the path of a file listed by name or found directly in a
    catalogue folder: its folder resolved, its own name kept (``paths.canonical_file``)."""
    from recogenre.analysis.paths import canonical_file

    return canonical_file(str(path))


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
    from recogenre.analysis.openvino_model import ensure_cached
    from recogenre.analysis.weights import resolve_weights

    ensure_cached(*resolve_weights(str(WEIGHTS)))


def classify_json(*paths: str | Path) -> subprocess.CompletedProcess:
    """``recogenre classify --json`` on the files, in a fresh process, with the shared weights."""
    cmd = [sys.executable, "-m", "recogenre", "classify", "--json", "--weights", str(WEIGHTS)]
    return subprocess.run([*cmd, *map(str, paths)], capture_output=True, text=True, timeout=600, cwd=ROOT)


def altered_copy(source: Path, target: Path) -> Path:
    """A copy of ``source`` at ``target`` with its last byte flipped: the right format, not the same file."""
    shutil.copyfile(source, target)
    with open(target, "r+b") as f:
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 0xFF]))
    return target


@pytest.fixture(scope="session")
def model():
    from recogenre.analysis.classifier import Model
    from recogenre.analysis.weights import resolve_weights

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


def without_dac_override() -> list[str]:
    """Runs a command as root minus the right to ignore file permissions, so a
    chmod 000 file is unreadable even though the tests run as root."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("setpriv is needed to drop root's permission override")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def run_in_process(catalogue: str | Path, out: str | Path, *args: str) -> int:
    """``recogenre run`` in this process (in-process DirectRunner): no interpreter,
    TensorFlow or Beam start-up per run, for tests that need several runs."""
    from recogenre.cli import main

    cmd = run_command(catalogue, out, "--direct_num_workers=1", "--progress-seconds=0", *args)
    return main(cmd[3:])
