"""The installed distribution puts one top-level name, ``recogenre``, into an environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from recogenre.analysis.openvino_model import CONVERTING
from tests.conftest import ROOT, clip

SOURCES = (
    "setup.py",
    "MANIFEST.in",
    "requirements.lock",
    "run_local.sh",
    "recogenre",
    "pipeline",
    "transforms",
    "apps",
    "analysis",
    "weights",
)
PACKAGED_WEIGHTS = ("crnn_gtzan_keras1.h5", "LICENSE.crnn_gtzan_keras1")


def build_wheel(tmp_path: Path) -> Path:
    # Built from a copy: setuptools writes build/ and *.egg-info beside setup.py.
    source = tmp_path / "source"
    source.mkdir(parents=True)
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("recogenre-*.whl")
    return wheel


def test_wheel_installs_only_the_recogenre_namespace(tmp_path):
    wheel = build_wheel(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {"recogenre", wheel.name.split("-py")[0] + ".dist-info"}, top_level
    for folder in ("pipeline", "transforms", "apps", "analysis", "commands"):
        assert f"recogenre/{folder}/__init__.py" in names
    static = ROOT / "apps" / "static"  # the pages' HTML, CSS and JavaScript travel with the code
    assert {f"recogenre/apps/static/{p.name}" for p in static.iterdir()} <= set(names)
    for name in PACKAGED_WEIGHTS:  # the weights travel with their licence
        assert f"recogenre/weights/{name}" in names

    # Installed into a bare folder, away from the checkout: the package imports from
    # there, and the generic names of the repository's folders do not exist.
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    probe = (
        "import importlib.util, recogenre.cli as cli, recogenre.analysis.decode as d;"
        "print(cli.__file__); print(d.__file__);"
        "print([n for n in ('pipeline', 'transforms', 'apps', 'analysis') if importlib.util.find_spec(n)])"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    cli_file, decode_file, clashing = done.stdout.splitlines()
    assert cli_file.startswith(str(target)) and decode_file.startswith(str(target))
    assert clashing == "[]"


def test_sdist_carries_the_weights_and_their_licence(tmp_path):
    wheel = build_wheel(tmp_path / "dist")  # leaves the source copy beside it
    source = wheel.parent / "source"
    subprocess.run(
        [sys.executable, "setup.py", "--quiet", "sdist", "--dist-dir", str(tmp_path / "sdist")],
        cwd=source,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (sdist,) = (tmp_path / "sdist").glob("recogenre-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    for name in PACKAGED_WEIGHTS:
        assert f"weights/{name}" in names, sorted(names)


def test_plain_install_classifies_from_an_empty_folder_without_tensorflow(tmp_path):
    """Issue 21, as a new user: the wheel with the pinned constraints in a fresh venv (no extras),
    a fresh HOME, no RECOGENRE_* variables, started from an empty folder.

    Measured on the shared 2-core machine with a warm pip cache: 90-105 s to install, 11 s
    for the first file (the one-time conversion included); the whole test 100-140 s.
    """
    wheel = build_wheel(tmp_path / "dist")
    venv, home, empty = tmp_path / "venv", tmp_path / "home", tmp_path / "empty"
    home.mkdir()
    empty.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    python, recogenre = venv / "bin" / "python", venv / "bin" / "recogenre"
    installed = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-c",
            str(ROOT / "requirements.lock"),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECOGENRE_", "XDG_", "PYTHON"))}
    env |= {"HOME": str(home), "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"}

    no_tf = subprocess.run(
        [str(python), "-c", "import tensorflow"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert no_tf.returncode != 0 and "No module named 'tensorflow'" in no_tf.stderr

    notices = []
    for name, label in (("metal.00000.au", "metal"), ("disco.00000.au", "disco")):
        done = subprocess.run(
            [str(recogenre), "classify", "--json", clip(name)],
            cwd=empty,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert json.loads(done.stdout)["top_genre"] == label, done.stdout
        notices.append(done.stderr.splitlines())
    # the one-time conversion says so in one line; the second file finds the cache
    assert notices == [[CONVERTING], []]
    assert list(empty.iterdir()) == []  # nothing written where it was started

    catalogue = tmp_path / "catalogue"
    catalogue.mkdir()
    shutil.copyfile(clip("die.au"), catalogue / "die.au")
    command = [str(recogenre), "run", "--catalogue", str(catalogue), "--output", str(tmp_path / "out")]
    run = subprocess.run(command, cwd=empty, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    # without Beam's GCP extra, neither its import warning nor the workers' INFO logs
    assert "apitools" not in run.stderr and "INFO:apache_beam" not in run.stderr, run.stderr[-3000:]

    keras = subprocess.run(
        [str(recogenre), "classify", "--backend", "keras", clip("die.au")],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert keras.returncode == 2
    (line,) = keras.stderr.strip().splitlines()
    assert "pip install 'recogenre[keras]'" in line
