"""Hostile round 2 (issue 18): ways a run or `tag` lost results or touched what it should not.

Every hostile input is made here: folders that cannot be listed (chmod 000, read by a
process without root's permission override), catalogue roots that vanish or empty,
export paths onto the user's files, a ledger that is a folder, a full disk.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import AUDIO, ROOT, run_command, run_in_process, unstamped, without_dac_override

CLIP = "die.au"  # the shortest clip: these tests are about what happens to files, not genres


def library(tmp_path: Path, sub_files: int = 3) -> Path:
    lib = tmp_path / "lib"
    (lib / "sub").mkdir(parents=True)
    shutil.copyfile(AUDIO / CLIP, lib / "top.au")
    for i in range(sub_files):
        shutil.copyfile(AUDIO / CLIP, lib / "sub" / f"s{i}.au")
    return lib


def latest(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / "latest" / name)


def run_without_override(catalogue: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = run_command(catalogue, out, "--direct_num_workers=1", "--progress-seconds=0", *args)
    return subprocess.run(without_dac_override() + cmd, capture_output=True, text=True, timeout=900, cwd=ROOT)


def test_a_folder_that_cannot_be_listed_keeps_its_tracks_unverified(tmp_path):
    lib = library(tmp_path)
    out = tmp_path / "out"
    assert run_in_process(lib, out) == 0
    before = latest(out, "tracks").set_index("path")
    sub = lib / "sub"
    under = sorted(p for p in before.index if p.startswith(f"{sub}/"))
    assert len(under) == 3
    sub.chmod(0)
    try:
        proc = run_without_override(lib, out)
    finally:
        sub.chmod(0o755)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    tracks = latest(out, "tracks").set_index("path")
    errors = latest(out, "errors")
    changes = latest(out, "changes").set_index("path")
    # The folder is an error row of its own, with its path and errno.
    assert list(errors["path"]) == [str(sub)]
    row = errors.iloc[0]
    assert (row["stage"], row["error_type"]) == ("read", "unreadable")
    assert "Permission denied" in row["message"] and "errno 13" in row["message"]
    # Its tracks are still there, as they were, marked as not verified.
    assert sorted(tracks.index) == sorted(before.index)
    for path in under:
        assert changes.loc[path, "change"] == "unverified"
        assert str(sub) in changes.loc[path, "reason"]
        assert tracks.loc[path, "content_sha256"] == before.loc[path, "content_sha256"]
        assert tracks.loc[path, "top_genre"] == before.loc[path, "top_genre"]
    assert changes.loc[str(lib / "top.au"), "change"] == "unchanged"
    assert "removed" not in set(changes["change"])
    frames = latest(out, "frames")
    assert set(tracks["track_id"]) == set(frames["track_id"])
    manifest = json.loads((out / "latest" / "manifest.json").read_text())
    assert manifest["unverified"] == under and manifest["removed"] == []
    assert manifest["counts"]["unverified"] == 3 and manifest["counts"]["unlisted_folders"] == 1
    summary = proc.stdout
    assert "3 unverified" in summary and "0 removed" in summary
    assert "1 folder(s) could not be listed" in summary
    assert "inputs but" not in unstamped(proc.stderr)  # conservation holds, unverified counted
    # Permission back: the tracks are recognised as unchanged, not decoded again.
    assert run_in_process(lib, out) == 0
    changes = latest(out, "changes").set_index("path")
    assert all(changes.loc[path, "change"] == "unchanged" for path in under)
    assert latest(out, "errors").empty


def test_a_catalogue_root_that_cannot_be_listed_is_refused_with_its_errno(tmp_path):
    lib = library(tmp_path, sub_files=0)
    out = tmp_path / "out"
    lib.chmod(0)
    try:
        proc = run_without_override(lib, out)
    finally:
        lib.chmod(0o755)
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = [ln for ln in unstamped(proc.stderr).splitlines() if ln.strip()]
    assert lines == [
        f"recogenre: catalogue {lib} cannot be listed: Permission denied (EACCES, errno 13); "
        "refusing to run on a catalogue that cannot be read"
    ]
    assert not (out / "runs").exists()


@pytest.mark.parametrize("how", ["gone", "emptied"])
def test_a_catalogue_root_gone_or_emptied_after_a_snapshot_is_refused(tmp_path, how):
    lib = library(tmp_path, sub_files=1)
    out = tmp_path / "out"
    assert run_in_process(lib, out) == 0
    published = os.readlink(out / "latest")
    runs = sorted(p.name for p in (out / "runs").iterdir())
    if how == "gone":
        shutil.rmtree(lib)
    else:  # an unmounted disk: the mount point is still there, empty
        for child in list(lib.iterdir()):
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    proc = subprocess.run(
        run_command(lib, out, "--direct_num_workers=1"), capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = [ln for ln in unstamped(proc.stderr).splitlines() if ln.strip()]
    gone, emptied = f"recogenre: catalogue {lib} does not exist", f"recogenre: no audio files in {lib}"
    assert lines == [gone if how == "gone" else emptied]
    assert os.readlink(out / "latest") == published
    assert sorted(p.name for p in (out / "runs").iterdir()) == runs


def test_unlistable_folders_are_listed_as_such_in_a_glob_too(tmp_path):
    """The listing itself, read by a process that cannot list the folder."""
    lib = library(tmp_path, sub_files=1)
    (lib / "sub" / "deeper").mkdir()
    shutil.copyfile(AUDIO / CLIP, lib / "sub" / "deeper" / "d.au")
    (lib / "sub").chmod(0)
    script = (
        "import json, sys\n"
        "from recogenre.transforms.catalogue import list_entries\n"
        "print(json.dumps([[e.path, e.folder, e.problem] for e in list_entries(sys.argv[1])]))\n"
    )
    try:
        found = {}
        for source in (str(lib), f"{lib}/*.au"):
            proc = subprocess.run(
                [*without_dac_override(), sys.executable, "-c", script, source],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert proc.returncode == 0, proc.stderr[-3000:]
            found[source] = json.loads(proc.stdout)
    finally:
        (lib / "sub").chmod(0o755)
    for entries in found.values():
        by_path = {path: (folder, problem) for path, folder, problem in entries}
        assert set(by_path) == {str(lib / "top.au"), str(lib / "sub")}
        folder, problem = by_path[str(lib / "sub")]
        assert folder and problem[0] == "unreadable" and "errno 13" in problem[1]
        assert by_path[str(lib / "top.au")] == (False, None)
