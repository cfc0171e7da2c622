"""Nothing outside recogenre's own runs is ever deleted (issue 9, class 1).

OUT/runs/ may hold what users and other tools put there (an experiment
folder, TensorBoard's event folders, a copy named like a run): runs and
``--keep`` pruning leave all of it alone and say so once.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from recogenre.pipeline import layout
from tests.conftest import ROOT, clip, run_command, unstamped


def own_run(out: Path, run_id: str, complete: bool = True) -> Path:
    """A run folder as recogenre makes it: marker first, manifest once published."""
    d = out / "runs" / run_id
    (d / "tracks").mkdir(parents=True)
    (d / layout.MARKER).write_text(run_id + "\n")
    if complete:
        (d / layout.MANIFEST).write_text(json.dumps({"run_id": run_id}))
    return d


def users_things(out: Path, tmp_path: Path) -> dict[str, Path]:
    """What a user or another tool leaves under OUT/runs/, each with a file inside."""
    runs = out / "runs"
    things = {
        "experiment": runs / "experiment-final",
        "tensorboard": runs / "Nov26_05-00-00_host",
        "named like a run": runs / "20250101T000000Z-beef",
    }
    for d in things.values():
        d.mkdir(parents=True)
    (things["experiment"] / "manifest.json").write_text('{"mine": true}')  # not recogenre's manifest
    (things["tensorboard"] / "events.out.tfevents.1764133200.host").write_bytes(b"\x00" * 64)
    (things["named like a run"] / "notes.txt").write_text("my copy\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / layout.MARKER).write_text("x\n")  # even with the marker, a link is not a run folder
    things["link"] = runs / "20250102T000000Z-cafe"
    things["link"].symlink_to(elsewhere, target_is_directory=True)
    return things


def contents(paths) -> dict[str, list[str]]:
    return {str(p): sorted(x.name for x in p.iterdir()) for p in paths}


def test_only_recogenre_runs_are_removed_or_pruned(tmp_path):
    out = tmp_path / "out"
    things = users_things(out, tmp_path)
    before = contents(things.values())
    killed = own_run(out, "20260101T000000Z-0001", complete=False)
    rejected = own_run(out, "20260101T010000Z-0002", complete=False)
    layout.write_rejection(str(rejected), {"rejected": "the model failed"})
    old = [own_run(out, f"2026010{i}T000000Z-00a{i}") for i in (2, 3, 4)]
    legacy = out / "runs" / "20251231T000000Z-0000"  # made before the marker existed: its manifest says so
    (legacy / "tracks").mkdir(parents=True)
    (legacy / layout.MANIFEST).write_text(json.dumps({"run_id": legacy.name}))
    layout.switch_latest(str(out), old[-1].name)

    assert sorted(layout.foreign_entries(str(out))) == sorted(p.name for p in things.values())
    assert layout.remove_incomplete_runs(str(out)) == [killed.name]
    assert not killed.exists() and rejected.exists()
    assert sorted(layout.prune(str(out), keep=1)) == sorted([legacy.name, old[0].name, old[1].name])
    assert old[-1].exists() and rejected.exists()
    assert contents(things.values()) == before
    assert (tmp_path / "elsewhere" / layout.MARKER).exists()


def test_a_run_removes_its_killed_runs_and_prunes_only_its_own(tmp_path):
    out = tmp_path / "out"
    things = users_things(out, tmp_path)
    before = contents(things.values())
    killed = own_run(out, "20260101T000000Z-0001", complete=False)
    old = own_run(out, "20260102T000000Z-0002")
    layout.switch_latest(str(out), old.name)

    proc = subprocess.run(
        run_command(clip("die.au"), out, "--keep", "1", "--progress-seconds", "0"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"recogenre: removed 1 unfinished run(s): {killed.name}" in proc.stderr
    warnings = [ln for ln in unstamped(proc.stderr).splitlines() if "did not create" in ln]
    assert len(warnings) == 1 and warnings[0].startswith("recogenre: warning: left alone 4 folder(s)")
    assert all(p.name in warnings[0] for p in things.values())
    assert "pruned 1 old run(s)" in proc.stderr

    assert contents(things.values()) == before
    assert not killed.exists() and not old.exists()
    (new,) = [p for p in (out / "runs").iterdir() if layout.is_own_run(p)]
    assert os.readlink(out / "latest") == f"runs/{new.name}"
    assert (new / layout.MARKER).read_text().strip() == new.name
