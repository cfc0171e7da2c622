"""Weights are found in a fixed order, verified, and explained when wrong."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from recogenre.transforms import weights
from recogenre.transforms.weights import LEGACY_SHA256, WeightsError, resolve_weights
from tests.conftest import AUDIO, WEIGHTS


def test_default_finds_the_shared_file(monkeypatch):
    monkeypatch.delenv(weights.ENV_VAR, raising=False)
    path, digest = resolve_weights()
    assert digest == LEGACY_SHA256
    assert path.endswith("crnn_gtzan_keras1.h5")


def test_flag_beats_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(weights.ENV_VAR, str(tmp_path / "absent.h5"))
    assert resolve_weights(str(WEIGHTS))[0] == str(WEIGHTS)
    with pytest.raises(WeightsError, match=r"absent\.h5"):
        resolve_weights()


def test_missing_file_says_where_to_put_it(monkeypatch, tmp_path):
    monkeypatch.setenv(weights.ENV_VAR, str(tmp_path / "nowhere" / "crnn_gtzan_keras1.h5"))
    with pytest.raises(WeightsError) as e:
        resolve_weights()
    message = str(e.value)
    assert "weights/" in message and weights.ENV_VAR in message and "--weights" in message


def test_altered_file_is_refused(tmp_path):
    altered = tmp_path / "crnn_gtzan_keras1.h5"
    shutil.copyfile(WEIGHTS, altered)
    with open(altered, "r+b") as f:
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 0xFF]))
    with pytest.raises(WeightsError, match="not the published GTZAN CRNN"):
        resolve_weights(str(altered))


def test_cli_reports_missing_weights_in_one_line(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "recogenre",
            "classify",
            "--weights",
            str(tmp_path / "x.h5"),
            str(AUDIO / "die.au"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("recogenre: CRNN weights not found")
    assert "Traceback" not in proc.stderr and proc.stdout == ""
