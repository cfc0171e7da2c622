"""``recogenre weights``: list, install and verify, run as a user would, with a fresh HOME."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from recogenre.analysis.weights import LEGACY_NAME, LEGACY_SHA256, packaged_path
from tests.conftest import WEIGHTS, altered_copy, unstamped


@pytest.fixture
def user(tmp_path):
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOGENRE_") and k != "XDG_DATA_HOME"}
    env["HOME"] = str(home)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "recogenre", "weights", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    run.folder = home / ".local" / "share" / "recogenre" / "weights"
    return run


def _used(listing: str) -> list[str]:
    """The path of the line marked used: after the sha256 (or absent/remote) column, spaces and all."""
    row = re.compile(r"^\*\s.*?\s(?:[0-9a-f]{64}|absent|remote)\s+(.*)$")
    return [m.group(1) for line in listing.splitlines() if (m := row.match(line))]


def test_list_shows_the_packaged_weights_winning_in_a_fresh_home(user):
    done = user("list")
    assert done.returncode == 0, done.stderr
    assert _used(done.stdout) == [str(packaged_path())]
    assert LEGACY_SHA256 in done.stdout
    assert str(user.folder / "default.weights.h5") in done.stdout  # the places that were empty, too


def test_install_copies_into_the_user_folder_and_wins(user):
    done = user("install", str(WEIGHTS), "--name", LEGACY_NAME.removesuffix(".h5"))
    assert done.returncode == 0, done.stderr
    installed = user.folder / LEGACY_NAME
    assert installed.read_bytes() == WEIGHTS.read_bytes()
    assert [p.name for p in user.folder.iterdir()] == [LEGACY_NAME]  # no temporary file left
    assert _used(user("list").stdout) == [str(installed)]


def test_install_by_name_is_reachable_with_weights_name(user, tmp_path):
    assert user("install", str(WEIGHTS), "--name", "mine").returncode == 0
    listing = user("list", "--weights", "mine.h5")
    assert _used(listing.stdout) == [str(user.folder / "mine.h5")]


def _broken_copy(tmp_path: Path) -> Path:
    """The real weights with one weight array reshaped: right format, wrong network."""
    bad = tmp_path / "bad" / "broken.weights.h5"
    bad.parent.mkdir()
    with h5py.File(bad, "w") as h5:
        h5.create_dataset("layers/dense/vars/0", data=np.zeros((3, 3), np.float32))
    return bad


def test_install_refuses_a_file_that_is_not_crnn_weights(user, tmp_path):
    done = user("install", str(_broken_copy(tmp_path)), "--name", "default")
    assert done.returncode == 2
    assert unstamped(done.stderr).startswith("recogenre: ") and len(done.stderr.strip().splitlines()) == 1
    assert "not weights for this CRNN" in done.stderr
    assert not user.folder.exists() or list(user.folder.iterdir()) == []


def test_install_refuses_an_altered_legacy_file(user, tmp_path):
    altered = altered_copy(WEIGHTS, tmp_path / LEGACY_NAME)
    done = user("install", str(altered), "--name", "default")
    assert done.returncode == 2 and "not the published GTZAN CRNN" in done.stderr
    assert list(user.folder.iterdir()) == []


def test_verify_accepts_the_published_file_and_refuses_a_broken_one(user, tmp_path):
    ok = user("verify", str(WEIGHTS))
    assert ok.returncode == 0 and LEGACY_SHA256 in ok.stdout
    bad = user("verify", str(_broken_copy(tmp_path)))
    assert bad.returncode == 2 and "not weights for this CRNN" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_list_with_a_missing_explicit_choice_marks_nothing_and_fails(user, tmp_path):
    done = user("list", "--weights", str(tmp_path / "absent.weights.h5"))
    assert done.returncode == 2 and _used(done.stdout) == []  # never a silent fall-through
    assert "CRNN weights not found" in done.stderr
