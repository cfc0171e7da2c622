"""Weights are found in a fixed order, verified, and explained when wrong."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recogenre.analysis import weights
from recogenre.analysis.weights import LEGACY_SHA256, WeightsError, resolve_weights
from tests.conftest import AUDIO, WEIGHTS, altered_copy, unstamped


@pytest.fixture
def fresh_user(monkeypatch, tmp_path):
    """A user with an empty HOME and data folder, no RECOGENRE_WEIGHTS, started from an empty folder."""
    home, data, cwd = tmp_path / "home", tmp_path / "data", tmp_path / "cwd"
    for d in (home, data, cwd):
        d.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.delenv(weights.ENV_VAR, raising=False)
    monkeypatch.chdir(cwd)
    return data / "recogenre" / "weights"


def test_default_is_the_packaged_file(fresh_user):
    path, digest = resolve_weights()
    assert digest == LEGACY_SHA256
    assert path == str(weights.packaged_path())
    import recogenre.weights

    assert weights.packaged_path().parent == Path(recogenre.weights.__file__).parent


def test_user_folder_defaults_to_xdg_data_home_or_home(fresh_user, monkeypatch, tmp_path):
    assert weights.user_dir() == fresh_user
    monkeypatch.delenv("XDG_DATA_HOME")
    assert weights.user_dir() == tmp_path / "home" / ".local" / "share" / "recogenre" / "weights"


def test_lookup_order_flag_env_user_folder_package(fresh_user, monkeypatch, tmp_path):
    fresh_user.mkdir(parents=True)
    user_copy = fresh_user / weights.LEGACY_NAME
    shutil.copyfile(WEIGHTS, user_copy)
    env_copy = tmp_path / "env" / weights.LEGACY_NAME
    env_copy.parent.mkdir()
    shutil.copyfile(WEIGHTS, env_copy)
    assert resolve_weights()[0] == str(user_copy)  # the user folder beats the package
    monkeypatch.setenv(weights.ENV_VAR, str(env_copy))
    assert resolve_weights()[0] == str(env_copy)  # the environment beats the user folder
    assert resolve_weights(str(WEIGHTS))[0] == str(WEIGHTS)  # the flag beats everything
    assert [c.source for c in weights.candidate_list(str(WEIGHTS))] == [
        "--weights",
        weights.ENV_VAR,
        *["user folder"] * len(weights.USER_DEFAULTS),
        "package",
    ]
    monkeypatch.delenv(weights.ENV_VAR)
    user_copy.unlink()
    assert resolve_weights()[0] == str(weights.packaged_path())


def test_a_bare_name_is_a_file_of_the_user_folder(fresh_user, monkeypatch):
    fresh_user.mkdir(parents=True)
    shutil.copyfile(WEIGHTS, fresh_user / "mine.h5")
    assert resolve_weights("mine.h5")[0] == str(fresh_user / "mine.h5")
    monkeypatch.setenv(weights.ENV_VAR, "mine.h5")
    assert resolve_weights()[0] == str(fresh_user / "mine.h5")


def test_nothing_is_looked_up_relative_to_the_current_folder(fresh_user, tmp_path):
    # weights/ and ../shared/weights/ beside the current folder, as in a checkout: ignored
    for folder in (tmp_path / "cwd" / "weights", tmp_path / "shared" / "weights"):
        folder.mkdir(parents=True)
        (folder / weights.LEGACY_NAME).write_bytes(b"not these")
    assert resolve_weights()[0] == str(weights.packaged_path())
    assert all(str(tmp_path / "cwd") not in p for p in weights.candidates())


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
    assert weights.ENV_VAR in message and "--weights" in message and "recogenre weights install" in message
    assert "README" not in message  # no file that a wheel does not carry


def test_altered_file_is_refused(tmp_path):
    altered = altered_copy(WEIGHTS, tmp_path / "crnn_gtzan_keras1.h5")
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
    lines = [ln for ln in unstamped(proc.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("recogenre: CRNN weights not found")
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_a_worker_without_the_launchers_path_uses_its_own_packaged_copy(fresh_user, tmp_path):
    """Dataflow and Dask workers install recogenre elsewhere than the launcher did."""
    elsewhere = str(tmp_path / "launcher-site-packages" / "recogenre" / "weights" / weights.LEGACY_NAME)
    packaged = (str(weights.packaged_path()), LEGACY_SHA256)
    assert weights.resolve_on_worker(elsewhere, LEGACY_SHA256) == packaged
    with pytest.raises(WeightsError, match="not found"):  # other weights: never replaced silently
        weights.resolve_on_worker(str(tmp_path / "tuned.weights.h5"), "0" * 64)
