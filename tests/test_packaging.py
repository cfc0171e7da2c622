"""The installed distribution puts one top-level name, ``recogenre``, into an environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def build_wheel(tmp_path: Path) -> Path:
    # Built from a copy: setuptools writes build/ and *.egg-info beside setup.py.
    source = tmp_path / "source"
    source.mkdir(parents=True)
    for name in ("setup.py", "recogenre", "pipeline", "transforms", "apps"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    (wheel,) = tmp_path.glob("recogenre-*.whl")
    return wheel


def test_wheel_installs_only_the_recogenre_namespace(tmp_path):
    wheel = build_wheel(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {"recogenre", wheel.name.split("-py")[0] + ".dist-info"}, top_level
    for folder in ("pipeline", "transforms", "apps"):
        assert f"recogenre/{folder}/__init__.py" in names
    static = ROOT / "apps" / "static"  # the pages' HTML, CSS and JavaScript travel with the code
    assert {f"recogenre/apps/static/{p.name}" for p in static.iterdir()} <= set(names)

    # Installed into a bare folder, away from the checkout: the package imports from
    # there, and the generic names of the repository's folders do not exist.
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    probe = (
        "import importlib.util, recogenre.pipeline.cli as cli, recogenre.transforms.decode as d;"
        "print(cli.__file__); print(d.__file__);"
        "print([n for n in ('pipeline', 'transforms', 'apps') if importlib.util.find_spec(n)])"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    cli_file, decode_file, clashing = done.stdout.splitlines()
    assert cli_file.startswith(str(target)) and decode_file.startswith(str(target))
    assert clashing == "[]"
